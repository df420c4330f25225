//! Memory and hugepages.

use serde::{Deserialize, Serialize};

use crate::i18n::{tr, tr_f};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HugepageRefusal {
    NoSuchSize {
        size_kib: u64,
        have: Vec<u64>,
    },
    Overflow,
    TooMuch {
        count: u64,
        size_kib: u64,
        want_kib: u64,
        room_kib: u64,
        total_kib: u64,
        /// Already reserved in pages of other sizes (they count against the same room).
        other_kib: u64,
    },
    NotAvailable {
        need_kib: u64,
        available_kib: u64,
    },
}

impl std::fmt::Display for HugepageRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: &u64| (kib / 1024).to_string();
        let s = match self {
            HugepageRefusal::NoSuchSize { size_kib, have } => tr_f(
                "{size} KiB is not a hugepage size of this host; it has {have}",
                &[
                    ("size", &size_kib.to_string()),
                    (
                        "have",
                        &have
                            .iter()
                            .map(|s| format!("{s} KiB"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                ],
            ),
            HugepageRefusal::Overflow => tr("that many pages do not fit in any computer"),
            HugepageRefusal::TooMuch {
                count,
                size_kib,
                want_kib,
                room_kib,
                total_kib,
                other_kib,
            } => {
                let args = [
                    ("count", count.to_string()),
                    ("size", size_kib.to_string()),
                    ("want", mib(want_kib)),
                    ("room", mib(room_kib)),
                    ("total", mib(total_kib)),
                    ("other", mib(other_kib)),
                ];
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                if *other_kib > 0 {
                    tr_f("{count} pages of {size} KiB are {want} MiB, more than the {room} MiB this host can spare (nine tenths of {total} MiB, with {other} MiB already reserved in pages of other sizes)", &args)
                } else {
                    tr_f("{count} pages of {size} KiB are {want} MiB, more than the {room} MiB this host can spare (nine tenths of {total} MiB)", &args)
                }
            }
            HugepageRefusal::NotAvailable {
                need_kib,
                available_kib,
            } => tr_f(
                "{need} MiB more of hugepages are needed, but only {available} MiB of memory is available now; close programs (or restart) and try again, or ask for fewer",
                &[("need", &mib(need_kib)), ("available", &mib(available_kib))],
            ),
        };
        f.write_str(&s)
    }
}

impl std::error::Error for HugepageRefusal {}

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
        // One room for every page size: what the other pools hold counts too.
        let this_kib = self
            .hugepages
            .iter()
            .filter(|p| p.size_kib == size_kib)
            .map(|p| p.size_kib * p.total)
            .sum::<u64>();
        let other_kib = self.hugepages_kib().saturating_sub(this_kib);
        if want_kib.saturating_add(other_kib) > room_kib {
            return Err(HugepageRefusal::TooMuch {
                count,
                size_kib,
                want_kib,
                room_kib,
                total_kib: self.total_kib,
                other_kib,
            });
        }
        // Growing the pool takes memory that is free now (when /proc/meminfo says).
        let need_kib = want_kib.saturating_sub(this_kib);
        if self.available_kib > 0 && need_kib > self.available_kib {
            return Err(HugepageRefusal::NotAvailable {
                need_kib,
                available_kib: self.available_kib,
            });
        }
        Ok(())
    }
}

impl Memory {
    /// Whether `added` more pages of `size_kib` may be reserved on top of the pool now,
    /// wherever they go: a NUMA node's pool is part of the host's, and the room and the
    /// free memory are the whole host's, so the cap is on the host-wide pool after the
    /// reservation (a node's own count is not the pool).
    pub fn check_more_hugepages(&self, size_kib: u64, added: u64) -> Result<(), HugepageRefusal> {
        let now = self
            .hugepages
            .iter()
            .find(|p| p.size_kib == size_kib)
            .map_or(0, |p| p.total);
        let after = now.checked_add(added).ok_or(HugepageRefusal::Overflow)?;
        self.check_hugepages(size_kib, after)
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
            available_kib: 30 << 20,
            ..Default::default()
        }
    }

    #[test]
    fn one_room_for_every_page_size_and_only_what_is_available() {
        let mut m = mem();
        // 20 GiB in 1 GiB pages already: 2 MiB pages may add up to the rest of the room only.
        m.hugepages[1].total = 20;
        assert_eq!(m.check_hugepages(2048, 4096), Ok(()), "8 GiB more");
        let e = m.check_hugepages(2048, 5120).expect_err("10 GiB more");
        assert!(
            e.to_string()
                .contains("with 20480 MiB already reserved in pages of other sizes"),
            "{e}"
        );
        // Shrinking or resizing the same pool is measured without its own pages.
        assert_eq!(m.check_hugepages(1 << 20, 28), Ok(()));
        // Growing needs free memory now.
        let mut m = mem();
        m.available_kib = 4 << 20;
        let e = m
            .check_hugepages(2048, 4096)
            .expect_err("8 GiB, 4 available");
        assert!(
            e.to_string()
                .contains("only 4096 MiB of memory is available"),
            "{e}"
        );
        m.hugepages[0].total = 2048;
        assert_eq!(
            m.check_hugepages(2048, 4096),
            Ok(()),
            "4 GiB more, 4 available"
        );
    }

    #[test]
    fn more_pages_are_measured_on_the_host_wide_pool() {
        let mut m = mem();
        // 14 500 pages of 2 MiB (28.3 GiB) reserved, all on one node; 512 more go over the
        // host's room (28.8 GiB) wherever they are asked for.
        m.hugepages[0].total = 14_500;
        let e = m
            .check_more_hugepages(2048, 512)
            .expect_err("over the room");
        assert!(e.to_string().contains("15012 pages of 2048 KiB"), "{e}");
        assert_eq!(m.check_more_hugepages(2048, 100), Ok(()));
        assert_eq!(
            m.check_more_hugepages(2048, u64::MAX),
            Err(HugepageRefusal::Overflow)
        );
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
