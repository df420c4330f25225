//! `passagectl apply --gpu ADDRESS --gpu-mode only-gpu` on a host whose only graphics card
//! shows the screen, through the real helper on a private bus with polkit: the IOMMU's kernel
//! arguments and libvirt's hook are written, nothing binds the card to vfio-pci at boot, and
//! undo is byte-identical; from boot on (no mode) the helper refuses the card.

mod common;
use common::{stderr, stdout};
use passage_testkit::bus::{TestBus, ALLOWED_UID};

#[test]
fn apply_gives_the_only_card_the_iommu_and_the_hook_and_binds_nothing_at_boot() {
    let tb = TestBus::start("single-gpu", Some(&[]), &[]);
    let before = tb.snapshot();
    let gpu = "0000:0c:00.0";

    // From boot on the helper refuses the host's screen, and nothing changes.
    let o = tb.passagectl(ALLOWED_UID, &["apply", "--gpu", gpu]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stderr(&o).contains("screen"), "{}", stderr(&o));

    let o = tb.passagectl(
        ALLOWED_UID,
        &["apply", "--gpu", gpu, "--gpu-mode", "only-gpu"],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let after = tb.snapshot();
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| !k.starts_with("var/lib/passage") && before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    let entry = String::from_utf8_lossy(&after["boot/loader/entries/arch.conf"]).to_string();
    assert!(entry.contains("amd_iommu=on"), "{entry}");
    assert!(!entry.contains("vfio-pci.ids"), "{entry}");
    assert!(
        changed.iter().any(|k| k.starts_with("etc/libvirt/hooks/")),
        "{changed:?}"
    );
    assert!(
        changed
            .iter()
            .all(|k| !k.contains("modprobe.d") && !k.contains("mkinitcpio")),
        "nothing binds the card at boot: {changed:?}"
    );

    let o = tb.passagectl(ALLOWED_UID, &["history", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let id = h[0]["id"].as_str().expect("id").to_string();
    assert_eq!(h[0]["verb"], "configure-gpu-sessions", "{h}");
    let o = tb.passagectl(ALLOWED_UID, &["undo", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    let host = |m: &std::collections::BTreeMap<String, Vec<u8>>| {
        m.iter()
            .filter(|(k, _)| !k.starts_with("var/lib/passage"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        host(&tb.snapshot()),
        host(&before),
        "undo is byte-identical"
    );
}
