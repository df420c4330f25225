//! `passagectl vm verify NAME [--json]`: asks the running VM's guest, through the QEMU guest
//! agent, whether it sees each PCI device passed to it and with which driver (core's
//! `vm::verify` judges; passage-virt runs the read-only queries).
//!
//! Exit codes: 0 every passed device works in the guest, 1 the guest could not be asked (or
//! libvirt refused), 2 bad input, 3 the guest answered and a device does not work.

use std::process::ExitCode;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::verify::{self, CannotCheck, Target, Verification};
use passage_virt::Hypervisor;
use serde::Serialize;

use crate::vm::{bad, refused, Failed};
use crate::ConnectArg;
use passagectl::{print_json, RootArg};

#[derive(Serialize)]
struct Report<'a> {
    vm: &'a str,
    #[serde(flatten)]
    result: Outcome,
    /// What the front ends say of the agent commands (read-only; libvirt's taint).
    note: String,
}

#[derive(Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
enum Outcome {
    Checked {
        #[serde(flatten)]
        v: Verification,
        lines: Vec<String>,
    },
    CannotCheck {
        why: CannotCheck,
        message: String,
    },
}

pub(crate) fn run(
    name: &str,
    json: bool,
    root: &RootArg,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
    let xml = h.xml(name).map_err(|e| match e {
        passage_virt::VirtError::NoSuchVm(_) => bad(e),
        e => refused(e),
    })?;
    // The devices its definition passes (named by its host's IDs, read there when it is a
    // remote one): one it started without shows as missing.
    let host = crate::vm_remote::host_of(root, conn).map_err(bad)?;
    let mut target = Target::read(&xml, &host).map_err(bad)?;
    // A ROM file the VM names is on its host: walked when that is this computer.
    if conn.remote().is_none() {
        let opened = passagectl::open_root(root).map_err(bad)?;
        target.walk_roms(&opened.root);
    }
    let add = format!("passagectl vm edit {name} --guest-agent on");
    let (result, code) = match h.look_in_guest(name).map_err(refused)? {
        Ok(view) => {
            // The agent answers: the guest tools are in, so an unattended install is done.
            finish_unattended(&h, name);
            let v = target.judge(&view);
            let code = if v.all_working() { 0 } else { 3 };
            let lines = v.lines();
            (Outcome::Checked { v, lines }, code)
        }
        Err(why) => {
            let message = why.words(&add);
            (Outcome::CannotCheck { why, message }, 1)
        }
    };
    let report = Report {
        vm: name,
        result,
        note: verify::taint_note(),
    };
    if json {
        if let Err(e) = print_json(&report) {
            return Ok(e);
        }
    } else {
        outln!("{}", text(&report));
    }
    Ok(ExitCode::from(code))
}

/// Detaches and deletes the VM's answer media, if its definition records one.
fn finish_unattended(h: &passage_virt::Libvirt, name: &str) {
    match passage_virt::unattended::finish_unattended(h, name) {
        Ok(Some(media)) => eprintln!(
            "passagectl: {}",
            tr_f(
                "The unattended install of {vm} is done: its answer media {path} was detached and deleted.",
                &[("vm", name), ("path", &media)]
            )
        ),
        Ok(None) => {}
        Err(e) => eprintln!(
            "passagectl: {}",
            tr_f(
                "The unattended install of {vm} is done, but its answer media could not be removed: {why}. It holds the account's password: delete it with virsh vol-delete.",
                &[("vm", name), ("why", &e.to_string())]
            )
        ),
    }
}

fn text(r: &Report) -> String {
    let mut out = Vec::new();
    match &r.result {
        Outcome::Checked { v, lines } => {
            let os = v.os_name.as_deref().unwrap_or(v.os.words());
            out.push(tr_f(
                "{vm}: the guest ({os}) answered through the QEMU guest agent",
                &[("vm", r.vm), ("os", os)],
            ));
            out.extend(lines.iter().cloned());
        }
        Outcome::CannotCheck { message, .. } => out.push(format!("{}: {message}", r.vm)),
    }
    out.push(String::new());
    out.push(r.note.clone());
    if matches!(&r.result, Outcome::CannotCheck { why, .. } if why.ran_nothing()) {
        out.push(tr("Nothing ran in the guest."));
    }
    out.join("\n")
}
