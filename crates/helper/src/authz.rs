//! What an administrator authorized libvirt's hook to take for a VM, by its UUID.
//!
//! libvirt runs the hook as root for every domain, and anyone who may define domains writes
//! their metadata; so the metadata only says what a VM wants, and the hook takes nothing that
//! is not recorded here. A record is written only by the helper's polkit-checked AuthorizeVm
//! (through the journal: atomic, 0600 root, in History, undone by Undo) and removed by
//! RevokeVm or that Undo. Layout: `/var/lib/passage/authorized/UUID.json` below the root.

use std::os::unix::fs::MetadataExt;

use passage_core::host::PciAddress;
use passage_core::plan::{self, Plan};
use passage_core::root::format_cpu_list;
use passage_core::vm::session::{pages_for, SessionRequest};
use passage_core::{Host, Root};
use serde::{Deserialize, Serialize};

/// Where the records are, on the host.
pub const DIR: &str = "/var/lib/passage/authorized";

/// What one VM's session may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmAuthorization {
    /// Lower case, as `verb_args::uuid` gives it.
    pub uuid: String,
    /// The VM's name when it was authorized (for messages; the UUID is what counts).
    pub vm: String,
    /// Every device of the authorized IOMMU groups (endpoints).
    pub devices: Vec<PciAddress>,
    /// The most memory its hugepages may back, in KiB (0: none).
    pub hugepages_kib: u64,
    /// The CPUs the host may be kept off (empty: no CPU isolation).
    pub cpus: Vec<u32>,
}

/// The record's path on the host.
pub fn path(uuid: &str) -> String {
    format!("{DIR}/{uuid}.json")
}

/// How to authorize, in words the hook's refusals end with.
fn how(vm: &str) -> String {
    format!("an administrator authorizes it with `passagectl vm authorize {vm}` or the Authorize button on the VM's page in Passage")
}

/// The record for `uuid`, read through the root prefix. `Ok(None)`: there is none. A record
/// that is not root's own private regular file is refused, never trusted.
pub fn read(r: &Root, uuid: &str) -> Result<Option<VmAuthorization>, String> {
    let host_path = path(uuid);
    let p = r.path(&host_path);
    let meta = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {host_path}: {e}")),
    };
    if !meta.file_type().is_file() || meta.uid() != 0 || meta.mode() & 0o077 != 0 {
        return Err(format!("{host_path} is not root's own private file (a regular file, mode 0600); Passage does not trust it. Remove it, then authorize the VM again"));
    }
    let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {host_path}: {e}"))?;
    let a: VmAuthorization = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{host_path} is not an authorization Passage wrote ({e}); remove it, then authorize the VM again"))?;
    if a.uuid != uuid {
        return Err(format!(
            "{host_path} is for another VM ({}); remove it, then authorize the VM again",
            a.uuid
        ));
    }
    Ok(Some(a))
}

/// The authorization `req` needs, refused with how to get it. Checked before anything is
/// taken.
pub fn require(r: &Root, req: &SessionRequest) -> Result<VmAuthorization, String> {
    let vm = &req.vm;
    let Some(uuid) = &req.uuid else {
        return Err(format!("the domain \"{vm}\" has no readable UUID, so Passage cannot tell whether it was authorized; nothing was taken"));
    };
    read(r, uuid)?.ok_or_else(|| {
        format!(
            "the VM \"{vm}\" (UUID {uuid}) is not authorized to take anything from the host while it runs; {}. Nothing was taken",
            how(vm)
        )
    })
}

/// Refuses what `req` would take beyond `a`: a device outside the authorized groups, more
/// hugepage-backed memory (counted in pages of `page_kib`), CPUs the host was not to be kept
/// off.
pub fn check(
    a: &VmAuthorization,
    req: &SessionRequest,
    devices: &[PciAddress],
    page_kib: Option<u64>,
) -> Result<(), String> {
    let vm = &req.vm;
    let beyond = |what: String| {
        format!(
            "the VM \"{vm}\" asks for {what}, more than was authorized for it; {} again. Nothing was taken",
            how(vm)
        )
    };
    let extra: Vec<String> = devices
        .iter()
        .filter(|d| !a.devices.contains(d))
        .map(ToString::to_string)
        .collect();
    if !extra.is_empty() {
        return Err(beyond(format!("{} from the host", extra.join(", "))));
    }
    if let (Some((mem_kib, _)), Some(size)) = (req.hugepages, page_kib) {
        let want = pages_for(mem_kib, size).unwrap_or(u64::MAX);
        let may = pages_for(a.hugepages_kib, size).unwrap_or(0);
        if want > may {
            return Err(beyond(format!(
                "{} MiB of hugepages (authorized: {} MiB)",
                want.saturating_mul(size) / 1024,
                a.hugepages_kib / 1024
            )));
        }
    }
    if req.settings.isolate_cpus {
        let extra: Vec<u32> = req
            .pinned_cpus
            .iter()
            .copied()
            .filter(|c| !a.cpus.contains(c))
            .collect();
        if !extra.is_empty() {
            return Err(beyond(format!(
                "the host kept off CPUs {}",
                format_cpu_list(&extra)
            )));
        }
    }
    Ok(())
}

