//! The Edit… view among the VM pages: opened from the VM's page, its Save sent to the worker
//! as one request, then the VM's page with the summary — or the failure kept on the view.

use relm4::{gtk, ComponentController, ComponentSender};

use super::{Output, VmsPage};
use crate::pages::{problem, vm_detail, vm_edit};
use crate::workers::libvirt::Request;

impl VmsPage {
    pub(super) fn open_edit(&mut self, o: Box<vm_edit::Open>, root: &gtk::Stack) {
        self.editing = true;
        self.edit.emit(vm_edit::Input::Open(o));
        root.set_visible_child_name("edit");
    }

    /// What the view asked for: Save, Cancel, or Host setup.
    pub(super) fn edit_asked(
        &mut self,
        out: vm_edit::Output,
        root: &gtk::Stack,
        sender: &ComponentSender<Self>,
    ) {
        match out {
            vm_edit::Output::Save { name, changes } => {
                self.worker.emit(Request::EditSettings { name, changes });
                return;
            }
            vm_edit::Output::Cancel => {}
            vm_edit::Output::OpenSetup => {
                let _ = sender.output(Output::OpenSetup);
            }
        }
        self.editing = false;
        root.set_visible_child_name("detail");
    }

    /// The worker's answer to Save.
    pub(super) fn edit_done(
        &mut self,
        r: Result<Box<passage_core::vm::settings::Edited>, passage_virt::edit::EditFailed>,
        root: &gtk::Stack,
    ) {
        match r {
            Ok(e) => {
                self.editing = false;
                self.detail.emit(vm_detail::Input::Edited(e));
                root.set_visible_child_name("detail");
            }
            Err(f) => self
                .edit
                .emit(vm_edit::Input::Failed(problem::edit_failed(&f))),
        }
    }
}
