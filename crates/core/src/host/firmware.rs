//! UEFI firmware (OVMF) from QEMU's firmware descriptors, resolved the way QEMU and libvirt do:
//! /etc/qemu/firmware overrides a same-named file in /usr/share/qemu/firmware (an empty file
//! masks it), then all are ordered by file name — the lowest prefix wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::root::Root;

const DIRS: [&str; 2] = ["/etc/qemu/firmware", "/usr/share/qemu/firmware"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firmware {
    /// The descriptor (host path), in priority order across the list.
    pub descriptor: String,
    pub description: String,
    pub interface_types: Vec<String>,
    pub executable: Option<String>,
    pub nvram_template: Option<String>,
    pub architectures: Vec<String>,
    pub machines: Vec<String>,
    pub features: Vec<String>,
    /// The executable exists on the host.
    pub installed: bool,
}

impl Firmware {
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
    pub fn secure_boot(&self) -> bool {
        self.has("secure-boot")
    }
    pub fn enrolled_keys(&self) -> bool {
        self.has("enrolled-keys")
    }
    pub fn requires_smm(&self) -> bool {
        self.has("requires-smm")
    }
    /// UEFI for x86_64 q35 machines.
    pub fn is_x86_64_uefi(&self) -> bool {
        self.interface_types.iter().any(|t| t == "uefi")
            && self.architectures.iter().any(|a| a == "x86_64")
            && (self.machines.is_empty() || self.machines.iter().any(|m| m.contains("q35")))
    }
}

#[derive(Deserialize)]
struct RawFile {
    filename: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMapping {
    #[serde(default)]
    executable: Option<RawFile>,
    #[serde(default)]
    nvram_template: Option<RawFile>,
    /// memory-mapped firmware (e.g. `-bios`) uses `filename` directly.
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Deserialize)]
struct RawTarget {
    architecture: String,
    #[serde(default)]
    machines: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawDescriptor {
    #[serde(default)]
    description: String,
    #[serde(default)]
    interface_types: Vec<String>,
    mapping: RawMapping,
    #[serde(default)]
    targets: Vec<RawTarget>,
    #[serde(default)]
    features: Vec<String>,
}

pub fn scan(root: &Root) -> Vec<Firmware> {
    // name → path of the winning directory's file
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    for dir in DIRS {
        for f in root.list(dir) {
            if !f.ends_with(".json") {
                continue;
            }
            chosen
                .entry(f.clone())
                .or_insert_with(|| format!("{dir}/{f}"));
        }
    }
    let mut out = Vec::new();
    for path in chosen.into_values() {
        let Some(text) = root.read_string(&path) else {
            continue;
        };
        if text.trim().is_empty() {
            continue; // masked
        }
        let raw: RawDescriptor = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                root.problem(&path, format!("not a valid firmware descriptor: {e}"));
                continue;
            }
        };
        let executable = raw
            .mapping
            .executable
            .map(|f| f.filename)
            .or(raw.mapping.filename);
        let installed = executable.as_deref().is_some_and(|p| root.exists(p));
        let mut machines: Vec<String> = raw
            .targets
            .iter()
            .flat_map(|t| t.machines.clone())
            .collect();
        machines.dedup();
        out.push(Firmware {
            descriptor: path,
            description: raw.description,
            interface_types: raw.interface_types,
            executable,
            nvram_template: raw.mapping.nvram_template.map(|f| f.filename),
            architectures: raw.targets.iter().map(|t| t.architecture.clone()).collect(),
            machines,
            features: raw.features,
            installed,
        });
    }
    out
}
