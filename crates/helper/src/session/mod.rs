//! A VM's session, run by libvirt's hook (`passage-helper hook`): at `prepare` the card's
//! group leaves its drivers, the VM's hugepages are reserved and the host's processes move off
//! the VM's CPUs; at `release` (after a shutdown, a Force Off or a crash) all of it comes back.
//!
//! A session is a journal entry ([`Session`]): each thing is recorded before it is taken, a
//! refused start gives back what it took (the entry ends RolledBack), and a session left half
//! done is finished by [`recover`] the next time the helper or the hook runs.

pub mod desktop;
mod take;
pub mod unresponsive;

use std::path::Path;

use passage_core::host::holders;
use passage_core::host::{Allow, Host, PciAddress};
use passage_core::vm::session::{GpuMode, SessionRequest};
use passage_core::Root;

use crate::journal::{Change, Entry, Journal, JournalError, Session, State, StepRunner, Taken};
use crate::sysfs::Found;
use unresponsive::Failure;

pub use take::{default_page_kib, UNBIND_TIMEOUT, UNITS};

/// The journal verb of a session.
pub const VERB: &str = "vm-session";

/// A session prepared this long ago whose VM has no QEMU process is over (libvirt's release
/// did not run); younger ones may still be starting.
const STALE_AFTER_SECS: u64 = 120;

