//! Numbered crash points, for the crash test (`tests/crash.rs`) only: built in with the cargo
//! feature `crash-points`, never in the helper that ships, where [`crash_point`] is empty.
//!
//! Every journal and file operation, sysfs write and program run passes one. The points a run
//! passes are counted from 1; with `PASSAGE_CRASH_AT=N` the process aborts at the Nth (as
//! abruptly as a kill -9: no unwinding, no destructor, no flush), and with
//! `PASSAGE_CRASH_LOG=FILE` each point is appended to FILE as `N name`, so a test can count
//! the points of a clean run and then die at each in turn.

/// Passes a crash point named `name` (formatted only in a crash-points build).
#[cfg(feature = "crash-points")]
pub fn crash_point(name: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PASSED: AtomicUsize = AtomicUsize::new(0);
    let n = PASSED.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(log) = std::env::var_os("PASSAGE_CRASH_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{n} {name}");
        }
    }
    let at = std::env::var("PASSAGE_CRASH_AT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if at == Some(n) {
        eprintln!("passage-helper: crash point {n} ({name}): aborting");
        std::process::abort();
    }
}

/// Passes a crash point: nothing, outside the crash test's build.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn crash_point(_name: std::fmt::Arguments<'_>) {}
