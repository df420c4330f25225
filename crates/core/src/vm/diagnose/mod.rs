//! Why a VM did not start: libvirt's, QEMU's and the kernel's error text turned into a cause,
//! a plain title and the fix.
//!
//! The rules match what a message means, not one wording: each cause lists the phrases
//! libvirt 9 (src/qemu, src/util/virpci.c, src/hypervisor/virhostdev.c), QEMU (hw/vfio,
//! backends/hostmem, softmmu, block) and the kernel (vfio, PCI power and ROM) use for it, in the
//! forms users paste from virt-manager, virsh, Cockpit, Kimchi, Proxmox and KubeVirt (see
//! crates/core/tests/data/start-errors.txt for the real messages and their sources). What wraps
//! the message (tracebacks, JSON log lines, timestamps) is read through first (`noise`); the
//! most specific causes are tried first (`rules`); text nothing matches is `unknown`, never a
//! guess.

mod noise;
mod rules;
mod subject;
mod words;

pub use words::words;

use serde::Serialize;

/// A cause, with the id the app, passagectl and the hook's refusals share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    HugepagesShort,
    GroupNotViable,
    DeviceBusy,
    VfioPermission,
    IommuOff,
    ResetFailed,
    RomMissing,
    OvmfMissing,
    NetworkInactive,
    KvmMissing,
    DisplayUnsupported,
    TpmMissing,
    MediaPermission,
    DeviceMissing,
    InterruptRemapping,
    /// The card's configuration space reads as all ones: asleep, stuck or held by the host.
    CardUnresponsive,
    /// vfio-pci let the card sleep in D3cold and it did not wake (`disable_idle_d3` keeps it
    /// awake).
    CardD3Cold,
    /// The VM joins a host bridge that does not exist.
    BridgeMissing,
    /// libvirt passes QEMU an option this (newer) QEMU removed.
    QemuNewerThanLibvirt,
    /// The group's /dev/vfio node does not exist: the device is not bound to vfio-pci.
    VfioUnbound,
    /// The card's option ROM cannot be read (no ROM BAR, or one the host shadowed).
    RomUnreadable,
    /// KVM_CREATE_VM is busy: VirtualBox or VMware holds VT-x/AMD-V.
    KvmBusy,
    /// /dev/kvm is there, but QEMU's user may not open it.
    KvmPermission,
    /// QEMU's own firmware files (its BIOS, its network cards' boot ROMs) are not found.
    QemuFirmwareMissing,
    /// The display asks for OpenGL that this QEMU or the host cannot give.
    DisplayGl,
    /// swtpm is there but failed to set the TPM up.
    TpmFailed,
    /// Pre-flight only: less free memory than the VM's.
    MemoryShort,
    /// A disk or disc image is not there (found by the pre-flight, or read from libvirt's and
    /// QEMU's text).
    MediaMissing,
    /// Pre-flight only: the VM's session (hugepages at start, the card lent, its CPUs kept
    /// free) needs libvirt's hook, which is not installed.
    SessionHookMissing,
    /// Pre-flight only: a VM of the only-GPU mode has no keyboard and mouse of its own (evdev
    /// or a USB device or controller passed through): with the desktop stopped, nothing could
    /// reach it.
    OnlyGpuInput,
    /// Pre-flight only: a UEFI VM's card shows the guest no x64 UEFI image (its ROM file has
    /// none, or its ROM BAR is off): OVMF shows nothing on it at boot.
    RomNoUefi,
    /// Pre-flight only: what Looking Glass needs is not right (the memory's owner, AppArmor,
    /// its size, a tablet or balloon left in, no monitor on the card).
    LookingGlass,
    Unknown,
}

