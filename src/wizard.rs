//! The VM wizard's state, without GTK: what the user chose on each page (a [`Draft`]), how each
//! choice is set (`field=value`, the same way for a widget, an app action and a test), and the
//! [`VmSpec`] it makes. The pages only show a draft and send `set` requests.

use passage_core::host::{Host, PciAddress};
use passage_core::i18n::{tr, tr_f};
use passage_core::vm::{
    self, Cdrom, Disk, DiskFormat, DiskSource, Firmware, Network, Purpose, UsbPassthrough, VmSpec,
};

use crate::logic::Selection;

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
}

/// The pool new disks go to, and its directory when Passage has to create it.
pub const POOL: &str = "default";
pub const POOL_PATH: &str = "/var/lib/libvirt/images";

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
    pub hugepages: bool,
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
}

impl Draft {
    /// Sensible choices for this host: half its memory (at most 16 GiB), the cores of one L3
    /// group or half the threads, a new 128 GiB disk, Secure Boot and a TPM where the host can.
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
        Draft {
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
            hugepages: true,
            kvm_hidden: true,
            hyperv: true,
            gpu,
            extra_pci: vec![],
            usb: vec![],
            evdev: vec![],
            boot: vec![BootItem::InstallIso, BootItem::Disk],
            boot_menu: true,
        }
    }

    /// Sets one choice: `field=value`. The error says what was wrong and what is expected.
    pub fn set(&mut self, host: &Host, field: &str, value: &str) -> Result<(), String> {
        let flag = |v: &str| match v {
            "true" | "on" | "yes" => Ok(true),
            "false" | "off" | "no" => Ok(false),
            _ => Err(tr_f(
                "{field}: say on or off, not “{v}”",
                &[("field", field), ("v", v)],
            )),
        };
        let number = |v: &str| {
            v.trim().parse::<u64>().map_err(|_| {
                tr_f(
                    "{field}: “{v}” is not a whole number",
                    &[("field", field), ("v", v)],
                )
            })
        };
        let pci = |v: &str| -> Result<PciAddress, String> {
            v.parse().map_err(|e| format!("{field}: {e}"))
        };
        match field {
            "purpose" => {
                self.purpose = match value {
                    "gaming" => Purpose::Gaming,
                    "ml" => Purpose::Ml,
                    "other" => Purpose::Other,
                    _ => return Err(tr("purpose: gaming, ml or other")),
                };
                self.hyperv = self.purpose == Purpose::Gaming;
            }
            "install-iso" => {
                self.install_iso = value.trim().to_string();
                self.sync_boot();
            }
            "virtio-iso" => self.virtio_iso = value.trim().to_string(),
            "memory-gib" => {
                let g = number(value)?;
                let max = (host.memory.total_kib / 1024 / 1024).max(1);
                if g == 0 || g > max {
                    return Err(tr_f(
                        "Memory: {g} GiB is not between 1 GiB and this host's {max} GiB.",
                        &[("g", &g.to_string()), ("max", &max.to_string())],
                    ));
                }
                self.memory_gib = g;
            }
            "vcpus" => {
                let n = number(value)?;
                let max = host.cpu.logical_cpus.len().max(1) as u64;
                if n == 0 || n > max {
                    return Err(tr_f(
                        "CPUs: {n} is not between 1 and this host's {max}.",
                        &[("n", &n.to_string()), ("max", &max.to_string())],
                    ));
                }
                self.vcpus = n as u32;
            }
            "disk" => {
                self.storage = match value.split_once(':') {
                    Some(("new", size)) => {
                        let (size, raw) = match size.split_once(':') {
                            Some((s, "raw")) => (s, true),
                            Some((s, "qcow2")) => (s, false),
                            Some(_) => return Err(tr("disk: new:SIZE_GIB[:qcow2|raw]")),
                            None => (size, false),
                        };
                        let gib = number(size)?;
                        if !(1..=65536).contains(&gib) {
                            return Err(tr("Disk size: between 1 GiB and 64 TiB."));
                        }
                        Storage::New { gib, raw }
                    }
                    Some(("file", path)) if path.starts_with('/') => Storage::Existing {
                        path: path.to_string(),
                    },
                    Some(("file", _)) => {
                        return Err(tr("Disk image: give the full path, starting with /."))
                    }
                    None if value == "none" => Storage::None,
                    _ => return Err(tr("disk: new:SIZE_GIB[:raw], file:PATH or none")),
                };
                self.sync_boot();
            }
            "name" => self.name = value.trim().to_string(),
            "network" => {
                self.network = match value.split_once(':') {
                    None if value == "nat" => Some(Network::default_nat()),
                    None if value == "none" => None,
                    // The bridge's name is checked with the rest of the VM (Review says what
                    // is wrong with it), so that it can be typed a letter at a time.
                    Some(("bridge", name)) => Some(Network::Bridge {
                        bridge: name.trim().to_string(),
                    }),
                    _ => return Err(tr("network: nat, bridge:NAME or none")),
                };
            }
            "spice" => {
                let on = flag(value)?;
                if on && host.spice_module_missing {
                    return Err(tr("A SPICE display needs QEMU's SPICE module, which this host lacks; System check says how to install it."));
                }
                self.spice = on;
            }
            "firmware" => {
                self.firmware = match value {
                    "auto" => None,
                    v => {
                        let i = number(v)? as usize;
                        if host.firmware.get(i).is_none_or(|f| !f.is_x86_64_uefi()) {
                            return Err(tr(
                                "Firmware: that is not one of this host's UEFI firmware files.",
                            ));
                        }
                        Some(i)
                    }
                };
            }
            "secure-boot" => self.secure_boot = flag(value)?,
            "tpm" => {
                let on = flag(value)?;
                if on && !host.swtpm {
                    return Err(tr("A TPM needs swtpm on this host (package swtpm); System check says how to install it."));
                }
                self.tpm = on;
            }
            "pin-cpus" => self.pin_cpus = flag(value)?,
            "hugepages" => self.hugepages = flag(value)?,
            "kvm-hidden" => self.kvm_hidden = flag(value)?,
            "hyperv" => self.hyperv = flag(value)?,
            "pci-add" | "pci-remove" => {
                let a = pci(value)?;
                if field == "pci-add" {
                    let ok = extra_candidates(host, self.gpu.as_ref())
                        .iter()
                        .any(|(c, _)| *c == a);
                    if !ok {
                        return Err(tr_f(
                            "{dev} cannot go to the VM alone: it is not an endpoint in a group that can go (Devices shows why).",
                            &[("dev", &a.to_string())],
                        ));
                    }
                    if !self.extra_pci.contains(&a) {
                        self.extra_pci.push(a);
                    }
                } else {
                    self.extra_pci.retain(|x| *x != a);
                }
                self.sync_boot();
            }
            "usb-add" | "usb-remove" => toggle_usb(&mut self.usb, field, value)?,
            "evdev-add" | "evdev-remove" => {
                if field == "evdev-add" {
                    if !host.input_devices.iter().any(|d| d == value) {
                        return Err(tr_f(
                            "{dev} is not a keyboard or mouse of this host.",
                            &[("dev", value)],
                        ));
                    }
                    if !self.evdev.iter().any(|d| d == value) {
                        self.evdev.push(value.to_string());
                    }
                } else {
                    self.evdev.retain(|d| d != value);
                }
            }
            "boot-up" | "boot-down" => {
                let i = self
                    .boot
                    .iter()
                    .position(|b| b.id() == value)
                    .ok_or_else(|| tr_f("{item} is not in the boot order.", &[("item", value)]))?;
                let j = if field == "boot-up" {
                    i.checked_sub(1)
                } else {
                    Some(i + 1)
                };
                if let Some(j) = j.filter(|j| *j < self.boot.len()) {
                    self.boot.swap(i, j);
                }
            }
            "boot-menu" => self.boot_menu = flag(value)?,
            _ => {
                return Err(tr_f(
                    "There is no VM setting called {field}.",
                    &[("field", field)],
                ))
            }
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

    /// The VM this draft describes, checked; the error names the page to go back to.
    pub fn spec(&self, host: &Host) -> Result<VmSpec, (Step, String)> {
        let gpu = self.gpu.as_ref().ok_or_else(|| {
            (
                Step::Pci,
                tr("Choose the graphics card for the VM on the Devices page."),
            )
        })?;
        let mut s = vm::suggest(
            host,
            gpu.gpu,
            &self.name,
            self.vcpus,
            self.memory_gib * 1024,
        )
        .map_err(|e| (step_of(&e.field), e.to_string()))?;
        s.purpose = self.purpose;
        s.hugepages = self.hugepages;
        if !self.pin_cpus {
            s.vcpu_pins.clear();
            s.emulator_cpuset = None;
        }
        s.firmware = match self.firmware.and_then(|i| host.firmware.get(i)) {
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
        };
        s.tpm = self.tpm;
        s.network = self.network.clone();
        s.spice = self.spice;
        s.kvm_hidden = self.kvm_hidden;
        if !self.hyperv {
            s.hyperv_vendor_id = None;
        }
        let order = |item: &BootItem| {
            self.boot
                .iter()
                .position(|b| b == item)
                .map(|i| i as u32 + 1)
        };
        for a in &self.extra_pci {
            s.pci.push(vm::PciPassthrough {
                address: *a,
                rom: None,
                boot_order: order(&BootItem::Pci(*a)),
            });
        }
        s.usb = usb_devices(&self.usb);
        s.evdev = self.evdev.clone();
        s.cdroms.clear();
        if !self.install_iso.is_empty() {
            s.cdroms.push(Cdrom {
                iso: self.install_iso.clone(),
                boot_order: order(&BootItem::InstallIso),
            });
        }
        if !self.virtio_iso.is_empty() {
            s.cdroms.push(Cdrom {
                iso: self.virtio_iso.clone(),
                boot_order: None,
            });
        }
        s.disks = match &self.storage {
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
                boot_order: order(&BootItem::Disk),
            }],
            Storage::Existing { path } => vec![Disk {
                source: DiskSource::File { path: path.clone() },
                format: if path.ends_with(".qcow2") {
                    DiskFormat::Qcow2
                } else {
                    DiskFormat::Raw
                },
                boot_order: order(&BootItem::Disk),
            }],
            Storage::None => vec![],
        };
        s.boot_menu = self.boot_menu;
        s.validate()
            .map_err(|e| (step_of(&e.field), e.to_string()))?;
        Ok(s)
    }
}

