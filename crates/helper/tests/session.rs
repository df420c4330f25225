//! VM sessions (libvirt's hook) on fixture host trees: what is refused and why, hugepages
//! taken and given back exactly, two VMs and one card, and a session left half done. The
//! driver moves themselves are tested on a real kernel (build-aux/testbed/test-session.sh).

use std::os::unix::fs::symlink;
use std::path::Path;

use passage_helper::journal::{Change, Journal, Session, State, StepRunner, Taken};

struct NoSteps;

impl StepRunner for NoSteps {
    fn run(&self, _: &[String], _: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        None
    }
}

const NS: &str = "https://github.com/passage/passage/vm/1";

fn host() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    set_pool(d.path(), 10, 10);
    std::fs::write(d.path().join("proc/sys/kernel/random/boot_id"), "b1\n")
        .or_else(|_| {
            std::fs::create_dir_all(d.path().join("proc/sys/kernel/random"))?;
            std::fs::write(d.path().join("proc/sys/kernel/random/boot_id"), "b1\n")
        })
        .expect("boot id");
    d
}

fn set_pool(root: &Path, total: u64, free: u64) {
    let p = root.join("sys/kernel/mm/hugepages/hugepages-2048kB");
    std::fs::create_dir_all(&p).expect("pool");
    std::fs::write(p.join("nr_hugepages"), format!("{total}\n")).expect("nr");
    std::fs::write(p.join("free_hugepages"), format!("{free}\n")).expect("free");
}

fn pool(root: &Path) -> u64 {
    std::fs::read_to_string(root.join("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"))
        .expect("nr")
        .trim()
        .parse()
        .expect("number")
}

fn domain(name: &str, meta: &str, mem_mib: u64, hostdev: bool) -> String {
    let dev = if hostdev {
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0a' slot='0' function='0'/></source></hostdev>"
    } else {
        ""
    };
    format!(
        "<domain type='kvm'><name>{name}</name><metadata><passage:vm xmlns:passage='{NS}'>{meta}</passage:vm></metadata>\
         <memory unit='MiB'>{mem_mib}</memory><memoryBacking><hugepages/></memoryBacking><devices>{dev}</devices></domain>"
    )
}

