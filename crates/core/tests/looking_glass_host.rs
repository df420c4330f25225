//! Looking Glass's host files on fixture roots: the tmpfiles.d rule with the user's ownership,
//! AppArmor's local override where libvirt's QEMU abstraction includes it, and for kvmfr
//! `cgroup_device_acl` in qemu.conf (libvirt's default list kept, from the commented block
//! its qemu.conf ships, data/looking-glass/SOURCES); applied, planned again (nothing) and
//! undone byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use passage_core::plan::looking_glass::{APPARMOR_LOCAL, KVMFR_UDEV, QEMU_CONF, TMPFILES};
use passage_core::plan::{self, Intent, Plan};
use passage_core::vm::looking_glass::Backing;
use passage_core::{Host, Root};

const QEMU_CONF_SHIPPED: &str = include_str!("data/looking-glass/qemu.conf");

/// A Debian host with libvirt: the user, the group kvm, libvirt's QEMU abstraction.
fn host(dir: &Path, apparmor: bool) {
    let w = |p: &str, t: &str| {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, t).expect("write");
    };
    w(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n",
    );
    w(
        "etc/group",
        "root:x:0:\nkvm:x:104:alice\nlibvirt:x:108:alice\n",
    );
    w("etc/libvirt/qemu.conf", QEMU_CONF_SHIPPED);
    if apparmor {
        w(
            "etc/apparmor.d/abstractions/libvirt-qemu",
            "# Last Modified: Mon Apr  5 15:11:27 2010\n  #include <abstractions/base>\n\n  # Site-specific additions and overrides. See local/README for details.\n  include if exists <local/abstractions/libvirt-qemu>\n",
        );
    }
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir(dir) {
        out.insert(e.0, e.1);
    }
    out
}

