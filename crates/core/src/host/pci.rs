//! PCI devices from `/sys/bus/pci/devices`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::ids::{self, Names, Query};
use crate::root::{parse_hex, Root};

/// A PCI address `DDDD:BB:SS.F`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    pub domain: u16,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
}

impl PciAddress {
    /// The same slot, another function.
    pub fn with_function(self, function: u8) -> Self {
        Self { function, ..self }
    }
    /// Whether two addresses are functions of one slot.
    pub fn same_slot(&self, other: &PciAddress) -> bool {
        self.domain == other.domain && self.bus == other.bus && self.slot == other.slot
    }
}

impl PciAddress {
    /// The address as lspci prints it: without the domain when it is 0000 ("0a:00.0").
    pub fn short(&self) -> String {
        if self.domain == 0 {
            format!("{:02x}:{:02x}.{:x}", self.bus, self.slot, self.function)
        } else {
            self.to_string()
        }
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

/// Why a string is not a PCI address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPciAddress(pub String);

impl std::fmt::Display for BadPciAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::i18n::tr_f(
            "{value} is not a PCI address; expected the form 0000:01:00.0 (domain:bus:slot.function, hexadecimal)",
            &[("value", &format!("{:?}", self.0))],
        ))
    }
}

impl std::error::Error for BadPciAddress {}

impl FromStr for PciAddress {
    type Err = BadPciAddress;
    /// Accepts `0000:01:00.0` and the short `01:00.0` (domain 0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPciAddress(s.to_string());
        let (head, func) = s.rsplit_once('.').ok_or_else(bad)?;
        let parts: Vec<&str> = head.split(':').collect();
        let (dom, bus, slot) = match parts.as_slice() {
            [d, b, s] if d.len() == 4 => (*d, *b, *s),
            [b, s] => ("0000", *b, *s),
            _ => return Err(bad()),
        };
        if bus.len() != 2 || slot.len() != 2 || func.len() != 1 {
            return Err(bad());
        }
        let hex = |t: &str| -> Result<u16, BadPciAddress> {
            if t.bytes().all(|c| c.is_ascii_hexdigit()) {
                u16::from_str_radix(t, 16).map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (domain, bus, slot, function) = (hex(dom)?, hex(bus)?, hex(slot)?, hex(func)?);
        if slot > 0x1f || function > 7 {
            return Err(bad());
        }
        Ok(Self {
            domain,
            bus: bus as u8,
            slot: slot as u8,
            function: function as u8,
        })
    }
}

impl Serialize for PciAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PciAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The PCI device a sysfs path belongs to: the last PCI address among its components
/// (`../../devices/pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0` → 0000:01:00.0).
pub fn last_pci_address(path: &std::path::Path) -> Option<PciAddress> {
    path.components().rev().find_map(|c| {
        c.as_os_str()
            .to_str()
            .and_then(|s| s.parse::<PciAddress>().ok())
    })
}

/// Bridge or endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PciKind {
    Bridge,
    Endpoint,
}

/// One PCI function as the kernel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PciDevice {
    pub address: PciAddress,
    /// Class code, `0x030000`.
    #[serde(with = "hex_class")]
    pub class: u32,
    pub class_name: String,
    #[serde(with = "hex16")]
    pub vendor_id: u16,
    #[serde(with = "hex16")]
    pub device_id: u16,
    #[serde(with = "hex16_opt")]
    pub subsystem_vendor_id: Option<u16>,
    #[serde(with = "hex16_opt")]
    pub subsystem_device_id: Option<u16>,
    pub vendor_name: Option<String>,
    pub device_name: Option<String>,
    pub subsystem_name: Option<String>,
    pub revision: Option<u8>,
    /// Driver bound now, `null` when none.
    pub driver: Option<String>,
    /// `driver_override` when set.
    pub driver_override: Option<String>,
    pub iommu_group: Option<u32>,
    /// The firmware's boot display device (`boot_vga` = 1).
    pub boot_vga: bool,
    /// A function-level reset is exposed (`reset` exists).
    pub resettable: bool,
    /// `reset_method` (kernel ≥ 5.15): flr, pm, bus, device_specific…
    pub reset_methods: Vec<String>,
    pub kind: PciKind,
    /// The other functions of the same slot.
    pub slot_functions: Vec<PciAddress>,
    /// The upstream bridge (`null` on the root bus).
    pub parent: Option<PciAddress>,
    pub numa_node: Option<u32>,
    /// Where the device lives under /sys/devices (host path).
    pub sysfs_path: String,
}

