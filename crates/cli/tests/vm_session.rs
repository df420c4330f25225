//! The daily loop from a terminal against a private libvirtd: `vm start` refuses what the
//! pre-flight finds (and starts nothing), explains a real failed start, and `vm explain` reads
//! error text. The guest that honours the power button runs in the test bed stage
//! (build-aux/testbed/test-shutdown.sh).

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::{Hypervisor, Libvirt, VmState};

/// A small software-emulated VM (no firmware, no disk) with `devices` inside <devices>. ACPI is
/// on: without it libvirt 9.0 passes `-no-acpi`, which QEMU 9 no longer knows.
fn domain(name: &str, memory_backing: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  {memory_backing}\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n  <features>\n    <acpi/>\n  </features>\n  <devices>\n{devices}\n    <graphics type='vnc' autoport='yes'/>\n  </devices>\n</domain>\n"
    )
}

fn start(uri: &str, root: &std::path::Path, name: &str) -> std::process::Output {
    passagectl(&[
        "vm",
        "start",
        name,
        "--wait",
        "--connect",
        uri,
        "--root",
        root.to_str().expect("utf8"),
    ])
}

#[test]
fn the_pre_flight_refuses_what_would_fail_and_starts_nothing() {
    let d = PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let root = fixture("x570-tutorial");
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:108::/var/lib/libvirt:/usr/sbin/nologin\n",
    )
    .expect("passwd");
    // An ISO in a home folder QEMU's user cannot enter.
    let home = root.path().join("home/anna");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::write(home.join("Win11.iso"), "iso").expect("iso");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    h.define(&domain(
        "iso-in-home",
        "",
        "    <disk type='file' device='cdrom'>\n      <source file='/home/anna/Win11.iso'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>",
    ))
    .expect("define");
    let o = start(&uri, root.path(), "iso-in-home");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[media-permission]") && stderr(&o).contains("cannot enter /home/anna"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        h.state("iso-in-home").expect("state"),
        VmState::Off,
        "nothing started"
    );

    // A passed-through device at an address this host does not have (a card moved).
    h.define(&domain(
        "moved-card",
        "",
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0x0000' bus='0x3f' slot='0x00' function='0x0'/>\n      </source>\n    </hostdev>",
    ))
    .expect("define");
    let o = start(&uri, root.path(), "moved-card");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0000:3f:00.0 is not there") && stderr(&o).contains("[device-missing]"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.state("moved-card").expect("state"), VmState::Off);
    // Looking Glass on /dev/shm with nothing to make the memory the user's.
    h.define(&domain(
        "looking-glass",
        "",
        "    <shmem name='looking-glass'>\n      <model type='ivshmem-plain'/>\n      <size unit='M'>32</size>\n    </shmem>",
    ))
    .expect("define");
    let o = start(&uri, root.path(), "looking-glass");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Nothing makes Looking Glass's memory yours [looking-glass]")
            && stderr(&o).contains("passagectl apply --looking-glass"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.state("looking-glass").expect("state"), VmState::Off);
    let o = passagectl(&["vm", "start", "nosuch", "--connect", &uri]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_real_failed_start_is_explained() {
    // Hugepages the pre-flight believes (the fixture says 4096 are free), which this machine's
    // libvirt cannot give: libvirt's own refusal, read back as hugepages-short.
    let d = PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let root = fixture("x570-tutorial");
    for f in ["free_hugepages", "nr_hugepages"] {
        std::fs::write(
            root.path()
                .join("sys/kernel/mm/hugepages/hugepages-2048kB")
                .join(f),
            "4096\n",
        )
        .expect("write");
    }
    h.define(&domain(
        "wants-hugepages",
        "<memoryBacking>\n    <hugepages/>\n  </memoryBacking>",
        "",
    ))
    .expect("define");
    let o = start(&uri, root.path(), "wants-hugepages");
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("[hugepages-short]"), "{}", stdout(&o));
    assert!(stdout(&o).contains("What libvirt said:"), "{}", stdout(&o));
    assert_eq!(h.state("wants-hugepages").expect("state"), VmState::Off);
}

#[test]
fn explain_reads_an_error_on_stdin() {
    use std::io::Write;
    let run = |args: &[&str], text: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_passagectl"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("passagectl");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        c.wait_with_output().expect("output")
    };
    let o = run(
        &["vm", "explain", "--json"],
        "internal error: qemu unexpectedly closed the monitor: vfio 0000:0a:00.0: group 28 is not viable\nPlease ensure all devices within the iommu_group are bound to their vfio bus driver.",
    );
    assert!(o.status.success());
    let v = json(&o);
    assert_eq!(v["cause"], "group-not-viable");
    assert_eq!(v["subject"], "0000:0a:00.0");
    assert!(
        v["fix"].as_str().is_some_and(|f| f.contains("whole group")),
        "{v}"
    );
    let o = run(
        &["vm", "explain"],
        "Requested operation is not valid: network 'default' is not active",
    );
    assert!(
        stdout(&o).starts_with("The network “default” is not running [network-inactive]"),
        "{}",
        stdout(&o)
    );
}

