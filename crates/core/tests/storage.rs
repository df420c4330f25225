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
