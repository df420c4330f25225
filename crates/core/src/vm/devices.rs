//! Which host devices may go to a VM, and the device editor of an existing VM: the rules the
//! app's Devices page and dialogs and `passagectl vm new|edit` share.

use crate::host::{Host, PciAddress};
use crate::i18n::tr_f;

use super::domain::{Domain, GuestAddress};
use super::edit::{self, Changes, UsbRef};
use super::{err, VmError};

/// The GPU chosen for the VM and the group that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub gpu: PciAddress,
    pub group: u32,
    /// Every endpoint of the group (bridges stay with the host's PCI tree).
    pub devices: Vec<PciAddress>,
}

/// Chooses `gpu` for the VM: its whole group, or why it cannot go (in words).
pub fn choose(host: &Host, gpu: PciAddress) -> Result<Selection, String> {
    let group = host.vm_gpu(gpu).map_err(|r| r.words(host))?;
    Ok(selection(host, gpu, group))
}

/// `gpu` with its whole `group`: every endpoint of it.
fn selection(host: &Host, gpu: PciAddress, group: &crate::host::IommuGroup) -> Selection {
    Selection {
        gpu,
        group: group.id,
        devices: host.endpoints(&group.devices),
    }
}

/// [`choose`] for a VM of `mode`: in the only-GPU mode the host's only graphics card may go
/// although it shows the screen (the desktop stops while the VM runs), by the group rule of
/// that mode ([`group_may_go_in`]).
pub fn choose_in(
    host: &Host,
    gpu: PciAddress,
    mode: super::session::GpuMode,
) -> Result<Selection, String> {
    if mode != super::session::GpuMode::OnlyGpu || host.only_gpu() != Some(gpu) {
        return choose(host, gpu);
    }
    let group = host.group_for(gpu).map_err(|r| r.words(host))?;
    group_may_go_in(host, group.id, mode).map_err(|e| e.to_string())?;
    Ok(selection(host, gpu, group))
}

/// [`choose_in`] the card's default mode ([`GpuMode::default_for`](super::session::GpuMode::default_for)):
/// what the app's Devices page and express VM take when the user picks a card. The host's
/// only card showing the screen is chosen for the only-GPU mode; every other card by the
/// at-boot rule ([`choose`]).
pub fn choose_card(host: &Host, gpu: PciAddress) -> Result<Selection, String> {
    choose_in(host, gpu, super::session::GpuMode::default_for(host, gpu))
}

/// The selection Passage proposes before the user chooses: the likeliest GPU, if it can go.
pub fn initial_selection(host: &Host) -> Option<Selection> {
    host.candidate_gpu()
        .and_then(|g| choose(host, g.address).ok())
}

/// PCI devices that can go to a VM besides a card's group: endpoints (NVMe drives, USB
/// controllers) whose whole group can go and holds no graphics card, with a label.
pub fn extra_candidates(host: &Host, gpu_group: Option<u32>) -> Vec<(PciAddress, String)> {
    host.iommu_groups
        .iter()
        .filter(|g| {
            host.may_take_group(g.id).is_ok()
                && gpu_group != Some(g.id)
                && !g
                    .devices
                    .iter()
                    .any(|a| host.device(*a).is_some_and(|d| d.is_gpu()))
        })
        .flat_map(|g| g.devices.iter())
        .filter_map(|a| host.device(*a))
        .filter(|d| !d.is_bridge() && !d.is_gpu() && (d.is_storage() || d.class >> 8 == 0x0c03))
        .map(|d| (d.address, d.display_name()))
        .collect()
}

/// USB devices that can go to a VM (hubs stay), with a label.
pub fn usb_candidates(host: &Host) -> Vec<((u16, u16), String)> {
    host.usb_devices
        .iter()
        .filter(|u| !u.is_hub)
        .filter_map(|u| {
            let id = parse_usb(&format!("{}:{}", u.vendor_id, u.product_id))?;
            let name = u
                .product_name
                .clone()
                .or_else(|| u.product.clone())
                .unwrap_or_else(|| format!("{}:{}", u.vendor_id, u.product_id));
            let vendor = u
                .vendor_name
                .clone()
                .or_else(|| u.manufacturer.clone())
                .unwrap_or_default();
            Some((id, format!("{vendor} {name}").trim().to_string()))
        })
        .collect()
}

