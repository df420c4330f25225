//! The storage guard on the tutorial's X570 tree with the storage layouts real hosts have: a
//! group that would take a disk the host uses must never look viable, and when Passage cannot
//! trace a mount to its disks (ZFS), every disk controller with a driver stays with the host.

use passage_core::host::{HostNeed, PciAddress};
use passage_core::{Host, Root};

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

struct Tree(tempfile::TempDir);

impl Tree {
    fn x570() -> Tree {
        let d = tempfile::tempdir().expect("tmp");
        passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
        Tree(d)
    }
    fn of(spec: &passage_fixtures::HostSpec) -> Tree {
        let d = tempfile::tempdir().expect("tmp");
        passage_fixtures::build_spec(spec, d.path()).expect("fixture");
        Tree(d)
    }
    fn write(&self, path: &str, text: &str) {
        let p = self.0.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    fn link(&self, path: &str, to: &str) {
        let p = self.0.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let _ = std::fs::remove_file(&p);
        std::os::unix::fs::symlink(to, p).expect("link");
    }
    /// Adds lines to /proc/mounts.
    fn mount(&self, lines: &str) {
        let p = self.0.path().join("proc/mounts");
        let mut m = std::fs::read_to_string(&p).expect("mounts");
        m.push_str(lines);
        std::fs::write(p, m).expect("write");
    }
    fn host(&self) -> Host {
        Host::scan(&Root::new(self.0.path()).expect("root"))
    }
}

/// The second NVMe drive (04:00.0, nvme1n1): the tutorial gives it to Windows.
fn guest_nvme(h: &Host) -> (bool, Vec<HostNeed>) {
    let g = h.group_of(a("04:00.0")).expect("group");
    (g.viable, g.host_needs.clone())
}

#[test]
fn unmounted_the_second_nvme_can_go() {
    let t = Tree::x570();
    assert!(guest_nvme(&t.host()).0);
}

#[test]
fn a_zfs_dataset_keeps_every_disk_controller_with_the_host() {
    let t = Tree::x570();
    t.mount("rpool/home /home zfs rw,xattr,posixacl 0 0\n");
    let h = t.host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable, "a ZFS pool may be on it");
    match needs.as_slice() {
        [HostNeed::UntracedStorage { what, driver, .. }] => {
            assert!(what.contains("ZFS rpool/home on /home"), "{what}");
            assert_eq!(driver, "nvme");
        }
        other => panic!("{other:?}"),
    }
    let words = passage_core::check::need_words(&h, &needs[0]);
    assert!(words.contains("cannot trace"), "{words}");
}

#[test]
fn an_imported_zfs_pool_with_nothing_mounted_keeps_them_too() {
    let t = Tree::x570();
    t.write("/proc/spl/kstat/zfs/tank/state", "ONLINE\n");
    let (viable, needs) = guest_nvme(&t.host());
    assert!(!viable);
    assert!(
        matches!(&needs[..], [HostNeed::UntracedStorage { what, .. }] if what == "ZFS pool tank"),
        "{needs:?}"
    );
}

#[test]
fn every_member_of_a_multi_device_btrfs_is_the_hosts() {
    let t = Tree::x570();
    // /home is btrfs across nvme0n1p3 and the second drive's nvme1n1p2 (raid1).
    t.mount("/dev/nvme0n1p3 /home btrfs rw,relatime,space_cache=v2 0 0\n");
    for m in ["nvme0n1p3", "nvme1n1p2"] {
        t.link(
            &format!("/sys/fs/btrfs/5d1e9a7c-0000-4000-8000-000000000001/devices/{m}"),
            &format!("../../../../class/block/{m}"),
        );
    }
    let (viable, needs) = guest_nvme(&t.host());
    assert!(!viable, "its second member is on the drive");
    assert!(
        matches!(&needs[..], [HostNeed::MountedStorage { what, .. }] if what.contains("/home (nvme1n1p2)")),
        "{needs:?}"
    );
}

