//! An *only GPU* session's desktop steps (core's [`desktop`] plan), carried out and given back,
//! the watchdog that gives the desktop back if the hook or the helper dies, and the line the
//! text console shows.
//!
//! The watchdog is a transient systemd timer (`systemd-run --on-active`) started before the
//! first step: it runs `passage-helper --recover` every [`WATCHDOG_EVERY`] while the session
//! holds the desktop. Recovery waits for Passage's lock (a hook still working keeps it), ends
//! a session left being taken or given back at once, and one whose QEMU is gone without a
//! release after two minutes. A timer and not a process of the hook's own: libvirt waits for
//! the hook to exit, and anything the hook leaves behind dies with it when libvirt's start
//! fails; systemd outlives both. passage-helper-recover.service covers the next boot.

use std::path::Path;
use std::time::{Duration, Instant};

use passage_core::host::desktop::{DesktopAct, DesktopStep};
use passage_core::host::holders;
use passage_core::Root;

use crate::journal::StepRunner;
use crate::sysfs;

/// How long the programs of a stopped desktop get to close the card before they are named.
pub const HOLDERS_WAIT: Duration = Duration::from_secs(10);
/// How often the watchdog runs recovery.
pub const WATCHDOG_EVERY: &str = "30s";
/// The console the desktop leaves behind.
const CONSOLE: &str = "/dev/tty1";

/// Runs a command step; a runner that runs nothing here (a test root) skips it.
fn run(argv: &[String], runner: &dyn StepRunner) -> Result<(), String> {
    match runner.run(argv, &mut |_| {}) {
        None | Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(format!("{} failed: {e}", argv.join(" "))),
    }
}