/// `VVVV:PPPP` (hexadecimal).
pub fn parse_usb(v: &str) -> Option<(u16, u16)> {
    let (a, b) = v.split_once(':')?;
    let hex = |s: &str| {
        (s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(s, 16).ok())
            .flatten()
    };
    Some((hex(a)?, hex(b)?))
}

/// Whether a group may go to a VM ([`Host::may_take_group`]); the error says why not.
pub fn group_may_go(host: &Host, id: u32) -> Result<(), VmError> {
    host.may_take_group(id)
        .map(drop)
        .map_err(|r| err("pci", r.words(host)))
}

/// [`group_may_go`] for a VM of `mode`: the only-GPU mode may take the host's only card.
pub fn group_may_go_in(host: &Host, id: u32, mode: super::session::GpuMode) -> Result<(), VmError> {
    if mode != super::session::GpuMode::OnlyGpu {
        return group_may_go(host, id);
    }
    let g = host
        .group(id)
        .ok_or(crate::host::Refusal::NoSuchGroup(id))
        .map_err(|r| err("pci", r.words(host)))?;
    host.may_take(&g.devices, crate::host::Allow::OnlyGpu)
        .map(drop)
        .map_err(|r| err("pci", r.words(host)))
}

/// One change in the device editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A whole IOMMU group (every endpoint in it).
    AddGroup(u32),
    RemoveGroup(u32),
    /// One device; the edit is refused at the end unless its whole group goes or stays.
    AddPci(PciAddress),
    RemovePci(PciAddress),
    AddUsb(u16, u16),
    RemoveUsb(u16, u16),
}

impl DeviceChoice {
    /// A change from its text form (`group-add=28`, `pci-remove=0000:04:00.0`,
    /// `usb-add=046d:c52b`); the error names the field and what was expected.
    pub fn parse(field: &str, value: &str) -> Result<DeviceChoice, VmError> {
        let pci = || {
            value
                .parse::<PciAddress>()
                .map_err(|e| err(field, e.to_string()))
        };
        let usb = || {
            parse_usb(value)
                .ok_or_else(|| err(field, tr_f("“{v}” is not VVVV:PPPP (hex)", &[("v", value)])))
        };
        let group = || {
            value
                .parse::<u32>()
                .map_err(|_| err(field, tr_f("“{v}” is not a group number", &[("v", value)])))
        };
        Ok(match field {
            "group-add" => DeviceChoice::AddGroup(group()?),
            "group-remove" => DeviceChoice::RemoveGroup(group()?),
            "pci-add" => DeviceChoice::AddPci(pci()?),
            "pci-remove" => DeviceChoice::RemovePci(pci()?),
            "usb-add" => usb().map(|(v, p)| DeviceChoice::AddUsb(v, p))?,
            "usb-remove" => usb().map(|(v, p)| DeviceChoice::RemoveUsb(v, p))?,
            _ => {
                return Err(err(
                    field,
                    tr_f(
                        "There is no device setting called {field}.",
                        &[("field", field)],
                    ),
                ))
            }
        })
    }
}

/// Editing an existing VM's passed-through devices: the devices are read from its XML, and
/// saving changes only the host devices (and the root ports Passage adds or removes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassthroughEdit {
    pub name: String,
    pub xml: String,
    domain: Domain,
    /// The PCI devices the VM is to have.
    pub pci: Vec<PciAddress>,
    /// The USB devices (by ID) the VM is to have.
    pub usb: Vec<(u16, u16)>,
}

impl PassthroughEdit {
    pub fn from_xml(xml: &str) -> Result<Self, VmError> {
        let domain = Domain::read(xml)?;
        Ok(PassthroughEdit {
            name: domain.name.clone(),
            xml: xml.to_string(),
            pci: domain.host_pci(),
            usb: domain.usb.iter().filter_map(|u| u.id()).collect(),
            domain,
        })
    }

