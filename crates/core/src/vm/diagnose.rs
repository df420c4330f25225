//! Why a VM did not start: libvirt's, QEMU's and the kernel's error text turned into a cause,
//! a plain title and the fix.
//!
//! The rules match what a message means, not one wording: each cause lists the phrases
//! libvirt 9 (src/qemu, src/util/virpci.c, src/hypervisor/virhostdev.c), QEMU (hw/vfio,
//! backends/hostmem, softmmu) and the kernel's vfio driver use for it, in the forms users
//! paste from virt-manager, virsh, Proxmox and KubeVirt (see crates/core/tests/data/
//! start-errors.txt for the real messages and their sources). The most specific causes are
//! tried first; text nothing matches is `unknown`, never a guess.

use serde::Serialize;

use crate::i18n::{tr, tr_f};

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
    /// The VM joins a host bridge that does not exist.
    BridgeMissing,
    /// libvirt passes QEMU an option this (newer) QEMU removed.
    QemuNewerThanLibvirt,
    /// Pre-flight only: less free memory than the VM's.
    MemoryShort,
    /// Pre-flight only: a disk or disc image is not there.
    MediaMissing,
    /// Pre-flight only: the VM's session (hugepages at start, the card lent, CPUs kept free)
    /// needs libvirt's hook, which is not installed.
    SessionHookMissing,
    Unknown,
}

