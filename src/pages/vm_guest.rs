//! The VM page's *In the Guest* group: whether the guest sees each card passed to it, with
//! which driver, and on Windows its problem code (core's `vm::verify`; the worker asks the
//! guest agent). It runs when the agent comes up and on *Check Again*; a guest that cannot be
//! asked says why without running anything. Only read-only queries run, and the group says that
//! libvirt marks the domain tainted (custom-ga-command) once one has.

use passage_core::i18n::tr;
use passage_core::vm::verify::{self, CannotCheck, GuestView, Target, Verification};
use passage_core::{Host, Root};
use passage_virt::{GuestAgent, VmState};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::row;
use super::vm_detail::{Input, VmDetail};

/// What the page knows of the check.
#[derive(Debug, Default)]
pub enum GuestCheck {
    /// Not asked yet (the VM is off, or its agent has not answered).
    #[default]
    NotYet,
    Asking,
    Done(Result<Verification, CannotCheck>),
}

/// The worker's answer: what the guest said, why it could not be asked, or libvirt's error.
pub type Answer = Result<Result<GuestView, CannotCheck>, String>;

impl GuestCheck {
    /// Whether the check should run now: the VM runs and its agent just came up.
    pub fn agent_came_up(was: GuestAgent, now: GuestAgent, state: Option<VmState>) -> bool {
        state == Some(VmState::Running)
            && was != GuestAgent::Answering
            && now == GuestAgent::Answering
    }

    /// The answer judged against the VM's definition (the devices it passes) and its host;
    /// `root` is that host's files when it is this computer (a ROM file the VM names is walked),
    /// `None` on a remote host.
    pub fn answered(xml: &str, (host, root): (&Host, Option<&Root>), a: Answer) -> GuestCheck {
        GuestCheck::Done(match a {
            Ok(Ok(view)) => match Target::read(xml, host) {
                Ok(mut t) => {
                    if let Some(root) = root {
                        t.walk_roms(root);
                    }
                    Ok(t.judge(&view))
                }
                Err(e) => Err(CannotCheck::Unreadable { why: e.to_string() }),
            },
            Ok(Err(why)) => Err(why),
            Err(why) => Err(CannotCheck::Libvirt { why }),
        })
    }

    /// Why the guest cannot be asked, from the page's own state (nothing runs for this).
    fn cannot(state: Option<VmState>, agent: GuestAgent) -> Option<CannotCheck> {
        if state != Some(VmState::Running) {
            return Some(CannotCheck::NotRunning);
        }
        match agent {
            GuestAgent::NoChannel => Some(CannotCheck::NoChannel),
            GuestAgent::NotAnswering => Some(CannotCheck::NotAnswering),
            GuestAgent::Answering | GuestAgent::Unknown => None,
        }
    }

    pub fn group(
        &self,
        (state, agent): (Option<VmState>, GuestAgent),
        sender: &ComponentSender<VmDetail>,
    ) -> adw::PreferencesGroup {
        let g = adw::PreferencesGroup::new();
        g.set_title(&tr("In the Guest"));
        g.set_description(Some(&verify::taint_note()));
        let again = gtk::Button::with_label(&tr("Check Again"));
        again.set_widget_name("vm-check-again");
        again.set_valign(gtk::Align::Center);
        let s = sender.clone();
        again.connect_clicked(move |_| s.input(Input::CheckGuest));
        let cannot = Self::cannot(state, agent);
        again.set_sensitive(cannot.is_none() && !matches!(self, GuestCheck::Asking));
        g.set_header_suffix(Some(&again));
        let add = tr("Edit…");
        let rows: Vec<adw::ActionRow> = match (&cannot, self) {
            (Some(why), _) | (None, GuestCheck::Done(Err(why))) => {
                vec![row(&tr("Cannot check"), &why.reason(&add))]
            }
            (None, GuestCheck::NotYet) => vec![row(
                &tr("Not checked yet"),
                &tr("Check Again asks the guest which PCI devices it sees."),
            )],
            (None, GuestCheck::Asking) => vec![row(&tr("Asking the guest…"), "")],
            (None, GuestCheck::Done(Ok(v))) => device_rows(v),
        };
        for r in rows {
            r.set_widget_name("vm-guest-check");
            g.add(&r);
        }
        g
    }
}

/// One row a device: its line, and what fixes a problem below it.
fn device_rows(v: &Verification) -> Vec<adw::ActionRow> {
    if v.devices.is_empty() {
        return v.lines().iter().map(|l| row(l, "")).collect();
    }
    v.devices
        .iter()
        .map(|d| row(&d.line(v.os), &d.fixes(&v.masking).join("\n")))
        .collect()
}

impl VmDetail {
    /// The page shows a VM (again): another VM's answer goes; a running VM whose agent answers
    /// is asked at once.
    pub(super) fn guest_shown(&mut self, new_vm: bool, sender: &ComponentSender<VmDetail>) {
        if new_vm {
            self.guest = GuestCheck::NotYet;
        }
        let Some(d) = &self.details else { return };
        if d.state == VmState::Running
            && d.agent == GuestAgent::Answering
            && matches!(self.guest, GuestCheck::NotYet)
        {
            self.ask_guest(sender);
        }
    }

    /// The page polled the VM (before its state and agent are taken): asks when the agent
    /// came up.
    pub(super) fn guest_polled(
        &mut self,
        state: VmState,
        agent: GuestAgent,
        sender: &ComponentSender<VmDetail>,
    ) {
        if GuestCheck::agent_came_up(self.agent, agent, Some(state)) {
            self.ask_guest(sender);
        }
    }

    /// Asks the worker to ask the guest (the page shows "Asking the guest…" meanwhile).
    pub(super) fn ask_guest(&mut self, sender: &ComponentSender<VmDetail>) {
        if let Some(d) = &self.details {
            self.guest = GuestCheck::Asking;
            let _ = sender.output(super::vm_detail::Output::Worker(
                crate::workers::libvirt::Request::Verify(d.name.clone()),
            ));
        }
    }

    pub(super) fn guest_answered(&mut self, a: Answer) {
        let Some(d) = &self.details else {
            self.guest = GuestCheck::NotYet;
            return;
        };
        // A remote VM's devices are named by the IDs its own host has (read there), never
        // this computer's at the same addresses.
        if crate::workers::libvirt::remote().is_some() {
            self.guest = match crate::workers::libvirt::remote_host() {
                Some(host) => GuestCheck::answered(&d.xml, (&host, None), a),
                None => GuestCheck::Done(Err(CannotCheck::Unreadable {
                    why: tr("Passage could not read the remote host over SSH, so it cannot tell which of its devices the VM passes."),
                })),
            };
        } else if let Some(l) = &self.loaded {
            self.guest = GuestCheck::answered(&d.xml, (&l.host, Some(&l.root)), a);
        } else {
            self.guest = GuestCheck::NotYet;
        }
    }
}