impl PciDevice {
    pub fn is_gpu(&self) -> bool {
        self.class >> 16 == 0x03
    }
    pub fn is_storage(&self) -> bool {
        self.class >> 16 == 0x01
    }
    pub fn is_network(&self) -> bool {
        self.class >> 16 == 0x02
    }
    pub fn is_bridge(&self) -> bool {
        self.kind == PciKind::Bridge
    }
    /// `10de:1e07`
    pub fn id_pair(&self) -> String {
        format!("{:04x}:{:04x}", self.vendor_id, self.device_id)
    }
    /// A short human name: "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]".
    /// The model as people call it: the bracketed marketing name of pci.ids ("GeForce RTX
    /// 2080 Ti Rev. A" from "TU102 [GeForce RTX 2080 Ti Rev. A]"), else the display name.
    pub fn model_name(&self) -> String {
        self.device_name
            .as_deref()
            .and_then(|d| d.split_once('[')?.1.split_once(']'))
            .map(|(m, _)| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| self.display_name())
    }

    pub fn display_name(&self) -> String {
        match (&self.vendor_name, &self.device_name) {
            (Some(v), Some(d)) => format!("{v} {d}"),
            (Some(v), None) => format!("{v} device {:04x}", self.device_id),
            // No name known: the class says what it is (the IDs are shown beside it).
            _ => self.class_name.clone(),
        }
    }
}

/// The kernel's own view of a device's IDs, from `uevent` (one read instead of six).
#[derive(Default, Clone)]
struct Uevent {
    driver: Option<String>,
    class: Option<u32>,
    ids: Option<(u16, u16)>,
    subsys: Option<(u16, u16)>,
}

fn parse_uevent(s: &str) -> Uevent {
    let mut u = Uevent::default();
    for line in s.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "DRIVER" => u.driver = Some(v.to_string()),
            "PCI_CLASS" => u.class = u32::from_str_radix(v, 16).ok(),
            "PCI_ID" => u.ids = pair(v),
            "PCI_SUBSYS_ID" => u.subsys = pair(v),
            _ => {}
        }
    }
    u
}

fn pair(v: &str) -> Option<(u16, u16)> {
    let (a, b) = v.split_once(':')?;
    Some((
        u16::from_str_radix(a, 16).ok()?,
        u16::from_str_radix(b, 16).ok()?,
    ))
}

/// Reads every device. The vendor/device IDs come first (one `uevent` read per device) and are
/// handed to `on_ids` before the rest is read, so names can be looked up meanwhile; fill them
/// in with [`apply_names`].
pub fn scan(root: &Root, on_ids: impl FnOnce(Vec<Query>)) -> Vec<PciDevice> {
    let base = "/sys/bus/pci/devices";
    let mut addrs: Vec<PciAddress> = Vec::new();
    for name in root.list(base) {
        match name.parse() {
            Ok(a) => addrs.push(a),
            Err(_) => root.problem(&format!("{base}/{name}"), "not a PCI address; skipped"),
        }
    }
    addrs.sort();
    // NUMA placement only means something with more than one node; skip the reads otherwise.
    let numa = root
        .list("/sys/devices/system/node")
        .iter()
        .filter(|n| {
            n.strip_prefix("node")
                .is_some_and(|i| i.parse::<u32>().is_ok())
        })
        .count()
        > 1;
    // Reading ~7 attributes of thousands of devices is syscall-bound: use every core.
    // (Asking how many cores costs a few cgroup reads: only worth it for many devices.)
    let threads = if addrs.len() >= 64 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8)
    } else {
        1
    };
    let uevent = |a: &PciAddress| {
        let ue = root
            .read_attr(&format!("/sys/bus/pci/devices/{a}/uevent"))
            .map(|s| parse_uevent(&s))
            .unwrap_or_default();
        (*a, ue)
    };
    let first: Vec<(PciAddress, Uevent)> = par_filter_map(&addrs, threads, |a| Some(uevent(a)));
    on_ids(
        first
            .iter()
            .filter_map(|(_, ue)| {
                ue.ids.map(|(vendor, device)| Query {
                    vendor,
                    device,
                    subsystem: ue.subsys,
                })
            })
            .collect(),
    );
    let mut devs: Vec<PciDevice> = par_filter_map(&first, threads, |(a, ue)| {
        read_device(root, *a, ue.clone(), numa)
    });
    // Slot siblings.
    let all: Vec<PciAddress> = devs.iter().map(|d| d.address).collect();
    for d in &mut devs {
        d.slot_functions = all
            .iter()
            .filter(|a| a.same_slot(&d.address) && **a != d.address)
            .copied()
            .collect();
    }
    devs
}

