//! The express VM from the window's side: the dialog opened for a card with what the window
//! knows (Host setup's GPU mode, the host's Hyper-V support, libvirt's names), its Create sent
//! to the VM page's worker and, once defined, the VM started on its page through the
//! pre-flight; its Customize… the wizard on the same draft.

use passage_core::i18n::tr_f;
use passage_core::vm::express::Context;
use relm4::gtk::prelude::GtkWindowExt;
use relm4::{ComponentController, ComponentSender};

use super::{tell, toast, App, Msg, Page, Widgets};
use crate::components::express;
use crate::pages::vms;
use crate::pages::wizard as wizard_page;
use crate::wizard::Step;

impl App {
    pub(super) fn on_express(&mut self, w: &Widgets, msg: Msg, sender: &ComponentSender<Self>) {
        match msg {
            Msg::Express(purpose, gpu) => {
                // The cards offered are this computer's: a VM of them is made on its own host.
                if let Some(r) = crate::workers::libvirt::remote() {
                    return crate::remote_hosts::devices_are_made_there(&w.window, &r);
                }
                let Some(l) = &self.loaded else { return };
                let selection = match crate::logic::choose_card(&l.host, gpu) {
                    Ok(s) => s,
                    Err(why) => {
                        return tell(
                            w,
                            &passage_core::i18n::tr("This Card Stays With the Host"),
                            Some(&why),
                        )
                    }
                };
                let init = express::Init {
                    parent: w.window.clone(),
                    loaded: l.clone(),
                    selection,
                    purpose,
                    context: Context {
                        gpu_mode: self.gpu_mode,
                        hyperv_supported: self.hyperv.clone(),
                        ..Context::default()
                    },
                };
                self.express = Some(express::open(init, sender));
                self.express_start = None;
                // libvirt's names and free space come back as Msg::Taken.
                self.vms
                    .emit(vms::Input::Taken(crate::wizard::POOL.to_string()));
            }
            Msg::ExpressCreate {
                name,
                xml,
                volume,
                unattended,
            } => {
                self.express_start = Some(name);
                self.vms.emit(vms::Input::Create {
                    xml,
                    volume,
                    unattended,
                });
            }
            Msg::ExpressCustomize(d) => {
                self.express = None;
                self.wizard.emit(wizard_page::Input::Draft(d));
                sender.input(Msg::Navigate(Page::Vm(Step::Review)));
            }
            _ => {}
        }
    }

    /// A VM was defined: the express dialog's goes to its page and starts there (the page's
    /// pre-flight, as every start). `false` when it was not the express dialog's.
    pub(super) fn express_created(&mut self, w: &Widgets, name: &str) -> bool {
        if self.express_start.as_deref() != Some(name) {
            return false;
        }
        self.express_start = None;
        if let Some(c) = self.express.take() {
            c.widget().close();
        }
        toast(
            w,
            &tr_f(
                "{vm} is defined and starting from its installer",
                &[("vm", name)],
            ),
        );
        self.page = Page::Vms;
        self.show_page(w);
        self.vms.emit(vms::Input::Start(name.to_string()));
        true
    }

    /// libvirt refused the express dialog's Create: said in the dialog. `false` when it was
    /// the wizard's.
    pub(super) fn express_failed(&mut self, p: &crate::pages::problem::Problem) -> bool {
        if self.express_start.take().is_none() {
            return false;
        }
        if let Some(c) = &self.express {
            c.emit(express::Input::Failed(format!(
                "{} {}\n{}",
                p.title, p.fix, p.raw
            )));
        }
        true
    }
}
