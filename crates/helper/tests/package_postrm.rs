//! The Debian package's postrm (debian/postrm) against a real journal on a temp root: `apt
//! remove` keeps the journal; `apt purge` keeps it while a change is in effect and says which
//! files stay changed and how to undo them, and removes it once nothing is. dpkg's DPKG_ROOT
//! points the script at the temp root. PASSAGE_POSTRM names another postrm to run (the built
//! package's, with debhelper's parts: build-aux/check-package.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use passage_core::plan;
use passage_core::{Host, Root};
use passage_helper::journal::{Journal, StepRunner};

struct NoSteps;

impl StepRunner for NoSteps {
    fn run(&self, _: &[String], _: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        None
    }
}

fn postrm() -> PathBuf {
    std::env::var_os("PASSAGE_POSTRM").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../debian/postrm"),
        PathBuf::from,
    )
}

/// Runs `postrm ACTION` with DPKG_ROOT at `root`; its output, after asserting it succeeded.
/// debhelper's parts reload systemd where /run/systemd/system exists, whatever DPKG_ROOT says:
/// the script runs in a private mount namespace with an empty /run, so it never reaches the
/// host's systemd.
fn run(root: &Path, action: &str) -> String {
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs passage-test /run && exec sh \"$0\" \"$1\"")
        .arg(postrm())
        .arg(action)
        .env("DPKG_ROOT", root)
        .output()
        .expect("unshare runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "postrm {action} failed: {text}");
    text
}

/// The X570 fixture with the card's boot-time change applied through the journal.
fn applied() -> (tempfile::TempDir, plan::Plan, Journal, String) {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    let p = plan::for_gpu(&root, &host, "0000:0a:00.0".parse().expect("addr")).expect("plan");
    let j = Journal::new(d.path());
    let e = j
        .apply(&p, "apply", 1000, &NoSteps, &mut |_| {})
        .expect("apply");
    (d, p, j, e.id)
}

fn journal_dir(root: &Path) -> PathBuf {
    root.join("var/lib/passage/journal")
}

#[test]
fn purge_with_a_change_in_effect_keeps_the_journal_and_names_each_file_and_the_way_back() {
    let (d, p, _j, id) = applied();
    let out = run(d.path(), "purge");
    assert!(
        out.contains(&format!("change {id} (applied)")),
        "the change is named: {out}"
    );
    assert!(!p.changes.is_empty());
    for c in &p.changes {
        assert!(
            out.lines().any(|l| l.trim() == c.path),
            "{} is said to stay: {out}",
            c.path
        );
    }
    assert!(out.contains("stays"), "{out}");
    assert!(
        out.contains("apt install passage") && out.contains("passagectl undo"),
        "{out}"
    );
    assert!(out.contains("purge it again"), "{out}");
    if p.changes.iter().any(|c| c.path == plan::hook::DISPATCHER) {
        assert!(
            out.contains("other VMs") && out.contains("Passage's VMs do not start"),
            "the hook that calls the removed helper is named: {out}"
        );
    }
    assert!(
        journal_dir(d.path()).join(&id).join("entry.json").is_file(),
        "the journal of an applied change is kept"
    );
}

#[test]
fn purge_once_everything_is_undone_removes_the_journal_and_nothing_else() {
    let (d, p, j, id) = applied();
    j.undo(&id, &NoSteps, &mut |_| {}).expect("undo");
    let out = run(d.path(), "purge");
    assert!(!out.contains("still in effect"), "{out}");
    assert!(
        !d.path().join("var/lib/passage").exists(),
        "purge removes the journal"
    );
    for c in &p.changes {
        let now = std::fs::read(d.path().join(c.path.trim_start_matches('/'))).ok();
        assert_eq!(now, c.before, "{} is as it was before Passage", c.path);
    }
}

#[test]
fn remove_keeps_the_journal_and_says_what_stays_in_effect() {
    let (d, _p, j, id) = applied();
    let out = run(d.path(), "remove");
    assert!(out.contains(&format!("change {id} (applied)")), "{out}");
    assert!(journal_dir(d.path()).join(&id).is_dir());
    j.undo(&id, &NoSteps, &mut |_| {}).expect("undo");
    let out = run(d.path(), "remove");
    assert!(
        out.trim().is_empty(),
        "nothing in effect, nothing said: {out}"
    );
    assert!(
        journal_dir(d.path()).join(&id).is_dir(),
        "remove keeps even an undone change's journal"
    );
}
