//! Crash at every point, SQLite-style: an apply, its undo, a VM session's prepare and its
//! release (libvirt's hook) are run once cleanly to count the crash points they pass
//! (`journal/crash.rs`), then once per point with `PASSAGE_CRASH_AT=i`, the process aborting
//! there as a kill -9 would; then recovery runs as the helper's next start runs it
//! (`passage-helper --root R --recover`), and the files (byte for byte), the fixture's sysfs
//! (hugepage pool, `driver_override`), the CPUs systemd lets the host use, the rebuilt images
//! and History must agree: nothing says applied that is not on disk, nothing on disk that no
//! row says, no row lost.
//!
//! Apply and undo run in a child process (this test program again, `PASSAGE_CRASH_CHILD`:
//! the journal's own functions, as the D-Bus verbs call them); the hook is the helper binary
//! itself. Build: `cargo test -p passage-helper --features crash-points --test crash`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passage_core::plan::{self, Plan};
use passage_core::{Host, Root};
use passage_helper::journal::{Entry, Journal, ProcessRunner, State, STEP_TIMEOUT};

const HELPER: &str = env!("CARGO_BIN_EXE_passage-helper");
const GPU: &str = "0000:0a:00.0";
const GROUP: [&str; 4] = [
    "0000:0a:00.0",
    "0000:0a:00.1",
    "0000:0a:00.2",
    "0000:0a:00.3",
];
const NS: &str = "https://github.com/passage/passage/vm/1";
const UNITS: [&str; 3] = ["system.slice", "user.slice", "init.scope"];
/// Pool sizes: before a session, and with its 1 GiB (512 pages, 10 free already).
const POOL_BEFORE: &str = "10";
const POOL_TAKEN: &str = "512";
const HOST_CPUS: &str = "0-3,8-11";

/// A rebuild step: writes, below the root, what it built from the plan's files as they are
/// when it runs (the list is in `files` beside it). Run with a clean environment, so it finds
/// the root from its own path.
const REBUILD: &str = r#"#!/bin/sh
d=$(dirname "$0"); r="$d/../root"
for f in $(cat "$d/files"); do printf '%s:' "$f"; cat "$r$f" 2>/dev/null || printf 'absent'; printf '\n'; done > "$r/boot/built-$(basename "$0")"
"#;

/// systemd's AllowedCPUs, kept in files beside the root.
const SYSTEMCTL: &str = r#"#!/bin/sh
d=$(dirname "$0")/../cpus; mkdir -p "$d"
case "$1" in
  show) cat "$d/$5" 2>/dev/null || echo ;;
  set-property) echo "${4#AllowedCPUs=}" > "$d/$3" ;;
esac
"#;

fn main() {
    if let Ok(op) = std::env::var("PASSAGE_CRASH_CHILD") {
        child(&op);
        return;
    }
    let t = Instant::now();
    let template = template();
    let mut failed = Vec::new();
    for sc in [
        Scenario::Apply,
        Scenario::Undo,
        Scenario::Prepare,
        Scenario::Release,
    ] {
        let (points, errors) = every_point(&template, sc);
        println!(
            "crash test: {sc:?} passes {points} crash points; died at each, recovery failed after {}",
            errors.len()
        );
        failed.extend(errors);
    }
    println!("crash test: {:.1} s", t.elapsed().as_secs_f64());
    drop(template);
    if !failed.is_empty() {
        for f in &failed {
            eprintln!("{f}");
        }
        eprintln!("crash test: {} failures", failed.len());
        std::process::exit(1);
    }
    // About 40 s on two cores shared by several builds (load 13); the guard is for a hang.
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scenario {
    Apply,
    Undo,
    Prepare,
    Release,
}

/// Temp directories on tmpfs where there is one (no disk flushes for a thousand fsyncs).
fn tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("passage-crash")
            .tempdir_in(shm)
        {
            return d;
        }
    }
    tempfile::tempdir().expect("tempdir")
}

