//! An only-GPU VM's start asks first: the question names what stops (the display manager,
//! the graphical sessions), warns about unsaved work, and only its answer starts the VM.

use std::path::Path;
use std::time::Duration;

use crate::Session;

/// libvirt's test driver on the demo's node with win11-gaming in the only-GPU mode.
fn node_with_only_gpu(s: &Session) -> String {
    let demo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/fixtures/data/demo/libvirt-node.xml");
    let xml = std::fs::read_to_string(demo).expect("node");
    let purpose = "<passage:purpose>gaming</passage:purpose>";
    assert!(
        xml.contains(purpose),
        "the demo's gaming VM has its purpose"
    );
    let xml = xml.replacen(
        purpose,
        &format!("{purpose}\n        <passage:gpu-mode>only-gpu</passage:gpu-mode>"),
        1,
    );
    let node = s.dir.path().join("node.xml");
    std::fs::write(&node, xml).expect("node");
    format!("test://{}", node.display())
}

#[test]
fn an_only_gpu_vms_start_asks_before_the_desktop_stops() {
    let s = Session::start();
    let uri = node_with_only_gpu(&s);
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("win11-gaming"));
    app.wait_for(&["#vm-page", "win11-gaming", "Off"]);

    app.action("vm-start", None);
    let d = app.wait_for(&[
        "#confirm",
        "Stop the Desktop to Start “win11-gaming”?",
        "every graphical session ends",
        "save your work first",
    ]);
    app.shot("only-gpu-start-question", &d);
    // Cancel starts nothing.
    app.key_to_dialog("Escape");
    std::thread::sleep(Duration::from_secs(2));
    let tree = app.tree();
    assert!(!tree.contains("Running"), "{tree}");
    assert!(!tree.contains("Starting…"), "{tree}");

    app.action("vm-start", None);
    app.wait_for(&["#confirm", "Stop the Desktop to Start “win11-gaming”?"]);
    app.press_button("Stop the Desktop and Start");
    app.wait_for(&["#vm-page", "win11-gaming", "Running"]);
}

/// On a host whose only graphics card shows the screen (the single-gpu fixture taken for this
/// computer), the app makes a VM of it: the Devices page offers the card saying the desktop
/// stops while the VM runs; chosen, the wizard's defaults are the only-GPU mode with the
/// card's group and the host's keyboard and mouse by evdev; Host setup plans no binding at
/// boot and says why; Create defines it in libvirt and its page's Start asks first.
#[test]
fn on_a_one_card_host_the_app_makes_an_only_gpu_vm_with_its_own_keyboard_and_mouse() {
    use passage_virt::Hypervisor;
    let lv = super::libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let s = Session::start();
    let root = s.dir.path().join("host");
    passage_fixtures::build("single-gpu", &root).expect("fixture");
    let root_s = root.display().to_string();
    let env = [
        ("PASSAGE_LIVE_ROOT", root_s.as_str()),
        ("PASSAGE_LIBVIRT_URI", uri.as_str()),
    ];
    let mut app = s.launch_with(&[], &env);
    app.wait_page("check", &["This is the host's only graphics card"]);
    app.action("show-page", Some("devices"));
    let d = app.wait_page(
        "devices",
        &[
            "This computer's only graphics card: it can go to a VM in the only-GPU mode — the desktop stops while the VM runs",
            "Create a Gaming VM…",
        ],
    );
    app.shot("only-gpu-devices", &d);
    super::a11y::assert_all_named(&app, "Devices on a one-card host");
    app.action("choose-gpu", Some("0000:0c:00.0"));
    app.wait_for(&["is chosen for the VM"]);

    // Host setup: the IOMMU and libvirt's hook, no vfio-pci at boot, and why.
    app.action("show-page", Some("setup"));
    let d = app.wait_page(
        "setup",
        &[
            "[x] | #setup-mode-only",
            "The card is not bound to vfio-pci at boot",
            "amd_iommu=on",
        ],
    );
    assert!(
        !d.contains("#setup-mode-boot") || !d.contains("[x] | #setup-mode-boot"),
        "{d}"
    );
    assert!(
        !d.contains("modprobe.d") && !d.contains("mkinitcpio.conf"),
        "{d}"
    );
    app.shot("only-gpu-setup", &d);

    // The wizard with its defaults but the size of a test VM.
    for kv in ["memory-gib=4", "vcpus=2", "disk=new:1", "name=solo"] {
        app.action("wizard-set", Some(kv));
    }
    app.action("show-page", Some("vm-pci"));
    let d = app.wait_page("vm-pci", &["[x] | #gpu-mode-only", "0000:0c:00.0"]);
    assert!(
        !d.contains("#gpu-mode-boot"),
        "only GPU is the card's one mode:\n{d}"
    );
    app.shot("only-gpu-wizard-pci", &d);
    app.action("show-page", Some("vm-review"));
    let d = app.wait_page(
        "vm-review",
        &[
            "1 keyboard, 1 mouse",
            "Only GPU: the desktop stops while the VM runs",
            "Its own keyboard and mouse: Logitech USB Receiver (keyboard), Logitech USB Receiver (mouse)",
            "The XML is valid",
        ],
    );
    app.shot("only-gpu-wizard-review", &d);

    // Without them, Create waits and says what to add.
    app.action(
        "wizard-set",
        Some("evdev-remove=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd"),
    );
    app.action(
        "wizard-set",
        Some("evdev-remove=/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse"),
    );
    app.action("show-page", Some("vm-review"));
    app.wait_page(
        "vm-review",
        &["Not ready yet", "needs its own keyboard and mouse"],
    );
    app.action(
        "wizard-set",
        Some("evdev-add=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd"),
    );
    app.action(
        "wizard-set",
        Some("evdev-add=/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse"),
    );
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["The XML is valid", "1 keyboard, 1 mouse"]);

    app.action("wizard-create", None);
    app.wait_page("vms", &["#vm-page", "solo", "4 GiB of memory"]);
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let xml = h.xml("solo").expect("solo is defined");
    for want in [
        "<passage:gpu-mode>only-gpu</passage:gpu-mode>",
        "bus='0x0c' slot='0x00' function='0x0'",
        "usb-Logitech_USB_Receiver-event-kbd",
        "usb-Logitech_USB_Receiver-if01-event-mouse",
    ] {
        assert!(xml.contains(want), "{want} missing:\n{xml}");
    }
    app.action("vm-start", None);
    let d = app.wait_for(&[
        "#confirm",
        "Stop the Desktop to Start “solo”?",
        "save your work first",
    ]);
    app.shot("only-gpu-created-start-question", &d);
    app.key_to_dialog("Escape");
    drop(app);

    // Devices at 360 px in dark mode.
    s.settings("window-width=360\nwindow-height=720");
    let mut app = s.launch_with(
        &[],
        &[env[0], env[1], ("ADW_DEBUG_COLOR_SCHEME", "prefer-dark")],
    );
    app.wait_page("check", &["This is the host's only graphics card"]);
    app.action("show-page", Some("devices"));
    let d = app.wait_page(
        "devices",
        &["This computer's only graphics card", "dark true"],
    );
    assert_eq!(super::width(&d), 360, "{d}");
    let png = app.shot("narrow-dark-only-gpu-devices", &d);
    assert!(super::brightness(&png) < 0.4, "Devices is dark");
}
