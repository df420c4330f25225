//! The VM description Passage builds, as libvirt domain XML and as a bare QEMU command line.
//!
//! A [`VmSpec`] is what the wizard collects (install media, memory and CPUs, storage, firmware,
//! the GPU's IOMMU group, USB devices, boot order). [`VmSpec::validate`] checks everything a
//! caller can put in it; [`VmSpec::to_xml`] renders the domain the public guides build by hand
//! in virt-manager plus the XML edits they add (kvm hidden, Hyper-V vendor_id, hugepages,
//! pinning), and [`VmSpec::qemu_args`] the equivalent `qemu-system-x86_64` invocation.

pub mod devices;
pub mod diagnose;
pub mod domain;
pub mod draft;
pub mod edit;
pub mod express;
pub mod hugepages;
pub mod import;
pub mod installer;
pub mod labels;
pub mod looking_glass;
pub mod looking_glass_check;
pub mod number;
pub mod preflight;
mod qemu;
pub mod remedy_edit;
pub mod rom_check;
pub mod session;
pub mod session_edit;
pub mod settings;
pub mod tuning;
pub mod unattended;
pub mod verify;
pub(crate) mod xml;

pub use domain::Domain;

use serde::{Deserialize, Serialize};

use crate::host::PciAddress;
use crate::i18n::{tr, tr_f, tr_n};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct VmError {
    pub field: String,
    pub why: String,
}

/// A value as the errors quote it: Rust's debug form (quoted, control characters escaped),
/// at most 60 characters of it.
fn quoted(s: &str) -> String {
    format!("{:?}", s.chars().take(60).collect::<String>())
}

