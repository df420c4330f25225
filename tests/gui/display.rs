//! Open Display: Passage runs virt-viewer on the VM (`virt-viewer --attach --connect URI
//! NAME`); without virt-viewer it names the package and offers its install command to copy
//! (Passage installs no packages: nothing is installed here, a stand-in virt-viewer on PATH
//! records how it is called).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use passage_testkit::libvirtd;

use super::{Session, TINY_VM};

#[test]
fn open_display_runs_virt_viewer_on_the_vm_or_names_its_package_to_install() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    // A VNC display listening nowhere (libvirt's listen type 'none'): a display, and no port
    // to share with tests running beside this one.
    h.define(&TINY_VM.replace(
        "<graphics type='vnc' autoport='yes'/>",
        "<graphics type='vnc'><listen type='none'/></graphics>",
    ))
    .expect("define tiny");
    h.start("tiny").expect("start tiny");
    let s = Session::start();
    let path = std::env::var("PATH").unwrap_or_default();
    assert!(
        !path
            .split(':')
            .any(|d| std::path::Path::new(d).join("virt-viewer").exists()),
        "this test needs a machine without virt-viewer"
    );

    // Without virt-viewer: the dialog names the package; its button copies the command.
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("tiny"));
    app.wait_page("vms", &["#vm-page", "tiny", "Running", "#open-display"]);
    app.press_button("Open Display");
    let d = app.wait_for(&[
        "#install-package",
        "virt-viewer Is Not Installed",
        "(package virt-viewer)",
        "Passage installs no packages itself",
    ]);
    app.shot("open-display-install-virt-viewer", &d);
    super::a11y::assert_all_named(&app, "the dialog naming virt-viewer");
    app.press_button("Copy the Command to Install virt-viewer");
    app.wait_for(&["Copied “sudo apt install virt-viewer”: run it in a terminal"]);
    drop(app);

    // With virt-viewer (a stand-in that writes down its arguments): it is called on the VM.
    let bin = s.dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let said = s.dir.path().join("out/virt-viewer-args");
    let stub = bin.join("virt-viewer");
    std::fs::write(
        &stub,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", said.display()),
    )
    .expect("stub");
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!("{}:{path}", bin.display());
    let mut app = s.launch(&[
        ("PASSAGE_LIBVIRT_URI", uri.as_str()),
        ("PATH", path.as_str()),
    ]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("tiny"));
    app.wait_page("vms", &["#vm-page", "tiny", "Running", "#open-display"]);
    app.press_button("Open Display");
    let end = Instant::now() + Duration::from_secs(20);
    let args = loop {
        if let Ok(a) = std::fs::read_to_string(&said) {
            break a;
        }
        assert!(Instant::now() < end, "virt-viewer was not run");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(args.trim(), format!("--attach --connect {uri} tiny"));
    let d = app.dump();
    assert!(!d.contains("#install-package"), "{d}");
    h.destroy("tiny").expect("destroy");
}
