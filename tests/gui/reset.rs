//! The AMD reset bug on the pages: a host whose VM card is a Radeon RX 580 (Polaris 10,
//! 1002:67df) beside the X570 board's RX 5700 XT (Navi 10) showing the screen. System check
//! names the bug, the Devices page says so under each card's group, and the wizard's "only
//! while a VM runs" says it is not for this card (the mode stays from boot on).

use super::{radio_of, Session};

#[test]
fn a_card_with_the_reset_bug_is_named_on_check_devices_and_the_wizards_mode() {
    let mut spec = passage_fixtures::spec("x570-tutorial").expect("spec");
    for p in spec.pci.iter_mut().filter(|p| p.addr == "0000:0a:00.0") {
        (p.vendor, p.device, p.subsys) = (0x1002, 0x67df, (0x1da2, 0xe366));
    }
    let s = Session::start();
    let root = s.dir.path().join("host");
    passage_fixtures::build_spec(&spec, &root).expect("fixture");
    let mut app = s.launch_live(&root, "unix:path=/nonexistent/system_bus_socket");
    let d = app.wait_page(
        "check",
        &[
            "The card has the AMD reset bug",
            "is an AMD Polaris 10 card: once a VM has used it",
            "Give the card to VMs from boot on",
        ],
    );
    app.shot("check-reset-bug", &d);
    app.action("show-page", Some("devices"));
    let d = app.wait_page(
        "devices",
        &[
            "AMD Polaris 10: the reset bug — it may not come back after a VM stops until the computer restarts; give it to VMs from boot on, and use vendor-reset",
            "AMD Navi 10: the reset bug",
        ],
    );
    assert_eq!(
        radio_of(&d, 28),
        Some(true),
        "the RX 580's group is chosen:\n{d}"
    );
    app.shot("devices-reset-bug", &d);
    super::a11y::assert_all_named(&app, "Devices with the reset bug's lines");
    app.action("show-page", Some("vm-pci"));
    let d = app.wait_page(
        "vm-pci",
        &["Not for this card: it has the AMD reset bug, and after a VM it may not come back to this computer until a restart."],
    );
    app.shot("vm-pci-reset-bug", &d);
}
