//! The card's ROM in a VM's settings (`<rom bar='off'/>`, `<rom file='…'/>` in its
//! `<hostdev>`) over every domain of the shared corpus of users' passthrough domains
//! (/work/shared/corpora/user-domains): each edit is there afterwards, every byte outside the
//! `<rom>` is unchanged, libvirt's schema still holds (virt-xml-validate), and a second edit
//! changes nothing. A ROM file is walked first: one without an x64 UEFI image is refused.

mod common;

use passage_core::vm::domain::Rom;
use passage_core::vm::settings::{edit, usable_rom, Changes, RomEdit, Settings};
use passage_core::vm::Domain;

fn corpus() -> Vec<(String, String)> {
    common::user_domains()
}

fn without_rom(xml: &str) -> String {
    common::without_elements(xml, |n| n.has_tag_name("rom"))
}

const FILE: &str = "/var/lib/libvirt/vbios/card.rom";

/// An edit: its name, the edit of a card, what the card's `<rom>` must hold after it.
type RomCase = (
    &'static str,
    fn(passage_core::host::PciAddress) -> RomEdit,
    fn(&Rom) -> bool,
);

/// The edits, and what the card's `<rom>` must hold after each.
fn edits() -> Vec<RomCase> {
    vec![
        (
            "ROM BAR off",
            |card| RomEdit {
                card,
                file: None,
                bar: Some(false),
            },
            |r| r.bar.as_deref() == Some("off"),
        ),
        (
            "a ROM file",
            |card| RomEdit {
                card,
                file: Some(Some(FILE.into())),
                bar: None,
            },
            |r| r.file.as_deref() == Some(FILE),
        ),
        (
            "a ROM file, the BAR on",
            |card| RomEdit {
                card,
                file: Some(Some(FILE.into())),
                bar: Some(true),
            },
            |r| r.file.as_deref() == Some(FILE) && r.bar.as_deref() != Some("off"),
        ),
    ]
}

#[test]
fn every_rom_edit_on_every_users_card_is_there_keeps_every_other_byte_and_validates() {
    let mut report = vec![];
    for (what, make, holds) in edits() {
        let (mut applied, mut validated) = (0, 0);
        for (name, xml) in corpus() {
            let d = Domain::read(&xml).expect("reads");
            let Some(card) = d
                .hostdevs
                .iter()
                .filter(|h| !h.interface)
                .find_map(|h| h.host)
            else {
                continue;
            };
            let changes = Changes {
                rom: Some(make(card)),
                ..Changes::default()
            };
            let e = edit(&xml, &changes, false).unwrap_or_else(|e| panic!("{name}, {what}: {e}"));
            applied += 1;
            let s = Settings::of(&Domain::read(&e.xml).expect("edited reads"));
            let rom = s
                .roms
                .iter()
                .find(|(a, _)| *a == card)
                .and_then(|(_, r)| r.clone())
                .unwrap_or_default();
            assert!(holds(&rom), "{name}, {what}: {rom:?}\n{}", e.xml);
            assert_eq!(
                without_rom(&xml),
                without_rom(&e.xml),
                "{name}, {what}: bytes outside <rom> changed"
            );
            if common::validates(&xml) {
                common::valid(&e.xml);
                validated += 1;
            }
            let again = edit(&e.xml, &changes, false).expect("again");
            assert_eq!(
                again.xml, e.xml,
                "{name}, {what}: a second edit changed the XML"
            );
        }
        assert!(applied >= 40, "{what}: only {applied} domains with a card");
        report.push(format!("{what}: {applied} domains, {validated} validated"));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn the_rom_file_taken_out_leaves_the_bar_and_an_empty_rom_goes() {
    let xml = "<domain type='kvm'>\n  <name>v</name>\n  <memory>1048576</memory>\n  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0x0000' bus='0x0a' slot='0x00' function='0x0'/>\n      </source>\n      <rom bar='off' file='/var/lib/libvirt/vbios/old.rom'/>\n    </hostdev>\n  </devices>\n</domain>\n";
    let card = "0000:0a:00.0".parse().expect("address");
    let drop_file = Changes {
        rom: Some(RomEdit {
            card,
            file: Some(None),
            bar: None,
        }),
        ..Changes::default()
    };
    let e = edit(xml, &drop_file, false).expect("edit");
    assert!(e.xml.contains("      <rom bar='off'/>\n"), "{}", e.xml);
    let bar_on = Changes {
        rom: Some(RomEdit {
            card,
            file: None,
            bar: Some(true),
        }),
        ..Changes::default()
    };
    let e2 = edit(&e.xml, &bar_on, false).expect("edit");
    assert!(
        e2.xml.contains("<rom bar='on'/>"),
        "said as before: {}",
        e2.xml
    );
    // A card the VM does not have is refused with words.
    let other = Changes {
        rom: Some(RomEdit {
            card: "0000:0b:00.0".parse().expect("address"),
            file: None,
            bar: Some(false),
        }),
        ..Changes::default()
    };
    let e = edit(xml, &other, false).expect_err("no such hostdev");
    assert!(e.why.contains("0000:0b:00.0"), "{e}");
}

#[test]
fn a_rom_file_without_an_x64_uefi_image_or_behind_a_header_is_refused() {
    let good = passage_fixtures::rom::legacy_and_uefi();
    assert!(usable_rom("/x/good.rom", &good).is_ok());
    let e = usable_rom("/x/legacy.rom", &passage_fixtures::rom::legacy_only()).expect_err("legacy");
    assert!(e.why.contains("no UEFI image"), "{e}");
    let e = usable_rom("/x/text.rom", b"hello, not a ROM").expect_err("text");
    assert!(e.why.contains("not a PCI option ROM"), "{e}");
    let behind = passage_fixtures::rom::nvidia_header(&good);
    let e = usable_rom("/x/nvflash.rom", &behind).expect_err("header");
    assert!(e.why.contains("bytes before its first image"), "{e}");
}
