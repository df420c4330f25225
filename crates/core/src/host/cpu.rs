//! CPU vendor, virtualization support and topology (for pinning later).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::root::{parse_cpu_list, Root};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuVendor {
    Intel,
    Amd,
    Other,
}

/// One logical CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogicalCpu {
    pub id: u32,
    pub package: Option<u32>,
    pub core: Option<u32>,
    /// SMT siblings, including itself.
    pub siblings: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// Vendor name as the kernel reports it (`GenuineIntel`, `AuthenticAMD`).
    pub vendor: String,
    pub vendor_kind: CpuVendor,
    pub model: String,
    /// vmx (Intel VT-x) or svm (AMD-V) in the CPU flags.
    pub virtualization: bool,
    /// `vmx` or `svm` when present.
    pub virtualization_flag: Option<String>,
    /// /dev/kvm exists (virtualization on in firmware and kvm loaded).
    pub kvm_device: bool,
    pub logical_cpus: Vec<LogicalCpu>,
    /// Physical cores (distinct package/core pairs).
    pub cores: usize,
    pub threads_per_core: usize,
    /// Groups of CPUs sharing one L3 cache (a CCX on Ryzen), for pinning.
    pub l3_groups: Vec<Vec<u32>>,
}

impl Default for Cpu {
    fn default() -> Self {
        Self {
            vendor: String::new(),
            vendor_kind: CpuVendor::Other,
            model: String::new(),
            virtualization: false,
            virtualization_flag: None,
            kvm_device: false,
            logical_cpus: Vec::new(),
            cores: 0,
            threads_per_core: 0,
            l3_groups: Vec::new(),
        }
    }
}

pub fn scan(root: &Root) -> Cpu {
    let mut cpu = Cpu::default();
    if let Some(info) = root.read_string("/proc/cpuinfo") {
        // The first processor block is enough for vendor, model and flags.
        for line in info.lines() {
            if line.trim().is_empty() && !cpu.vendor.is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            match k {
                "vendor_id" => cpu.vendor = v.to_string(),
                "model name" => cpu.model = v.to_string(),
                "flags" => {
                    let flag = v.split_whitespace().find(|f| *f == "vmx" || *f == "svm");
                    cpu.virtualization = flag.is_some();
                    cpu.virtualization_flag = flag.map(str::to_string);
                }
                _ => {}
            }
        }
    }
    cpu.vendor_kind = match cpu.vendor.as_str() {
        "GenuineIntel" => CpuVendor::Intel,
        "AuthenticAMD" | "HygonGenuine" => CpuVendor::Amd,
        _ => CpuVendor::Other,
    };
    cpu.kvm_device = root.exists("/dev/kvm");

    let base = "/sys/devices/system/cpu";
    let mut ids: Vec<u32> = root
        .list(base)
        .iter()
        .filter_map(|n| n.strip_prefix("cpu").and_then(|s| s.parse().ok()))
        .collect();
    ids.sort_unstable();
    let mut l3: BTreeMap<Vec<u32>, ()> = BTreeMap::new();
    for id in ids {
        let t = format!("{base}/cpu{id}/topology");
        let siblings = root
            .read_attr(&format!("{t}/thread_siblings_list"))
            .and_then(|s| parse_cpu_list(&s))
            .unwrap_or_else(|| vec![id]);
        cpu.logical_cpus.push(LogicalCpu {
            id,
            package: root.read_dec(&format!("{t}/physical_package_id")),
            core: root.read_dec(&format!("{t}/core_id")),
            siblings,
        });
        for idx in root.list(&format!("{base}/cpu{id}/cache")) {
            if !idx.starts_with("index") {
                continue;
            }
            let c = format!("{base}/cpu{id}/cache/{idx}");
            if root.read_attr(&format!("{c}/level")).as_deref() == Some("3") {
                if let Some(list) = root
                    .read_attr(&format!("{c}/shared_cpu_list"))
                    .and_then(|s| parse_cpu_list(&s))
                {
                    l3.insert(list, ());
                }
            }
        }
    }
    let mut cores: Vec<(Option<u32>, Option<u32>)> = cpu
        .logical_cpus
        .iter()
        .map(|c| (c.package, c.core))
        .collect();
    cores.sort_unstable();
    cores.dedup();
    cpu.cores = cores.len();
    cpu.threads_per_core = cpu
        .logical_cpus
        .iter()
        .map(|c| c.siblings.len())
        .max()
        .unwrap_or(0);
    cpu.l3_groups = l3.into_keys().collect();
    cpu
}