fn walkdir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        for e in std::fs::read_dir(&p).expect("dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("below").display().to_string();
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

fn apply(dir: &Path, p: &Plan) {
    for c in &p.changes {
        let f = dir.join(c.path.trim_start_matches('/'));
        assert_eq!(std::fs::read(&f).ok(), c.before, "{} changed", c.path);
        match &c.after {
            Some(b) => {
                std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
                std::fs::write(&f, b).expect("write");
            }
            None => std::fs::remove_file(&f).expect("rm"),
        }
    }
}

fn make(dir: &Path, backing: Backing) -> Result<Plan, plan::PlanError> {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    plan::plan(
        &root,
        &host,
        &Intent::LookingGlass {
            user: "alice".into(),
            backing,
        },
    )
}

fn round_trip(dir: &Path, backing: Backing) -> Plan {
    let before = snapshot(dir);
    let p = make(dir, backing).expect("plans");
    assert!(!p.is_empty());
    apply(dir, &p);
    assert!(
        make(dir, backing).expect("again").is_empty(),
        "not idempotent"
    );
    apply(dir, &p.undo());
    assert_eq!(snapshot(dir), before, "undo is not byte-identical");
    p
}

fn after(p: &Plan, path: &str) -> String {
    let c = p
        .changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no {path}"));
    String::from_utf8(c.after.clone().expect("written")).expect("utf8")
}

#[test]
fn shm_gets_the_users_tmpfiles_rule_and_apparmor_override() {
    let d = tempfile::tempdir().expect("tmp");
    host(d.path(), true);
    let p = round_trip(d.path(), Backing::Shm);
    assert!(
        after(&p, TMPFILES)
            .lines()
            .any(|l| l == "f /dev/shm/looking-glass 0660 alice kvm -"),
        "{}",
        after(&p, TMPFILES)
    );
    assert!(after(&p, APPARMOR_LOCAL)
        .lines()
        .any(|l| l == "/dev/shm/looking-glass rw,"));
    assert!(
        p.changes
            .iter()
            .all(|c| c.path != QEMU_CONF && c.path != KVMFR_UDEV),
        "qemu.conf and the udev rule are kvmfr's"
    );
    assert_eq!(p.steps[0].argv, ["systemd-tmpfiles", "--create", TMPFILES]);
}

#[test]
fn kvmfr_gets_the_device_in_apparmor_and_libvirts_default_acl_with_it() {
    let d = tempfile::tempdir().expect("tmp");
    host(d.path(), true);
    let p = round_trip(d.path(), Backing::Kvmfr);
    assert!(after(&p, APPARMOR_LOCAL)
        .lines()
        .any(|l| l == "/dev/kvmfr0 rw,"));
    assert!(
        p.changes.iter().all(|c| c.path != TMPFILES),
        "no /dev/shm file with kvmfr"
    );
    // The device the user's, as Looking Glass's documentation's udev rule makes it.
    assert!(
        after(&p, KVMFR_UDEV)
            .lines()
            .any(|l| l == r#"SUBSYSTEM=="kvmfr", OWNER="alice", GROUP="kvm", MODE="0660""#),
        "{}",
        after(&p, KVMFR_UDEV)
    );
    let conf = after(&p, QEMU_CONF);
    // libvirt's commented default stays; the set list is it with /dev/kvmfr0.
    assert!(conf.contains(&QEMU_CONF_SHIPPED[..QEMU_CONF_SHIPPED.find("#]\n").expect("block") + 3]));
    assert!(
        conf.contains("\ncgroup_device_acl = [\n    \"/dev/null\", \"/dev/full\", \"/dev/zero\",\n    \"/dev/random\", \"/dev/urandom\",\n    \"/dev/ptmx\", \"/dev/kvm\",\n    \"/dev/userfaultfd\",\n    \"/dev/kvmfr0\"\n]\n"),
        "{conf}"
    );
    // A list the user set gets the device added and keeps the rest.
    let own = QEMU_CONF_SHIPPED.replace(
        "#auto_dump_path",
        "cgroup_device_acl = [ \"/dev/null\", \"/dev/kvm\", \"/dev/input/by-id/kbd\" ] # mine\n#auto_dump_path",
    );
    std::fs::write(d.path().join("etc/libvirt/qemu.conf"), &own).expect("write");
    let p = round_trip(d.path(), Backing::Kvmfr);
    assert!(
        after(&p, QEMU_CONF).contains("cgroup_device_acl = [ \"/dev/null\", \"/dev/kvm\", \"/dev/input/by-id/kbd\", \"/dev/kvmfr0\" ] # mine\n"),
        "{}",
        after(&p, QEMU_CONF)
    );
}

#[test]
fn without_apparmor_no_override_and_what_passage_cannot_tell_is_refused() {
    let d = tempfile::tempdir().expect("tmp");
    host(d.path(), false);
    let p = round_trip(d.path(), Backing::Shm);
    assert!(p.changes.iter().all(|c| c.path != APPARMOR_LOCAL));
    // A qemu.conf without the list, set or commented: Passage cannot tell libvirt's default.
    std::fs::write(d.path().join("etc/libvirt/qemu.conf"), "user = \"root\"\n").expect("w");
    let e = make(d.path(), Backing::Kvmfr).expect_err("refused");
    assert!(
        e.to_string().contains("cannot tell libvirt's default list"),
        "{e}"
    );
    // No such user, no group kvm.
    let root = Root::new(d.path()).expect("root");
    let e = plan::looking_glass::plan(&root, "mallory", Backing::Shm).expect_err("user");
    assert!(e.to_string().contains("no user mallory"), "{e}");
    std::fs::write(d.path().join("etc/group"), "root:x:0:\n").expect("w");
    let e = make(d.path(), Backing::Shm).expect_err("group");
    assert!(e.to_string().contains("group kvm"), "{e}");
    assert!(
        !d.path()
            .join("etc/tmpfiles.d/10-looking-glass.conf")
            .exists(),
        "nothing written"
    );
}
