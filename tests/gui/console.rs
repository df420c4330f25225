//! The VM page's serial console (issue 23, item 2): a software-emulated guest (testkit's
//! echo boot sector) through a private libvirtd; what is typed in the terminal reaches the
//! guest, which echoes it in capitals (so the text seen came back from the guest, not from
//! the terminal). A VM without a serial port says so; a stopped VM's console closes.

use std::time::{Duration, Instant};

use passage_testkit::guest::{echo_domain, echo_domain_without_console, echo_image};
use passage_testkit::libvirtd;
use passage_virt::Hypervisor;

use super::{App, Session};

/// Waits until the terminal's screen (in the widget dump) contains `want`.
fn wait_terminal(app: &mut App, want: &str) -> String {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let d = app.dump();
        if d.lines()
            .any(|l| l.contains("#serial-terminal") && l.contains(want))
        {
            return d;
        }
        assert!(
            Instant::now() < end,
            "the terminal never showed {want:?}:\n{d}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_serial_console_shows_the_guest_and_types_to_it() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let img = echo_image(lv.dir.path());
    h.define(&echo_domain("echo", &img, ""))
        .expect("define echo");
    let no_port = echo_domain_without_console("no-port", &img);
    h.define(&no_port).expect("define no-port");
    h.start("echo").expect("start echo");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);

    app.action("show-vm", Some("no-port"));
    app.wait_page("vms", &["#serial-console", "This VM has no serial port"]);

    app.action("show-vm", Some("echo"));
    app.wait_page(
        "vms",
        &[
            "#serial-connect",
            "Connect takes the console from any other client of echo",
        ],
    );
    app.press_button("Connect to the Serial Console");
    app.wait_for(&[
        "#serial-terminal",
        "Connected to the serial console of echo",
    ]);
    // The terminal has the keyboard once connected.
    app.keys(&[
        "h", "e", "l", "l", "o", "space", "g", "u", "e", "s", "t", "Return",
    ]);
    let d = wait_terminal(&mut app, "HELLO GUEST");
    app.shot("vm-serial-console", &d);
    super::a11y::assert_all_named(&app, "the VM page with its serial console");

    // The VM stops: the session ends, and the page says to start it.
    h.destroy("echo").expect("destroy");
    app.wait_for(&["Start the VM to see its serial console here."]);
    let d = app.dump();
    assert!(!d.contains("#serial-connect"), "{d}");
}

/// The screen's `lit` and `blue` pixel counts in the dump, once it shows a frame.
fn screen(d: &str) -> Option<(usize, usize)> {
    let l = d.lines().find(|l| l.contains("#display-screen"))?;
    let n = |k: &str| -> Option<usize> {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .and_then(|v| v.parse().ok())
    };
    Some((n("lit=")?, n("blue=")?))
}

/// The SPICE display: libvirt's sockets (no port), the guest's blue text screen drawn, keys
/// typed on the screen reach the guest (it echoes them on COM1, read here through libvirt's
/// console stream), Ctrl+Alt gives the keyboard back.
#[test]
fn the_spice_display_shows_the_guest_and_takes_its_keys() {
    use std::io::Read;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let img = echo_image(lv.dir.path());
    let spice = "<graphics type='spice'><listen type='none'/></graphics>";
    h.define(&echo_domain("screen", &img, spice))
        .expect("define");
    h.start("screen").expect("start");
    // What the guest echoes on COM1.
    let (mut echoed, to_test) = std::io::pipe().expect("pipe");
    let (nothing, _keep_open) = std::io::pipe().expect("pipe");
    let console_uri = uri.clone();
    std::thread::spawn(move || {
        let h = passage_virt::Libvirt::open(&console_uri).expect("libvirt");
        let _ = h.console("screen", nothing, to_test, false);
    });
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("screen"));
    app.wait_page(
        "vms",
        &["#display-connect", "through libvirt (no port is opened)"],
    );
    app.press_button("Connect to the Screen");
    let end = Instant::now() + Duration::from_secs(60);
    let d = loop {
        let d = app.dump();
        // The guest paints its 720×400 text screen blue, with its banner in white.
        if screen(&d).is_some_and(|(lit, blue)| blue > 100_000 && lit > blue) {
            break d;
        }
        assert!(
            Instant::now() < end,
            "the screen never showed the guest:\n{d}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(d.contains("screen=720x400"), "{d}");
    app.wait_for(&["The VM has the keyboard: press Ctrl+Alt to release it."]);
    app.shot("vm-display-console", &d);
    super::a11y::assert_all_named(&app, "the VM page with its screen");

    app.keys(&["k", "e", "y", "s", "Return"]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n @ 1..) = echoed.read(&mut buf) {
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    let mut seen = String::new();
    let end = Instant::now() + Duration::from_secs(30);
    while !seen.contains("KEYS\r\n") {
        let left = end.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the guest never echoed the keys: {seen:?}");
        if let Ok(s) = rx.recv_timeout(left) {
            seen.push_str(&s);
        }
    }
    // Ctrl+Alt gives the keyboard back: typed keys no longer reach the guest.
    app.keys(&["ctrl+alt"]);
    app.wait_for(&["Click the screen to give the VM the keyboard."]);
    h.destroy("screen").expect("destroy");
    app.wait_for(&["Start the VM to see its screen here."]);
}
