//! What comes back from work done off the main thread: the host read (the pages and the demo
//! banner follow it), hugepages reserved, the restart asked for.

use std::sync::Arc;

use passage_core::check;
use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{ComponentController, ComponentSender};

use super::{tell, toast, App, Cmd, Page, Widgets};
use crate::host_source;
use crate::logic;
use crate::pages::setup::Target;
use crate::pages::vms;
use crate::pages::wizard as wizard_page;

impl App {
    pub(super) fn on_cmd(&mut self, w: &Widgets, msg: Cmd, sender: &ComponentSender<Self>) {
        match msg {
            Cmd::Reserved(Ok(summary)) => {
                toast(w, &summary);
                // Read the host again: System Check and the VM's pre-flight check anew.
                self.load(sender);
            }
            Cmd::Reserved(Err(e)) => {
                tell(w, &tr("The Hugepages Were Not Reserved"), Some(&e));
            }
            Cmd::RemoteHost(uri, read) => {
                let Some(r) = crate::workers::libvirt::remote()
                    .filter(|_| crate::workers::libvirt::uri() == uri)
                else {
                    return;
                };
                let why = read.as_ref().err().cloned();
                crate::workers::libvirt::set_remote_host(uri, read.ok().map(|h| *h));
                toast(
                    w,
                    &crate::remote_hosts::what_is_checked(&r.name, why.as_deref()),
                );
            }
            Cmd::RemotePlan(Ok(p)) => crate::remote_hosts::show_plan(&w.window, &p),
            Cmd::RemotePlan(Err(e)) => tell(w, &tr("No Plan From the Remote Host"), Some(&e)),
            Cmd::Loaded(Err(e), _) => {
                w.error.set_description(Some(&e));
                w.error.set_icon_name(Some("dialog-error-symbolic"));
                w.stack.set_visible_child_name("error");
            }
            Cmd::Loaded(Ok(loaded), report) => {
                // On the demo host, its own VMs (libvirt's test driver) unless a URI was given.
                let demo_vms = (loaded.kind == host_source::Kind::Demo
                    && crate::workers::libvirt::given_uri().is_none())
                .then(|| passage_fixtures::demo::libvirt_uri(loaded.root.base()));
                crate::workers::libvirt::use_demo(demo_vms.clone());
                // A remote host's VMs shown instead (the header names it): not the demo's.
                let remote = crate::workers::libvirt::remote().is_some();
                let banner = loaded.banner().map(|b| match demo_vms {
                    Some(_) if !remote => tr_f(
                        "{banner} Its VMs are demo VMs on libvirt's test driver: they start and stop as real ones would, but no guest runs.",
                        &[("banner", &b)],
                    ),
                    _ => b,
                });
                w.banner.set_reveal_child(banner.is_some());
                w.banner_label
                    .set_text(banner.as_deref().unwrap_or_default());
                w.badge.set_visible(banner.is_some());
                w.badge.set_text(&match loaded.kind {
                    host_source::Kind::Demo => tr("Demo host"),
                    host_source::Kind::Captured => tr("Captured host"),
                    host_source::Kind::Live => String::new(),
                });
                // Keep the user's choice across a rescan when it still holds.
                let selection = self
                    .selection
                    .as_ref()
                    .and_then(|s| logic::choose_card(&loaded.host, s.gpu).ok())
                    .or_else(|| logic::initial_selection(&loaded.host));
                if !matches!(self.target, Some(Target::Intent(_))) {
                    self.target = selection.clone().map(Target::Gpu);
                }
                self.selection = selection.clone();
                self.changed = match (&self.settings, report.as_deref()) {
                    (Some(st), Some(r)) => crate::restart::what_changed(st, &loaded, r),
                    _ => vec![],
                };
                self.report = report;
                self.wizard
                    .emit(wizard_page::Input::Host(loaded.clone(), selection.clone()));
                self.vms.emit(vms::Input::Host(loaded.clone()));
                self.loaded = Some(loaded);
                self.name_card();
                self.stale(&[Page::Check, Page::Devices, Page::Setup]);
                self.show_page(w);
            }
            Cmd::Rebooted(Ok(())) => {}
            Cmd::Rebooted(Err(e)) => toast(w, &e),
        }
    }

    pub(super) fn load(&self, sender: &ComponentSender<Self>) {
        let wanted = self.wanted.clone();
        sender.spawn_oneshot_command(move || {
            match host_source::load(&wanted, &host_source::live_root()) {
                Ok(l) => {
                    let report = check::evaluate(&l.host, None).ok().map(Arc::new);
                    Cmd::Loaded(Ok(Arc::new(l)), report)
                }
                Err(e) => Cmd::Loaded(Err(e), None),
            }
        });
    }

    /// Tells the VM list which card is chosen, by name.
    pub(super) fn name_card(&self) {
        let card = self
            .loaded
            .as_ref()
            .zip(self.selection.as_ref())
            .map(|(l, s)| l.host.card_label(s.gpu));
        self.vms.emit(vms::Input::Card(card));
    }
}