fn boot_id(r: &Root) -> String {
    r.read_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Sessions that hold something now (being taken, running, or being given back).
fn open_sessions(j: &Journal) -> Vec<(Entry, Session)> {
    j.history()
        .into_iter()
        .filter(|e| matches!(e.state, State::Applying | State::Applied | State::Undoing))
        .filter_map(|e| match e.change.clone() {
            Change::Session(s) => Some((e, s)),
            _ => None,
        })
        .collect()
}

fn taken_devices(s: &Session) -> Vec<String> {
    s.taken
        .iter()
        .flat_map(|t| match t {
            Taken::Devices { devices, .. } => devices.iter().map(|d| d.0.clone()).collect(),
            _ => vec![],
        })
        .collect()
}

/// The whole IOMMU groups of `devices`, endpoints only, checked with core's rules: they
/// exist, their groups can go, the host does not show its screen on them, no other session
/// has them, and no process holds them open.
fn devices_to_take(
    r: &Root,
    host: &Host,
    j: &Journal,
    req: &SessionRequest,
) -> Result<Vec<PciAddress>, String> {
    if req.devices.is_empty() {
        return Ok(vec![]);
    }
    let only_gpu = req.settings.gpu_mode == GpuMode::OnlyGpu;
    let allow = if only_gpu {
        Allow::OnlyGpu
    } else {
        Allow::Groups
    };
    let all = host
        .may_take(&req.devices, allow)
        .map_err(|r| r.words(host))?
        .devices;
    for (e, s) in open_sessions(j) {
        if let Some(d) = taken_devices(&s)
            .iter()
            .find(|d| all.iter().any(|a| a.to_string() == **d))
        {
            return Err(format!(
                "{d} is lent to the VM \"{}\" (session {}); shut that VM down first",
                s.vm, e.id
            ));
        }
    }
    if only_gpu {
        // The desktop holds the card now; the session stops it, then names what still does.
        return Ok(all);
    }
    let nodes: Vec<String> = all
        .iter()
        .flat_map(|a| holders::device_nodes(r, host, *a))
        .collect();
    let held = holders::holders(r, &nodes, std::process::id());
    if !held.is_empty() {
        return Err(format!(
            "the graphics card is in use on the host: {}. Close those programs (or move the desktop off that card), then start the VM again",
            holders::words(&held)
        ));
    }
    Ok(all)
}

/// CPU isolation leaves the host a whole core (core's rule), checked before anything is
/// taken; a host whose online CPUs cannot be read is left to the isolation step, which skips
/// or refuses.
fn fence_check(r: &Root, host: &Host, req: &SessionRequest) -> Result<(), String> {
    let online = crate::authz::online_cpus(r);
    if !req.settings.isolate_cpus || req.pinned_cpus.is_empty() || online.is_empty() {
        return Ok(());
    }
    host.cpu
        .check_fence(&online, &req.pinned_cpus)
        .map_err(|e| format!("{e}; nothing was taken"))
}

/// Takes what the VM's session needs. On a refusal, everything taken is given back and the
/// message says what was wrong; the host is as it was.
pub fn prepare(
    root: &Path,
    req: &SessionRequest,
    runner: &dyn StepRunner,
) -> Result<String, String> {
    let r = Root::new(root).map_err(|e| e.to_string())?;
    let host = Host::scan(&r);
    let j = Journal::new(root);
    // Only what an administrator authorized for this VM's UUID, checked before anything is
    // taken (libvirt runs the hook for any domain, whoever defined it).
    let authorized = crate::authz::require(&r, req)?;
    let devices = devices_to_take(&r, &host, &j, req)?;
    let page_kib = match req.hugepages {
        None => None,
        Some((_, size)) => Some(
            size.or_else(|| default_page_kib(&r))
                .ok_or("this host has no hugepages (the kernel was built without them)")?,
        ),
    };
    crate::authz::check(&authorized, req, &devices, page_kib)?;
    fence_check(&r, &host, req)?;
    let pages = match (req.hugepages, page_kib) {
        (Some((mem_kib, _)), Some(size_kib)) => {
            let node = take::numa_node(&r, &host, &devices, &req.pinned_cpus, size_kib);
            let (add, before) = take::hugepage_need(&r, mem_kib, size_kib, node)?;
            // `before` is the node's pool when the pages go on a node; the cap is the host's.
            host.memory
                .check_more_hugepages(size_kib, add)
                .map_err(|e| e.to_string())?;
            (add > 0).then_some((size_kib, node, before, add))
        }
        _ => None,
    };
    let session = Session {
        vm: req.vm.clone(),
        boot_id: boot_id(&r),
        taken: vec![],
    };
    let summary = format!("Session of the VM \"{}\"", req.vm);
    let mut entry = j
        .begin(
            VERB,
            summary.clone(),
            Change::Session(session),
            State::Applying,
        )
        .map_err(|e| e.to_string())?;
    let result = take_all(
        root, &r, &host, &j, &mut entry, req, &devices, pages, runner,
    );
    let desktop_taken = holds_desktop(&entry);
    match result {
        Ok(words) => {
            entry.state = State::Applied;
            entry.summary = format!("{summary}: {words}");
            j.save(&entry).map_err(|e| e.to_string())?;
            if desktop_taken {
                desktop::say(root, &format!("the desktop stopped: the VM \"{}\" has this computer's only graphics card; it comes back when the VM shuts down (session {}).", req.vm, entry.id));
            }
            Ok(entry.summary)
        }
        Err(why) => {
            let left = give_back(&j, root, &mut entry, runner);
            entry.state = if left.is_empty() {
                State::RolledBack
            } else {
                State::Applied
            };
            let _ = j.save(&entry);
            let out = if left.is_empty() {
                format!("{why}; nothing on the host was changed")
            } else {
                format!("{why}; and {}", not_given_back(&left, &entry.id))
            };
            if desktop_taken {
                desktop::say(root, &format!("the VM \"{}\" did not start: {out}", req.vm));
            }
            Err(out)
        }
    }
}

/// Whether `entry`'s session took a step of the desktop (an *only GPU* session).
fn holds_desktop(entry: &Entry) -> bool {
    matches!(&entry.change, Change::Session(s) if s.taken.iter().any(|t| matches!(t, Taken::Desktop { .. })))
}

/// The *only GPU* mode's desktop steps, each recorded before it is taken, the watchdog first
/// (it gives the desktop back if this process dies). Returns the host as the device step
/// must see it (the card's driver unloaded).
fn take_desktop(
    root: &Path,
    r: &Root,
    host: &Host,
    j: &Journal,
    entry: &mut Entry,
    devices: &[PciAddress],
    runner: &dyn StepRunner,
) -> Result<Host, String> {
    let gpu = host
        .only_gpu()
        .filter(|g| devices.contains(g))
        .ok_or("the VM asks for the only-GPU mode, but its devices do not hold this host's one graphics card; choose another GPU mode")?;
    let unit = desktop::watchdog_unit(&entry.id);
    push(j, entry, Taken::Watchdog { unit: unit.clone() })?;
    desktop::start_watchdog(r, &unit, runner)?;
    for step in passage_core::host::desktop::plan(r, host, gpu, devices) {
        if matches!(
            step,
            passage_core::host::desktop::DesktopStep::BindGroup { .. }
        ) {
            break;
        }
        push(j, entry, Taken::Desktop { step: step.clone() })?;
        desktop::take(root, &step, runner)?;
    }
    Ok(Host::scan(r))
}

fn push(j: &Journal, entry: &mut Entry, t: Taken) -> Result<(), String> {
    if let Change::Session(s) = &mut entry.change {
        s.taken.push(t);
    }
    j.save(entry).map_err(|e| e.to_string())
}

fn last_taken(entry: &mut Entry) -> Option<&mut Taken> {
    match &mut entry.change {
        Change::Session(s) => s.taken.last_mut(),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn take_all(
    root: &Path,
    r: &Root,
    host: &Host,
    j: &Journal,
    entry: &mut Entry,
    req: &SessionRequest,
    devices: &[PciAddress],
    pages: Option<(u64, Option<u32>, u64, u64)>,
    runner: &dyn StepRunner,
) -> Result<String, String> {
    let mut words = Vec::new();
    if let Some((size_kib, node, before, added)) = pages {
        push(
            j,
            entry,
            Taken::Hugepages {
                size_kib,
                node,
                before,
                added,
                reserved: false,
                back_to: None,
            },
        )?;
        take::hugepages(root, size_kib, node, before, added)?;
        if let Some(Taken::Hugepages { reserved, .. }) = last_taken(entry) {
            *reserved = true;
        }
        j.save(entry).map_err(|e| e.to_string())?;
        words.push(format!(
            "{} MiB of hugepages reserved",
            added * size_kib / 1024
        ));
    }
    let rescanned;
    let host = if req.settings.gpu_mode == GpuMode::OnlyGpu && !devices.is_empty() {
        rescanned = take_desktop(root, r, host, j, entry, devices, runner)?;
        words.push("the desktop stopped".to_string());
        &rescanned
    } else {
        host
    };
    if !devices.is_empty() {
        // Recorded before the writes: the drivers and someone else's overrides, given back.
        let (planned, overrides) = Found::split(&crate::sysfs::found(root, host, devices));
        push(
            j,
            entry,
            Taken::Devices {
                devices: planned,
                overrides,
            },
        )?;
        let (got, overrides) = Found::split(&take::devices(root, host, devices, runner)?);
        if let Some(Taken::Devices {
            devices,
            overrides: o,
        }) = last_taken(entry)
        {
            (*devices, *o) = (got, overrides);
        }
        j.save(entry).map_err(|e| e.to_string())?;
        words.push(format!(
            "{} taken from the host",
            crate::sysfs::listed(devices)
        ));
    }
    if req.settings.isolate_cpus {
        // Each unit's CPUs recorded before any is changed: a start cut off gives them back.
        match take::cpus_before(r, &req.pinned_cpus, runner)? {
            Some((units, rest)) => {
                push(
                    j,
                    entry,
                    Taken::Cpus {
                        units: units.clone(),
                    },
                )?;
                take::cpus(&units, &rest, &req.pinned_cpus, runner)?;
                words.push(format!(
                    "host kept off CPUs {}",
                    passage_core::root::format_cpu_list(&req.pinned_cpus)
                ));
            }
            None => {
                words.push("CPU isolation skipped (needs systemd as init and pinned vCPUs)".into())
            }
        }
    }
    Ok(if words.is_empty() {
        "nothing to take".into()
    } else {
        words.join(", ")
    })
}

/// Gives back everything `entry`'s session took, newest first. Where each hugepage pool goes
/// is recorded first, so a give-back cut off and run again sets the same count. Returns what
/// failed.
fn give_back(j: &Journal, root: &Path, entry: &mut Entry, runner: &dyn StepRunner) -> Vec<Failure> {
    let Change::Session(s) = &mut entry.change else {
        return vec![];
    };
    let mut decided = false;
    for t in s.taken.iter_mut() {
        let to = take::pool_back_to(root, t);
        if let Taken::Hugepages {
            back_to: b @ None, ..
        } = t
        {
            *b = to;
            decided = true;
        }
    }
    if decided {
        if let Err(e) = j.save(entry) {
            return vec![Failure::Other(e.to_string())];
        }
    }
    let Change::Session(s) = &entry.change else {
        return vec![];
    };
    // The watchdog (taken first, so given back last) stays while anything is not back: it
    // tries again.
    let mut failed: Vec<Failure> = Vec::new();
    for t in s.taken.iter().rev() {
        if matches!(t, Taken::Watchdog { .. }) && !failed.is_empty() {
            continue;
        }
        if let Err(e) = take::give(root, t, runner) {
            failed.push(e);
        }
    }
    failed
}

/// Ends a session: marks it Undoing, gives everything back, marks it Undone (or leaves it
/// Applied with what failed, for another try).
fn end(
    j: &Journal,
    root: &Path,
    mut entry: Entry,
    runner: &dyn StepRunner,
    why: &str,
) -> Result<String, String> {
    entry.state = State::Undoing;
    j.save(&entry).map_err(|e| e.to_string())?;
    let desktop_taken = holds_desktop(&entry);
    let failed = give_back(j, root, &mut entry, runner);
    if desktop_taken {
        desktop::say(
            root,
            &if failed.is_empty() {
                format!(
                    "the VM stopped ({why}); the desktop is back (session {}).",
                    entry.id
                )
            } else {
                format!(
                    "the VM stopped ({why}), but the desktop may not be back: {}",
                    not_given_back(&failed, &entry.id)
                )
            },
        );
    }
    entry.state = if failed.is_empty() {
        State::Undone
    } else {
        State::Applied
    };
    j.save(&entry).map_err(|e| e.to_string())?;
    if failed.is_empty() {
        Ok(format!(
            "{} ended ({why}); everything it took is back",
            entry.summary.split(':').next().unwrap_or("Session")
        ))
    } else {
        Err(not_given_back(&failed, &entry.id))
    }
}

/// What could not be given back, and what to do: a restart for a card that did not reset (the
/// session is closed with that boot), else another try.
fn not_given_back(failed: &[Failure], id: &str) -> String {
    let words: Vec<String> = failed.iter().map(ToString::to_string).collect();
    if failed.iter().any(Failure::needs_restart) {
        format!("could not give back: {}", words.join("; "))
    } else {
        format!(
            "could not give back: {} (passagectl undo {id} tries again)",
            words.join("; ")
        )
    }
}

/// libvirt's `release`: ends the VM's open session, if it has one.
pub fn release(root: &Path, vm: &str, runner: &dyn StepRunner) -> Result<String, String> {
    let j = Journal::new(root);
    match open_sessions(&j).into_iter().find(|(_, s)| s.vm == vm) {
        Some((e, _)) => end(&j, root, e, runner, "the VM stopped"),
        None => Ok(format!(
            "the VM \"{vm}\" has no session; nothing to give back"
        )),
    }
}

/// Undo of a session from History: refused while the VM still holds the devices.
pub fn undo(
    j: &Journal,
    entry: Entry,
    s: Session,
    runner: &dyn StepRunner,
) -> Result<String, JournalError> {
    let root = j.root().to_path_buf();
    if let Some(pid) = vm_process(&root, &s) {
        return Err(JournalError::Host(format!(
            "the VM \"{}\" is still running (QEMU, PID {pid}); shut it down and its session ends by itself",
            s.vm
        )));
    }
    end(j, &root, entry, runner, "undone").map_err(JournalError::Host)
}

/// The VM's QEMU process, from libvirt's pid file, when it is alive; else any process that
/// holds the devices the session took (`/dev/vfio/N`): giving them back under a running QEMU
/// would block in the kernel.
fn vm_process(root: &Path, s: &Session) -> Option<u32> {
    let r = Root::new(root).ok()?;
    let from_pidfile = r
        .read_dec::<u32>(&format!("/run/libvirt/qemu/{}.pid", s.vm))
        .filter(|pid| r.exists(&format!("/proc/{pid}")));
    from_pidfile.or_else(|| {
        let host = Host::scan(&r);
        let nodes: Vec<String> = taken_devices(s)
            .iter()
            .filter_map(|a| a.parse().ok())
            .flat_map(|a| holders::device_nodes(&r, &host, a))
            .filter(|n| n.starts_with("/dev/vfio/"))
            .collect();
        holders::holders(&r, &nodes, std::process::id())
            .first()
            .map(|h| h.pid)
    })
}

/// Finishes sessions left half done: one being taken or given back when the helper stopped,
/// and one whose VM is gone without a release. After a restart there is nothing to give back
/// (the kernel forgot it all); they are only marked. Returns what was done, in words.
pub fn recover(root: &Path, runner: &dyn StepRunner) -> Vec<String> {
    let Ok(r) = Root::new(root) else {
        return vec![];
    };
    let j = Journal::new(root);
    let now_boot = boot_id(&r);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut out = Vec::new();
    for (mut e, s) in open_sessions(&j) {
        if s.boot_id != now_boot {
            e.state = State::Undone;
            let _ = j.save(&e);
            out.push(format!(
                "session {} of \"{}\" ended with the last boot",
                e.id, s.vm
            ));
            continue;
        }
        let stale = match e.state {
            State::Applied => {
                now.saturating_sub(e.created) > STALE_AFTER_SECS && vm_process(root, &s).is_none()
            }
            _ => true,
        };
        if stale {
            let id = e.id.clone();
            match end(&j, root, e, runner, "found unfinished") {
                Ok(_) => out.push(format!(
                    "session {id} of \"{}\" was unfinished; everything it took is back",
                    s.vm
                )),
                Err(why) => out.push(format!("session {id} of \"{}\": {why}", s.vm)),
            }
        }
    }
    out
}

/// Open sessions, for `passagectl sessions`: id, VM, state and what each took.
pub fn list(root: &Path) -> Vec<(String, String, String, Vec<Taken>)> {
    open_sessions(&Journal::new(root))
        .into_iter()
        .map(|(e, s)| (e.id, s.vm, e.state.name().to_string(), s.taken))
        .collect()
}
