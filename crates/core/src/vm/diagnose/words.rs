//! The words for each cause: a plain title and what to do, translatable. Every fix names an
//! action Passage offers (Host setup, System check, a VM's pages) or a concrete step.

use super::{Cause, Diagnosis};
use crate::i18n::{tr, tr_f};

/// The title and fix for `cause`, naming `subject` where the words have a place for it.
pub fn words(cause: Cause, subject: Option<String>) -> Diagnosis {
    let s = subject.clone().unwrap_or_default();
    let (title, fix) = card_words(cause, &s)
        .or_else(|| host_words(cause, &s))
        .or_else(|| vm_words(cause, &s))
        .unwrap_or_else(unknown_words);
    Diagnosis {
        cause,
        title,
        fix,
        subject,
    }
}

/// When libvirt finds no hugetlbfs at all: fixed by mounting it, not by reserving more.
pub(super) fn no_hugetlbfs() -> Diagnosis {
    Diagnosis {
        cause: Cause::HugepagesShort,
        title: tr("libvirt finds no hugepage filesystem"),
        fix: tr("Mount hugetlbfs at /dev/hugepages (systemd's dev-hugepages.mount does it at boot) and restart libvirtd, or switch hugepages off for this VM."),
        subject: None,
    }
}

/// The card and its VFIO group.
fn card_words(cause: Cause, s: &str) -> Option<(String, String)> {
    Some(match cause {
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
        Cause::VfioUnbound => (
            if s.is_empty() { tr("The device is not handed to vfio-pci") } else { tr_f("{dev} is not handed to vfio-pci", &[("dev", s)]) },
            tr("Its IOMMU group has no VFIO device (/dev/vfio/N): the device is still on its own driver, or the vfio-pci module is not loaded. Set the device up for passthrough in Host setup and restart, or start the VM through libvirt, which hands its devices to vfio-pci itself."),
        ),
        Cause::IommuOff => (
            tr("The IOMMU is off"),
            tr("Turn on the IOMMU in the firmware setup (VT-d or AMD-Vi/IOMMU) and on the kernel command line: System check says how, and Host setup does it."),
        ),
        Cause::InterruptRemapping => (
            tr("This computer's IOMMU cannot remap interrupts"),
            tr("Turn on interrupt remapping in the firmware setup, or update it; vfio's allow_unsafe_interrupts works around it at a security cost."),
        ),
        Cause::ResetFailed => (
            if s.is_empty() { tr("The card could not be reset") } else { tr_f("{dev} could not be reset", &[("dev", s)]) },
            tr("The card cannot be reset while the computer runs (common after the VM ran once): restart the computer before starting the VM again; some cards need a vendor-reset module."),
        ),
        Cause::RomMissing => (
            tr("The card's ROM file is missing"),
            if s.is_empty() { tr("Put the ROM file where the VM's settings say, or remove the ROM file from the card's settings.") } else { tr_f("Put the ROM file at {path} (readable by QEMU), or remove it from the card's settings.", &[("path", s)]) },
        ),
        Cause::RomUnreadable => (
            if s.is_empty() { tr("The card's ROM cannot be read") } else { tr_f("The ROM of {dev} cannot be read", &[("dev", s)]) },
            tr("The card shows no readable ROM, common for a card the host used at boot and for integrated and laptop graphics: give the card a ROM dumped from it (GPU-Z under Windows) or taken from its maker's firmware, with <rom file='/var/lib/libvirt/vbios/card.rom'/> in its <hostdev> (virsh edit), or add <rom bar='off'/> there if the guest starts without it."),
        ),
        Cause::RomNoUefi => (
            if s.is_empty() { tr("The card shows the VM no UEFI image") } else { tr_f("{dev} shows the VM no UEFI image", &[("dev", s)]) },
            tr("OVMF shows nothing on the card at boot without an x64 UEFI (GOP) image in its ROM: the screen stays black until the guest's driver loads. Give the card a ROM file with one (passagectl rom checks a file), or update the card's firmware with its maker's UEFI update."),
        ),
        Cause::CardUnresponsive => (
            if s.is_empty() { tr("The card does not respond") } else { tr_f("{dev} does not respond", &[("dev", s)]) },
            tr("The card is powered down or stuck: its configuration space reads as all ones, or it does not wake from its sleep state (D3). If this computer's driver still uses it (a desktop on it, or nvidia-drm with modeset=1), keep the host off the card (Host setup); if it stopped answering after a VM ran, restart the computer, and for an AMD card with the reset bug install vendor-reset."),
        ),
        Cause::CardD3Cold => (
            if s.is_empty() { tr("The card did not wake from its deepest sleep (D3cold)") } else { tr_f("{dev} did not wake from its deepest sleep (D3cold)", &[("dev", s)]) },
            tr("vfio-pci put the idle card into D3cold and it did not come back. Keep idle cards awake: passagectl apply --idle-d3-off sets vfio-pci's disable_idle_d3 option (undo it in History); then restart the computer."),
        ),
        Cause::DeviceMissing => (
            if s.is_empty() { tr("A passed-through device is not there") } else { tr_f("{dev} is not there", &[("dev", s)]) },
            tr("The device's address changed (a new card, a firmware update) or it was removed: choose the device again on the VM's Devices page."),
        ),
        _ => return None,
    })
}

