//! A remote host added from the main menu: "Connect to Remote Host…" refuses what is not a
//! host, then takes a qemu+ssh URI; the VM list shows that host's VMs with the header naming
//! it; the host is remembered in GSettings and "This Computer" switches back. The remote host
//! is a real sshd on 127.0.0.1 (testkit::sshd: own config, port, host key, a throwaway key and
//! known_hosts; ended by PID) in front of the test's private libvirtd, reached with
//! `?socket=…` as libvirt's ssh transport does (through nc there).

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use passage_testkit::{libvirtd, sshd};
use passage_virt::Hypervisor;

use super::{a11y, App, Session, TINY_VM};

/// Types `text` into the newest window (the dialog; no window manager, so focused first).
fn type_into_dialog(app: &App<'_>, text: &str) {
    let ids = app.windows(".");
    let id = ids.last().expect("a visible window");
    let st = Command::new("xdotool")
        .args(["windowfocus", "--sync", id, "type", "--delay", "20", text])
        .env("DISPLAY", &app.s.display)
        .status()
        .expect("xdotool");
    assert!(st.success());
}

#[test]
fn a_remote_host_added_from_the_menu_shows_its_vms_and_this_computer_comes_back() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let h = passage_virt::Libvirt::open(&lv.uri()).expect("libvirt");
    // A VNC display listening nowhere: a display, and no port to share with other tests.
    h.define(
        &TINY_VM
            .replace("<name>tiny</name>", "<name>far-away</name>")
            .replace(
                "<graphics type='vnc' autoport='yes'/>",
                "<graphics type='vnc'><listen type='none'/></graphics>",
            ),
    )
    .expect("define");
    // A VM with 1 GiB of memory, more than the remote host has free (the demo host has it).
    h.define(
        &TINY_VM
            .replace("<name>tiny</name>", "<name>far-card</name>")
            .replace(
                "<memory unit='MiB'>128</memory>",
                "<memory unit='MiB'>1024</memory>",
            ),
    )
    .expect("define far-card");
    // The remote host's passagectl reads an X570 like the demo host's, with 64 MiB of memory
    // free: what is said of the remote is told from this computer's facts.
    let bin = tempfile::tempdir().expect("tmp");
    let remote_root = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", remote_root.path()).expect("fixture");
    let meminfo = remote_root.path().join("proc/meminfo");
    let low: String = std::fs::read_to_string(&meminfo)
        .expect("meminfo")
        .lines()
        .map(|l| {
            if l.starts_with("MemAvailable:") {
                "MemAvailable:      65536 kB\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&meminfo, low).expect("meminfo");
    let real = std::path::Path::new(env!("CARGO_BIN_EXE_passage")).with_file_name("passagectl");
    let ssh = sshd::Sshd::start(&sshd::remote_path(bin.path(), &real, remote_root.path()));
    let uri = ssh.libvirt_uri(&lv.socket());

    let s = Session::start();
    // A stand-in virt-viewer that writes down how Open Display calls it.
    let viewer = s.dir.path().join("bin");
    std::fs::create_dir_all(&viewer).expect("mkdir");
    let said = s.dir.path().join("out/virt-viewer-args");
    let stub = viewer.join("virt-viewer");
    std::fs::write(
        &stub,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", said.display()),
    )
    .expect("stub");
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        viewer.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", ""), ("PATH", path.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-page", Some("vms"));
    app.wait_page("vms", &["win11-gaming"]);

    app.action("connect-remote", None);
    app.wait_for(&["Connect to Remote Host", "#remote-host-entry"]);
    type_into_dialog(&app, "ops@gpu box");
    app.wait_for(&["has characters a host name cannot have"]);
    app.key_to_dialog("ctrl+a");
    type_into_dialog(&app, &uri);
    app.key_to_dialog("Return");

    let d = app.wait_page(
        "vms",
        &[
            "far-away",
            "label 'VMs on root@127.0.0.1'",
            "Before a start Passage checks its devices and memory (read there over SSH)",
        ],
    );
    // The host is read again for the banner: it stops saying the demo's VMs are shown.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let t = loop {
        let t = app.tree();
        if !t.contains("Its VMs are demo VMs") || std::time::Instant::now() > end {
            break t;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        !t.contains("Its VMs are demo VMs"),
        "the banner still says the demo's VMs are shown: {t}"
    );
    assert!(
        !t.contains("win11-gaming"),
        "the demo's VMs still shown: {t}"
    );
    // The dialog fades out (no window manager): the screenshot waits for it to go.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.windows(".").len() > 1 && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    app.shot("remote-host-vms", &d);
    // The devices shown are this computer's: the Devices editor says to choose them there.
    app.action("edit-devices", Some("far-away"));
    app.wait_for(&[
        "Choose Devices on the Remote Host",
        "not root@127.0.0.1's",
        "ssh -t -p",
    ]);
    app.key_to_dialog("Escape");
    // So does the express VM from the Devices page: its cards are this computer's too.
    app.action("show-page", Some("devices"));
    app.wait_page("devices", &["Create a Gaming VM…"]);
    let t = app.tree();
    let express = t
        .lines()
        .filter_map(|l| l.split('\'').nth(1))
        .find(|n| n.starts_with("Create a Gaming VM… with "))
        .unwrap_or_else(|| panic!("no express button:\n{t}"))
        .to_string();
    app.press_button(&express);
    app.wait_for(&["Choose Devices on the Remote Host", "not root@127.0.0.1's"]);
    let t = app.tree();
    assert!(
        !t.contains("What Passage chose"),
        "the express dialog opened on a remote host:\n{t}"
    );
    app.key_to_dialog("Escape");
    let keyfile = std::fs::read_to_string(s.dir.path().join("config/glib-2.0/settings/keyfile"))
        .expect("keyfile");
    assert!(
        keyfile.contains("remote-hosts=") && keyfile.contains(&format!("'{uri}'")),
        "{keyfile}"
    );

    // The pre-flight of a remote VM checks the remote host's memory, not this computer's.
    app.action("show-vm", Some("far-card"));
    app.wait_page("vms", &["#vm-page", "far-card"]);
    app.action("vm-start", None);
    app.wait_page(
        "vms",
        &["#vm-page", "far-card", "960 MiB more memory than is free"],
    );
    assert_eq!(
        h.state("far-card").expect("state"),
        passage_virt::VmState::Off,
        "nothing started"
    );
    // Started again, the app shows the remembered remote host and reads it over SSH again:
    // the pre-flight still checks that host's memory, not this computer's.
    drop(app);
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", ""), ("PATH", path.as_str())]);
    app.action("show-page", Some("vms"));
    app.wait_page("vms", &["far-card", "far-away"]);
    app.action("show-vm", Some("far-card"));
    app.wait_page("vms", &["#vm-page", "far-card"]);
    app.action("vm-start", None);
    app.wait_page(
        "vms",
        &["#vm-page", "far-card", "960 MiB more memory than is free"],
    );

    // Its console: virt-viewer on the remote URI, without --attach (a file descriptor cannot
    // cross to a remote host; virt-viewer reaches the display through the URI's SSH).
    h.start("far-away").expect("start");
    app.action("show-vm", Some("far-away"));
    app.wait_page("vms", &["#vm-page", "far-away", "Running", "#open-display"]);
    app.press_button("Open Display");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let args = loop {
        if let Ok(a) = std::fs::read_to_string(&said) {
            break a;
        }
        assert!(std::time::Instant::now() < end, "virt-viewer was not run");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(args.trim(), format!("--connect {uri} far-away"));
    h.destroy("far-away").expect("destroy");

    // Host setup of the remote host: the plan made there, shown before anything is applied,
    // with the command that applies it in a terminal there.
    app.action("remote-setup", None);
    let apply = format!(
        "ssh -t -p {} root@127.0.0.1 'passagectl apply --gpu 0000:0a:00.0'",
        ssh.port
    );
    let d = app.wait_for(&[
        "Host Setup on root@127.0.0.1",
        "#remote-plan",
        "vfio-pci",
        "nothing has been changed there",
        &apply,
    ]);
    app.shot("remote-host-setup-plan", &d);
    // Apply There: passagectl apply runs on that host in a terminal (ssh -tt), shown in the
    // app. The remote host here has no helper on its system bus (its sshd's /run is a private
    // tmpfs): its passagectl's own words come back through the terminal, and the window says
    // the plan was not applied.
    app.press_button("Apply There…");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d = app.dump();
        if d.lines().any(|l| {
            l.contains("#remote-apply-terminal") && l.contains("cannot reach the system bus")
        }) {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "the terminal never showed the remote passagectl's words:\n{d}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let d = app.wait_for(&["#remote-apply-status", "ended without applying the plan"]);
    app.shot("remote-host-setup-applied-there", &d);
    a11y::assert_all_named(&app, "Host setup applied on a remote host, in a terminal");

    // Back to this computer (the demo host here): its VMs, no remote host in the header.
    app.action("connection", Some(""));
    app.wait_page("vms", &["win11-gaming"]);
    let t = app.tree();
    assert!(
        !t.contains("far-away") && !t.contains("label 'VMs on root@127.0.0.1'"),
        "{t}"
    );
}
