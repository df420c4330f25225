//! The journal on a temp root: exact undo, refusals, rollback and crash recovery.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use passage_core::plan::{self, Intent, Plan};
use passage_core::{Host, Root};
use passage_helper::journal::{Entry, Journal, State, StepRunner};

struct Steps {
    fail: Option<&'static str>,
    ran: std::cell::RefCell<Vec<String>>,
}

impl StepRunner for Steps {
    fn run(
        &self,
        argv: &[String],
        progress: &mut dyn FnMut(&str),
    ) -> Option<Result<String, String>> {
        let line = argv.join(" ");
        self.ran.borrow_mut().push(line.clone());
        progress(&format!("running {line}"));
        match self.fail {
            Some(p) if line.starts_with(p) => Some(Err(format!("{line}: out of space"))),
            _ => Some(Ok(format!("{line} done\n"))),
        }
    }
}

fn steps(fail: Option<&'static str>) -> Steps {
    Steps {
        fail,
        ran: Default::default(),
    }
}

fn x570() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    d
}

fn gpu_plan(dir: &Path) -> Plan {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    plan::for_gpu(&root, &host, "0000:0a:00.0".parse().expect("addr")).expect("plan")
}

fn read(dir: &Path, p: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(p.trim_start_matches('/'))).ok()
}

const BEFORE: bool = true;
const AFTER: bool = false;

/// Every file of the plan is as it was before it (`BEFORE`), or as the plan writes it.
fn files_are(dir: &Path, p: &Plan, before: bool) {
    for c in &p.changes {
        let want = if before { &c.before } else { &c.after };
        assert_eq!(&read(dir, &c.path), want, "{}", c.path);
    }
}

/// The X570 fixture with the card's change applied (change 000001).
fn applied() -> (tempfile::TempDir, Plan, Journal, Entry) {
    let d = x570();
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    let e = j
        .apply(&p, "v", 0, &steps(None), &mut |_| {})
        .expect("apply");
    (d, p, j, e)
}

#[test]
fn apply_then_undo_is_byte_identical_and_keeps_mode_and_owner() {
    let d = x570();
    let ks = d.path().join("etc/kernelstub/configuration");
    std::fs::set_permissions(&ks, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::chown(&ks, Some(1234), Some(4321)).expect("chown");
    let original = std::fs::read(&ks).expect("read");
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    let s = steps(None);
    let mut lines = Vec::new();
    let e = j
        .apply(&p, "configure-vfio", 1000, &s, &mut |l| {
            lines.push(l.to_string())
        })
        .expect("apply");
    assert_eq!(e.state, State::Applied);
    assert_eq!(e.id, "000001");
    files_are(d.path(), &p, AFTER);
    let m = std::fs::metadata(&ks).expect("meta");
    assert_eq!(
        (m.mode() & 0o777, m.uid(), m.gid()),
        (0o640, 1234, 4321),
        "mode and owner kept"
    );
    let new = std::fs::metadata(d.path().join("etc/modprobe.d/passage-vfio.conf")).expect("meta");
    assert_eq!((new.mode() & 0o777, new.uid()), (0o644, 0));
    assert_eq!(
        *s.ran.borrow(),
        ["kernelstub", "update-initramfs -u -k all"]
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "running update-initramfs -u -k all"),
        "progress reaches the caller"
    );

    let said = j.undo("000001", &s, &mut |_| {}).expect("undo");
    assert!(said.starts_with("Change 000001 undone: "), "{said}");
    assert_eq!(j.load("000001").expect("load").state, State::Undone);
    assert_eq!(std::fs::read(&ks).expect("read"), original);
    let m = std::fs::metadata(&ks).expect("meta");
    assert_eq!((m.mode() & 0o777, m.uid(), m.gid()), (0o640, 1234, 4321));
    files_are(d.path(), &p, BEFORE);
    assert_eq!(
        s.ran.borrow().len(),
        4,
        "the steps ran again after the undo"
    );
    // Undoing twice is refused.
    let err = j
        .undo("000001", &s, &mut |_| {})
        .expect_err("twice")
        .to_string();
    assert!(err.contains("undone"), "{err}");
    let h = j.history();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].uid, 1000);
}

