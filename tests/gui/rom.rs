//! The Devices page's ROM line on the X570 host as "this computer", with a private system bus,
//! a real polkitd and passage-helper: the NVIDIA card's ROM is "not read" until Read ROM asks the
//! helper (ReadRom); a legacy-only ROM then reads "no — a black screen at boot is likely", one
//! with an x64 UEFI image "yes". The RX 5700 XT showing the screen is never read, and says the
//! AMD reset bug.

use passage_fixtures::rom;
use passage_testkit::bus;

use super::Session;

#[test]
fn the_devices_page_says_whether_each_cards_rom_has_a_uefi_boot_image() {
    let tb = bus::TestBus::start("x570-tutorial", None, &[]);
    let attr = tb.root.join("sys/bus/pci/devices/0000:0a:00.0/rom");
    // The fixture's rom is a plain file: the "1\n" that switches a real ROM on lands on its
    // first two bytes, so the image starts after two spare ones.
    let with_spare = |r: Vec<u8>| [vec![0u8, 0], r].concat();
    std::fs::write(&attr, with_spare(rom::legacy_only())).expect("rom");
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-page", Some("devices"));
    let d = app.wait_page(
        "devices",
        &[
            "UEFI boot image: not read",
            "UEFI boot image: not read (the card shows this computer's screen)",
            "AMD Navi 10: the reset bug",
            "#read-rom-28",
        ],
    );
    assert!(
        !d.contains("#read-rom-31"),
        "the screen's card has no Read ROM:\n{d}"
    );
    app.shot("devices-rom-not-read", &d);
    app.press_button("Read ROM");
    let d =
        app.wait_for(&["UEFI boot image: no — a black screen at boot is likely, give a ROM file"]);
    app.shot("devices-rom-no-uefi", &d);
    let after = std::fs::read(&attr).expect("rom");
    assert_eq!(&after[..2], b"0\n", "the helper switched the ROM off again");
    std::fs::write(&attr, with_spare(rom::legacy_and_uefi())).expect("rom");
    app.press_button("Read ROM");
    let d = app.wait_for(&["UEFI boot image: yes"]);
    app.shot("devices-rom-uefi", &d);
    super::a11y::assert_all_named(&app, "Devices with the ROM lines");
}

/// The VM page's Start on the X570 host as "this computer" (libvirt's test driver holding the
/// demo's win11-gaming, a UEFI VM with the RTX 2080 Ti at 0a:00.0 and no ROM file): before the
/// start the helper reads the card's own ROM; a legacy-only one is a warning beside the start,
/// and the VM starts anyway.
#[test]
fn the_vm_pages_start_warns_of_a_cards_own_rom_without_uefi() {
    let tb = bus::TestBus::start("x570-tutorial", None, &[]);
    let attr = tb.root.join("sys/bus/pci/devices/0000:0a:00.0/rom");
    let with_spare = |r: Vec<u8>| [vec![0u8, 0], r].concat();
    std::fs::write(&attr, with_spare(rom::legacy_only())).expect("rom");
    let image = tb.root.join("var/lib/libvirt/images/win11-gaming.qcow2");
    std::fs::create_dir_all(image.parent().expect("dir")).expect("mkdir");
    std::fs::write(&image, "qcow2").expect("image");
    let s = Session::start_as(bus::ALLOWED_UID);
    let node = s.dir.path().join("node.xml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/fixtures/data/demo/libvirt-node.xml"),
        &node,
    )
    .expect("node");
    let uri = format!("test://{}", node.display());
    let root = tb.root.display().to_string();
    let mut app = s.launch_with(
        &[],
        &[
            ("PASSAGE_LIVE_ROOT", root.as_str()),
            ("DBUS_SYSTEM_BUS_ADDRESS", tb.address.as_str()),
            ("PASSAGE_LIBVIRT_URI", uri.as_str()),
        ],
    );
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-page", Some("vms"));
    app.wait_page("vms", &["win11-gaming"]);
    app.press_button("Start win11-gaming");
    let d = app.wait_for(&[
        "#vm-page",
        "The Card's ROM",
        "#rom-warning",
        "The ROM of GeForce RTX 2080 Ti Rev. A (0a:00.0) has no x64 UEFI image",
        "Running",
    ]);
    assert!(!d.contains("Not Started"), "{d}");
    app.shot("vm-start-rom-no-uefi", &d);
    let after = std::fs::read(&attr).expect("rom");
    assert_eq!(&after[..2], b"0\n", "the helper switched the ROM off again");
}
