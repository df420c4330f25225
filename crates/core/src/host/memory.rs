//! Memory and hugepages.

use serde::{Deserialize, Serialize};

use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HugepagePool {
    pub size_kib: u64,
    pub total: u64,
    pub free: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_kib: u64,
    pub free_kib: u64,
    pub available_kib: u64,
    pub hugepages: Vec<HugepagePool>,
}

impl Memory {
    /// Memory reserved as hugepages, in KiB.
    pub fn hugepages_kib(&self) -> u64 {
        self.hugepages.iter().map(|p| p.size_kib * p.total).sum()
    }
}

pub fn scan(root: &Root) -> Memory {
    let mut m = Memory::default();
    if let Some(info) = root.read_string("/proc/meminfo") {
        for line in info.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let n = v
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok());
            match (k, n) {
                ("MemTotal", Some(n)) => m.total_kib = n,
                ("MemFree", Some(n)) => m.free_kib = n,
                ("MemAvailable", Some(n)) => m.available_kib = n,
                _ => {}
            }
        }
    }
    let base = "/sys/kernel/mm/hugepages";
    for d in root.list(base) {
        let Some(size) = d
            .strip_prefix("hugepages-")
            .and_then(|s| s.strip_suffix("kB"))
            .and_then(|s| s.parse().ok())
        else {
            continue;
        };
        m.hugepages.push(HugepagePool {
            size_kib: size,
            total: root
                .read_dec(&format!("{base}/{d}/nr_hugepages"))
                .unwrap_or(0),
            free: root
                .read_dec(&format!("{base}/{d}/free_hugepages"))
                .unwrap_or(0),
        });
    }
    m.hugepages.sort_by_key(|p| p.size_kib);
    m
}