#[test]
fn refusals_name_the_file_and_change_nothing() {
    let d = x570();
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    // The host moved since planning.
    std::fs::write(d.path().join("etc/initramfs-tools/modules"), "nvme\n").expect("w");
    let e = j
        .apply(&p, "v", 0, &steps(None), &mut |_| {})
        .expect_err("stale")
        .to_string();
    assert!(
        e.contains("/etc/initramfs-tools/modules") && e.contains("changed since the plan"),
        "{e}"
    );
    assert!(j.history().is_empty());
    assert!(read(d.path(), "/etc/modprobe.d/passage-vfio.conf").is_none());

    // A file that is a link is refused before anything is written, and stays a link.
    let modules = d.path().join("etc/initramfs-tools/modules");
    std::fs::rename(&modules, d.path().join("etc/initramfs-tools/modules.real")).expect("mv");
    std::os::unix::fs::symlink("modules.real", &modules).expect("ln");
    let p = gpu_plan(d.path());
    let e = j
        .apply(&p, "v", 0, &steps(None), &mut |_| {})
        .expect_err("link")
        .to_string();
    assert!(
        e.contains("/etc/initramfs-tools/modules is a symbolic link to modules.real"),
        "{e}"
    );
    assert!(j.history().is_empty());
    assert!(read(d.path(), "/etc/modprobe.d/passage-vfio.conf").is_none());
    assert!(std::fs::symlink_metadata(&modules)
        .expect("stat")
        .file_type()
        .is_symlink());
    std::fs::remove_file(&modules).expect("rm");
    std::fs::rename(d.path().join("etc/initramfs-tools/modules.real"), &modules).expect("mv");

    // Edited after Passage wrote it: undo refuses rather than discarding the edit.
    let p = gpu_plan(d.path());
    j.apply(&p, "v", 0, &steps(None), &mut |_| {})
        .expect("apply");
    std::fs::write(
        d.path().join("etc/modprobe.d/passage-vfio.conf"),
        "options vfio-pci ids=1234:5678\n",
    )
    .expect("w");
    let e = j
        .undo("000001", &steps(None), &mut |_| {})
        .expect_err("edited")
        .to_string();
    assert!(
        e.contains("/etc/modprobe.d/passage-vfio.conf") && e.contains("changed after"),
        "{e}"
    );
    // Bad ids never become paths.
    for bad in ["../../etc/passwd", "1", "0000001", "00000a", ""] {
        let e = j
            .undo(bad, &steps(None), &mut |_| {})
            .expect_err(bad)
            .to_string();
        assert!(e.contains("no change"), "{bad}: {e}");
    }
}

#[test]
fn a_failing_step_puts_every_file_back() {
    let d = x570();
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    let s = steps(Some("update-initramfs"));
    let e = j
        .apply(&p, "v", 0, &s, &mut |_| {})
        .expect_err("fails")
        .to_string();
    assert!(
        e.contains("update-initramfs -u -k all failed") && e.contains("out of space"),
        "{e}"
    );
    files_are(d.path(), &p, BEFORE);
    assert_eq!(j.history()[0].state, State::RolledBack);
    assert!(j.undo("000001", &s, &mut |_| {}).is_err());
}

fn set_state(dir: &Path, id: &str, from: &str, to: &str) {
    let path = dir
        .join("var/lib/passage/journal")
        .join(id)
        .join("entry.json");
    let text = std::fs::read_to_string(&path).expect("read").replace(
        &format!("\"state\": \"{from}\""),
        &format!("\"state\": \"{to}\""),
    );
    std::fs::write(&path, text).expect("w");
}

