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