impl Cause {
    /// Every cause, in the order the README lists them.
    pub const ALL: [Cause; 33] = [
        Cause::HugepagesShort,
        Cause::GroupNotViable,
        Cause::DeviceBusy,
        Cause::VfioPermission,
        Cause::VfioUnbound,
        Cause::IommuOff,
        Cause::ResetFailed,
        Cause::RomMissing,
        Cause::RomUnreadable,
        Cause::RomNoUefi,
        Cause::OvmfMissing,
        Cause::NetworkInactive,
        Cause::KvmMissing,
        Cause::KvmBusy,
        Cause::KvmPermission,
        Cause::QemuFirmwareMissing,
        Cause::DisplayUnsupported,
        Cause::DisplayGl,
        Cause::TpmMissing,
        Cause::TpmFailed,
        Cause::MediaPermission,
        Cause::DeviceMissing,
        Cause::InterruptRemapping,
        Cause::CardUnresponsive,
        Cause::CardD3Cold,
        Cause::BridgeMissing,
        Cause::QemuNewerThanLibvirt,
        Cause::MemoryShort,
        Cause::MediaMissing,
        Cause::SessionHookMissing,
        Cause::OnlyGpuInput,
        Cause::LookingGlass,
        Cause::Unknown,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Cause::HugepagesShort => "hugepages-short",
            Cause::GroupNotViable => "group-not-viable",
            Cause::DeviceBusy => "device-busy",
            Cause::VfioPermission => "vfio-permission",
            Cause::IommuOff => "iommu-off",
            Cause::ResetFailed => "reset-failed",
            Cause::RomMissing => "rom-missing",
            Cause::OvmfMissing => "ovmf-missing",
            Cause::NetworkInactive => "network-inactive",
            Cause::KvmMissing => "kvm-missing",
            Cause::DisplayUnsupported => "display-unsupported",
            Cause::TpmMissing => "tpm-missing",
            Cause::MediaPermission => "media-permission",
            Cause::DeviceMissing => "device-missing",
            Cause::InterruptRemapping => "interrupt-remapping",
            Cause::MemoryShort => "memory-short",
            Cause::MediaMissing => "media-missing",
            Cause::SessionHookMissing => "session-hook-missing",
            Cause::OnlyGpuInput => "only-gpu-input",
            Cause::CardUnresponsive => "card-unresponsive",
            Cause::CardD3Cold => "card-d3cold",
            Cause::BridgeMissing => "bridge-missing",
            Cause::QemuNewerThanLibvirt => "qemu-newer-than-libvirt",
            Cause::VfioUnbound => "vfio-unbound",
            Cause::RomUnreadable => "rom-unreadable",
            Cause::RomNoUefi => "rom-no-uefi",
            Cause::LookingGlass => "looking-glass",
            Cause::KvmBusy => "kvm-busy",
            Cause::KvmPermission => "kvm-permission",
            Cause::QemuFirmwareMissing => "qemu-firmware-missing",
            Cause::DisplayGl => "display-gl",
            Cause::TpmFailed => "tpm-failed",
            Cause::Unknown => "unknown",
        }
    }
}

/// A diagnosis: the cause, a plain title and what to do, with the subject (a device, a file, a
/// network) when the text names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub title: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Reads an error text: the cause, a plain title and the fix.
pub fn explain(text: &str) -> Diagnosis {
    let text = noise::read_through(text);
    let lower = text.to_lowercase();
    let cause = rules::cause_of(&lower);
    if cause == Cause::HugepagesShort && no_hugetlbfs(&lower) {
        return words::no_hugetlbfs();
    }
    words::words(cause, subject::subject_of(cause, &text))
}

/// libvirt has no hugetlbfs mount at all (not too few pages).
fn no_hugetlbfs(lower: &str) -> bool {
    lower.contains("hugetlbfs")
        && (lower.contains("not mounted")
            || lower.contains("usable hugetlbfs mount")
            || lower.contains("not a hugetlbfs mount"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_an_id_title_and_fix() {
        let unknown = words::words(Cause::Unknown, None);
        for c in Cause::ALL {
            let d = words::words(c, None);
            assert!(!d.title.is_empty() && !d.fix.is_empty(), "{}", c.id());
            assert!(
                c == Cause::Unknown || d.title != unknown.title,
                "{} has no words of its own",
                c.id()
            );
        }
        for r in rules::RULES {
            assert!(Cause::ALL.contains(&r.cause), "{}", r.cause.id());
        }
        assert_eq!(explain("something else entirely").cause, Cause::Unknown);
    }
}