#[test]
fn an_apply_cut_off_while_writing_is_rolled_back_at_start() {
    let (d, p, j, e) = applied();
    // Pretend the helper died after writing the first file only.
    set_state(d.path(), &e.id, "applied", "applying");
    let last = p.changes.last().expect("files");
    match &last.before {
        Some(b) => std::fs::write(d.path().join(last.path.trim_start_matches('/')), b),
        None => std::fs::remove_file(d.path().join(last.path.trim_start_matches('/'))),
    }
    .expect("put back");
    let s = steps(None);
    assert_eq!(j.recover(&s), (vec![e.id.clone()], vec![]));
    files_are(d.path(), &p, BEFORE);
    assert_eq!(j.load(&e.id).expect("load").state, State::RolledBack);
    assert_eq!(
        *s.ran.borrow(),
        ["kernelstub", "update-initramfs -u -k all"],
        "the rebuild ran again on the files put back"
    );
    assert_eq!(j.recover(&s), (vec![], vec![]), "nothing left to repair");
}

/// A runner that stops the helper (a panic, as abrupt as a kill for the journal) when `at`
/// starts, and otherwise runs like [`Steps`].
struct DiesAt(&'static str, Steps);

impl StepRunner for DiesAt {
    fn run(&self, argv: &[String], p: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        if argv.join(" ").starts_with(self.0) {
            panic!("the helper died during {}", self.0);
        }
        self.1.run(argv, p)
    }
}

fn dies_during(j: &Journal, f: impl FnOnce(&Journal)) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(j)));
    assert!(r.is_err(), "the runner stopped it");
}

/// The X570 fixture where the helper died while update-initramfs ran for the card's change.
fn died_during_update_initramfs() -> (tempfile::TempDir, Plan, Journal) {
    let d = x570();
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    dies_during(&j, |j| {
        let _ = j.apply(
            &p,
            "configure-vfio",
            1000,
            &DiesAt("update-initramfs", steps(None)),
            &mut |_| {},
        );
    });
    (d, p, j)
}

#[test]
fn a_helper_that_dies_during_the_rebuild_leaves_the_change_applying_and_recovery_runs_it_again() {
    let (d, p, j) = died_during_update_initramfs();
    let e = &j.history()[0];
    assert_eq!(
        e.state,
        State::Applying,
        "not applied before its rebuild ran"
    );
    let status: Vec<_> = e
        .files()
        .expect("files")
        .steps
        .iter()
        .map(|s| s.status.as_str())
        .collect();
    assert_eq!(status, ["ok", "running"], "the step under way is on disk");
    // The next start: the rebuild that was running runs again, and only it.
    let s = steps(None);
    assert_eq!(j.recover(&s), (vec![e.id.clone()], vec![]));
    assert_eq!(*s.ran.borrow(), ["update-initramfs -u -k all"]);
    assert_eq!(j.load(&e.id).expect("load").state, State::Applied);
    files_are(d.path(), &p, AFTER);
    assert_eq!(j.recover(&s), (vec![], vec![]), "nothing left to repair");

    // A rebuild that fails when run again: the change is rolled back as an apply is.
    let (d, p, j) = died_during_update_initramfs();
    let id = j.history()[0].id.clone();
    let s = steps(Some("update-initramfs"));
    assert_eq!(j.recover(&s), (vec![id.clone()], vec![]));
    assert_eq!(j.load(&id).expect("load").state, State::RolledBack);
    files_are(d.path(), &p, BEFORE);
}

