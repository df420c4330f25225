//! VM commands against a remote host's libvirt (`--connect qemu+ssh://user@host/system`): the
//! host they check against is read on that host (`passagectl scan --json` there, over SSH as
//! libvirt reaches it), never this computer's sysfs taken for the remote's.

use passage_core::connection::RemoteHost;
use passage_core::i18n::tr_f;
use passage_core::Host;
use passagectl::{scan_root, RootArg};

use crate::ConnectArg;

/// The host the VMs of `conn` run on: this one below `root`, or the remote one read over SSH.
pub(crate) fn host_of(root: &RootArg, conn: &ConnectArg) -> Result<Host, String> {
    match conn.remote() {
        None => scan_root(root).map(|(_, host)| host),
        Some(r) => {
            refuse_local_root(root, &r)?;
            r.scan()
        }
    }
}

/// `--root` and `--demo` name a host on this computer; with a remote connection they would
/// mix this computer's facts with the remote's VMs.
pub(crate) fn refuse_local_root(root: &RootArg, r: &RemoteHost) -> Result<(), String> {
    if root.root.is_some() || root.demo {
        return Err(tr_f(
            "--root and --demo read a host on this computer, but --connect names {host}: leave them out (Passage reads {host} over SSH)",
            &[("host", &r.name)],
        ));
    }
    Ok(())
}

/// Passage's helper authorizes only the VMs of its own host: on a remote one, the command to
/// run there (its polkit asks through the SSH session).
pub(crate) fn helper_there(r: &RemoteHost, command: &[&str]) -> String {
    tr_f(
        "Passage's helper on {host} does that; run there: {command}",
        &[("host", &r.name), ("command", &r.terminal_command(command))],
    )
}
