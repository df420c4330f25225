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

/// CPU time of process `pid` so far, in seconds (/proc/PID/stat: utime + stime).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's ")": utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    // After the command: state, ppid, … utime is the 12th field from there, stime the 13th.
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let ticks = n(11) + n(12);
    ticks as f64 / 100.0 // USER_HZ: 100 on Linux
}

/// The console's redraw against a guest that repaints its whole screen without end
/// (testkit's pattern guest): frames shown a second and the app's CPU over 10 s, then the same
/// time for virt-viewer on the same guest where it is installed (the baseline). Run by
/// build-aux/bench-console.sh.
#[test]
#[ignore = "a benchmark: build-aux/bench-console.sh runs it"]
fn bench_spice_redraw() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let img = passage_testkit::guest::pattern_image(lv.dir.path());
    let spice = "<graphics type='spice'><listen type='none'/></graphics>";
    h.define(&echo_domain("pattern", &img, spice))
        .expect("define");
    h.start("pattern").expect("start");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("pattern"));
    app.wait_page("vms", &["#display-connect"]);
    app.press_button("Connect to the Screen");
    let frames = |app: &mut App| -> u64 {
        let d = app.dump();
        d.lines()
            .find(|l| l.contains("#display-screen"))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("frames="))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    };
    let end = Instant::now() + Duration::from_secs(60);
    while frames(&mut app) == 0 {
        assert!(Instant::now() < end, "no frame");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(3));
    let pid = app.child.0.id();
    let span = Duration::from_secs(10);
    let (f0, c0, t0) = (frames(&mut app), cpu_seconds(pid), Instant::now());
    std::thread::sleep(span);
    let (f1, c1, t) = (
        frames(&mut app),
        cpu_seconds(pid),
        t0.elapsed().as_secs_f64(),
    );
    let fps = (f1 - f0) as f64 / t;
    let cpu = (c1 - c0) / t * 100.0;
    println!(
        "passage console: {fps:.1} frames/s, {cpu:.1}% of a core, {:.2} ms of CPU a frame",
        (c1 - c0) * 1000.0 / ((f1 - f0).max(1) as f64)
    );
    assert!(fps > 1.0, "the guest repaints all the time: {fps} frames/s");
    drop(app);
    match std::process::Command::new("virt-viewer")
        .args(["--attach", "--connect", &uri, "pattern"])
        .env("DISPLAY", &s.display)
        .spawn()
    {
        Ok(mut viewer) => {
            std::thread::sleep(Duration::from_secs(5));
            let c0 = cpu_seconds(viewer.id());
            std::thread::sleep(span);
            let cpu = (cpu_seconds(viewer.id()) - c0) / span.as_secs_f64() * 100.0;
            println!("virt-viewer (baseline): {cpu:.1}% of a core on the same guest");
            let _ = viewer.kill();
            let _ = viewer.wait();
        }
        Err(_) => println!("virt-viewer (baseline): not installed, not measured"),
    }
    h.destroy("pattern").expect("destroy");
}