/// A guest that boots the test bed's kernel with a busybox PID 1 (guest/acpi-init): it prints
/// READY, and powers off on the ACPI power button unless `ignore_button` is on its command line.
fn live_guest(name: &str, w: &std::path::Path, log: &std::path::Path, extra: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>256</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <kernel>{k}</kernel>\n    <initrd>{i}</initrd>\n    <cmdline>console=ttyS0 panic=-1 {extra}</cmdline>\n  </os>\n  <features>\n    <acpi/>\n  </features>\n  <on_poweroff>destroy</on_poweroff>\n  <devices>\n    <serial type='file'>\n      <source path='{log}'/>\n      <target port='0'/>\n    </serial>\n    <memballoon model='none'/>\n  </devices>\n</domain>\n",
        k = w.join("vmlinuz").display(),
        i = w.join("initrd-acpi.gz").display(),
        log = log.display(),
    )
}

fn wait_for_line(log: &std::path::Path, line: &str) {
    let t0 = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(180),
            "the guest never said {line:?}:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

#[test]
#[ignore = "needs the test bed's kernel: PASSAGE_TESTBED_GUEST=DIR (build-aux/testbed/test-shutdown.sh)"]
fn live_guest_shuts_down_on_the_power_button_and_a_stubborn_one_is_forced_off() {
    let w = std::path::PathBuf::from(
        std::env::var_os("PASSAGE_TESTBED_GUEST").expect("PASSAGE_TESTBED_GUEST"),
    );
    let d = PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let root = fixture("x570-tutorial");
    let log = d.dir.path().join("polite.log");
    h.define(&live_guest("polite", &w, &log, ""))
        .expect("define");
    let t0 = std::time::Instant::now();
    let o = start(&uri, root.path(), "polite");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    println!("vm start --wait: {} ms", t0.elapsed().as_millis());
    assert_eq!(h.state("polite").expect("state"), VmState::Running);
    wait_for_line(&log, "GUEST: READY (power button on /dev/input/");
    let o = passagectl(&[
        "vm",
        "shutdown",
        "polite",
        "--timeout",
        "120",
        "--connect",
        &uri,
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("VM polite shut down."),
        "{}",
        stdout(&o)
    );
    assert_eq!(h.state("polite").expect("state"), VmState::Off);
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("GUEST: POWER BUTTON"));

    // A guest that does not answer the button: refused without --force, forced off with it.
    let log = d.dir.path().join("stubborn.log");
    h.define(&live_guest("stubborn", &w, &log, "ignore_button"))
        .expect("define");
    let o = start(&uri, root.path(), "stubborn");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    wait_for_line(&log, "GUEST: READY");
    let o = passagectl(&[
        "vm",
        "shutdown",
        "stubborn",
        "--timeout",
        "3",
        "--connect",
        &uri,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did not shut down within 3 s") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    assert_ne!(
        h.state("stubborn").expect("state"),
        VmState::Off,
        "not forced without asking"
    );
    let o = passagectl(&[
        "vm",
        "shutdown",
        "stubborn",
        "--timeout",
        "2",
        "--force",
        "--connect",
        &uri,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("forced off"), "{}", stdout(&o));
    assert_eq!(h.state("stubborn").expect("state"), VmState::Off);
}

/// Benchmark (build-aux/bench-session.sh): how long `passagectl vm start --wait`, pre-flight
/// included, takes until libvirt reports the VM running, against `virsh start` of the same VM
/// on the same libvirtd. Medians of RUNS (default 9) and the difference.
#[test]
#[ignore = "benchmark: build-aux/bench-session.sh"]
fn session_start_benchmark() {
    let d = PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let root = fixture("x570-tutorial");
    h.define(&domain("bench", "", "")).expect("define");
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let time = |argv: &[&str]| {
        let mut ms = vec![];
        for _ in 0..runs {
            let t0 = std::time::Instant::now();
            let o = std::process::Command::new(argv[0])
                .args(&argv[1..])
                .output()
                .expect("run");
            let took = t0.elapsed().as_secs_f64() * 1000.0;
            assert!(
                o.status.success(),
                "{argv:?} {:?}: {}{}",
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            // virsh returns when QEMU runs: so does passagectl with --wait.
            assert_eq!(h.state("bench").expect("state"), VmState::Running);
            ms.push(took);
            h.destroy("bench").expect("destroy");
        }
        median(ms)
    };
    let root = root.path().to_str().expect("utf8").to_string();
    let ours = time(&[
        env!("CARGO_BIN_EXE_passagectl"),
        "vm",
        "start",
        "bench",
        "--wait",
        "--connect",
        &uri,
        "--root",
        &root,
    ]);
    let virsh = time(&["virsh", "-q", "-c", &uri, "start", "bench"]);
    println!("passagectl vm start --wait (pre-flight included): {ours:.0} ms median of {runs}");
    println!("virsh start:                                      {virsh:.0} ms median of {runs}");
    println!(
        "Passage adds {:.0} ms (target: at most 100 ms)",
        ours - virsh
    );
}
