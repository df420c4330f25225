//! Looking Glass in the app on the demo host: the wizard's and the express dialog's rows size
//! the shared memory as the monitor is named (64 MiB for 2560x1440); Edit… of the demo's
//! win11-gaming turns it on (3840x2160, HDR: 256 MiB) and Save writes it; the VM page then shows
//! the Looking Glass group, and with a client on PATH its *Open Looking Glass* starts the client
//! on the VM's memory. The same page at 360 px in dark mode.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::Session;

/// A stand-in `looking-glass-client` on a PATH of its own, writing its arguments to `args`.
fn fake_client(s: &Session) -> (String, std::path::PathBuf) {
    let bin = s.dir.path().join("lgbin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let args = s.dir.path().join("lg-args");
    let c = bin.join("looking-glass-client");
    std::fs::write(&c, format!("#!/bin/sh\necho \"$@\" > {}\n", args.display())).expect("w");
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (path, args)
}

#[test]
fn looking_glass_is_chosen_in_the_wizard_and_edit_and_opened_from_the_vm_page() {
    let s = Session::start();
    let (path, args) = fake_client(&s);
    let uri = super::rom::demo_node(&s);
    let env = [
        ("PATH", path.as_str()),
        ("PASSAGE_LIBVIRT_URI", uri.as_str()),
    ];
    let mut app = s.launch(&env);
    app.wait_page("check", &["Demo host:"]);

    // The wizard: a custom size typed is the custom choice, sized as it is typed.
    app.action("show-page", Some("vm-name"));
    app.wait_page("vm-name", &["#wizard-looking-glass", "#wizard-lg-hdr"]);
    app.tab_to("name=wizard-lg-size", 80);
    app.type_text("2560x1440");
    let d = app.wait_for(&["64 MiB of shared memory on /dev/shm/looking-glass for 2560x1440"]);
    app.shot("wizard-looking-glass", &d);

    // Edit… on the demo's gaming VM: 4K HDR, saved.
    app.action("show-vm", Some("win11-gaming"));
    app.wait_page("vms", &["#vm-page", "#edit-settings"]);
    app.press_button("Edit…");
    app.wait_for(&["#vm-edit", "#edit-looking-glass"]);
    app.tab_to("name=edit-lg-size", 120);
    app.type_text("3840x2160");
    app.tab_to("name=edit-lg-hdr", 20);
    app.keys(&["space"]);
    let d = app.wait_for(&["256 MiB of shared memory on /dev/shm/looking-glass for 3840x2160:hdr"]);
    app.shot("edit-looking-glass", &d);
    app.press_button("Save");
    let d = app.wait_for(&[
        "#vm-page",
        "#vm-looking-glass",
        "Looking Glass: 256 MiB shared memory at /dev/shm/looking-glass",
        "#open-looking-glass",
    ]);
    app.shot("vm-looking-glass", &d);
    app.press_button("Open Looking Glass");
    let end = Instant::now() + Duration::from_secs(10);
    while !args.exists() {
        assert!(Instant::now() < end, "the client was not started");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        std::fs::read_to_string(&args).expect("args").trim(),
        "-f /dev/shm/looking-glass"
    );

    // The express dialog has the same rows.
    app.action("show-page", Some("devices"));
    app.wait_page("devices", &["Create a Gaming VM…"]);
    let t = app.tree();
    let button = t
        .lines()
        .filter_map(|l| l.split('\'').nth(1))
        .find(|n| n.starts_with("Create a Gaming VM… with "))
        .expect("the express button")
        .to_string();
    app.press_button(&button);
    let d = app.wait_for(&["#express", "#express-looking-glass", "#express-lg-hdr"]);
    app.shot("express-looking-glass", &d);
    drop(app);

    // Edit…'s rows at 360 px in dark mode.
    s.settings("window-width=360\nwindow-height=720");
    let mut app = s.launch(&[("ADW_DEBUG_COLOR_SCHEME", "prefer-dark"), env[0], env[1]]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("win11-gaming"));
    app.wait_page("vms", &["#vm-page", "#edit-settings"]);
    app.press_button("Edit…");
    app.tab_to("name=edit-lg-size", 120);
    app.type_text("2560x1440");
    let d = app.wait_for(&[
        "#edit-looking-glass",
        "64 MiB of shared memory on /dev/shm/looking-glass for 2560x1440",
        "dark true",
    ]);
    assert_eq!(super::width(&d), 360, "Edit… keeps the window at 360 px");
    let png = app.shot("narrow-dark-edit-looking-glass", &d);
    assert!(super::brightness(&png) < 0.4, "dark");
}
