//! IOMMU groups and whether a whole group can go to a VM.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::pci::{PciAddress, PciDevice};
use crate::root::Root;

/// Why a group cannot go to a VM without taking something from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum HostNeed {
    /// The firmware's boot display (boot_vga).
    BootGpu { device: PciAddress },
    /// A GPU with a connected screen.
    DisplayGpu { device: PciAddress },
    /// Storage holding a mounted filesystem or swap.
    MountedStorage { device: PciAddress, what: String },
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
            | HostNeed::MountedStorage { device, .. }
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

/// What the host needs from each device, given the display and mount facts.
pub fn host_needs(
    devices: &[PciDevice],
    active_gpus: &[PciAddress],
    mounts_visible: bool,
    storage_in_use: &[(PciAddress, String)],
    untraced: &[String],
) -> BTreeMap<PciAddress, HostNeed> {
    let mut needs = BTreeMap::new();
    let mounted: BTreeMap<PciAddress, &String> =
        storage_in_use.iter().map(|(a, w)| (*a, w)).collect();
    for d in devices {
        if d.is_bridge() {
            continue;
        }
        let driver = d.driver.as_deref().filter(|x| !is_vm_driver(x));
        let need = if d.is_gpu() && d.boot_vga && !d.driver.as_deref().is_some_and(is_vm_driver) {
            Some(HostNeed::BootGpu { device: d.address })
        } else if d.is_gpu() && active_gpus.contains(&d.address) {
            Some(HostNeed::DisplayGpu { device: d.address })
        } else if let Some(what) = mounted.get(&d.address) {
            Some(HostNeed::MountedStorage {
                device: d.address,
                what: (*what).clone(),
            })
        } else if d.is_storage() && !mounts_visible && driver.is_some() {
            Some(HostNeed::StorageDriver {
                device: d.address,
                driver: driver.unwrap_or_default().to_string(),
            })
        } else if d.is_storage() && !untraced.is_empty() && driver.is_some() {
            Some(HostNeed::UntracedStorage {
                device: d.address,
                driver: driver.unwrap_or_default().to_string(),
                what: untraced.join(", "),
            })
        } else if d.is_network() && driver.is_some() {
            Some(HostNeed::NetworkDriver {
                device: d.address,
                driver: driver.unwrap_or_default().to_string(),
            })
        } else {
            None
        };
        if let Some(n) = need {
            needs.insert(d.address, n);
        }
    }
    needs
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
