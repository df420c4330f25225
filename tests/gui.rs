//! The app under a real X server (Xvfb), on a private session bus, driven through its own
//! actions (org.gtk.Actions, as GNOME Shell and `gapplication` do). Each step waits for what
//! the page must show — its text read from the accessibility tree over AT-SPI, as a screen
//! reader reads it (tests/a11y/walk.py); widget names, sizes and the colour scheme from the
//! app's widget dump — then takes a screenshot with ImageMagick's `import`. Then the same tour
//! again at 360 px in dark mode. tests/gui/a11y.rs walks every page for unnamed controls and
//! makes the choices by keyboard.
//!
//! Screenshots go to $PASSAGE_SCREENSHOTS (build-aux/screenshots.sh points it at
//! data/screenshots), else target/gui-screenshots.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use passage_testkit::{bus, libvirtd};

const APP_ID: &str = match option_env!("PASSAGE_APP_ID") {
    Some(v) => v,
    None => "io.github.passage.Passage",
};

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The app's libvirt worker is `passagectl-vm serve`, found beside the app: cargo builds only
/// this package's binaries for its tests, so passagectl's (passagectl and passagectl-vm) are
/// brought up to date once per run.
fn passagectl_built() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = Path::new(env!("CARGO_BIN_EXE_passage"))
            .parent()
            .is_some_and(|d| d.ends_with("release"));
        let mut c = Command::new(cargo);
        c.args(["build", "-q", "-p", "passagectl"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            c.arg("--release");
        }
        assert!(
            c.status().expect("cargo").success(),
            "building passagectl failed"
        );
    });
}

/// Xvfb and a session bus, private to one test.
struct Session {
    _x: Proc,
    _bus: Proc,
    display: String,
    bus: String,
    dir: tempfile::TempDir,
    /// The user the app and its session bus run as (root, or the test system bus's allowed
    /// user, whom polkit lets apply changes).
    uid: u32,
}

fn need(tool: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{tool} is not installed; build-aux/install-deps.sh installs it"
    );
}

impl Session {
    fn start() -> Session {
        Session::start_as(0)
    }

    fn start_as(uid: u32) -> Session {
        passagectl_built();
        for t in [
            "Xvfb",
            "xdotool",
            "dbus-daemon",
            "gdbus",
            "import",
            "convert",
            "glib-compile-schemas",
            "/usr/bin/python3",
        ] {
            need(t);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        // What the app writes is the app user's: its runtime dir, settings, dumps.
        for sub in ["run", "config/glib-2.0/settings", "out", "data", "home"] {
            let p = dir.path().join(sub);
            std::fs::create_dir_all(&p).expect("mkdir");
            for q in p.ancestors().take_while(|q| *q != dir.path()) {
                std::os::unix::fs::chown(q, Some(uid), Some(uid)).expect("chown");
                std::fs::set_permissions(q, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            }
        }
        // -displayfd: Xvfb picks a free display and writes its number to us.
        let mut x = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let mut line = String::new();
        BufReader::new(x.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("display number");
        let display = format!(":{}", line.trim());
        let x = Proc(x);
        // What the bus starts (at-spi-bus-launcher, with its socket under XDG_RUNTIME_DIR)
        // stays in this test's directory: parallel tests do not share one accessibility bus.
        // Its socket in the test's runtime dir (session.conf's default is a socket file in
        // /tmp, which a killed test would leave behind).
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!(
                "--address=unix:path={}",
                dir.path().join("run/bus").display()
            ))
            .stdout(Stdio::piped())
            .env("XDG_RUNTIME_DIR", dir.path().join("run"))
            .env("HOME", dir.path().join("home"))
            .env("DISPLAY", &display)
            .uid(uid)
            .gid(uid)
            .spawn()
            .expect("dbus-daemon starts");
        let mut addr = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut addr)
            .expect("bus address");
        // The app's schema, compiled here; settings in a keyfile the test can preset.
        let schemas = dir.path().join("schemas");
        std::fs::create_dir_all(&schemas).expect("mkdir");
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/io.github.passage.Passage.gschema.xml.in"),
        )
        .expect("schema");
        std::fs::write(
            schemas.join(format!("{APP_ID}.gschema.xml")),
            src.replace("@app-id@", APP_ID)
                .replace("@gettext-package@", "passage"),
        )
        .expect("write schema");
        let st = Command::new("glib-compile-schemas")
            .arg("--strict")
            .arg(&schemas)
            .status()
            .expect("glib-compile-schemas");
        assert!(st.success(), "the gschema compiles with --strict");
        Session {
            _x: x,
            _bus: Proc(bus),
            display,
            bus: addr.trim().to_string(),
            dir,
            uid,
        }
    }

    fn env(&self, c: &mut Command) {
        c.uid(self.uid)
            .gid(self.uid)
            .env("DISPLAY", &self.display)
            .env("GDK_BACKEND", "x11")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            // App-menu launchers go here, never to the machine's own home.
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("HOME", self.dir.path().join("home"))
            .env("GSETTINGS_BACKEND", "keyfile")
            .env("GSETTINGS_SCHEMA_DIR", self.dir.path().join("schemas"))
            .env("GSK_RENDERER", "cairo")
            .env("LANGUAGE", "en")
            .env("LC_ALL", "C.UTF-8")
            // No system bus unless the test gives one (launch_live): the machine's own is
            // never asked, and Passage's helper is not there.
            .env(
                "DBUS_SYSTEM_BUS_ADDRESS",
                "unix:path=/nonexistent/system_bus_socket",
            )
            // The accessibility bus: the session bus starts at-spi-bus-launcher when GTK asks,
            // and it ends with the session bus.
            .env("GTK_A11Y", "atspi")
            .env("PASSAGE_DEBUG", "1")
            // No libvirtd in this test: the Virtual machines page must say what to do.
            .env(
                "PASSAGE_LIBVIRT_URI",
                "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
            );
    }

    fn settings(&self, keys: &str) {
        let f = self.dir.path().join("config/glib-2.0/settings/keyfile");
        std::fs::write(&f, format!("[io/github/passage/Passage]\n{keys}\n")).expect("keyfile");
        std::os::unix::fs::chown(&f, Some(self.uid), Some(self.uid)).expect("chown");
    }

    /// The app at 360 px in dark mode on the private libvirtd at `uri`, showing VM `vm`.
    fn vm_page_narrow_dark(&self, uri: &str, vm: &str, more_settings: &str) -> App<'_> {
        self.settings(&format!(
            "window-width=360\nwindow-height=720\n{more_settings}"
        ));
        let mut app = self.launch(&[
            ("PASSAGE_LIBVIRT_URI", uri),
            ("ADW_DEBUG_COLOR_SCHEME", "prefer-dark"),
        ]);
        app.wait_page("check", &["Demo host:"]);
        app.action("show-vm", Some(vm));
        app
    }

    fn launch(&self, extra_env: &[(&str, &str)]) -> App<'_> {
        self.launch_with(&["--demo"], extra_env)
    }

    /// The app on a fixture tree taken for "this computer" (PASSAGE_LIVE_ROOT), talking to the
    /// system bus at `system_bus`.
    fn launch_live(&self, root: &Path, system_bus: &str) -> App<'_> {
        let root = root.display().to_string();
        self.launch_with(
            &[],
            &[
                ("PASSAGE_LIVE_ROOT", root.as_str()),
                ("DBUS_SYSTEM_BUS_ADDRESS", system_bus),
            ],
        )
    }

    fn launch_with(&self, args: &[&str], extra_env: &[(&str, &str)]) -> App<'_> {
        let mut c = Command::new(env!("CARGO_BIN_EXE_passage"));
        c.args(args);
        self.env(&mut c);
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let child = Proc(c.stderr(Stdio::inherit()).spawn().expect("passage starts"));
        App {
            s: self,
            child,
            n: 0,
        }
    }
}