/// `items.iter().filter_map(f)`, split over `threads` threads when there are several, in order.
fn par_filter_map<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Option<U> + Sync,
) -> Vec<U> {
    if threads <= 1 {
        return items.iter().filter_map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().filter_map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn read_device(root: &Root, address: PciAddress, ue: Uevent, numa: bool) -> Option<PciDevice> {
    let dir = format!("/sys/bus/pci/devices/{address}");
    // Config space: header type and revision always; IDs and class when uevent lacks them.
    // The standard header (64 bytes) is all scan needs, and all an unprivileged read returns.
    let config = root
        .read_head(&format!("{dir}/config"), 64)
        .unwrap_or_default();
    let cfg16 = |off: usize| {
        config
            .get(off..off + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let attr_hex = |name: &str| root.read_hex(&format!("{dir}/{name}"));

    let (vendor_id, device_id) = match ue.ids {
        Some(ids) => ids,
        None => match (cfg16(0), cfg16(2)) {
            (Some(v), Some(d)) => (v, d),
            _ => match (attr_hex("vendor"), attr_hex("device")) {
                (Some(v), Some(d)) => (v as u16, d as u16),
                _ => {
                    root.problem(&dir, "no vendor/device ID readable (uevent, config, vendor/device); device skipped");
                    return None;
                }
            },
        },
    };
    let class = ue
        .class
        .or_else(|| attr_hex("class").map(|c| c as u32))
        .or_else(|| {
            config
                .get(9..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0]))
        })
        .unwrap_or(0);
    let subsys = ue.subsys.or_else(|| match (cfg16(0x2c), cfg16(0x2e)) {
        (Some(v), Some(d)) if config.get(0x0e).map(|h| h & 0x7f) == Some(0) => Some((v, d)),
        _ => None,
    });
    let revision = config
        .get(8)
        .copied()
        .or_else(|| attr_hex("revision").map(|r| r as u8));
    let header = config.get(0x0e).map(|h| h & 0x7f);
    let kind = if class >> 8 == 0x0604 || class >> 8 == 0x0609 || header == Some(1) {
        PciKind::Bridge
    } else {
        PciKind::Endpoint
    };
    let driver = ue
        .driver
        .or_else(|| root.link_name(&format!("{dir}/driver")));
    let iommu_group = root
        .link_name(&format!("{dir}/iommu_group"))
        .and_then(|g| match g.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                root.problem(
                    &format!("{dir}/iommu_group"),
                    format!("group {g:?} is not a number"),
                );
                None
            }
        });
    let boot_vga =
        class >> 16 == 0x03 && root.read_attr(&format!("{dir}/boot_vga")).as_deref() == Some("1");
    let reset_methods: Vec<String> = root
        .read_attr(&format!("{dir}/reset_method"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    // `reset` exists exactly when some reset method does; reset_method (kernel ≥ 5.15) says
    // which, so the extra lookup is only needed on older kernels.
    let resettable = !reset_methods.is_empty() || root.exists(&format!("{dir}/reset"));
    let numa_node = if numa {
        root.read_attr(&format!("{dir}/numa_node"))
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|n| u32::try_from(n).ok())
    } else {
        None
    };
    // An override matters where no host driver holds the device: unbound, or parked for VMs.
    let driver_override = if driver.as_deref().is_none_or(super::iommu::is_vm_driver) {
        root.read_attr(&format!("{dir}/driver_override"))
            .filter(|s| !s.is_empty() && s != "(null)")
    } else {
        None
    };

    // Where it lives, and its upstream bridge, from the device link.
    let target = root.read_link(&dir);
    let sysfs_path = target
        .as_ref()
        .map(|t| {
            let s = t.to_string_lossy();
            match s.find("devices/") {
                Some(i) => format!("/sys/{}", &s[i..]),
                None => s.into_owned(),
            }
        })
        .unwrap_or_else(|| dir.clone());
    let parent = target.as_ref().and_then(|t| {
        let comps: Vec<_> = t.components().collect();
        comps.len().checked_sub(2).and_then(|i| {
            comps[i]
                .as_os_str()
                .to_str()
                .and_then(|s| s.parse::<PciAddress>().ok())
        })
    });

    Some(PciDevice {
        address,
        class,
        class_name: ids::pci_class_name(class).to_string(),
        vendor_id,
        device_id,
        subsystem_vendor_id: subsys.map(|s| s.0),
        subsystem_device_id: subsys.map(|s| s.1),
        vendor_name: None,
        device_name: None,
        subsystem_name: None,
        revision,
        driver,
        driver_override,
        iommu_group,
        boot_vga,
        resettable,
        reset_methods,
        kind,
        slot_functions: Vec::new(),
        parent,
        numa_node,
        sysfs_path,
    })
}

/// The name queries for `devs`.
pub fn queries(devs: &[PciDevice]) -> Vec<Query> {
    devs.iter()
        .map(|d| Query {
            vendor: d.vendor_id,
            device: d.device_id,
            subsystem: d.subsystem_vendor_id.zip(d.subsystem_device_id),
        })
        .collect()
}

/// Fills in vendor/device/subsystem names.
pub fn apply_names(devs: &mut [PciDevice], names: &Names) {
    for d in devs {
        d.vendor_name = names.vendor(d.vendor_id);
        d.device_name = names.device(d.vendor_id, d.device_id);
        d.subsystem_name = match (d.subsystem_vendor_id, d.subsystem_device_id) {
            (Some(sv), Some(sd)) => names
                .subsystem(d.vendor_id, d.device_id, sv, sd)
                .or_else(|| names.vendor(sv).map(|v| format!("{v} device {sd:04x}"))),
            _ => None,
        };
    }
}

/// Parses `10de:1e07` (the form vfio-pci.ids and lspci -n use).
pub fn parse_id_pair(s: &str) -> Option<(u16, u16)> {
    let (v, d) = s.trim().split_once(':')?;
    if v.len() != 4 || d.len() != 4 {
        return None;
    }
    Some((parse_hex(v)? as u16, parse_hex(d)? as u16))
}

mod hex_class {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{v:06x}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let s = String::deserialize(d)?;
        crate::root::parse_hex(&s)
            .map(|v| v as u32)
            .ok_or_else(|| serde::de::Error::custom(format!("bad class {s:?}")))
    }
}