/// The host: memory, KVM, networks, the installed libvirt and QEMU.
fn host_words(cause: Cause, s: &str) -> Option<(String, String)> {
    Some(match cause {
        Cause::HugepagesShort => (
            tr("Not enough memory could be locked for the VM"),
            tr("The VM's memory must be reserved and locked for the card: reserve enough hugepages for the whole VM (Host setup, or hugepages= at boot), close programs using memory, or give the VM less memory."),
        ),
        Cause::MemoryShort => (
            tr("Not enough free memory for the VM"),
            tr("Close programs, or give the VM less memory: with passed-through devices all of its memory is locked when it starts."),
        ),
        Cause::KvmMissing => (
            tr("Hardware virtualization (KVM) is not available"),
            tr("Turn on virtualization in the firmware setup (Intel VT-x or AMD SVM), and make sure the kvm modules load; System check says what is missing."),
        ),
        Cause::KvmBusy => (
            tr("Another hypervisor holds hardware virtualization"),
            tr("VirtualBox or VMware is running, and their kernel modules keep VT-x/AMD-V for themselves while they do: shut their VMs down and quit them (or unload vboxdrv or vmmon), then start the VM again."),
        ),
        Cause::KvmPermission => (
            tr("QEMU may not use hardware virtualization (/dev/kvm)"),
            tr("/dev/kvm exists, but the user QEMU runs as may not open it: add that user (and yours) to the kvm group, check that /dev/kvm belongs to group kvm with mode 0660 (your distribution's udev rule sets it: run sudo udevadm trigger, or restart), then restart libvirtd and start the VM again."),
        ),
        Cause::NetworkInactive => (
            if s.is_empty() { tr("The VM's network is not running") } else { tr_f("The network “{net}” is not running", &[("net", s)]) },
            tr("Start libvirt's network (Passage starts it before the VM when it can), and mark it to start with the computer."),
        ),
        Cause::BridgeMissing => (
            if s.is_empty() { tr("The VM's network bridge does not exist") } else { tr_f("The bridge “{br}” does not exist", &[("br", s)]) },
            tr("The VM joins a bridge this computer does not have: create it (in your network settings, or nmcli connection add type bridge), or give the VM NAT through libvirt's default network instead."),
        ),
        Cause::QemuNewerThanLibvirt => (
            tr("libvirt is older than the installed QEMU"),
            tr_f("libvirt passes {opt}, which this QEMU no longer has (QEMU 9 removed -no-acpi and -no-hpet): install the libvirt that goes with this QEMU, or your distribution's own QEMU instead of a newer one built separately.", &[("opt", &if s.is_empty() { tr("an option") } else { s.to_string() })]),
        ),
        _ => return None,
    })
}