#[test]
fn a_multi_device_bcachefs_names_every_member() {
    let t = Tree::x570();
    t.mount("/dev/nvme0n1p3:/dev/nvme1n1p1 /srv bcachefs rw 0 0\n");
    let (viable, needs) = guest_nvme(&t.host());
    assert!(!viable);
    assert!(
        matches!(&needs[..], [HostNeed::MountedStorage { what, .. }] if what.contains("/srv (nvme1n1p1)")),
        "{needs:?}"
    );
}

#[test]
fn dev_root_is_found_by_its_device_number() {
    let t = Tree::x570();
    // Booted without an initramfs: / is "/dev/root", which names no device in /sys.
    t.mount("/dev/root /data ext4 rw,relatime 0 0\n");
    t.write(
        "/proc/self/mountinfo",
        "22 1 259:7 / /data rw,relatime shared:1 - ext4 /dev/root rw\n",
    );
    t.link("/sys/dev/block/259:7", "../../class/block/nvme1n1p1");
    let (viable, needs) = guest_nvme(&t.host());
    assert!(!viable);
    assert!(
        matches!(&needs[..], [HostNeed::MountedStorage { what, .. }] if what.contains("/data (nvme1n1p1)")),
        "{needs:?}"
    );
    // Without mountinfo the mount cannot be traced: every controller stays with the host.
    std::fs::remove_file(t.0.path().join("proc/self/mountinfo")).expect("rm");
    let (viable, needs) = guest_nvme(&t.host());
    assert!(!viable);
    assert!(
        matches!(&needs[..], [HostNeed::UntracedStorage { what, .. }] if what.contains("ext4 /dev/root on /data")),
        "{needs:?}"
    );
}

#[test]
fn network_and_pseudo_filesystems_are_not_disks() {
    let t = Tree::x570();
    t.mount("server:/export /mnt/nfs nfs4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\noverlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n");
    assert!(guest_nvme(&t.host()).0, "nothing there is on the drive");
}

#[test]
fn a_drive_or_network_card_in_the_cards_group_is_a_warning_with_what_goes() {
    // The X570 board with its second NVMe drive (nothing mounted on it) and its Wi-Fi card
    // (no driver bound) in the RTX's IOMMU group, as a board without ACS would put them.
    let mut spec = passage_fixtures::x570_tutorial();
    for d in &mut spec.pci {
        if d.addr == "0000:04:00.0" {
            d.group = Some(28);
        }
        if d.addr == "0000:05:00.0" {
            d.group = Some(28);
            d.driver = None;
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build_spec(&spec, dir.path()).expect("fixture");
    let root = passage_core::Root::new(dir.path()).expect("root");
    let host = passage_core::Host::scan(&root);
    let r = passage_core::check::evaluate(&host, Some("0000:0a:00.0".parse().expect("addr")))
        .expect("report");
    let w = r
        .get("group-takes-storage-or-network")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert_eq!(w.severity, passage_core::check::Severity::Warning);
    assert!(
        w.detail.contains("0000:04:00.0") && w.detail.contains("every disk on it leaves"),
        "{}",
        w.detail
    );
    assert!(
        w.detail.contains("0000:05:00.0") && w.detail.contains("network connection"),
        "{}",
        w.detail
    );
    // The others stay a note, without the drive and the Wi-Fi card.
    let c = r.get("group-companions").expect("companions");
    assert!(!c.detail.contains("0000:04:00.0"), "{}", c.detail);
}

/// The X570 tree with the second drive's nvme1n1p1 under an active volume group whose logical
/// volume `vg0-win11` is another VM's raw disk: nothing mounted, only the kernel's holders.
fn with_lvm_on_the_guest_drive() -> Tree {
    let mut spec = passage_fixtures::x570_tutorial();
    spec.dm.push(passage_fixtures::dm(
        "dm-2",
        "vg0-win11",
        "LVM-Yl3mBqcsJt0fzvE2YdPkBwD0PnLh0cAzV3c8TnWxLs1Pq9FhSg6YtRj2aKe5mUoN",
        &["nvme1n1p1"],
    ));
    Tree::of(&spec)
}

#[test]
fn a_drive_under_an_active_logical_volume_is_the_hosts() {
    let t = with_lvm_on_the_guest_drive();
    let h = t.host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable, "vg0-win11 is on it: {needs:?}");
    let [HostNeed::BusyStorage { uses, .. }] = &needs[..] else {
        panic!("{needs:?}");
    };
    let words = passage_core::check::need_words(&h, &needs[0]);
    assert!(
        words.contains("vg0-win11 (LVM) is active on nvme1n1p1"),
        "{words}"
    );
    assert_eq!(uses.len(), 1);
    // dm-crypt and md are named for what they are.
    t.write(
        "/sys/devices/virtual/block/dm-2/dm/uuid",
        "CRYPT-LUKS2-5c1f2d3e4a5b6c7d8e9f0a1b2c3d4e5f-vg0-win11\n",
    );
    let w = passage_core::check::need_words(&t.host(), &guest_nvme(&t.host()).1[0]);
    assert!(w.contains("vg0-win11 (dm-crypt) is active"), "{w}");
}

#[test]
fn a_member_of_an_md_array_is_the_hosts() {
    let mut spec = passage_fixtures::x570_tutorial();
    spec.md
        .push(("md127".into(), vec!["nvme0n1p3".into(), "nvme1n1p2".into()]));
    let h = Tree::of(&spec).host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable);
    let words = passage_core::check::need_words(&h, &needs[0]);
    assert!(
        words.contains("md127 (RAID) is active on nvme1n1p2"),
        "{words}"
    );
}