/// The x570 fixture with what the scenarios need, built once: `root/`, `steps/`.
fn template() -> tempfile::TempDir {
    let d = tempdir();
    let root = d.path().join("root");
    passage_fixtures::build("x570-tutorial", &root).expect("fixture");
    let w = |p: &str, s: &str| {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().expect("dir")).expect("mkdir");
        std::fs::write(p, s).expect("write");
    };
    w("proc/sys/kernel/random/boot_id", "b1\n");
    w(
        "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
        "10\n",
    );
    w(
        "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
        "10\n",
    );
    w("proc/1/comm", "systemd\n");
    w("sys/devices/system/cpu/online", "0-11\n");
    // The kernel's side of a binding cannot be simulated by files: the group is on vfio-pci
    // already (as after a boot-time binding), so what Passage writes is `driver_override`.
    for f in ["unbind", "bind"] {
        w(&format!("sys/bus/pci/drivers/vfio-pci/{f}"), "");
    }
    w("sys/bus/pci/drivers_probe", "");
    for a in GROUP {
        let link = root.join(format!("sys/bus/pci/devices/{a}/driver"));
        std::fs::remove_file(&link).expect("rm driver");
        std::os::unix::fs::symlink("../../../../bus/pci/drivers/vfio-pci", &link).expect("ln");
    }
    authorize(&root);
    let steps = d.path().join("steps");
    std::fs::create_dir_all(&steps).expect("steps");
    for (name, body) in [
        ("kernelstub", REBUILD),
        ("update-initramfs", REBUILD),
        ("systemctl", SYSTEMCTL),
    ] {
        script(&steps, name, body);
    }
    let plan = gpu_plan(&root);
    let files: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
    std::fs::write(steps.join("files"), files.join("\n")).expect("files");
    // The images as the host has them: built from the files before.
    for s in ["kernelstub", "update-initramfs"] {
        let out = Command::new(steps.join(s)).status().expect("build");
        assert!(out.success());
    }
    d
}

/// An executable script, written by `cp` so no fork of this process holds it open for
/// writing (ETXTBSY).
fn script(dir: &Path, name: &str, body: &str) {
    let src = dir.join(format!(".{name}"));
    std::fs::write(&src, body).expect("write");
    let ok = Command::new("cp")
        .arg(&src)
        .arg(dir.join(name))
        .status()
        .expect("cp");
    assert!(ok.success());
    let ok = Command::new("chmod")
        .args(["755"])
        .arg(dir.join(name))
        .status()
        .expect("chmod");
    assert!(ok.success());
}

fn gpu_plan(root: &Path) -> Plan {
    let r = Root::new(root).expect("root");
    plan::for_gpu(&r, &Host::scan(&r), GPU.parse().expect("address")).expect("plan")
}

/// Apply and undo as the helper's verbs run them, in this child process.
fn child(op: &str) {
    let dir = PathBuf::from(std::env::var("PASSAGE_CRASH_DIR").expect("dir"));
    let root = dir.join("root");
    let runner = ProcessRunner {
        dir: Some(dir.join("steps")),
        live: false,
        timeout: STEP_TIMEOUT,
    };
    let j = Journal::new(&root);
    let r = match op {
        "apply" => j
            .apply(
                &gpu_plan(&root),
                "configure-gpu",
                1000,
                &runner,
                &mut |_| {},
            )
            .map(|_| ()),
        _ => j.undo("000001", &runner, &mut |_| {}).map(|_| ()),
    };
    if let Err(e) = r {
        eprintln!("{op}: {e}");
        std::process::exit(1);
    }
}

/// A copy of `from` in a new temp directory.
fn copy(from: &Path) -> tempfile::TempDir {
    let d = tempdir();
    let ok = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(d.path())
        .status()
        .expect("cp");
    assert!(ok.success());
    d
}

/// The scenario's starting point, made cleanly once: the host as it is, or with the change
/// applied (undo), or with the session taken (release).
fn start(template: &Path, sc: Scenario) -> tempfile::TempDir {
    let d = copy(template);
    match sc {
        Scenario::Undo => assert!(run(d.path(), sc_op(Scenario::Apply), None).0),
        Scenario::Release => assert!(run(d.path(), sc_op(Scenario::Prepare), None).0),
        _ => {}
    }
    d
}

fn sc_op(sc: Scenario) -> &'static str {
    match sc {
        Scenario::Apply => "apply",
        Scenario::Undo => "undo",
        Scenario::Prepare => "prepare",
        Scenario::Release => "release",
    }
}