impl Cause {
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
            Cause::CardUnresponsive => "card-unresponsive",
            Cause::BridgeMissing => "bridge-missing",
            Cause::QemuNewerThanLibvirt => "qemu-newer-than-libvirt",
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

/// Alternatives: the text matches a cause when every phrase of one alternative is in it
/// (lowercase).
struct Rule {
    cause: Cause,
    any_of: &'static [&'static [&'static str]],
}

/// Most specific first: a message can hold several phrases (libvirt wraps QEMU's text, QEMU
/// wraps the kernel's errno).
const RULES: &[Rule] = &[
    Rule {
        // libvirt's virPCIDeviceRead... "Unknown PCI header type '127'" (0x7f: all ones).
        cause: Cause::CardUnresponsive,
        any_of: &[&["unknown pci header type"]],
    },
    Rule {
        // QEMU 9 removed -no-acpi and -no-hpet; an older libvirt still passes them.
        cause: Cause::QemuNewerThanLibvirt,
        any_of: &[&["-no-acpi: invalid option"], &["-no-hpet: invalid option"]],
    },
    Rule {
        cause: Cause::BridgeMissing,
        any_of: &[&["cannot get interface mtu on", "no such device"]],
    },
    Rule {
        cause: Cause::InterruptRemapping,
        any_of: &[&["interrupt remapping"], &["allow_unsafe_interrupts"]],
    },
    Rule {
        cause: Cause::MediaPermission,
        any_of: &[
            &["cannot access storage file", "permission denied"],
            &["could not open", ".iso", "permission denied"],
            &["could not open", ".qcow2", "permission denied"],
            &["could not open", ".img", "permission denied"],
            &["could not open", ".raw", "permission denied"],
            &["search permissions for the path"],
        ],
    },
    Rule {
        cause: Cause::GroupNotViable,
        any_of: &[
            &["is not viable"],
            &["iommu_group are bound to their vfio bus driver"],
            &["iommu group", "not bound to vfio"],
            &["not all devices in iommu group"],
            // QEMU: "error getting device from group N: No such device. Verify all devices in
            // group N are bound to vfio-<bus> or pci-stub" (errno 16 is device-busy instead).
            &["error getting device from group", "no such device"],
        ],
    },
    Rule {
        cause: Cause::DeviceBusy,
        any_of: &[
            &["is in use by"],
            &["is already in use"],
            &["device or resource busy"],
            &["failed to unbind pci device"],
            &["still holds"],
            &["held by"],
            // Passage's own hook (passage-helper hook), as libvirt relays it.
            &["is in use on the host"],
            &["is lent to the vm"],
        ],
    },
    Rule {
        cause: Cause::VfioPermission,
        any_of: &[
            &["/dev/vfio", "permission denied"],
            &["/dev/vfio", "operation not permitted"],
            &["vfio", "failed to open", "permission denied"],
        ],
    },
    Rule {
        cause: Cause::HugepagesShort,
        any_of: &[
            &["vfio_map_dma failed", "cannot allocate memory"],
            &["vfio_dma_map", "-12"],
            &["vfio_container_dma_map", "-12"],
            &["backing store for guest ram", "cannot allocate memory"],
            &["insufficient free host memory pages"],
            &["unable to find any usable hugetlbfs mount"],
            &["hugetlbfs filesystem is not mounted"],
            &["not a hugetlbfs mount"],
            &["hugetlbfs", "cannot allocate memory"],
            &["hugepage", "cannot allocate memory"],
            &["hugepages", "short"],
            &["pages of", "this host can spare"],
            &["of hugepages are needed"],
            &["memlock"],
            &["locked memory limit"],
            &["os_mem_prealloc"],
        ],
    },
    Rule {
        cause: Cause::ResetFailed,
        any_of: &[
            &["no flr, pm reset or bus reset available"],
            &["unable to reset pci device"],
            &["cannot reset device"],
            &["not doing bus reset"],
            &["failed to reset pci device"],
            &["no available reset mechanism"],
        ],
    },
    Rule {
        cause: Cause::RomMissing,
        any_of: &[
            &["failed to find romfile"],
            &["romfile", "no such file"],
            &["option rom", "no such file"],
            &["could not load option rom"],
            &["rom file", "no such file"],
            &[".rom", "no such file"],
            &[".rom", "cannot access"],
        ],
    },
    Rule {
        cause: Cause::OvmfMissing,
        any_of: &[
            &["unable to find any firmware to satisfy"],
            &["firmware that is compatible"],
            &["ovmf", "no such file"],
            &["edk2", "no such file"],
            &["_vars", "no such file"],
            &["_code", "no such file"],
            &["nvram", "no such file"],
            &["pflash", "no such file"],
        ],
    },
    Rule {
        cause: Cause::NetworkInactive,
        any_of: &[
            &["network '", "is not active"],
            &["no network with matching name"],
        ],
    },
    Rule {
        cause: Cause::KvmMissing,
        any_of: &[
            &["could not access kvm kernel module"],
            &["domaintype=kvm"],
            &["kvm is not available"],
            &["failed to initialize kvm"],
            &["requires kvm"],
            &["/dev/kvm"],
        ],
    },
    Rule {
        cause: Cause::DisplayUnsupported,
        any_of: &[
            &["spice", "not supported"],
            &["spice", "no option group"],
            &["spice", "could not load module"],
            &["ui-spice"],
            &["failed to initialize spice"],
            &["graphics are not supported"],
            &["vnc", "not supported"],
        ],
    },
    Rule {
        cause: Cause::TpmMissing,
        any_of: &[&["swtpm"], &["tpm", "not supported"], &["tpm-emulator"]],
    },
    Rule {
        cause: Cause::DeviceMissing,
        any_of: &[
            &["/sys/bus/pci/devices", "no such file"],
            &["pci device", "not found"],
            &["failed to find pci device"],
            &["did not find usb device"],
            &["usb device", "not found"],
            &["device", "not found", "could not access"],
        ],
    },
    Rule {
        cause: Cause::IommuOff,
        any_of: &[
            &["no iommu_group"],
            &["iommu_group symlink"],
            &["no available iommu models"],
            &["doesn't support vfio pci passthrough"],
            &["does not support vfio pci passthrough"],
            &["iommu not found"],
            &["no iommu"],
            // libvirt's qemu_hostdev.c when the host has no usable VFIO.
            &["host doesn't support passthrough of host pci devices"],
        ],
    },
];

/// A PCI address (`0000:01:00.0`) in the text, if it names one.
fn pci_address(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(11)).find_map(|i| {
        let s = text.get(i..i + 12)?;
        let hex = |r: std::ops::Range<usize>| s[r].bytes().all(|c| c.is_ascii_hexdigit());
        let shape = hex(0..4)
            && &s[4..5] == ":"
            && hex(5..7)
            && &s[7..8] == ":"
            && hex(8..10)
            && &s[10..11] == "."
            && s.as_bytes()[11].is_ascii_digit();
        let starts = i == 0 || !b[i - 1].is_ascii_hexdigit();
        (shape && starts).then(|| s.to_string())
    })
}

/// The first '…'-quoted part of the text that looks like a path.
fn quoted_path(text: &str) -> Option<String> {
    text.split('\'')
        .skip(1)
        .step_by(2)
        .find(|s| s.starts_with('/'))
        .map(str::to_string)
}

/// The network named in "network 'default' is not active" or "matching name 'default'".
fn network_name(text: &str) -> Option<String> {
    text.split('\'').nth(1).map(str::to_string)
}

/// The option QEMU refused: "-no-hpet" in "qemu-system-x86_64: -no-hpet: invalid option".
fn removed_option(text: &str) -> Option<String> {
    let end = text.find(": invalid option")?;
    let start = text[..end].rfind(' ').map_or(0, |i| i + 1);
    let opt = &text[start..end];
    opt.starts_with('-').then(|| opt.to_string())
}

/// What libvirt says holds a device: "in use by driver QEMU, domain win10".
fn holder(text: &str) -> Option<String> {
    // Passage's hook: "NAME (PID N) has /dev/dri/card1 open", "lent to the VM \"NAME\"".
    if let Some(i) = text.find(" (PID ") {
        let name = text[..i].rsplit([' ', ':', ',']).next().unwrap_or("");
        let pid: String = text[i + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !name.is_empty() && !pid.is_empty() {
            return Some(format!("{name} (PID {pid})"));
        }
    }
    if let Some(i) = text.find("lent to the VM \"") {
        let name: String = text[i + 16..].chars().take_while(|c| *c != '"').collect();
        if !name.is_empty() {
            return Some(name);
        }
    }
    let i = text.find("domain ")?;
    let name: String = text[i + 7..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '\'')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Reads an error text: the cause, a plain title and the fix.
pub fn explain(text: &str) -> Diagnosis {
    let lower = text.to_lowercase();
    let cause = RULES
        .iter()
        .find(|r| {
            r.any_of
                .iter()
                .any(|all| all.iter().all(|p| lower.contains(p)))
        })
        .map(|r| r.cause)
        .unwrap_or(Cause::Unknown);
    // No hugetlbfs at all is fixed by mounting it, not by reserving more.
    if cause == Cause::HugepagesShort
        && lower.contains("hugetlbfs")
        && (lower.contains("not mounted")
            || lower.contains("usable hugetlbfs mount")
            || lower.contains("not a hugetlbfs mount"))
    {
        return Diagnosis {
            cause,
            title: tr("libvirt finds no hugepage filesystem"),
            fix: tr("Mount hugetlbfs at /dev/hugepages (systemd's dev-hugepages.mount does it at boot) and restart libvirtd, or switch hugepages off for this VM."),
            subject: None,
        };
    }
    let subject = match cause {
        Cause::MediaPermission | Cause::OvmfMissing | Cause::RomMissing => quoted_path(text),
        Cause::NetworkInactive | Cause::BridgeMissing => network_name(text),
        Cause::QemuNewerThanLibvirt => removed_option(text),
        Cause::DeviceBusy => holder(text).or_else(|| pci_address(text)),
        Cause::Unknown => None,
        _ => pci_address(text),
    };
    words(cause, subject)
}

/// The title and advice of `cause` (about `subject` where it names one).
pub fn words(cause: Cause, subject: Option<String>) -> Diagnosis {
    let s = subject.clone().unwrap_or_default();
    let s = s.as_str();
    let (title, fix) = match cause {
        Cause::HugepagesShort => (
            tr("Not enough memory could be locked for the VM"),
            tr("The VM's memory must be reserved and locked for the card: reserve enough hugepages for the whole VM (Host setup, or hugepages= at boot), close programs using memory, or give the VM less memory."),
        ),
        Cause::GroupNotViable => (
            tr("Part of the card's IOMMU group is still used by the host"),
            tr("Every device in the group must go to the VM: give the VM the whole group on its Devices page, or set the card up for passthrough in Host setup and restart."),
        ),
        Cause::DeviceBusy => (
            if s.is_empty() { tr("The card is in use") } else { tr_f("The card is in use by {who}", &[("who", s)]) },
            tr("Another VM or a program on this computer holds the card: shut that VM down, or close the program (a desktop session or a CUDA program on that card), then start again."),
        ),
        Cause::VfioPermission => (
            tr("QEMU may not open the card's VFIO device"),
            tr("Start the VM through the system libvirt (qemu:///system), which hands the device to QEMU; a session VM cannot use passthrough without a rule giving it /dev/vfio."),
        ),
        Cause::IommuOff => (
            tr("The IOMMU is off"),
            tr("Turn on the IOMMU in the firmware setup (VT-d or AMD-Vi/IOMMU) and on the kernel command line: System check says how, and Host setup does it."),
        ),
        Cause::ResetFailed => (
            if s.is_empty() { tr("The card could not be reset") } else { tr_f("{dev} could not be reset", &[("dev", s)]) },
            tr("The card cannot be reset while the computer runs (common after the VM ran once): restart the computer before starting the VM again; some cards need a vendor-reset module."),
        ),
        Cause::RomMissing => (
            tr("The card's ROM file is missing"),
            if s.is_empty() { tr("Put the ROM file where the VM's settings say, or remove the ROM file from the card's settings.") } else { tr_f("Put the ROM file at {path} (readable by QEMU), or remove it from the card's settings.", &[("path", s)]) },
        ),
        Cause::OvmfMissing => (
            tr("The UEFI firmware (OVMF) is missing"),
            tr("Install the ovmf package (edk2-ovmf on Fedora and Arch), or choose a firmware this computer has on the VM's Firmware step."),
        ),
        Cause::NetworkInactive => (
            if s.is_empty() { tr("The VM's network is not running") } else { tr_f("The network “{net}” is not running", &[("net", s)]) },
            tr("Start libvirt's network (Passage starts it before the VM when it can), and mark it to start with the computer."),
        ),
        Cause::KvmMissing => (
            tr("Hardware virtualization (KVM) is not available"),
            tr("Turn on virtualization in the firmware setup (Intel VT-x or AMD SVM), and make sure the kvm modules load; System check says what is missing."),
        ),
        Cause::DisplayUnsupported => (
            tr("This QEMU cannot show the VM's display"),
            tr("Install QEMU's SPICE module (qemu-system-modules-spice on Debian and Ubuntu), or switch the SPICE display off and use the card's own outputs."),
        ),
        Cause::TpmMissing => (
            tr("The VM's TPM cannot be emulated"),
            tr("Install swtpm (packages swtpm and swtpm-tools), or switch the TPM off in the VM's firmware settings."),
        ),
        Cause::MediaPermission => (
            if s.is_empty() { tr("QEMU may not read a disk or disc image") } else { tr_f("QEMU may not read {path}", &[("path", s)]) },
            tr("QEMU runs as its own user, which cannot enter private folders such as your home: move the image to /var/lib/libvirt/images, or let that user read it and every folder above it."),
        ),
        Cause::DeviceMissing => (
            if s.is_empty() { tr("A passed-through device is not there") } else { tr_f("{dev} is not there", &[("dev", s)]) },
            tr("The device's address changed (a new card, a firmware update) or it was removed: choose the device again on the VM's Devices page."),
        ),
        Cause::InterruptRemapping => (
            tr("This computer's IOMMU cannot remap interrupts"),
            tr("Turn on interrupt remapping in the firmware setup, or update it; vfio's allow_unsafe_interrupts works around it at a security cost."),
        ),
        Cause::CardUnresponsive => (
            if s.is_empty() { tr("The card does not respond") } else { tr_f("{dev} does not respond", &[("dev", s)]) },
            tr("Its configuration space reads as all ones: the card is powered down or stuck. If this computer's driver still uses it (a desktop on it, or nvidia-drm with modeset=1), keep the host off the card (Host setup); if it stopped answering after a VM ran, restart the computer, and for an AMD card with the reset bug install vendor-reset."),
        ),
        Cause::BridgeMissing => (
            if s.is_empty() { tr("The VM's network bridge does not exist") } else { tr_f("The bridge “{br}” does not exist", &[("br", s)]) },
            tr("The VM joins a bridge this computer does not have: create it (in your network settings, or nmcli connection add type bridge), or give the VM NAT through libvirt's default network instead."),
        ),
        Cause::QemuNewerThanLibvirt => (
            tr("libvirt is older than the installed QEMU"),
            tr_f("libvirt passes {opt}, which this QEMU no longer has (QEMU 9 removed -no-acpi and -no-hpet): install the libvirt that goes with this QEMU, or your distribution's own QEMU instead of a newer one built separately.", &[("opt", &if s.is_empty() { tr("an option") } else { s.to_string() })]),
        ),
        Cause::MemoryShort => (
            tr("Not enough free memory for the VM"),
            tr("Close programs, or give the VM less memory: with passed-through devices all of its memory is locked when it starts."),
        ),
        Cause::MediaMissing => (
            if s.is_empty() { tr("A disk or disc image is missing") } else { tr_f("{path} is missing", &[("path", s)]) },
            tr("Put the image back, or choose another one on the VM's page."),
        ),
        Cause::SessionHookMissing => (
            tr("libvirt's hook for Passage is not installed"),
            tr("The VM's session needs it (its hugepages reserved at start, its card lent, its CPUs kept free): apply Host setup's plan for the card, which installs it."),
        ),
        Cause::Unknown => (
            tr("The VM did not start"),
            tr("Passage does not recognise this error: the full text below says what libvirt and QEMU reported."),
        ),
    };
    Diagnosis {
        cause,
        title,
        fix,
        subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_found_in_the_text() {
        assert_eq!(
            pci_address("vfio 0000:0a:00.0: group 28 is not viable"),
            Some("0000:0a:00.0".into())
        );
        assert_eq!(
            pci_address("host=01:00.0"),
            None,
            "a short address is not guessed"
        );
        assert_eq!(
            quoted_path("Cannot access storage file '/home/a/W.iso' (as uid:64055, gid:108)"),
            Some("/home/a/W.iso".into())
        );
        assert_eq!(
            holder("PCI device 0000:01:00.0 is in use by driver QEMU, domain win10"),
            Some("win10".into())
        );
    }

    #[test]
    fn every_cause_has_an_id_title_and_fix() {
        for r in RULES {
            let d = words(r.cause, None);
            assert!(!d.title.is_empty() && !d.fix.is_empty(), "{}", r.cause.id());
        }
        assert_eq!(explain("something else entirely").cause, Cause::Unknown);
    }
}