#[test]
fn an_undo_stays_undoing_until_its_rebuild_has_run() {
    let (d, p, j, e) = applied();
    // The rebuild fails: the files are back, the change says it is not undone yet.
    let err = j
        .undo(&e.id, &steps(Some("update-initramfs")), &mut |_| {})
        .expect_err("rebuild fails")
        .to_string();
    assert!(
        err.contains("back as it was") && err.contains("stays 'undoing'"),
        "{err}"
    );
    assert_eq!(j.load(&e.id).expect("load").state, State::Undoing);
    files_are(d.path(), &p, BEFORE);
    // Undo again finishes it.
    let s = steps(None);
    j.undo(&e.id, &s, &mut |_| {}).expect("again");
    assert_eq!(j.load(&e.id).expect("load").state, State::Undone);
    assert!(s
        .ran
        .borrow()
        .contains(&"update-initramfs -u -k all".to_string()));

    // The helper dies during the undo's rebuild: the next start runs it.
    let e = j
        .apply(&gpu_plan(d.path()), "v", 0, &steps(None), &mut |_| {})
        .expect("apply");
    dies_during(&j, |j| {
        let _ = j.undo(&e.id, &DiesAt("update-initramfs", steps(None)), &mut |_| {});
    });
    assert_eq!(j.load(&e.id).expect("load").state, State::Undoing);
    let s = steps(None);
    assert_eq!(j.recover(&s), (vec![e.id.clone()], vec![]));
    assert!(s
        .ran
        .borrow()
        .contains(&"update-initramfs -u -k all".to_string()));
    assert_eq!(j.load(&e.id).expect("load").state, State::Undone);
}

#[test]
fn recovery_leaves_a_file_someone_else_changed_and_says_so() {
    let (d, _, j, e) = applied();
    set_state(d.path(), &e.id, "applied", "undoing");
    // Between the crash and the next start, the user edits one of the files.
    let ks = d.path().join("etc/kernelstub/configuration");
    let mut edited = std::fs::read_to_string(&ks).expect("read");
    edited.push('\n');
    std::fs::write(&ks, &edited).expect("w");
    let s = steps(None);
    let (fixed, left) = j.recover(&s);
    assert!(fixed.is_empty(), "{fixed:?}");
    assert_eq!(
        left,
        [format!("/etc/kernelstub/configuration (change {})", e.id)]
    );
    assert_eq!(
        std::fs::read_to_string(&ks).expect("read"),
        edited,
        "left alone"
    );
    assert_eq!(j.load(&e.id).expect("load").state, State::Applied);
    assert!(
        s.ran.borrow().is_empty(),
        "no rebuild on a state nobody chose"
    );
    // An Undo now names the file.
    let err = j
        .undo(&e.id, &s, &mut |_| {})
        .expect_err("changed")
        .to_string();
    assert!(err.contains("/etc/kernelstub/configuration"), "{err}");
}

#[test]
fn kernel_arguments_round_trip_on_every_boot_loader_fixture() {
    for name in ["intel-tutorial", "laptop-prime", "single-gpu", "iommu-off"] {
        let d = tempfile::tempdir().expect("tmp");
        passage_fixtures::build(name, d.path()).expect("fixture");
        let root = Root::new(d.path()).expect("root");
        let host = Host::scan(&root);
        let p = plan::plan(
            &root,
            &host,
            &Intent::KernelArguments {
                add: vec!["iommu=pt".into(), "video=efifb:off".into()],
                remove: vec![],
            },
        )
        .expect("plan");
        assert!(!p.is_empty(), "{name}");
        let j = Journal::new(d.path());
        let before: Vec<_> = p.changes.iter().map(|c| read(d.path(), &c.path)).collect();
        let e = j
            .apply(&p, "set-kernel-arguments", 0, &steps(None), &mut |_| {})
            .expect("apply");
        j.undo(&e.id, &steps(None), &mut |_| {}).expect("undo");
        let after: Vec<_> = p.changes.iter().map(|c| read(d.path(), &c.path)).collect();
        assert_eq!(before, after, "{name}");
    }
}

#[test]
fn a_record_of_devices_given_back_is_not_undone_as_if_it_were_a_change() {
    use passage_helper::journal::{Change, Restored};
    let d = tempfile::tempdir().expect("tmp");
    let j = Journal::new(d.path());
    let e = j
        .record(
            "restore-drivers",
            1000,
            "given back: 0000:0a:00.0 (now nouveau)".into(),
            Change::Restored(Restored {
                devices: vec![("0000:0a:00.0".into(), Some("nouveau".into()))],
            }),
        )
        .expect("record");
    let err = j
        .undo(&e.id, &steps(None), &mut |_| {})
        .expect_err("not undoable");
    assert!(err.to_string().contains("bind them again"), "{err}");
    assert_eq!(
        j.load(&e.id).expect("load").state,
        State::Applied,
        "nothing claimed"
    );
}

