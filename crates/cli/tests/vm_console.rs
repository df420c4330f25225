//! `passagectl vm console` against a private libvirtd: a software-emulated guest (testkit's
//! echo boot sector) prints its banner on COM1 and echoes in capitals what is typed; a VM
//! without a serial port, and one that is off, are refused with what to do.

mod common;
use common::*;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passage_testkit::guest::{echo_domain, echo_domain_without_console, echo_image, BANNER};
use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::{Hypervisor, Libvirt};

#[test]
fn the_console_shows_the_guest_and_sends_it_what_is_typed() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let img = echo_image(d.dir.path());
    h.define(&echo_domain("echo", &img, "")).expect("define");
    // Started paused, and resumed once the console is connected: the guest prints its banner
    // once, and a pty's output before anyone reads it is lost (on a loaded machine the
    // console could come after the banner).
    let virsh = |args: &[&str]| {
        let o = Command::new("virsh")
            .args(["-c", &d.uri()])
            .args(args)
            .output()
            .expect("virsh");
        assert!(o.status.success(), "virsh {args:?}: {}", stderr(&o));
    };
    virsh(&["start", "--paused", "echo"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_passagectl"))
        .args(["vm", "console", "echo", "--connect", &d.uri()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("passagectl");
    let mut said = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut said, &mut line).expect("stderr");
    assert!(
        line.contains("Connected to the serial console of VM echo"),
        "{line:?}"
    );
    // The stream is opened right after that line is written.
    std::thread::sleep(Duration::from_secs(1));
    virsh(&["resume", "echo"]);
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    let mut seen = String::new();
    let mut wait_for = |want: &str| {
        let start = Instant::now();
        while !seen.contains(want) {
            let left = Duration::from_secs(60).saturating_sub(start.elapsed());
            assert!(!left.is_zero(), "no {want:?}; the console showed {seen:?}");
            if let Ok(s) = rx.recv_timeout(left) {
                seen.push_str(&s);
            }
        }
    };
    wait_for(BANNER);
    let mut keys = child.stdin.take().expect("stdin");
    keys.write_all(b"typed back\r").expect("type");
    wait_for("TYPED BACK\r\n");
    // The input ends: so does the session, and the VM runs on.
    drop(keys);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    assert!(h
        .list()
        .expect("list")
        .iter()
        .any(|v| v.name == "echo" && v.running));
    h.destroy("echo").expect("destroy");

    let o = passagectl(&["vm", "console", "echo", "--connect", &d.uri()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not running") && stderr(&o).contains("passagectl vm start echo"),
        "{}",
        stderr(&o)
    );
    let no_serial = echo_domain_without_console("no-serial", &img);
    h.define(&no_serial).expect("define");
    let o = passagectl(&["vm", "console", "no-serial", "--connect", &d.uri()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no serial console") && stderr(&o).contains("type pty"),
        "{}",
        stderr(&o)
    );
}
