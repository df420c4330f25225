//! `passagectl vm start | shutdown | explain`: the daily loop from a terminal, with the same
//! pre-flight and diagnosis as the app (core's `vm::preflight` and `vm::diagnose`).
//!
//! Exit codes: 0 done, 1 refused (a pre-flight finding) or failed (with the cause), 2 bad usage.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::diagnose::{explain, Diagnosis};
use passage_core::vm::preflight::{self, Facts, Finding, Remedy};
use passage_core::vm::Domain;
use passage_virt::{Hypervisor, Libvirt, VirtError, VmState};

use crate::ConnectArg;
use passagectl::{scan_root, RootArg};

/// Prints a diagnosis in words: the title, the fix, and libvirt's own text below.
fn say_diagnosis(d: &Diagnosis, raw: &str, json: bool) {
    if json {
        let mut v = serde_json::json!({"cause": d.cause.id(), "title": d.title, "fix": d.fix});
        if let Some(s) = &d.subject {
            v["subject"] = serde_json::json!(s);
        }
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        outln!("{} [{}]\n{}", d.title, d.cause.id(), d.fix);
        if !raw.is_empty() {
            outln!("\nWhat libvirt said:\n{}", raw.trim_end());
        }
    }
}

/// `vm explain`: reads an error text on standard input.
pub fn explain_stdin(json: bool) -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        eprintln!("passagectl: cannot read standard input: {e}");
        return ExitCode::from(2);
    }
    say_diagnosis(&explain(&text), "", json);
    ExitCode::SUCCESS
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("passagectl: {msg}");
    ExitCode::from(code)
}

fn open(conn: &ConnectArg) -> Result<Libvirt, ExitCode> {
    Libvirt::open(&conn.uri).map_err(|e| fail(1, e))
}

fn xml_of(h: &Libvirt, name: &str) -> Result<String, ExitCode> {
    h.xml(name).map_err(|e| match e {
        VirtError::NoSuchVm(_) => fail(2, e),
        e => fail(1, e),
    })
}

/// The findings Passage cannot act on itself; it starts the networks it may.
fn preflight(h: &Libvirt, name: &str, root: &RootArg, uri: &str) -> Result<Vec<Finding>, ExitCode> {
    let xml = xml_of(h, name)?;
    let d = Domain::read(&xml).map_err(|e| fail(1, e))?;
    let facts = Facts::of(uri, h.networks().ok());
    let findings = match passage_core::connection::remote(uri) {
        Some(r) => remote_findings(&d, root, &r, &facts)?,
        None => {
            let (opened, host) = scan_root(root).map_err(|e| fail(2, e))?;
            looking_glass_note(&d, &host);
            own_rom_warnings(&d, &host);
            preflight::check(&d, &host, &opened.root, &facts)
        }
    };
    let mut left = vec![];
    for f in findings {
        match &f.remedy {
            Some(Remedy::StartNetwork { network }) => match h.start_network(network) {
                Ok(()) => outln!(
                    "{}",
                    tr_f(
                        "Passage started libvirt's network “{net}” for the VM.",
                        &[("net", network)]
                    )
                ),
                Err(e) => {
                    eprintln!("passagectl: {e}");
                    left.push(f);
                }
            },
            _ => left.push(f),
        }
    }
    Ok(left)
}

/// The pre-flight on a remote host: its devices and memory as `passagectl scan` reads them
/// there, libvirt's networks; its files (disk images, firmware, libvirt's hook) are not
/// visible from here, and that is said.
fn remote_findings(
    d: &Domain,
    root: &RootArg,
    r: &passage_core::connection::RemoteHost,
    facts: &Facts,
) -> Result<Vec<Finding>, ExitCode> {
    crate::vm_remote::refuse_local_root(root, r).map_err(|e| fail(2, e))?;
    let host = match r.scan() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("passagectl: {e}");
            None
        }
    };
    let said = if host.is_some() {
        tr_f("{host} is a remote host: the pre-flight checked its devices and memory (read there over SSH) and libvirt's networks; its disk images, firmware files and libvirt's hook are not checked from here (libvirt there refuses what cannot start, and Passage explains its error).", &[("host", &r.name)])
    } else {
        tr_f("{host} is a remote host: the pre-flight checked libvirt's networks; its devices, memory, disk images, firmware files and libvirt's hook are not checked from here (libvirt there refuses what cannot start, and Passage explains its error).", &[("host", &r.name)])
    };
    eprintln!("passagectl: {said}");
    Ok(preflight::check_remote(d, host.as_ref(), facts))
}

/// `vm start NAME [--wait]`: pre-flight, start, and on a failure the cause.
pub fn start(name: &str, wait: bool, root: &RootArg, conn: &ConnectArg) -> ExitCode {
    let h = match open(conn) {
        Ok(h) => h,
        Err(c) => return c,
    };
    if let Err(c) = start_on(&h, name, root, &conn.uri) {
        return c;
    }
    if wait {
        match wait_for(&h, name, VmState::Running, Duration::from_secs(60)) {
            Ok(()) => {}
            Err(WaitEnd::Failed(c)) => return c,
            Err(WaitEnd::TimedOut) => return fail(1, format!("{name} is not running after 60 s")),
        }
    }
    outln!("VM {name} started.");
    ExitCode::SUCCESS
}