struct App<'a> {
    s: &'a Session,
    child: Proc,
    n: u32,
}

impl App<'_> {
    /// The shared libraries the app has loaded.
    fn libraries(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/maps", self.child.0.id())).unwrap_or_default()
    }
}

fn object_path() -> String {
    format!("/{}", APP_ID.replace('.', "/"))
}

impl App<'_> {
    fn gdbus(&self, path: &str, action: &str, param: Option<&str>) -> bool {
        let p = match param {
            Some(v) => format!("[<'{v}'>]"),
            None => "[]".into(),
        };
        let mut c = Command::new("gdbus");
        c.args([
            "call",
            "--session",
            "--dest",
            APP_ID,
            "--object-path",
            path,
            "--method",
            "org.gtk.Actions.Activate",
            action,
            &p,
            "{}",
        ]);
        c.uid(self.s.uid)
            .gid(self.s.uid)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.s.bus)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c.status().is_ok_and(|s| s.success())
    }

    /// Activates an app action, waiting for the app to be on the bus.
    fn action(&self, action: &str, param: Option<&str>) {
        let end = Instant::now() + Duration::from_secs(30);
        while !self.gdbus(&object_path(), action, param) {
            assert!(Instant::now() < end, "the app never answered app.{action}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn dump(&mut self) -> String {
        self.n += 1;
        let path = self.s.dir.path().join(format!("out/dump-{}.txt", self.n));
        // An app launched before in this session wrote dumps of the same numbers: the one read
        // must be this app's.
        let _ = std::fs::remove_file(&path);
        self.action("dump-widgets", Some(&path.display().to_string()));
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(t) = std::fs::read_to_string(&path) {
                return t;
            }
            assert!(Instant::now() < end, "no widget dump");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// tests/a11y/walk.py on the app with `args` (bounded: a walk that hangs fails the test
    /// instead of the whole run).
    fn walker(&self, args: &[&str]) -> std::process::Output {
        let walker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/a11y/walk.py");
        Command::new("timeout")
            .args(["-k", "5", "60", "/usr/bin/python3"])
            .arg(&walker)
            .arg(self.child.0.id().to_string())
            .args(args)
            .uid(self.s.uid)
            .gid(self.s.uid)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.s.bus)
            .env("DISPLAY", &self.s.display)
            .env("HOME", self.s.dir.path().join("home"))
            .output()
            .expect("the AT-SPI walker runs")
    }

    /// What a screen reader reads of the app (tests/a11y/walk.py over AT-SPI): one node per
    /// line, `role 'name' (description) [states]`; with `problems`, only what has no name.
    fn tree_mode(&self, mode: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let o = self.walker(&[mode]);
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).into_owned();
            }
            // The app joins the accessibility bus a moment after it starts.
            assert!(
                Instant::now() < end,
                "the app never showed on the accessibility bus: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn tree(&self) -> String {
        self.tree_mode("tree")
    }

    /// Clicks the button a screen reader reads as `name` (its AT-SPI action), waiting until
    /// there is one.
    fn press_button(&self, name: &str) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let o = self.walker(&["press", name]);
            if o.status.success() {
                return;
            }
            assert!(
                Instant::now() < end,
                "no button {name:?} to press: {}\n{}",
                String::from_utf8_lossy(&o.stderr),
                self.tree()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Interactive controls and status icons a screen reader could not name, one per line.
    fn unnamed(&self) -> Vec<String> {
        self.tree_mode("problems")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Waits until everything in `want` is on screen; returns the dump. Text is looked for in
    /// what a screen reader reads; widget names (`#…`), check marks, types, the size and the
    /// colour scheme in the widget dump.
    fn wait_for(&mut self, want: &[&str]) -> String {
        self.wait_for_one_of(&[want]).1
    }

    /// Waits until everything in one of `wants` is on screen (looked for as [`App::wait_for`]
    /// does); returns which one (the first that is, by index) and the dump.
    fn wait_for_one_of(&mut self, wants: &[&[&str]]) -> (usize, String) {
        let end = Instant::now() + Duration::from_secs(30);
        let any_text = wants.iter().flat_map(|w| w.iter()).any(|w| !structural(w));
        loop {
            let d = self.dump();
            let t = if any_text { self.tree() } else { String::new() };
            let missing = |want: &[&str]| -> Vec<String> {
                want.iter()
                    .filter(|w| !if structural(w) { &d } else { &t }.contains(*w))
                    .map(|w| w.to_string())
                    .collect()
            };
            let mut all_missing = Vec::new();
            for (i, want) in wants.iter().enumerate() {
                let m = missing(want);
                if m.is_empty() {
                    return (i, d);
                }
                all_missing.push(m);
            }
            if Instant::now() > end {
                panic!("not shown: {all_missing:?}\n--- read by a screen reader ---\n{t}\n--- widget dump ---\n{d}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends a key to the newest dialog (no window manager here: focus it first).
    fn key_to_dialog(&self, key: &str) {
        let ids = self.windows(".");
        self.press(ids.last().expect("a visible window"), &[key]);
    }

    /// The visible X windows whose name matches `name`, oldest first.
    fn windows(&self, name: &str) -> Vec<String> {
        let o = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", name])
            .env("DISPLAY", &self.s.display)
            .output()
            .expect("xdotool");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Focuses window `id` (there is no window manager to do it) and presses `keys` there.
    fn press(&self, id: &str, keys: &[&str]) {
        let st = Command::new("xdotool")
            .args(["windowfocus", "--sync", id, "key", "--delay", "60"])
            .args(keys)
            .env("DISPLAY", &self.s.display)
            .status()
            .expect("xdotool");
        assert!(st.success());
    }

    /// Waits until Host setup's Apply turns on, once the helper has answered (its text can be
    /// read a moment before).
    fn wait_apply_ready(&mut self) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let d = self.dump();
            let apply = d.lines().find(|l| l.contains("#apply")).expect("Apply");
            if !apply.contains("(insensitive)") {
                return;
            }
            assert!(Instant::now() < end, "Apply stays off:\n{d}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `page` alone is on screen showing all of `want`.
    fn wait_page(&mut self, page: &str, want: &[&str]) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        let tag = format!("#page-{page}");
        loop {
            let d = self.wait_for(want);
            if d.matches("#page-").count() == 1 && d.contains(&tag) {
                return d;
            }
            assert!(Instant::now() < end, "{page} never showed alone:\n{d}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A screenshot of the window (no window manager: it sits at 0,0).
    fn shot(&self, name: &str, dump: &str) -> PathBuf {
        let size = dump
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("size "))
            .expect("size line")
            .to_string();
        // Let the frame that shows the dumped state reach the X server.
        std::thread::sleep(Duration::from_millis(400));
        let out = shots_dir().join(format!("{name}.png"));
        let st = Command::new("import")
            .args([
                "-window",
                "root",
                "-crop",
                &format!("{size}+0+0"),
                "+repage",
            ])
            .arg(&out)
            .env("DISPLAY", &self.s.display)
            .status()
            .expect("import");
        assert!(st.success(), "screenshot {name}");
        out
    }
}

/// Whether a wanted string is about the widgets (names, check marks, types, size, scheme)
/// rather than text a screen reader reads.
fn structural(w: &str) -> bool {
    w.contains('#')
        || w.contains("[x]")
        || w.contains("[ ]")
        || w.contains("(insensitive)")
        || w.starts_with("dark ")
        || w.starts_with("Gtk")
        || w.starts_with("Adw")
}

#[path = "gui/a11y.rs"]
mod a11y;
#[path = "gui/agent.rs"]
mod agent;
#[path = "gui/choosers.rs"]
mod choosers;
#[path = "gui/console.rs"]
mod console;
#[path = "gui/demo_vms.rs"]
mod demo_vms;
#[path = "gui/display.rs"]
mod display;
#[path = "gui/edit.rs"]
mod edit;
#[path = "gui/errors.rs"]
mod errors;
#[path = "gui/express.rs"]
mod express;
#[path = "gui/german.rs"]
mod german;
#[path = "gui/keyboard.rs"]
mod keyboard;
#[path = "gui/looking_glass.rs"]
mod looking_glass;
#[path = "gui/newcomer.rs"]
mod newcomer;
#[path = "gui/only_gpu.rs"]
mod only_gpu;
#[path = "gui/path.rs"]
mod path;
#[path = "gui/remote.rs"]
mod remote;
#[path = "gui/reset.rs"]
mod reset;
#[path = "gui/rom.rs"]
mod rom;
#[path = "gui/wording.rs"]
mod wording;

fn shots_dir() -> PathBuf {
    let d = std::env::var_os("PASSAGE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/gui-screenshots"));
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// Mean brightness of an image, 0 (black) to 1 (white).
fn brightness(png: &Path) -> f64 {
    let o = Command::new("convert")
        .arg(png)
        .args(["-colorspace", "Gray", "-format", "%[fx:mean]", "info:"])
        .output()
        .expect("convert");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .expect("a number")
}

/// The colour of one pixel, each channel 0 to 1.
fn pixel(png: &Path, x: u32, y: u32) -> [f64; 3] {
    let o = Command::new("convert")
        .arg(png)
        .args([
            "-crop",
            &format!("1x1+{x}+{y}"),
            "-format",
            "%[fx:r] %[fx:g] %[fx:b]",
            "info:",
        ])
        .output()
        .expect("convert");
    let v: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|c| c.parse().expect("a number"))
        .collect();
    assert_eq!(v.len(), 3, "one pixel's colour");
    [v[0], v[1], v[2]]
}

/// Whether the radio button of group `id` is on, from the dump.
fn radio_of(dump: &str, id: u32) -> Option<bool> {
    let tag = format!("#group-{id}");
    let mut lines = dump.lines().skip_while(|l| !l.contains(&tag));
    lines.next()?;
    for l in lines {
        if l.contains("#group-") {
            return None;
        }
        if l.contains("GtkCheckButton") {
            return Some(l.contains("[x]"));
        }
    }
    None
}

fn width(dump: &str) -> u32 {
    dump.lines()
        .next()
        .and_then(|l| l.strip_prefix("size "))
        .and_then(|s| s.split('x').next())
        .and_then(|w| w.parse().ok())
        .expect("width")
}

#[test]
fn every_page_on_the_demo_host_wide_and_light_then_360px_and_dark() {
    let s = Session::start();
    {
        let mut app = s.launch(&[("ADW_DEBUG_COLOR_SCHEME", "prefer-light")]);
        // System check: the demo banner and the tutorial board's findings.
        let d = app.wait_page(
            "check",
            &[
                "Demo host:",
                "Demo host",
                "The IOMMU is on",
                "Ready for GPU passthrough",
            ],
        );
        assert!(d.contains("dark false"));
        assert!(
            !d.contains("#back"),
            "the wide window shows sidebar and page side by side"
        );
        let light = app.shot("check", &d);
        assert!(brightness(&light) > 0.6, "light mode is light");
        // The app's style sheet is loaded: the demo banner (below the header bar, right of the
        // sidebar) is tinted with the warning colour, not the window's grey.
        let [r, _, b] = pixel(&light, 700, 95);
        assert!(r - b > 0.1, "the demo banner is amber ({r} red, {b} blue)");

        // Devices: group 28 (the RTX 2080 Ti and its three functions) is chosen; the host's
        // display GPU says it stays.
        app.action("show-page", Some("devices"));
        let d = app.wait_page(
            "devices",
            &[
                "Group 28: NVIDIA",
                "Can go to a VM · 4 devices",
                "Shows this computer's screen: it stays with the host",
                "Other IOMMU groups",
            ],
        );
        assert_eq!(radio_of(&d, 28), Some(true), "group 28's radio is on:\n{d}");
        assert_eq!(
            radio_of(&d, 31),
            Some(false),
            "the display GPU's group is not chosen"
        );
        app.shot("devices", &d);
        // The expander rows' arrow is drawn from the app's PNG, not libadwaita's SVG: the
        // SVG loader (librsvg, 6.5 MB) stays out of the first pages.
        let libs = app.libraries();
        assert!(libs.contains("libgtk-4"), "the maps were read");
        assert!(
            !libs.contains("librsvg"),
            "System check and Devices loaded librsvg: an SVG icon is drawn"
        );

        // Choosing the host's display GPU is refused with the reason; the choice stays.
        app.action("choose-gpu", Some("0000:0d:00.0"));
        let d = app.wait_for(&[
            "This Card Stays With the Host",
            "shows this computer's screen",
        ]);
        app.shot("devices-refused", &d);
        app.key_to_dialog("Escape");
        let d = app.wait_for(&["#group-28"]);
        assert_eq!(
            radio_of(&d, 28),
            Some(true),
            "the refused choice springs back to group 28"
        );

        // Host setup: the plan, with each file's diff; Apply is off on the demo host.
        app.action("show-page", Some("setup"));
        let d = app.wait_page(
            "setup",
            &[
                "/etc/modprobe.d/passage-vfio.conf",
                "/etc/kernelstub/configuration",
                "update-initramfs -u -k all",
                "Restart the computer",
                "Applying is disabled here",
                "The demo host has no history",
            ],
        );
        let apply = d
            .lines()
            .find(|l| l.contains("#apply"))
            .expect("Apply button");
        assert!(apply.contains("(insensitive)"), "{apply}");
        app.shot("setup", &d);
        app.action("apply", None);
        app.wait_for(&["Applying is disabled on the demo host"]);
        // The card lent while VMs run: libvirt's hook and the desktop kept off the card
        // instead of the boot-time binding; then back.
        app.action("setup-mode", Some("running"));
        let d = app.wait_page(
            "setup",
            &[
                "[x] | #setup-mode-running",
                "/etc/libvirt/hooks/qemu.d/50-passage",
                "/etc/udev/rules.d/61-passage-mutter-ignore.rules",
            ],
        );
        assert!(!d.contains("/etc/modprobe.d/passage-vfio.conf"), "{d}");
        app.shot("setup-while-running", &d);
        // One choice, one answer: the wizard's GPU mode follows Host setup's, and back.
        app.action("show-page", Some("vm-pci"));
        app.wait_page(
            "vm-pci",
            &["[x] | #gpu-mode-running", "[ ] | #gpu-mode-boot"],
        );
        app.action("wizard-set", Some("gpu-mode=boot"));
        app.action("show-page", Some("setup"));
        app.wait_page(
            "setup",
            &[
                "[x] | #setup-mode-boot",
                "/etc/modprobe.d/passage-vfio.conf",
            ],
        );

        // Virtual machines: libvirt is not running here, and the page says what to do.
        app.action("show-page", Some("vms"));
        let d = app.wait_page(
            "vms",
            &[
                "libvirt cannot be reached",
                "systemctl enable --now libvirtd",
                "Try Again",
            ],
        );
        app.shot("vms-unreachable", &d);

        app.action("about", None);
        let d = app.wait_for(&["AdwAboutWindow", "Passage"]);
        app.shot("about", &d);
        app.action("shortcuts", None);
        let d = app.wait_for(&["GtkShortcutsWindow", "Scan this computer again"]);
        app.shot("shortcuts", &d);
    }
    {
        // 360 px wide, dark: the leaflet folds to one column with a back button, and no page
        // makes the window wider than 360 px.
        s.settings("window-width=360\nwindow-height=720");
        let mut app = s.launch(&[("ADW_DEBUG_COLOR_SCHEME", "prefer-dark")]);
        for (page, want) in a11y::PAGES {
            app.action("show-page", Some(page));
            let d = app.wait_page(page, &[want, "#back", "dark true"]);
            assert_eq!(width(&d), 360, "{page} keeps the window at 360 px:\n{d}");
            let alloc: u32 = d
                .lines()
                .nth(1)
                .and_then(|l| l.strip_prefix("alloc "))
                .and_then(|s| s.split('x').next())
                .and_then(|w| w.parse().ok())
                .expect("alloc");
            assert!(alloc <= 360, "{page} content fits 360 px: {alloc}");
            let png = app.shot(&format!("narrow-dark-{page}"), &d);
            assert!(brightness(&png) < 0.4, "{page} is dark");
        }
        // No ISO was chosen: Review says the VM has nothing to install from, with the step
        // that changes it, and Create does not wait for it (the disk may hold a system).
        app.action("show-page", Some("vm-review"));
        app.wait_page(
            "vm-review",
            &[
                "No installation disc",
                "Install Media",
                "#create",
                "The XML is valid",
            ],
        );
    }
}

/// Every file below the host's /etc and /boot (the helper's journal left out).
fn host_files(tb: &bus::TestBus) -> Vec<(String, Vec<u8>)> {
    tb.snapshot()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("var/lib/passage"))
        .collect()
}

/// The ids of the history rows on screen, newest first, and how many can be undone.
fn changes(dump: &str) -> (Vec<String>, usize) {
    let ids = dump
        .lines()
        .filter_map(|l| l.split("#change-").nth(1))
        .map(|id| id.trim().to_string())
        .collect();
    let undo = dump.lines().filter(|l| l.trim() == "GtkLabel Undo").count();
    (ids, undo)
}

#[test]
fn apply_then_undo_through_the_real_helper_with_polkit_deciding() {
    // The tutorial's X570 host as "this computer": a private system bus, a real polkitd that
    // allows the user "daemon", and passage-helper serving the same tree (its rebuild steps
    // are stand-ins that print what the real ones would).
    let tb = bus::TestBus::start(
        "x570-tutorial",
        Some(&[
            ("kernelstub", "echo kernelstub: boot entry written"),
            (
                "update-initramfs",
                "echo 'update-initramfs: Generating /boot/initrd.img-6.1.0'",
            ),
        ]),
        &[],
    );
    let before = host_files(&tb);
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    let d = app.wait_page("check", &["The IOMMU is on"]);
    assert!(!d.contains("Demo host"), "this is not the demo host:\n{d}");

    app.action("show-page", Some("setup"));
    app.wait_page(
        "setup",
        &[
            "/etc/modprobe.d/passage-vfio.conf",
            "Applying asks for your password once",
            "Passage has made no changes to this host.",
        ],
    );
    app.wait_apply_ready();
    app.action("apply", None);
    let d = app.wait_for(&[
        "Restart to Finish",
        "Applied",
        "update-initramfs: Generating",
    ]);
    app.shot("setup-applied", &d);
    let vfio = std::fs::read_to_string(tb.root.join("etc/modprobe.d/passage-vfio.conf"))
        .expect("the helper wrote the vfio-pci options");
    assert!(vfio.contains("vfio-pci"), "{vfio}");
    let stub = std::fs::read_to_string(tb.root.join("etc/kernelstub/configuration"))
        .expect("kernelstub configuration");
    assert!(stub.contains("amd_iommu=on"), "{stub}");
    app.key_to_dialog("Escape");

    // The files are read again: nothing is left to change.
    app.wait_for(&["Nothing to change: this host is already set up for this card."]);

    // History: the card's whole setup is one change with one Undo.
    let wait_changes = |app: &mut App, n: usize, undoable: usize| {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let d = app.dump();
            let (ids, undo) = changes(&d);
            if ids.len() == n && undo == undoable {
                return (ids, d);
            }
            assert!(
                Instant::now() < end,
                "never {n} changes with {undoable} to undo:\n{d}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let (ids, d) = wait_changes(&mut app, 1, 1);
    assert!(!d.contains("#undo-all"), "one change, one Undo");
    a11y::assert_all_named(&app, "Host setup with its history");
    app.action("undo", Some(&ids[0]));
    wait_changes(&mut app, 1, 0);
    assert_eq!(host_files(&tb), before, "every file is back byte for byte");

    // Undo All, for changes made one by one (here: the card again, and a kernel argument
    // from passagectl, which shares the helper's journal).
    app.action("apply", None);
    app.wait_for(&["Restart to Finish"]);
    app.key_to_dialog("Escape");
    let o = tb.passagectl(bus::ALLOWED_UID, &["apply", "--add", "video=efifb:off"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    app.action("rescan", None);
    let (_, d) = wait_changes(&mut app, 3, 2);
    assert!(d.contains("#undo-all"), "{d}");
    app.action("undo-all", None);
    wait_changes(&mut app, 3, 0);
    let d = app.wait_for(&["undone", "/etc/modprobe.d/passage-vfio.conf"]);
    assert!(!d.contains("#undo-all"), "nothing left to undo:\n{d}");
    app.shot("setup-undone", &d);
    assert_eq!(host_files(&tb), before, "every file is back byte for byte");
}

/// System Check's Reserve reserves: through the private helper, polkit allowing it, the
/// pool in the test root grows and the check, read again, says the pages are reserved.
#[test]
fn system_checks_reserve_reserves_through_the_helper() {
    let tb = bus::TestBus::start("x570-tutorial", None, &[]);
    let pool = tb
        .root
        .join("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
    let read = || {
        std::fs::read_to_string(&pool)
            .expect("pool")
            .trim()
            .to_string()
    };
    assert_eq!(read(), "0");
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    let label = "Reserve 8192 MiB";
    let d = app.wait_page(
        "check",
        &["No hugepages are reserved", label, "As 4096 pages of 2 MiB"],
    );
    app.shot("check-reserve", &d);
    app.press_button(label);
    let end = Instant::now() + Duration::from_secs(30);
    while read() != "4096" {
        assert!(Instant::now() < end, "the pool stays at {}", read());
        std::thread::sleep(Duration::from_millis(200));
    }
    let d = app.wait_page("check", &["Hugepages are reserved", "8192 MiB reserved"]);
    app.shot("check-reserved", &d);
    assert!(!d.contains(label), "{d}");
}

#[test]
fn without_the_helper_the_setup_page_says_what_to_install() {
    // A system bus with polkit and no helper on it (as on a computer where only the app is
    // installed).
    let mut tb = bus::TestBus::start("x570-tutorial", None, &[]);
    tb.kill_helper();
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-page", Some("setup"));
    // The plan and its diffs are there before anything is installed; below Apply, what was
    // found and how to install the helper.
    let d = app.wait_page(
        "setup",
        &[
            "/etc/modprobe.d/passage-vfio.conf",
            "/etc/kernelstub/configuration",
            "update-initramfs -u -k all",
            "Passage's helper is not installed: no io.github.passage.Helper1 on the system bus.",
            "sudo build-aux/install-helper.sh",
            "#retry-helper",
        ],
    );
    app.shot("setup-no-helper", &d);
    a11y::assert_all_named(&app, "Host setup without the helper");
    // Apply looks again and says what it found, on the page.
    app.action("apply", None);
    let d = app.wait_for(&[
        "Still not installed: no io.github.passage.Helper1 on the system bus (checked at",
        "sudo build-aux/install-helper.sh",
    ]);
    app.shot("setup-no-helper-apply", &d);
    // Installed now: Try Again finds it, and the page no longer says it is missing.
    tb.start_helper();
    app.action("apply", None);
    app.wait_for(&["Passage's helper is installed: Apply is ready."]);
    let d = app.dump();
    assert!(!d.contains("#helper-missing"), "{d}");
}

#[test]
fn the_tutorials_gaming_vm_is_made_in_the_wizard_and_defined_in_libvirt() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:", "The IOMMU is on"]);
    // The card comes from the Devices page: the tutorial's RTX 2080 Ti (group 28).
    app.action("choose-gpu", Some("0000:0a:00.0"));
    // Each page in the order of virt-manager's flow, then Passage's own; every choice is set
    // the way the page's widgets set it, and the page must show it.
    let steps: [(&str, &[&str], &[&str]); 10] = [
        ("vm-media", &["install-iso=/var/lib/libvirt/images/Win10_22H2_English_x64.iso", "virtio-iso=/var/lib/libvirt/images/virtio-win-0.1.240.iso"], &["Installation disc image (ISO)", "Gaming (Windows)"]),
        ("vm-resources", &["memory-gib=16", "vcpus=12"], &["Memory (GiB)", "This computer has 24 logical CPUs"]),
        ("vm-storage", &["disk=new:128"], &["Create a new disk image", "qcow2"]),
        ("vm-name", &["name=win10", "network=bridge:br0"], &["The name libvirt and the app menu know the VM by", "A bridge on this computer", "SPICE display"]),
        ("vm-firmware", &[], &["Let libvirt choose", "Secure Boot", "TPM 2.0"]),
        ("vm-cpu", &[], &["Pin the VM's CPUs", "pinned to host CPUs that share an L3 cache", "Keep this computer off the VM's CPUs", "Hide the hypervisor"]),
        ("vm-pci", &["pci-add=0000:04:00.0"], &["TU102 [GeForce RTX 2080 Ti Rev. A]", "0000:0a:00.3 · group 28", "When the card goes to the VM", "Only while a VM runs", "[x] | #gpu-mode-boot", "0000:04:00.0"]),
        ("vm-usb", &["evdev-add=/dev/input/by-id/usb-Corsair_Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd", "evdev-add=/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-event-mouse"], &["Keyboard and mouse", "Razer DeathAdder V2 (mouse)", "usb-Razer_Razer_DeathAdder_V2-event-mouse"]),
        ("vm-boot", &[], &["1. Installation disc", "2. Disk", "3. Samsung Electronics Co Ltd NVMe SSD Controller", "Boot menu"]),
        ("vm-review", &[], &["win10: 16 GiB, 12 CPUs, 5 PCI devices, 0 USB devices, 1 keyboard, 1 mouse, 2 discs", "Bridge br0 on this computer", "SPICE display on", "The XML is valid", "Domain XML"]),
    ];
    for (page, sets, want) in steps {
        for kv in sets {
            app.action("wizard-set", Some(kv));
        }
        app.action("show-page", Some(page));
        let d = app.wait_page(page, want);
        app.shot(&format!("wizard-{}", page.trim_start_matches("vm-")), &d);
    }
    // The card lent while the VM runs: the radio follows the choice (then back to at boot,
    // the tutorial's way).
    app.action("wizard-set", Some("gpu-mode=running"));
    app.action("show-page", Some("vm-pci"));
    let d = app.wait_page(
        "vm-pci",
        &["[x] | #gpu-mode-running", "[ ] | #gpu-mode-boot"],
    );
    app.shot("wizard-gpu-mode", &d);
    app.action("wizard-set", Some("gpu-mode=boot"));
    // Boot order: the NVMe drive moves up to second; the page redraws at once.
    app.action("show-page", Some("vm-boot"));
    app.wait_page("vm-boot", &["3. Samsung"]);
    app.action("wizard-set", Some("boot-up=0000:04:00.0"));
    let d = app.wait_page(
        "vm-boot",
        &[
            "2. Samsung Electronics Co Ltd NVMe SSD Controller",
            "3. Disk",
        ],
    );
    app.shot("wizard-boot-reordered", &d);
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["The XML is valid"]);

    app.action("wizard-create", None);
    // The new VM's page, then the list.
    app.wait_page("vms", &["#vm-page", "win10", "16 GiB of memory"]);
    app.press_button("Back to all virtual machines");
    let d = app.wait_page("vms", &["win10", "made by Passage (gaming)"]);
    app.shot("vms-created", &d);
    a11y::assert_all_named(&app, "the list of VMs");
    app.wait_for(&["push button 'Start win10'", "push button 'Open win10'"]);

    // libvirt holds it: the card's four functions and the NVMe drive, both ISOs, the new disk
    // image in the default pool, evdev keyboard and mouse, and the boot order chosen.
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let xml = h.xml("win10").expect("win10 is defined");
    for want in [
        "bus='0x0a' slot='0x00' function='0x0'",
        "bus='0x0a' slot='0x00' function='0x3'",
        "bus='0x04' slot='0x00' function='0x0'",
        "Win10_22H2_English_x64.iso",
        "virtio-win-0.1.240.iso",
        "win10.qcow2",
        "Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd",
        "<hidden state='on'/>",
        "<source bridge='br0'/>",
    ] {
        assert!(xml.contains(want), "{want} missing:\n{xml}");
    }
    let boots: Vec<&str> = xml
        .match_indices("<boot order=")
        .map(|(i, _)| &xml[i..i + 16])
        .collect();
    assert_eq!(boots.len(), 3, "{xml}");
    let pools = h.pools().expect("pools");
    assert!(pools.iter().any(|p| p.name == "default"), "{pools:?}");

    // Editing its devices afterwards: the NVMe drive out, the Logitech receiver in; nothing
    // else in the domain changes.
    app.action("edit-devices", Some("win10"));
    let d = app.wait_for(&["Devices of win10", "Unifying Receiver", "Group 28: NVIDIA"]);
    app.shot("vm-edit-devices", &d);
    // Named by its title; every control named; Esc closes it (it is opened again to edit).
    a11y::assert_all_named(&app, "the device editor");
    app.wait_for(&["frame 'Devices of win10'"]);
    app.key_to_dialog("Escape");
    let end = Instant::now() + Duration::from_secs(10);
    while app.tree().contains("frame 'Devices of win10'") {
        assert!(Instant::now() < end, "Esc did not close the device editor");
        std::thread::sleep(Duration::from_millis(100));
    }
    app.action("edit-devices", Some("win10"));
    app.wait_for(&["Devices of win10", "Unifying Receiver"]);
    app.action("edit-set", Some("pci-remove=0000:04:00.0"));
    app.action("edit-set", Some("usb-add=046d:c52b"));
    app.action("edit-save", None);
    app.wait_for(&["The devices of win10 are saved"]);
    let after = h.xml("win10").expect("win10");
    let (was, now) = (
        passage_core::vm::import::import(&xml).expect("import"),
        passage_core::vm::import::import(&after).expect("import"),
    );
    assert_eq!(was.pci.len(), 5);
    assert_eq!(
        now.pci.len(),
        4,
        "the NVMe drive is gone, the card stays:\n{after}"
    );
    assert!(now.pci.iter().all(|p| p.address.bus == 0x0a));
    assert_eq!(now.usb.len(), 1);
    assert_eq!((now.usb[0].vendor, now.usb[0].product), (0x046d, 0xc52b));
    assert_eq!(
        (&now.name, now.memory_mib, now.vcpus, &now.cdroms),
        (&was.name, was.memory_mib, was.vcpus, &was.cdroms)
    );
    for kept in [
        "win10.qcow2",
        "<hidden state='on'/>",
        "Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd",
        "<passage:purpose>gaming",
    ] {
        assert!(after.contains(kept), "{kept} was lost");
    }

    // Its page: the state libvirt reports, what it has, its actions.
    app.action("show-vm", Some("win10"));
    let want = [
        "#vm-page",
        "win10",
        "Off",
        "What It Has",
        "0000:0a:00.0 · group 28",
        "The card is kept for VMs from boot on",
        "16 GiB of memory",
        "backed by hugepages, reserved when it starts",
        "12 virtual CPUs",
        "#start",
        "#launcher",
        "#delete",
    ];
    let d = app.wait_page("vms", &want);
    app.shot("vm-page", &d);
    a11y::assert_all_named(&app, "the VM's page");
    // Start runs the pre-flight first: the VM's hugepages are reserved at start (the default:
    // the demo host has room for its 16 GiB), by libvirt's hook, which Host setup has not
    // installed here; the page says so and nothing is started.
    app.action("vm-start", None);
    let d = app.wait_for(&[
        "Not Started",
        "libvirt's hook for Passage is not installed",
        "#finding-session-hook-missing",
    ]);
    app.shot("vm-page-refused", &d);
    a11y::assert_all_named(&app, "the VM's page with the pre-flight's findings");
    app.wait_for(&["image 'Stops the start'"]);
    assert_eq!(h.state("win10").expect("state"), passage_virt::VmState::Off);
    drop(app);

    // The same page at 360 px in dark mode.
    let mut app = s.vm_page_narrow_dark(&uri, "win10", "");
    let d = app.wait_page("vms", &["#vm-page", "What It Has", "dark true"]);
    assert_eq!(
        width(&d),
        360,
        "the VM page keeps the window at 360 px:\n{d}"
    );
    let png = app.shot("narrow-dark-vm-page", &d);
    assert!(brightness(&png) < 0.4, "the VM page is dark");
    a11y::assert_all_named(&app, "the VM's page at 360 px");
}

#[test]
fn after_the_restart_the_check_says_what_changed() {
    // What the check said when changes were applied, before a restart (another boot id): the
    // IOMMU was off. Now the host (the tutorial's board, as this computer) has it on.
    let fixture = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build("x570-tutorial", fixture.path()).expect("fixture");
    let s = Session::start();
    s.settings(
        r#"recheck-snapshot='{"boot_id":"an-earlier-boot","findings":[["iommu-off","blocker","The IOMMU is off"]]}'"#,
    );
    let mut app = s.launch_live(fixture.path(), "unix:path=/nonexistent/system_bus_socket");
    let d = app.wait_page(
        "check",
        &["Since the restart", "No longer: The IOMMU is off"],
    );
    app.shot("check-after-restart", &d);
    // Said once: the snapshot is cleared.
    let keyfile = std::fs::read_to_string(s.dir.path().join("config/glib-2.0/settings/keyfile"))
        .expect("keyfile");
    assert!(!keyfile.contains("an-earlier-boot"), "{keyfile}");
}

/// Each pre-flight finding's button on the VM's page, against a private libvirtd: the network
/// started, hugepages turned off (the domain redefined without them, and the check passes),
/// and a missing image's chooser opened.
#[test]
fn every_finding_on_the_vm_page_has_its_button_and_is_checked_again() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    // A bridge-mode network: starting it changes nothing on this host (the bridge is named,
    // not made).
    let net = lv.dir.path().join("lan.xml");
    std::fs::write(
        &net,
        "<network><name>lan</name><forward mode='bridge'/><bridge name='passage-t0'/></network>",
    )
    .expect("net xml");
    let st = Command::new("virsh")
        .args(["-c", &uri, "net-define"])
        .arg(&net)
        .stdout(Stdio::null())
        .status()
        .expect("virsh");
    assert!(st.success());
    assert_eq!(h.networks().expect("nets"), vec![("lan".into(), false)]);
    // 32 MiB pages: a size this (x86) host does not have, so they cannot be reserved.
    h.define("<domain type='qemu'><name>hungry</name><memory unit='MiB'>1024</memory><memoryBacking><hugepages><page size='32768' unit='KiB'/></hugepages></memoryBacking><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><interface type='network'><source network='lan'/></interface></devices></domain>")
        .expect("define hungry");
    h.define("<domain type='qemu'><name>noimage</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='cdrom'><source file='/var/lib/libvirt/images/gone.iso'/><target dev='sda' bus='sata'/><readonly/></disk></devices></domain>")
        .expect("define noimage");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("hungry"));
    app.wait_page("vms", &["#vm-page", "hungry", "Off"]);
    app.action("vm-start", None);
    let d = app.wait_for(&[
        "Not Started",
        "1024 MiB of hugepages short",
        "no more can be reserved",
        "Turn Hugepages Off for This VM",
        "Start the Network “lan”",
    ]);
    app.shot("remedy-refused", &d);
    a11y::assert_all_named(&app, "the VM's page with its findings");
    app.press_button("Start the Network “lan”");
    let end = Instant::now() + Duration::from_secs(30);
    while h.networks().expect("nets") != vec![("lan".into(), true)] {
        assert!(Instant::now() < end, "the network never started");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Checked again: the network's finding is gone, the hugepages' stays.
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let t = app.tree();
        if !t.contains("Start the Network") && t.contains("Turn Hugepages Off for This VM") {
            break;
        }
        assert!(Instant::now() < end, "not checked again:\n{t}");
        std::thread::sleep(Duration::from_millis(200));
    }
    app.press_button("Turn Hugepages Off for This VM");
    let d = app.wait_for(&["#preflight-passes", "The check passes"]);
    app.shot("remedy-passes", &d);
    let xml = h.xml("hungry").expect("xml");
    assert!(!xml.contains("<hugepages"), "{xml}");
    assert!(xml.contains("<source network='lan'"), "{xml}");

    // A missing image: its button opens a chooser (seen by a screen reader).
    app.action("show-vm", Some("noimage"));
    app.wait_page("vms", &["#vm-page", "noimage", "Off"]);
    app.action("vm-start", None);
    app.wait_for(&["gone.iso is missing", "Choose a Disk Image…"]);
    app.press_button("Choose a Disk Image…");
    let d = app.wait_for(&["Choose a Disk Image", "Disk and disc images"]);
    app.shot("remedy-chooser", &d);
}

#[test]
fn the_daily_loop_from_an_app_menu_launcher() {
    use passage_virt::{Hypervisor, VmState};
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    // A small VM without an operating system: it runs, and it does not answer the power button
    // (like a guest asking something on its screen).
    h.define("<domain type='qemu'><name>tiny</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices><graphics type='vnc' autoport='yes'/><memballoon model='none'/></devices></domain>")
        .expect("define");
    let uuid = h
        .list()
        .expect("list")
        .into_iter()
        .find(|v| v.name == "tiny")
        .map(|v| v.uuid)
        .expect("tiny");
    let s = Session::start();
    s.settings("shutdown-timeout=5");
    // Add to App Menu writes the launcher; its command starts the VM.
    {
        let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
        app.wait_page("check", &["Demo host:"]);
        app.action("show-vm", Some("tiny"));
        app.wait_page("vms", &["#vm-page", "tiny", "Off", "App Menu"]);
        app.action("vm-launcher", None);
        app.wait_for(&["tiny is in the app menu"]);
    }
    let desktop = s
        .dir
        .path()
        .join(format!("data/applications/{APP_ID}.vm-{uuid}.desktop"));
    let text = std::fs::read_to_string(&desktop).expect("the launcher was written");
    assert!(
        text.contains("\nName=tiny\n") && text.contains(&format!(" --start-vm {uuid}\n")),
        "{text}"
    );
    let status = Command::new("desktop-file-validate")
        .arg(&desktop)
        .output()
        .expect("desktop-file-validate");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );

    // The launcher's command: the VM's page opens, and the VM starts.
    let mut app = s.launch_with(
        &["--demo", "--start-vm", &uuid],
        &[("PASSAGE_LIBVIRT_URI", uri.as_str())],
    );
    let d = app.wait_for(&[
        "#vm-page",
        "Running",
        "#shut-down",
        "#force-off",
        "#open-display",
    ]);
    app.shot("vm-running", &d);
    assert_eq!(h.state("tiny").expect("state"), VmState::Running);
    // Shut Down asks the guest and shows how long it has been; this one does not answer, so
    // after the timeout the page says so, and nothing is forced without asking.
    app.action("vm-shut-down", None);
    let d = app.wait_for(&["Shutting down… ("]);
    app.shot("vm-shutting-down", &d);
    let d = app.wait_for(&["The guest has not shut down", "#force-off"]);
    app.shot("vm-shutdown-overdue", &d);
    assert_eq!(h.state("tiny").expect("state"), VmState::Running);
    // Force Off asks first, and forces nothing while it asks.
    app.action("vm-force-off", None);
    let d = app.wait_for(&[
        "#confirm",
        "Force “tiny” off?",
        "whatever the guest has not saved is lost",
    ]);
    app.shot("vm-force-off-asks", &d);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(h.state("tiny").expect("state"), VmState::Running);
    // Delete asks too, offering to delete the disk images (this VM has none to offer).
    app.action("vm-delete", None);
    app.wait_for(&[
        "Delete tiny?",
        "#delete-disks",
        "Also delete its disk images",
    ]);
    assert!(
        h.list().expect("list").iter().any(|v| v.name == "tiny"),
        "not deleted while it asks"
    );
    // Forced off outside the app: the page follows libvirt's state.
    h.destroy("tiny").expect("destroy");
    app.wait_for(&["#vm-page", "Off", "#start"]);
    // Remove from App Menu removes the launcher.
    app.action("vm-launcher", None);
    app.wait_for(&["tiny is no longer in the app menu"]);
    assert!(!desktop.exists());
    drop(app);

    // The page in each state at 360 px in dark mode: off, running, shutting down.
    let mut app = s.vm_page_narrow_dark(&uri, "tiny", "shutdown-timeout=60");
    for (state, want, then) in [
        ("off", "#start", Some("vm-start")),
        ("running", "#shut-down", Some("vm-shut-down")),
        ("shutting-down", "Shutting down… (", None),
    ] {
        let d = app.wait_page("vms", &["#vm-page", want, "dark true"]);
        assert_eq!(
            width(&d),
            360,
            "{state}: the VM page keeps the window at 360 px:\n{d}"
        );
        let png = app.shot(&format!("narrow-dark-vm-{state}"), &d);
        assert!(brightness(&png) < 0.4, "{state} is dark");
        a11y::assert_all_named(&app, &format!("the VM's page, {state}"));
        if let Some(a) = then {
            app.action(a, None);
        }
    }
    h.destroy("tiny").expect("destroy");
}

/// A VM the pre-flight refuses on the demo host: its disk image is not there.
const REFUSED_VM: &str = "<domain type='qemu'><name>refused</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/passage-gone.qcow2'/><target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>";

/// A small VM without an operating system: it runs, and it does not answer the power button.
const TINY_VM: &str = "<domain type='qemu'><name>tiny</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices><graphics type='vnc' autoport='yes'/><memballoon model='none'/></devices></domain>";

#[test]
fn every_start_goes_through_the_pre_flight_and_the_list_shuts_down_gently() {
    use passage_virt::{Hypervisor, VmState};
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    h.define(REFUSED_VM).expect("define refused");
    h.define(TINY_VM).expect("define tiny");
    let s = Session::start();
    s.settings("last-vm='refused'");

    // The list's Start: the VM's page with the pre-flight's refusal; nothing started.
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-page", Some("vms"));
    app.wait_page("vms", &["refused", "tiny"]);
    app.press_button("Start refused");
    let d = app.wait_for(&[
        "#vm-page",
        "Not Started",
        "#finding-media-missing",
        "passage-gone.qcow2 is missing",
    ]);
    app.shot("vms-list-start-refused", &d);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(h.state("refused").expect("state"), VmState::Off);
    drop(app);

    // Start the Last VM (the desktop file's action): the same page, the same refusal.
    let mut app = s.launch_with(
        &["--demo", "--start-last-vm"],
        &[("PASSAGE_LIBVIRT_URI", uri.as_str())],
    );
    app.wait_for(&["#vm-page", "Not Started", "#finding-media-missing"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(h.state("refused").expect("state"), VmState::Off);

    // The list's Shut Down asks the guest (this one does not answer): it keeps running.
    h.start("tiny").expect("start tiny");
    app.press_button("Back to all virtual machines");
    let d = app.wait_page("vms", &["Shut down tiny", "Force tiny off…"]);
    app.shot("vms-list-running", &d);
    app.press_button("Shut down tiny");
    app.wait_for(&["Shutting down…"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        h.state("tiny").expect("state"),
        VmState::Running,
        "Shut Down asks the guest; it does not pull the plug"
    );
    // Force Off asks first; Cancel leaves the VM running.
    app.press_button("Force tiny off…");
    let d = app.wait_for(&[
        "#confirm",
        "Force “tiny” off?",
        "whatever the guest has not saved is lost",
    ]);
    app.shot("vms-list-force-off-asks", &d);
    app.press_button("Cancel");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(h.state("tiny").expect("state"), VmState::Running);
    // Confirmed, it is forced off.
    app.press_button("Force tiny off…");
    app.wait_for(&["Force “tiny” off?"]);
    app.press_button("Force Off");
    let end = Instant::now() + Duration::from_secs(20);
    while h.state("tiny").expect("state") != VmState::Off {
        assert!(Instant::now() < end, "Force Off did not force it off");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(app);

    // The list at 360 px in dark mode, one VM running.
    h.start("tiny").expect("start tiny");
    s.settings("window-width=360\nwindow-height=720");
    let mut app = s.launch(&[
        ("PASSAGE_LIBVIRT_URI", uri.as_str()),
        ("ADW_DEBUG_COLOR_SCHEME", "prefer-dark"),
    ]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-page", Some("vms"));
    let d = app.wait_page("vms", &["Shut down tiny", "Start refused", "dark true"]);
    assert_eq!(width(&d), 360, "the list keeps the window at 360 px:\n{d}");
    app.shot("narrow-dark-vms-list-running", &d);
    a11y::assert_all_named(&app, "the list of VMs, one running");
    h.destroy("tiny").expect("destroy");
    drop(app);

    // Start the Last VM of a VM deleted since: the list, with libvirt's word on it.
    s.settings("last-vm='gone'");
    let mut app = s.launch_with(
        &["--demo", "--start-last-vm"],
        &[("PASSAGE_LIBVIRT_URI", uri.as_str())],
    );
    let d = app.wait_page(
        "vms",
        &[
            "#problem",
            "libvirt Refused",
            "there is no VM named \"gone\"",
            "Start refused",
        ],
    );
    app.shot("vms-list-last-vm-gone", &d);
}

/// A VM whose start fails in libvirt after the pre-flight passed: its bridge does not exist.
const NO_BRIDGE_VM: &str = "<domain type='qemu'><name>nobridge</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><interface type='bridge'><source bridge='passagebr9'/><model type='virtio'/></interface><memballoon model='none'/></devices></domain>";

/// The wizard's draft for a small VM named `name` (the demo card, a new 1 GiB image).
fn draft_vm(app: &mut App<'_>, name: &str) {
    app.action("choose-gpu", Some("0000:0a:00.0"));
    for kv in [
        "install-iso=/var/lib/libvirt/images/Win10_22H2_English_x64.iso",
        "memory-gib=4",
        "vcpus=2",
        "disk=new:1",
        &format!("name={name}"),
    ] {
        app.action("wizard-set", Some(kv));
    }
}

#[test]
fn failed_actions_stay_on_their_page_with_libvirts_whole_text() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    h.define(TINY_VM).expect("define tiny");
    h.define(NO_BRIDGE_VM).expect("define nobridge");
    h.ensure_pool("default", "/var/lib/libvirt/images")
        .expect("pool");
    h.create_volume(
        "default",
        "taken.qcow2",
        1 << 20,
        passage_virt::VolumeFormat::Qcow2,
        &mut |_, _| {},
    )
    .expect("volume");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);

    // A start libvirt refuses: the diagnosis and libvirt's whole text, still there later.
    let said = "Cannot get interface MTU on 'passagebr9': No such device";
    app.action("show-vm", Some("nobridge"));
    app.wait_page("vms", &["#vm-page", "nobridge", "Off"]);
    app.action("vm-start", None);
    app.wait_for(&[
        "#problem",
        "The Last Start Failed",
        said,
        "Copy what libvirt said",
    ]);
    std::thread::sleep(Duration::from_secs(6));
    let d = app.wait_for(&["#problem", "The Last Start Failed", said]);
    app.shot("vm-page-start-failed", &d);
    a11y::assert_all_named(&app, "the VM's page with a failed start");
    // Dismissed, it goes.
    app.press_button("Dismiss this error");
    let end = Instant::now() + Duration::from_secs(10);
    while app.tree().contains(said) {
        assert!(Instant::now() < end, "Dismiss left the error");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The Name step checks the name and the disk image against libvirt before Create.
    draft_vm(&mut app, "tiny");
    app.action("show-page", Some("vm-name"));
    let d = app.wait_page("vm-name", &["A VM named tiny is in libvirt already"]);
    app.shot("wizard-name-taken", &d);
    app.action("wizard-set", Some("name=taken"));
    app.wait_page(
        "vm-name",
        &["The disk image taken.qcow2 is in libvirt's pool “default” already"],
    );
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["Not ready yet", "taken.qcow2"]);
    // Create (asked for anyway, as the action can) goes back to the Name step instead.
    app.action("wizard-create", None);
    app.wait_page("vm-name", &["The disk image taken.qcow2"]);
    assert!(
        !h.list().expect("list").iter().any(|v| v.name == "taken"),
        "Create waited for another name"
    );

    // A name taken in libvirt after the wizard looked: Create fails, says libvirt's whole
    // text on Review, and leaves no disk image behind. Showing Review asks libvirt for its
    // names again; when that answer comes after the test's define (a loaded machine), the
    // wizard knows the name is taken and goes back to the Name step instead, which is right
    // too: then the test tries again with a new name, until Create reaches libvirt.
    let mut reached_libvirt = false;
    for attempt in 1..=5 {
        let name = format!("late{attempt}");
        let image = format!("{name}.qcow2");
        app.action("wizard-set", Some(&format!("name={name}")));
        app.action("show-page", Some("vm-review"));
        app.wait_page(
            "vm-review",
            &["The XML is valid", &format!("{name}: 4 GiB")],
        );
        h.define(&TINY_VM.replace("tiny", &name))
            .expect("define late");
        let uuid = h
            .list()
            .expect("list")
            .into_iter()
            .find(|v| v.name == name)
            .map(|v| v.uuid)
            .expect("late");
        app.action("wizard-create", None);
        let said = format!("domain '{name}' already exists with uuid {uuid}");
        let caught = format!("A VM named {name} is in libvirt already");
        let (which, _) = app.wait_for_one_of(&[&["#problem", "Not Created", &said], &[&caught]]);
        if which == 1 {
            app.wait_page("vm-name", &[&caught]);
            continue;
        }
        std::thread::sleep(Duration::from_secs(6));
        let d = app.wait_page("vm-review", &["Not Created", &said]);
        app.shot("wizard-create-failed", &d);
        a11y::assert_all_named(&app, "Review with a failed Create");
        assert!(
            !h.volumes("default").expect("volumes").contains(&image),
            "the image made for the failed Create was deleted again"
        );
        reached_libvirt = true;
        break;
    }
    assert!(reached_libvirt, "five Creates never reached libvirt");
    drop(app);

    // At 360 px the whole text reads, wrapped.
    let mut app = s.vm_page_narrow_dark(&uri, "nobridge", "");
    app.wait_page("vms", &["#vm-page", "nobridge"]);
    app.action("vm-start", None);
    let said = "Cannot get interface MTU on 'passagebr9': No such device";
    let d = app.wait_for(&["#problem", said, "dark true"]);
    assert_eq!(width(&d), 360, "the error keeps the window at 360 px:\n{d}");
    app.shot("narrow-dark-vm-page-start-failed", &d);
    a11y::assert_all_named(&app, "the VM's page with a failed start at 360 px");
}

#[test]
fn after_create_the_new_vms_page_shows() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    h.define(TINY_VM).expect("define tiny");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    // Another VM's page was the last one shown.
    app.action("show-vm", Some("tiny"));
    app.wait_page("vms", &["#vm-page", "tiny", "128 MiB of memory"]);
    draft_vm(&mut app, "fresh");
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["The XML is valid", "fresh: 4 GiB"]);
    app.action("wizard-create", None);
    app.wait_page("vms", &["#vm-page", "fresh", "4 GiB of memory"]);
    let t = app.tree();
    assert!(
        !t.contains("128 MiB of memory"),
        "the page shown after Create is the new VM's, not tiny's:\n{t}"
    );
    assert!(h.list().expect("list").iter().any(|v| v.name == "fresh"));
    // Its session (hugepages at start, the card) is authorized through the helper, which is
    // not there: that stays on the new VM's page with what to do and the helper's whole text,
    // beside the Authorize… it names, until the user acts.
    let want = [
        "#vm-page",
        "#problem",
        "#authorize",
        "Not Authorized",
        "fresh cannot start until its session is authorized",
        "press Authorize… on this page",
        "/nonexistent/system_bus_socket",
        "Copy what libvirt said",
    ];
    app.wait_for(&want);
    std::thread::sleep(Duration::from_secs(6));
    let d = app.wait_page("vms", &want);
    app.shot("vm-page-after-create", &d);
    a11y::assert_all_named(&app, "the new VM's page with a failed authorization");
    app.press_button("Dismiss this error");
    let end = Instant::now() + Duration::from_secs(10);
    while app.tree().contains("Not Authorized") {
        assert!(Instant::now() < end, "Dismiss left the error");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(app);

    // At 360 px: the page, and the toast's whole text.
    s.settings("window-width=360\nwindow-height=720");
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    draft_vm(&mut app, "fresh-with-a-longer-name");
    app.action("show-page", Some("vm-review"));
    app.wait_page("vm-review", &["The XML is valid"]);
    app.action("wizard-create", None);
    let d = app.wait_page(
        "vms",
        &["#vm-page", "fresh-with-a-longer-name is defined in libvirt"],
    );
    assert_eq!(width(&d), 360, "{d}");
    app.shot("narrow-vm-page-after-create", &d);
}

#[test]
fn after_the_restart_host_setup_asks_to_keep_or_undo_the_boot_change() {
    // The X570 host, its card set up for boot through the real helper (passagectl, same
    // journal); then "a restart": this boot started after the change (/proc/stat's btime).
    let tb = bus::TestBus::start(
        "x570-tutorial",
        Some(&[
            ("kernelstub", "echo kernelstub: boot entry written"),
            ("update-initramfs", "echo update-initramfs: done"),
        ]),
        &[],
    );
    let o = tb.passagectl(bus::ALLOWED_UID, &["apply", "--gpu", "0000:0a:00.0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 60;
    std::fs::write(
        tb.root.join("proc/stat"),
        format!("cpu  1 2 3 4\nbtime {later}\nprocesses 1\n"),
    )
    .expect("btime");
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-page", Some("setup"));
    let d = app.wait_page(
        "setup",
        &[
            "After the Restart",
            "Started from the usual boot entry",
            "0000:0a:00.0 · on nvidia, with this computer",
            "its own driver took it first",
            "#keep-boot",
            "#undo-boot",
        ],
    );
    app.shot("setup-after-restart", &d);
    // The card's icons are decoration (the row says the same in words); History's rows too.
    a11y::assert_all_named(&app, "Host setup after the restart");
    let (ids, _) = changes(&d);
    app.action("keep-boot", Some(&ids[0]));
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let d = app.dump();
        if !d.contains("After the Restart") {
            break;
        }
        assert!(Instant::now() < end, "the card stays after Keep:\n{d}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let keyfile = std::fs::read_to_string(s.dir.path().join("config/glib-2.0/settings/keyfile"))
        .expect("keyfile");
    assert!(keyfile.contains(&ids[0]), "{keyfile}");
}
