//! The host as Passage sees it, read through a [`Root`].
//!
//! `scan --json` prints [`Host`]; its top-level field names are a contract other tools read:
//! extend it, never rename.

pub mod block_use;
pub mod boot;
pub mod chipset;
pub mod cpu;
pub mod desktop;
pub mod desktop_question;
pub mod display;
pub mod firmware;
pub mod holders;
pub mod initramfs;
pub mod iommu;
pub mod kernel;
pub mod memory;
pub mod module_options;
pub mod pci;
pub mod reset;
pub mod rom;
pub mod storage;
pub mod take;
pub mod usb;
pub mod vfio;

use serde::{Deserialize, Serialize};

pub use boot::{BootLoader, BootLoaderKind};
pub use cpu::{Cpu, CpuVendor};
pub use display::Display;
pub use firmware::Firmware;
pub use initramfs::{Initramfs, InitramfsKind};
pub use iommu::{HostNeed, IommuGroup};
pub use kernel::Kernel;
pub use memory::Memory;
pub use pci::{PciAddress, PciDevice, PciKind};
pub use storage::Storage;
pub use take::{Allow, Refusal, Taken};
pub use usb::UsbDevice;
pub use vfio::VfioSetup;

use crate::ids::{self, Db, IdsSource};
use crate::root::{Problem, Root};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub pci_devices: Vec<PciDevice>,
    pub iommu_groups: Vec<IommuGroup>,
    pub cpu: Cpu,
    pub iommu_enabled: bool,
    pub kernel_cmdline: Vec<String>,
    /// `grub`, `grubby`, `systemd-boot`, `kernelstub`, `refind`, or null.
    pub boot_loader: Option<String>,
    /// `initramfs-tools`, `dracut`, `mkinitcpio`, `booster`, or null.
    pub initramfs: Option<String>,
    pub usb_devices: Vec<UsbDevice>,
    pub memory: Memory,
    pub kernel: Kernel,
    pub boot: Option<BootLoader>,
    pub initramfs_config: Option<Initramfs>,
    pub display: Display,
    pub firmware: Vec<Firmware>,
    pub vfio: VfioSetup,
    pub storage: Storage,
    /// Keyboards and mice by id (`/dev/input/by-id/…-event-kbd`), for evdev passthrough.
    #[serde(default)]
    pub input_devices: Vec<String>,
    /// swtpm is installed (the TPM 2.0 emulator Windows 11 VMs need).
    #[serde(default)]
    pub swtpm: bool,
    /// QEMU is built with loadable modules and its SPICE module is not installed, so a VM
    /// with SPICE graphics (the installer display) will not start.
    #[serde(default)]
    pub spice_module_missing: bool,
    /// vendor-reset (the AMD reset bug's fix) is loaded or installed for the running kernel.
    #[serde(default)]
    pub vendor_reset: bool,
    /// Where device names came from.
    pub names_from: IdsSource,
    /// What could not be read; the rest of the picture stands.
    pub problems: Vec<Problem>,
}

/// Where distributions put QEMU's loadable modules (Debian and Ubuntu by architecture, Fedora,
/// Arch).
const QEMU_MODULE_DIRS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/qemu",
    "/usr/lib/aarch64-linux-gnu/qemu",
    "/usr/lib64/qemu",
    "/usr/lib/qemu",
];

/// True when some QEMU module directory holds modules but none holds `ui-spice-core.so`. A
/// QEMU without modules (SPICE built in, or not installed) is not reported here.
fn spice_module_missing(root: &Root) -> bool {
    let mut modular = false;
    for dir in QEMU_MODULE_DIRS {
        let names = root.list(dir);
        if names.iter().any(|n| n == "ui-spice-core.so") {
            return false;
        }
        modular |= names.iter().any(|n| n.ends_with(".so"));
    }
    modular
}

