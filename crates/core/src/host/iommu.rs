//! IOMMU groups and whether a whole group can go to a VM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::block_use::BlockBusy;
use super::chipset::{self, ChipsetFunction};
use super::pci::{PciAddress, PciDevice};
use super::storage::Storage;
use crate::root::Root;

/// Why a group cannot go to a VM without taking something from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum HostNeed {
    /// The firmware's boot display (boot_vga).
    BootGpu { device: PciAddress },
    /// A GPU with a connected screen.
    DisplayGpu { device: PciAddress },
    /// A function of the chipset (host bridge, ISA/LPC bridge, SMBus…): the platform runs on it.
    Chipset {
        device: PciAddress,
        function: ChipsetFunction,
    },
    /// Storage holding a mounted filesystem or swap.
    MountedStorage { device: PciAddress, what: String },
    /// Storage with a disk in use without a mount: stacked under LVM, dm-crypt, md or bcache,
    /// or open in a process.
    BusyStorage {
        device: PciAddress,
        uses: Vec<BlockBusy>,
    },
    /// Storage with a bound driver, when the mount table is not visible.
    StorageDriver { device: PciAddress, driver: String },
    /// Storage with a bound driver, when the host uses disks Passage cannot trace (a ZFS
    /// pool…): it may hold them, so it stays with the host.
    UntracedStorage {
        device: PciAddress,
        driver: String,
        what: String,
    },
    /// A network controller with a bound driver.
    NetworkDriver { device: PciAddress, driver: String },
}

impl HostNeed {
    pub fn device(&self) -> PciAddress {
        match self {
            HostNeed::BootGpu { device }
            | HostNeed::DisplayGpu { device }
            | HostNeed::Chipset { device, .. }
            | HostNeed::MountedStorage { device, .. }
            | HostNeed::BusyStorage { device, .. }
            | HostNeed::StorageDriver { device, .. }
            | HostNeed::UntracedStorage { device, .. }
            | HostNeed::NetworkDriver { device, .. } => *device,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IommuGroup {
    pub id: u32,
    pub devices: Vec<PciAddress>,
    /// False when handing the whole group over would take something the host uses.
    pub viable: bool,
    /// What the host uses in this group (empty when viable).
    pub host_needs: Vec<HostNeed>,
}

/// Drivers that mean "parked for a VM", not "used by the host".
pub fn is_vm_driver(driver: &str) -> bool {
    matches!(driver, "vfio-pci" | "pci-stub" | "pciback" | "xen-pciback")
}

/// Groups from /sys/kernel/iommu_groups, their PCI members from each device's `iommu_group`
/// link (the kernel creates both together; reading the link we already follow saves listing
/// every group's directory again).
pub fn scan_groups(root: &Root, devices: &[PciDevice]) -> BTreeMap<u32, Vec<PciAddress>> {
    let mut groups: BTreeMap<u32, Vec<PciAddress>> = BTreeMap::new();
    for g in root.list("/sys/kernel/iommu_groups") {
        match g.parse::<u32>() {
            Ok(id) => {
                groups.entry(id).or_default();
            }
            Err(_) => root.problem(
                &format!("/sys/kernel/iommu_groups/{g}"),
                "group name is not a number; skipped",
            ),
        }
    }
    for d in devices {
        if let Some(g) = d.iommu_group {
            let m = groups.entry(g).or_default();
            if !m.contains(&d.address) {
                m.push(d.address);
            }
        }
    }
    for m in groups.values_mut() {
        m.sort();
        m.dedup();
    }
    groups
}

/// What the host needs from each device, given the display and storage facts.
pub fn host_needs(
    devices: &[PciDevice],
    active_gpus: &[PciAddress],
    storage: &Storage,
) -> BTreeMap<PciAddress, HostNeed> {
    let mounted = storage.mounted();
    let busy = storage.busy_by_controller();
    let mut needs = BTreeMap::new();
    for d in devices {
        if d.is_bridge() {
            continue;
        }
        if let Some(n) = need_of(d, devices, active_gpus, storage, &mounted, &busy) {
            needs.insert(d.address, n);
        }
    }
    needs
}

/// What the host needs `d` for, the first reason that holds.
fn need_of(
    d: &PciDevice,
    devices: &[PciDevice],
    active_gpus: &[PciAddress],
    storage: &Storage,
    mounted: &BTreeMap<PciAddress, String>,
    busy: &BTreeMap<PciAddress, Vec<BlockBusy>>,
) -> Option<HostNeed> {
    let device = d.address;
    let driver = || {
        d.driver
            .as_deref()
            .filter(|x| !is_vm_driver(x))
            .map(str::to_string)
    };
    if super::take::is_boot_display(d) {
        return Some(HostNeed::BootGpu { device });
    }
    if d.is_gpu() && active_gpus.contains(&device) {
        return Some(HostNeed::DisplayGpu { device });
    }
    if let Some(function) = chipset::function(d, devices) {
        return Some(HostNeed::Chipset { device, function });
    }
    if let Some(what) = mounted.get(&device) {
        return Some(HostNeed::MountedStorage {
            device,
            what: what.clone(),
        });
    }
    if let Some(uses) = busy.get(&device) {
        return Some(HostNeed::BusyStorage {
            device,
            uses: uses.clone(),
        });
    }
    let driver = driver()?;
    if d.is_storage() && !storage.mounts_visible {
        Some(HostNeed::StorageDriver { device, driver })
    } else if d.is_storage() && !storage.untraced.is_empty() {
        Some(HostNeed::UntracedStorage {
            device,
            driver,
            what: storage.untraced.join(", "),
        })
    } else if d.is_network() {
        Some(HostNeed::NetworkDriver { device, driver })
    } else {
        None
    }
}

pub fn build_groups(
    groups: BTreeMap<u32, Vec<PciAddress>>,
    needs: &BTreeMap<PciAddress, HostNeed>,
) -> Vec<IommuGroup> {
    groups
        .into_iter()
        .map(|(id, devices)| {
            let host_needs: Vec<HostNeed> = devices
                .iter()
                .filter_map(|a| needs.get(a).cloned())
                .collect();
            IommuGroup {
                id,
                viable: host_needs.is_empty(),
                devices,
                host_needs,
            }
        })
        .collect()
}
