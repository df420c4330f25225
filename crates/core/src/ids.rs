//! Vendor, device and subsystem names from `pci.ids` / `usb.ids`.
//!
//! The databases are over a megabyte each; parsing one whole (as every `lspci -nns` call does)
//! costs more than the rest of a scan. [`lookup`] makes one pass over the text and only looks
//! inside the vendors the host actually has.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use crate::root::Root;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Pci,
    Usb,
}

impl Db {
    fn file(self) -> &'static str {
        match self {
            Db::Pci => "pci.ids",
            Db::Usb => "usb.ids",
        }
    }
    fn bundled(self) -> &'static [u8] {
        match self {
            Db::Pci => include_bytes!("../data/pci.ids.gz"),
            Db::Usb => include_bytes!("../data/usb.ids.gz"),
        }
    }
}

const DIRS: [&str; 3] = ["/usr/share/hwdata", "/usr/share/misc", "/usr/share"];

/// Where names came from, for `scan` to say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdsSource {
    /// A file inside the scanned root.
    Root(String),
    /// The running system's file (the scanned root had none, e.g. a capture).
    System(String),
    /// Passage's bundled copy.
    Bundled,
}

/// The text of a database: the root's, else the running system's, else the bundled one.
pub fn load(root: &Root, db: Db) -> (String, IdsSource) {
    for dir in DIRS {
        let p = format!("{dir}/{}", db.file());
        if root.path(&p).is_file() {
            // Not recorded for capture: names are the reader's business, not the host's.
            if let Ok(bytes) = std::fs::read(root.path(&p)) {
                return (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    if root.is_live() {
                        IdsSource::System(p)
                    } else {
                        IdsSource::Root(p)
                    },
                );
            }
        }
    }
    if !root.is_live() {
        for dir in DIRS {
            let p = format!("{dir}/{}", db.file());
            if let Ok(bytes) = std::fs::read(&p) {
                return (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    IdsSource::System(p),
                );
            }
        }
    }
    (bundled_text(db), IdsSource::Bundled)
}

/// The bundled database, decompressed.
pub fn bundled_text(db: Db) -> String {
    let mut out = String::new();
    let mut dec = flate2::read::GzDecoder::new(db.bundled());
    if dec.read_to_string(&mut out).is_err() {
        out.clear();
    }
    out
}

/// A query: a vendor, optionally a device of it, optionally a subsystem of that device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Query {
    pub vendor: u16,
    pub device: u16,
    pub subsystem: Option<(u16, u16)>,
}

/// Names found for the queries.
#[derive(Debug, Default)]
pub struct Names {
    pub vendors: BTreeMap<u16, String>,
    pub devices: BTreeMap<(u16, u16), String>,
    pub subsystems: BTreeMap<(u16, u16, u16, u16), String>,
}

impl Names {
    pub fn vendor(&self, v: u16) -> Option<String> {
        self.vendors.get(&v).cloned()
    }
    pub fn device(&self, v: u16, d: u16) -> Option<String> {
        self.devices.get(&(v, d)).cloned()
    }
    pub fn subsystem(&self, v: u16, d: u16, sv: u16, sd: u16) -> Option<String> {
        self.subsystems.get(&(v, d, sv, sd)).cloned()
    }
}

fn hex4(s: &str) -> Option<u16> {
    if s.len() != 4 {
        return None;
    }
    u16::from_str_radix(s, 16).ok()
}

/// One pass over `text`, collecting the names of every query (and of subsystem vendors).
pub fn lookup(text: &str, queries: &[Query]) -> Names {
    let mut wanted_vendors: BTreeSet<u16> = queries.iter().map(|q| q.vendor).collect();
    // Subsystem vendors get their own vendor names too.
    wanted_vendors.extend(queries.iter().filter_map(|q| q.subsystem.map(|s| s.0)));
    let wanted_devices: BTreeSet<(u16, u16)> =
        queries.iter().map(|q| (q.vendor, q.device)).collect();
    let wanted_subs: BTreeSet<(u16, u16, u16, u16)> = queries
        .iter()
        .filter_map(|q| q.subsystem.map(|(sv, sd)| (q.vendor, q.device, sv, sd)))
        .collect();

    let mut names = Names::default();
    let mut vendor: Option<u16> = None; // current vendor, only when wanted
    let mut device: Option<u16> = None; // current device, only when wanted
    for line in text.lines() {
        let bytes = line.as_bytes();
        match bytes.first() {
            None | Some(b'#') => continue,
            Some(b'\t') => {
                let Some(v) = vendor else { continue };
                if bytes.get(1) == Some(&b'\t') {
                    // Subsystem line: "\t\tSSSS ssss  name"
                    let Some(d) = device else { continue };
                    let rest = &line[2..];
                    let (Some(sv), Some(sd)) =
                        (rest.get(0..4).and_then(hex4), rest.get(5..9).and_then(hex4))
                    else {
                        continue;
                    };
                    if wanted_subs.contains(&(v, d, sv, sd)) {
                        if let Some(n) = rest.get(9..) {
                            names
                                .subsystems
                                .insert((v, d, sv, sd), n.trim().to_string());
                        }
                    }
                } else {
                    let rest = &line[1..];
                    device = None;
                    if let Some(d) = rest.get(0..4).and_then(hex4) {
                        if wanted_devices.contains(&(v, d)) {
                            if let Some(n) = rest.get(4..) {
                                names.devices.insert((v, d), n.trim().to_string());
                            }
                            device = Some(d);
                        }
                    }
                }
            }
            Some(_) => {
                device = None;
                vendor = None;
                // Past the vendor list: class and other tables start with a letter and a space.
                if bytes.len() > 1 && bytes[1] == b' ' {
                    if names.vendors.len() == wanted_vendors.len() {
                        break;
                    }
                    continue;
                }
                if let Some(v) = line.get(0..4).and_then(hex4) {
                    if wanted_vendors.contains(&v) {
                        if let Some(n) = line.get(4..) {
                            names.vendors.insert(v, n.trim().to_string());
                        }
                        vendor = Some(v);
                    }
                }
            }
        }
    }
    names
}

