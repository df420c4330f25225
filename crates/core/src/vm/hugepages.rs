//! Who reserves a VM's hugepages: the libvirt hook when the VM starts (and frees them when it
//! stops), Host setup at boot (a kernel argument, journaled and undoable), or nobody (the VM's
//! memory is ordinary memory). The wizard's default is *at start* when the host has room for
//! the pages, else off, and [`why`] says which and why.

use crate::host::Host;
use crate::i18n::{tr, tr_f, tr_n};
use crate::plan::Intent;

/// The page size the wizard's VMs use: libvirt's `<hugepages/>` without a size takes the
/// system's default, 2 MiB on x86 (the pre-flight reads it the same way).
pub const PAGE_KIB: u64 = 2048;

/// Whether the VM's memory is on hugepages, and who reserves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugepageMode {
    /// The hook reserves them when the VM starts and frees them when it stops.
    AtStart,
    /// Host setup reserves them at boot (`hugepages=N` on the kernel command line).
    AtBoot,
    /// Ordinary memory.
    Off,
}

impl HugepageMode {
    /// The command-line word.
    pub fn word(self) -> &'static str {
        match self {
            HugepageMode::AtStart => "start",
            HugepageMode::AtBoot => "boot",
            HugepageMode::Off => "off",
        }
    }

    /// `start`, `boot` or `off` (`on` and `off` are read by the caller as the older flag).
    pub fn from_word(s: &str) -> Option<HugepageMode> {
        match s {
            "start" => Some(HugepageMode::AtStart),
            "boot" => Some(HugepageMode::AtBoot),
            _ => None,
        }
    }
}

/// Pages of [`PAGE_KIB`] for `memory_gib`.
pub fn pages(memory_gib: u64) -> u64 {
    memory_gib * 1024 * 1024 / PAGE_KIB
}

/// Whether the host can reserve `memory_gib` more as hugepages now (on top of its pool), with
/// the reason in words when it cannot.
pub fn room(host: &Host, memory_gib: u64) -> Result<(), String> {
    let pool = host
        .memory
        .hugepages
        .iter()
        .find(|p| p.size_kib == PAGE_KIB);
    let Some(pool) = pool else {
        return Err(tr("this host has no 2 MiB hugepages"));
    };
    let need = pages(memory_gib).saturating_sub(pool.free);
    host.memory
        .check_more_hugepages(PAGE_KIB, need)
        .map_err(|e| e.to_string())
}

/// What the wizard says under its hugepage choice: who reserves them, or why they are off.
pub fn why(host: &Host, mode: HugepageMode, memory_gib: u64) -> String {
    let mib = (memory_gib * 1024).to_string();
    match (mode, room(host, memory_gib)) {
        (HugepageMode::AtStart, Ok(())) => tr_f("The VM's {mib} MiB are reserved as hugepages when it starts and given back when it stops; there is room for them now.", &[("mib", &mib)]),
        (HugepageMode::AtStart, Err(why)) => tr_f("The VM's {mib} MiB cannot be reserved as hugepages when it starts: {why}. Switch hugepages off, or give the VM less memory.", &[("mib", &mib), ("why", &why)]),
        (HugepageMode::AtBoot, _) => tr_n("Host setup reserves {n} page of 2 MiB ({mib} MiB) at boot: that memory stays the VM's while the host runs, even when the VM is off.", "Host setup reserves {n} pages of 2 MiB ({mib} MiB) at boot: that memory stays the VM's while the host runs, even when the VM is off.", pages(memory_gib), &[("mib", &mib)]),
        (HugepageMode::Off, Ok(())) => tr("The VM's memory is ordinary memory."),
        (HugepageMode::Off, Err(why)) => tr_f("Off: {why}.", &[("why", &why)]),
    }
}

/// What Host setup adds for hugepages reserved at boot.
pub fn boot_intent(mode: HugepageMode, memory_gib: u64) -> Option<Intent> {
    (mode == HugepageMode::AtBoot).then(|| Intent::KernelArguments {
        add: vec![format!("hugepages={}", pages(memory_gib))],
        remove: vec![],
    })
}