/// Waits up to `wait` for no process to hold `nodes`; else names them.
fn no_holders(root: &Path, nodes: &[String], wait: Duration) -> Result<(), String> {
    let r = Root::new(root).map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        let held = holders::holders(&r, nodes, std::process::id());
        if held.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= wait {
            return Err(format!(
                "the graphics card is still in use after the desktop stopped: {}. Close or stop those programs (nvidia-persistenced, a CUDA job, a second X server), then start the VM again",
                holders::words(&held)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn act(root: &Path, a: &DesktopAct, runner: &dyn StepRunner) -> Result<(), String> {
    match a {
        DesktopAct::Run(argv) => run(argv, runner),
        DesktopAct::Write { path, value } => sysfs::write_attr(root, path, value),
        DesktopAct::NameHolders(nodes) => no_holders(root, nodes, HOLDERS_WAIT),
        // The session's device step (Taken::Devices) binds and gives back the group.
        DesktopAct::BindGroup(_) => Ok(()),
    }
}

/// Whether what `step` acts on went away by itself since the plan was read: a session that
/// ended with the display manager (GDM's do), a module `modprobe -r` took out with the one
/// above it (nvidia_modeset and nvidia go with nvidia_drm when nothing else uses them).
fn gone(root: &Path, step: &DesktopStep) -> bool {
    match step {
        DesktopStep::EndSession { id, .. } => !root
            .join(passage_core::host::desktop::SESSIONS_DIR.trim_start_matches('/'))
            .join(id)
            .exists(),
        DesktopStep::UnloadModule { module } => !std::fs::read_to_string(root.join("proc/modules"))
            .is_ok_and(|m| {
                m.lines()
                    .any(|l| l.split_whitespace().next() == Some(module.as_str()))
            }),
        _ => false,
    }
}

/// Takes one step; one whose subject is already gone is done.
pub fn take(root: &Path, step: &DesktopStep, runner: &dyn StepRunner) -> Result<(), String> {
    if gone(root, step) {
        return Ok(());
    }
    act(root, &step.take(), runner).map_err(|e| format!("{}: {e}", step.words()))
}

/// Gives one step back. The firmware's frame buffer is bound again only while its device is
/// there and free: the card's own driver, loaded back just before, removes it (Linux 6.x) or
/// draws the console itself.
pub fn give(root: &Path, step: &DesktopStep, runner: &dyn StepRunner) -> Result<(), String> {
    // The kernel numbers consoles as they register: the frame buffer's console comes back
    // with the card's driver, and vtconN may then be the dummy, which binding would put on
    // the screen instead.
    if let DesktopStep::UnbindConsole { vtcon } = step {
        let name = std::fs::read_to_string(root.join(format!("sys/class/vtconsole/{vtcon}/name")))
            .unwrap_or_default();
        if !name.contains("frame buffer") {
            return Ok(());
        }
    }
    if let DesktopStep::UnbindFramebuffer { driver, device } = step {
        let there = root.join("sys/bus/platform/devices").join(device).exists();
        let bound = root
            .join(format!("sys/bus/platform/drivers/{driver}"))
            .join(device)
            .exists();
        if !there || bound {
            return Ok(());
        }
    }
    match step.give() {
        Some(a) => act(root, &a, runner).map_err(|e| format!("{} back: {e}", step.words())),
        None => Ok(()),
    }
}

/// The watchdog's unit name for session `id`.
pub fn watchdog_unit(id: &str) -> String {
    format!("passage-desktop-watchdog-{id}")
}

/// Starts the watchdog timer. `Ok(false)`: not started (no systemd as PID 1, or a test root
/// whose runner runs nothing).
pub fn start_watchdog(r: &Root, unit: &str, runner: &dyn StepRunner) -> Result<bool, String> {
    if r.read_string("/proc/1/comm").as_deref().map(str::trim) != Some("systemd") {
        return Ok(false);
    }
    // The installed helper (as libvirt's hook runs it), not this process's path, which reads
    // `… (deleted)` after a package upgrade.
    let argv: Vec<String> = [
        "systemd-run",
        "--quiet",
        &format!("--unit={unit}"),
        &format!("--on-active={WATCHDOG_EVERY}"),
        &format!("--on-unit-active={WATCHDOG_EVERY}"),
        "--timer-property=AccuracySec=1s",
        passage_core::plan::hook::DEFAULT_HELPER,
        "--recover",
    ]
    .map(String::from)
    .to_vec();
    match runner.run(&argv, &mut |_| {}) {
        None => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(e)) => Err(format!("the desktop's watchdog could not start: {e}")),
    }
}

/// Stops the watchdog timer (its last recovery, if running, finishes). Where PID 1 is not
/// systemd none was started ([`start_watchdog`]), so there is nothing to stop: a `systemctl`
/// that fails there (OpenRC, elogind) must not keep the session open for ever. Nor when the
/// stop fails because the timer is not there: journaled, then the hook died before
/// `systemd-run` made it (systemd keeps a transient unit's file in /run/systemd/transient while
/// it is loaded), or it is gone already.
pub fn stop_watchdog(root: &Path, unit: &str, runner: &dyn StepRunner) -> Result<(), String> {
    let pid1 = std::fs::read_to_string(root.join("proc/1/comm")).unwrap_or_default();
    if pid1.trim() != "systemd" {
        return Ok(());
    }
    let timer = format!("{unit}.timer");
    let argv = ["systemctl", "stop", &timer].map(String::from);
    match run(&argv, runner) {
        Err(_) if !root.join("run/systemd/transient").join(&timer).exists() => Ok(()),
        other => other,
    }
}

/// Writes `line` on the text console (what a user sees when the desktop is gone), best effort:
/// an absent console is left alone. Never blocks and never takes the console as a controlling
/// terminal: a console stopped by Scroll Lock or Ctrl+S would otherwise hold the hook (and
/// libvirt's start or stop, and Passage's lock) until someone pressed a key, and the watchdog
/// runs as a session leader.
pub fn say(root: &Path, line: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = root.join(CONSOLE.trim_start_matches('/'));
    let console = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path);
    if let Ok(mut f) = console {
        // EAGAIN (a stopped console) drops the line.
        let _ = f.write_all(format!("\r\npassage: {line}\r\n").as_bytes());
    }
}
