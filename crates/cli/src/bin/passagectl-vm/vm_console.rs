//! `passagectl vm console NAME`: the running VM's serial console on this terminal (libvirt's
//! console stream, as `virsh console`), or on standard input and output when they are not a
//! terminal. The app runs it in its terminal widget, so libvirt stays out of the app.
//!
//! Exit codes: 0 the session ended (Ctrl+], the input ended, or the guest went away), 1 libvirt
//! refused or the VM is not running, 2 bad input (no such VM, or it has no serial console).

use std::io::IsTerminal;
use std::process::ExitCode;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::Domain;
use passage_virt::console::Ended;
use passage_virt::{Hypervisor, VirtError, VmState};

use crate::vm::{bad, refused, Failed};
use crate::ConnectArg;

pub(crate) fn run(name: &str, conn: &ConnectArg) -> Result<ExitCode, Failed> {
    let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
    let of_libvirt = |e: VirtError| match e {
        VirtError::NoSuchVm(_) => bad(e),
        e => refused(e),
    };
    let xml = h.xml(name).map_err(of_libvirt)?;
    if !Domain::read(&xml).map_err(bad)?.serial_console {
        return Err(bad(tr_f(
            "VM {vm} has no serial console: add a serial port of type pty to it (virt-manager's Add Hardware → Serial, or virsh edit {vm}) and start it again.",
            &[("vm", name)],
        )));
    }
    // A paused VM has its console too (it speaks again when resumed), as virsh console's does.
    if !matches!(
        h.state(name).map_err(of_libvirt)?,
        VmState::Running | VmState::Paused
    ) {
        return Err(refused(tr_f(
            "VM {vm} is not running: start it first (passagectl vm start {vm}).",
            &[("vm", name)],
        )));
    }
    let terminal = std::io::stdin().is_terminal();
    let _raw = terminal.then(raw::Raw::on).flatten();
    // Said on stderr with or without a terminal (as virsh console does): a script (or a test
    // that started the guest paused) knows the console is there before the guest speaks.
    eprint!(
        "{}\r\n",
        tr_f(
            "Connected to the serial console of VM {vm}. Ctrl+] leaves it.",
            &[("vm", name)]
        )
    );
    let ended = h
        .console(name, std::io::stdin(), std::io::stdout(), terminal)
        .map_err(refused)?;
    if terminal && ended == Ended::Guest {
        eprint!("\r\n{}\r\n", tr("The guest closed the console."));
    }
    Ok(ExitCode::SUCCESS)
}

/// The terminal in raw mode while a session lasts (keys such as Ctrl+C go to the guest, and
/// nothing is echoed twice), as it was again afterwards.
mod raw {
    use rustix::termios::{tcgetattr, tcsetattr, OptionalActions, Termios};

    pub(super) struct Raw(Termios);

    impl Raw {
        pub(super) fn on() -> Option<Raw> {
            let stdin = std::io::stdin();
            let was = tcgetattr(&stdin).ok()?;
            let mut raw = was.clone();
            raw.make_raw();
            tcsetattr(&stdin, OptionalActions::Flush, &raw).ok()?;
            Some(Raw(was))
        }
    }

    impl Drop for Raw {
        fn drop(&mut self) {
            let _ = tcsetattr(std::io::stdin(), OptionalActions::Flush, &self.0);
        }
    }
}