/// The page where a spec field is chosen.
fn step_of(field: &str) -> Step {
    match field.split('.').next().unwrap_or(field) {
        "name" | "network" => Step::Name,
        "memory_mib" | "vcpus" => Step::Resources,
        "topology" | "vcpu_pins" | "emulator_cpuset" | "hyperv_vendor_id" => Step::Cpu,
        "firmware" => Step::Firmware,
        "pci" | "gpu" => Step::Pci,
        "evdev" | "usb" => Step::Usb,
        "disks" => Step::Storage,
        "cdroms" => Step::Media,
        "boot_order" => Step::Boot,
        _ => Step::Review,
    }
}

fn usb_devices(ids: &[(u16, u16)]) -> Vec<UsbPassthrough> {
    ids.iter()
        .map(|(vendor, product)| UsbPassthrough {
            vendor: *vendor,
            product: *product,
        })
        .collect()
}

/// `usb-add` / `usb-remove` of a VVVV:PPPP id in `list`.
fn toggle_usb(list: &mut Vec<(u16, u16)>, field: &str, value: &str) -> Result<(), String> {
    let id = parse_usb(value).ok_or_else(|| {
        tr_f(
            "{field}: “{v}” is not VVVV:PPPP (hex)",
            &[("field", field), ("v", value)],
        )
    })?;
    if field == "usb-add" {
        if !list.contains(&id) {
            list.push(id);
        }
    } else {
        list.retain(|x| *x != id);
    }
    Ok(())
}

