//! Kernel arguments checked against this host before they are planned: the same rules as the
//! other verbs, so SetKernelArguments cannot go around them. `vfio-pci.ids=` takes devices
//! at boot, so it passes the group guard of binding at boot; a module blacklist may not name
//! the driver of anything the host needs (its screen, its disks, its network); `hugepages=`
//! may not reserve more than the host can spare.

use crate::host::kernel::same_key;
use crate::host::{Host, PciAddress};
use crate::i18n::{tr_f, tr_n};
use crate::plan::args::Arg;
use crate::plan::hugepages::{boot_pools, BootPool};
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
        }
    }
    if let Some(a) = add
        .iter()
        .find(|a| HUGEPAGE_KEYS.iter().any(|k| same_key(&a.key, k)))
    {
        hugepages(host, add, a)?;
    }
    Ok(())
}

/// The arguments that decide what hugepages the kernel reserves at boot.
const HUGEPAGE_KEYS: [&str; 3] = ["hugepages", "hugepagesz", "default_hugepagesz"];

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

/// At most nine tenths of the installed memory, counted the way the kernel reads a whole
/// command line ([`super::hugepages`]): a `hugepages=` is in the page size before it or the
/// default one, which may be the command line's `default_hugepagesz=`. The command line the
/// host boots with after the change is this boot's with `add` applied where the boot loader's
/// configuration matches it, or `add` alone where it holds no hugepage arguments: both are
/// read, and the larger reservation counts.
fn hugepages(host: &Host, add: &[Arg], a: &Arg) -> Result<(), PlanError> {
    let mut sizes: Vec<u64> = host.memory.hugepages.iter().map(|p| p.size_kib).collect();
    if sizes.is_empty() {
        // Not read (a capture without sysfs): x86's sizes.
        sizes = vec![super::hugepages::DEFAULT_KIB, 1 << 20];
    }
    let kib = |pools: &[BootPool]| {
        pools.iter().fold(0u64, |sum, p| {
            sum.saturating_add(p.size_kib.saturating_mul(p.count))
        })
    };
    let this_boot = super::args::edit(&host.kernel.cmdline, add, &[]);
    let alone: Vec<String> = add.iter().map(Arg::to_string).collect();
    let pools = [this_boot, alone]
        .iter()
        .map(|t| boot_pools(t, &sizes))
        .max_by_key(|p| kib(p))
        .unwrap_or_default();
    let want = kib(&pools);
    let total = host.memory.total_kib;
    let cap = total / HUGEPAGE_SHARE.1 * HUGEPAGE_SHARE.0;
    if total > 0 && want > cap {
        let what = pools
            .iter()
            .map(|p| {
                tr_n(
                    "{n} page of {size} MiB",
                    "{n} pages of {size} MiB",
                    p.count,
                    &[("size", &(p.size_kib / 1024).to_string())],
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(PlanError::BadArgument(
            a.to_string(),
            tr_f(
                "the command line would reserve {pools} at boot, {want} MiB, more than this computer can spare ({cap} MiB of {total} MiB); ask for fewer",
                &[
                    ("pools", &what),
                    ("want", &(want / 1024).to_string()),
                    ("cap", &(cap / 1024).to_string()),
                    ("total", &(total / 1024).to_string()),
                ],
            ),
        ));
    }
    Ok(())
}
