//! Which PCI storage controllers hold something the host has mounted or swaps on.
//!
//! A mount is traced to its disks through /sys (partitions, dm/md/LVM/LUKS/bcache slaves, every
//! member of a multi-device btrfs or bcachefs, `/dev/root` through its device number in
//! /proc/self/mountinfo). What cannot be traced — a ZFS dataset, a block filesystem on a source
//! that is no device Passage can find, an imported ZFS pool — is listed as untraced, and then
//! every storage controller with a bound driver stays with the host: when unsure, refuse.
//! A swap file holds the disks of the filesystem it is on. Disks in use without a mount
//! (stacked under LVM or md, open in a process) are [`block_use`](super::block_use)'s.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::block_use::{self, BlockBusy};
use super::pci::PciAddress;
use crate::i18n::tr_f;
use crate::root::Root;

/// A block device the host uses, and the PCI controller it sits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostUse {
    /// `nvme0n1p2`
    pub block: String,
    /// `/`, `/home`, or `[swap]`
    pub used_as: String,
    pub controller: PciAddress,
}

/// What the mount table says, when it is visible.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// Whether /proc/mounts could be read (when not, a bound storage driver counts as "in use").
    pub mounts_visible: bool,
    pub in_use: Vec<HostUse>,
    /// What the host has mounted (or imported) whose disks could not be traced, in words:
    /// `ZFS rpool/home on /home`. Non-empty: every storage controller with a driver is the host's.
    #[serde(default)]
    pub untraced: Vec<String>,
    /// Disks in use without a mount: held by LVM, dm-crypt, md or bcache, or open in a process.
    #[serde(default)]
    pub busy: Vec<BlockBusy>,
}

impl Storage {
    pub fn controllers_in_use(&self) -> BTreeSet<PciAddress> {
        self.in_use
            .iter()
            .map(|u| u.controller)
            .chain(self.busy.iter().map(|b| b.controller))
            .collect()
    }

    /// What the host has mounted on each controller, one line per controller:
    /// "/ (dm-1), /boot/efi (nvme0n1p1), [swap] (dm-0)".
    pub fn mounted(&self) -> BTreeMap<PciAddress, String> {
        let mut uses: BTreeMap<PciAddress, Vec<String>> = BTreeMap::new();
        for u in &self.in_use {
            let w = format!("{} ({})", u.used_as, u.block);
            let list = uses.entry(u.controller).or_default();
            if !list.contains(&w) {
                list.push(w);
            }
        }
        uses.into_iter().map(|(a, l)| (a, l.join(", "))).collect()
    }

    /// What uses each controller's disks without a mount.
    pub fn busy_by_controller(&self) -> BTreeMap<PciAddress, Vec<BlockBusy>> {
        let mut out: BTreeMap<PciAddress, Vec<BlockBusy>> = BTreeMap::new();
        for b in &self.busy {
            out.entry(b.controller).or_default().push(b.clone());
        }
        out
    }
}

/// Unescapes the octal escapes of /proc/mounts (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The PCI controller behind a block device, following dm/md slaves.
pub(super) fn controllers_of(root: &Root, block: &str, depth: u32, out: &mut BTreeSet<PciAddress>) {
    if depth > 8 || block.contains('/') || block.is_empty() {
        return;
    }
    let link = format!("/sys/class/block/{block}");
    if let Some(t) = root.read_link(&link) {
        // The last PCI address on the device path is the controller.
        if let Some(a) = super::pci::last_pci_address(&t) {
            out.insert(a);
            return;
        }
    }
    for slave in root.list(&format!("{link}/slaves")) {
        controllers_of(root, &slave, depth + 1, out);
    }
    // A partition's slaves live on its parent disk.
    if let Some(t) = root.read_link(&link) {
        if let Some(parent) = t
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|p| p.to_str())
        {
            if parent != "block" && parent != block {
                for slave in root.list(&format!("/sys/class/block/{parent}/slaves")) {
                    controllers_of(root, &slave, depth + 1, out);
                }
            }
        }
    }
}

/// Maps `/dev/mapper/NAME` to `dm-N` through `/sys/class/block/dm-*/dm/name`.
pub(super) fn dm_names(root: &Root) -> BTreeMap<String, String> {
    root.list("/sys/class/block")
        .into_iter()
        .filter(|b| b.starts_with("dm-"))
        .filter_map(|b| {
            root.read_attr(&format!("/sys/class/block/{b}/dm/name"))
                .map(|n| (n, b))
        })
        .collect()
}

/// Filesystems that live on local block devices (a mount of one of these from a source that is
/// not a device Passage can trace is a disk it cannot see).
const BLOCK_FS: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "vfat", "exfat", "ntfs",
    "ntfs3", "bcachefs", "nilfs2", "hfsplus", "udf", "zfs",
];

/// The block device of a mount by its device number (/proc/self/mountinfo), for sources such
/// as `/dev/root` that name no device in /sys/class/block.
fn by_number(root: &Root, target: &str) -> Option<String> {
    let info = root.read_string("/proc/self/mountinfo")?;
    info.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 5 || unescape(f[4]) != target {
            return None;
        }
        let dev = root.read_link(&format!("/sys/dev/block/{}", f[2]))?;
        dev.file_name()?.to_str().map(str::to_string)
    })
}

