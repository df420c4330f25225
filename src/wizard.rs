//! The VM wizard's steps: the pages the app shows for core's draft
//! (`passage_core::vm::draft`), in order, and the step where each spec field is chosen.

use passage_core::i18n::tr;

pub use passage_core::vm::draft::{BootItem, Choice, Draft, Storage, POOL, POOL_PATH};

/// The wizard's pages, in the order of virt-manager's flow, then Passage's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Media,
    Resources,
    Storage,
    Name,
    Firmware,
    Cpu,
    Pci,
    Usb,
    Boot,
    Review,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::Media,
        Step::Resources,
        Step::Storage,
        Step::Name,
        Step::Firmware,
        Step::Cpu,
        Step::Pci,
        Step::Usb,
        Step::Boot,
        Step::Review,
    ];
    pub fn id(self) -> &'static str {
        match self {
            Step::Media => "vm-media",
            Step::Resources => "vm-resources",
            Step::Storage => "vm-storage",
            Step::Name => "vm-name",
            Step::Firmware => "vm-firmware",
            Step::Cpu => "vm-cpu",
            Step::Pci => "vm-pci",
            Step::Usb => "vm-usb",
            Step::Boot => "vm-boot",
            Step::Review => "vm-review",
        }
    }
    pub fn title(self) -> String {
        match self {
            Step::Media => tr("Install Media"),
            Step::Resources => tr("Memory and CPUs"),
            Step::Storage => tr("Storage"),
            Step::Name => tr("Name and Network"),
            Step::Firmware => tr("Firmware"),
            Step::Cpu => tr("CPU"),
            Step::Pci => tr("PCI Devices"),
            Step::Usb => tr("USB Devices"),
            Step::Boot => tr("Boot Order"),
            Step::Review => tr("Review"),
        }
    }
    /// Its number in the wizard, from 1.
    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }
    pub fn next(self) -> Option<Step> {
        Step::ALL
            .iter()
            .position(|s| *s == self)
            .and_then(|i| Step::ALL.get(i + 1).copied())
    }
    pub fn prev(self) -> Option<Step> {
        Step::ALL
            .iter()
            .position(|s| *s == self)
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| Step::ALL.get(i).copied())
    }
}

/// The page where a field is chosen: a spec field from `Draft::spec`'s error, or a draft field
/// from `Draft::set`'s.
pub fn step_of(field: &str) -> Step {
    match field.split('.').next().unwrap_or(field) {
        "name" | "network" | "spice" => Step::Name,
        "memory_mib" | "memory-gib" | "vcpus" => Step::Resources,
        "topology" | "vcpu_pins" | "emulator_cpuset" | "hyperv_vendor_id" | "hyperv" => Step::Cpu,
        "firmware" | "tpm" => Step::Firmware,
        "pci" | "gpu" | "gpu-mode" | "pci-add" | "rom" => Step::Pci,
        "evdev" | "usb" | "evdev-add" => Step::Usb,
        "disks" | "disk" => Step::Storage,
        "cdroms" => Step::Media,
        "boot_order" | "boot-up" | "boot-down" => Step::Boot,
        _ => Step::Review,
    }
}

/// What in the draft clashes with what libvirt holds already, in words: a VM of the same
/// name, or a new disk image whose file is in the pool already (core's rule, which the express
/// VM shares). Create waits until none.
pub fn clashes(d: &Draft, taken: &crate::workers::libvirt::Taken) -> Vec<String> {
    if d.name.is_empty() {
        return vec![];
    }
    passage_core::vm::express::clashes(d, &taken.context())
}

/// The new disk image the worker makes before it defines the draft's VM, if it has one.
pub fn new_volume(d: &Draft) -> Option<crate::workers::libvirt::NewVolume> {
    match d.storage {
        Storage::New { gib, raw } => Some(crate::workers::libvirt::NewVolume {
            pool: POOL.into(),
            path: POOL_PATH.into(),
            name: d.volume_name(),
            bytes: gib << 30,
            raw,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_go_forward_and_back_in_order() {
        assert_eq!(Step::Media.prev(), None);
        assert_eq!(Step::Media.next(), Some(Step::Resources));
        assert_eq!(Step::Review.next(), None);
        let mut ids: Vec<&str> = Step::ALL.iter().map(|s| s.id()).collect();
        ids.dedup();
        assert_eq!(ids.len(), Step::ALL.len(), "each step has its own page id");
    }

    #[test]
    fn each_field_sends_the_user_to_its_step() {
        for (field, step) in [
            ("network.bridge", Step::Name),
            ("name", Step::Name),
            ("memory_mib", Step::Resources),
            ("gpu", Step::Pci),
            ("disks.path", Step::Storage),
            ("cdroms.iso", Step::Media),
            ("boot_order", Step::Boot),
            ("firmware.code", Step::Firmware),
            ("hyperv_vendor_id", Step::Cpu),
        ] {
            assert_eq!(step_of(field), step, "{field}");
        }
    }
}