mod hex16 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{v:04x}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let s = String::deserialize(d)?;
        u16::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

mod hex16_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(&format_args!("{v:04x}")),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| u16::from_str_radix(&s, 16).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print() {
        let a: PciAddress = "0000:0a:00.3".parse().unwrap();
        assert_eq!(a.to_string(), "0000:0a:00.3");
        assert_eq!(a.short(), "0a:00.3");
        let far: PciAddress = "0001:0a:00.3".parse().unwrap();
        assert_eq!(far.short(), "0001:0a:00.3");
        assert_eq!(
            "01:00.1".parse::<PciAddress>().unwrap().to_string(),
            "0000:01:00.1"
        );
        for bad in [
            "",
            "0000:01:00",
            "0000:01:00.8",
            "0000:01:20.0",
            "../../x",
            "0000:0g:00.0",
            "0000:01:00.0\n",
            "00000:01:00.0",
        ] {
            assert!(bad.parse::<PciAddress>().is_err(), "{bad:?} accepted");
        }
        let e = "zz".parse::<PciAddress>().unwrap_err().to_string();
        assert!(e.contains("0000:01:00.0"), "{e}");
    }

    #[test]
    fn uevent_parses() {
        let u = parse_uevent("DRIVER=nvidia\nPCI_CLASS=30000\nPCI_ID=10DE:1E07\nPCI_SUBSYS_ID=1043:866A\nPCI_SLOT_NAME=0000:0a:00.0\n");
        assert_eq!(u.driver.as_deref(), Some("nvidia"));
        assert_eq!(u.class, Some(0x030000));
        assert_eq!(u.ids, Some((0x10de, 0x1e07)));
        assert_eq!(u.subsys, Some((0x1043, 0x866a)));
    }

    #[test]
    fn id_pairs() {
        assert_eq!(parse_id_pair("10de:1e07"), Some((0x10de, 0x1e07)));
        assert_eq!(parse_id_pair("10de:1e0"), None);
        assert_eq!(parse_id_pair("10de;1e07"), None);
    }
}
