//! `passagectl rom ADDRESS --helper`: the card's ROM read by passage-helper's ReadRom on a
//! private system bus with a real polkitd, as a user who may not read sysfs' `rom` itself. The
//! verb has its own polkit action; a device that is not there, has no ROM, or shows the host's
//! screen is refused before polkit is asked, and its `rom` attribute is never written.

mod common;
use common::{json, stderr, stdout};
use passage_fixtures::rom;
use passage_testkit::bus::{TestBus, ALLOWED_UID, DENIED_UID};

#[test]
fn the_helper_reads_a_cards_rom_for_an_allowed_user_and_refuses_the_hosts_screen() {
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let dev = |a: &str| tb.root.join(format!("sys/bus/pci/devices/{a}/rom"));
    // The fixture's rom is a plain file: the "1\n" that switches a real ROM on lands on its
    // first two bytes, so the image starts after two spare ones.
    let mut bytes = vec![0u8, 0];
    bytes.extend(rom::legacy_and_uefi());
    std::fs::write(dev("0000:0a:00.0"), &bytes).expect("rom");
    std::fs::write(dev("0000:0d:00.0"), rom::legacy_and_uefi()).expect("rom");

    let o = tb.passagectl(DENIED_UID, &["rom", "0000:0a:00.0", "--helper"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("not authorized for io.github.passage.read-rom"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dev("0000:0a:00.0")).expect("rom"), bytes);

    for (card, says) in [
        ("0000:0d:00.0", "shows the host's screen"),
        ("0000:04:00.0", "has no option ROM"),
        ("0000:42:00.0", "no PCI device 0000:42:00.0"),
    ] {
        let o = tb.passagectl(ALLOWED_UID, &["rom", card, "--helper"]);
        assert_eq!(o.status.code(), Some(2), "{card}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{card}: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read(dev("0000:0d:00.0")).expect("rom"),
        rom::legacy_and_uefi(),
        "the host's screen's ROM was switched on"
    );

    let o = tb.passagectl(ALLOWED_UID, &["rom", "0a:00.0", "--helper", "--json"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    assert_eq!(v["source"], "0000:0a:00.0");
    assert_eq!(v["verdict"]["kind"], "uefi-x64");
    assert_eq!(v["size"], bytes.len());
    let after = std::fs::read(dev("0000:0a:00.0")).expect("rom");
    assert_eq!(&after[..2], b"0\n", "the ROM was not switched off");
}

/// `passagectl rom FILE --place`: the helper's PlaceRom copies a ROM file to
/// /var/lib/libvirt/vbios/ (root's, 0644) with AppArmor's read rule in the local override of
/// libvirt's QEMU abstraction, as one journaled change; a file that is not a whole PCI option
/// ROM, or a denied user, changes nothing; placing the same ROM again changes nothing; undo
/// removes the copy and puts the override back byte for byte.
#[test]
fn the_helper_places_a_rom_file_for_qemu_and_undo_removes_it() {
    use std::os::unix::fs::MetadataExt;
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let abstraction = tb.root.join("etc/apparmor.d/abstractions/libvirt-qemu");
    std::fs::create_dir_all(abstraction.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &abstraction,
        "  #include <abstractions/base>\n  include if exists <local/abstractions/libvirt-qemu>\n",
    )
    .expect("abstraction");
    let local = tb
        .root
        .join("etc/apparmor.d/local/abstractions/libvirt-qemu");
    std::fs::create_dir_all(local.parent().expect("dir")).expect("mkdir");
    let local_before =
        "# Site-specific additions and overrides for 'abstractions/libvirt-qemu'\n/srv/vm/** r,\n";
    std::fs::write(&local, local_before).expect("local");
    let before = tb.snapshot();

    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("rom");
        p.to_string_lossy().into_owned()
    };
    let good = rom::legacy_and_uefi();
    let card = file("RTX 2080 Ti.rom", &good);
    let placed = passage_core::plan::rom::placed_path(&card, &good);
    let on_host = tb.root.join(placed.trim_start_matches('/'));

    for (f, says) in [
        (
            file("notes.rom", b"not a ROM at all"),
            "not a PCI option ROM",
        ),
        (
            file("cut.rom", &good[..good.len() - 100]),
            "ends inside an image",
        ),
        (
            file("nvflash.rom", &rom::nvidia_header(&good)),
            "before its first image",
        ),
    ] {
        let o = tb.passagectl(ALLOWED_UID, &["rom", &f, "--place"]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{f}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stderr(&o).contains(says), "{f}: {}", stderr(&o));
    }
    let o = tb.passagectl(DENIED_UID, &["rom", &card, "--place"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("not authorized"), "{}", stderr(&o));
    assert_eq!(tb.snapshot(), before, "a refused ROM changed the host");
    assert!(!tb.root.join("var/lib/libvirt/vbios").exists());

    let o = tb.passagectl(ALLOWED_UID, &["rom", &card, "--place"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        placed.starts_with("/var/lib/libvirt/vbios/RTX2080Ti-"),
        "{placed}"
    );
    assert!(stdout(&o).contains(&placed), "{}", stdout(&o));
    assert_eq!(std::fs::read(&on_host).expect("placed"), good);
    let m = std::fs::metadata(&on_host).expect("meta");
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o644, 0, 0));
    let rules = std::fs::read_to_string(&local).expect("local");
    assert!(rules.starts_with(local_before), "{rules}");
    assert!(rules.contains("\n/var/lib/libvirt/vbios/* r,\n"), "{rules}");

    let o = tb.passagectl(ALLOWED_UID, &["rom", &card, "--place"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Nothing to change"), "{}", stdout(&o));

    let o = tb.passagectl(ALLOWED_UID, &["history", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(h[0]["verb"], "place-rom");
    let id = h[0]["id"].as_str().expect("id").to_string();
    let o = tb.passagectl(ALLOWED_UID, &["undo", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!on_host.exists(), "undo left the ROM file");
    let mut after = tb.snapshot();
    after.retain(|k, _| !k.starts_with("var/lib/passage"));
    let mut was = before;
    was.retain(|k, _| !k.starts_with("var/lib/passage"));
    assert_eq!(after, was, "undo is byte-identical");
}

/// `vm start`'s pre-flight has the helper read the own ROM of a UEFI VM's passed card (the
/// demo's win11-gaming and its RTX 2080 Ti at 0a:00.0, on libvirt's test driver): a ROM
/// without an x64 UEFI image is a warning and the VM still starts; one with it says nothing;
/// a card whose ROM BAR is off is not read (its sysfs `rom` never switched on); a user polkit
/// refuses is told the ROM was not checked and how to check it.
#[test]
fn the_pre_flight_has_the_helper_read_the_cards_own_rom() {
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let sysfs_rom = tb.root.join("sys/bus/pci/devices/0000:0a:00.0/rom");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/data/demo/libvirt-node.xml");
    let node = std::fs::read_to_string(demo).expect("demo node");
    let write_node = |text: &str| {
        let p = dir.path().join("node.xml");
        std::fs::write(&p, text).expect("node");
        format!("test://{}", p.display())
    };
    let root = tb.root.to_string_lossy().into_owned();
    let start = |uid: u32, uri: &str| {
        let o = tb.passagectl(
            uid,
            &[
                "vm",
                "--connect",
                uri,
                "start",
                "win11-gaming",
                "--root",
                &root,
            ],
        );
        (o.status.success(), stdout(&o) + &stderr(&o))
    };
    // The fixture's rom is a plain file: "1\n" lands on its first two bytes.
    let with_spare = |rom: &[u8]| [vec![0u8, 0], rom.to_vec()].concat();
    let uri = write_node(&node);
    let image = tb.root.join("var/lib/libvirt/images/win11-gaming.qcow2");
    std::fs::create_dir_all(image.parent().expect("dir")).expect("mkdir");
    std::fs::write(&image, "qcow2").expect("image");

    std::fs::write(&sysfs_rom, with_spare(&rom::legacy_only())).expect("rom");
    let (ok, said) = start(ALLOWED_UID, &uri);
    assert!(said.contains("warning: The ROM of"), "{said}");
    assert!(
        said.contains("has no x64 UEFI image [rom-no-uefi]"),
        "{said}"
    );
    assert!(said.contains("OVMF shows nothing"), "{said}");
    assert!(
        ok,
        "a card's own ROM without UEFI stopped the start: {said}"
    );

    std::fs::write(&sysfs_rom, with_spare(&rom::legacy_and_uefi())).expect("rom");
    let (ok, said) = start(ALLOWED_UID, &uri);
    assert!(ok && !said.contains("rom-no-uefi"), "{said}");

    let (ok, said) = start(DENIED_UID, &uri);
    assert!(ok, "{said}");
    assert!(said.contains("was not checked for a UEFI image"), "{said}");
    assert!(
        said.contains("passagectl rom 0000:0a:00.0 --helper"),
        "{said}"
    );

    // With its ROM BAR off the guest sees no ROM of the card's: it is not read.
    let at = "bus='0x0a' slot='0x00' function='0x0'/>\n        </source>";
    assert!(node.contains(at), "the demo's card moved");
    let given = node.replacen(at, &format!("{at}\n        <rom bar='off'/>"), 1);
    std::fs::write(&sysfs_rom, with_spare(&rom::legacy_only())).expect("rom");
    let (_, said) = start(ALLOWED_UID, &write_node(&given));
    assert!(!said.contains("warning: The ROM of"), "{said}");
    assert_eq!(
        std::fs::read(&sysfs_rom).expect("rom"),
        with_spare(&rom::legacy_only()),
        "the ROM of a card given none was switched on"
    );
}
