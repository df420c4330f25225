//! `passagectl --connect qemu+ssh://…` against a "remote host": a real sshd on 127.0.0.1 (own
//! config, port, host key; a throwaway key pair and known_hosts written here, never ~/.ssh)
//! in front of a private libvirtd. The remote host's `passagectl` is a wrapper that scans the
//! X570 fixture, so what Passage says of the remote host can be told from this machine's facts.

mod common;
use common::*;

use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_testkit::sshd::{remote_path, Sshd};
use passage_virt::{Hypervisor, Libvirt, VmState};

/// A small software-emulated VM with `devices` inside <devices>.
fn domain(name: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n  <features>\n    <acpi/>\n  </features>\n  <devices>\n{devices}\n    <graphics type='vnc' autoport='yes'/>\n  </devices>\n</domain>\n"
    )
}

#[test]
fn vm_commands_and_a_plan_reach_a_remote_host_over_ssh() {
    let d = PrivateLibvirtd::start();
    let bin = tempfile::tempdir().expect("tmp");
    let remote_root = fixture("x570-tutorial");
    let sshd = Sshd::start(&remote_path(
        bin.path(),
        std::path::Path::new(env!("CARGO_BIN_EXE_passagectl")),
        remote_root.path(),
    ));
    let uri = sshd.libvirt_uri(&d.socket());
    let h = Libvirt::open(&d.uri()).expect("connect");
    h.define(&domain("plain", "")).expect("define");
    // An ISO that is not on this machine: the remote's files are not checked from here.
    h.define(&domain(
        "iso-elsewhere",
        "    <disk type='file' device='cdrom'>\n      <source file='/srv/not-on-this-machine.iso'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>",
    ))
    .expect("define");
    // A card the remote host (the X570 fixture) does not have.
    h.define(&domain(
        "moved-card",
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0x0000' bus='0x3f' slot='0x00' function='0x0'/>\n      </source>\n    </hostdev>",
    ))
    .expect("define");

    let o = passagectl(&["--connect", &uri, "vm", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("plain") && stdout(&o).contains("shut off"),
        "{}",
        stdout(&o)
    );

    let o = passagectl(&["--connect", &uri, "vm", "start", "moved-card"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0000:3f:00.0 is not there")
            && stderr(&o).contains("root@127.0.0.1 is a remote host")
            && stderr(&o).contains("read there over SSH"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.state("moved-card").expect("state"), VmState::Off);

    let o = passagectl(&["--connect", &uri, "vm", "start", "iso-elsewhere"]);
    assert!(
        !stderr(&o).contains("[media-missing]"),
        "this machine's files taken for the remote's: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("disk images, firmware files and libvirt's hook are not checked"),
        "{}",
        stderr(&o)
    );

    let o = passagectl(&["--connect", &uri, "vm", "start", "plain", "--wait"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(h.state("plain").expect("state"), VmState::Running);
    let o = passagectl(&["vm", "--connect", &uri, "show", "plain", "--json"]);
    assert_eq!(json(&o)["state"], "running", "{}", stdout(&o));
    // No guest answers the power button here: asked, then forced off after the timeout.
    let o = passagectl(&[
        "--connect",
        &uri,
        "vm",
        "shutdown",
        "plain",
        "--timeout",
        "1",
        "--force",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(h.state("plain").expect("state"), VmState::Off);

    // --root names a host on this machine: refused with a remote connection.
    let o = passagectl(&["--connect", &uri, "vm", "start", "plain", "--demo"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--root and --demo"), "{}", stderr(&o));

    // A plan for the remote host, made there (the X570's card) and shown here.
    let o = passagectl(&["--connect", &uri, "plan", "--gpu", "0000:0a:00.0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("vfio-pci"), "{}", stdout(&o));
    let o = passagectl(&["--connect", &uri, "scan", "--json"]);
    assert!(
        json(&o)["pci_devices"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x["address"] == "0000:0a:00.0")),
        "{}",
        stdout(&o)
    );

    // What changes the remote host is run there, in a terminal: the command is said.
    let o = passagectl(&["--connect", &uri, "apply", "--gpu", "0000:0a:00.0"]);
    assert_eq!(o.status.code(), Some(2));
    let want = format!(
        "ssh -t -p {} root@127.0.0.1 'passagectl apply --gpu 0000:0a:00.0'",
        sshd.port
    );
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    let o = passagectl(&["--connect", &uri, "vm", "authorize", "plain"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("passagectl vm authorize plain"),
        "{}",
        stderr(&o)
    );
    // The express VM and a ROM file are that host's ISO, card and file: made there.
    let o = passagectl(&[
        "--connect",
        &uri,
        "vm",
        "new",
        "--express",
        "--iso",
        "/srv/Win11.iso",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("made on its own host"),
        "{}",
        stderr(&o)
    );
    let o = passagectl(&[
        "--connect",
        &uri,
        "vm",
        "edit",
        "plain",
        "--rom",
        "/srv/card.rom",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("A ROM file is on the VM's own host"),
        "{}",
        stderr(&o)
    );
    let o = passagectl(&["--connect", &uri, "vm", "remove", "plain"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(h.xml("plain").is_ok(), "nothing half done");

    // A remote host that does not answer: what to check there, not this computer's libvirtd.
    let o = passagectl(&[
        "--connect",
        &format!(
            "qemu+ssh://root@127.0.0.1:1/system?command={}",
            sshd.ssh_program().display()
        ),
        "vm",
        "list",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Check that ssh logs in to that host"),
        "{}",
        stderr(&o)
    );
}
