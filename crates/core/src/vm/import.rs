//! Existing domains in the terms of a [`super::VmSpec`]: what the wizard and the device editor
//! carry over from a domain Passage did not write. The full reading is [`super::Domain`].

use super::domain::Domain;
use super::{Cdrom, PciPassthrough, UsbPassthrough, VmError};

/// What Passage reads from a domain it did not write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Imported {
    pub name: String,
    pub memory_mib: Option<u64>,
    pub vcpus: Option<u32>,
    pub pci: Vec<PciPassthrough>,
    /// USB devices named by their IDs (those named by port are in [`Domain::usb`]).
    pub usb: Vec<UsbPassthrough>,
    pub cdroms: Vec<Cdrom>,
    /// `kvm` or `qemu`.
    pub domain_type: String,
}

/// Reads the parts of a domain Passage models, numbers and units as libvirt reads them.
pub fn import(xml: &str) -> Result<Imported, VmError> {
    let d = Domain::read(xml)?;
    Ok(Imported {
        memory_mib: d.memory_mib,
        vcpus: d.vcpus,
        pci: d
            .hostdevs
            .iter()
            .filter(|h| !h.interface)
            .filter_map(|h| {
                Some(PciPassthrough {
                    address: h.host?,
                    rom: h.rom.as_ref().and_then(|r| r.file.clone()),
                    boot_order: h.boot_order,
                })
            })
            .collect(),
        usb: d
            .usb
            .iter()
            .filter_map(|u| u.id())
            .map(|(vendor, product)| UsbPassthrough { vendor, product })
            .collect(),
        cdroms: d
            .cdroms
            .iter()
            .filter(|c| c.r#type == "file")
            .filter_map(|c| {
                Some(Cdrom {
                    iso: c.source.clone()?,
                    boot_order: c.boot_order,
                })
            })
            .collect(),
        domain_type: d.r#type,
        name: d.name,
    })
}
