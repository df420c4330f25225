//! The daily loop from a terminal against a private libvirtd: `vm start` refuses what the
//! pre-flight finds (and starts nothing), explains a real failed start, and `vm explain` reads
//! error text. The guest that honours the power button runs in the test bed stage
//! (build-aux/testbed/test-shutdown.sh).

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::{Hypervisor, Libvirt, VmState};

/// A small software-emulated VM (no firmware, no disk) with `devices` inside <devices>.
fn domain(name: &str, memory_backing: &str, devices: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  {memory_backing}\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n  <devices>\n{devices}\n    <graphics type='vnc' autoport='yes'/>\n  </devices>\n</domain>\n"
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