impl Host {
    /// Reads the host below `root`. Never panics on what it finds; see [`Host::problems`].
    pub fn scan(root: &Root) -> Host {
        // The PCI walk dominates. It hands over the devices' IDs first, so this thread looks the
        // names up while the walk reads the rest; USB (with its own name database) and the small
        // readers run beside it. Reading the two databases is most of a small host's scan.
        let names_from = ids::locate(root, Db::Pci);
        let (tx, rx) = std::sync::mpsc::channel();
        let (mut pci_devices, rest, names) = std::thread::scope(|s| {
            let pci = s.spawn(move || pci::scan(root, move |q| drop(tx.send(q))));
            let usb = s.spawn(|| {
                let mut usb_devices = usb::scan(root);
                if !usb_devices.is_empty() {
                    let src = ids::locate(root, Db::Usb);
                    usb::name_devices(&mut usb_devices, |q| ids::lookup_in(root, Db::Usb, &src, q));
                }
                usb_devices
            });
            let rest = (
                cpu::scan(root),
                memory::scan(root),
                usb.join().unwrap_or_default(),
                boot::scan(root),
                initramfs::scan(root),
                firmware::scan(root),
                storage::scan(root),
            );
            let asked: Vec<ids::Query> = rx.recv().unwrap_or_default();
            let names = ids::lookup_in(root, Db::Pci, &names_from, &asked);
            (pci.join().unwrap_or_default(), rest, (asked, names))
        });
        let (asked, names) = names;
        let (cpu, memory, usb_devices, boot, initramfs_config, firmware, storage) = rest;
        pci::apply_names(&mut pci_devices, &names);
        // Devices whose IDs only the config space had (no uevent) are looked up now.
        let missing: Vec<_> = pci::queries(&pci_devices)
            .into_iter()
            .filter(|q| !asked.contains(q))
            .collect();
        if !missing.is_empty() {
            let more = ids::lookup_in(root, Db::Pci, &names_from, &missing);
            let mut all = names;
            all.vendors.extend(more.vendors);
            all.devices.extend(more.devices);
            all.subsystems.extend(more.subsystems);
            pci::apply_names(&mut pci_devices, &all);
        }

        let groups = iommu::scan_groups(root, &pci_devices);
        let kernel = kernel::scan(root, !groups.is_empty());
        let display = display::scan(root, &kernel.modules);
        let needs = iommu::host_needs(&pci_devices, &display.active_gpus, &storage);
        let iommu_groups = iommu::build_groups(groups, &needs);
        let vfio = vfio::scan(root, kernel.param("vfio-pci.ids"), &pci_devices);

        let input_devices = root
            .list("/dev/input/by-id")
            .into_iter()
            .filter(|n| n.ends_with("-event-kbd") || n.ends_with("-event-mouse"))
            .map(|n| format!("/dev/input/by-id/{n}"))
            .collect();
        let swtpm = root.exists("/usr/bin/swtpm");
        let spice_module_missing = spice_module_missing(root);
        let vendor_reset = reset::vendor_reset_installed(root, &kernel);
        Host {
            vendor_reset,
            input_devices,
            swtpm,
            spice_module_missing,
            pci_devices,
            iommu_groups,
            iommu_enabled: kernel.iommu_enabled,
            kernel_cmdline: kernel.cmdline.clone(),
            boot_loader: boot.as_ref().map(|b| b.kind.name().to_string()),
            initramfs: initramfs_config.as_ref().map(|i| i.kind.name().to_string()),
            cpu,
            usb_devices,
            memory,
            kernel,
            boot,
            initramfs_config,
            display,
            firmware,
            vfio,
            storage,
            names_from,
            problems: root.take_problems(),
        }
    }

    pub fn device(&self, addr: PciAddress) -> Option<&PciDevice> {
        self.pci_devices.iter().find(|d| d.address == addr)
    }

    /// A card as the pages name it: "GeForce RTX 2080 Ti Rev. A (0a:00.0)"; the address alone
    /// when the host has no such device.
    pub fn card_label(&self, addr: PciAddress) -> String {
        match self.device(addr) {
            Some(d) => format!("{} ({})", d.model_name(), addr.short()),
            None => addr.to_string(),
        }
    }

    pub fn group(&self, id: u32) -> Option<&IommuGroup> {
        self.iommu_groups.iter().find(|g| g.id == id)
    }

    pub fn group_of(&self, addr: PciAddress) -> Option<&IommuGroup> {
        self.device(addr)
            .and_then(|d| d.iommu_group)
            .and_then(|g| self.group(g))
    }

    /// What of `devices` goes to a VM with its group: its endpoints (bridges stay with the
    /// host's PCI tree).
    pub fn endpoints(&self, devices: &[PciAddress]) -> Vec<PciAddress> {
        devices
            .iter()
            .copied()
            .filter(|a| self.device(*a).is_some_and(|d| !d.is_bridge()))
            .collect()
    }

    /// The card's IOMMU group, when the card can go to a VM: a graphics card, and its whole
    /// group may be taken ([`Host::may_take`]). The app asks before it offers the card and the
    /// helper before it changes anything; [`Refusal::words`] says why not.
    pub fn vm_gpu(&self, gpu: PciAddress) -> Result<&IommuGroup, Refusal> {
        let dev = self.device(gpu).ok_or(Refusal::NoSuchDevice(gpu))?;
        if !dev.is_gpu() {
            return Err(Refusal::NotAGpu(gpu));
        }
        self.may_take(&[gpu], Allow::Groups)?;
        self.group_for(gpu)
    }

    /// Display controllers (VGA, 3D, other display).
    pub fn gpus(&self) -> impl Iterator<Item = &PciDevice> {
        self.pci_devices.iter().filter(|d| d.is_gpu())
    }

    /// Whether the host shows its screens on this GPU: the boot display (unless a VM driver
    /// holds it) or a connected output. The same rule makes a group not viable
    /// ([`HostNeed::BootGpu`], [`HostNeed::DisplayGpu`]).
    pub fn is_host_display(&self, addr: PciAddress) -> bool {
        self.device(addr)
            .is_some_and(|d| take::is_boot_display(d) || self.display.active_gpus.contains(&addr))
    }

    /// The GPU a user most likely wants to pass through: a GPU the host does not display on,
    /// preferring one that may go ([`Host::vm_gpu`]), then a discrete one (not on the root bus).
    pub fn candidate_gpu(&self) -> Option<&PciDevice> {
        let mut gpus: Vec<&PciDevice> = self
            .gpus()
            .filter(|d| !self.is_host_display(d.address))
            .collect();
        gpus.sort_by_key(|d| {
            let may_go = self.vm_gpu(d.address).is_ok();
            (!may_go, d.address.bus == 0, d.address)
        });
        gpus.first().copied()
    }

    /// The best x86_64 UEFI firmware installed, in QEMU's priority order.
    pub fn ovmf(&self) -> Option<&Firmware> {
        self.firmware
            .iter()
            .find(|f| f.is_x86_64_uefi() && f.installed)
    }
}
