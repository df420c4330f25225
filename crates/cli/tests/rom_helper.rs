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