fn err(field: &str, why: impl Into<String>) -> VmError {
    VmError {
        field: field.to_string(),
        why: why.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    #[default]
    Gaming,
    Ml,
    Other,
}

impl Purpose {
    /// What Passage's metadata word (`gaming`, `ml`, `other`) says, in the user's words; a
    /// word Passage does not know is shown as it is.
    pub fn words_of(word: &str) -> String {
        match word {
            "gaming" => crate::i18n::tr("gaming"),
            "ml" => crate::i18n::tr("machine learning"),
            "other" => crate::i18n::tr("other use"),
            w => w.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DomainType {
    /// Hardware virtualization (the normal case).
    #[default]
    Kvm,
    /// Software emulation (tests on machines whose KVM cannot boot firmware guests).
    Qemu,
}

/// UEFI firmware: libvirt's auto-selection from the descriptors, or an explicit OVMF pair with
/// a per-VM NVRAM file. Never both (libvirt rejects the mix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Firmware {
    Auto {
        secure_boot: bool,
        enrolled_keys: bool,
    },
    Explicit {
        code: String,
        vars_template: String,
        nvram: String,
        secure_boot: bool,
    },
}

impl Default for Firmware {
    fn default() -> Self {
        Firmware::Auto {
            secure_boot: false,
            enrolled_keys: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PciPassthrough {
    pub address: PciAddress,
    /// A ROM file for the card (some GPUs need a clean vBIOS).
    #[serde(default)]
    pub rom: Option<String>,
    #[serde(default)]
    pub boot_order: Option<u32>,
}

/// What a passed-through device was when the VM was made (kept in Passage's metadata, so that
/// the pre-flight can refuse a start when another device sits at that address now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenDevice {
    pub address: PciAddress,
    /// `vendor:device`, as lspci -nn prints it.
    pub id: String,
    pub group: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbPassthrough {
    pub vendor: u16,
    pub product: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DiskFormat {
    #[default]
    Qcow2,
    Raw,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DiskSource {
    File { path: String },
    Volume { pool: String, volume: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub source: DiskSource,
    #[serde(default)]
    pub format: DiskFormat,
    #[serde(default)]
    pub boot_order: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cdrom {
    pub iso: String,
    #[serde(default)]
    pub boot_order: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Network {
    /// A libvirt network (NAT), usually `default`.
    Nat { network: String },
    /// A host bridge.
    Bridge { bridge: String },
}

impl Network {
    /// libvirt's own NAT network, `default`: what a new VM gets.
    pub fn default_nat() -> Network {
        Network::Nat {
            network: "default".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmSpec {
    pub name: String,
    #[serde(default)]
    pub purpose: Purpose,
    #[serde(default)]
    pub domain_type: DomainType,
    pub memory_mib: u64,
    #[serde(default)]
    pub hugepages: bool,
    pub vcpus: u32,
    #[serde(default)]
    pub topology: Option<Topology>,
    /// vCPU → host CPU.
    #[serde(default)]
    pub vcpu_pins: Vec<(u32, u32)>,
    /// Host CPUs for QEMU's own threads (emulator and I/O), a cpuset such as `0-1,12-13`.
    #[serde(default)]
    pub emulator_cpuset: Option<String>,
    #[serde(default)]
    pub firmware: Firmware,
    /// A TPM 2.0 emulator (Windows 11 wants one).
    #[serde(default)]
    pub tpm: bool,
    #[serde(default)]
    pub pci: Vec<PciPassthrough>,
    /// What the PCI devices were when the spec was made (see [`SeenDevice`]).
    #[serde(default)]
    pub devices_seen: Vec<SeenDevice>,
    #[serde(default)]
    pub usb: Vec<UsbPassthrough>,
    /// Keyboard/mouse by evdev (`/dev/input/by-id/…-event-kbd`), switched with both Ctrl keys.
    #[serde(default)]
    pub evdev: Vec<String>,
    #[serde(default)]
    pub disks: Vec<Disk>,
    #[serde(default)]
    pub cdroms: Vec<Cdrom>,
    #[serde(default)]
    pub network: Option<Network>,
    /// SPICE + VGA, for installation and remote access.
    #[serde(default = "yes")]
    pub spice: bool,
    /// Hide KVM from the guest (NVIDIA drivers before 465 refused to run otherwise).
    #[serde(default = "yes")]
    pub kvm_hidden: bool,
    /// Hyper-V enlightenments (Windows guests), with this vendor_id (1–12 characters).
    #[serde(default)]
    pub hyperv_vendor_id: Option<String>,
    /// Which enlightenments, when `hyperv_vendor_id` is set (see [`tuning`]).
    #[serde(default = "tuning::default_set")]
    pub hyperv: Vec<tuning::Hv>,
    /// Tell the guest about SMT on AMD hosts (`topoext`), so it schedules on real cores.
    #[serde(default)]
    pub topoext: bool,
    #[serde(default = "yes")]
    pub boot_menu: bool,
    /// What happens on the host while the VM runs (GPU mode, hugepages at start, CPU
    /// isolation), kept in Passage's metadata for libvirt's hook.
    #[serde(default)]
    pub session: session::SessionSettings,
}

fn yes() -> bool {
    true
}

fn check_path(field: &str, p: &str) -> Result<(), VmError> {
    if !p.starts_with('/') {
        return Err(err(
            field,
            tr_f("{v} is not an absolute path", &[("v", &quoted(p))]),
        ));
    }
    if p.len() > 4096 || p.chars().any(char::is_control) || p.split('/').any(|c| c == "..") {
        return Err(err(
            field,
            tr_f(
                "{v} is not a plain path (control characters or \"..\")",
                &[("v", &quoted(p))],
            ),
        ));
    }
    Ok(())
}

fn check_word(field: &str, s: &str, max: usize) -> Result<(), VmError> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && s.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(err(field, tr_f("{v} must be 1–{max} letters, digits, dots, dashes or underscores, starting with a letter or digit", &[("v", &quoted(s)), ("max", &max.to_string())])))
    }
}

fn check_cpuset(field: &str, s: &str) -> Result<(), VmError> {
    crate::root::parse_cpu_list(s)
        .filter(|l| !l.is_empty())
        .map(|_| ())
        .ok_or_else(|| {
            err(
                field,
                tr_f(
                    "{v} is not a CPU list such as 0-1,12-13",
                    &[("v", &quoted(s))],
                ),
            )
        })
}

impl VmSpec {
    /// Checks every field a caller can set; the error names the field and what to do.
    pub fn validate(&self) -> Result<(), VmError> {
        check_word("name", &self.name, 64)?;
        if !(128..=16 * 1024 * 1024).contains(&self.memory_mib) {
            return Err(err(
                "memory_mib",
                tr_f(
                    "{n} MiB is outside 128 MiB – 16 TiB",
                    &[("n", &self.memory_mib.to_string())],
                ),
            ));
        }
        if self.session.hugepages && !self.hugepages {
            return Err(err(
                "hugepages",
                tr("hugepages reserved at start need the VM's memory on hugepages; switch hugepages on for the VM"),
            ));
        }
        if self.hugepages && !self.memory_mib.is_multiple_of(2) {
            return Err(err(
                "memory_mib",
                tr("hugepage-backed memory must be a multiple of 2 MiB"),
            ));
        }
        if !(1..=1024).contains(&self.vcpus) {
            return Err(err(
                "vcpus",
                tr_f("{n} is outside 1–1024", &[("n", &self.vcpus.to_string())]),
            ));
        }
        if let Some(t) = self.topology {
            if t.sockets == 0
                || t.cores == 0
                || t.threads == 0
                || t.sockets * t.cores * t.threads != self.vcpus
            {
                return Err(err(
                    "topology",
                    tr_n(
                        "{topology} is not {n} vCPU",
                        "{topology} is not {n} vCPUs",
                        self.vcpus.into(),
                        &[(
                            "topology",
                            &[
                                tr_n("{n} socket", "{n} sockets", t.sockets.into(), &[]),
                                tr_n("{n} core", "{n} cores", t.cores.into(), &[]),
                                tr_n("{n} thread", "{n} threads", t.threads.into(), &[]),
                            ]
                            .join(" × "),
                        )],
                    ),
                ));
            }
        }
        for (v, _) in &self.vcpu_pins {
            if *v >= self.vcpus {
                return Err(err(
                    "vcpu_pins",
                    tr_f(
                        "vCPU {v} does not exist (the VM has {n})",
                        &[("v", &v.to_string()), ("n", &self.vcpus.to_string())],
                    ),
                ));
            }
        }
        if let Some(c) = &self.emulator_cpuset {
            check_cpuset("emulator_cpuset", c)?;
        }
        if let Firmware::Explicit {
            code,
            vars_template,
            nvram,
            ..
        } = &self.firmware
        {
            check_path("firmware.code", code)?;
            check_path("firmware.vars_template", vars_template)?;
            check_path("firmware.nvram", nvram)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.pci {
            if !seen.insert(p.address) {
                return Err(err(
                    "pci",
                    tr_f("{dev} is listed twice", &[("dev", &p.address.to_string())]),
                ));
            }
            if let Some(r) = &p.rom {
                check_path("pci.rom", r)?;
            }
        }
        for d in &self.devices_seen {
            let hex4 = |x: &str| x.len() == 4 && x.bytes().all(|b| b.is_ascii_hexdigit());
            if !d
                .id
                .split_once(':')
                .is_some_and(|(v, p)| hex4(v) && hex4(p))
            {
                return Err(err(
                    "devices_seen",
                    tr_f(
                        "{v} is not a vendor:device pair such as 10de:1e07",
                        &[("v", &quoted(&d.id))],
                    ),
                ));
            }
        }
        for e in &self.evdev {
            check_path("evdev", e)?;
            if !e.starts_with("/dev/input/") {
                return Err(err(
                    "evdev",
                    tr_f("{v} is not below /dev/input", &[("v", &quoted(e))]),
                ));
            }
        }
        for d in &self.disks {
            match &d.source {
                DiskSource::File { path } => check_path("disks.path", path)?,
                DiskSource::Volume { pool, volume } => {
                    check_word("disks.pool", pool, 64)?;
                    check_word("disks.volume", volume, 128)?;
                }
            }
        }
        for c in &self.cdroms {
            check_path("cdroms.iso", &c.iso)?;
        }
        match &self.network {
            Some(Network::Nat { network }) => check_word("network.network", network, 64)?,
            Some(Network::Bridge { bridge }) => check_word("network.bridge", bridge, 15)?,
            None => {}
        }
        if let Some(v) = &self.hyperv_vendor_id {
            if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err(
                    "hyperv_vendor_id",
                    tr_f("{v} must be 1–12 letters or digits", &[("v", &quoted(v))]),
                ));
            }
        }
        let mut orders: Vec<u32> = self
            .pci
            .iter()
            .filter_map(|p| p.boot_order)
            .chain(self.disks.iter().filter_map(|d| d.boot_order))
            .chain(self.cdroms.iter().filter_map(|c| c.boot_order))
            .collect();
        let n = orders.len();
        orders.sort_unstable();
        orders.dedup();
        if orders.len() != n || orders.contains(&0) {
            return Err(err(
                "boot_order",
                tr("each boot order must be a distinct number from 1"),
            ));
        }
        Ok(())
    }

    /// Whether the firmware asks for Secure Boot (and so SMM).
    pub fn secure_boot(&self) -> bool {
        match &self.firmware {
            Firmware::Auto { secure_boot, .. } | Firmware::Explicit { secure_boot, .. } => {
                *secure_boot
            }
        }
    }

    /// The libvirt domain XML.
    pub fn to_xml(&self) -> Result<String, VmError> {
        self.validate()?;
        Ok(xml::render(self))
    }

    /// The equivalent bare QEMU invocation (for users who run QEMU directly). With automatic
    /// firmware, `ovmf` names the pair to use (the host's best descriptor).
    pub fn qemu_args(&self, ovmf: Option<(&str, &str)>) -> Result<Vec<String>, VmError> {
        self.validate()?;
        qemu::args(self, ovmf)
    }
}

/// Host slots of the passed-through functions, in order, each with its functions.
pub(crate) fn slots(pci: &[PciPassthrough]) -> Vec<Vec<&PciPassthrough>> {
    let mut out: Vec<Vec<&PciPassthrough>> = Vec::new();
    for p in pci {
        match out.iter_mut().find(|s| s[0].address.same_slot(&p.address)) {
            Some(s) => s.push(p),
            None => out.push(vec![p]),
        }
    }
    for s in &mut out {
        s.sort_by_key(|p| p.address.function);
    }
    out
}

/// What each of `pci` is on `host` now, for the spec's metadata.
pub fn seen(host: &crate::Host, pci: &[PciPassthrough]) -> Vec<SeenDevice> {
    pci.iter()
        .filter_map(|p| {
            let d = host.device(p.address)?;
            Some(SeenDevice {
                address: p.address,
                id: d.id_pair(),
                group: host.group_of(p.address).map(|g| g.id),
            })
        })
        .collect()
}

/// A CPU layout for a VM, from the host's topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuPlan {
    pub topology: Topology,
    pub vcpu_pins: Vec<(u32, u32)>,
    pub emulator_cpuset: String,
}

/// Suggests pinning `vcpus` vCPUs: whole cores (with their SMT siblings, so the guest sees real
/// hyper-threads), taken from the L3 groups furthest from CPU 0, which the host keeps together
/// with QEMU's own threads. `None` when the host has too few CPUs to spare, or `vcpus` does not
/// divide into whole cores.
pub fn suggest_cpus(host: &crate::Host, vcpus: u32) -> Option<CpuPlan> {
    let cpu = &host.cpu;
    let threads = cpu.threads_per_core.max(1) as u32;
    if vcpus == 0 || !vcpus.is_multiple_of(threads) || cpu.logical_cpus.is_empty() {
        return None;
    }
    // Cores as sibling lists, in host order.
    let mut cores: Vec<Vec<u32>> = Vec::new();
    for c in &cpu.logical_cpus {
        if !cores.iter().any(|k| k.contains(&c.id)) {
            cores.push(c.siblings.clone());
        }
    }
    let host_core = cores
        .iter()
        .find(|k| k.contains(&0))
        .cloned()
        .unwrap_or_default();
    // L3 groups from the last to the first; a host without cache information is one group.
    let mut groups = cpu.l3_groups.clone();
    if groups.is_empty() {
        groups.push(cpu.logical_cpus.iter().map(|c| c.id).collect());
    }
    let mut chosen: Vec<Vec<u32>> = Vec::new();
    for g in groups.iter().rev() {
        for k in cores
            .iter()
            .filter(|k| k.iter().all(|c| g.contains(c)) && **k != host_core)
        {
            if (chosen.len() as u32) * threads < vcpus && !chosen.contains(k) {
                chosen.push(k.clone());
            }
        }
    }
    if (chosen.len() as u32) * threads < vcpus {
        return None;
    }
    chosen.sort();
    let mut pins = Vec::new();
    for (i, k) in chosen.iter().enumerate() {
        for (t, c) in k.iter().enumerate() {
            pins.push(((i * threads as usize + t) as u32, *c));
        }
    }
    let emulator_cpuset = host_core
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Some(CpuPlan {
        topology: Topology {
            sockets: 1,
            cores: vcpus / threads,
            threads,
        },
        vcpu_pins: pins,
        emulator_cpuset,
    })
}

/// A starting spec for passing `gpu`'s group through on `host`: the tutorial's choices (UEFI,
/// host-passthrough with pinning from the L3 layout, hugepages, kvm hidden, SPICE for the
/// installation, NAT networking); the wizard or the user fills in the media and storage.
/// Parts the host cannot run are left out: no TPM without swtpm, no SPICE display when QEMU's
/// SPICE module is missing (`passagectl check` says how to install either).
pub fn suggest(
    host: &crate::Host,
    gpu: PciAddress,
    name: &str,
    vcpus: u32,
    memory_mib: u64,
) -> Result<VmSpec, VmError> {
    let group = host.group_for(gpu).map_err(|r| err("gpu", r.words(host)))?;
    let pci: Vec<PciPassthrough> = host
        .endpoints(&group.devices)
        .into_iter()
        .map(|address| PciPassthrough {
            address,
            rom: None,
            boot_order: None,
        })
        .collect();
    let cpus = suggest_cpus(host, vcpus);
    let secure = host
        .firmware
        .iter()
        .any(|f| f.installed && f.is_x86_64_uefi() && f.secure_boot() && f.enrolled_keys());
    let spec = VmSpec {
        name: name.to_string(),
        purpose: Purpose::Gaming,
        domain_type: DomainType::Kvm,
        memory_mib,
        hugepages: true,
        vcpus,
        topology: cpus.as_ref().map(|c| c.topology),
        vcpu_pins: cpus
            .as_ref()
            .map(|c| c.vcpu_pins.clone())
            .unwrap_or_default(),
        emulator_cpuset: cpus.map(|c| c.emulator_cpuset),
        firmware: Firmware::Auto {
            secure_boot: secure,
            enrolled_keys: secure,
        },
        tpm: secure && host.swtpm,
        devices_seen: seen(host, &pci),
        pci,
        usb: Vec::new(),
        evdev: Vec::new(),
        disks: Vec::new(),
        cdroms: Vec::new(),
        network: Some(Network::default_nat()),
        spice: !host.spice_module_missing,
        kvm_hidden: true,
        hyperv_vendor_id: Some("passage".into()),
        hyperv: tuning::windows_set(None),
        topoext: host.cpu.vendor_kind == crate::host::cpu::CpuVendor::Amd
            && host.cpu.threads_per_core > 1,
        boot_menu: true,
        session: session::SessionSettings::default(),
    };
    spec.validate()?;
    Ok(spec)
}