/// The pre-flight, then libvirt's start on this connection; a finding or a failure is said
/// with its cause (exit 1). `vm start` and `vm new --express` start this way.
pub fn start_on(h: &Libvirt, name: &str, root: &RootArg, uri: &str) -> Result<(), ExitCode> {
    let findings = preflight(h, name, root, uri)?;
    if !findings.is_empty() {
        for f in &findings {
            eprintln!("passagectl: {} [{}]\n  {}", f.title, f.cause.id(), f.fix);
            if let Some(Remedy::ReserveHugepages { count, .. }) = &f.remedy {
                eprintln!("  passagectl hugepages {count}");
            }
        }
        eprintln!("passagectl: {name} was not started.");
        return Err(ExitCode::from(1));
    }
    if let Err(e) = h.start(name) {
        let raw = e.to_string();
        say_diagnosis(&explain(&raw), &raw, false);
        return Err(ExitCode::from(1));
    }
    Ok(())
}

/// How a wait ended when the VM did not reach the state.
enum WaitEnd {
    TimedOut,
    Failed(ExitCode),
}

/// Polls (five times a second) until the VM is in `want`, fails, or `timeout` passes.
fn wait_for(h: &Libvirt, name: &str, want: VmState, timeout: Duration) -> Result<(), WaitEnd> {
    let t0 = Instant::now();
    loop {
        match h.state(name) {
            Ok(s) if s == want => return Ok(()),
            Ok(VmState::Crashed) => {
                return Err(WaitEnd::Failed(fail(1, format!("{name} crashed"))))
            }
            Ok(VmState::Off) if want == VmState::Running => {
                return Err(WaitEnd::Failed(fail(
                    1,
                    format!("{name} stopped again as it started"),
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(WaitEnd::Failed(fail(1, e))),
        }
        if t0.elapsed() > timeout {
            return Err(WaitEnd::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `vm shutdown NAME [--timeout S] [--force]`: the guest is asked (guest agent or power
/// button), and Passage waits; after the timeout `--force` pulls the plug, else it says how.
pub fn shutdown(name: &str, timeout: u64, force: bool, conn: &ConnectArg) -> ExitCode {
    let h = match open(conn) {
        Ok(h) => h,
        Err(c) => return c,
    };
    match h.state(name) {
        Ok(VmState::Off) => {
            outln!("VM {name} is off.");
            return ExitCode::SUCCESS;
        }
        Ok(_) => {}
        Err(e @ VirtError::NoSuchVm(_)) => return fail(2, e),
        Err(e) => return fail(1, e),
    }
    if let Err(e) = h.shutdown(name) {
        return fail(1, e);
    }
    outln!("Asked {name} to shut down; waiting up to {timeout} s…");
    match wait_for(&h, name, VmState::Off, Duration::from_secs(timeout)) {
        Ok(()) => {
            outln!("VM {name} shut down.");
            ExitCode::SUCCESS
        }
        Err(WaitEnd::Failed(c)) => c,
        Err(WaitEnd::TimedOut) if force => match h.destroy(name) {
            Ok(()) => {
                outln!("VM {name} did not shut down within {timeout} s and was forced off (unsaved work in it is lost).");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, e),
        },
        Err(WaitEnd::TimedOut) => fail(
            1,
            format!("{name} did not shut down within {timeout} s. Save your work in it, or force it off (unsaved work is lost): passagectl vm shutdown {name} --force"),
        ),
    }
}

/// The pre-flight's look at the cards' own ROMs (a UEFI VM's passed cards without a ROM
/// file, never the host's screen's): read by the helper (ReadRom, polkit asks), walked here,
/// and a card without an x64 UEFI image is a warning; the VM still starts.
fn own_rom_warnings(d: &Domain, host: &passage_core::Host) {
    use passage_core::vm::rom_check::{cards_to_read, own_rom_finding};
    for a in cards_to_read(d, host) {
        match passagectl::helper::read_rom(&a.to_string()) {
            Ok(bytes) => {
                let verdict = passage_core::host::rom::walk(&bytes).verdict;
                if let Some(f) = own_rom_finding(host, a, &verdict) {
                    eprintln!(
                        "passagectl: {}: {} [{}]\n  {}",
                        tr("warning"),
                        f.title,
                        f.cause.id(),
                        f.fix
                    );
                }
            }
            Err(e) => eprintln!(
                "passagectl: {}",
                tr_f(
                    "the ROM of {card} was not checked for a UEFI image ({why}); passagectl rom {addr} --helper checks it",
                    &[("card", &host.card_label(a)), ("why", &e), ("addr", &a.to_string())]
                )
            ),
        }
    }
}

/// What the pre-flight of a Looking Glass VM cannot tell, said before it starts: whether a
/// monitor or dummy plug is on a card the host sees no outputs of (on vfio-pci).
fn looking_glass_note(d: &Domain, host: &passage_core::Host) {
    if d.looking_glass.is_none() {
        return;
    }
    for a in passage_core::vm::looking_glass_check::cannot_tell(d, host) {
        outln!(
            "{}",
            tr_f(
                "Looking Glass: Passage cannot tell whether a monitor or dummy plug is on {card} (on vfio-pci the host sees none of its outputs); without one the guest draws no screen to copy.",
                &[("card", &host.card_label(a))]
            )
        );
    }
}
