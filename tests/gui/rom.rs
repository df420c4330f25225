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
    let mut app = live_on_demo_node(&s, &tb);
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

/// The ROM dumps in the session's Downloads (as xdg-user-dirs names it): one with an x64 UEFI
/// image, one legacy only, and a text file the chooser's filter hides.
fn downloads_with_roms(s: &Session) -> std::path::PathBuf {
    let downloads = s.dir.path().join("home/Downloads");
    std::fs::create_dir_all(&downloads).expect("mkdir");
    std::fs::write(downloads.join("card.rom"), rom::legacy_and_uefi()).expect("rom");
    std::fs::write(downloads.join("legacy.rom"), rom::legacy_only()).expect("rom");
    std::fs::write(downloads.join("notes.txt"), b"x").expect("txt");
    std::fs::write(
        s.dir.path().join("config/user-dirs.dirs"),
        "XDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n",
    )
    .expect("user-dirs.dirs");
    for p in [s.dir.path().join("home"), downloads.clone()] {
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    downloads
}

/// The wizard's PCI step on the demo host: the ROM file's chooser opens (from the row's
/// button, as a user opens it) in Downloads showing ROM files only and fills the row; the
/// file is walked (a legacy-only one stops Create on Review, with why), a good one is named
/// where the helper places it; the ROM BAR switch is there.
#[test]
fn the_wizards_rom_file_is_chosen_in_a_chooser_and_walked() {
    let s = Session::start();
    let downloads = downloads_with_roms(&s);
    let title = "ROM file (empty: the card's own)";
    let mut app = s.launch(&[]);
    app.wait_page("check", &["Demo host:"]);
    app.open_chooser("vm-pci", "rom-file", title);
    let d = app.wait_dump("row=card.rom,", |d| d.contains("row=card.rom,"));
    app.shot("chooser-rom-file", &d);
    assert!(
        !d.contains("notes.txt"),
        "the filter let a text file through:\n{d}"
    );
    let legacy = downloads.join("legacy.rom");
    app.choose_in(title, &legacy);
    app.wait_entry(&legacy.display().to_string());
    app.action("show-page", Some("vm-review"));
    app.wait_for(&["Not ready yet", "has no UEFI image"]);

    app.open_chooser("vm-pci", "rom-file", title);
    let good = downloads.join("card.rom");
    app.choose_in(title, &good);
    app.wait_entry(&good.display().to_string());
    app.action("show-page", Some("vm-review"));
    app.action("show-page", Some("vm-pci"));
    let placed =
        passage_core::plan::rom::placed_path(&good.display().to_string(), &rom::legacy_and_uefi());
    let d = app.wait_page(
        "vm-pci",
        &[
            "#wizard-rom",
            "#rom-bar",
            &format!("It has an x64 UEFI image. Passage's helper copies it to {placed}"),
        ],
    );
    app.shot("wizard-rom-file", &d);
}

/// The device editor (Edit…) of the demo's win11-gaming on the X570 host as "this computer":
/// its ROM file's chooser opens and fills the row; a legacy-only file cannot be saved (why is
/// said); a good one is placed by the helper (polkit allows the user) in
/// /var/lib/libvirt/vbios/ on Save, and the VM's page says the card's ROM changed.
#[test]
fn the_device_editor_gives_the_card_a_rom_file_placed_by_the_helper() {
    let tb = bus::TestBus::start("x570-tutorial", None, &[]);
    let s = Session::start_as(bus::ALLOWED_UID);
    let downloads = downloads_with_roms(&s);
    let mut app = live_on_demo_node(&s, &tb);
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-vm", Some("win11-gaming"));
    app.wait_page("vms", &["#vm-page", "#edit-settings"]);
    app.press_button("Edit…");
    app.wait_for(&[
        "#vm-edit",
        "The Card's ROM",
        "#edit-rom-file",
        "#edit-rom-bar",
    ]);
    let title = "ROM file (empty: the card's own)";
    app.tab_to("name=choose-edit-rom-file", 80);
    app.keys(&["space"]);
    let d = app.wait_dump("row=card.rom,", |d| d.contains("row=card.rom,"));
    assert!(!d.contains("notes.txt"), "{d}");
    app.choose_in(title, &downloads.join("legacy.rom"));
    app.wait_for(&["Cannot be saved", "has no UEFI image"]);
    app.tab_to("name=choose-edit-rom-file", 80);
    app.keys(&["space"]);
    app.wait_dump("row=card.rom,", |d| d.contains("row=card.rom,"));
    let good = downloads.join("card.rom");
    app.choose_in(title, &good);
    let d = app.wait_entry(&good.display().to_string());
    app.shot("edit-rom-file", &d);
    app.press_button("Save");
    let d = app.wait_for(&["#vm-page", "the card's ROM"]);
    app.shot("edit-rom-saved", &d);
    let placed =
        passage_core::plan::rom::placed_path(&good.display().to_string(), &rom::legacy_and_uefi());
    assert_eq!(
        std::fs::read(tb.root.join(placed.trim_start_matches('/'))).expect("placed by the helper"),
        rom::legacy_and_uefi()
    );
}

/// libvirt's test driver on a copy of the demo's node (its VMs: win11-gaming with the RTX 2080
/// Ti at 0a:00.0, UEFI, no ROM file), for the app in this session; its URI.
pub(super) fn demo_node(s: &Session) -> String {
    let node = s.dir.path().join("node.xml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/fixtures/data/demo/libvirt-node.xml"),
        &node,
    )
    .expect("node");
    format!("test://{}", node.display())
}

/// The app on `tb`'s fixture tree as "this computer" with its helper, and the demo's VMs on
/// libvirt's test driver.
fn live_on_demo_node<'a>(s: &'a Session, tb: &bus::TestBus) -> crate::App<'a> {
    let uri = demo_node(s);
    let root = tb.root.display().to_string();
    s.launch_with(
        &[],
        &[
            ("PASSAGE_LIVE_ROOT", root.as_str()),
            ("DBUS_SYSTEM_BUS_ADDRESS", tb.address.as_str()),
            ("PASSAGE_LIBVIRT_URI", uri.as_str()),
        ],
    )
}
