//! Who holds a card open: the processes with one of its device nodes open (`/proc/PID/fd`).
//!
//! Unbinding a driver from a card a process still uses hangs (the kernel waits for the last
//! close) or takes the desktop down, so the session hook asks first and refuses with the names.

use serde::{Deserialize, Serialize};

use super::{Host, PciAddress};
use crate::root::Root;

/// A process that has one of the nodes open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// Its `comm` (the kernel's short name).
    pub name: String,
    /// The device node it has open.
    pub node: String,
}

const NVIDIA: u16 = 0x10de;

/// The device nodes of a PCI device that a process can hold: its DRM nodes (`/dev/dri/cardN`,
/// `renderDN`, from sysfs), `/dev/vfio/GROUP` when it is on vfio-pci, and for an NVIDIA card on
/// the proprietary driver `/dev/nvidiaN` (and the driver's shared nodes when it is the only
/// such card).
pub fn device_nodes(root: &Root, host: &Host, a: PciAddress) -> Vec<String> {
    let mut out: Vec<String> = root
        .list(&format!("/sys/bus/pci/devices/{a}/drm"))
        .into_iter()
        .filter(|n| n.starts_with("card") || n.starts_with("renderD"))
        .map(|n| format!("/dev/dri/{n}"))
        .collect();
    let Some(dev) = host.device(a) else {
        return out;
    };
    if dev.driver.as_deref() == Some("vfio-pci") {
        if let Some(g) = dev.iommu_group {
            out.push(format!("/dev/vfio/{g}"));
        }
    }
    if dev.vendor_id == NVIDIA && dev.driver.as_deref() == Some("nvidia") {
        if let Some(minor) = nvidia_minor(root, a) {
            out.push(format!("/dev/nvidia{minor}"));
        }
        let others = host.pci_devices.iter().any(|d| {
            d.address != a && d.vendor_id == NVIDIA && d.driver.as_deref() == Some("nvidia")
        });
        if !others {
            for n in [
                "nvidiactl",
                "nvidia-modeset",
                "nvidia-uvm",
                "nvidia-uvm-tools",
            ] {
                out.push(format!("/dev/{n}"));
            }
        }
    }
    out.sort();
    out
}

/// `Device Minor:` of `/proc/driver/nvidia/gpus/ADDR/information`.
fn nvidia_minor(root: &Root, a: PciAddress) -> Option<u32> {
    root.read_string(&format!("/proc/driver/nvidia/gpus/{a}/information"))?
        .lines()
        .find_map(|l| l.strip_prefix("Device Minor:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Every process (but `except`, the caller itself) with one of `nodes` open, by PID.
pub fn holders(root: &Root, nodes: &[String], except: u32) -> Vec<Holder> {
    if nodes.is_empty() {
        return vec![];
    }
    let mut out: Vec<Holder> = Vec::new();
    each_open_file(root, except, |pid, target| {
        if out.last().is_some_and(|h| h.pid == pid) {
            return;
        }
        if let Some(node) = nodes.iter().find(|want| *want == target) {
            out.push(Holder {
                pid,
                name: process_name(root, pid),
                node: node.clone(),
            });
        }
    });
    out
}

/// Calls `f(pid, target)` for every open file of every process but `except`, by PID. A
/// process that ended meanwhile, or whose descriptors this user may not read (another user's,
/// when not root), is skipped without a problem noted: only root sees every process.
pub(crate) fn each_open_file(root: &Root, except: u32, mut f: impl FnMut(u32, &str)) {
    let Ok(entries) = std::fs::read_dir(root.path("/proc")) else {
        return;
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|p| *p != except)
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(root.path(&format!("/proc/{pid}/fd"))) else {
            continue;
        };
        let mut targets: Vec<String> = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter_map(|t| t.to_str().map(str::to_string))
            .collect();
        targets.sort();
        for t in targets {
            f(pid, &t);
        }
    }
}

/// A process's `comm` (the kernel's short name).
pub(crate) fn process_name(root: &Root, pid: u32) -> String {
    root.read_string(&format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "a process".into())
}

/// `name (PID n) has /dev/dri/card1 open`, joined, for a refusal.
pub fn words(holders: &[Holder]) -> String {
    holders
        .iter()
        .map(|h| format!("{} (PID {}) has {} open", h.name, h.pid, h.node))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn proc_entry(base: &std::path::Path, pid: u32, comm: &str, fds: &[&str]) {
        let d = base.join(format!("proc/{pid}/fd"));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(base.join(format!("proc/{pid}/comm")), format!("{comm}\n")).expect("comm");
        for (i, t) in fds.iter().enumerate() {
            symlink(t, d.join(i.to_string())).expect("link");
        }
    }

    #[test]
    fn finds_who_holds_the_cards_nodes_and_skips_the_caller() {
        let t = tempfile::tempdir().expect("tmp");
        proc_entry(
            t.path(),
            100,
            "gnome-shell",
            &["/dev/null", "/dev/dri/card1"],
        );
        proc_entry(
            t.path(),
            200,
            "python3",
            &["/dev/dri/renderD129", "socket:[1]"],
        );
        proc_entry(t.path(), 300, "firefox", &["/dev/dri/renderD128"]);
        proc_entry(t.path(), 400, "passage-helper", &["/dev/dri/card1"]);
        std::fs::create_dir_all(t.path().join("proc/self")).expect("self");
        let root = Root::new(t.path()).expect("root");
        let nodes = vec!["/dev/dri/card1".to_string(), "/dev/dri/renderD129".into()];
        let h = holders(&root, &nodes, 400);
        assert_eq!(
            h.iter()
                .map(|h| (h.pid, h.name.as_str()))
                .collect::<Vec<_>>(),
            [(100, "gnome-shell"), (200, "python3")]
        );
        assert_eq!(
            words(&h[..1]),
            "gnome-shell (PID 100) has /dev/dri/card1 open"
        );
        assert!(holders(&root, &[], 0).is_empty());
    }
}
