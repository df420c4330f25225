//! *Only GPU* sessions through libvirt's hook on the single-GPU fixture: each desktop step is
//! journaled before it is taken, a failure anywhere gives everything back in reverse (the
//! display manager starts again), release and recovery give the desktop back, and the text
//! console says what happened. The real driver moves and systemd run in the test bed
//! (build-aux/testbed/test-single-gpu.sh).

use std::cell::RefCell;
use std::path::Path;

use passage_core::host::desktop::DesktopStep;
use passage_helper::authz::{self, VmAuthorization};
use passage_helper::journal::{Change, Journal, Session, State, StepRunner, Taken};

const NS: &str = "https://github.com/passage/passage/vm/1";
const CARD: &str = "0000:0c:00.0";
const UUID: &str = "00000000-0000-4000-8000-00000000e0e0";

/// Records every command; fails the first one that starts with `fail`. On a root, `effect`
/// does to it what the command does on a host (`modprobe -r amdgpu` leaves the card without a
/// driver).
struct Recorder {
    ran: RefCell<Vec<String>>,
    fail: Option<&'static str>,
    root: Option<std::path::PathBuf>,
    effect: fn(&Path, &str),
}

impl Recorder {
    fn new(fail: Option<&'static str>) -> Recorder {
        Recorder {
            ran: RefCell::new(vec![]),
            fail,
            root: None,
            effect: kernel,
        }
    }

    fn on(root: &Path, fail: Option<&'static str>) -> Recorder {
        Recorder {
            root: Some(root.to_path_buf()),
            ..Recorder::new(fail)
        }
    }

    fn ran(&self) -> Vec<String> {
        self.ran.borrow().clone()
    }
}

/// `modprobe -r amdgpu`: the card is left without a driver (its `driver` link and uevent's
/// DRIVER= go, as the kernel's do).
fn kernel(root: &Path, line: &str) {
    if line != "modprobe -r amdgpu" {
        return;
    }
    let dev = root.join(format!("sys/bus/pci/devices/{CARD}"));
    std::fs::remove_file(dev.join("driver")).expect("unbound");
    let uevent = std::fs::read_to_string(dev.join("uevent")).expect("uevent");
    let kept: Vec<&str> = uevent
        .lines()
        .filter(|l| !l.starts_with("DRIVER="))
        .collect();
    std::fs::write(dev.join("uevent"), kept.join("\n")).expect("uevent");
}

impl StepRunner for Recorder {
    fn run(&self, argv: &[String], _: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        let line = argv.join(" ");
        self.ran.borrow_mut().push(line.clone());
        if self.fail.is_some_and(|f| line.starts_with(f)) {
            return Some(Err("exit status 1".into()));
        }
        if let Some(root) = &self.root {
            (self.effect)(root, &line);
        }
        Some(Ok(String::new()))
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path.trim_start_matches('/'))).unwrap_or_default()
}

/// The single-GPU fixture (sddm, amdgpu) with a Wayland user session, a console on the frame
/// buffer, simpledrm's device, systemd as PID 1, a text console and the VM authorized.
fn host() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path();
    passage_fixtures::build("single-gpu", p).expect("fixture");
    write(p, "/proc/sys/kernel/random/boot_id", "b1\n");
    write(p, "/proc/1/comm", "systemd\n");
    write(p, "/dev/tty1", "");
    write(
        p,
        "/run/systemd/sessions/2",
        "UID=1000\nUSER=alex\nACTIVE=1\nTYPE=wayland\nCLASS=user\nSEAT=seat0\n",
    );
    write(
        p,
        "/sys/class/vtconsole/vtcon1/name",
        "(M) frame buffer device\n",
    );
    write(p, "/sys/class/vtconsole/vtcon1/bind", "1\n");
    let fb = "/sys/bus/platform/drivers/simple-framebuffer";
    write(p, &format!("{fb}/simple-framebuffer.0/uevent"), "");
    write(p, &format!("{fb}/unbind"), "");
    write(p, &format!("{fb}/bind"), "");
    let r = passage_core::Root::new(p).expect("root");
    let host = passage_core::Host::scan(&r);
    let a = VmAuthorization {
        uuid: UUID.into(),
        vm: "game".into(),
        devices: authz::groups(&host, &[CARD.parse().expect("address")]).expect("groups"),
        hugepages_kib: 0,
        cpus: vec![],
    };
    let path = p.join(authz::path(UUID).trim_start_matches('/'));
    passage_helper::journal::atomic_write(
        &path,
        &serde_json::to_vec(&a).expect("json"),
        0o600,
        0,
        0,
    )
    .expect("authorize");
    d
}