fn hook(root: &Path, vm: &str, op: &str, xml: &str) -> Result<Option<String>, String> {
    let args: Vec<String> = [vm, op, "begin", "-"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    passage_helper::hook::run(root, &args, &mut xml.as_bytes(), &NoSteps)
}

const HUGE: &str = "<passage:session-hugepages>yes</passage:session-hugepages>";
const RUNNING: &str = "<passage:gpu-mode>running</passage:gpu-mode>";

#[test]
fn a_domain_without_session_metadata_is_left_alone() {
    let h = host();
    let plain = domain(
        "plain",
        "<passage:purpose>gaming</passage:purpose>",
        1024,
        true,
    );
    assert_eq!(hook(h.path(), "plain", "prepare", &plain), Ok(None));
    assert_eq!(hook(h.path(), "plain", "started", &plain), Ok(None));
    assert!(Journal::new(h.path()).history().is_empty());
    assert_eq!(pool(h.path()), 10);
}

#[test]
fn hugepages_are_reserved_at_start_and_exactly_given_back() {
    let h = host();
    let x = domain("ml", HUGE, 1024, false);
    let done = hook(h.path(), "ml", "prepare", &x)
        .expect("prepare")
        .expect("session");
    assert!(done.contains("MiB of hugepages reserved"), "{done}");
    // 512 pages of 2 MiB for 1 GiB; 10 were free already.
    assert_eq!(pool(h.path()), 10 + 502);
    let hist = Journal::new(h.path()).history();
    assert_eq!(hist[0].state, State::Applied);
    // Another reservation made meanwhile stays.
    set_pool(h.path(), 512 + 20, 0);
    hook(h.path(), "ml", "release", &x).expect("release");
    assert_eq!(
        pool(h.path()),
        30,
        "the 10 from before and the 20 reserved meanwhile stay"
    );
    assert_eq!(Journal::new(h.path()).history()[0].state, State::Undone);
    // A second release finds nothing to give back.
    let again = hook(h.path(), "ml", "release", &x)
        .expect("again")
        .expect("words");
    assert!(again.contains("no session"), "{again}");
}

#[test]
fn too_many_hugepages_are_refused_with_the_numbers_and_nothing_changes() {
    let h = host();
    let x = domain("big", HUGE, 16 * 1024 * 1024, false);
    let e = hook(h.path(), "big", "prepare", &x).expect_err("refused");
    assert!(e.contains("MiB"), "{e}");
    assert_eq!(pool(h.path()), 10);
    assert!(
        Journal::new(h.path()).history().is_empty(),
        "refused before anything was recorded"
    );
}

#[test]
fn a_process_holding_the_card_refuses_the_start_by_name_and_gives_back_the_hugepages() {
    let h = host();
    let drm = h.path().join("sys/bus/pci/devices/0000:0a:00.0/drm/card1");
    std::fs::create_dir_all(&drm).expect("drm");
    let fd = h.path().join("proc/4242/fd");
    std::fs::create_dir_all(&fd).expect("fd");
    symlink("/dev/dri/card1", fd.join("7")).expect("link");
    std::fs::write(h.path().join("proc/4242/comm"), "blender\n").expect("comm");
    let x = domain("win", &format!("{RUNNING}{HUGE}"), 1024, true);
    let e = hook(h.path(), "win", "prepare", &x).expect_err("refused");
    assert!(
        e.contains("blender (PID 4242) has /dev/dri/card1 open"),
        "{e}"
    );
    assert!(
        e.contains("nothing on the host was changed")
            || Journal::new(h.path()).history().is_empty(),
        "{e}"
    );
    assert_eq!(pool(h.path()), 10);
}

#[test]
fn a_device_that_does_not_exist_is_refused() {
    let h = host();
    let x = domain("win", RUNNING, 1024, true).replace("bus='0x0a'", "bus='0x3e'");
    let e = hook(h.path(), "win", "prepare", &x).expect_err("refused");
    assert!(
        e.contains("0000:3e:00.0") && e.contains("no PCI device"),
        "{e}"
    );
}

#[test]
fn a_card_lent_to_one_vm_is_refused_to_another_naming_the_first() {
    let h = host();
    let j = Journal::new(h.path());
    let s = Session {
        vm: "first".into(),
        boot_id: "b1".into(),
        taken: vec![Taken::Devices {
            devices: vec![("0000:0a:00.0".into(), Some("nvidia".into()))],
        }],
    };
    j.record("vm-session", 0, "Session".into(), Change::Session(s))
        .expect("record");
    // The first VM runs: libvirt's pid file names a live process (this test's own).
    let run = h.path().join("run/libvirt/qemu");
    std::fs::create_dir_all(&run).expect("run");
    std::fs::write(run.join("first.pid"), std::process::id().to_string()).expect("pid");
    std::fs::create_dir_all(h.path().join(format!("proc/{}", std::process::id()))).expect("proc");
    let x = domain("second", RUNNING, 1024, true);
    let e = hook(h.path(), "second", "prepare", &x).expect_err("refused");
    assert!(e.contains("lent to the VM \"first\""), "{e}");
    // Undo from History is refused while the VM runs.
    let id = j.history()[0].id.clone();
    let e = j.undo(&id, &NoSteps, &mut |_| {}).expect_err("running");
    assert!(e.to_string().contains("still running"), "{e}");
}

#[test]
fn a_session_left_half_done_is_given_back_and_one_from_an_earlier_boot_is_only_closed() {
    let h = host();
    let j = Journal::new(h.path());
    set_pool(h.path(), 110, 0);
    let half = Session {
        vm: "crashed".into(),
        boot_id: "b1".into(),
        taken: vec![Taken::Hugepages {
            size_kib: 2048,
            node: None,
            before: 10,
            added: 100,
        }],
    };
    let e = j
        .record("vm-session", 0, "Session".into(), Change::Session(half))
        .expect("record");
    j.mark(&e.id, State::Applying).expect("mark");
    let old = Session {
        vm: "old".into(),
        boot_id: "b0".into(),
        taken: vec![Taken::Hugepages {
            size_kib: 2048,
            node: None,
            before: 0,
            added: 50,
        }],
    };
    let o = j
        .record("vm-session", 0, "Session".into(), Change::Session(old))
        .expect("record");
    let done = passage_helper::session::recover(h.path(), &NoSteps);
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(
        pool(h.path()),
        10,
        "only the unfinished session's pages were given back"
    );
    assert_eq!(j.load(&e.id).expect("e").state, State::Undone);
    assert_eq!(j.load(&o.id).expect("o").state, State::Undone);
}

#[test]
fn bad_hook_input_is_refused_and_changes_nothing() {
    let h = host();
    assert!(hook(h.path(), "win", "prepare", "<domain><name>win").is_err());
    let big = format!("<domain><name>win</name>{}</domain>", " ".repeat(2 << 20));
    assert!(hook(h.path(), "win", "prepare", &big)
        .expect_err("huge")
        .contains("larger than"));
    assert!(hook(
        h.path(),
        "other",
        "prepare",
        &domain("win", HUGE, 1024, false)
    )
    .is_err());
    assert!(Journal::new(h.path()).history().is_empty());
    assert_eq!(pool(h.path()), 10);
}

#[test]
fn hugepages_go_on_the_cards_numa_node_when_the_vm_is_pinned_there() {
    let h = host();
    let p = h.path();
    std::fs::write(p.join("sys/bus/pci/devices/0000:0a:00.0/numa_node"), "1\n").expect("numa");
    let node = p.join("sys/devices/system/node/node1");
    std::fs::create_dir_all(node.join("hugepages/hugepages-2048kB")).expect("node");
    std::fs::write(node.join("cpulist"), "12-23\n").expect("cpus");
    for f in ["nr_hugepages", "free_hugepages"] {
        std::fs::write(node.join("hugepages/hugepages-2048kB").join(f), "0\n").expect("pool");
    }
    let node_pool = || {
        std::fs::read_to_string(node.join("hugepages/hugepages-2048kB/nr_hugepages"))
            .expect("nr")
            .trim()
            .to_string()
    };
    let pinned = |set: &str| {
        domain("ml", HUGE, 1024, false).replace(
            "<devices>",
            &format!("<cputune><vcpupin vcpu='0' cpuset='{set}'/></cputune><devices>"),
        )
    };
    // Pinned to the card's node: the pages come from node 1. The card is the VM's only when
    // it is lent, so here the at-boot VM's card is only where the memory should be.
    let x = pinned("14,15").replace(
        HUGE,
        &format!("{HUGE}<passage:gpu-mode>running</passage:gpu-mode>"),
    ).replace("<devices>", "<devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0a' slot='0' function='0'/></source></hostdev>");
    // The card is taken too, which a fixture tree cannot do: the refusal comes after the
    // pages, and they are given back; what matters here is where they were asked for.
    let e = hook(p, "ml", "prepare", &x);
    let hist = Journal::new(p).history();
    let taken = match &hist[0].change {
        Change::Session(s) => s.taken.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(
            taken.first(),
            Some(Taken::Hugepages {
                node: Some(1),
                added: 512,
                ..
            })
        ),
        "{taken:?} ({e:?})"
    );
    assert_eq!(node_pool(), "0", "given back after the refusal");
    assert_eq!(pool(p), 10, "the host-wide pool was not touched");
    // Pinned elsewhere: the host-wide pool.
    let x = pinned("2,3");
    hook(p, "ml", "prepare", &x).expect("prepare");
    assert_eq!(pool(p), 10 + 502);
    hook(p, "ml", "release", &x).expect("release");
    assert_eq!(pool(p), 10);
}

/// Records each command and answers `systemctl show` with a unit's CPUs.
struct Systemctl(std::cell::RefCell<Vec<String>>);

impl StepRunner for Systemctl {
    fn run(&self, argv: &[String], _: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        self.0.borrow_mut().push(argv.join(" "));
        Some(Ok(
            if argv.get(1).map(String::as_str) == Some("show")
                && argv.last().map(String::as_str) == Some("user.slice")
            {
                "0-7\n".into()
            } else {
                "\n".into()
            },
        ))
    }
}

#[test]
fn cpu_isolation_moves_systemds_slices_off_the_vms_cpus_and_back() {
    let h = host();
    let p = h.path();
    std::fs::create_dir_all(p.join("proc/1")).expect("proc");
    std::fs::write(p.join("proc/1/comm"), "systemd\n").expect("comm");
    std::fs::create_dir_all(p.join("sys/devices/system/cpu")).expect("cpu");
    std::fs::write(p.join("sys/devices/system/cpu/online"), "0-11\n").expect("online");
    let x = domain("win", "<passage:isolate-cpus>yes</passage:isolate-cpus>", 1024, false).replace(
        "<devices>",
        "<cputune><vcpupin vcpu='0' cpuset='4'/><vcpupin vcpu='1' cpuset='5-7'/></cputune><devices>",
    );
    let run = Systemctl(Default::default());
    let args = |op: &str| -> Vec<String> {
        ["win", op, "begin", "-"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    passage_helper::hook::run(p, &args("prepare"), &mut x.as_bytes(), &run).expect("prepare");
    let ran = run.0.borrow().clone();
    for unit in ["system.slice", "user.slice", "init.scope"] {
        assert!(
            ran.contains(&format!(
                "systemctl set-property --runtime {unit} AllowedCPUs=0-3,8-11"
            )),
            "{ran:?}"
        );
    }
    run.0.borrow_mut().clear();
    passage_helper::hook::run(p, &args("release"), &mut &b""[..], &run).expect("release");
    let ran = run.0.borrow().clone();
    assert_eq!(
        ran,
        [
            "systemctl set-property --runtime init.scope AllowedCPUs=",
            "systemctl set-property --runtime user.slice AllowedCPUs=0-7",
            "systemctl set-property --runtime system.slice AllowedCPUs=",
        ],
        "each unit back to what it had, in reverse"
    );
    // Pinned to every CPU: refused, nothing left changed.
    let all = x.replace("cpuset='5-7'", "cpuset='0-11'");
    run.0.borrow_mut().clear();
    let e =
        passage_helper::hook::run(p, &args("prepare"), &mut all.as_bytes(), &run).expect_err("all");
    assert!(e.contains("pinned to every CPU"), "{e}");
    assert!(!run.0.borrow().iter().any(|c| c.contains("set-property")));
}