/// The VM's UUID, which an administrator authorized.
const UUID: &str = "8d6c1a8e-2f0b-4c8e-9a55-1b2c3d4e5f60";

/// What AuthorizeVm records for the VM (root's own, mode 0600): its card's group, its
/// hugepages and its CPUs. The record is the hook's precondition, not part of a scenario.
fn authorize(root: &Path) {
    use passage_helper::authz::{self, VmAuthorization};
    let r = Root::new(root).expect("root");
    let card: passage_core::host::PciAddress = GROUP[0].parse().expect("address");
    let a = VmAuthorization {
        uuid: UUID.into(),
        vm: "win".into(),
        devices: authz::groups(&Host::scan(&r), &[card]).expect("group"),
        hugepages_kib: 1024 * 1024,
        cpus: vec![4, 5, 6, 7],
    };
    let path = root.join(authz::path(UUID).trim_start_matches('/'));
    let bytes = serde_json::to_vec(&a).expect("json");
    passage_helper::journal::atomic_write(&path, &bytes, 0o600, 0, 0).expect("record");
}

fn domain() -> String {
    format!(
        "<domain type='kvm'><name>win</name><uuid>{UUID}</uuid><metadata><passage:vm xmlns:passage='{NS}'>\
         <passage:gpu-mode>running</passage:gpu-mode><passage:session-hugepages>yes</passage:session-hugepages>\
         <passage:isolate-cpus>yes</passage:isolate-cpus></passage:vm></metadata>\
         <memory unit='MiB'>1024</memory><memoryBacking><hugepages/></memoryBacking>\
         <cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='5-7'/></cputune><devices>\
         <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0a' slot='0' function='0'/></source></hostdev>\
         </devices></domain>"
    )
}

/// Runs the operation (dying at crash point `at`); whether it ended well, and the points it
/// passed, in order.
fn run(dir: &Path, op: &str, at: Option<usize>) -> (bool, Vec<String>) {
    let log = dir.join("points");
    let _ = std::fs::remove_file(&log);
    let mut c = match op {
        "apply" | "undo" => {
            let mut c = Command::new(std::env::current_exe().expect("exe"));
            c.env("PASSAGE_CRASH_CHILD", op)
                .env("PASSAGE_CRASH_DIR", dir);
            c
        }
        _ => {
            let mut c = Command::new(HELPER);
            c.arg("--root")
                .arg(dir.join("root"))
                .arg("--steps-path")
                .arg(dir.join("steps"))
                .args(["hook", "win", op, "begin", "-"]);
            c
        }
    };
    c.env("PASSAGE_CRASH_LOG", &log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(n) = at {
        c.env("PASSAGE_CRASH_AT", n.to_string());
    }
    let mut p = c.spawn().expect("spawn");
    if let Some(mut stdin) = p.stdin.take() {
        let _ = stdin.write_all(domain().as_bytes());
    }
    let out = p.wait_with_output().expect("wait");
    if at.is_none() && !out.status.success() {
        eprintln!("{op}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let points = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (out.status.success(), points)
}

/// The helper's next start.
fn recover(dir: &Path) -> Result<(), String> {
    let out = Command::new(HELPER)
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--steps-path")
        .arg(dir.join("steps"))
        .arg("--recover")
        .output()
        .expect("recover");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Counts the points of a clean run, then dies at each in turn and checks what recovery
/// leaves. Returns the count and the failures.
fn every_point(template: &tempfile::TempDir, sc: Scenario) -> (usize, Vec<String>) {
    let start = start(template.path(), sc);
    let clean = copy(start.path());
    let (ok, points) = run(clean.path(), sc_op(sc), None);
    assert!(ok, "{sc:?} runs cleanly");
    assert!(!points.is_empty(), "{sc:?} passes crash points");
    let plan = gpu_plan(&template.path().join("root"));
    let mut failed = Vec::new();
    if let Err(e) = agree(clean.path(), sc, &plan) {
        failed.push(format!("{sc:?}, clean run: {e}"));
    }
    // Each point in a directory of its own, a few at a time.
    let next = std::sync::atomic::AtomicUsize::new(1);
    let failures = std::sync::Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i > points.len() {
                    break;
                }
                let d = copy(start.path());
                let (_, passed) = run(d.path(), sc_op(sc), Some(i));
                let r = recover(d.path()).and_then(|()| agree(d.path(), sc, &plan));
                if let Err(e) = r {
                    let at = passed.last().cloned().unwrap_or_default();
                    let f = format!("{sc:?}, died at point {i} ({at}): {e}");
                    failures.lock().expect("failures").push(f);
                }
            });
        }
    });
    let mut more = failures.into_inner().expect("failures");
    more.sort();
    failed.extend(more);
    (points.len(), failed)
}