/// The VM's own files and devices: firmware, display, TPM, disks.
fn vm_words(cause: Cause, s: &str) -> Option<(String, String)> {
    Some(match cause {
        Cause::OvmfMissing => (
            tr("The UEFI firmware (OVMF) is missing"),
            tr("Install the ovmf package (edk2-ovmf on Fedora and Arch), or choose a firmware this computer has on the VM's Firmware step."),
        ),
        Cause::QemuFirmwareMissing => (
            tr("QEMU's own firmware files are missing"),
            tr("QEMU cannot find its BIOS or its network cards' boot ROMs: reinstall your distribution's QEMU firmware packages (qemu-system-data, seabios and ipxe-qemu on Debian and Ubuntu; seabios-bin and ipxe-roms-qemu on Fedora), or use your distribution's QEMU instead of one built or moved separately."),
        ),
        Cause::DisplayUnsupported => (
            tr("This QEMU cannot show the VM's display"),
            tr("Install QEMU's SPICE module (qemu-system-modules-spice on Debian and Ubuntu, which also holds the QXL video card), or switch the SPICE display off and use the card's own outputs."),
        ),
        Cause::DisplayGl => (
            tr("The VM's display cannot use OpenGL"),
            tr("The VM's SPICE display or video card asks for OpenGL (3D acceleration), which this QEMU or this computer's graphics cannot give: switch OpenGL off for the display (virt-manager: Display Spice, OpenGL; or remove <gl enable='yes'/> with virsh edit), or install QEMU's OpenGL module (qemu-system-modules-opengl on Debian and Ubuntu) and this computer's Mesa drivers."),
        ),
        Cause::TpmMissing => (
            tr("The VM's TPM cannot be emulated"),
            tr("Install swtpm (packages swtpm and swtpm-tools), or switch the TPM off in the VM's firmware settings."),
        ),
        Cause::TpmFailed => (
            tr("The VM's TPM emulator did not start"),
            if s.is_empty() { tr("swtpm is installed but stopped with an error: its log says why (often AppArmor or SELinux, or who owns /var/lib/libvirt/swtpm). Reinstall swtpm and swtpm-tools from your distribution, or switch the TPM off in the VM's firmware settings.") } else { tr_f("swtpm is installed but stopped with an error: {log} says why (often AppArmor or SELinux, or who owns /var/lib/libvirt/swtpm). Reinstall swtpm and swtpm-tools from your distribution, or switch the TPM off in the VM's firmware settings.", &[("log", s)]) },
        ),
        Cause::MediaPermission => (
            if s.is_empty() { tr("QEMU may not read a disk or disc image") } else { tr_f("QEMU may not read {path}", &[("path", s)]) },
            tr("QEMU runs as its own user, which cannot enter private folders such as your home: move the image to /var/lib/libvirt/images, or let that user read it and every folder above it."),
        ),
        Cause::MediaMissing => (
            if s.is_empty() { tr("A disk or disc image is missing") } else { tr_f("{path} is missing", &[("path", s)]) },
            tr("Put the image back, or choose another one on the VM's page."),
        ),
        Cause::SessionHookMissing => (
            tr("libvirt's hook for Passage is not installed"),
            tr("The VM's session needs it (its hugepages reserved at start, its card lent, its CPUs kept free): apply Host setup's plan for the card, which installs it."),
        ),
        Cause::OnlyGpuInput => (
            tr("The VM has no keyboard and mouse of its own"),
            tr("While it runs the desktop is stopped, so only devices given to the VM can reach it: pass a USB keyboard and mouse (or their USB controller) through on its Devices page, or give it the host's keyboard and mouse by evdev."),
        ),
        Cause::LookingGlass => (
            tr("Looking Glass is not set up right"),
            tr("Run passagectl apply --looking-glass for the host's side, and size the VM's memory for your monitor with passagectl vm edit NAME --looking-glass WIDTHxHEIGHT."),
        ),
        Cause::Unknown => unknown_words(),
        _ => return None,
    })
}

fn unknown_words() -> (String, String) {
    (
        tr("The VM did not start"),
        tr("Passage does not recognise this error: the full text below says what libvirt and QEMU reported."),
    )
}
