//! The card fixes through passage-helper on a private system bus with a real polkitd:
//! vendor-reset's udev rule for a card with the AMD reset bug, and vfio-pci's disable_idle_d3.
//! Bad input is refused before polkit is asked, a denied caller changes nothing, and Undo puts
//! every file back byte for byte.

mod common;
use common::{stderr, stdout};
use passage_testkit::bus::{TestBus, ALLOWED_UID, DENIED_UID};

/// The X570 board's RX 5700 XT (Navi 10); 0a:00.0 is its NVIDIA card.
const NAVI: &str = "0000:0d:00.0";
const RULE: &str = "etc/udev/rules.d/62-passage-vendor-reset.rules";

fn host_files(
    m: std::collections::BTreeMap<String, Vec<u8>>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    m.into_iter()
        .filter(|(k, _)| !k.starts_with("var/lib/passage"))
        .collect()
}

fn install_vendor_reset(tb: &TestBus) {
    let rel = std::fs::read_to_string(tb.root.join("proc/sys/kernel/osrelease")).expect("release");
    let dir = tb.root.join(format!("lib/modules/{}", rel.trim()));
    std::fs::create_dir_all(&dir).expect("modules");
    std::fs::write(dir.join("modules.dep"), "updates/dkms/vendor-reset.ko:\n").expect("dep");
}

#[test]
fn vendor_reset_is_refused_for_bad_cards_asked_of_polkit_and_undone_exactly() {
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let before = tb.snapshot();
    let o = tb.passagectl(ALLOWED_UID, &["apply", "--vendor-reset", NAVI]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("vendor-reset is not installed"),
        "{}",
        stderr(&o)
    );
    install_vendor_reset(&tb);
    let before_rule = host_files(tb.snapshot());
    for (uid, card, code, says) in [
        (
            ALLOWED_UID,
            "0000:0a:00.0",
            2,
            "not a card with the AMD reset bug",
        ),
        (ALLOWED_UID, "0000:0d:00", 2, "not a PCI address"),
        (ALLOWED_UID, "0000:42:00.0", 2, "0000:42:00.0"),
        (
            DENIED_UID,
            NAVI,
            1,
            "not authorized for io.github.passage.setup-gpu",
        ),
    ] {
        let o = tb.passagectl(uid, &["apply", "--vendor-reset", card]);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{card}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{card}: {}", stderr(&o));
    }
    assert_eq!(host_files(tb.snapshot()), before_rule, "nothing changed");

    let o = tb.passagectl(ALLOWED_UID, &["apply", "--vendor-reset", NAVI]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("restart the computer"),
        "{}",
        stdout(&o)
    );
    let rule = std::fs::read_to_string(tb.root.join(RULE)).expect("rule");
    assert!(
        rule.contains("KERNEL==\"0000:0d:00.0\"")
            && rule.contains("ATTR{reset_method}=\"device_specific\""),
        "{rule}"
    );
    let o = tb.passagectl(ALLOWED_UID, &["history", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(h[0]["verb"], "configure-vendor-reset");
    let id = h[0]["id"].as_str().expect("id").to_string();
    let o = tb.passagectl(ALLOWED_UID, &["undo", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        host_files(tb.snapshot()),
        before_rule,
        "undo is byte-identical"
    );
    assert!(before.keys().all(|k| !k.contains("vendor-reset")));
}

#[test]
fn disable_idle_d3_is_one_change_with_the_initramfs_rebuilt_and_undone_exactly() {
    let tb = TestBus::start(
        "x570-tutorial",
        Some(&[("update-initramfs", "echo update-initramfs: generating")]),
        &[],
    );
    let before = host_files(tb.snapshot());
    let o = tb.passagectl(DENIED_UID, &["apply", "--idle-d3-off"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(host_files(tb.snapshot()), before);
    let o = tb.passagectl(ALLOWED_UID, &["apply", "--idle-d3-off"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("| update-initramfs: generating"),
        "{}",
        stdout(&o)
    );
    let conf =
        std::fs::read_to_string(tb.root.join("etc/modprobe.d/passage-vfio-d3.conf")).expect("conf");
    assert!(
        conf.lines()
            .any(|l| l == "options vfio-pci disable_idle_d3=1"),
        "{conf}"
    );
    let o = tb.passagectl(ALLOWED_UID, &["apply", "--idle-d3-off"]);
    assert!(stdout(&o).contains("Nothing to change"), "{}", stdout(&o));
    let o = tb.passagectl(ALLOWED_UID, &["undo", "000001"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(host_files(tb.snapshot()), before, "undo is byte-identical");
}
