//! The app as a user starts it.

use std::process::Command;

#[test]
fn opens_labelled_on_the_demo_host_and_refuses_bad_roots() {
    let bin = env!("CARGO_BIN_EXE_passage");
    let o = Command::new(bin).arg("--demo").output().expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        out.contains("DEMO HOST") && out.contains("Nothing here changes this computer"),
        "{out}"
    );
    assert!(out.contains("NVIDIA Corporation TU102"), "{out}");

    let o = Command::new(bin)
        .args(["--host-root", "/nonexistent/x"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/x"));

    let o = Command::new(bin).arg("--frobnicate").output().expect("run");
    assert_eq!(o.status.code(), Some(2));
}
