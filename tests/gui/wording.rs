//! Words as a newcomer reads them on the demo host (issue 21, item 10): the two GPU modes in
//! one order on Host setup and in the wizard, the plan naming only the kernel arguments it
//! adds, extra devices by kind, keyboards and mice by name and counted as what they are, a VM
//! without a card or a display told nothing about either, Force Off asked in plain words.

use super::Session;

/// The line numbers of `parts` in the tree, in the order given; fails naming a missing one.
fn lines_of(tree: &str, parts: &[&str]) -> Vec<usize> {
    parts
        .iter()
        .map(|p| {
            tree.lines()
                .position(|l| l.contains(p))
                .unwrap_or_else(|| panic!("{p} is not on screen:\n{tree}"))
        })
        .collect()
}

fn assert_modes_in_order(tree: &str, where_: &str) {
    let at = lines_of(tree, &["'From boot on'", "'Only while a VM runs'"]);
    assert!(
        at[0] < at[1],
        "{where_}: the GPU modes are out of order:\n{tree}"
    );
}

#[test]
fn the_demo_hosts_words_are_plain_and_consistent() {
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", "")]);
    app.wait_page("check", &["Demo host:"]);

    // Host setup: the modes in the one order, the boot mode in a plain sentence, and the plan
    // names only what the kernel command line gains.
    app.action("show-page", Some("setup"));
    let d = app.wait_page(
        "setup",
        &[
            "On a day you need it on the host, choose the boot menu's entry",
            "kernel arguments: add iommu=pt; amd_iommu=on already there",
        ],
    );
    app.shot("wording-setup", &d);
    let tree = app.tree();
    assert_modes_in_order(&tree, "Host setup");
    assert!(!tree.contains("without it for a day"), "{tree}");
    assert!(!tree.contains("add amd_iommu=on"), "{tree}");

    // The wizard: the same order; the extra devices said as what the list offers.
    app.action("show-page", Some("vm-pci"));
    let d = app.wait_page(
        "vm-pci",
        &[
            "More devices",
            "SATA and other disk controllers",
            "· SATA controller",
            "· NVMe drive",
        ],
    );
    app.shot("wording-vm-pci", &d);
    assert_modes_in_order(&app.tree(), "the wizard");

    // Keyboards and mice by name (the path below it), counted as what they are in Review.
    let kbd = "/dev/input/by-id/usb-Corsair_Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd";
    app.action("wizard-set", Some(&format!("evdev-add={kbd}")));
    app.action("show-page", Some("vm-usb"));
    let d = app.wait_page(
        "vm-usb",
        &[
            "Corsair Gaming K95 RGB PLATINUM Keyboard (keyboard)",
            "Razer DeathAdder V2 (mouse)",
            kbd,
        ],
    );
    app.shot("wording-vm-usb", &d);
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["0 USB devices, 1 keyboard, "]);

    // A running VM with neither a card nor a display: no Open Display, no card words.
    app.action("show-page", Some("vms"));
    app.wait_page("vms", &["debian-server"]);
    app.action("show-vm", Some("debian-server"));
    let d = app.wait_for(&[
        "#vm-page",
        "debian-server",
        "Running",
        "#shut-down",
        "2 virtual CPUs",
    ]);
    app.shot("wording-vm-without-card", &d);
    assert!(!d.contains("#open-display"), "{d}");
    let tree = app.tree();
    assert!(!tree.contains("The card is"), "{tree}");
    // Force Off asks by the VM's name, in a sentence, and says what is lost.
    app.action("vm-force-off", None);
    let d = app.wait_for(&[
        "#confirm",
        "Force “debian-server” off?",
        "whatever the guest has not saved is lost",
    ]);
    app.shot("wording-force-off", &d);
    app.key_to_dialog("Escape");
    // The VM with the card says when the card goes to it.
    app.action("show-vm", Some("win11-gaming"));
    app.wait_for(&[
        "#vm-page",
        "win11-gaming",
        "The card is kept for VMs from boot on",
    ]);
}
