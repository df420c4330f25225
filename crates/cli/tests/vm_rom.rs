//! `passagectl vm edit --rom FILE|none --rom-bar on|off` on a domain file with the demo host's
//! card: a ROM file is walked before anything is edited (legacy only, not a ROM, or behind a
//! dump tool's header: refused, exit 2, nothing printed), a good one is named where the helper
//! places it for QEMU (/var/lib/libvirt/vbios/, by its name and a hash of its bytes) in the
//! card's `<rom>`, and the result passes libvirt's schema.

mod common;
use common::{passagectl, stderr, stdout};

/// A libvirt domain file with the demo host's RTX 2080 Ti group passed through.
fn domain_with_card(dir: &std::path::Path) -> String {
    let base = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/libvirt/q35-virt-manager-basic.x86_64-latest.xml");
    let mut args = vec![
        "vm",
        "edit",
        "--xml",
        base.to_str().expect("utf8"),
        "--demo",
        "--print",
    ];
    for a in [
        "0000:0a:00.0",
        "0000:0a:00.1",
        "0000:0a:00.2",
        "0000:0a:00.3",
    ] {
        args.extend(["--add", a]);
    }
    let o = passagectl(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = dir.join("vm.xml");
    std::fs::write(&path, stdout(&o)).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn vm_edit_rom_refuses_a_bad_rom_and_names_a_good_one_where_it_is_placed() {
    let d = tempfile::tempdir().expect("tmp");
    let xml = domain_with_card(d.path());
    let write = |name: &str, bytes: &[u8]| {
        let p = d.path().join(name);
        std::fs::write(&p, bytes).expect("rom");
        p.to_string_lossy().into_owned()
    };
    let good = passage_fixtures::rom::legacy_and_uefi();
    let cases = [
        (
            write("legacy.rom", &passage_fixtures::rom::legacy_only()),
            "no UEFI image",
        ),
        (
            write("notes.txt", b"not a ROM at all"),
            "not a PCI option ROM",
        ),
        (
            write("nvflash.rom", &passage_fixtures::rom::nvidia_header(&good)),
            "bytes before its first image",
        ),
        (
            d.path().join("missing.rom").to_string_lossy().into_owned(),
            "cannot read",
        ),
    ];
    for (rom, says) in &cases {
        let o = passagectl(&[
            "vm", "edit", "--xml", &xml, "--demo", "--print", "--rom", rom,
        ]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{rom}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{rom}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{rom}: printed {}", stdout(&o));
    }
    let ok = write("card.rom", &good);
    let o = passagectl(&[
        "vm",
        "edit",
        "--xml",
        &xml,
        "--demo",
        "--print",
        "--rom",
        &ok,
        "--rom-bar",
        "on",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let placed = passage_core::plan::rom::placed_path("card.rom", &good);
    assert!(
        placed.starts_with("/var/lib/libvirt/vbios/card-"),
        "{placed}"
    );
    assert!(out.contains(&format!("<rom file='{placed}'/>")), "{out}");
    passage_testkit::valid_domain(&out);
    // The BAR off, then the file taken out: the card's own ROM, not shown to the guest.
    let edited = d.path().join("edited.xml");
    std::fs::write(&edited, &out).expect("write");
    let o = passagectl(&[
        "vm",
        "edit",
        "--xml",
        edited.to_str().expect("utf8"),
        "--demo",
        "--print",
        "--rom",
        "none",
        "--rom-bar",
        "off",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("<rom bar='off'/>"), "{}", stdout(&o));
    passage_testkit::valid_domain(&stdout(&o));
}
