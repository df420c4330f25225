//! Questions asked before something that cannot be taken back (Force Off, Delete).

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

/// Asks before `then` does something that cannot be taken back: `heading`, `body` and the
/// destructive answer `yes`; Cancel (and Esc) do nothing.
pub fn confirm(
    parent: &impl IsA<gtk::Widget>,
    (heading, body, yes): (&str, &str, &str),
    then: impl Fn() + 'static,
) -> adw::MessageDialog {
    let window = parent.root().and_then(|r| r.downcast::<gtk::Window>().ok());
    let d = adw::MessageDialog::new(window.as_ref(), Some(heading), Some(body));
    d.set_widget_name("confirm");
    d.add_response("cancel", &tr("_Cancel"));
    d.add_response("yes", yes);
    d.set_response_appearance("yes", adw::ResponseAppearance::Destructive);
    d.set_close_response("cancel");
    d.connect_response(None, move |_, r| {
        if r == "yes" {
            then();
        }
    });
    d.present();
    d
}

/// Force Off asks first, wherever it is offered (the VM's page, the list of VMs): it is
/// libvirt's destroy, the power cord pulled.
pub fn confirm_force_off(parent: &impl IsA<gtk::Widget>, vm: &str, then: impl Fn() + 'static) {
    let _ = confirm(
        parent,
        (
            &tr_f("Force “{vm}” off?", &[("vm", vm)]),
            &tr("Like pulling the power cord: whatever the guest has not saved is lost, and its disks may need checking when it starts again. Shut Down asks the guest to stop first."),
            &tr("_Force Off"),
        ),
        then,
    );
}
