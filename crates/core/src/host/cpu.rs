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
    // From /proc/cpuinfo: vendor, model and flags (first block), and on x86 each processor's
    // package and core, which saves three sysfs reads per logical CPU.
    let mut from_info: Vec<LogicalCpu> = Vec::new();
    let mut complete = true;
    if let Some(info) = root.read_string("/proc/cpuinfo") {
        for block in info.split("\n\n").filter(|b| !b.trim().is_empty()) {
            let (mut id, mut package, mut core) = (None, None, None);
            for line in block.lines() {
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim());
                match k {
                    "processor" => id = v.parse().ok(),
                    "physical id" => package = v.parse().ok(),
                    "core id" => core = v.parse().ok(),
                    "vendor_id" if cpu.vendor.is_empty() => cpu.vendor = v.to_string(),
                    "model name" if cpu.model.is_empty() => cpu.model = v.to_string(),
                    "flags" if cpu.virtualization_flag.is_none() && from_info.is_empty() => {
                        let flag = v.split_whitespace().find(|f| *f == "vmx" || *f == "svm");
                        cpu.virtualization = flag.is_some();
                        cpu.virtualization_flag = flag.map(str::to_string);
                    }
                    _ => {}
                }
            }
            match (id, package, core) {
                (Some(id), Some(p), Some(c)) => from_info.push(LogicalCpu {
                    id,
                    package: Some(p),
                    core: Some(c),
                    siblings: Vec::new(),
                }),
                _ => complete = false,
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
    if complete && !from_info.is_empty() {
        // SMT siblings: the logical CPUs of one package and core.
        let keys: Vec<(Option<u32>, Option<u32>, u32)> = from_info
            .iter()
            .map(|c| (c.package, c.core, c.id))
            .collect();
        for c in &mut from_info {
            c.siblings = keys
                .iter()
                .filter(|k| (k.0, k.1) == (c.package, c.core))
                .map(|k| k.2)
                .collect();
            c.siblings.sort_unstable();
        }
        cpu.logical_cpus = from_info;
    } else {
        let mut ids: Vec<u32> = root
            .list(base)
            .iter()
            .filter_map(|n| n.strip_prefix("cpu").and_then(|s| s.parse().ok()))
            .collect();
        ids.sort_unstable();
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
        }
    }
    cpu.logical_cpus.sort_by_key(|c| c.id);
    // One read per L3: a CPU already in a known L3 group shares that cache.
    let mut l3: BTreeMap<Vec<u32>, ()> = BTreeMap::new();
    for id in cpu.logical_cpus.iter().map(|c| c.id) {
        if l3.keys().any(|g| g.contains(&id)) {
            continue;
        }
        if let Some(list) = l3_of(root, &format!("{base}/cpu{id}/cache")) {
            l3.insert(list, ());
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

/// The CPUs sharing this CPU's L3: index3 on x86, else whichever index says level 3.
fn l3_of(root: &Root, cache: &str) -> Option<Vec<u32>> {
    let shared = |idx: &str| {
        root.read_attr(&format!("{cache}/{idx}/shared_cpu_list"))
            .and_then(|s| parse_cpu_list(&s))
    };
    if root.read_attr(&format!("{cache}/index3/level")).as_deref() == Some("3") {
        return shared("index3");
    }
    root.list(cache)
        .iter()
        .filter(|i| i.starts_with("index"))
        .find(|i| root.read_attr(&format!("{cache}/{i}/level")).as_deref() == Some("3"))
        .and_then(|i| shared(i))
}

/// Why the host may not be kept off a set of CPUs (CPU isolation while a VM runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceRefusal {
    #[error("CPU {0} is not an online CPU of this host")]
    NotOnline(u32),
    #[error("keeping the host off CPUs {fenced} would leave it no whole core (every core keeps at least one of its CPUs for a VM); pin the VM to fewer cores, leaving at least one core with all its threads to the host, or switch CPU isolation off")]
    NoWholeCore { fenced: String },
}

impl Cpu {
    /// Whether the host may be kept off `fenced` while a VM runs: each is online, and the
    /// host keeps at least one whole core (every SMT sibling of it), so its own processes never
    /// share a core with the VM's vCPUs alone. A host whose topology is unknown counts each
    /// online CPU as a core.
    pub fn check_fence(&self, online: &[u32], fenced: &[u32]) -> Result<(), FenceRefusal> {
        if let Some(c) = fenced.iter().find(|c| !online.contains(c)) {
            return Err(FenceRefusal::NotOnline(*c));
        }
        let siblings = |id: u32| -> Vec<u32> {
            self.logical_cpus
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.siblings.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| vec![id])
        };
        let keeps_a_core = online
            .iter()
            .any(|c| siblings(*c).iter().all(|s| !fenced.contains(s)));
        if keeps_a_core {
            Ok(())
        } else {
            Err(FenceRefusal::NoWholeCore {
                fenced: crate::root::format_cpu_list(fenced),
            })
        }
    }
}

#[cfg(test)]
mod fence_tests {
    use super::*;

    /// Four cores of two threads: core k is CPUs k and k+4 (as Linux numbers them on x86).
    fn smt4() -> Cpu {
        Cpu {
            logical_cpus: (0..8)
                .map(|id| LogicalCpu {
                    id,
                    package: Some(0),
                    core: Some(id % 4),
                    siblings: vec![id % 4, id % 4 + 4],
                })
                .collect(),
            ..Cpu::default()
        }
    }

    #[test]
    fn the_host_keeps_a_whole_core() {
        let cpu = smt4();
        let online: Vec<u32> = (0..8).collect();
        assert_eq!(cpu.check_fence(&online, &[1, 2, 3, 5, 6, 7]), Ok(()));
        // CPU 0's sibling 4 fenced: every core is touched, none left whole.
        assert!(matches!(
            cpu.check_fence(&online, &[1, 2, 3, 4, 5, 6, 7]),
            Err(FenceRefusal::NoWholeCore { .. })
        ));
        assert!(matches!(
            cpu.check_fence(&online, &[1, 2, 3, 4]),
            Err(FenceRefusal::NoWholeCore { .. })
        ));
        assert_eq!(
            cpu.check_fence(&online, &[9]),
            Err(FenceRefusal::NotOnline(9))
        );
        // Without topology each CPU is a core: one left is enough.
        let flat = Cpu::default();
        assert_eq!(flat.check_fence(&[0, 1, 2], &[1, 2]), Ok(()));
        assert!(flat.check_fence(&[0, 1, 2], &[0, 1, 2]).is_err());
    }
}
