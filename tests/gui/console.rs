//! The VM page's serial console (issue 23, item 2): a software-emulated guest (testkit's
//! echo boot sector) through a private libvirtd; what is typed in the terminal reaches the
//! guest, which echoes it in capitals (so the text seen came back from the guest, not from
//! the terminal). A VM without a serial port says so; a stopped VM's console closes.

use std::io::Read as _;
use std::process::Command;
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
    let spice = "<graphics type='spice'><listen type='none'/></graphics>";
    the_display_shows_the_guest_and_takes_its_keys(spice, "vm-display-console", |_, _| {});
}

/// The same for a VNC display (gvnc on libvirt's socket), and the mouse and Send Key reach
/// QEMU: its input trace events (QEMU's log, in the VM's libvirt log) show the click, the
/// motion and Ctrl+Alt+Del's keys.
#[test]
fn the_vnc_display_shows_the_guest_and_takes_its_keys_and_pointer() {
    let vnc = "<graphics type='vnc'><listen type='none'/></graphics>";
    the_display_shows_the_guest_and_takes_its_keys(vnc, "vm-display-vnc", pointer_and_send_key);
}

/// What QEMU logged of the VM `screen` after `from` bytes of its log, until it contains all
/// of `want`.
fn wait_log(lv: &libvirtd::PrivateLibvirtd, from: usize, want: &[&str]) -> String {
    let log = lv.dir.path().join("var/log/libvirt/qemu/screen.log");
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let all = std::fs::read(&log).unwrap_or_default();
        let text = String::from_utf8_lossy(all.get(from..).unwrap_or_default()).into_owned();
        if want.iter().all(|w| text.contains(w)) {
            return text;
        }
        assert!(Instant::now() < end, "QEMU never logged {want:?}:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Clicks and moves the mouse on the screen, and sends Ctrl+Alt+Del from the menu; QEMU's
/// input trace shows each. Then connects again with another viewer on the display, which
/// stays.
fn pointer_and_send_key(app: &mut App, lv: &libvirtd::PrivateLibvirtd) {
    let trace = Command::new("virsh")
        .args(["-c", &lv.uri(), "qemu-monitor-command", "screen", "--hmp"])
        .arg("trace-event input_event_* on")
        .output()
        .expect("virsh");
    assert!(trace.status.success(), "{trace:?}");
    let log = lv.dir.path().join("var/log/libvirt/qemu/screen.log");
    let from = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
    let d = app.dump();
    let at = d
        .lines()
        .find(|l| l.contains("#display-screen"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("at=")))
        .and_then(|v| v.split_once(','))
        .and_then(|(x, y)| Some((x.parse::<i32>().ok()?, y.parse::<i32>().ok()?)))
        .unwrap_or_else(|| panic!("no screen position:\n{d}"));
    let (x, y) = (at.0.to_string(), at.1.to_string());
    let (x2, y2) = ((at.0 + 40).to_string(), (at.1 + 20).to_string());
    let st = Command::new("xdotool")
        .args(["mousemove", "--sync", &x, &y, "click", "1"])
        .args(["mousemove", "--sync", &x2, &y2])
        .env("DISPLAY", &app.s.display)
        .status()
        .expect("xdotool");
    assert!(st.success());
    // The guest has a PS/2 mouse only: VNC's relative mode, so motion comes as relative moves.
    let t = wait_log(
        lv,
        from,
        &[
            "button left, down 1",
            "button left, down 0",
            "input_event_rel",
        ],
    );
    assert!(!t.contains("input_event_abs"), "{t}");
    app.press_button("Send Key");
    app.press_button("Ctrl+Alt+Del");
    // Ctrl, Alt and Delete pressed, then released: QEMU names the keys it made of the numbers
    // sent (Delete is an extended key: 0xE0 0x53, QEMU's 0xd3; 0x53 alone is the keypad's dot).
    wait_log(
        lv,
        from,
        &[
            "key qcode ctrl, down 1",
            "key qcode alt, down 1",
            "key qcode delete, down 1",
            "key qcode delete, down 0",
        ],
    );
    // Disconnect closes Passage's connection (QEMU lists no client); Passage connects as a
    // shared client: another viewer already on the display stays.
    app.press_button("Disconnect from the Screen");
    let end = Instant::now() + Duration::from_secs(30);
    while vnc_clients(lv) != 0 {
        assert!(Instant::now() < end, "the connection stayed open");
        std::thread::sleep(Duration::from_millis(200));
    }
    let other = rfb_client(lv);
    assert_eq!(vnc_clients(lv), 1);
    app.press_button("Connect to the Screen");
    let end = Instant::now() + Duration::from_secs(30);
    while vnc_clients(lv) != 2 {
        assert!(
            Instant::now() < end,
            "Passage and the other viewer are not both on"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    other.set_nonblocking(true).expect("nonblocking");
    let left = (&other).read(&mut [0u8; 64]);
    assert!(
        matches!(&left, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the other viewer was disconnected: {left:?}"
    );
}

/// How many VNC clients QEMU lists for `screen` (HMP's info vnc, through libvirt).
fn vnc_clients(lv: &libvirtd::PrivateLibvirtd) -> usize {
    let o = Command::new("virsh")
        .args(["-c", &lv.uri(), "qemu-monitor-command", "screen", "--hmp"])
        .arg("info vnc")
        .output()
        .expect("virsh");
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines()
        .filter(|l| l.trim_start().starts_with("Client:"))
        .count()
}

/// A VNC client of `screen`'s display on libvirt's socket, through RFB 3.8's handshake
/// (no authentication, shared) to the server's init message; it asks for nothing after.
fn rfb_client(lv: &libvirtd::PrivateLibvirtd) -> std::os::unix::net::UnixStream {
    use std::io::{Read, Write};
    let h = passage_virt::Libvirt::open(&lv.uri()).expect("libvirt");
    let mut s = std::os::unix::net::UnixStream::from(h.graphics_fd("screen", 0).expect("fd"));
    let mut version = [0u8; 12];
    s.read_exact(&mut version).expect("version");
    assert_eq!(&version, b"RFB 003.008\n");
    s.write_all(&version).expect("version");
    let mut n = [0u8; 1];
    s.read_exact(&mut n).expect("security types");
    let mut types = vec![0u8; usize::from(n[0])];
    s.read_exact(&mut types).expect("security types");
    assert!(types.contains(&1), "no authentication offered: {types:?}");
    s.write_all(&[1]).expect("security type");
    let mut result = [0u8; 4];
    s.read_exact(&mut result).expect("security result");
    assert_eq!(result, [0; 4]);
    s.write_all(&[1]).expect("shared");
    let mut init = [0u8; 24];
    s.read_exact(&mut init).expect("server init");
    let name = u32::from_be_bytes([init[20], init[21], init[22], init[23]]);
    let mut name = vec![0u8; name as usize];
    s.read_exact(&mut name).expect("desktop name");
    s
}

/// Starts the echo guest with `graphics`, connects the VM page's screen: the guest's blue text
/// screen drawn (screenshot `shot`), the accessible names, keys typed on the screen reach the
/// guest (it echoes them on COM1, read here through libvirt's console stream), Ctrl+Alt gives
/// the keyboard back, then `more`, and the session ends when the VM stops.
fn the_display_shows_the_guest_and_takes_its_keys(
    graphics: &str,
    shot: &str,
    more: impl FnOnce(&mut App, &libvirtd::PrivateLibvirtd),
) {
    use std::io::Read;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let img = echo_image(lv.dir.path());
    h.define(&echo_domain("screen", &img, graphics))
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
    let d = wait_screen(&mut app);
    assert!(d.contains("screen=720x400"), "{d}");
    // White text on blue: the lit pixels that are not blue are the text's.
    let text = |d: &str| screen(d).map_or(0, |(lit, blue)| lit.saturating_sub(blue));
    let first_text = text(&d);
    app.wait_for(&["The VM has the keyboard: press Ctrl+Alt to release it."]);
    app.shot(shot, &d);
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
    // The guest wrote KEYS on its screen too (about 150 white pixels; its blinking cursor is
    // 18): the picture follows, not a frozen first frame.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let d = app.dump();
        if text(&d) > first_text + 60 {
            break;
        }
        assert!(
            Instant::now() < end,
            "the screen never showed KEYS ({first_text} pixels of text at first):\n{d}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Ctrl+Alt gives the keyboard back: typed keys no longer reach the guest.
    app.keys(&["ctrl+alt"]);
    app.wait_for(&["Click the screen to give the VM the keyboard."]);
    more(&mut app, &lv);
    drop(app);

    // At 360 px in dark mode: the screen fits the page, its aspect kept.
    let mut app = s.vm_page_narrow_dark(&uri, "screen", "");
    app.wait_page("vms", &["#display-connect"]);
    app.press_button("Connect to the Screen");
    let d = wait_screen(&mut app);
    app.shot(&format!("narrow-dark-{shot}"), &d);
    assert_eq!(
        super::width(&d),
        360,
        "the page keeps the window at 360 px:\n{d}"
    );
    assert!(d.contains("dark true"), "{d}");
    app.shot(&format!("narrow-dark-{shot}"), &d);
    h.destroy("screen").expect("destroy");
    app.wait_for(&["Start the VM to see its screen here."]);
}

/// Waits until the screen shows the guest: its 720×400 text screen painted blue, with its
/// banner in white.
fn wait_screen(app: &mut App) -> String {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let d = app.dump();
        if screen(&d).is_some_and(|(lit, blue)| blue > 100_000 && lit > blue) {
            return d;
        }
        assert!(
            Instant::now() < end,
            "the screen never showed the guest:\n{d}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
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