/// A PCI class code's name (base class and subclass), as lspci prints it.
pub fn pci_class_name(class: u32) -> &'static str {
    let base = (class >> 16) as u8;
    let sub = (class >> 8) as u8;
    match (base, sub) {
        (0x00, _) => "Non-VGA unclassified device",
        (0x01, 0x00) => "SCSI storage controller",
        (0x01, 0x01) => "IDE interface",
        (0x01, 0x04) => "RAID bus controller",
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x07) => "Serial Attached SCSI controller",
        (0x01, 0x08) => "Non-Volatile memory controller",
        (0x01, _) => "Mass storage controller",
        (0x02, 0x00) => "Ethernet controller",
        (0x02, 0x80) => "Network controller",
        (0x02, _) => "Network controller",
        (0x03, 0x00) => "VGA compatible controller",
        (0x03, 0x01) => "XGA compatible controller",
        (0x03, 0x02) => "3D controller",
        (0x03, _) => "Display controller",
        (0x04, 0x01) => "Multimedia audio controller",
        (0x04, 0x03) => "Audio device",
        (0x04, _) => "Multimedia controller",
        (0x05, _) => "Memory controller",
        (0x06, 0x00) => "Host bridge",
        (0x06, 0x01) => "ISA bridge",
        (0x06, 0x04) => "PCI bridge",
        (0x06, _) => "Bridge",
        (0x07, _) => "Communication controller",
        (0x08, 0x06) => "IOMMU",
        (0x08, _) => "System peripheral",
        (0x09, _) => "Input device controller",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus",
        (0x0c, 0x80) => "Serial bus controller",
        (0x0c, _) => "Serial bus controller",
        (0x0d, _) => "Wireless controller",
        (0x10, _) => "Encryption controller",
        (0x11, _) => "Signal processing controller",
        (0x12, _) => "Processing accelerators",
        (0x13, _) => "Non-Essential Instrumentation",
        _ => "Unassigned class",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# comment\n\
10de  NVIDIA Corporation\n\
\t1e07  TU102 [GeForce RTX 2080 Ti Rev. A]\n\
\t\t1043 866a  ROG STRIX RTX 2080 Ti\n\
\t10f7  TU102 High Definition Audio Controller\n\
1043  ASUSTeK Computer Inc.\n\
1b36  Red Hat, Inc.\n\
\t000c  QEMU PCIe Root port\n\
C 03  Display controller\n\
\t00  VGA compatible controller\n";

    #[test]
    fn finds_only_what_is_asked() {
        let q = [
            Query {
                vendor: 0x10de,
                device: 0x1e07,
                subsystem: Some((0x1043, 0x866a)),
            },
            Query {
                vendor: 0x1b36,
                device: 0x000c,
                subsystem: None,
            },
        ];
        let n = lookup(SAMPLE, &q);
        assert_eq!(n.vendor(0x10de).as_deref(), Some("NVIDIA Corporation"));
        assert_eq!(
            n.device(0x10de, 0x1e07).as_deref(),
            Some("TU102 [GeForce RTX 2080 Ti Rev. A]")
        );
        assert_eq!(
            n.subsystem(0x10de, 0x1e07, 0x1043, 0x866a).as_deref(),
            Some("ROG STRIX RTX 2080 Ti")
        );
        assert_eq!(n.vendor(0x1043).as_deref(), Some("ASUSTeK Computer Inc."));
        assert_eq!(
            n.device(0x1b36, 0x000c).as_deref(),
            Some("QEMU PCIe Root port")
        );
        assert_eq!(n.device(0x10de, 0x10f7), None, "not asked for");
    }

    #[test]
    fn bundled_databases_decompress_and_resolve() {
        let pci = bundled_text(Db::Pci);
        let n = lookup(
            &pci,
            &[Query {
                vendor: 0x10de,
                device: 0x1e07,
                subsystem: None,
            }],
        );
        assert_eq!(n.vendor(0x10de).as_deref(), Some("NVIDIA Corporation"));
        assert!(n
            .device(0x10de, 0x1e07)
            .unwrap_or_default()
            .contains("TU102"));
        let usb = bundled_text(Db::Usb);
        let n = lookup(
            &usb,
            &[Query {
                vendor: 0x046d,
                device: 0xc52b,
                subsystem: None,
            }],
        );
        assert_eq!(n.vendor(0x046d).as_deref(), Some("Logitech, Inc."));
        assert_eq!(
            n.device(0x046d, 0xc52b).as_deref(),
            Some("Unifying Receiver")
        );
    }

    #[test]
    fn truncated_lines_do_not_panic() {
        let text = "10de\n\t1e\n\t\t10\n1\n\tzzzz  x\n";
        let n = lookup(
            text,
            &[Query {
                vendor: 0x10de,
                device: 0x1e07,
                subsystem: Some((1, 2)),
            }],
        );
        assert!(n.devices.is_empty());
    }
}