#[test]
fn a_disk_a_running_qemu_has_open_is_the_hosts() {
    let mut spec = passage_fixtures::x570_tutorial();
    spec.procs.push(passage_fixtures::Proc {
        pid: 1234,
        comm: "qemu-system-x86".into(),
        fds: vec![
            "/dev/null".into(),
            "socket:[81234]".into(),
            "/dev/nvme1n1".into(),
        ],
    });
    spec.procs.push(passage_fixtures::Proc {
        pid: 99,
        comm: "bash".into(),
        fds: vec!["/dev/pts/0".into(), "/dev/nvme9n1".into()],
    });
    let h = Tree::of(&spec).host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable);
    let words = passage_core::check::need_words(&h, &needs[0]);
    assert!(
        words.contains("qemu-system-x86 (PID 1234) has nvme1n1 open"),
        "{words}"
    );
    assert!(h.problems.is_empty(), "{:?}", h.problems);
}

#[test]
fn a_logical_volume_open_in_qemu_is_traced_to_its_drive() {
    let t = with_lvm_on_the_guest_drive();
    // A LV as QEMU opens it (/dev/vg0/win11 → /dev/dm-2); the holders say it too, so drop them
    // to see the open file alone decide.
    std::fs::remove_file(t.0.path().join("sys/class/block/nvme1n1p1/holders/dm-2"))
        .expect("holder link");
    assert!(
        guest_nvme(&t.host()).0,
        "without holders or users it is free"
    );
    t.link("/proc/4321/fd/17", "/dev/dm-2");
    t.write("/proc/4321/comm", "qemu-system-x86\n");
    let h = t.host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable);
    let words = passage_core::check::need_words(&h, &needs[0]);
    assert!(
        words.contains("qemu-system-x86 (PID 4321) has vg0-win11 open"),
        "{words}"
    );
}

#[test]
fn a_swap_file_holds_the_disk_of_its_filesystem() {
    let t = Tree::x570();
    t.mount("/dev/nvme1n1p1 /data ext4 rw 0 0\n");
    let p = t.0.path().join("proc/swaps");
    let mut s = std::fs::read_to_string(&p).expect("swaps");
    s.push_str("/data/swapfile                          file\t\t4194300\t\t0\t\t-3\n");
    std::fs::write(&p, s).expect("write");
    let h = t.host();
    let (viable, needs) = guest_nvme(&h);
    assert!(!viable);
    assert!(
        matches!(&needs[..], [HostNeed::MountedStorage { what, .. }] if what.contains("[swap] /data/swapfile (nvme1n1p1)")),
        "{needs:?}"
    );
}
