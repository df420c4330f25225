//! The group rule, owned here once: what a VM may take from the host.
//!
//! A VM (or vfio-pci) takes whole IOMMU groups of endpoints (PCI-to-PCI bridges stay with the
//! host's PCI tree), never a device the host shows its screen on, and never a group holding
//! what the host needs ([`HostNeed`](super::HostNeed): its display, the chipset, disks in use,
//! a network card in use) unless an override was authorized. The app, passagectl, the plans,
//! the checks, the helper's verbs and libvirt's hook all ask [`Host::may_take`]; a refusal is
//! one [`Refusal`] with its words.

use super::iommu::{HostNeed, IommuGroup};
use super::pci::{PciAddress, PciDevice};
use super::Host;
use crate::i18n::{tr, tr_f};

/// How much [`Host::may_take`] may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allow {
    /// Exactly the devices named, which must make up whole groups the host can spare.
    Exact,
    /// The whole groups of the devices named (the VM's passthrough list, a card).
    Groups,
    /// [`Allow::Exact`], taking what the host needs too (but never the chipset): an override
    /// the caller was also authorized for.
    HostNeeds,
    /// [`Allow::Groups`] for a VM of the *only GPU* mode: the host's only graphics card may go
    /// although it shows the screen (the session stops the desktop first); nothing else the
    /// host needs.
    OnlyGpu,
}

impl Allow {
    /// Exactly the devices named; what the host needs too when `override_host` (authorized).
    pub fn exact(override_host: bool) -> Allow {
        if override_host {
            Allow::HostNeeds
        } else {
            Allow::Exact
        }
    }
}

/// What may be taken: the groups and their endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub groups: Vec<u32>,
    pub devices: Vec<PciAddress>,
}

/// Why something may not go to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoDevices,
    NoSuchDevice(PciAddress),
    /// Not a graphics card where one was asked for ([`Host::vm_gpu`]).
    NotAGpu(PciAddress),
    /// A PCI-to-PCI bridge named on its own: bridges stay with the host.
    Bridge(PciAddress),
    /// The host shows its screen on it.
    HostDisplay(PciAddress),
    /// The IOMMU is off (or the kernel put the device in no group).
    NoGroup(PciAddress),
    /// No IOMMU group by that number.
    NoSuchGroup(u32),
    /// The group holds something the host uses (the group's `host_needs` say what).
    GroupNotViable(u32),
    /// Part of a group named: these endpoints of it are missing.
    PartialGroup(u32, Vec<PciAddress>),
}

impl Host {
    /// The one group rule: whether `devices` may go to a VM (or vfio-pci), and with `allow`
    /// how much; the endpoints that would be taken, or why not.
    pub fn may_take(&self, devices: &[PciAddress], allow: Allow) -> Result<Taken, Refusal> {
        if devices.is_empty() {
            return Err(Refusal::NoDevices);
        }
        let mut groups: Vec<&IommuGroup> = Vec::new();
        for a in devices {
            let d = self.device(*a).ok_or(Refusal::NoSuchDevice(*a))?;
            let whole_groups = matches!(allow, Allow::Groups | Allow::OnlyGpu);
            if d.is_bridge() && !whole_groups {
                return Err(Refusal::Bridge(*a));
            }
            // A card asked for by name is refused for what it is; inside a group, the group's
            // needs say it.
            if whole_groups && self.is_host_display(*a) && !self.only_gpu_lent(*a, allow) {
                return Err(Refusal::HostDisplay(*a));
            }
            let g = self.group_of(*a).ok_or(Refusal::NoGroup(*a))?;
            if !groups.iter().any(|x| x.id == g.id) {
                groups.push(g);
            }
        }
        let mut taken = Taken {
            groups: groups.iter().map(|g| g.id).collect(),
            devices: vec![],
        };
        for g in groups {
            let members = self.endpoints(&g.devices);
            // The override covers what the host uses (its screen, a disk); never the chipset.
            let chipset = g
                .host_needs
                .iter()
                .any(|n| matches!(n, HostNeed::Chipset { .. }));
            let only_display = !g.host_needs.is_empty()
                && g.host_needs.iter().all(|n| {
                    matches!(n, HostNeed::BootGpu { .. } | HostNeed::DisplayGpu { .. })
                        && self.only_gpu_lent(n.device(), allow)
                });
            if !g.viable && !only_display && (allow != Allow::HostNeeds || chipset) {
                return Err(Refusal::GroupNotViable(g.id));
            }
            let missing: Vec<PciAddress> = members
                .iter()
                .filter(|m| !devices.contains(m))
                .copied()
                .collect();
            if !missing.is_empty() && !matches!(allow, Allow::Groups | Allow::OnlyGpu) {
                return Err(Refusal::PartialGroup(g.id, missing));
            }
            taken.devices.extend(members);
        }
        taken.devices.sort();
        taken.devices.dedup();
        Ok(taken)
    }

