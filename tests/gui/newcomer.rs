//! The newcomer's whole path, as issue 21 tells it: the demo host (its own VMs on libvirt's
//! test driver, as `passage --demo` opens them), Next from System Check to Devices to Host
//! Setup to the wizard; in the wizard every default accepted, the ISOs chosen through the real
//! file chooser; Create; the new VM's page; Start passes the pre-flight; the VM runs; Shut
//! Down; the VM is off. A screenshot per step: newcomer-NN-step.png.

use super::Session;
use crate::App;

/// The ISOs a newcomer has downloaded, in the Downloads folder xdg-user-dirs names.
const ISOS: [(&str, &str); 2] = [
    ("install-iso", "Win11_23H2_English_x64.iso"),
    ("virtio-iso", "virtio-win-0.1.240.iso"),
];

impl App<'_> {
    /// Screenshot `n` of the path, named for its step.
    fn step_shot(&self, n: u32, step: &str, dump: &str) {
        self.shot(&format!("newcomer-{n:02}-{step}"), dump);
    }
}

#[test]
fn a_newcomer_follows_next_with_the_defaults_to_a_running_vm_and_shuts_it_down() {
    let s = Session::start();
    let downloads = s.dir.path().join("home/Downloads");
    std::fs::create_dir_all(&downloads).expect("mkdir");
    for (_, f) in ISOS {
        std::fs::write(downloads.join(f), b"x").expect("write");
    }
    std::fs::write(
        s.dir.path().join("config/user-dirs.dirs"),
        "XDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n",
    )
    .expect("user-dirs.dirs");
    // An empty URI is no URI: the demo's own VMs, as `passage --demo` opens them.
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", "")]);
    let mut n = 0;
    let mut shot = |app: &App<'_>, step: &str, d: &str| {
        n += 1;
        app.step_shot(n, step, d);
    };
    let d = app.wait_page("check", &["Demo host:", "The IOMMU is on", "#next"]);
    shot(&app, "check", &d);
    for (from, to, want) in [
        ("check", "devices", "Graphics cards"),
        ("devices", "setup", "chosen on Devices."),
        ("setup", "vm-media", "Installation disc image (ISO)"),
    ] {
        app.wait_page(from, &["#next"]);
        app.tab_to("name=next", 80);
        app.keys(&["space"]);
        let d = app.wait_page(to, &[want]);
        shot(&app, to.trim_start_matches("vm-"), &d);
    }

    // The ISOs, chosen through the real file chooser.
    for (row, file) in ISOS {
        // Titled by the row it fills: which disc is asked for.
        let title = match row {
            "install-iso" => "Installation disc image (ISO)",
            _ => "Drivers disc image (virtio-win ISO)",
        };
        app.open_chooser("vm-media", row, title);
        let path = downloads.join(file);
        let row_of = format!("row={file},");
        let d = app.wait_dump(&row_of, |d| d.contains(&row_of));
        shot(&app, &format!("chooser-{row}"), &d);
        app.choose_in(title, &path);
        app.wait_entry(&path.display().to_string());
    }
    let d = app.wait_page("vm-media", &["Installation disc image (ISO)"]);
    shot(&app, "media-chosen", &d);

    // Every other step as it comes: Next, its defaults untouched.
    for (to, want) in [
        ("vm-resources", "Memory (GiB)"),
        ("vm-storage", "Create a new disk image"),
        ("vm-name", "SPICE display"),
        ("vm-firmware", "Secure Boot"),
        ("vm-cpu", "Pin the VM's CPUs"),
        ("vm-pci", "0000:0a:00.0 · group 28"),
        ("vm-usb", "Keyboard and mouse"),
        ("vm-boot", "1. Installation disc"),
        ("vm-review", "The XML is valid"),
    ] {
        app.press_button("Next");
        let d = app.wait_page(to, &[want]);
        shot(&app, to.trim_start_matches("vm-"), &d);
    }
    app.press_button("Create");
    let d = app.wait_page("vms", &["#vm-page", "#start", "Demo host:"]);
    shot(&app, "vm-page", &d);

    // Nothing to authorize on the demo's test driver (it runs no hook): no error, no prompt.
    assert!(!d.contains("#problem"), "{d}");
    app.press_button("Start");
    let d = app.wait_for(&["#vm-page", "Running", "#shut-down"]);
    let t = app.tree();
    assert!(!t.contains("Not Started"), "the pre-flight refused:\n{t}");
    assert!(!d.contains("#problem"), "{d}");
    shot(&app, "running", &d);

    app.press_button("Shut Down");
    let d = app.wait_for(&["#vm-page", "Off", "#start"]);
    shot(&app, "off", &d);
}
