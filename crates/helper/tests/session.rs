//! VM sessions (libvirt's hook) on fixture host trees: what is refused and why, hugepages
//! taken and given back exactly, two VMs and one card, and a session left half done. The
//! driver moves themselves are tested on a real kernel (build-aux/testbed/test-session.sh).

use std::os::unix::fs::symlink;
use std::path::Path;

use passage_helper::authz::{self, VmAuthorization};
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

/// A UUID of the VM's own, from its name (as libvirt gives every domain one).
fn uuid_of(name: &str) -> String {
    let n = name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff)
}

/// Records what an administrator authorized for `vm` (what AuthorizeVm writes: root's own,
/// mode 0600).
fn authorize(root: &Path, vm: &str, devices: &[&str], hugepages_mib: u64, cpus: &[u32]) {
    authorize_uuid(root, &uuid_of(vm), vm, devices, hugepages_mib, cpus);
}

fn authorize_uuid(
    root: &Path,
    uuid: &str,
    vm: &str,
    devices: &[&str],
    hugepages_mib: u64,
    cpus: &[u32],
) {
    let r = passage_core::Root::new(root).expect("root");
    let asked: Vec<passage_core::host::PciAddress> = devices
        .iter()
        .map(|d| d.parse().expect("address"))
        .collect();
    let a = VmAuthorization {
        uuid: uuid.into(),
        vm: vm.into(),
        devices: authz::groups(&passage_core::Host::scan(&r), &asked).expect("groups"),
        hugepages_kib: hugepages_mib * 1024,
        cpus: cpus.to_vec(),
    };
    let path = root.join(authz::path(uuid).trim_start_matches('/'));
    let bytes = serde_json::to_vec(&a).expect("json");
    passage_helper::journal::atomic_write(&path, &bytes, 0o600, 0, 0).expect("record");
}

/// The x570 card (its whole group is authorized).
const CARD: [&str; 1] = ["0000:0a:00.0"];

