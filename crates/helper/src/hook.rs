//! `passage-helper hook DOMAIN OPERATION SUB-OPERATION EXTRA`: run as root by libvirt's QEMU
//! hook dispatcher (`/etc/libvirt/hooks/qemu.d/50-passage`), with the domain XML on stdin.
//!
//! Acts only for domains whose Passage metadata asks for a session, and only at `prepare`
//! (take) and `release` (give back); every other call returns at once. It never calls libvirt
//! (libvirt waits for the hook). A refusal is one line on stderr and exit status 1, which
//! libvirt turns into the start's error message.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use passage_core::vm::session::{hook_call, read_session_request, HookOp};

use crate::journal::StepRunner;
use crate::{lock, session};

/// How long a start waits for another change (an Apply's rebuild) to finish.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Reads the domain XML libvirt writes to the pipe to its end, keeping none of it: libvirt
/// writes the whole document whatever the operation. A read error changes nothing here (the
/// operation does not use the XML).
fn drain(stdin: &mut dyn Read) {
    if let Err(e) = std::io::copy(stdin, &mut std::io::sink()) {
        eprintln!("passage: the domain XML from libvirt could not be read to its end: {e}");
    }
}

/// What the hook did: `Ok(None)` for a call it leaves alone.
pub fn run(
    root: &Path,
    args: &[String],
    stdin: &mut dyn Read,
    runner: &dyn StepRunner,
) -> Result<Option<String>, String> {
    let call = hook_call(args).map_err(|e| e.to_string())?;
    let request = match call.op {
        HookOp::Other(_) => {
            drain(stdin);
            return Ok(None);
        }
        // Read whole; a domain without Passage's namespace is left alone whatever it holds.
        HookOp::Prepare => {
            match read_session_request(&call.vm, stdin).map_err(|e| e.to_string())? {
                None => return Ok(None),
                Some(r) => Some(r),
            }
        }
        HookOp::Release => {
            drain(stdin);
            None
        }
    };
    let _lock = lock::within(root, LOCK_WAIT)
        .map_err(|e| format!("cannot take Passage's lock: {e}"))?
        .ok_or_else(|| {
            format!(
                "Passage is busy with another change for more than {} s; try again when it is done",
                LOCK_WAIT.as_secs()
            )
        })?;
    for line in session::recover(root, runner) {
        eprintln!("passage: {line}");
    }
    match request {
        Some(req) => session::prepare(root, &req, runner).map(Some),
        None => session::release(root, &call.vm, runner).map(Some),
    }
}
