//! A VM's row on the list: its power buttons.

use passage_core::i18n::{tr, tr_f};
use passage_virt::VmInfo;
use relm4::gtk::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{Input, VmsPage};

/// A row's power buttons: Start when the VM is off; Shut Down, and Force Off (which asks
/// first), when it runs.
pub(super) fn actions(vm: &VmInfo, sender: &ComponentSender<VmsPage>) -> Vec<gtk::Button> {
    let button = |b: gtk::Button, says: String, msg: fn(String) -> Input| {
        crate::a11y::name(&b, &says);
        b.set_valign(gtk::Align::Center);
        let (s, name) = (sender.clone(), vm.name.clone());
        b.connect_clicked(move |_| s.input(msg(name.clone())));
        b
    };
    let vars = [("vm", vm.name.as_str())];
    if !vm.running {
        return vec![button(
            gtk::Button::with_label(&tr("Start")),
            tr_f("Start {vm}", &vars),
            Input::Start,
        )];
    }
    let force = gtk::Button::from_icon_name("system-shutdown-symbolic");
    force.add_css_class("flat");
    force.set_tooltip_text(Some(&tr("Force Off…")));
    vec![
        button(
            gtk::Button::with_label(&tr("Shut Down")),
            tr_f("Shut down {vm}", &vars),
            Input::ShutDown,
        ),
        button(force, tr_f("Force {vm} off…", &vars), Input::ForceOff),
    ]
}
