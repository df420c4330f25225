//! The messages about VMs: the wizard's choices and Create, the VM list and a VM's page, the
//! device editor of an existing VM.

use passage_core::i18n::{tr, tr_f};
use relm4::{ComponentController, ComponentSender};

use super::{toast, App, Msg, Page, Widgets};
use crate::pages::vms;
use crate::pages::wizard as wizard_page;
use crate::settings::Settings;

impl App {
    pub(super) fn on_vm(&mut self, w: &Widgets, msg: Msg, sender: &ComponentSender<Self>) {
        if matches!(msg, Msg::WizardCreate | Msg::EditDevices(_)) {
            if let Some(r) = crate::workers::libvirt::remote() {
                return crate::remote_hosts::devices_are_made_there(&w.window, &r);
            }
        }
        match msg {
            Msg::Started(name) => {
                if let Some(st) = &self.settings {
                    st.set_last_vm(&name);
                }
            }
            Msg::ShowVm(name) => {
                self.page = Page::Vms;
                self.show_page(w);
                self.vms.emit(vms::Input::Open(name));
            }
            Msg::ShownVm(i) => self.vms.emit(vms::Input::Shown(i)),
            Msg::VmEdit(i) => self.vms.emit(vms::Input::ToEdit(i)),
            Msg::StartLastVm => {
                self.page = Page::Vms;
                if self.loaded.is_some() {
                    self.show_page(w);
                }
                match self.settings.as_ref().and_then(Settings::last_vm) {
                // The VM's page, its pre-flight, then the start: as the list starts it.
                Some(name) => self.vms.emit(vms::Input::Start(name)),
                None => toast(w, &tr("No VM has been started from Passage yet: start one here, and the launcher's “Start the Last VM” will start it next time.")),
            }
            }
            Msg::WizardSet(choice) => {
                if let crate::wizard::Choice::GpuMode(m) = choice {
                    self.gpu_mode = m;
                }
                self.wizard.emit(wizard_page::Input::Set(choice))
            }
            Msg::WizardCreate => self.wizard.emit(wizard_page::Input::Create),
            Msg::CreateVm { xml, volume } => self.vms.emit(vms::Input::Create {
                xml,
                volume,
                unattended: None,
            }),
            Msg::CreateProgress(f) => self.wizard.emit(wizard_page::Input::Progress(f)),
            Msg::CreateFailed(p) if self.express_failed(&p) => {}
            Msg::CreateFailed(p) => self.wizard.emit(wizard_page::Input::CreateFailed(p)),
            Msg::NeedTaken => self
                .vms
                .emit(vms::Input::Taken(crate::wizard::POOL.to_string())),
            Msg::Taken(t) => {
                if let Some(c) = &self.express {
                    c.emit(crate::components::express::Input::Taken(t.clone()));
                }
                self.wizard.emit(wizard_page::Input::Taken(t))
            }
            Msg::Created(name) if self.express_created(w, &name) => {}
            Msg::Created(name) => {
                self.wizard.emit(wizard_page::Input::Created);
                toast(w, &tr_f("{vm} is defined in libvirt", &[("vm", &name)]));
                // The new VM's page (the VMs page kept showing the last VM opened before).
                self.page = Page::Vms;
                self.show_page(w);
                self.vms.emit(vms::Input::Open(name));
            }
            Msg::EditDevices(name) => self.vms.emit(vms::Input::FetchXml(name)),
            Msg::HostHyperv(hv) => {
                self.hyperv = hv.clone();
                self.wizard.emit(wizard_page::Input::Hyperv(hv))
            }
            Msg::EditOpen(name, xml) => {
                let Some(l) = &self.loaded else { return };
                match crate::components::passthrough::open(&w.window, l, &xml, sender) {
                    Ok(c) => self.edit = Some(c),
                    Err(e) => toast(w, &tr_f("{vm}: {why}", &[("vm", &name), ("why", &e)])),
                }
            }
            Msg::EditSet(choice) => {
                if let Some(c) = &self.edit {
                    c.emit(crate::components::passthrough::Input::Set(choice));
                }
            }
            Msg::EditSave => {
                if let Some(c) = &self.edit {
                    c.emit(crate::components::passthrough::Input::Save);
                }
            }
            Msg::EditSaved(xml) => {
                self.edit = None;
                self.vms.emit(vms::Input::Define(xml));
            }
            // update_with_view sends only the messages above here.
            _ => {}
        }
    }
}