fn domain(name: &str, meta: &str, mem_mib: u64, hostdev: bool) -> String {
    let dev = if hostdev {
        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0a' slot='0' function='0'/></source></hostdev>"
    } else {
        ""
    };
    format!(
        "<domain type='kvm'><name>{name}</name><uuid>{uuid}</uuid><metadata><passage:vm xmlns:passage='{NS}'>{meta}</passage:vm></metadata>\
         <memory unit='MiB'>{mem_mib}</memory><memoryBacking><hugepages/></memoryBacking><devices>{dev}</devices></domain>",
        uuid = uuid_of(name)
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
    authorize(h.path(), "ml", &[], 1024, &[]);
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
    authorize(h.path(), "big", &[], 16 * 1024 * 1024, &[]);
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
    authorize(h.path(), "win", &CARD, 1024, &[]);
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
    authorize(h.path(), "win", &[], 0, &[]);
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
    authorize(h.path(), "second", &CARD, 0, &[]);
    let j = Journal::new(h.path());
    let s = Session {
        vm: "first".into(),
        boot_id: "b1".into(),
        taken: vec![Taken::Devices {
            devices: vec![("0000:0a:00.0".into(), Some("nvidia".into()))],
            overrides: vec![],
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
            reserved: true,
            back_to: None,
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
            reserved: true,
            back_to: None,
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
    let bad = format!("<domain><name>win</name><metadata><p:vm xmlns:p='{NS}'>");
    assert!(hook(h.path(), "win", "prepare", &bad)
        .expect_err("malformed")
        .contains("not a domain Passage can read"));
    let big = format!(
        "{}{}",
        domain("win", HUGE, 1024, false),
        " ".repeat(2 << 20)
    );
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

/// Counts what the hook read of its stdin.
struct Pipe<'a> {
    data: &'a [u8],
    read: usize,
}

impl std::io::Read for Pipe<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.read).min(8192);
        buf[..n].copy_from_slice(&self.data[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

/// libvirt runs the hook for every domain: one without Passage's namespace starts whatever its
/// XML is (too big, malformed, not UTF-8), and the hook reads the pipe to its end each time.
#[test]
fn a_domain_without_passages_namespace_starts_whatever_its_xml() {
    let h = host();
    let plain = "<domain type='kvm'><name>win</name><memory>1</memory><devices/></domain>";
    let huge = format!("{plain}{}", " ".repeat(3 << 20));
    let odd: [&[u8]; 4] = [
        huge.as_bytes(),
        b"<domain><name>win</nam",
        &[0xff, 0xfe, 0x3c, 0x00],
        plain.as_bytes(),
    ];
    let args = |op: &str| -> Vec<String> {
        ["win", op, "begin", "-"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    for xml in odd {
        for op in ["prepare", "start", "release"] {
            let mut pipe = Pipe { data: xml, read: 0 };
            let r = passage_helper::hook::run(h.path(), &args(op), &mut pipe, &NoSteps);
            // release gives back what a session holds (none here), reading no XML.
            match op {
                "release" => assert!(r.is_ok(), "{op} on {} bytes: {r:?}", xml.len()),
                _ => assert_eq!(r, Ok(None), "{op} on {} bytes", xml.len()),
            }
            assert_eq!(pipe.read, xml.len(), "{op}: the pipe is read to its end");
        }
    }
    assert!(Journal::new(h.path()).history().is_empty());
    assert_eq!(pool(h.path()), 10);
}

#[test]
fn hugepages_go_on_the_cards_numa_node_when_the_vm_is_pinned_there() {
    let h = host();
    let p = h.path();
    authorize(p, "ml", &CARD, 1024, &[]);
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

/// A two-node host whose pages are all on node 0 (the host-wide pool is the sum of the
/// nodes'): pages asked for on node 1 count against the host's room with node 0's, and a
/// reservation that would take the host past it is refused before anything is taken.
#[test]
fn the_hugepage_cap_is_on_the_host_wide_pool_when_pages_go_on_a_node() {
    let h = host();
    let p = h.path();
    std::fs::write(p.join("sys/bus/pci/devices/0000:0a:00.0/numa_node"), "1\n").expect("numa");
    for (n, cpus, pages) in [(0, "0-11", 14_000), (1, "12-23", 0)] {
        let node = p.join(format!("sys/devices/system/node/node{n}"));
        let pool = node.join("hugepages/hugepages-2048kB");
        std::fs::create_dir_all(&pool).expect("node");
        std::fs::write(node.join("cpulist"), format!("{cpus}\n")).expect("cpus");
        std::fs::write(pool.join("nr_hugepages"), format!("{pages}\n")).expect("nr");
        std::fs::write(pool.join("free_hugepages"), "0\n").expect("free");
    }
    // 14 000 pages of 2 MiB (27 GiB of the fixture's 31 GiB) are the host's pool.
    set_pool(p, 14_000, 0);
    authorize(p, "ml", &CARD, 1024, &[14, 15]);
    let x = domain("ml", HUGE, 1024, false).replace(
        "<devices>",
        "<cputune><vcpupin vcpu='0' cpuset='14,15'/></cputune><devices><hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0a' slot='0' function='0'/></source></hostdev>",
    ).replace(HUGE, &format!("{HUGE}{RUNNING}"));
    let e = hook(p, "ml", "prepare", &x).expect_err("over the host's room");
    assert!(
        e.contains("14512 pages of 2048 KiB") && e.contains("this host can spare"),
        "{e}"
    );
    let node1 = std::fs::read_to_string(
        p.join("sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"),
    )
    .expect("nr");
    assert_eq!(node1.trim(), "0", "nothing reserved on node 1");
    assert!(
        Journal::new(p).history().is_empty(),
        "refused before anything was recorded"
    );
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
    authorize(p, "win", &[], 0, &[4, 5, 6, 7]);
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
    // Pinned to more CPUs than were authorized: refused, nothing changed.
    let all = x.replace("cpuset='5-7'", "cpuset='0-11'");
    run.0.borrow_mut().clear();
    let e =
        passage_helper::hook::run(p, &args("prepare"), &mut all.as_bytes(), &run).expect_err("all");
    assert!(
        e.contains("kept off CPUs 0-3,8-11") && e.contains("more than was authorized"),
        "{e}"
    );
    assert!(run.0.borrow().is_empty(), "{:?}", run.0.borrow());
    // Authorized, but every core fenced: the host keeps a whole core, nothing changed.
    authorize(p, "win", &[], 0, &(0..12).collect::<Vec<_>>());
    let e =
        passage_helper::hook::run(p, &args("prepare"), &mut all.as_bytes(), &run).expect_err("all");
    assert!(
        e.contains("no whole core") && e.contains("nothing was taken"),
        "{e}"
    );
    assert!(run.0.borrow().is_empty(), "{:?}", run.0.borrow());
}

/// The QEMU test bed's real kernel, captured (crates/fixtures/data/qemu-viommu), unpacked.
fn captured_host() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    let archive =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/qemu-viommu/capture.tar.gz");
    let ok = std::process::Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(d.path())
        .status()
        .expect("tar");
    assert!(ok.success(), "unpacking {}", archive.display());
    d
}

const XHCI: &str = "0000:03:00.0";

fn override_of(root: &Path, a: &str) -> Vec<u8> {
    std::fs::read(root.join(format!("sys/bus/pci/devices/{a}/driver_override"))).expect("override")
}

#[test]
fn the_measured_attack_a_hand_written_domain_asking_for_the_usb_controller_takes_nothing() {
    let h = captured_host();
    let p = h.path();
    let before = override_of(p, XHCI);
    // What anyone who may define domains can write: Passage's metadata and the QEMU XHCI.
    let x = format!(
        "<domain type='kvm'><name>evil</name><uuid>{}</uuid><metadata><passage:vm xmlns:passage='{NS}'>{RUNNING}{HUGE}</passage:vm></metadata>\
         <memory unit='MiB'>64</memory><memoryBacking><hugepages/></memoryBacking><devices>\
         <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x03' slot='0' function='0'/></source></hostdev></devices></domain>",
        uuid_of("evil")
    );
    let e = hook(p, "evil", "prepare", &x).expect_err("refused");
    assert!(
        e.contains("not authorized") && e.contains("passagectl vm authorize evil"),
        "{e}"
    );
    assert_eq!(
        override_of(p, XHCI),
        before,
        "the controller was not touched"
    );
    assert!(
        Journal::new(p).history().is_empty(),
        "nothing was taken, nothing recorded"
    );
}

#[test]
fn an_authorized_vm_still_takes_its_group() {
    let h = host();
    let p = h.path();
    authorize(p, "win", &CARD, 0, &[]);
    let x = domain("win", RUNNING, 1024, true);
    // A fixture tree cannot move drivers: what matters is that the hook went on to take the
    // whole group (and gave it back when the tree did not follow).
    let _ = hook(p, "win", "prepare", &x);
    let hist = Journal::new(p).history();
    let taken = match hist.first().map(|e| &e.change) {
        Some(Change::Session(s)) => s.taken.clone(),
        other => panic!("no session: {other:?}"),
    };
    let devices: Vec<String> = taken
        .iter()
        .flat_map(|t| match t {
            Taken::Devices { devices, .. } => devices.iter().map(|d| d.0.clone()).collect(),
            _ => vec![],
        })
        .collect();
    assert!(
        devices.contains(&"0000:0a:00.0".to_string())
            && devices.contains(&"0000:0a:00.1".to_string()),
        "{taken:?}"
    );
}

#[test]
fn the_same_name_with_another_uuid_is_refused() {
    let h = host();
    let p = h.path();
    authorize_uuid(
        p,
        "11111111-2222-4333-8444-555555555555",
        "win",
        &CARD,
        1024,
        &[],
    );
    let x = domain("win", &format!("{RUNNING}{HUGE}"), 1024, true);
    let e = hook(p, "win", "prepare", &x).expect_err("refused");
    assert!(
        e.contains(&uuid_of("win")) && e.contains("not authorized"),
        "{e}"
    );
    assert!(Journal::new(p).history().is_empty());
    assert_eq!(pool(p), 10);
}

#[test]
fn more_hugepages_or_other_devices_than_authorized_are_refused_and_nothing_is_taken() {
    let h = host();
    let p = h.path();
    authorize(p, "ml", &[], 512, &[]);
    let x = domain("ml", HUGE, 1024, false);
    let e = hook(p, "ml", "prepare", &x).expect_err("refused");
    assert!(
        e.contains("1024 MiB of hugepages (authorized: 512 MiB)")
            && e.contains("passagectl vm authorize ml"),
        "{e}"
    );
    assert_eq!(pool(p), 10);
    // Within the ceiling it goes.
    let small = domain("ml", HUGE, 512, false);
    hook(p, "ml", "prepare", &small).expect("within what was authorized");
    hook(p, "ml", "release", &small).expect("release");
    // A device outside the authorized groups.
    let x = domain("ml", RUNNING, 512, true);
    let e = hook(p, "ml", "prepare", &x).expect_err("refused");
    assert!(
        e.contains("0000:0a:00.0") && e.contains("more than was authorized"),
        "{e}"
    );
    assert_eq!(
        Journal::new(p).history().len(),
        1,
        "only the session that was allowed"
    );
}

#[test]
fn a_record_that_is_not_roots_private_file_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let h = host();
    let p = h.path();
    authorize(p, "ml", &[], 1024, &[]);
    let rec = p.join(authz::path(&uuid_of("ml")).trim_start_matches('/'));
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let e = hook(p, "ml", "prepare", &domain("ml", HUGE, 1024, false)).expect_err("refused");
    assert!(e.contains("does not trust"), "{e}");
    assert_eq!(pool(p), 10);
}

/// The card's two functions on vfio-pci as the kernel shows them, with the attributes a give-back
/// writes: plain files here, read back to see what was written.
fn on_vfio(root: &Path, overrides: [&str; 2]) -> [String; 2] {
    let drivers = root.join("sys/bus/pci/drivers");
    for d in ["vfio-pci", "amdgpu", "snd_hda_intel"] {
        std::fs::create_dir_all(drivers.join(d)).expect("driver");
        for f in ["bind", "unbind"] {
            std::fs::write(drivers.join(d).join(f), "").expect("attr");
        }
    }
    std::fs::write(root.join("sys/bus/pci/drivers_probe"), "").expect("probe");
    let mut out = [String::new(), String::new()];
    for (i, a) in ["0000:0a:00.0", "0000:0a:00.1"].iter().enumerate() {
        let dev = root.join(format!("sys/bus/pci/devices/{a}"));
        let link = dev.join("driver");
        let _ = std::fs::remove_file(&link);
        symlink(drivers.join("vfio-pci"), &link).expect("link");
        std::fs::write(dev.join("driver_override"), overrides[i]).expect("override");
        out[i] = a.to_string();
    }
    out
}

fn attr(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A session's give-back puts each device on the driver recorded when it was taken (not the
/// kernel's pick through drivers_probe), clears only the override Passage set, and writes back
/// one the administrator had set.
#[test]
fn a_session_gives_each_device_back_to_its_recorded_driver_and_keeps_the_admins_override() {
    let h = host();
    let p = h.path();
    let [gpu, audio] = on_vfio(p, ["vfio-pci\n", "vfio-pci\n"]);
    let j = Journal::new(p);
    let s = Session {
        vm: "win".into(),
        boot_id: "b1".into(),
        taken: vec![Taken::Devices {
            devices: vec![
                (gpu.clone(), Some("amdgpu".into())),
                (audio.clone(), Some("snd_hda_intel".into())),
            ],
            // The administrator had pinned the audio function to its driver.
            overrides: vec![(audio.clone(), "snd_hda_intel".into())],
        }],
    };
    let e = j
        .record("vm-session", 0, "Session".into(), Change::Session(s))
        .expect("record");
    j.mark(&e.id, State::Applying).expect("mark");
    hook(p, "win", "release", "").expect("release");
    let dev = |a: &str, f: &str| attr(p, &format!("sys/bus/pci/devices/{a}/{f}"));
    assert_eq!(
        dev(&gpu, "driver_override"),
        "\n",
        "Passage's override cleared"
    );
    assert_eq!(
        dev(&audio, "driver_override"),
        "snd_hda_intel",
        "the administrator's override stays"
    );
    assert_eq!(attr(p, "sys/bus/pci/drivers/amdgpu/bind"), gpu);
    assert_eq!(attr(p, "sys/bus/pci/drivers/snd_hda_intel/bind"), audio);
    assert_eq!(
        attr(p, "sys/bus/pci/drivers_probe"),
        "",
        "no device left to the kernel's pick"
    );
}

/// A device that had no driver stays without one; one that was on vfio-pci already stays there.
#[test]
fn a_device_without_a_driver_before_stays_without_one() {
    let h = host();
    let p = h.path();
    let [gpu, audio] = on_vfio(p, ["vfio-pci\n", "vfio-pci\n"]);
    let found = passage_helper::sysfs::Found::joined(
        &[
            (gpu.clone(), None),
            (audio.clone(), Some("vfio-pci".into())),
        ],
        &[(audio.clone(), "vfio-pci".into())],
    );
    passage_helper::sysfs::give_back(p, &found).expect("given back");
    assert_eq!(attr(p, "sys/bus/pci/drivers/vfio-pci/unbind"), gpu);
    assert_eq!(attr(p, "sys/bus/pci/drivers_probe"), "");
    for d in ["amdgpu", "snd_hda_intel"] {
        assert_eq!(attr(p, &format!("sys/bus/pci/drivers/{d}/bind")), "");
    }
    let dev = |a: &str| attr(p, &format!("sys/bus/pci/devices/{a}/driver_override"));
    assert_eq!((dev(&gpu), dev(&audio)), ("\n".into(), "vfio-pci".into()));
}

/// Undo of a binding from History: refused while a process holds the group's device node (a
/// running VM; an unbind would hang in the kernel), nothing written; afterwards the devices go
/// back to their recorded drivers.
#[test]
fn undoing_a_binding_checks_the_holder_and_gives_back_to_the_recorded_drivers() {
    use passage_helper::journal::Binding;
    let h = host();
    let p = h.path();
    let [gpu, audio] = on_vfio(p, ["vfio-pci\n", "(null)\n"]);
    let r = passage_core::Root::new(p).expect("root");
    let host = passage_core::Host::scan(&r);
    let group = host
        .group_of(gpu.parse().expect("address"))
        .expect("group")
        .id;
    let j = Journal::new(p);
    let e = j
        .record(
            "bind-to-vfio",
            0,
            "bound".into(),
            Change::Binding(Binding {
                bound: vec![
                    (gpu.clone(), Some("amdgpu".into())),
                    (audio.clone(), Some("snd_hda_intel".into())),
                ],
                overrides: vec![],
            }),
        )
        .expect("record");
    let fd = p.join("proc/4242/fd");
    std::fs::create_dir_all(&fd).expect("proc");
    std::fs::write(p.join("proc/4242/comm"), "qemu-system-x86\n").expect("comm");
    symlink(format!("/dev/vfio/{group}"), fd.join("31")).expect("fd");
    let err = j.undo(&e.id, &NoSteps, &mut |_| {}).expect_err("held");
    assert!(
        err.to_string().contains("qemu-system-x86 (PID 4242)"),
        "{err}"
    );
    assert_eq!(
        attr(p, "sys/bus/pci/drivers/vfio-pci/unbind"),
        "",
        "nothing written"
    );
    assert_eq!(j.load(&e.id).expect("entry").state, State::Applied);
    std::fs::remove_dir_all(p.join("proc/4242")).expect("gone");
    j.undo(&e.id, &NoSteps, &mut |_| {}).expect("undo");
    assert_eq!(attr(p, "sys/bus/pci/drivers/amdgpu/bind"), gpu);
    assert_eq!(attr(p, "sys/bus/pci/drivers/snd_hda_intel/bind"), audio);
    assert_eq!(attr(p, "sys/bus/pci/drivers_probe"), "");
}
