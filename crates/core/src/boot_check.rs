//! After the restart that follows Passage's boot-time binding: which boot menu entry started
//! this boot, and where the cards Passage binds at boot went. The app shows it once per change
//! with Keep and Undo (the black-screen way back, see README "If the screen stays black").

use serde::Serialize;

use crate::host::{Host, PciAddress};
use crate::plan::vfio::{MODPROBE_FILE, UDEV_FILE};
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootCheck {
    /// This boot's command line holds `passage.vfio=off`: the entry without passthrough.
    pub without_passthrough: bool,
    /// The devices Passage binds at boot, with the driver each has now.
    pub devices: Vec<BootDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootDevice {
    pub address: PciAddress,
    pub name: String,
    pub driver: Option<String>,
}

impl BootCheck {
    /// Every device Passage binds at boot is on vfio-pci.
    pub fn on_vfio(&self) -> bool {
        self.devices
            .iter()
            .all(|d| d.driver.as_deref() == Some("vfio-pci"))
    }
}

/// The boot check of this host; `None` when Passage binds nothing at boot (no change to ask
/// about). Reads Passage's own files: the IDs of its modprobe.d `install` line and the
/// addresses of its udev rule.
pub fn boot_check(root: &Root, host: &Host) -> Option<BootCheck> {
    let ids = passage_ids(root);
    let addresses = passage_addresses(root);
    let devices: Vec<BootDevice> = host
        .pci_devices
        .iter()
        .filter(|d| !d.is_bridge())
        .filter(|d| ids.contains(&d.id_pair()) || addresses.contains(&d.address))
        .map(|d| BootDevice {
            address: d.address,
            name: d.display_name(),
            driver: d.driver.clone(),
        })
        .collect();
    if devices.is_empty() {
        return None;
    }
    Some(BootCheck {
        without_passthrough: host.kernel.params("passage.vfio").contains(&"off"),
        devices,
    })
}

fn passage_ids(root: &Root) -> Vec<String> {
    let mut v = crate::host::vfio::VfioSetup::default();
    if let Some(text) = root.read_string(MODPROBE_FILE) {
        crate::host::vfio::parse_modprobe(MODPROBE_FILE, &text, &mut v);
    }
    v.modprobe_ids
}

fn passage_addresses(root: &Root) -> Vec<PciAddress> {
    root.read_string(UDEV_FILE)
        .map(|t| {
            t.lines()
                .filter_map(|l| l.split("KERNEL==\"").nth(1))
                .filter_map(|r| r.split('"').next())
                .filter_map(|a| a.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// When this boot started (Unix seconds), from /proc/stat's `btime`.
pub fn boot_time(root: &Root) -> Option<u64> {
    root.read_string("/proc/stat")?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}
