//! The QEMU guest agent through libvirt (`virDomainQemuAgentCommand`, libvirt-qemu): only for
//! verifying the card in the guest, only the read-only queries core's `vm::verify::agent`
//! sends, only when libvirt reports the agent connected, each with a timeout. libvirt marks the
//! domain "tainted" (custom-ga-command) once such a command has run; the front ends say so.

use std::time::Duration;

use passage_core::vm::verify::agent::{self, Agent};
use passage_core::vm::verify::{CannotCheck, GuestView};
use virt::domain::Domain;

use crate::{GuestAgent, Hypervisor, Libvirt, VirtError};

/// Seconds libvirt waits for the agent's reply to one command.
const REPLY_TIMEOUT_S: i32 = 10;
/// Between two `guest-exec-status` questions (at most `agent::EXEC_POLLS` of them: 20 s).
const POLL: Duration = Duration::from_millis(200);

struct OnDomain(Domain);

impl Agent for OnDomain {
    fn command(&mut self, json: &str) -> Result<String, String> {
        self.0
            .qemu_agent_command(json, REPLY_TIMEOUT_S, 0)
            .map_err(|e| e.message().to_string())
    }
    fn pause(&mut self) {
        std::thread::sleep(POLL);
    }
}

/// Asks the running VM's guest what PCI devices it sees; a guest that cannot be asked (off, no
/// channel, no agent, a command refused) gives why.
pub(crate) fn look(h: &Libvirt, name: &str) -> Result<Result<GuestView, CannotCheck>, VirtError> {
    let dom = h.domain(name)?;
    if !dom.is_active().map_err(crate::lv)? {
        return Ok(Err(CannotCheck::NotRunning));
    }
    match h.guest_agent(name)? {
        GuestAgent::NoChannel => return Ok(Err(CannotCheck::NoChannel)),
        GuestAgent::NotAnswering => return Ok(Err(CannotCheck::NotAnswering)),
        // Connected, or a QEMU that does not report the channel's state: ask.
        GuestAgent::Answering | GuestAgent::Unknown => {}
    }
    Ok(agent::look(&mut OnDomain(dom)))
}
