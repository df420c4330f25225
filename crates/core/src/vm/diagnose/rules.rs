//! The table from phrases to causes. Every phrase is lowercase and is looked for in the text
//! read through its wrapper (`noise::read_through`); a rule names its cause when every phrase of
//! one of its alternatives is in the text.

use super::Cause;

/// Alternatives: the text matches a cause when every phrase of one alternative is in it.
pub(super) struct Rule {
    pub(super) cause: Cause,
    pub(super) any_of: &'static [&'static [&'static str]],
}

/// The first rule that matches names the cause.
pub(super) fn cause_of(lower: &str) -> Cause {
    RULES
        .iter()
        .find(|r| {
            r.any_of
                .iter()
                .any(|all| all.iter().all(|p| lower.contains(p)))
        })
        .map_or(Cause::Unknown, |r| r.cause)
}

/// Most specific first: a message can hold several phrases (libvirt wraps QEMU's text, QEMU
/// wraps the kernel's errno, and a pasted log holds warnings before the error).
pub(super) const RULES: &[Rule] = &[
    Rule {
        // The kernel's "Unable to change power state from D3cold to D0, device inaccessible"
        // for a device vfio-pci holds: it put the idle card into D3cold and the card did not
        // wake (its disable_idle_d3 parameter keeps idle devices out of D3).
        cause: Cause::CardD3Cold,
        any_of: &[&["vfio-pci", "unable to change power state from d3cold"]],
    },
    Rule {
        // libvirt's virPCIDeviceRead... "Unknown PCI header type '127'" (0x7f: all ones), and
        // the kernel's drivers/pci/pci.c "Unable to change power state from %s to D0, device
        // inaccessible" (a card left in D3cold, or stuck).
        cause: Cause::CardUnresponsive,
        any_of: &[
            &["unknown pci header type"],
            &["unable to change power state from", "device inaccessible"],
        ],
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
        // QEMU's accel/kvm "Could not access KVM kernel module: %m" and libvirt's "Unable to
        // open /dev/kvm" with EACCES: the module is there, QEMU's user may not open its node.
        cause: Cause::KvmPermission,
        any_of: &[
            &["could not access kvm kernel module: permission denied"],
            &["failed to initialize kvm: permission denied"],
            &["/dev/kvm: permission denied"],
        ],
    },
    Rule {
        // KVM_CREATE_VM fails with EBUSY while VirtualBox or VMware holds VT-x/AMD-V: "busy",
        // but no card is involved, so before device-busy.
        cause: Cause::KvmBusy,
        any_of: &[
            &["kvm_create_vm", "busy"],
            &["failed to initialize kvm", "device or resource busy"],
        ],
    },
    Rule {
        // QEMU's block layer (block/file-posix.c "Could not open '%s'") and libvirt's storage
        // check, whatever the file: a disk, a disc image, a firmware file, a block device.
        cause: Cause::MediaPermission,
        any_of: &[
            &["cannot access storage file", "permission denied"],
            &["could not open '", "permission denied"],
            &["search permissions for the path"],
        ],
    },
    Rule {
        // QEMU hw/vfio "failed to open /dev/vfio/N: No such file or directory": the group has no
        // VFIO node because no device of it is bound to vfio-pci (or vfio-pci is not loaded).
        cause: Cause::VfioUnbound,
        any_of: &[&["failed to open /dev/vfio/", "no such file"]],
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
        // The kernel's drivers/pci/rom.c "Invalid PCI ROM header signature: expecting 0xaa55"
        // and QEMU hw/vfio/pci.c "Cannot read device rom at ...": the card shows no ROM.
        cause: Cause::RomUnreadable,
        any_of: &[
            &["invalid pci rom header signature"],
            &["cannot read device rom"],
            &["device option rom contents are probably invalid"],
        ],
    },
    Rule {
        // QEMU's hw/i386/x86.c "could not load PC BIOS '%s'" naming an OVMF file: the UEFI
        // firmware, not QEMU's own BIOS.
        cause: Cause::OvmfMissing,
        any_of: &[
            &["could not load pc bios", "ovmf"],
            &["could not load pc bios", "edk2"],
        ],
    },
    Rule {
        // QEMU's own data files: its SeaBIOS ("could not load PC BIOS 'bios-256k.bin'") and the
        // boot ROMs of its emulated network cards and VGA (hw/pci/pci.c "failed to find romfile
        // "efi-virtio.rom""), which QEMU looks up by bare name in its data folder. A card's
        // own ROM is named by the user, with its path: rom-missing below.
        cause: Cause::QemuFirmwareMissing,
        any_of: &[
            &["could not load pc bios"],
            &["failed to find romfile \"efi-"],
            &["failed to find romfile \"pxe-"],
            &["failed to find romfile \"compat-256k-"],
            &["failed to find romfile \"vgabios-"],
            &["failed to find romfile \"kvmvapic"],
            &["failed to find romfile \"linuxboot"],
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
        // libvirt could not write the VM's own NVRAM copy: the nvram folder or its disk, which
        // Passage cannot tell apart from here; not a missing firmware.
        cause: Cause::Unknown,
        any_of: &[&["failed to create file", "nvram"]],
    },
    Rule {
        cause: Cause::OvmfMissing,
        any_of: &[
            &["unable to find any firmware to satisfy"],
            &["firmware that is compatible"],
            // libvirt's qemu_nvram: no NVRAM template (var store) for the VM's loader.
            &["master var store"],
            &["ovmf", "no such file"],
            &["edk2", "no such file"],
            &["_vars", "no such file"],
            &["_code", "no such file"],
            &["nvram", "no such file"],
            &["pflash", "no such file"],
        ],
    },
    Rule {
        // libvirt's storage check (virstoragefile "Cannot access storage file '%s'", "Unable to
        // stat %s") and QEMU's block layer ("Could not open '%s'") with ENOENT: a disk or disc
        // image that is not there (firmware, NVRAM and ROM files are matched above).
        cause: Cause::MediaMissing,
        any_of: &[
            &["cannot access storage file", "no such file"],
            &["unable to stat", "no such file"],
            &["could not open '", "no such file"],
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
            // Proxmox's qemu-server: "KVM virtualisation configured, but not available".
            &["kvm virtualisation configured, but not available"],
            // libvirt's domain capabilities without KVM, as virt-manager and libvirt word it.
            &["host does not support domain type kvm"],
            &["does not support virt type 'kvm'"],
        ],
    },
    Rule {
        // SPICE's OpenGL (gl='yes') or a 3D video card, which this QEMU or the host cannot give.
        cause: Cause::DisplayGl,
        // QEMU's ui/egl-helpers.c ("egl: no drm render node available", "egl: render node init
        // failed", "egl: eglInitialize failed") for egl-headless and SPICE/GTK with gl=on, and
        // its OpenGL video devices, which a QEMU without its OpenGL module does not have.
        any_of: &[
            &["opengl"],
            &["egl", "render node"],
            &["egl: egl"],
            &["virtio-vga-gl", "not a valid device model"],
            &["virtio-gpu-gl", "not a valid device model"],
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
            // libvirt "domain configuration does not support video model 'qxl'", QEMU "QXL VGA
            // not available": QEMU built or packaged without its QXL card.
            &["video model", "qxl"],
            &["qxl", "not available"],
        ],
    },
    Rule {
        // libvirt ran swtpm_setup and it failed ("Could not run '/usr/bin/swtpm_setup'.
        // exitstatus: 1; Check error log ..."): installed, but not working.
        cause: Cause::TpmFailed,
        any_of: &[&["could not run", "swtpm"]],
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
            // libvirt's virhostdev.c and qemu_domain.c for the same host, in older wordings.
            &["pci backend driver", "is not supported"],
            &["vfio device assignment is currently not supported"],
        ],
    },
];
