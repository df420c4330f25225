//! The serial console through a real libvirtd: a software-emulated guest (testkit's echo
//! boot sector) prints its banner on COM1 and echoes in capitals what is typed.

use std::io::Write;
use std::time::{Duration, Instant};

use passage_testkit::guest::{echo_domain, echo_image, BANNER};
use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::console::Ended;
use passage_virt::{Hypervisor, Libvirt};

/// Collects what the console wrote until `want` is in it (at most a minute).
fn wait_for(out: &std::sync::mpsc::Receiver<Vec<u8>>, seen: &mut String, want: &str) {
    let start = Instant::now();
    while !seen.contains(want) {
        let left = Duration::from_secs(60).saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "no {want:?} on the console; it showed {seen:?}"
        );
        if let Ok(bytes) = out.recv_timeout(left) {
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
}

/// A writer that hands each write to a channel.
struct Chan(std::sync::mpsc::Sender<Vec<u8>>);

impl Write for Chan {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(b.to_vec());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_serial_console_reads_the_guest_and_types_to_it() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let img = echo_image(d.dir.path());
    h.define(&echo_domain("passage-serial", &img, ""))
        .expect("define");
    h.start("passage-serial").expect("start");
    let (typed, keys) = std::io::pipe().expect("pipe");
    let (out_tx, out) = std::sync::mpsc::channel();
    let session = std::thread::spawn(move || {
        let h = Libvirt::open(&d.uri()).expect("connect");
        let ended = h.console("passage-serial", typed, Chan(out_tx), true);
        (ended, d)
    });
    let mut seen = String::new();
    wait_for(&out, &mut seen, BANNER);
    let mut keys = keys;
    keys.write_all(b"hello passage\r").expect("type");
    wait_for(&out, &mut seen, "HELLO PASSAGE\r\n");
    // Ctrl+] ends the session, as in virsh console.
    keys.write_all(&[passage_virt::console::ESCAPE])
        .expect("escape");
    let (ended, d) = session.join().expect("session");
    assert_eq!(ended.expect("console"), Ended::User);
    let h = Libvirt::open(&d.uri()).expect("connect");
    h.destroy("passage-serial").expect("destroy");
}

#[test]
fn a_vm_that_is_not_running_has_no_console() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let img = echo_image(d.dir.path());
    h.define(&echo_domain("passage-off", &img, ""))
        .expect("define");
    let e = h
        .console("passage-off", std::io::empty(), std::io::sink(), false)
        .expect_err("an off VM has no console");
    assert!(e.to_string().contains("not running"), "{e}");
}
