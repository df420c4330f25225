//! VFIO setup already on the host: modprobe.d options, the command line, bound devices.

use serde::{Deserialize, Serialize};

use super::pci::{PciAddress, PciDevice};
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModprobeLine {
    pub file: String,
    pub line: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VfioSetup {
    /// IDs from `options vfio-pci ids=…` (or vfio_pci) in modprobe.d, or from an `install vfio-pci`
    /// command that passes them.
    pub modprobe_ids: Vec<String>,
    /// The modprobe.d lines that mention vfio (options and softdeps), with their files.
    pub modprobe_lines: Vec<ModprobeLine>,
    /// IDs from `vfio-pci.ids=` on the running command line.
    pub cmdline_ids: Vec<String>,
    /// Devices bound to vfio-pci now.
    pub bound: Vec<PciAddress>,
}

const DIRS: [&str; 3] = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/lib/modprobe.d"];

pub fn scan(root: &Root, cmdline_ids: Option<&str>, devices: &[PciDevice]) -> VfioSetup {
    let mut v = VfioSetup {
        cmdline_ids: split_ids(cmdline_ids.unwrap_or("")),
        bound: devices
            .iter()
            .filter(|d| d.driver.as_deref() == Some("vfio-pci"))
            .map(|d| d.address)
            .collect(),
        ..Default::default()
    };
    for dir in DIRS {
        for f in root.list(dir) {
            if !f.ends_with(".conf") {
                continue;
            }
            let path = format!("{dir}/{f}");
            let Some(text) = root.read_string(&path) else {
                continue;
            };
            parse_modprobe(&path, &text, &mut v);
        }
    }
    v
}

/// Collects the vfio lines of one modprobe.d file: `options vfio-pci ids=…` (or vfio_pci) and
/// softdeps, comments stripped.
pub fn parse_modprobe(path: &str, text: &str, v: &mut VfioSetup) {
    for line in text.lines() {
        let t = line.split('#').next().unwrap_or("").trim();
        if !t.contains("vfio") {
            continue;
        }
        v.modprobe_lines.push(ModprobeLine {
            file: path.to_string(),
            line: t.to_string(),
        });
        let mut words = t.split_whitespace();
        let verb = words.next();
        // `options vfio-pci ids=…`, or the ids= in an `install vfio-pci …` command (Passage
        // writes one so that passage.vfio=off can switch them off).
        if matches!(verb, Some("options" | "install"))
            && matches!(words.next(), Some("vfio-pci" | "vfio_pci"))
        {
            for w in words {
                if let Some(ids) = w.strip_prefix("ids=") {
                    v.modprobe_ids.extend(split_ids(ids.trim_end_matches(';')));
                }
            }
        }
    }
}

fn split_ids(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_ascii_lowercase())
        .filter(|x| !x.is_empty())
        .collect()
}
