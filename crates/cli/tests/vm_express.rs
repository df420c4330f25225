//! `passagectl vm new --express`: the VM core's `vm::express` recommends, printed, defined
//! with its disk image and started through the pre-flight, on libvirt's test driver (one
//! connection holds its state, as the app's demo does); bad input exits 2 and defines nothing.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use passage_core::vm::devices::initial_selection;
use passage_core::vm::express::{recommend, Context, Request};
use passage_core::vm::Purpose;
use passage_core::{Host, Root};

/// The ISO at a real path, and the same file as the host below `root` sees it (the pre-flight
/// looks for the VM's media through the root).
fn iso(root: &Path, name: &str) -> PathBuf {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let p = dir.join(name);
    std::fs::write(&p, b"an installer").expect("iso");
    let seen = root.join(p.strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(seen.parent().expect("dir")).expect("mkdir");
    std::fs::write(&seen, b"an installer").expect("iso in root");
    p
}

#[test]
fn express_prints_what_it_chose_defines_and_starts_the_vm_core_recommends() {
    let d = fixture("x570-tutorial");
    let root = d.path().to_str().expect("utf8");
    let iso = iso(d.path(), "Win11_23H2_English_x64.iso");
    let iso_s = iso.to_str().expect("utf8");
    let base = ["vm", "new", "--express", "--root", root, "--iso", iso_s];
    let with = |more: &[&str]| {
        let mut a = base.to_vec();
        a.extend(["--connect", "test:///default"]);
        a.extend(more);
        passagectl(&a)
    };

    // The XML is core's recommendation for this host and what the test driver holds (its VM
    // "test"; no pool "default", so the free space is not known).
    let host = Host::scan(&Root::new(d.path()).expect("root"));
    let sel = initial_selection(&host).expect("card");
    let req = Request {
        purpose: Purpose::Gaming,
        iso: iso_s.into(),
        label: None,
        name: None,
        disk_gib: None,
    };
    let ctx = Context {
        taken_vms: vec!["test".into()],
        ..Context::default()
    };
    let want = recommend(&host, sel, &req, &ctx).expect("recommend");
    let o = with(&["--print-xml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = want.draft.spec(&host).expect("spec").to_xml().expect("xml");
    assert_eq!(stdout(&o), xml);
    passage_testkit::valid_domain(&xml);

    let o = with(&[]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    for said in [
        "Express VM win11-gaming for NVIDIA",
        "Win11_23H2_English_x64.iso: Windows 11",
        "win11-gaming: 15 GiB, 12 CPUs, 4 PCI devices, 0 USB devices, 1 keyboard, 1 mouse, 1 disc",
        "the host keeps CPUs 0,12",
        "UEFI (OVMF), Secure Boot on, TPM on",
        "a new 128 GiB image win11-gaming.qcow2",
        "GPU mode             From boot on",
        "Razer DeathAdder V2 (mouse) by evdev",
        "Note: The free space where the disk goes is not known",
        "VM win11-gaming defined.",
        "VM win11-gaming is running: it boots the installer.",
    ] {
        assert!(out.contains(said), "{said:?} not in\n{out}");
    }

    // The kind, name, disk size and GPU mode given.
    let o = with(&[
        "--kind",
        "ml",
        "--name",
        "cuda",
        "--disk-size",
        "200",
        "--gpu-mode",
        "running",
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    for said in [
        "Express VM cuda",
        "a new 200 GiB image cuda.qcow2",
        "Only while a VM runs",
        "VM cuda is running",
    ] {
        assert!(out.contains(said), "{said:?} not in\n{out}");
    }
}

#[test]
fn express_starts_through_the_pre_flight() {
    // The ISO is not where the host below the root has it: the pre-flight stops the start,
    // the VM stays defined and the way to start it is said.
    let d = fixture("x570-tutorial");
    let elsewhere = tempfile::tempdir().expect("tmp");
    let iso = elsewhere.path().join("Win11.iso");
    std::fs::write(&iso, b"an installer").expect("iso");
    let o = passagectl(&[
        "vm",
        "new",
        "--express",
        "--connect",
        "test:///default",
        "--root",
        d.path().to_str().expect("utf8"),
        "--iso",
        iso.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("VM win11-gaming defined."),
        "{}",
        stdout(&o)
    );
    for said in [
        "is missing [media-missing]",
        "was not started",
        "passagectl vm start win11-gaming",
    ] {
        assert!(stderr(&o).contains(said), "{said:?} not in {}", stderr(&o));
    }
}

#[test]
fn express_refuses_bad_input_with_2_and_defines_nothing() {
    let d = fixture("x570-tutorial");
    let root = d.path().to_str().expect("utf8");
    let iso = iso(d.path(), "win.iso");
    let iso_s = iso.to_str().expect("utf8");
    for (args, code, says) in [
        (vec!["--root", root], 2, "--iso"),
        (
            vec!["--root", root, "--iso", "/nonexistent/x.iso"],
            2,
            "give the installer ISO's path",
        ),
        (
            vec!["--root", root, "--iso", iso_s, "--name", "test"],
            2,
            "A VM named test is in libvirt already",
        ),
        (
            vec!["--root", root, "--iso", iso_s, "--name", "no spaces"],
            2,
            "name",
        ),
        (
            vec!["--root", root, "--iso", iso_s, "--gpu", "0000:0c:00.0"],
            1,
            "",
        ),
        (
            vec!["--root", root, "--iso", iso_s, "--kind", "office"],
            2,
            "gaming",
        ),
    ] {
        let mut a = vec!["vm", "new", "--express", "--connect", "test:///default"];
        a.extend(&args);
        let o = passagectl(&a);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).contains("defined"), "{args:?}: {}", stdout(&o));
    }
}
