//! build-aux/run-app.sh (README command 1) decides with passagectl's own check: on a host with
//! the IOMMU on and a card free for a VM it builds the Debian package, installs it with apt
//! through sudo and starts the installed app; on a demo host it starts the app it built, as
//! before. The script runs from a copy of the tree whose build, package, apt, sudo and apps are
//! stand-ins recording their arguments: nothing is built or installed here.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const APP_ARG: &str = "--from-run-app-test";

/// Records its name and arguments in $RUN_APP_LOG, then runs `then` (shell).
fn stand_in(path: &Path, name: &str, then: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let script = format!("#!/bin/bash\necho \"{name} $*\" >> \"$RUN_APP_LOG\"\n{then}\n");
    std::fs::write(path, script).expect("write stand-in");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn copy(repo: &Path, tree: &Path, rel: &str) {
    let to = tree.join(rel);
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::copy(repo.join(rel), to).unwrap_or_else(|e| panic!("copy {rel}: {e}"));
}

/// The package's version, as debian/changelog's first line names it.
fn version(repo: &Path) -> String {
    let log = std::fs::read_to_string(repo.join("debian/changelog")).expect("changelog");
    let first = log.lines().next().unwrap_or_default();
    let v = first
        .split(['(', ')'])
        .nth(1)
        .expect("version in changelog");
    v.to_string()
}

/// A copy of what run-app.sh reads from the tree, with stand-ins for what it runs.
fn tree(repo: &Path) -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path();
    copy(repo, d, "build-aux/run-app.sh");
    copy(repo, d, "debian/changelog");
    copy(repo, d, "data/io.github.passage.Passage.gschema.xml.in");
    copy(repo, d, "po/LINGUAS");
    for l in std::fs::read_to_string(repo.join("po/LINGUAS"))
        .expect("LINGUAS")
        .split_whitespace()
    {
        copy(repo, d, &format!("po/{l}.po"));
    }
    std::fs::create_dir_all(d.join("target/release")).expect("mkdir");
    std::fs::copy(
        env!("CARGO_BIN_EXE_passagectl"),
        d.join("target/release/passagectl"),
    )
    .expect("copy passagectl");
    let package = "mkdir -p target/deb && : > \"target/deb/passage_$(dpkg-parsechangelog -S Version)_amd64.deb\"";
    let apt = "[ -f \"${@: -1}\" ] || { echo \"apt: no ${@: -1}\" >&2; exit 100; }";
    for (path, name, then) in [
        ("target/release/passage", "built-app", ""),
        ("build-aux/install-deps.sh", "install-deps", ""),
        ("build-aux/package.sh", "package.sh", package),
        ("bin/cargo", "cargo", ""),
        ("bin/sudo", "sudo", "exec \"$@\""),
        ("bin/apt", "apt", apt),
        ("bin/passage", "installed-app", ""),
    ] {
        stand_in(&d.join(path), name, then);
    }
    t
}

/// Runs the tree's run-app.sh deciding on `host_root`, as an unprivileged user where the test
/// runs as root (so that sudo is asked for, as on a desktop). Returns its output and the log.
fn run_app(tree: &Path, host_root: &Path) -> (Output, Vec<String>) {
    let mut c = if runs_as_root() {
        for p in [tree, host_root].into_iter().filter(|p| p.exists()) {
            let st = Command::new("chown")
                .args(["-R", "65534:65534"])
                .arg(p)
                .status()
                .expect("chown");
            assert!(st.success());
        }
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "bash",
        ]);
        c
    } else {
        Command::new("bash")
    };
    let log = tree.join("log");
    let path = format!("{}:/usr/bin:/bin", tree.join("bin").display());
    let o = c
        .arg(tree.join("build-aux/run-app.sh"))
        .arg(APP_ARG)
        .env_clear()
        .env("PATH", path)
        .env("HOME", tree)
        .env("RUN_APP_LOG", &log)
        .env("DISPLAY", ":99")
        .env("CARGO_TARGET_DIR", tree.join("target"))
        .env("PASSAGE_HOST_ROOT", host_root)
        .output()
        .expect("run run-app.sh");
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect();
    (o, lines)
}

fn runs_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn on_a_host_that_can_pass_a_card_run_app_builds_installs_and_starts_the_package() {
    let repo = repo();
    let host = common::fixture("x570-tutorial");
    let t = tree(&repo);
    let (o, log) = run_app(t.path(), host.path());
    let out = common::stdout(&o);
    assert!(o.status.success(), "{out}{}", common::stderr(&o));
    let deb = format!("./target/deb/passage_{}_amd64.deb", version(&repo));
    let build = "cargo build --release -q -p passage -p passagectl";
    let mut want = vec![
        "install-deps".to_string(),
        build.to_string(),
        "package.sh".to_string(),
    ];
    // run-app runs unprivileged here, so apt goes through sudo.
    want.push(format!("sudo apt install --reinstall {deb}"));
    want.push(format!("apt install --reinstall {deb}"));
    want.push(format!("installed-app {APP_ARG}"));
    assert_eq!(log, want, "{out}");
    assert!(
        out.contains("helper") && out.contains("polkit") && out.contains("sudo asks"),
        "run-app says why it installs the package: {out}"
    );
}

#[test]
fn on_a_demo_host_run_app_starts_the_app_it_built_and_installs_nothing() {
    let repo = repo();
    for name in ["single-gpu", "iommu-off"] {
        let host = common::fixture(name);
        let t = tree(&repo);
        let (o, log) = run_app(t.path(), host.path());
        let out = common::stdout(&o);
        assert!(o.status.success(), "{name}: {out}{}", common::stderr(&o));
        assert_eq!(
            log,
            [
                "install-deps".to_string(),
                "cargo build --release -q -p passage -p passagectl".to_string(),
                format!("built-app {APP_ARG}"),
            ],
            "{name}: {out}"
        );
        assert!(!out.contains("installing"), "{name}: {out}");
        assert!(
            t.path().join("target/schemas/gschemas.compiled").is_file(),
            "{name}: the settings schema from the tree is compiled, as before"
        );
    }
}

#[test]
fn a_host_root_passagectl_cannot_read_keeps_the_demo_and_says_so() {
    let t = tree(&repo());
    let missing = t.path().join("no-such-host");
    let (o, log) = run_app(t.path(), &missing);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(log.last(), Some(&format!("built-app {APP_ARG}")));
    assert!(!log.iter().any(|l| l.starts_with("package.sh")));
    assert!(
        common::stderr(&o).contains("passagectl check could not read the host"),
        "{}",
        common::stderr(&o)
    );
}
