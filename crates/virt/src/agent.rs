//! The QEMU guest agent through libvirt (`virDomainQemuAgentCommand`, libvirt-qemu): only for
//! verifying the card in the guest, only the read-only queries core's `vm::verify::agent`
//! sends, only when libvirt reports the agent connected, each with a timeout. libvirt marks the
//! domain "tainted" (custom-ga-command) once such a command has run; the front ends say so.

use std::time::{Duration, Instant};

use passage_core::vm::verify::agent::{self, Agent};
use passage_core::vm::verify::{CannotCheck, GuestView};
use virt::domain::Domain;

use crate::{GuestAgent, Hypervisor, Libvirt, VirtError};

/// Seconds libvirt waits for the agent's reply to one command.
const REPLY_TIMEOUT_S: u64 = 10;
/// Between two `guest-exec-status` questions (at most `agent::EXEC_POLLS` of them: 20 s).
const POLL: Duration = Duration::from_millis(200);
/// The whole check, however the agent answers: the app's libvirt worker waits on it.
const WHOLE: Duration = Duration::from_secs(30);

struct OnDomain {
    dom: Domain,
    until: Instant,
}

impl Agent for OnDomain {
    fn command(&mut self, json: &str) -> Result<String, String> {
        let left = reply_timeout(self.until.saturating_duration_since(Instant::now()))
            .ok_or_else(|| format!("no answer within {} s", WHOLE.as_secs()))?;
        self.dom
            .qemu_agent_command(json, left, 0)
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
    Ok(agent::look(&mut OnDomain {
        dom,
        until: Instant::now() + WHOLE,
    }))
}

/// libvirt's timeout for one reply (whole seconds, at least 1) with `left` of the whole check;
/// `None` when nothing is left.
fn reply_timeout(left: Duration) -> Option<i32> {
    let s = left.as_secs().min(REPLY_TIMEOUT_S);
    match s {
        0 if left.is_zero() => None,
        0 => Some(1),
        s => i32::try_from(s).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reply_waits_at_most_what_is_left_of_the_whole_check() {
        assert_eq!(reply_timeout(Duration::from_secs(30)), Some(10));
        assert_eq!(reply_timeout(Duration::from_secs(4)), Some(4));
        assert_eq!(reply_timeout(Duration::from_millis(300)), Some(1));
        assert_eq!(reply_timeout(Duration::ZERO), None);
    }
}
