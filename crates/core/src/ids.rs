//! Vendor, device and subsystem names from `pci.ids` / `usb.ids`.
//!
//! The databases are over a megabyte each; parsing one whole (as every `lspci -nns` call does)
//! costs more than the rest of a scan. [`lookup`] makes one pass over the text and only looks
//! inside the vendors the host actually has.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

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

/// Where a database is: the root's file, else the running system's, else the bundled copy.
pub fn locate(root: &Root, db: Db) -> IdsSource {
    for dir in DIRS {
        let p = format!("{dir}/{}", db.file());
        // Not recorded for capture: names are the reader's business, not the host's.
        if root.path(&p).is_file() {
            return if root.is_live() {
                IdsSource::System(p)
            } else {
                IdsSource::Root(p)
            };
        }
    }
    if !root.is_live() {
        for dir in DIRS {
            let p = format!("{dir}/{}", db.file());
            if std::path::Path::new(&p).is_file() {
                return IdsSource::System(p);
            }
        }
    }
    IdsSource::Bundled
}

/// Looks `queries` up in the database at `src` (see [`locate`]), streaming it.
pub fn lookup_in(root: &Root, db: Db, src: &IdsSource, queries: &[Query]) -> Names {
    let file = match src {
        IdsSource::Root(p) => std::fs::File::open(root.path(p)),
        IdsSource::System(p) => std::fs::File::open(p),
        IdsSource::Bundled => return lookup_bytes(&bundled(db), queries),
    };
    match file {
        Ok(f) => lookup(f, queries),
        Err(_) => lookup_bytes(&bundled(db), queries),
    }
}

