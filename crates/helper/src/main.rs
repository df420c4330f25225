//! passage-helper: started by D-Bus activation as root (data/passage-helper.service).
//!
//! `--root DIR` (tests only, on the command line, never over D-Bus) reads and writes the host
//! below DIR; `--steps-path DIR` then runs step programs (update-grub…) from DIR.
//! `hook DOMAIN OPERATION SUB-OPERATION EXTRA` is libvirt's QEMU hook (see `hook.rs`);
//! `--recover` finishes what a previous run left half done and exits (the boot-time unit).
//! SIGTERM or SIGINT: no new call is taken, the running ones finish, then it exits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use passage_helper::journal::Journal;
use passage_helper::server::Helper;
use passage_helper_api::{BUS_NAME, OBJECT_PATH};

fn main() -> ExitCode {
    let mut root = PathBuf::from("/");
    let mut steps_path = None;
    let mut hook_args = None;
    let mut recover_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "hook" {
            hook_args = Some(args.by_ref().collect::<Vec<_>>());
            break;
        }
        if a == "--recover" {
            recover_only = true;
            continue;
        }
        match (a.as_str(), args.next()) {
            ("--root", Some(v)) => root = PathBuf::from(v),
            ("--steps-path", Some(v)) => steps_path = Some(PathBuf::from(v)),
            _ => {
                eprintln!("usage: passage-helper [--root DIR [--steps-path DIR]] [--recover | hook DOMAIN OPERATION SUB-OPERATION EXTRA]");
                return ExitCode::from(2);
            }
        }
    }
    if steps_path.is_some() && root == std::path::Path::new("/") {
        eprintln!("passage-helper: --steps-path is for test roots only");
        return ExitCode::from(2);
    }
    if !root.is_dir() {
        eprintln!("passage-helper: {} is not a directory", root.display());
        return ExitCode::from(2);
    }
    let runner = passage_helper::journal::ProcessRunner {
        dir: steps_path.clone(),
        live: root == std::path::Path::new("/"),
        timeout: passage_helper::journal::STEP_TIMEOUT,
    };
    if let Some(a) = hook_args {
        return hook(&root, &a, &runner);
    }
    // Finish or roll back whatever a previous run left half done, before taking requests.
    match passage_helper::lock::wait(&root) {
        Ok(lock) => {
            recover(&root, &runner);
            drop(lock);
        }
        // passage-helper-recover.service at boot: nothing to serve after.
        Err(e) if recover_only => {
            eprintln!("passage-helper: cannot take its lock ({e})");
            return ExitCode::from(1);
        }
        // Not root (or a read-only state directory): it cannot change anything either; each
        // call says so, and the next start recovers.
        Err(e) => eprintln!("passage-helper: cannot take its lock ({e}); nothing was recovered"),
    }
    if recover_only {
        return ExitCode::SUCCESS;
    }
    let helper = Helper::new(root, steps_path);
    let activity = helper.activity.clone();
    let idle = idle_timeout();
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, term.clone()) {
            eprintln!("passage-helper: cannot catch signal {sig}: {e}");
        }
    }
    let result = zbus::block_on(async {
        let conn = zbus::connection::Builder::system()
            .name(BUS_NAME)
            .serve_at(OBJECT_PATH, helper)
            .build()
            .await?;
        eprintln!(
            "passage-helper: serving {BUS_NAME} on {}",
            conn.unique_name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        );
        // Exits when idle: D-Bus activation starts it again at the next call.
        while !activity.idle_for(idle) && !term.load(Ordering::SeqCst) {
            blocking::unblock(|| std::thread::sleep(std::time::Duration::from_millis(200))).await;
        }
        if term.load(Ordering::SeqCst) {
            drain(&activity).await;
        } else {
            eprintln!("passage-helper: idle for {} s, exiting", idle.as_secs());
        }
        drop(conn);
        Ok::<(), zbus::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passage-helper: cannot serve on the system bus: {e}");
            ExitCode::from(1)
        }
    }
}

/// Asked to stop: no new call is taken, and the running ones get up to STOP_WAIT to finish
/// (systemd's own stop timeout is 90 s). A call still running after that is cut off with the
/// process; its journal entry is finished or rolled back at the next start.
async fn drain(activity: &passage_helper::activity::Activity) {
    const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(75);
    activity.stop();
    let n = activity.running();
    eprintln!("passage-helper: stopping; waiting for {n} running call(s)");
    let end = std::time::Instant::now() + STOP_WAIT;
    while activity.running() > 0 && std::time::Instant::now() < end {
        blocking::unblock(|| std::thread::sleep(std::time::Duration::from_millis(100))).await;
    }
    match activity.running() {
        0 => eprintln!("passage-helper: stopped"),
        n => eprintln!(
            "passage-helper: stopped with {n} call(s) cut off; the next start repairs the journal"
        ),
    }
}

/// Finishes what a previous run left half done: sessions, then changes.
fn recover(root: &std::path::Path, runner: &dyn passage_helper::journal::StepRunner) {
    for line in passage_helper::session::recover(root, runner) {
        eprintln!("passage-helper: {line}");
    }
    let (fixed, left) = Journal::new(root).recover(runner);
    for id in fixed {
        eprintln!("passage-helper: change {id} was interrupted; it is finished now");
    }
    for f in left {
        eprintln!("passage-helper: {f} changed since Passage wrote it; left as it is");
    }
}

/// libvirt's hook: a line on stdout for what was done, the refusal on stderr (libvirt shows
/// it as the start's error) with status 1.
fn hook(
    root: &std::path::Path,
    args: &[String],
    runner: &dyn passage_helper::journal::StepRunner,
) -> ExitCode {
    match passage_helper::hook::run(root, args, &mut std::io::stdin().lock(), runner) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(done)) => {
            println!("passage: {done}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("passage: {why}");
            ExitCode::from(1)
        }
    }
}

/// How long the helper waits for calls before it exits: two minutes, or
/// PASSAGE_HELPER_IDLE_SECS (tests).
fn idle_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var("PASSAGE_HELPER_IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(120),
    )
}