#[test]
fn an_undo_that_cannot_put_a_file_back_stays_applied_and_can_be_tried_again() {
    let d = x570();
    let p = gpu_plan(d.path());
    let j = Journal::new(d.path());
    let s = steps(None);
    let e = j
        .apply(&p, "configure-vfio", 1000, &s, &mut |_| {})
        .expect("apply");
    let ran = s.ran.borrow().len();
    // Something in the way of putting kernelstub's configuration back: a directory where
    // the temp file goes.
    let blocker = d.path().join("etc/kernelstub/.configuration.passage-tmp");
    std::fs::create_dir(&blocker).expect("mkdir");
    std::fs::write(blocker.join("x"), "x").expect("write");
    let err = j
        .undo(&e.id, &s, &mut |_| {})
        .expect_err("cannot finish")
        .to_string();
    assert!(
        err.contains("/etc/kernelstub/configuration") && err.contains("stays applied"),
        "{err}"
    );
    assert_eq!(j.load(&e.id).expect("load").state, State::Applied);
    assert_eq!(
        s.ran.borrow().len(),
        ran,
        "no regeneration from half-restored files"
    );
    // The cause gone, Undo again finishes it, byte for byte.
    std::fs::remove_dir_all(&blocker).expect("rm");
    j.undo(&e.id, &s, &mut |_| {}).expect("undo again");
    assert_eq!(j.load(&e.id).expect("load").state, State::Undone);
    files_are(d.path(), &p, BEFORE);
}

const POOL: &str = "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";

fn pool(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(POOL))
        .expect("pool")
        .trim()
        .to_string()
}

fn set_pool(dir: &Path, n: u64) {
    let p = dir.join(POOL);
    std::fs::create_dir_all(p.parent().expect("dir")).expect("pool");
    std::fs::write(p, format!("{n}\n")).expect("set");
}

/// A root with an empty pool of 2 MiB hugepages.
fn empty_pool() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    set_pool(d.path(), 0);
    d
}

/// Reserves as ReserveHugepages does: the pool set to `count`, the count before recorded.
fn reserve(j: &Journal, dir: &Path, count: u64) -> String {
    use passage_helper::journal::{Change, Hugepages};
    let before: u64 = pool(dir).parse().expect("number");
    set_pool(dir, count);
    j.record(
        "reserve-hugepages",
        0,
        format!("{count} reserved"),
        Change::Hugepages(Hugepages {
            size_kib: 2048,
            before,
            after: count,
        }),
    )
    .expect("record")
    .id
}

#[test]
fn reservations_of_one_pool_are_undone_newest_first_and_an_older_one_is_refused_naming_the_newer() {
    let d = empty_pool();
    let j = Journal::new(d.path());
    let older = reserve(&j, d.path(), 100);
    let newer = reserve(&j, d.path(), 200);
    // Oldest first: refused, naming the newer change; nothing changes.
    let err = j
        .undo(&older, &steps(None), &mut |_| {})
        .expect_err("a newer one holds the pool")
        .to_string();
    assert!(err.contains(&format!("undo change {newer} first")), "{err}");
    assert_eq!(pool(d.path()), "200", "the newer one's pages stay");
    assert_eq!(j.load(&older).expect("load").state, State::Applied);
    // Newest first: each puts back the count it found.
    j.undo(&newer, &steps(None), &mut |_| {}).expect("newer");
    assert_eq!(pool(d.path()), "100");
    j.undo(&older, &steps(None), &mut |_| {}).expect("older");
    assert_eq!(pool(d.path()), "0");
    assert_eq!(j.load(&newer).expect("load").state, State::Undone);
    assert_eq!(j.load(&older).expect("load").state, State::Undone);

    // A VM's session that took pages of the size after a reservation holds it too.
    use passage_helper::journal::{Change, Session, Taken};
    let r = reserve(&j, d.path(), 100);
    set_pool(d.path(), 150);
    let s = j
        .record(
            "vm-session",
            0,
            "Session".into(),
            Change::Session(Session {
                vm: "win".into(),
                boot_id: String::new(),
                taken: vec![Taken::Hugepages {
                    size_kib: 2048,
                    node: None,
                    before: 100,
                    added: 50,
                    reserved: true,
                    back_to: None,
                }],
            }),
        )
        .expect("session");
    let err = j
        .undo(&r, &steps(None), &mut |_| {})
        .expect_err("the session holds the pool")
        .to_string();
    assert!(
        err.contains("the VM \"win\"") && err.contains(&s.id),
        "{err}"
    );
    assert_eq!(pool(d.path()), "150");
}

