//! `passagectl rom`: a ROM file's images and verdict, a card's ROM read through sysfs on a
//! fixture root (switched on, read, switched off), and the card showing the host's screen
//! refused.

mod common;
use common::*;

use passage_fixtures::rom;

fn write(path: &std::path::Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_rom_file_with_legacy_and_x64_uefi_images() {
    let d = tempfile::tempdir().expect("tmp");
    let f = d.path().join("card.rom");
    write(&f, &rom::nvidia_header(&rom::legacy_and_uefi()));
    let o = passagectl(&["rom", f.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1024 bytes of a dump tool's header"), "{out}");
    assert!(
        out.contains("image 1 at 0x400: x86 legacy (BIOS), 2048 bytes, [10de:1e87]"),
        "{out}"
    );
    assert!(
        out.contains(
            "image 2 at 0xc00: UEFI x64 (boot service driver), 1024 bytes, [10de:1e87], last"
        ),
        "{out}"
    );
    assert!(out.contains("It has a UEFI image for x64"), "{out}");

    let o = passagectl(&["rom", f.to_str().expect("utf8"), "--json"]);
    let v = json(&o);
    assert_eq!(v["verdict"]["kind"], "uefi-x64");
    assert_eq!(v["header"], 1024);
    assert_eq!(v["images"][1]["code"]["machine"], 0x8664);
}

#[test]
fn a_legacy_only_rom_file_exits_1_with_what_to_do() {
    let d = tempfile::tempdir().expect("tmp");
    let f = d.path().join("legacy.rom");
    write(&f, &rom::legacy_only());
    let o = passagectl(&["rom", f.to_str().expect("utf8"), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(json(&o)["verdict"]["kind"], "legacy-only");
    let o = passagectl(&["rom", f.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("OVMF shows nothing"), "{}", stdout(&o));
}

#[test]
fn neither_a_file_nor_an_address_is_refused() {
    let o = passagectl(&["rom", "/nonexistent/card.rom"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is neither a ROM file nor a PCI address"),
        "{}",
        stderr(&o)
    );
}

/// The fixture's `rom` is a plain file: the "1\n" that switches a real ROM on lands on its
/// first two bytes, so the image starts after two spare bytes (the walker finds the first
/// valid image), and the "0\n" written after the read is left there to be seen.
#[test]
fn the_cards_rom_is_read_through_sysfs_and_switched_off_again() {
    let d = fixture("x570-tutorial");
    let attr = d.path().join("sys/bus/pci/devices/0000:0a:00.0/rom");
    let mut bytes = vec![0u8, 0];
    bytes.extend(rom::legacy_and_uefi());
    write(&attr, &bytes);
    let root = d.path().to_str().expect("utf8");
    let o = passagectl(&["rom", "0a:00.0", "--root", root, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["source"], "0000:0a:00.0");
    assert_eq!(v["verdict"]["kind"], "uefi-x64");
    assert_eq!(v["size"], bytes.len());
    let after = std::fs::read(&attr).expect("read");
    assert_eq!(&after[..2], b"0\n", "the ROM was not switched off");
}

#[test]
fn the_rom_of_the_card_showing_the_hosts_screen_is_not_read() {
    let d = fixture("x570-tutorial");
    // 0d:00.0 is the boot display (boot_vga = 1).
    let attr = d.path().join("sys/bus/pci/devices/0000:0d:00.0/rom");
    write(&attr, &rom::legacy_and_uefi());
    let root = d.path().to_str().expect("utf8");
    let o = passagectl(&["rom", "0000:0d:00.0", "--root", root]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("shows the host's screen"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&attr).expect("read"),
        rom::legacy_and_uefi(),
        "the ROM attribute was written"
    );
}

#[test]
fn a_device_without_a_rom_attribute_says_so() {
    let d = fixture("x570-tutorial");
    let root = d.path().to_str().expect("utf8");
    let o = passagectl(&["rom", "0000:0a:00.0", "--root", root]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no option ROM"), "{}", stderr(&o));
}

#[test]
fn the_rom_of_a_card_with_a_monitor_in_use_is_not_read() {
    let d = fixture("x570-tutorial");
    // The RTX 2080 Ti (not the boot display) with a monitor on its HDMI output.
    write(
        &d.path().join("sys/class/drm/card1-HDMI-A-2/status"),
        b"connected\n",
    );
    let attr = d.path().join("sys/bus/pci/devices/0000:0a:00.0/rom");
    write(&attr, &rom::legacy_and_uefi());
    let root = d.path().to_str().expect("utf8");
    let o = passagectl(&["rom", "0000:0a:00.0", "--root", root]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("shows the host's screen"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&attr).expect("read"), rom::legacy_and_uefi());
}
