//! Which page shows: rebuilt first when stale, the sidebar marking it; and a System Check
//! finding's Fix, which opens Host setup on its plan or says what to do.

use passage_core::check::{Finding, FixAction};
use passage_core::plan::Intent;
use relm4::{ComponentController, ComponentSender};

use super::{tell, App, Msg, Page, Widgets};
use crate::pages::setup::Target;
use crate::pages::wizard as wizard_page;
use crate::pages::{check as check_page, devices, setup};

impl App {
    /// These pages show something older than the host or the choice now.
    pub(super) fn stale(&mut self, pages: &[Page]) {
        for p in pages {
            if !self.stale.contains(p) {
                self.stale.push(*p);
            }
        }
    }

    /// Shows the current page, rebuilding it first if it is stale.
    pub(super) fn show_page(&mut self, w: &Widgets) {
        if let (Some(l), true) = (&self.loaded, self.stale.contains(&self.page)) {
            self.stale.retain(|p| *p != self.page);
            match self.page {
                Page::Check => {
                    self.check
                        .emit(check_page::Input::Cards(crate::pages::express_rows::cards(
                            &l.host,
                        )));
                    if let Some(r) = &self.report {
                        self.check
                            .emit(check_page::Input::Show(r.clone(), self.changed.clone()));
                    }
                }
                Page::Devices => self
                    .devices
                    .emit(devices::Input::Show(l.clone(), self.selection.clone())),
                Page::Setup => self
                    .setup
                    .emit(setup::Input::Show(l.clone(), self.target.clone())),
                Page::Vms => {}
                Page::Vm(_) => {}
            }
        }
        match self.page {
            Page::Vm(step) => {
                self.wizard.emit(wizard_page::Input::Show(step));
                w.stack.set_visible_child_name("wizard");
            }
            p => w.stack.set_visible_child_name(p.id()),
        }
        w.title.set_title(&self.page.title());
        crate::window::mark_current(&w.sidebar, self.page);
    }

    pub(super) fn fix(&mut self, w: &Widgets, f: Finding, sender: &ComponentSender<Self>) {
        if let Some(FixAction::ReserveHugepages { size_kib, count }) = f.action {
            sender.input(Msg::Reserve { size_kib, count });
            return;
        }
        let intent = match &f.action {
            Some(FixAction::KernelArguments { add, remove }) => Some(Intent::KernelArguments {
                add: add.clone(),
                remove: remove.clone(),
            }),
            Some(FixAction::BindByAddress { devices }) => Some(Intent::VfioAtBoot {
                devices: devices.clone(),
            }),
            Some(FixAction::VendorReset { gpu }) => Some(Intent::VendorReset { gpu: *gpu }),
            _ => None,
        };
        match intent {
            Some(i) => {
                self.target = Some(Target::Intent(i));
                self.stale(&[Page::Setup]);
                self.page = Page::Setup;
                self.show_page(w);
                w.leaflet.set_visible_child(&w.content);
            }
            None => {
                tell(w, &f.title, f.fix.as_deref());
            }
        }
    }
}