fn domain() -> String {
    format!(
        "<domain type='kvm'><name>game</name><uuid>{UUID}</uuid><metadata><passage:vm xmlns:passage='{NS}'><passage:gpu-mode>only-gpu</passage:gpu-mode></passage:vm></metadata>\
         <memory unit='MiB'>4096</memory><devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0c' slot='0' function='0'/></source></hostdev></devices></domain>"
    )
}

fn hook(root: &Path, op: &str, runner: &Recorder) -> Result<Option<String>, String> {
    let args: Vec<String> = ["game", op, "begin", "-"].map(String::from).to_vec();
    passage_helper::hook::run(root, &args, &mut domain().as_bytes(), runner)
}

fn only_session(root: &Path) -> (String, State, Vec<Taken>) {
    let h = Journal::new(root).history();
    assert_eq!(h.len(), 1, "one session");
    match &h[0].change {
        Change::Session(s) => (h[0].id.clone(), h[0].state, s.taken.clone()),
        other => panic!("not a session: {other:?}"),
    }
}

const TAKE: [&str; 5] = [
    "systemd-run --quiet --unit=passage-desktop-watchdog-",
    "systemctl stop sddm.service",
    "loginctl terminate-session 2",
    "modprobe -r amdgpu",
    "modprobe vfio-pci",
];

fn starts(ran: &[String], want: &[&str]) {
    assert_eq!(ran.len(), want.len(), "{ran:#?}");
    for (r, w) in ran.iter().zip(want) {
        assert!(r.starts_with(w), "{r:?} is not {w:?}: {ran:#?}");
    }
}

