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

/// The "remote host": a private libvirtd behind a real sshd, whose `passagectl` (in the
/// returned bin dir) reads the X570 fixture (the returned root).
fn remote_host() -> (PrivateLibvirtd, tempfile::TempDir, tempfile::TempDir, Sshd) {
    let d = PrivateLibvirtd::start();
    let bin = tempfile::tempdir().expect("tmp");
    let remote_root = fixture("x570-tutorial");
    let sshd = Sshd::start(&remote_path(
        bin.path(),
        std::path::Path::new(env!("CARGO_BIN_EXE_passagectl")),
        remote_root.path(),
    ));
    (d, bin, remote_root, sshd)
}

#[test]
fn vm_commands_and_a_plan_reach_a_remote_host_over_ssh() {
    let (d, _bin, _remote_root, sshd) = remote_host();
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

/// `command` (a shell line) in a pty of a devpts instance of its own (script, in a private
/// mount namespace): `answer` typed once `prompt` shows; everything it printed, once it ends
/// (60 s at most).
fn at_a_terminal(command: &str, prompt: &str, answer: &str) -> String {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let inner = format!(
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts && mount --bind /dev/pts/ptmx /dev/ptmx && exec script -qfec '{command}' /dev/null"
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &inner])
        .env("NO_COLOR", "1")
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare and script");
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().expect("stdin");
    let mut screen = String::new();
    let mut answered = false;
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(b) => screen.push_str(&String::from_utf8_lossy(&b)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
        if !answered && screen.contains(prompt) {
            stdin.write_all(answer.as_bytes()).expect("answer");
            answered = true;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("still running after 60 s: {screen:?}");
        }
    }
    let _ = child.wait();
    screen
}

/// A change to a remote host, asked for at a terminal: the plan made there is shown, the user
/// is asked, and on yes `passagectl apply` runs there through `ssh -t` (the remote host here
/// has no helper on its system bus: its own words come back, from there). On no, nothing runs
/// there.
#[test]
fn a_remote_change_at_a_terminal_shows_the_plan_made_there_asks_and_runs_it_there() {
    let (d, bin, remote_root, sshd) = remote_host();
    // The remote passagectl notes each command it is given there, and whether it has a
    // terminal, before doing what remote_path's does.
    let log = bin.path().join("ran-there.log");
    std::fs::write(
        bin.path().join("passagectl"),
        format!(
            "#!/bin/sh\necho \"$*\" >> {log}\n[ -t 0 ] && echo \"at a terminal: $1\" >> {log}\ncase \"$1\" in scan|check|plan) exec {real} \"$@\" --root {root} ;; esac\nexec {real} \"$@\"\n",
            log = log.display(),
            real = env!("CARGO_BIN_EXE_passagectl"),
            root = remote_root.path().display()
        ),
    )
    .expect("wrapper");
    let ran_there = || std::fs::read_to_string(&log).unwrap_or_default();
    let uri = sshd.libvirt_uri(&d.socket());
    let command = format!(
        "{} --connect \"{uri}\" apply --gpu 0000:0a:00.0",
        env!("CARGO_BIN_EXE_passagectl")
    );
    let question = "on root@127.0.0.1 now?";
    let screen = at_a_terminal(&command, question, "n\n");
    assert!(
        screen.contains("vfio-pci") && screen.contains(question),
        "the plan made there, then the question: {screen:?}"
    );
    assert!(
        screen.contains("Nothing was run there.") && !screen.contains("system bus"),
        "{screen:?}"
    );
    assert_eq!(
        ran_there(),
        "plan --gpu 0000:0a:00.0\n",
        "only the plan ran there"
    );
    let screen = at_a_terminal(&command, question, "y\n");
    assert!(
        screen.contains("cannot reach the system bus"),
        "passagectl apply ran there and said why it could not apply: {screen:?}"
    );
    assert!(
        ran_there().ends_with("apply --gpu 0000:0a:00.0\nat a terminal: apply\n"),
        "apply ran there, in a terminal (ssh -t): {}",
        ran_there()
    );
}
