//! What RestoreDrivers may give back: devices Passage put on vfio-pci (a binding in its
//! journal, or its boot-time files), and only while no process holds their IOMMU group open
//! (a running VM): unbinding a device in use can hang in the kernel.

use std::path::Path;

use passage_core::host::{Host, PciAddress};
use passage_core::Root;

use crate::journal::{Change, Journal, State};

/// Refuses devices that are on vfio-pci without Passage having put them there, and devices
/// whose group a process holds; the message names each and what to do.
pub fn check(root: &Path, devices: &[PciAddress]) -> Result<(), String> {
    let r = Root::new(root).map_err(|e| e.to_string())?;
    let host = Host::scan(&r);
    let ours = passage_bound(root, &r, &host);
    for a in devices {
        let on_vfio = host
            .device(*a)
            .is_some_and(|d| d.driver.as_deref() == Some("vfio-pci"));
        if on_vfio && !ours.contains(a) {
            return Err(format!(
                "{a} is on vfio-pci, but Passage did not put it there (no binding in its history, not in its boot-time files), so it leaves it alone; whoever bound it should give it back (for example: echo {a} > /sys/bus/pci/drivers/vfio-pci/unbind)"
            ));
        }
    }
    held(&r, &host, devices)
}

/// Refuses devices whose IOMMU group a process holds open (a running VM): unbinding them can
/// hang in the kernel. RestoreDrivers and the Undo of a binding both ask.
pub fn not_held(root: &Path, devices: &[PciAddress]) -> Result<(), String> {
    let r = Root::new(root).map_err(|e| e.to_string())?;
    held(&r, &Host::scan(&r), devices)
}

fn held(r: &Root, host: &Host, devices: &[PciAddress]) -> Result<(), String> {
    for a in devices {
        let Some(group) = host.group_of(*a) else {
            continue;
        };
        if let Some((pid, name)) = vfio_holders(r, group.id).first() {
            return Err(format!(
                "{a} is in use: IOMMU group {} is held open by {name} (PID {pid}), most likely a running VM; shut the VM down first, then give the devices back",
                group.id
            ));
        }
    }
    Ok(())
}

/// Devices Passage put on vfio-pci: applied bindings in the journal, and what its boot-time
/// files bind.
fn passage_bound(root: &Path, r: &Root, host: &Host) -> Vec<PciAddress> {
    let mut out: Vec<PciAddress> = Journal::new(root)
        .history()
        .into_iter()
        .filter(|e| e.state == State::Applied)
        .filter_map(|e| match e.change {
            Change::Binding(b) => Some(b.bound),
            _ => None,
        })
        .flatten()
        .filter_map(|(a, _)| a.parse().ok())
        .collect();
    if let Some(c) = passage_core::boot_check::boot_check(r, host) {
        out.extend(c.devices.iter().map(|d| d.address));
    }
    out
}

/// Processes with /dev/vfio/GROUP open, as `(pid, name)` (core's holder scan).
pub fn vfio_holders(r: &Root, group: u32) -> Vec<(u32, String)> {
    passage_core::host::holders::holders(r, &[format!("/dev/vfio/{group}")], 0)
        .into_iter()
        .map(|h| (h.pid, h.name))
        .collect()
}