#[test]
fn ids_go_on_past_999999_in_order() {
    let d = empty_pool();
    let j = Journal::new(d.path());
    // A journal seeded at 999998.
    let first = reserve(&j, d.path(), 10);
    let dir = d.path().join("var/lib/passage/journal");
    std::fs::rename(dir.join(&first), dir.join("999998")).expect("mv");
    let entry = dir.join("999998/entry.json");
    let text = std::fs::read_to_string(&entry)
        .expect("read")
        .replace("\"000001\"", "\"999998\"");
    std::fs::write(&entry, text).expect("w");
    let a = reserve(&j, d.path(), 20);
    let b = reserve(&j, d.path(), 30);
    assert_eq!((a.as_str(), b.as_str()), ("999999", "1000000"));
    let ids: Vec<String> = j.history().into_iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        ["1000000", "999999", "999998"],
        "newest first, none hidden"
    );
    assert!(Journal::valid_id("1000000") && !Journal::valid_id("0999999"));
    // Undone by its id, newest first as reservations are.
    j.undo("1000000", &steps(None), &mut |_| {})
        .expect("undo 1000000");
    assert_eq!(pool(d.path()), "20");
    let err = j
        .undo("999998", &steps(None), &mut |_| {})
        .expect_err("999999 is newer")
        .to_string();
    assert!(err.contains("undo change 999999 first"), "{err}");
    assert_eq!(j.history()[0].state, State::Undone);
}

#[test]
fn rotation_keeps_what_is_in_effect_and_the_newest_ended_changes() {
    use passage_helper::journal::{Change, Restored};
    let d = tempfile::tempdir().expect("tmp");
    let j = Journal::new(d.path());
    let record = |state: State| {
        let e = j
            .record(
                "restore-drivers",
                0,
                "x".into(),
                Change::Restored(Restored { devices: vec![] }),
            )
            .expect("record");
        j.mark(&e.id, state).expect("mark");
        e.id
    };
    set_pool(d.path(), 0);
    // The oldest change is still in effect; eight ended ones; one more in effect; one half
    // done.
    let applied_old = reserve(&j, d.path(), 10);
    let ended: Vec<String> = (0..8).map(|_| record(State::Undone)).collect();
    let applied_new = reserve(&j, d.path(), 20);
    let undoing = reserve(&j, d.path(), 30);
    j.mark(&undoing, State::Undoing).expect("mark");
    // A directory a crash left before its entry was saved.
    let orphan = d.path().join("var/lib/passage/journal/000099/before");
    std::fs::create_dir_all(&orphan).expect("orphan");
    assert_eq!(j.rotate(3), 5 + 1);
    let mut kept: Vec<String> = j.history().into_iter().map(|e| e.id).collect();
    kept.reverse();
    let mut want = vec![applied_old];
    want.extend(ended[5..].iter().cloned());
    want.extend([applied_new, undoing]);
    assert_eq!(kept, want);
    assert!(!orphan.exists());
    assert_eq!(j.rotate(3), 0, "nothing more to remove");
    // New ids go on after the newest entry (the orphan had none).
    assert_eq!(record(State::Undone), "000012");
}
