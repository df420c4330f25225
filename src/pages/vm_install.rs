//! The VM page's *Unattended Install* group: the install's stage while the definition records
//! its answer media (core's `vm::unattended::finish`, in Passage's metadata): not started,
//! installing (Setup and the first logon run from the media), done once the guest agent
//! answers (the guest tools come at the first logon), when the media is removed.

use passage_core::i18n::tr;
use passage_core::vm::domain::Domain;
use passage_core::vm::unattended::finish::TAG;
use passage_virt::{GuestAgent, VmState};
use relm4::adw;
use relm4::adw::prelude::*;

use super::row;

/// The stage of a VM's unattended install, or `None` when it records no answer media.
pub fn stage(dom: &Domain, state: Option<VmState>, agent: GuestAgent) -> Option<(String, String)> {
    dom.passage.iter().find(|(k, _)| k == TAG)?;
    Some(match (state, agent) {
        (Some(VmState::Running), GuestAgent::Answering) => (
            tr("Done: the guest agent answers"),
            tr("The answer media is being detached and deleted."),
        ),
        (Some(VmState::Running), _) => (
            tr("Installing"),
            tr("Setup and the first logon run from the answer media; the guest tools it installs start the guest agent, and then the media is removed."),
        ),
        _ => (
            tr("Not started"),
            tr("The answer media is attached: start the VM to install."),
        ),
    })
}

/// The group, when the VM has an unattended install under way.
pub fn group(
    dom: &Domain,
    state: Option<VmState>,
    agent: GuestAgent,
) -> Option<adw::PreferencesGroup> {
    let (title, subtitle) = stage(dom, state, agent)?;
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Unattended Install"));
    let r = row(&title, &subtitle);
    r.set_widget_name("vm-install-stage");
    g.add(&r);
    Some(g)
}