fn read(root: &Path, p: &str) -> Option<Vec<u8>> {
    std::fs::read(root.join(p.trim_start_matches('/'))).ok()
}

/// What a rebuild writes from these file contents (REBUILD's format).
fn image(plan: &Plan, contents: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (c, now) in plan.changes.iter().zip(contents) {
        out.extend_from_slice(format!("{}:", c.path).as_bytes());
        match now {
            Some(b) => out.extend_from_slice(b),
            None => out.extend_from_slice(b"absent"),
        }
        out.push(b'\n');
    }
    out
}

/// After recovery: History, files, images and sysfs say the same thing.
fn agree(dir: &Path, sc: Scenario, plan: &Plan) -> Result<(), String> {
    let root = dir.join("root");
    let history = Journal::new(&root).history();
    if let Some(e) = history
        .iter()
        .find(|e| !matches!(e.state, State::Applied | State::RolledBack | State::Undone))
    {
        return Err(format!("change {} left {}", e.id, e.state.name()));
    }
    match sc {
        Scenario::Apply | Scenario::Undo => files_agree(&root, sc, plan, &history),
        Scenario::Prepare | Scenario::Release => session_agrees(dir, sc, &history),
    }
}

fn files_agree(root: &Path, sc: Scenario, plan: &Plan, history: &[Entry]) -> Result<(), String> {
    if history.len() > 1 || (sc == Scenario::Undo && history.is_empty()) {
        return Err(format!("{} rows in History", history.len()));
    }
    let applied = history.first().is_some_and(|e| e.state == State::Applied);
    if sc == Scenario::Undo && history[0].state == State::RolledBack {
        return Err("an applied change became rolled-back".into());
    }
    let now: Vec<Option<Vec<u8>>> = plan.changes.iter().map(|c| read(root, &c.path)).collect();
    for (c, n) in plan.changes.iter().zip(&now) {
        let want = if applied { &c.after } else { &c.before };
        if n != want {
            let state = history.first().map_or("no row", |e| e.state.name());
            return Err(format!(
                "{} is not as History says ({state}): it is {}",
                c.path,
                if *n == c.after {
                    "as after"
                } else if *n == c.before {
                    "as before"
                } else {
                    "neither before nor after"
                }
            ));
        }
    }
    for s in ["kernelstub", "update-initramfs"] {
        if read(root, &format!("boot/built-{s}")) != Some(image(plan, &now)) {
            return Err(format!(
                "{s}'s image was not rebuilt from the files as they are"
            ));
        }
    }
    Ok(())
}

fn session_agrees(dir: &Path, sc: Scenario, history: &[Entry]) -> Result<(), String> {
    let root = dir.join("root");
    if history.len() > 1 || (sc == Scenario::Release && history.is_empty()) {
        return Err(format!("{} rows in History", history.len()));
    }
    let applied = history.first().is_some_and(|e| e.state == State::Applied);
    let text = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let pool = text(&root.join("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"));
    let want = if applied { POOL_TAKEN } else { POOL_BEFORE };
    let mut wrong = Vec::new();
    if pool != want {
        wrong.push(format!("hugepages {pool}, not {want}"));
    }
    for a in GROUP {
        let o = text(&root.join(format!("sys/bus/pci/devices/{a}/driver_override")));
        if (o == "vfio-pci") != applied {
            wrong.push(format!("{a}'s driver_override is {o:?}"));
        }
    }
    for u in UNITS {
        let cpus = text(&dir.join("cpus").join(u));
        let want = if applied { HOST_CPUS } else { "" };
        if cpus != want {
            wrong.push(format!("{u} may use CPUs {cpus:?}, not {want:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        let state = history.first().map_or("no row", |e| e.state.name());
        Err(format!("History says {state}, but {}", wrong.join(", ")))
    }
}
