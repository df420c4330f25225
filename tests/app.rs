//! The app's command line, as a user types it (no display needed: these fail before a window).

use std::process::Command;

#[test]
fn bad_options_and_roots_are_named_before_any_window_opens() {
    let bin = env!("CARGO_BIN_EXE_passage");
    let o = Command::new(bin)
        .args(["--host-root", "/nonexistent/x"])
        .env_remove("DISPLAY")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/nonexistent/x") && err.contains("passagectl capture"),
        "{err}"
    );

    let o = Command::new(bin).arg("--frobnicate").output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--frobnicate"));

    let o = Command::new(bin).arg("--help").output().expect("run");
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--host-root DIR"));
}
