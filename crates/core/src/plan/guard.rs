//! Kernel arguments checked against this host before they are planned: the same rules as the
//! other verbs, so SetKernelArguments cannot go around them. `vfio-pci.ids=` takes devices
//! at boot, so it passes the group guard of binding at boot; a module blacklist may not name
//! the driver of anything the host needs (its screen, its disks, its network); `hugepages=`
//! may not reserve more than the host can spare.

use crate::host::kernel::same_key;
use crate::host::{Host, PciAddress};
use crate::i18n::tr_f;
use crate::plan::args::Arg;
use crate::plan::vfio::{check_group, module_of};
use crate::plan::PlanError;
use crate::root::Root;

/// The share of memory hugepages may take at boot (the helper's runtime rule is the same).
const HUGEPAGE_SHARE: (u64, u64) = (9, 10);

pub fn check_arguments(root: &Root, host: &Host, add: &[Arg]) -> Result<(), PlanError> {
    for a in add {
        let value = a.value.as_deref().unwrap_or("");
        if same_key(&a.key, "vfio-pci.ids") {
            vfio_ids(host, value)?;
        } else if same_key(&a.key, "modprobe.blacklist") || same_key(&a.key, "rd.driver.blacklist")
        {
            blacklist(root, host, a, value)?;
        } else if same_key(&a.key, "hugepages") {
            hugepages(host, add, a, value)?;
        }
    }
    Ok(())
}

/// The devices the IDs take must make up whole IOMMU groups the host can spare.
fn vfio_ids(host: &Host, ids: &str) -> Result<(), PlanError> {
    let ids: Vec<String> = ids.split(',').map(|s| s.to_ascii_lowercase()).collect();
    let devices: Vec<PciAddress> = host
        .pci_devices
        .iter()
        .filter(|d| !d.is_bridge() && ids.contains(&d.id_pair()))
        .map(|d| d.address)
        .collect();
    if devices.is_empty() {
        return Ok(()); // nothing on this host has them: nothing is taken
    }
    check_group(host, &devices, false)
}

/// No module the host needs for its screen, disks or network.
fn blacklist(root: &Root, host: &Host, a: &Arg, modules: &str) -> Result<(), PlanError> {
    for g in host.iommu_groups.iter() {
        for need in &g.host_needs {
            let Some(d) = host.device(need.device()) else {
                continue;
            };
            let Some(driver) = d.driver.as_deref() else {
                continue;
            };
            let module = module_of(root, driver);
            if let Some(m) = modules.split(',').find(|m| same_key(m, &module)) {
                return Err(PlanError::BadArgument(
                    a.to_string(),
                    tr_f(
                        "{module} drives {dev} ({name}), which this computer needs; blacklisting it would take that away at the next start",
                        &[("module", m), ("dev", &d.address.to_string()), ("name", &d.display_name())],
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// At most nine tenths of the installed memory, in the page size the same command line sets.
fn hugepages(host: &Host, add: &[Arg], a: &Arg, count: &str) -> Result<(), PlanError> {
    let count: u64 = count.parse().unwrap_or(u64::MAX);
    let size_kib = add
        .iter()
        .find(|x| same_key(&x.key, "hugepagesz") || same_key(&x.key, "default_hugepagesz"))
        .and_then(|x| x.value.as_deref())
        .and_then(page_kib)
        .unwrap_or(2048);
    let total = host.memory.total_kib;
    let cap = total / HUGEPAGE_SHARE.1 * HUGEPAGE_SHARE.0;
    if total > 0 && count.saturating_mul(size_kib) > cap {
        return Err(PlanError::BadArgument(
            a.to_string(),
            tr_f(
                "{count} pages of {size} MiB would take {want} MiB at boot, more than this computer can spare ({cap} MiB of {total} MiB); ask for fewer",
                &[
                    ("count", &count.to_string()),
                    ("size", &(size_kib / 1024).to_string()),
                    ("want", &(count.saturating_mul(size_kib) / 1024).to_string()),
                    ("cap", &(cap / 1024).to_string()),
                    ("total", &(total / 1024).to_string()),
                ],
            ),
        ));
    }
    Ok(())
}

/// `2M`, `1G` (what hugepagesz= takes) in KiB.
fn page_kib(v: &str) -> Option<u64> {
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    match unit {
        "K" | "k" => Some(n),
        "M" | "m" => Some(n * 1024),
        "G" | "g" => Some(n * 1024 * 1024),
        _ => None,
    }
}