/// The whole IOMMU groups of `devices` (endpoints), when they may go to a VM by the group
/// rule; the host's only graphics card may be authorized (for an *only GPU* VM, whose session
/// stops the desktop first; the hook lends it to no other mode).
pub fn groups(host: &Host, devices: &[PciAddress]) -> Result<Vec<PciAddress>, String> {
    if devices.is_empty() {
        return Ok(vec![]);
    }
    host.may_take(devices, passage_core::host::Allow::OnlyGpu)
        .map(|t| t.devices)
        .map_err(|e| e.words(host))
}

/// The online CPUs of the host below `r`.
pub fn online_cpus(r: &Root) -> Vec<u32> {
    r.read_string("/sys/devices/system/cpu/online")
        .and_then(|s| passage_core::root::parse_cpu_list(&s))
        .unwrap_or_default()
}

/// Checks an authorization request on the host as it is now and returns the record to write:
/// the devices' whole groups by the group rule, hugepages within the host's memory, CPUs the
/// host can be kept off while keeping a whole core.
pub fn make(
    r: &Root,
    host: &Host,
    uuid: String,
    vm: String,
    devices: &[PciAddress],
    hugepages_kib: u64,
    mut cpus: Vec<u32>,
) -> Result<VmAuthorization, String> {
    let devices = groups(host, devices)?;
    if hugepages_kib > host.memory.total_kib {
        return Err(format!(
            "{} MiB of hugepages is more than this host's {} MiB of memory",
            hugepages_kib / 1024,
            host.memory.total_kib / 1024
        ));
    }
    cpus.sort_unstable();
    cpus.dedup();
    if !cpus.is_empty() {
        host.cpu
            .check_fence(&online_cpus(r), &cpus)
            .map_err(|e| e.to_string())?;
    }
    Ok(VmAuthorization {
        uuid,
        vm,
        devices,
        hugepages_kib,
        cpus,
    })
}

/// In words, for History and the reply.
pub fn words(a: &VmAuthorization) -> String {
    let mut parts = vec![];
    if !a.devices.is_empty() {
        parts.push(crate::sysfs::listed(&a.devices));
    }
    if a.hugepages_kib > 0 {
        parts.push(format!("{} MiB of hugepages", a.hugepages_kib / 1024));
    }
    if !a.cpus.is_empty() {
        parts.push(format!(
            "the host kept off CPUs {}",
            format_cpu_list(&a.cpus)
        ));
    }
    if parts.is_empty() {
        parts.push("nothing".into());
    }
    format!(
        "the VM \"{}\" ({}) may take while it runs: {}",
        a.vm,
        a.uuid,
        parts.join(", ")
    )
}

fn current(r: &Root, uuid: &str) -> Option<Vec<u8>> {
    std::fs::read(r.path(&path(uuid))).ok()
}

/// The change that writes `a` (mode 0600); empty when it is recorded already.
pub fn plan_write(r: &Root, a: &VmAuthorization) -> Result<Plan, String> {
    let mut bytes = serde_json::to_vec_pretty(a).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    let before = current(r, &a.uuid);
    let mut p = Plan::default();
    if let Some(mut c) = plan::change(
        &path(&a.uuid),
        before.as_deref(),
        Some(bytes),
        format!("Authorized: {}", words(a)),
    ) {
        c.mode = 0o600;
        p.changes.push(c);
    }
    Ok(p)
}

/// The change that removes `uuid`'s record; empty when there is none.
pub fn plan_remove(r: &Root, uuid: &str) -> Plan {
    let mut p = Plan::default();
    let before = current(r, uuid);
    if let Some(c) = plan::change(
        &path(uuid),
        before.as_deref(),
        None,
        format!("Authorization of the VM {uuid} revoked"),
    ) {
        p.changes.push(c);
    }
    p
}
