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

/// Why a hugepage reservation cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HugepageRefusal {
    #[error("{size_kib} KiB is not a hugepage size of this host; it has {}", have.iter().map(|s| format!("{s} KiB")).collect::<Vec<_>>().join(", "))]
    NoSuchSize { size_kib: u64, have: Vec<u64> },
    #[error("that many pages do not fit in any computer")]
    Overflow,
    #[error("{count} pages of {size_kib} KiB are {} MiB, more than the {} MiB this host can spare (nine tenths of {} MiB)", want_kib / 1024, room_kib / 1024, total_kib / 1024)]
    TooMuch {
        count: u64,
        size_kib: u64,
        want_kib: u64,
        room_kib: u64,
        total_kib: u64,
    },
}

impl Memory {
    /// Memory reserved as hugepages, in KiB.
    pub fn hugepages_kib(&self) -> u64 {
        self.hugepages.iter().map(|p| p.size_kib * p.total).sum()
    }

    /// What hugepages may take: the host always keeps a tenth of its memory.
    pub fn hugepage_room_kib(&self) -> u64 {
        self.total_kib / 10 * 9
    }

    /// Whether `count` pages of `size_kib` may be reserved: a size this host has, within
    /// [`Memory::hugepage_room_kib`]. The helper checks this before it writes; a plan can
    /// show it before anyone asks.
    pub fn check_hugepages(&self, size_kib: u64, count: u64) -> Result<(), HugepageRefusal> {
        let have: Vec<u64> = self.hugepages.iter().map(|p| p.size_kib).collect();
        if !have.contains(&size_kib) {
            return Err(HugepageRefusal::NoSuchSize { size_kib, have });
        }
        let want_kib = size_kib
            .checked_mul(count)
            .ok_or(HugepageRefusal::Overflow)?;
        let room_kib = self.hugepage_room_kib();
        if want_kib > room_kib {
            return Err(HugepageRefusal::TooMuch {
                count,
                size_kib,
                want_kib,
                room_kib,
                total_kib: self.total_kib,
            });
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Memory {
        Memory {
            total_kib: 32 << 20,
            hugepages: vec![
                HugepagePool {
                    size_kib: 2048,
                    total: 0,
                    free: 0,
                },
                HugepagePool {
                    size_kib: 1 << 20,
                    total: 0,
                    free: 0,
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_host_keeps_a_tenth_of_its_memory() {
        let m = mem();
        assert_eq!(m.hugepage_room_kib(), (32 << 20) / 10 * 9);
        assert_eq!(m.check_hugepages(2048, 8192), Ok(()), "16 GiB of 32");
        let e = m.check_hugepages(2048, 15_000).expect_err("29 GiB");
        assert!(
            e.to_string()
                .contains("more than the 29491 MiB this host can spare"),
            "{e}"
        );
        let e = m.check_hugepages(4096, 1).expect_err("no 4 MiB pages");
        assert_eq!(
            e.to_string(),
            "4096 KiB is not a hugepage size of this host; it has 2048 KiB, 1048576 KiB"
        );
        assert_eq!(
            m.check_hugepages(1 << 20, u64::MAX),
            Err(HugepageRefusal::Overflow)
        );
    }
}
