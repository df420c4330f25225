//! The VM wizard's draft, without a front end: what the user chose on each page, the typed
//! [`Choice`] that changes it (parsed once from `field=value` where text comes in: a GTK
//! action, `passagectl vm new --set`), and the [`VmSpec`] it makes. The app's wizard and
//! `passagectl vm new` share all of it, so they make the same VM.

use super::hugepages::room as hugepage_room;
pub use super::hugepages::HugepageMode;
use super::session::{GpuMode, SessionSettings};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};

use super::devices::{extra_candidates, parse_usb, Selection};
use super::looking_glass::{Backing, Monitor};
use super::tuning::{windows_set, Hv};
use super::{
    err, Cdrom, Disk, DiskFormat, DiskSource, Firmware, Network, PciPassthrough, Purpose,
    UsbPassthrough, VmError, VmSpec,
};

/// The VM's disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A new image in libvirt's default pool.
    New {
        gib: u64,
        raw: bool,
    },
    /// An image that exists.
    Existing {
        path: String,
    },
    None,
}

/// Something the VM can start from, in the boot order list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootItem {
    InstallIso,
    Disk,
    Pci(PciAddress),
}

impl BootItem {
    pub fn id(&self) -> String {
        match self {
            BootItem::InstallIso => "iso".into(),
            BootItem::Disk => "disk".into(),
            BootItem::Pci(a) => a.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<BootItem> {
        match s {
            "iso" => Some(BootItem::InstallIso),
            "disk" => Some(BootItem::Disk),
            a => a.parse().ok().map(BootItem::Pci),
        }
    }
}

/// The pool new disks go to, and its directory when Passage has to create it.
pub const POOL: &str = "default";
pub const POOL_PATH: &str = "/var/lib/libvirt/images";

/// One choice in the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    Purpose(Purpose),
    InstallIso(String),
    VirtioIso(String),
    MemoryGib(u64),
    Vcpus(u64),
    Disk(Storage),
    Name(String),
    /// libvirt's NAT network, a host bridge (its name may be typed a letter at a time), none.
    Network(Option<Network>),
    Spice(bool),
    /// Index into the host's firmware list; `None`: libvirt chooses.
    Firmware(Option<usize>),
    SecureBoot(bool),
    Tpm(bool),
    PinCpus(bool),
    Hugepages(HugepageMode),
    /// When the card goes to vfio-pci: from boot on, or only while the VM runs.
    GpuMode(GpuMode),
    /// Keep the host's processes off the VM's pinned CPUs while it runs.
    IsolateCpus(bool),
    KvmHidden(bool),
    Hyperv(bool),
    AddPci(PciAddress),
    RemovePci(PciAddress),
    AddUsb(u16, u16),
    RemoveUsb(u16, u16),
    AddEvdev(String),
    RemoveEvdev(String),
    BootEarlier(BootItem),
    BootLater(BootItem),
    BootMenu(bool),
    /// A ROM file for the card instead of its own (empty: the card's own).
    RomFile(String),
    /// The card's ROM BAR on (the guest sees a ROM) or off.
    RomBar(bool),
    /// Looking Glass for this monitor (its shared memory sized for it), or none.
    LookingGlass(Option<Monitor>),
}

/// The fields `Choice::parse` knows, for help texts.
pub const FIELDS: &[&str] = &[
    "purpose",
    "install-iso",
    "virtio-iso",
    "memory-gib",
    "vcpus",
    "disk",
    "name",
    "network",
    "spice",
    "firmware",
    "secure-boot",
    "tpm",
    "pin-cpus",
    "hugepages",
    "gpu-mode",
    "isolate-cpus",
    "kvm-hidden",
    "hyperv",
    "pci-add",
    "pci-remove",
    "usb-add",
    "usb-remove",
    "evdev-add",
    "evdev-remove",
    "boot-up",
    "boot-down",
    "boot-menu",
    "rom-file",
    "rom-bar",
    "looking-glass",
];

impl Choice {
    /// A choice from its text form, `field` = `value`; the error says what was expected.
    pub fn parse(field: &str, value: &str) -> Result<Choice, VmError> {
        let bad = |why: String| err(field, why);
        let flag = |v: &str| match v {
            "true" | "on" | "yes" => Ok(true),
            "false" | "off" | "no" => Ok(false),
            _ => Err(bad(tr_f("say on or off, not “{v}”", &[("v", v)]))),
        };
        let number = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| bad(tr_f("“{v}” is not a whole number", &[("v", v)])))
        };
        let pci = |v: &str| v.parse::<PciAddress>().map_err(|e| bad(e.to_string()));
        let usb = |v: &str| {
            parse_usb(v).ok_or_else(|| bad(tr_f("“{v}” is not VVVV:PPPP (hex)", &[("v", v)])))
        };
        let boot = |v: &str| {
            BootItem::parse(v)
                .ok_or_else(|| bad(tr_f("“{v}” is not iso, disk or a PCI address", &[("v", v)])))
        };
        Ok(match field {
            "purpose" => Choice::Purpose(match value {
                "gaming" => Purpose::Gaming,
                "ml" => Purpose::Ml,
                "other" => Purpose::Other,
                _ => return Err(bad(tr("gaming, ml or other"))),
            }),
            "install-iso" => Choice::InstallIso(value.trim().to_string()),
            "virtio-iso" => Choice::VirtioIso(value.trim().to_string()),
            "memory-gib" => Choice::MemoryGib(number(value)?),
            "vcpus" => Choice::Vcpus(number(value)?),
            "disk" => Choice::Disk(parse_storage(value).map_err(bad)?),
            "name" => Choice::Name(value.trim().to_string()),
            "network" => Choice::Network(match value.split_once(':') {
                None if value == "nat" => Some(Network::default_nat()),
                None if value == "none" => None,
                Some(("bridge", name)) => Some(Network::Bridge {
                    bridge: name.trim().to_string(),
                }),
                _ => return Err(bad(tr("nat, bridge:NAME or none"))),
            }),
            "spice" => Choice::Spice(flag(value)?),
            "firmware" => Choice::Firmware(match value {
                "auto" => None,
                v => Some(number(v)? as usize),
            }),
            "secure-boot" => Choice::SecureBoot(flag(value)?),
            "tpm" => Choice::Tpm(flag(value)?),
            "pin-cpus" => Choice::PinCpus(flag(value)?),
            "hugepages" => Choice::Hugepages(
                HugepageMode::from_word(value)
                    .or_else(|| match flag(value) {
                        Ok(true) => Some(HugepageMode::AtStart),
                        Ok(false) => Some(HugepageMode::Off),
                        Err(_) => None,
                    })
                    .ok_or_else(|| bad(tr("start, boot or off")))?,
            ),
            "gpu-mode" => Choice::GpuMode(
                GpuMode::from_word(value).ok_or_else(|| bad(tr("boot, running or only-gpu")))?,
            ),
            "isolate-cpus" => Choice::IsolateCpus(flag(value)?),
            "kvm-hidden" => Choice::KvmHidden(flag(value)?),
            "hyperv" => Choice::Hyperv(flag(value)?),
            "pci-add" => Choice::AddPci(pci(value)?),
            "pci-remove" => Choice::RemovePci(pci(value)?),
            "usb-add" => usb(value).map(|(v, p)| Choice::AddUsb(v, p))?,
            "usb-remove" => usb(value).map(|(v, p)| Choice::RemoveUsb(v, p))?,
            "evdev-add" => Choice::AddEvdev(value.to_string()),
            "evdev-remove" => Choice::RemoveEvdev(value.to_string()),
            "boot-up" => Choice::BootEarlier(boot(value)?),
            "boot-down" => Choice::BootLater(boot(value)?),
            "boot-menu" => Choice::BootMenu(flag(value)?),
            "rom-file" => Choice::RomFile(value.trim().to_string()),
            "rom-bar" => Choice::RomBar(flag(value)?),
            "looking-glass" if value == "off" => Choice::LookingGlass(None),
            "looking-glass" => Choice::LookingGlass(Some(Monitor::parse(value)?)),
            _ => {
                return Err(bad(tr_f(
                    "There is no VM setting called {field}; the settings are: {all}",
                    &[("field", field), ("all", &FIELDS.join(", "))],
                )))
            }
        })
    }
}