    /// Whether `a` is the host's only graphics card and `allow` lends it (the *only GPU* mode).
    fn only_gpu_lent(&self, a: PciAddress, allow: Allow) -> bool {
        allow == Allow::OnlyGpu && self.only_gpu() == Some(a)
    }

    /// The host's graphics card when it has exactly one (the *only GPU* mode is offered there).
    pub fn only_gpu(&self) -> Option<PciAddress> {
        let mut gpus = self.gpus();
        match (gpus.next(), gpus.next()) {
            (Some(g), None) => Some(g.address),
            _ => None,
        }
    }

    /// A whole IOMMU group by number, when it may go to a VM.
    pub fn may_take_group(&self, id: u32) -> Result<Taken, Refusal> {
        let g = self.group(id).ok_or(Refusal::NoSuchGroup(id))?;
        self.may_take(&g.devices, Allow::Groups)
    }

    /// The IOMMU group of a device, or why there is none (no such device, the IOMMU off).
    pub fn group_for(&self, addr: PciAddress) -> Result<&IommuGroup, Refusal> {
        self.device(addr).ok_or(Refusal::NoSuchDevice(addr))?;
        self.group_of(addr).ok_or(Refusal::NoGroup(addr))
    }
}

impl Refusal {
    /// The refusal in a translated sentence that says what to do.
    pub fn words(&self, host: &Host) -> String {
        let name = |a: PciAddress| {
            host.device(a)
                .map(|d| format!("{} ({a})", d.display_name()))
                .unwrap_or_else(|| a.to_string())
        };
        match self {
            Refusal::NoDevices => tr("No devices were named; name the devices of one IOMMU group."),
            Refusal::NoSuchDevice(a) => tr_f(
                "There is no PCI device {dev} on this host; `passagectl scan` lists the devices.",
                &[("dev", &a.to_string())],
            ),
            Refusal::NotAGpu(a) => tr_f("{dev} is not a graphics card.", &[("dev", &name(*a))]),
            Refusal::Bridge(a) => tr_f(
                "{dev} is a PCI bridge; bridges stay with the host.",
                &[("dev", &name(*a))],
            ),
            Refusal::HostDisplay(a) => tr_f(
                "{dev} shows this computer's screen (it is the boot display or a monitor is connected to it). Passing it through would leave the desktop without a display; choose the other graphics card, or move the screen's cable to it first.",
                &[("dev", &name(*a))],
            ),
            Refusal::NoGroup(a) => tr_f(
                "{dev} is in no IOMMU group: the IOMMU is off. Turn it on first (`passagectl check` or System check says how).",
                &[("dev", &name(*a))],
            ),
            Refusal::NoSuchGroup(id) => {
                tr_f("There is no IOMMU group {id}.", &[("id", &id.to_string())])
            }
            Refusal::GroupNotViable(id) => {
                let why: Vec<String> = host
                    .group(*id)
                    .map(|g| g.host_needs.iter().map(|n| crate::check::need_words(host, n)).collect())
                    .unwrap_or_default();
                tr_f(
                    "IOMMU group {id} holds what the host needs, so it cannot go to a VM: {why}. A VM gets a whole group or nothing; put the card in another slot, or see System check about the ACS override.",
                    &[("id", &id.to_string()), ("why", &why.join("; "))],
                )
            }
            Refusal::PartialGroup(id, missing) => tr_f(
                "A VM takes the whole IOMMU group {id}: add {devs} too.",
                &[
                    ("id", &id.to_string()),
                    (
                        "devs",
                        &missing
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ],
            ),
        }
    }
}

/// Whether the host shows its screen on `d` because the firmware booted on it: the boot
/// display, unless a VM driver (vfio-pci, pci-stub, pciback) holds it, which no console or
/// desktop can draw through.
pub(super) fn is_boot_display(d: &PciDevice) -> bool {
    d.is_gpu() && d.boot_vga && !d.driver.as_deref().is_some_and(super::iommu::is_vm_driver)
}