fn parse_usb(v: &str) -> Option<(u16, u16)> {
    let (a, b) = v.split_once(':')?;
    Some((
        u16::from_str_radix(a, 16).ok()?,
        u16::from_str_radix(b, 16).ok()?,
    ))
}

/// PCI devices that can go to the VM besides the card's group: endpoints (NVMe drives, USB
/// controllers, network cards) whose whole group can go, with a label.
pub fn extra_candidates(host: &Host, gpu: Option<&Selection>) -> Vec<(PciAddress, String)> {
    host.iommu_groups
        .iter()
        // A group with a graphics card goes with its card (chosen as a whole).
        .filter(|g| {
            g.viable
                && gpu.is_none_or(|s| s.group != g.id)
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

/// USB devices that can go to the VM (hubs stay), with a label.
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

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::Root;

    fn host() -> (Host, tempfile::TempDir) {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
        (Host::scan(&Root::new(d.path()).expect("root")), d)
    }

    fn tutorial_draft(h: &Host) -> Draft {
        let sel = crate::logic::initial_selection(h);
        let mut d = Draft::new(h, sel);
        for (k, v) in [
            (
                "install-iso",
                "/var/lib/libvirt/images/Win10_22H2_English_x64.iso",
            ),
            ("virtio-iso", "/var/lib/libvirt/images/virtio-win.iso"),
            ("memory-gib", "16"),
            ("vcpus", "12"),
            ("disk", "new:128"),
            ("name", "win10"),
        ] {
            d.set(h, k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        d
    }

    #[test]
    fn the_tutorials_gaming_vm_from_the_wizards_choices() {
        let (h, _d) = host();
        let mut d = tutorial_draft(&h);
        let (nvme, _) = extra_candidates(&h, d.gpu.as_ref())
            .into_iter()
            .find(|(a, _)| h.device(*a).is_some_and(|x| x.is_storage()))
            .expect("an NVMe drive that can go");
        d.set(&h, "pci-add", &nvme.to_string()).expect("nvme");
        let kbd = h.input_devices.first().cloned().expect("a keyboard");
        d.set(&h, "evdev-add", &kbd).expect("evdev");
        // Boot from the NVMe drive first, then the ISO.
        d.set(&h, "boot-up", &nvme.to_string()).expect("up");
        d.set(&h, "boot-up", &nvme.to_string()).expect("up");
        let s = d.spec(&h).expect("a valid VM");
        assert_eq!(s.name, "win10");
        assert_eq!(s.memory_mib, 16 * 1024);
        assert_eq!(s.vcpus, 12);
        assert_eq!(
            s.pci.len(),
            5,
            "the card's four functions and the NVMe drive"
        );
        assert_eq!(
            s.pci
                .iter()
                .find(|p| p.address == nvme)
                .and_then(|p| p.boot_order),
            Some(1)
        );
        assert_eq!(s.cdroms.len(), 2);
        assert_eq!(s.cdroms[0].boot_order, Some(2));
        assert_eq!(s.disks[0].boot_order, Some(3));
        assert_eq!(s.evdev, vec![kbd]);
        let xml = s.to_xml().expect("xml");
        assert!(
            xml.contains("Win10_22H2_English_x64.iso") && xml.contains("<volume")
                || xml.contains("volume="),
            "{xml}"
        );
    }

    #[test]
    fn the_network_and_the_display_are_chosen_in_the_name_step() {
        let (mut h, _d) = host();
        let mut d = tutorial_draft(&h);
        // By default: libvirt's NAT network, and a SPICE display where QEMU has the module.
        let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
        assert!(xml.contains("<interface type='network'>"), "{xml}");
        assert!(xml.contains("<graphics type='spice'"), "{xml}");

        d.set(&h, "network", "bridge:br0").expect("bridge");
        d.set(&h, "spice", "off").expect("no display");
        let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
        assert!(xml.contains("<source bridge='br0'/>"), "{xml}");
        assert!(!xml.contains("<graphics"), "{xml}");

        // A bridge's name may be typed a letter at a time; Review says what is wrong and
        // sends the user back to this step.
        d.set(&h, "network", "bridge:").expect("typing");
        let (step, e) = d.spec(&h).expect_err("no bridge name");
        assert_eq!(step, Step::Name);
        assert!(e.contains("network.bridge"), "{e}");
        d.set(&h, "network", "bridge:br0; rm -rf /")
            .expect("typing");
        assert_eq!(d.spec(&h).map(|_| ()).map_err(|(s, _)| s), Err(Step::Name));

        d.set(&h, "network", "none").expect("no network");
        let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
        assert!(!xml.contains("<interface"), "{xml}");

        // Without QEMU's SPICE module the display cannot be switched on.
        h.spice_module_missing = true;
        let e = d.set(&h, "spice", "on").expect_err("no module");
        assert!(e.contains("SPICE module"), "{e}");
        assert!(!d.spice);
    }

    #[test]
    fn bad_choices_are_refused_with_the_reason_and_change_nothing() {
        let (h, _d) = host();
        let mut d = tutorial_draft(&h);
        let before = d.clone();
        for (k, v, says) in [
            ("memory-gib", "0", "between 1 GiB"),
            ("memory-gib", "lots", "whole number"),
            ("vcpus", "4096", "between 1 and"),
            ("disk", "file:relative.img", "full path"),
            ("disk", "new:0", "between 1 GiB"),
            ("pci-add", "0000:0d:00.0", "cannot go to the VM"),
            ("usb-add", "zz:1", "VVVV:PPPP"),
            ("evdev-add", "/dev/input/by-id/nope", "not a keyboard"),
            ("boot-up", "cdrom9", "not in the boot order"),
            ("frobnicate", "1", "no VM setting"),
            ("network", "wifi", "nat, bridge:NAME or none"),
            ("spice", "maybe", "say on or off"),
        ] {
            let e = d.set(&h, k, v).expect_err(k);
            assert!(e.contains(says), "{k}={v}: {e}");
        }
        assert_eq!(d, before);
        d.set(&h, "name", "bad name!")
            .expect("any text is kept while typing");
        let (step, e) = d.spec(&h).expect_err("an invalid name");
        assert_eq!(step, Step::Name);
        assert!(e.contains("letters"), "{e}");
    }

    #[test]
    fn without_a_card_the_wizard_sends_the_user_to_devices() {
        let (h, _d) = host();
        let d = Draft::new(&h, None);
        let (step, e) = d.spec(&h).expect_err("no GPU");
        assert_eq!(step, Step::Pci);
        assert!(e.contains("Devices"), "{e}");
    }

    #[test]
    fn steps_go_forward_and_back_in_order() {
        assert_eq!(Step::Media.prev(), None);
        assert_eq!(Step::Media.next(), Some(Step::Resources));
        assert_eq!(Step::Review.next(), None);
        let mut ids: Vec<&str> = Step::ALL.iter().map(|s| s.id()).collect();
        ids.dedup();
        assert_eq!(ids.len(), Step::ALL.len(), "each step has its own page id");
    }
}

/// Editing an existing VM's passed-through devices: the devices are read from its XML, and
/// saving splices only them back (everything else in the domain stays byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassthroughEdit {
    pub name: String,
    pub xml: String,
    pub pci: Vec<PciAddress>,
    pub usb: Vec<(u16, u16)>,
}

impl PassthroughEdit {
    pub fn from_xml(name: &str, xml: &str) -> Result<Self, String> {
        let i = vm::import::import(xml).map_err(|e| e.to_string())?;
        Ok(PassthroughEdit {
            name: name.to_string(),
            xml: xml.to_string(),
            pci: i.pci.iter().map(|p| p.address).collect(),
            usb: i.usb.iter().map(|u| (u.vendor, u.product)).collect(),
        })
    }

    /// `group-add=ID` / `group-remove=ID` (a whole IOMMU group), `pci-add` / `pci-remove`
    /// (one endpoint whose group can go), `usb-add` / `usb-remove` (VVVV:PPPP).
    pub fn set(&mut self, host: &Host, field: &str, value: &str) -> Result<(), String> {
        match field {
            "group-add" | "group-remove" => {
                let id: u32 = value
                    .parse()
                    .map_err(|_| tr_f("“{v}” is not a group number", &[("v", value)]))?;
                let g = host
                    .group(id)
                    .ok_or_else(|| tr_f("There is no IOMMU group {id}.", &[("id", value)]))?;
                let members = host.endpoints(&g.devices);
                if field == "group-add" {
                    if !g.viable {
                        return Err(tr_f(
                            "Group {id} cannot go to a VM (Devices says why).",
                            &[("id", value)],
                        ));
                    }
                    for a in members {
                        if !self.pci.contains(&a) {
                            self.pci.push(a);
                        }
                    }
                } else {
                    self.pci.retain(|a| !members.contains(a));
                }
            }
            "pci-add" | "pci-remove" => {
                let a: PciAddress = value.parse().map_err(|e| format!("{field}: {e}"))?;
                if field == "pci-add" {
                    if !extra_candidates(host, None).iter().any(|(c, _)| *c == a) {
                        return Err(tr_f(
                            "{dev} cannot go to the VM alone: it is not an endpoint in a group that can go (Devices shows why).",
                            &[("dev", value)],
                        ));
                    }
                    if !self.pci.contains(&a) {
                        self.pci.push(a);
                    }
                } else {
                    self.pci.retain(|x| *x != a);
                }
            }
            "usb-add" | "usb-remove" => toggle_usb(&mut self.usb, field, value)?,
            _ => {
                return Err(tr_f(
                    "There is no device setting called {field}.",
                    &[("field", field)],
                ))
            }
        }
        Ok(())
    }

    /// The domain with its passthrough devices replaced, nothing else changed.
    pub fn edited_xml(&self) -> Result<String, String> {
        let pci: Vec<vm::PciPassthrough> = self
            .pci
            .iter()
            .map(|a| vm::PciPassthrough {
                address: *a,
                rom: None,
                boot_order: None,
            })
            .collect();
        let usb = usb_devices(&self.usb);
        vm::import::replace_passthrough(&self.xml, &pci, &usb).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod edit_tests {
    use super::*;
    use passage_core::Root;

    #[test]
    fn an_existing_vms_devices_are_swapped_and_nothing_else_changes() {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
        let h = Host::scan(&Root::new(d.path()).expect("root"));
        let mut draft = Draft::new(&h, crate::logic::initial_selection(&h));
        draft
            .set(&h, "install-iso", "/isos/win10.iso")
            .expect("iso");
        let xml = draft.spec(&h).expect("spec").to_xml().expect("xml");
        let mut e = PassthroughEdit::from_xml("win10", &xml).expect("import");
        assert_eq!(e.pci.len(), 4, "the card's group");
        e.set(&h, "group-remove", "28").expect("remove");
        assert!(e.pci.is_empty());
        e.set(&h, "pci-add", "0000:04:00.0").expect("nvme");
        e.set(&h, "usb-add", "046d:c52b").expect("usb");
        assert!(e
            .set(&h, "group-add", "31")
            .unwrap_err()
            .contains("cannot go"));
        let out = e.edited_xml().expect("edited");
        assert!(
            out.contains("bus='0x04'") && !out.contains("bus='0x0a'"),
            "{out}"
        );
        assert!(out.contains("0xc52b"), "{out}");
        assert!(out.contains("/isos/win10.iso"), "the rest stays");
    }
}