fn parse_storage(value: &str) -> Result<Storage, String> {
    let gib = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|g| (1..=65536).contains(g))
            .ok_or_else(|| tr("Disk size: between 1 GiB and 64 TiB."))
    };
    match value.split_once(':') {
        Some(("new", size)) => {
            let (size, raw) = match size.split_once(':') {
                Some((s, "raw")) => (s, true),
                Some((s, "qcow2")) => (s, false),
                Some(_) => return Err(tr("new:SIZE_GIB[:qcow2|raw]")),
                None => (size, false),
            };
            Ok(Storage::New {
                gib: gib(size)?,
                raw,
            })
        }
        Some(("file", path)) if path.starts_with('/') => Ok(Storage::Existing {
            path: path.to_string(),
        }),
        Some(("file", _)) => Err(tr("Disk image: give the full path, starting with /.")),
        None if value == "none" => Ok(Storage::None),
        _ => Err(tr("new:SIZE_GIB[:raw], file:PATH or none")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub purpose: Purpose,
    pub install_iso: String,
    pub virtio_iso: String,
    pub memory_gib: u64,
    pub vcpus: u32,
    pub storage: Storage,
    pub name: String,
    /// libvirt's NAT network, a host bridge, or no network card.
    pub network: Option<Network>,
    /// A SPICE display (a window on this computer), besides the card's own outputs.
    pub spice: bool,
    /// Index into the host's firmware list for an explicit OVMF pair; `None`: libvirt chooses.
    pub firmware: Option<usize>,
    pub secure_boot: bool,
    pub tpm: bool,
    pub pin_cpus: bool,
    /// Whether the VM's memory is on hugepages, and who reserves them.
    pub hugepages: HugepageMode,
    /// When the card goes to vfio-pci.
    pub gpu_mode: GpuMode,
    pub isolate_cpus: bool,
    pub kvm_hidden: bool,
    pub hyperv: bool,
    /// The card and its group (from the Devices page).
    pub gpu: Option<Selection>,
    /// More PCI devices: NVMe drives, USB controllers…
    pub extra_pci: Vec<PciAddress>,
    pub usb: Vec<(u16, u16)>,
    pub evdev: Vec<String>,
    /// What the VM starts from, first first.
    pub boot: Vec<BootItem>,
    pub boot_menu: bool,
    /// The Hyper-V enlightenments the host's libvirt and QEMU support (from domain
    /// capabilities); `None` until a front end has asked, then Passage assumes the Proxmox set.
    pub hyperv_supported: Option<Vec<Hv>>,
    /// A ROM file for the card (the user's path; empty: the card's own ROM).
    pub rom_file: String,
    /// The card's ROM BAR off: the guest sees no ROM of the card's.
    pub rom_bar_off: bool,
    /// Looking Glass for this monitor, or none.
    pub looking_glass: Option<Monitor>,
    /// Where its shared memory lives on this host (the front end reads it: kvmfr where the
    /// module is loaded, else /dev/shm).
    pub lg_backing: Backing,
}

impl Draft {
    /// Sensible choices for this host: half its memory (at most 16 GiB), half its threads in
    /// whole cores, a new 128 GiB disk, Secure Boot and a TPM where the host can.
    pub fn new(host: &Host, gpu: Option<Selection>) -> Draft {
        let mem_gib = (host.memory.total_kib / 1024 / 1024 / 2).clamp(2, 16);
        let threads = host.cpu.threads_per_core.max(1) as u32;
        let logical = host.cpu.logical_cpus.len() as u32;
        let mut vcpus = (logical / 2).max(threads);
        vcpus -= vcpus % threads;
        let secure = host
            .firmware
            .iter()
            .any(|f| f.installed && f.is_x86_64_uefi() && f.secure_boot());
        let hugepages = if hugepage_room(host, mem_gib).is_ok() {
            HugepageMode::AtStart
        } else {
            HugepageMode::Off
        };
        let gpu_mode = gpu
            .as_ref()
            .map_or(GpuMode::AtBoot, |s| GpuMode::default_for(host, s.gpu));
        let mut d = Draft {
            purpose: Purpose::Gaming,
            install_iso: String::new(),
            virtio_iso: String::new(),
            memory_gib: mem_gib,
            vcpus: vcpus.max(1),
            storage: Storage::New {
                gib: 128,
                raw: false,
            },
            name: "win10".into(),
            network: Some(Network::default_nat()),
            spice: !host.spice_module_missing,
            firmware: None,
            secure_boot: secure,
            tpm: secure && host.swtpm,
            pin_cpus: true,
            hugepages,
            gpu_mode,
            isolate_cpus: false,
            kvm_hidden: true,
            hyperv: true,
            gpu,
            extra_pci: vec![],
            usb: vec![],
            evdev: vec![],
            boot: vec![BootItem::InstallIso, BootItem::Disk],
            boot_menu: true,
            hyperv_supported: None,
            rom_file: String::new(),
            rom_bar_off: false,
            looking_glass: None,
            lg_backing: Backing::Shm,
        };
        d.own_input(host);
        d
    }

    /// A VM of the only-GPU mode gets the host's first keyboard and mouse by evdev when it has
    /// no keyboard or mouse of its own yet (evdev or USB): while it runs, the host's screen
    /// is off and nothing else reaches it.
    fn own_input(&mut self, host: &Host) {
        if self.gpu_mode == GpuMode::OnlyGpu && self.evdev.is_empty() && self.usb.is_empty() {
            self.evdev = super::express::first_inputs(host);
        }
    }

    /// Why a VM of the only-GPU mode cannot be made yet: it has neither evdev input nor a USB
    /// device (the field is `evdev`: the wizard's USB Devices step).
    fn input_needed(&self) -> Result<(), VmError> {
        if self.gpu_mode != GpuMode::OnlyGpu || !self.evdev.is_empty() || !self.usb.is_empty() {
            return Ok(());
        }
        Err(err(
            "evdev",
            tr("A VM in the only-GPU mode needs its own keyboard and mouse: while it runs, this computer's desktop is stopped. On USB Devices, add a keyboard and a mouse by evdev, or a USB keyboard or mouse."),
        ))
    }

    /// Takes one choice, checked against the host; a refused choice changes nothing.
    pub fn set(&mut self, host: &Host, c: Choice) -> Result<(), VmError> {
        match c {
            Choice::Purpose(p) => {
                self.purpose = p;
                self.hyperv = p == Purpose::Gaming;
            }
            Choice::InstallIso(p) => {
                self.install_iso = p;
                self.sync_boot();
            }
            Choice::VirtioIso(p) => self.virtio_iso = p,
            Choice::MemoryGib(g) => {
                let max = (host.memory.total_kib / 1024 / 1024).max(1);
                if g == 0 || g > max {
                    return Err(err(
                        "memory-gib",
                        tr_f(
                            "Memory: {g} GiB is not between 1 GiB and this host's {max} GiB.",
                            &[("g", &g.to_string()), ("max", &max.to_string())],
                        ),
                    ));
                }
                self.memory_gib = g;
            }
            Choice::Vcpus(n) => {
                let max = host.cpu.logical_cpus.len().max(1) as u64;
                if n == 0 || n > max {
                    return Err(err(
                        "vcpus",
                        tr_f(
                            "CPUs: {n} is not between 1 and this host's {max}.",
                            &[("n", &n.to_string()), ("max", &max.to_string())],
                        ),
                    ));
                }
                self.vcpus = n as u32;
            }
            Choice::Disk(s) => {
                self.storage = s;
                self.sync_boot();
            }
            Choice::Name(n) => self.name = n,
            Choice::Network(n) => self.network = n,
            Choice::Spice(on) => {
                if on && host.spice_module_missing {
                    return Err(err("spice", tr("A SPICE display needs QEMU's SPICE module, which this host lacks; System check says how to install it.")));
                }
                self.spice = on;
            }
            Choice::Firmware(f) => {
                if let Some(i) = f {
                    if host.firmware.get(i).is_none_or(|f| !f.is_x86_64_uefi()) {
                        return Err(err(
                            "firmware",
                            tr("Firmware: that is not one of this host's UEFI firmware files."),
                        ));
                    }
                }
                self.firmware = f;
            }
            Choice::SecureBoot(on) => self.secure_boot = on,
            Choice::Tpm(on) => {
                if on && !host.swtpm {
                    return Err(err("tpm", tr("A TPM needs swtpm on this host (package swtpm); System check says how to install it.")));
                }
                self.tpm = on;
            }
            Choice::PinCpus(on) => self.pin_cpus = on,
            Choice::GpuMode(m) => {
                // A mode that cannot take the card (from boot on for the host's only card
                // showing the screen) is refused with the reason.
                if let Some(sel) = &self.gpu {
                    super::devices::choose_in(host, sel.gpu, m)
                        .map_err(|why| err("gpu-mode", why))?;
                }
                self.gpu_mode = m;
                self.own_input(host);
            }
            Choice::IsolateCpus(on) => self.isolate_cpus = on,
            Choice::Hugepages(m) => self.hugepages = m,
            Choice::KvmHidden(on) => self.kvm_hidden = on,
            Choice::Hyperv(on) => self.hyperv = on,
            Choice::AddPci(a) => {
                let group = self.gpu.as_ref().map(|s| s.group);
                if !extra_candidates(host, group).iter().any(|(c, _)| *c == a) {
                    return Err(err("pci-add", tr_f(
                        "{dev} cannot go to the VM alone: it is not an endpoint in a group that can go (Devices shows why).",
                        &[("dev", &a.to_string())],
                    )));
                }
                if !self.extra_pci.contains(&a) {
                    self.extra_pci.push(a);
                }
                self.sync_boot();
            }
            Choice::RemovePci(a) => {
                self.extra_pci.retain(|x| *x != a);
                self.sync_boot();
            }
            Choice::AddUsb(v, p) => {
                if !self.usb.contains(&(v, p)) {
                    self.usb.push((v, p));
                }
            }
            Choice::RemoveUsb(v, p) => self.usb.retain(|x| *x != (v, p)),
            Choice::AddEvdev(dev) => {
                if !host.input_devices.contains(&dev) {
                    return Err(err(
                        "evdev-add",
                        tr_f(
                            "{dev} is not a keyboard or mouse of this host.",
                            &[("dev", &dev)],
                        ),
                    ));
                }
                if !self.evdev.contains(&dev) {
                    self.evdev.push(dev);
                }
            }
            Choice::RemoveEvdev(dev) => self.evdev.retain(|d| *d != dev),
            Choice::BootEarlier(item) => self.move_boot(&item, true)?,
            Choice::BootLater(item) => self.move_boot(&item, false)?,
            Choice::BootMenu(on) => self.boot_menu = on,
            // Read and walked when the VM is made (a path being typed is not a file yet).
            Choice::RomFile(p) => self.rom_file = p,
            Choice::RomBar(on) => self.rom_bar_off = !on,
            Choice::LookingGlass(m) => self.looking_glass = m,
        }
        Ok(())
    }

    /// `field=value` as text: parsed, then set.
    pub fn set_text(&mut self, host: &Host, field: &str, value: &str) -> Result<(), VmError> {
        let c = Choice::parse(field, value)?;
        self.set(host, c)
    }

    /// Who reserves the VM's hugepages, or why they are off, in words.
    pub fn hugepages_why(&self, host: &Host) -> String {
        super::hugepages::why(host, self.hugepages, self.memory_gib)
    }

    /// What Host setup must add for this VM: hugepages reserved at boot.
    pub fn boot_intent(&self) -> Option<crate::plan::Intent> {
        super::hugepages::boot_intent(self.hugepages, self.memory_gib)
    }

    fn move_boot(&mut self, item: &BootItem, earlier: bool) -> Result<(), VmError> {
        let i = self.boot.iter().position(|b| b == item).ok_or_else(|| {
            err(
                if earlier { "boot-up" } else { "boot-down" },
                tr_f("{item} is not in the boot order.", &[("item", &item.id())]),
            )
        })?;
        let j = if earlier {
            i.checked_sub(1)
        } else {
            Some(i + 1)
        };
        if let Some(j) = j.filter(|j| *j < self.boot.len()) {
            self.boot.swap(i, j);
        }
        Ok(())
    }

    /// Keeps the boot list to what the VM has: the ISO, the disk, passed-through NVMe drives.
    fn sync_boot(&mut self) {
        let mut have = vec![];
        if !self.install_iso.is_empty() {
            have.push(BootItem::InstallIso);
        }
        if self.storage != Storage::None {
            have.push(BootItem::Disk);
        }
        have.extend(self.extra_pci.iter().map(|a| BootItem::Pci(*a)));
        self.boot.retain(|b| have.contains(b));
        for h in have {
            if !self.boot.contains(&h) {
                self.boot.push(h);
            }
        }
    }

    /// The new disk image's volume name.
    pub fn volume_name(&self) -> String {
        let ext = match self.storage {
            Storage::New { raw: true, .. } => "img",
            _ => "qcow2",
        };
        format!("{}.{ext}", self.name)
    }

    fn boot_order(&self, item: &BootItem) -> Option<u32> {
        self.boot
            .iter()
            .position(|b| b == item)
            .map(|i| i as u32 + 1)
    }

    /// The ROM file the card is given, read and walked (`None`: the card's own ROM, or none
    /// with the BAR off); the front end has the helper place it before the VM is defined.
    pub fn rom(&self) -> Result<Option<super::settings::RomFile>, VmError> {
        if self.rom_file.is_empty() || self.rom_bar_off {
            return Ok(None);
        }
        super::settings::read_rom_file(&self.rom_file).map(Some)
    }

    /// The domain XML of [`Self::spec`], with the card's `<rom>` and Looking Glass as chosen
    /// (core's settings editor, as `passagectl vm edit --rom` and `--looking-glass` write them).
    pub fn domain_xml(&self, host: &Host) -> Result<String, VmError> {
        let xml = self.spec(host)?.to_xml()?;
        let file = self.rom()?.map(|f| f.placed);
        let rom = match &self.gpu {
            Some(gpu) if file.is_some() || self.rom_bar_off => Some(super::settings::RomEdit {
                card: gpu.gpu,
                file: file.map(Some),
                bar: self.rom_bar_off.then_some(false),
            }),
            _ => None,
        };
        let c = super::settings::Changes {
            rom,
            looking_glass: self.looking_glass.map(|m| Some((m, self.lg_backing))),
            ..Default::default()
        };
        if c.is_empty() {
            return Ok(xml);
        }
        Ok(super::settings::edit(&xml, &c, false)?.xml)
    }

    /// The VM this draft describes, checked; the error names the spec field (`gpu` when no
    /// card is chosen), which the app maps to the step where it is chosen.
    pub fn spec(&self, host: &Host) -> Result<VmSpec, VmError> {
        let gpu = self.gpu.as_ref().ok_or_else(|| {
            err(
                "gpu",
                tr("Choose the graphics card for the VM on the Devices page."),
            )
        })?;
        let mut s = super::suggest(
            host,
            gpu.gpu,
            &self.name,
            self.vcpus,
            self.memory_gib * 1024,
        )?;
        s.purpose = self.purpose;
        s.hugepages = self.hugepages != HugepageMode::Off;
        s.session = SessionSettings {
            gpu_mode: self.gpu_mode,
            hugepages: self.hugepages == HugepageMode::AtStart,
            isolate_cpus: self.isolate_cpus && self.pin_cpus,
        };
        if !self.pin_cpus {
            s.vcpu_pins.clear();
            s.emulator_cpuset = None;
        }
        s.firmware = self.firmware_choice(host);
        s.tpm = self.tpm;
        s.network = self.network.clone();
        s.spice = self.spice;
        s.kvm_hidden = self.kvm_hidden;
        if self.hyperv {
            s.hyperv = windows_set(self.hyperv_supported.as_deref());
        } else {
            s.hyperv_vendor_id = None;
        }
        for a in &self.extra_pci {
            s.pci.push(PciPassthrough {
                address: *a,
                rom: None,
                boot_order: self.boot_order(&BootItem::Pci(*a)),
            });
        }
        s.devices_seen = super::seen(host, &s.pci);
        s.usb = self
            .usb
            .iter()
            .map(|(vendor, product)| UsbPassthrough {
                vendor: *vendor,
                product: *product,
            })
            .collect();
        self.input_needed()?;
        s.evdev = self.evdev.clone();
        s.cdroms = self.cdroms();
        s.disks = self.disks();
        s.boot_menu = self.boot_menu;
        s.validate()?;
        Ok(s)
    }

    fn firmware_choice(&self, host: &Host) -> Firmware {
        match self.firmware.and_then(|i| host.firmware.get(i)) {
            Some(f) => Firmware::Explicit {
                code: f.executable.clone().unwrap_or_default(),
                vars_template: f.nvram_template.clone().unwrap_or_default(),
                nvram: format!("/var/lib/libvirt/qemu/nvram/{}_VARS.fd", self.name),
                secure_boot: self.secure_boot && f.secure_boot(),
            },
            None => Firmware::Auto {
                secure_boot: self.secure_boot,
                enrolled_keys: self.secure_boot,
            },
        }
    }

    fn cdroms(&self) -> Vec<Cdrom> {
        let mut out = vec![];
        if !self.install_iso.is_empty() {
            out.push(Cdrom {
                iso: self.install_iso.clone(),
                boot_order: self.boot_order(&BootItem::InstallIso),
            });
        }
        if !self.virtio_iso.is_empty() {
            out.push(Cdrom {
                iso: self.virtio_iso.clone(),
                boot_order: None,
            });
        }
        out
    }

    fn disks(&self) -> Vec<Disk> {
        let boot_order = self.boot_order(&BootItem::Disk);
        match &self.storage {
            Storage::New { raw, .. } => vec![Disk {
                source: DiskSource::Volume {
                    pool: POOL.into(),
                    volume: self.volume_name(),
                },
                format: if *raw {
                    DiskFormat::Raw
                } else {
                    DiskFormat::Qcow2
                },
                boot_order,
            }],
            Storage::Existing { path } => vec![Disk {
                source: DiskSource::File { path: path.clone() },
                format: if path.ends_with(".qcow2") {
                    DiskFormat::Qcow2
                } else {
                    DiskFormat::Raw
                },
                boot_order,
            }],
            Storage::None => vec![],
        }
    }
}
