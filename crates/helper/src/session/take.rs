//! Each thing a session takes from the host, and how it is given back.

use std::path::Path;
use std::time::Duration;

use passage_core::host::{Host, PciAddress};
use passage_core::root::{format_cpu_list, parse_cpu_list};
use passage_core::vm::session::{pages_for, pages_to_add, shortfall_mib};
use passage_core::Root;

use super::unresponsive::{self, Failure};
use crate::journal::{StepRunner, Taken};
use crate::sysfs;

/// How long the kernel gets to take the devices from their drivers.
pub const UNBIND_TIMEOUT: Duration = sysfs::SYSFS_TIMEOUT;

/// Takes `devices` from their drivers onto vfio-pci; `sysfs::bind` gives up after
/// [`UNBIND_TIMEOUT`] (a driver that waits for a user the holder scan could not see).
pub fn devices(
    root: &Path,
    host: &Host,
    devices: &[PciAddress],
    runner: &dyn StepRunner,
) -> Result<Vec<sysfs::Found>, String> {
    sysfs::bind(root, host, devices, runner)
}

/// The host's default hugepage size (`Hugepagesize:` in /proc/meminfo), in KiB.
pub fn default_page_kib(r: &Root) -> Option<u64> {
    r.read_string("/proc/meminfo")?
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The pool's directory: a NUMA node's, or the whole host's.
fn pool(size_kib: u64, node: Option<u32>) -> String {
    match node {
        Some(n) => format!("/sys/devices/system/node/node{n}/hugepages/hugepages-{size_kib}kB"),
        None => format!("/sys/kernel/mm/hugepages/hugepages-{size_kib}kB"),
    }
}

fn read_count(r: &Root, size_kib: u64, node: Option<u32>, what: &str) -> Option<u64> {
    r.read_dec(&format!("{}/{what}", pool(size_kib, node)))
}

fn write_count(root: &Path, size_kib: u64, node: Option<u32>, n: u64) -> Result<(), String> {
    sysfs::write_attr(
        root,
        &format!("{}/nr_hugepages", pool(size_kib, node)),
        &n.to_string(),
    )
}

/// The NUMA node to reserve on: the card's, when every pinned CPU is on it too.
pub fn numa_node(
    r: &Root,
    host: &Host,
    devices: &[PciAddress],
    pinned: &[u32],
    size_kib: u64,
) -> Option<u32> {
    let node = devices
        .iter()
        .find_map(|a| host.device(*a).and_then(|d| d.numa_node))?;
    let cpus =
        parse_cpu_list(&r.read_string(&format!("/sys/devices/system/node/node{node}/cpulist"))?)?;
    let all_there = !pinned.is_empty() && pinned.iter().all(|c| cpus.contains(c));
    (all_there && r.exists(&pool(size_kib, Some(node)))).then_some(node)
}

/// How many pages a VM of `memory_kib` needs added to the pool so that they are free for it.
/// Returns `(pages to add, pool size now)`.
pub fn hugepage_need(
    r: &Root,
    memory_kib: u64,
    size_kib: u64,
    node: Option<u32>,
) -> Result<(u64, u64), String> {
    let total = read_count(r, size_kib, node, "nr_hugepages")
        .ok_or_else(|| format!("this host has no hugepages of {size_kib} KiB; choose another page size for the VM, or none"))?;
    let free = read_count(r, size_kib, node, "free_hugepages").unwrap_or(0);
    let want = pages_for(memory_kib, size_kib).unwrap_or(0);
    Ok((pages_to_add(want, free), total))
}

/// Grows the pool by `added` pages (compacting memory first, so large pages can be found);
/// on a shortfall, puts the pool back and says how much was missing.
pub fn hugepages(
    root: &Path,
    size_kib: u64,
    node: Option<u32>,
    before: u64,
    added: u64,
) -> Result<(), String> {
    // Best effort: without it the kernel finds fewer large free blocks.
    let _ = sysfs::write_attr(root, "/proc/sys/vm/compact_memory", "1");
    write_count(root, size_kib, node, before + added)?;
    let r = Root::new(root).map_err(|e| e.to_string())?;
    let got = read_count(&r, size_kib, node, "nr_hugepages").unwrap_or(before);
    if got < before + added {
        let _ = write_count(root, size_kib, node, before);
        return Err(format!(
            "the kernel could reserve only {} of {} hugepages of {size_kib} KiB: {} MiB short (memory is fragmented or in use). Close programs and try again, give the VM less memory, or reserve hugepages at boot (Host setup)",
            got.saturating_sub(before),
            added,
            shortfall_mib(before + added, got, size_kib)
        ));
    }
    Ok(())
}

/// The systemd units whose processes are kept off the VM's CPUs.
pub const UNITS: [&str; 3] = ["system.slice", "user.slice", "init.scope"];

/// What CPU isolation will change, read before anything is: each unit with its
/// `AllowedCPUs` now, and the CPUs the host keeps. `Ok(None)`: not done (no systemd as PID 1,
/// nothing pinned, or a test root without systemctl).
#[allow(clippy::type_complexity)]
pub fn cpus_before(
    r: &Root,
    pinned: &[u32],
    runner: &dyn StepRunner,
) -> Result<Option<(Vec<(String, String)>, String)>, String> {
    if pinned.is_empty()
        || r.read_string("/proc/1/comm").as_deref().map(str::trim) != Some("systemd")
    {
        return Ok(None);
    }
    let online = r
        .read_string("/sys/devices/system/cpu/online")
        .and_then(|s| parse_cpu_list(&s))
        .ok_or("cannot read /sys/devices/system/cpu/online")?;
    let rest: Vec<u32> = online.into_iter().filter(|c| !pinned.contains(c)).collect();
    if rest.is_empty() {
        return Err("the VM is pinned to every CPU, so the host would have none left; pin it to fewer CPUs or switch CPU isolation off".into());
    }
    let mut units = Vec::new();
    for unit in UNITS {
        let show = ["systemctl", "show", "--value", "-p", "AllowedCPUs", unit].map(String::from);
        match runner.run(&show, &mut |_| {}) {
            None => return Ok(None),
            Some(Ok(out)) => units.push((unit.to_string(), out.trim().to_string())),
            Some(Err(e)) => return Err(format!("systemctl could not tell {unit}'s CPUs: {e}")),
        }
    }
    Ok(Some((units, format_cpu_list(&rest))))
}

/// Keeps the host's processes off `pinned` (systemd's `AllowedCPUs`, runtime only): each of
/// `units`, recorded with its CPUs before (by [`cpus_before`]), now allowed `rest` only. On a
/// failure the caller gives every recorded unit back.
pub fn cpus(
    units: &[(String, String)],
    rest: &str,
    pinned: &[u32],
    runner: &dyn StepRunner,
) -> Result<(), String> {
    for (unit, _) in units {
        if let Some(Err(e)) = set_allowed(unit, rest, runner) {
            return Err(format!(
                "systemd could not keep {unit} off CPUs {}: {e}",
                format_cpu_list(pinned)
            ));
        }
    }
    Ok(())
}

fn set_allowed(unit: &str, cpus: &str, runner: &dyn StepRunner) -> Option<Result<String, String>> {
    let argv = [
        "systemctl",
        "set-property",
        "--runtime",
        unit,
        &format!("AllowedCPUs={cpus}"),
    ]
    .map(String::from);
    runner.run(&argv, &mut |_| {})
}

/// Puts each unit's `AllowedCPUs` back (empty: all CPUs). Returns what failed.
fn give_cpus(units: &[(String, String)], runner: &dyn StepRunner) -> Vec<String> {
    units
        .iter()
        .rev()
        .filter_map(|(unit, before)| match set_allowed(unit, before, runner) {
            Some(Err(e)) => Some(format!("{unit}'s CPUs: {e}")),
            _ => None,
        })
        .collect()
}

/// The size a session's hugepage pool goes back to: the count it found when its take did not
/// finish (nothing else changes the pool under Passage's lock, and recovery runs first under
/// it), else the pool now less only what the session added (another VM's reservation may have
/// come since). `None` for other things, or a pool that cannot be read.
pub fn pool_back_to(root: &Path, t: &Taken) -> Option<u64> {
    let Taken::Hugepages {
        size_kib,
        node,
        before,
        added,
        reserved,
        ..
    } = t
    else {
        return None;
    };
    if !reserved {
        return Some(*before);
    }
    let r = Root::new(root).ok()?;
    Some(read_count(&r, *size_kib, *node, "nr_hugepages")?.saturating_sub(*added))
}

/// Gives one taken thing back. `Err` says what could not be.
pub fn give(root: &Path, t: &Taken, runner: &dyn StepRunner) -> Result<(), Failure> {
    match t {
        // Back to the driver each had, only Passage's override cleared; a card that did not
        // reset stays on vfio-pci (its driver's probe would hang on it).
        Taken::Devices { devices, overrides } => {
            let found = sysfs::Found::joined(devices, overrides);
            let addresses: Vec<PciAddress> = found.iter().map(|f| f.address).collect();
            let silent = unresponsive::still_silent(root, &addresses, unresponsive::RESET_WAIT);
            if !silent.is_empty() {
                return Err(Failure::NoReset(silent));
            }
            sysfs::give_back(root, &found)
                .map(|_| ())
                .map_err(Failure::Other)
        }
        Taken::Hugepages { size_kib, node, .. } => {
            let to = match t {
                Taken::Hugepages {
                    back_to: Some(n), ..
                } => *n,
                _ => pool_back_to(root, t).ok_or_else(|| {
                    Failure::Other(format!(
                        "cannot read {}/nr_hugepages",
                        pool(*size_kib, *node)
                    ))
                })?,
            };
            write_count(root, *size_kib, *node, to).map_err(Failure::Other)
        }
        Taken::Cpus { units } => {
            let failed = give_cpus(units, runner);
            if failed.is_empty() {
                Ok(())
            } else {
                Err(Failure::Other(failed.join("; ")))
            }
        }
        Taken::Desktop { step } => super::desktop::give(root, step, runner).map_err(Failure::Other),
        Taken::Watchdog { unit } => {
            super::desktop::stop_watchdog(root, unit, runner).map_err(Failure::Other)
        }
    }
}