/// The bundled database, decompressed.
pub fn bundled(db: Db) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(db.bundled());
    if dec.read_to_end(&mut out).is_err() {
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

/// The 4-hex-digit key of a line with exactly `depth` leading tabs, and where its name starts.
#[cfg(test)]
fn keyed(line: &[u8], depth: usize) -> Option<(u16, usize)> {
    if line.len() < depth + 4
        || line[..depth].iter().any(|b| *b != b'\t')
        || line.get(depth) == Some(&b'\t')
    {
        return None;
    }
    Some((hex4(&line[depth..depth + 4])?, depth + 4))
}

/// Four ASCII hex digits → their value.
fn hex4(b: &[u8]) -> Option<u16> {
    let mut v: u16 = 0;
    for &c in b.get(..4)? {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v << 4 | u16::from(d);
    }
    Some(v)
}

fn name_of(line: &[u8], from: usize) -> String {
    String::from_utf8_lossy(line.get(from..).unwrap_or_default())
        .trim()
        .to_string()
}

/// Looks the queries up in a pci.ids / usb.ids stream (see [`lookup_bytes`]).
pub fn lookup(mut src: impl std::io::Read, queries: &[Query]) -> Names {
    let mut data = Vec::new();
    // A read error ends the text where it happened, as the end of the file would.
    let _ = src.read_to_end(&mut data);
    lookup_bytes(&data, queries)
}

/// Looks the queries up in a pci.ids / usb.ids text. Both files keep vendors sorted, and
/// devices sorted within a vendor, and only a vendor's line starts with four hex digits and a
/// space: so each wanted vendor's line is found with one SIMD substring search from where the
/// previous one ended (the megabyte in between is never split into lines), and inside a wanted
/// vendor a cursor walks over its wanted devices, a line costing a byte test and at most one
/// comparison.
pub fn lookup_bytes(data: &[u8], queries: &[Query]) -> Names {
    // vendor → its wanted devices, sorted; subsystem vendors are looked up as vendors too.
    let mut plan: BTreeMap<u16, BTreeSet<u16>> = BTreeMap::new();
    for q in queries {
        plan.entry(q.vendor).or_default().insert(q.device);
        if let Some((sv, _)) = q.subsystem {
            plan.entry(sv).or_default();
        }
    }
    let subs: BTreeSet<(u16, u16, u16, u16)> = queries
        .iter()
        .filter_map(|q| q.subsystem.map(|(sv, sd)| (q.vendor, q.device, sv, sd)))
        .collect();
    let mut names = Names::default();
    let mut at = 0;
    for (vendor, devices) in plan {
        let Some(start) = vendor_line(data, at, vendor) else {
            continue; // a wanted vendor the database does not know
        };
        let devices: Vec<u16> = devices.into_iter().collect();
        at = read_vendor(data, start, vendor, &devices, &subs, &mut names);
    }
    names
}

/// Where the line of `vendor` starts, searching from `from` (a line start, or the newline
/// before one): `\nvvvv ` as the files write it, in lower case, else in upper case.
fn vendor_line(data: &[u8], from: usize, vendor: u16) -> Option<usize> {
    let rest = data.get(from..)?;
    let find = |key: String| {
        if rest.starts_with(key.as_bytes()) {
            return Some(from);
        }
        memchr::memmem::find(rest, format!("\n{key}").as_bytes()).map(|i| from + i + 1)
    };
    let (lower, upper) = (format!("{vendor:04x} "), format!("{vendor:04X} "));
    let digits_only = lower == upper;
    find(lower).or_else(|| if digits_only { None } else { find(upper) })
}

/// Reads the vendor block whose line starts at `start`: the vendor's name, its wanted devices'
/// and their wanted subsystems'. Returns where the block ends (the next top-level line).
fn read_vendor(
    data: &[u8],
    start: usize,
    vendor: u16,
    devices: &[u16],
    subs: &BTreeSet<(u16, u16, u16, u16)>,
    names: &mut Names,
) -> usize {
    let mut lines = Lines { data, at: start };
    if let Some((_, line)) = lines.next() {
        names.vendors.insert(vendor, name_of(line, 4));
    }
    let mut di = 0; // the next wanted device
    let mut sub_of: Option<u16> = None; // the wanted device whose subsystems follow
    for (line_start, line) in lines {
        match line.first() {
            None | Some(b'#') => {}
            Some(b'\t') if line.get(1) == Some(&b'\t') => {
                // "\t\tSSSS ssss  name"
                let Some(d) = sub_of else { continue };
                if let (Some(sv), Some(sd)) = (
                    line.get(2..6).and_then(hex4),
                    line.get(7..11).and_then(hex4),
                ) {
                    if subs.contains(&(vendor, d, sv, sd)) {
                        names
                            .subsystems
                            .insert((vendor, d, sv, sd), name_of(line, 11));
                    }
                }
            }
            Some(b'\t') => {
                sub_of = None;
                let Some(k) = line.get(1..5).and_then(hex4) else {
                    continue;
                };
                while di < devices.len() && devices[di] < k {
                    di += 1; // a wanted device the database does not know
                }
                if devices.get(di) == Some(&k) {
                    names.devices.insert((vendor, k), name_of(line, 5));
                    if subs
                        .range((vendor, k, 0, 0)..=(vendor, k, u16::MAX, u16::MAX))
                        .next()
                        .is_some()
                    {
                        sub_of = Some(k);
                    }
                    di += 1;
                }
            }
            Some(_) => return line_start,
        }
    }
    data.len()
}

/// The lines of `data` from `at`, each with where it starts.
struct Lines<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.data.get(self.at..).filter(|r| !r.is_empty())?;
        let start = self.at;
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        self.at = start + len + 1;
        Some((start, &rest[..len]))
    }
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
1043  ASUSTeK Computer Inc.\n\
10de  NVIDIA Corporation\n\
\t10f7  TU102 High Definition Audio Controller\n\
\t1e07  TU102 [GeForce RTX 2080 Ti Rev. A]\n\
\t\t1043 866a  ROG STRIX RTX 2080 Ti\n\
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
        let n = lookup(SAMPLE.as_bytes(), &q);
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
        let pci = bundled(Db::Pci);
        let n = lookup(
            &pci[..],
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
        let usb = bundled(Db::Usb);
        let n = lookup(
            &usb[..],
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
            text.as_bytes(),
            &[Query {
                vendor: 0x10de,
                device: 0x1e07,
                subsystem: Some((1, 2)),
            }],
        );
        assert!(n.devices.is_empty());
    }

    /// The lookup relies on vendors (and devices within a vendor) being sorted: check every
    /// entry of both databases against a plain line-by-line reading.
    #[test]
    fn lookup_finds_every_entry_of_both_databases() {
        for db in [Db::Pci, Db::Usb] {
            let buf = bundled(db);
            let text = String::from_utf8_lossy(&buf);
            let mut want: Vec<(u16, Option<u16>, String)> = Vec::new();
            let mut vendor = None;
            for line in text.lines() {
                if line.starts_with("C ") {
                    break;
                }
                if let Some((k, at)) = keyed(line.as_bytes(), 0) {
                    vendor = Some(k);
                    want.push((k, None, line[at..].trim().to_string()));
                } else if let (Some(v), Some((k, at))) = (vendor, keyed(line.as_bytes(), 1)) {
                    want.push((v, Some(k), line[at..].trim().to_string()));
                }
            }
            assert!(want.len() > 10_000, "{db:?}: {}", want.len());
            let queries: Vec<Query> = want
                .iter()
                .filter_map(|(v, d, _)| {
                    d.map(|d| Query {
                        vendor: *v,
                        device: d,
                        subsystem: None,
                    })
                })
                .collect();
            let names = lookup(&buf[..], &queries);
            let asked: BTreeSet<u16> = queries.iter().map(|q| q.vendor).collect();
            // Vendors without devices are never asked for (a query names a device).
            for (v, d, name) in want.iter().filter(|(v, _, _)| asked.contains(v)) {
                let got = match d {
                    None => names.vendor(*v),
                    Some(d) => names.device(*v, *d),
                };
                assert_eq!(got.as_deref(), Some(name.as_str()), "{db:?} {v:04x}:{d:?}");
            }
        }
    }
}