/// Every member of the btrfs filesystem `block` belongs to (/sys/fs/btrfs/UUID/devices).
fn btrfs_members(root: &Root, block: &str) -> Vec<String> {
    for fs in root.list("/sys/fs/btrfs") {
        let members = root.list(&format!("/sys/fs/btrfs/{fs}/devices"));
        if members.iter().any(|m| m == block) {
            return members;
        }
    }
    vec![block.to_string()]
}

pub fn scan(root: &Root) -> Storage {
    let busy = block_use::scan(root);
    let Some(mounts) = root.read_string("/proc/mounts") else {
        return Storage {
            busy,
            ..Storage::default()
        };
    };
    let mut dm: Option<BTreeMap<String, String>> = None;
    let mut in_use = Vec::new();
    let mut untraced = Vec::new();
    let mut sources: Vec<(String, String)> = Vec::new();
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(src), Some(target), fs) = (f.next(), f.next(), f.next().unwrap_or("")) else {
            continue;
        };
        let target = unescape(target);
        if fs == "zfs" {
            untraced.push(mounted_on("ZFS", &unescape(src), &target));
            continue;
        }
        // bcachefs names every member: /dev/sda:/dev/sdb.
        let devs: Vec<&str> = src
            .split(':')
            .filter_map(|d| d.strip_prefix("/dev/"))
            .collect();
        if devs.is_empty() {
            if BLOCK_FS.contains(&fs) {
                untraced.push(mounted_on(fs, &unescape(src), &target));
            }
            continue;
        }
        for dev in devs {
            // read_link, not exists: a capture keeps the link but not the directory behind it.
            let known = root.read_link(&format!("/sys/class/block/{dev}")).is_some()
                || dev.starts_with("mapper/");
            let dev = match (known, by_number(root, &target)) {
                (true, _) => dev.to_string(),
                (false, Some(b)) => b,
                (false, None) if BLOCK_FS.contains(&fs) => {
                    untraced.push(mounted_on(fs, &format!("/dev/{dev}"), &target));
                    continue;
                }
                (false, None) => continue,
            };
            if fs == "btrfs" {
                for m in btrfs_members(root, &dev) {
                    sources.push((m, target.clone()));
                }
            } else {
                sources.push((dev, target.clone()));
            }
        }
    }
    if let Some(swaps) = root.read_string("/proc/swaps") {
        swap_sources(&swaps, &mut sources, &mut untraced);
    }
    // An imported ZFS pool holds its disks even with nothing mounted (zvols, swap on a zvol).
    for pool in root.list("/proc/spl/kstat/zfs") {
        if root.exists(&format!("/proc/spl/kstat/zfs/{pool}/state")) {
            let what = format!("ZFS pool {pool}");
            if !untraced
                .iter()
                .any(|u| u.starts_with(&format!("ZFS {pool}")))
            {
                untraced.push(what);
            }
        }
    }
    for (dev, used_as) in sources {
        let block = if let Some(name) = dev.strip_prefix("mapper/") {
            let map = dm.get_or_insert_with(|| dm_names(root));
            match map.get(name) {
                Some(b) => b.clone(),
                None => {
                    untraced.push(format!("/dev/{dev} on {used_as}"));
                    continue;
                }
            }
        } else {
            dev
        };
        let mut ctrls = BTreeSet::new();
        controllers_of(root, &block, 0, &mut ctrls);
        for controller in ctrls {
            in_use.push(HostUse {
                block: block.clone(),
                used_as: used_as.clone(),
                controller,
            });
        }
    }
    untraced.sort();
    untraced.dedup();
    Storage {
        mounts_visible: true,
        in_use,
        untraced,
        busy,
    }
}

/// The devices of /proc/swaps: a partition (or mapping) itself, a swap file the disks of the
/// filesystem holding it (the longest mount point above it among `sources`).
fn swap_sources(swaps: &str, sources: &mut Vec<(String, String)>, untraced: &mut Vec<String>) {
    for line in swaps.lines().skip(1) {
        let mut f = line.split_whitespace();
        let (Some(name), kind) = (f.next(), f.next().unwrap_or("")) else {
            continue;
        };
        if let Some(dev) = name.strip_prefix("/dev/") {
            sources.push((dev.to_string(), "[swap]".to_string()));
            continue;
        }
        if kind != "file" {
            continue;
        }
        let path = unescape(name);
        let under = |mnt: &str| {
            mnt == "/"
                || path == mnt
                || path.starts_with(&format!("{}/", mnt.trim_end_matches('/')))
        };
        let Some(best) = sources
            .iter()
            .filter(|(_, t)| under(t))
            .map(|(_, t)| t.clone())
            .max_by_key(String::len)
        else {
            untraced.push(format!("swap file {path}"));
            continue;
        };
        let devs: Vec<String> = sources
            .iter()
            .filter(|(_, t)| *t == best)
            .map(|(d, _)| d.clone())
            .collect();
        for d in devs {
            sources.push((d, format!("[swap] {path}")));
        }
    }
}

/// A file system Passage cannot trace to a device, in words: `ZFS tank/home on /home`.
fn mounted_on(fs: &str, source: &str, target: &str) -> String {
    tr_f(
        "{fs} {source} on {target}",
        &[("fs", fs), ("source", source), ("target", target)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_escapes() {
        assert_eq!(unescape("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(unescape("/a\\"), "/a\\");
        assert_eq!(unescape("/x\\04"), "/x\\04");
    }
}
