//! Which PCI storage controllers hold something the host has mounted or swaps on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::pci::PciAddress;
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
}

impl Storage {
    pub fn controllers_in_use(&self) -> BTreeSet<PciAddress> {
        self.in_use.iter().map(|u| u.controller).collect()
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
fn controllers_of(root: &Root, block: &str, depth: u32, out: &mut BTreeSet<PciAddress>) {
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
fn dm_names(root: &Root) -> BTreeMap<String, String> {
    root.list("/sys/class/block")
        .into_iter()
        .filter(|b| b.starts_with("dm-"))
        .filter_map(|b| {
            root.read_attr(&format!("/sys/class/block/{b}/dm/name"))
                .map(|n| (n, b))
        })
        .collect()
}

pub fn scan(root: &Root) -> Storage {
    let Some(mounts) = root.read_string("/proc/mounts") else {
        return Storage::default();
    };
    let mut dm: Option<BTreeMap<String, String>> = None;
    let mut in_use = Vec::new();
    let mut sources: Vec<(String, String)> = Vec::new();
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(src), Some(target)) = (f.next(), f.next()) else {
            continue;
        };
        if let Some(dev) = src.strip_prefix("/dev/") {
            sources.push((dev.to_string(), unescape(target)));
        }
    }
    if let Some(swaps) = root.read_string("/proc/swaps") {
        for line in swaps.lines().skip(1) {
            if let Some(dev) = line
                .split_whitespace()
                .next()
                .and_then(|s| s.strip_prefix("/dev/"))
            {
                sources.push((dev.to_string(), "[swap]".to_string()));
            }
        }
    }
    for (dev, used_as) in sources {
        let block = if let Some(name) = dev.strip_prefix("mapper/") {
            let map = dm.get_or_insert_with(|| dm_names(root));
            match map.get(name) {
                Some(b) => b.clone(),
                None => continue,
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
    Storage {
        mounts_visible: true,
        in_use,
    }
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
