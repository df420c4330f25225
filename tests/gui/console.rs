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
    app.press_button("Connect");
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
