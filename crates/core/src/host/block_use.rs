//! Disks in use without a mount: a block device the kernel lists `holders` for (a logical
//! volume, a dm-crypt mapping, an md array, bcache stacked on it), one registered with bcache,
//! and one a process has open (`/proc/PID/fd`, for example a running QEMU's raw disk). Taking
//! its controller from its driver would fail that I/O: the data of whoever uses it is lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pci::{last_pci_address, PciAddress};
use crate::i18n::tr_f;
use crate::root::Root;

/// A block device on a PCI controller that something uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockBusy {
    /// `nvme0n1p1`, or the map's name for a device-mapper device (`vg0-win11`).
    pub block: String,
    pub controller: PciAddress,
    pub by: BusyBy,
}

/// What uses the block device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BusyBy {
    /// A device stacked on it (its `holders`): `vg0-win11`, LVM.
    Holder { name: String, layer: Layer },
    /// A process has it open.
    Open { pid: u32, process: String },
}

/// The kind of a stacked block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    Lvm,
    Crypt,
    Multipath,
    DeviceMapper,
    Raid,
    Bcache,
    Other,
}

impl Layer {
    /// What the kernel shows for `dev` (`dm-3`, `md0`, `bcache0`): its kind and its name.
    fn of(root: &Root, dev: &str) -> (Layer, String) {
        if dev.starts_with("dm-") {
            let name = root
                .read_attr(&format!("/sys/class/block/{dev}/dm/name"))
                .unwrap_or_else(|| dev.to_string());
            let uuid = root
                .read_attr(&format!("/sys/class/block/{dev}/dm/uuid"))
                .unwrap_or_default();
            let layer = if uuid.starts_with("LVM-") {
                Layer::Lvm
            } else if uuid.starts_with("CRYPT-") {
                Layer::Crypt
            } else if uuid.starts_with("mpath-") {
                Layer::Multipath
            } else {
                Layer::DeviceMapper
            };
            (layer, name)
        } else if dev.starts_with("md") {
            (Layer::Raid, dev.to_string())
        } else if dev.starts_with("bcache") {
            (Layer::Bcache, dev.to_string())
        } else {
            (Layer::Other, dev.to_string())
        }
    }

    fn name(self) -> &'static str {
        match self {
            Layer::Lvm => "LVM",
            Layer::Crypt => "dm-crypt",
            Layer::Multipath => "multipath",
            Layer::DeviceMapper => "device-mapper",
            Layer::Raid => "RAID",
            Layer::Bcache => "bcache",
            Layer::Other => "",
        }
    }
}

impl BlockBusy {
    /// `vg0-win11 (LVM) is active on nvme0n1p1`, `qemu-system-x86 (PID 1234) has nvme1n1 open`.
    pub fn words(&self) -> String {
        match &self.by {
            BusyBy::Holder {
                name,
                layer: Layer::Other,
            } => tr_f(
                "{name} is active on {block}",
                &[("name", name), ("block", &self.block)],
            ),
            BusyBy::Holder { name, layer } => tr_f(
                "{name} ({layer}) is active on {block}",
                &[
                    ("name", name),
                    ("layer", layer.name()),
                    ("block", &self.block),
                ],
            ),
            BusyBy::Open { pid, process } => tr_f(
                "{process} (PID {pid}) has {block} open",
                &[
                    ("process", process),
                    ("pid", &pid.to_string()),
                    ("block", &self.block),
                ],
            ),
        }
    }
}

/// Every block device on a PCI controller that is held or open.
pub fn scan(root: &Root) -> Vec<BlockBusy> {
    let mut out = Vec::new();
    let blocks = root.list("/sys/class/block");
    for b in &blocks {
        let Some(controller) = root
            .read_link(&format!("/sys/class/block/{b}"))
            .and_then(|t| last_pci_address(&t))
        else {
            continue;
        };
        for h in root.list(&format!("/sys/class/block/{b}/holders")) {
            let (layer, name) = Layer::of(root, &h);
            out.push(BlockBusy {
                block: b.clone(),
                controller,
                by: BusyBy::Holder { name, layer },
            });
        }
        // A bcache cache device has no holder; its registration is its `bcache/set`.
        if let Some(set) = root.link_name(&format!("/sys/class/block/{b}/bcache/set")) {
            out.push(BlockBusy {
                block: b.clone(),
                controller,
                by: BusyBy::Holder {
                    name: set,
                    layer: Layer::Bcache,
                },
            });
        }
    }
    out.extend(open_blocks(root, &blocks));
    out
}

/// Block devices processes have open, on the controllers below them (a logical volume's on
/// its physical volumes').
fn open_blocks(root: &Root, blocks: &[String]) -> Vec<BlockBusy> {
    let mut dm: Option<BTreeMap<String, String>> = None;
    let mut found: Vec<(u32, String)> = Vec::new();
    super::holders::each_open_file(root, 0, |pid, target| {
        let Some(dev) = target.strip_prefix("/dev/") else {
            return;
        };
        let block = match dev.strip_prefix("mapper/") {
            Some(name) => dm
                .get_or_insert_with(|| super::storage::dm_names(root))
                .get(name)
                .cloned(),
            None => blocks.iter().find(|b| *b == dev).cloned(),
        };
        if let Some(b) = block {
            if !found.contains(&(pid, b.clone())) {
                found.push((pid, b));
            }
        }
    });
    let mut out = Vec::new();
    for (pid, block) in found {
        let mut ctrls = std::collections::BTreeSet::new();
        super::storage::controllers_of(root, &block, 0, &mut ctrls);
        let label = if block.starts_with("dm-") {
            Layer::of(root, &block).1
        } else {
            block.clone()
        };
        let process = super::holders::process_name(root, pid);
        for controller in ctrls {
            out.push(BlockBusy {
                block: label.clone(),
                controller,
                by: BusyBy::Open {
                    pid,
                    process: process.clone(),
                },
            });
        }
    }
    out
}