    /// The domain as read.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Takes one change. Whole groups are checked by [`PassthroughEdit::changes`].
    pub fn set(&mut self, host: &Host, c: DeviceChoice) -> Result<(), VmError> {
        match c {
            DeviceChoice::AddGroup(id) => {
                group_may_go(host, id)?;
                for a in group_members(host, id) {
                    if !self.pci.contains(&a) {
                        self.pci.push(a);
                    }
                }
            }
            DeviceChoice::RemoveGroup(id) => {
                let m = group_members(host, id);
                self.pci.retain(|a| !m.contains(a));
            }
            DeviceChoice::AddPci(a) => {
                if !self.pci.contains(&a) {
                    self.pci.push(a);
                }
            }
            DeviceChoice::RemovePci(a) => self.pci.retain(|x| *x != a),
            DeviceChoice::AddUsb(v, p) => {
                if !self.usb.contains(&(v, p)) {
                    self.usb.push((v, p));
                }
            }
            DeviceChoice::RemoveUsb(v, p) => self.usb.retain(|x| *x != (v, p)),
        }
        Ok(())
    }

    /// What saving changes, checked against the host: every group a change touches goes (or
    /// leaves) whole, and a group that goes is one the host can give up.
    pub fn changes(&self, host: &Host) -> Result<Changes, VmError> {
        let had = self.domain.host_pci();
        let add: Vec<PciAddress> = self
            .pci
            .iter()
            .filter(|a| !had.contains(a))
            .copied()
            .collect();
        let remove: Vec<PciAddress> = had
            .iter()
            .filter(|a| !self.pci.contains(a))
            .copied()
            .collect();
        let mut touched: Vec<u32> = vec![];
        for a in add.iter().chain(&remove) {
            let g = host.group_of(*a).map(|g| g.id);
            match g {
                Some(id) if !touched.contains(&id) => touched.push(id),
                Some(_) => {}
                None if add.contains(a) => {
                    return Err(err(
                        "pci",
                        tr_f(
                            "{dev} is not a device of this host in an IOMMU group; `passagectl check` says what to do",
                            &[("dev", &a.to_string())],
                        ),
                    ))
                }
                None => {}
            }
        }
        for id in touched {
            let members = group_members(host, id);
            let inside: Vec<&PciAddress> =
                members.iter().filter(|a| self.pci.contains(a)).collect();
            if !inside.is_empty() && inside.len() < members.len() {
                let missing: Vec<String> = members
                    .iter()
                    .filter(|a| !self.pci.contains(a))
                    .map(|a| a.to_string())
                    .collect();
                return Err(err(
                    "pci",
                    tr_f(
                        "IOMMU group {id} goes to a VM whole, and {missing} would be left out: add or remove the whole group",
                        &[("id", &id.to_string()), ("missing", &missing.join(", "))],
                    ),
                ));
            }
            if !inside.is_empty() && members.iter().any(|a| add.contains(a)) {
                group_may_go(host, id)?;
            }
        }
        let have_usb: Vec<(u16, u16)> = self.domain.usb.iter().filter_map(|u| u.id()).collect();
        Ok(Changes {
            add_pci: add,
            remove_pci: remove,
            add_usb: self
                .usb
                .iter()
                .filter(|u| !have_usb.contains(u))
                .copied()
                .collect(),
            remove_usb: have_usb
                .iter()
                .filter(|u| !self.usb.contains(u))
                .map(|(v, p)| UsbRef::Id(*v, *p))
                .collect(),
        })
    }

    /// The domain with the changes made, nothing else changed.
    pub fn edited_xml(&self, host: &Host) -> Result<String, VmError> {
        edit::apply(&self.xml, &self.changes(host)?)
    }

    /// Whether a kept PCI device sits unplugged (`<address type='unassigned'/>`).
    pub fn unassigned(&self, a: PciAddress) -> bool {
        self.domain
            .hostdevs
            .iter()
            .any(|h| h.host == Some(a) && h.guest == GuestAddress::Unassigned)
    }
}

/// A group's endpoints (bridges stay with the host).
fn group_members(host: &Host, id: u32) -> Vec<PciAddress> {
    host.group(id)
        .map(|g| host.endpoints(&g.devices))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_ids_are_four_hex_digits_each() {
        assert_eq!(parse_usb("046d:c52b"), Some((0x046d, 0xc52b)));
        for bad in ["46d:c52b", "zz:1", "046d", "046d:c52b:1", "+46d:c52b"] {
            assert_eq!(parse_usb(bad), None, "{bad}");
        }
    }
}