/// The hook takes every step in order, the device step fails (the fixture has no vfio-pci),
/// and everything comes back in reverse: the driver, the console, the display manager, the
/// watchdog stopped.
#[test]
fn a_failure_at_the_last_step_gives_the_whole_desktop_back_in_reverse() {
    let h = host();
    let p = h.path();
    let run = Recorder::on(p, None);
    let e = hook(p, "prepare", &run).expect_err("no vfio-pci on the fixture");
    assert!(e.contains("vfio-pci"), "{e}");
    assert!(e.contains("nothing on the host was changed"), "{e}");
    let ran = run.ran();
    assert!(ran[0].ends_with("--recover"), "{}", ran[0]);
    let mut want = TAKE.to_vec();
    want.extend([
        "modprobe amdgpu",
        "systemctl start sddm.service",
        "systemctl stop passage-desktop-watchdog-",
    ]);
    starts(&ran, &want);
    assert_eq!(read(p, "/sys/class/vtconsole/vtcon1/bind"), "1");
    assert_eq!(
        read(p, "/sys/bus/platform/drivers/simple-framebuffer/unbind"),
        "simple-framebuffer.0"
    );
    let (_, state, taken) = only_session(p);
    assert_eq!(state, State::RolledBack);
    let steps: Vec<&DesktopStep> = taken
        .iter()
        .filter_map(|t| match t {
            Taken::Desktop { step } => Some(step),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 6, "{steps:?}");
    assert!(matches!(taken[0], Taken::Watchdog { .. }));
    assert!(read(p, "/dev/tty1").contains("the VM \"game\" did not start"));
}

/// A step that fails halfway (the driver will not unload) is journaled before it was tried,
/// and the desktop comes back at once.
#[test]
fn a_failure_injected_halfway_gives_the_desktop_back_at_once() {
    let h = host();
    let p = h.path();
    let run = Recorder::new(Some("modprobe -r amdgpu"));
    let e = hook(p, "prepare", &run).expect_err("refused");
    assert!(e.contains("unload the driver module amdgpu"), "{e}");
    assert!(e.contains("nothing on the host was changed"), "{e}");
    let mut want = TAKE[..4].to_vec();
    want.extend([
        "modprobe amdgpu",
        "systemctl start sddm.service",
        "systemctl stop passage-desktop-watchdog-",
    ]);
    starts(&run.ran(), &want);
    let (_, state, taken) = only_session(p);
    assert_eq!(state, State::RolledBack);
    assert!(matches!(
        taken.last(),
        Some(Taken::Desktop {
            step: DesktopStep::UnloadModule { .. }
        })
    ));
    assert_eq!(read(p, "/sys/class/vtconsole/vtcon1/bind"), "1");
}

/// A program that keeps the card after the desktop stopped is named, and the desktop comes
/// back; no module was unloaded under it.
#[test]
fn a_program_still_holding_the_card_is_named_and_the_desktop_comes_back() {
    let h = host();
    let p = h.path();
    std::fs::create_dir_all(p.join("proc/4242/fd")).expect("proc");
    write(p, "/proc/4242/comm", "nvidia-persist\n");
    std::os::unix::fs::symlink("/dev/dri/card0", p.join("proc/4242/fd/3")).expect("fd");
    let run = Recorder::new(None);
    let e = hook(p, "prepare", &run).expect_err("held");
    assert!(
        e.contains("nvidia-persist (PID 4242) has /dev/dri/card0 open"),
        "{e}"
    );
    let ran = run.ran();
    assert!(!ran.iter().any(|l| l == "modprobe -r amdgpu"), "{ran:#?}");
    assert!(
        ran.iter().any(|l| l == "systemctl start sddm.service"),
        "{ran:#?}"
    );
}

fn applied_session(root: &Path, state: State) -> String {
    let plan = [
        DesktopStep::StopUnit {
            unit: "sddm.service".into(),
        },
        DesktopStep::UnbindConsole {
            vtcon: "vtcon1".into(),
        },
        DesktopStep::UnloadModule {
            module: "amdgpu".into(),
        },
    ];
    let mut taken = vec![Taken::Watchdog {
        unit: "passage-desktop-watchdog-0001".into(),
    }];
    taken.push(Taken::Desktop {
        step: DesktopStep::UnbindConsole {
            vtcon: "vtcon0".into(),
        },
    });
    taken.extend(plan.into_iter().map(|step| Taken::Desktop { step }));
    let s = Session {
        vm: "game".into(),
        boot_id: "b1".into(),
        taken,
    };
    write(root, "/sys/class/vtconsole/vtcon1/bind", "0\n");
    let j = Journal::new(root);
    let e = j
        .record(
            "vm-session",
            0,
            "Session of the VM \"game\"".into(),
            Change::Session(s),
        )
        .expect("record");
    j.mark(&e.id, state).expect("mark");
    e.id
}

const GIVE: [&str; 3] = [
    "modprobe amdgpu",
    "systemctl start sddm.service",
    "systemctl stop passage-desktop-watchdog-0001.timer",
];

/// libvirt's release (after a shutdown, a Force Off or a QEMU crash alike) gives the desktop
/// back in reverse and the console says so.
#[test]
fn release_gives_the_desktop_back_and_the_console_says_so() {
    let h = host();
    let p = h.path();
    let id = applied_session(p, State::Applied);
    // The dummy console registered as vtcon0 meanwhile: it is not bound back.
    write(p, "/sys/class/vtconsole/vtcon0/name", "(S) dummy device\n");
    write(p, "/sys/class/vtconsole/vtcon0/bind", "1\n");
    let run = Recorder::new(None);
    let done = hook(p, "release", &run).expect("release").expect("words");
    assert!(done.contains("everything it took is back"), "{done}");
    starts(&run.ran(), &GIVE);
    assert_eq!(read(p, "/sys/class/vtconsole/vtcon1/bind"), "1");
    assert_eq!(
        read(p, "/sys/class/vtconsole/vtcon0/bind"),
        "1\n",
        "not written"
    );
    assert_eq!(only_session(p).1, State::Undone);
    let console = read(p, "/dev/tty1");
    assert!(console.contains("the desktop is back"), "{console}");
    assert!(console.contains(&id), "{console}");
}

/// The hook or the helper died while the desktop was down (the session left being taken):
/// the watchdog's recovery gives it back.
#[test]
fn recovery_gives_back_a_desktop_left_down_by_a_dead_hook() {
    let h = host();
    let p = h.path();
    applied_session(p, State::Applying);
    let run = Recorder::new(None);
    let out = passage_helper::session::recover(p, &run);
    assert!(
        out.iter().any(|l| l.contains("everything it took is back")),
        "{out:?}"
    );
    starts(&run.ran(), &GIVE);
    assert_eq!(only_session(p).1, State::Undone);
}

/// A give-back that fails (the display manager does not start) leaves the session open for
/// another try, says so on the console and does not stop the watchdog.
#[test]
fn a_display_manager_that_does_not_start_keeps_the_session_and_the_watchdog() {
    let h = host();
    let p = h.path();
    applied_session(p, State::Applied);
    let run = Recorder::new(Some("systemctl start sddm"));
    let e = hook(p, "release", &run).expect_err("not back");
    assert!(e.contains("passagectl undo"), "{e}");
    starts(&run.ran(), &GIVE[..2]);
    assert_eq!(only_session(p).1, State::Applied);
    assert!(read(p, "/dev/tty1").contains("the desktop may not be back"));
}

/// What went away by itself after the plan was read is not acted on: the user's session ended
/// with the display manager (as GDM's do), the module went out with the one above it (as
/// nvidia_modeset with nvidia_drm): `loginctl` and `modprobe -r` would fail on them.
#[test]
fn a_session_or_module_already_gone_is_not_acted_on() {
    fn dm_takes_the_session_along(root: &Path, line: &str) {
        if line == "systemctl stop sddm.service" {
            std::fs::remove_file(root.join("run/systemd/sessions/2")).expect("session");
            let m = std::fs::read_to_string(root.join("proc/modules")).expect("modules");
            let kept: Vec<&str> = m.lines().filter(|l| !l.starts_with("amdgpu ")).collect();
            std::fs::write(root.join("proc/modules"), kept.join("\n")).expect("modules");
        }
    }
    let h = host();
    let p = h.path();
    let run = Recorder {
        effect: dm_takes_the_session_along,
        ..Recorder::on(p, None)
    };
    let e = hook(p, "prepare", &run).expect_err("no vfio-pci on the fixture");
    assert!(e.contains("vfio-pci"), "{e}");
    let ran = run.ran();
    assert!(!ran.iter().any(|l| l.starts_with("loginctl")), "{ran:#?}");
    assert!(!ran.iter().any(|l| l == "modprobe -r amdgpu"), "{ran:#?}");
    assert!(
        ran.iter().any(|l| l == "systemctl start sddm.service"),
        "{ran:#?}"
    );
}

/// Where PID 1 is not systemd no watchdog was started, so none is stopped: a `systemctl` that
/// fails there (OpenRC, elogind) does not keep the session open for ever (review finding).
#[test]
fn without_systemd_the_watchdog_is_not_stopped_and_the_session_ends() {
    let h = host();
    let p = h.path();
    applied_session(p, State::Applied);
    write(p, "/proc/1/comm", "openrc-init\n");
    let run = Recorder::new(Some("systemctl stop passage-desktop-watchdog-"));
    hook(p, "release", &run).expect("release");
    assert!(
        !run.ran()
            .iter()
            .any(|l| l.contains("passage-desktop-watchdog")),
        "{:#?}",
        run.ran()
    );
    assert_eq!(only_session(p).1, State::Undone);
}

/// A watchdog journaled but never started (the hook died between the journal and
/// `systemd-run`): its `systemctl stop` fails, the timer is not loaded (no transient unit
/// file), and the release still ends the session. A loaded timer whose stop fails keeps it
/// open, to be tried again (review finding).
#[test]
fn a_watchdog_that_never_started_does_not_keep_the_session_open() {
    let h = host();
    let p = h.path();
    applied_session(p, State::Applied);
    write(
        p,
        "/run/systemd/transient/passage-desktop-watchdog-0001.timer",
        "[Timer]\n",
    );
    let run = Recorder::new(Some("systemctl stop passage-desktop-watchdog-"));
    let _ = hook(p, "release", &run);
    assert_eq!(
        only_session(p).1,
        State::Applied,
        "a loaded timer that did not stop keeps the session"
    );
    std::fs::remove_file(p.join("run/systemd/transient/passage-desktop-watchdog-0001.timer"))
        .expect("rm");
    let run = Recorder::new(Some("systemctl stop passage-desktop-watchdog-"));
    hook(p, "release", &run).expect("release");
    assert_eq!(only_session(p).1, State::Undone);
}
