//! USB devices: keyboard and mouse by evdev, USB devices by ID.

use passage_core::i18n::tr;
use passage_core::vm::devices::usb_candidates;
use passage_core::vm::labels::input_name;
use relm4::adw;
use relm4::adw::prelude::*;

use super::rows::{check_row, group};
use super::step::Cx;
use crate::pages::row;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    let g = group(&tr("Keyboard and mouse"), &tr("Shared with the VM by evdev: press both Ctrl keys to switch them between the host and the VM."));
    if host.input_devices.is_empty() {
        g.add(&row(&tr("No keyboard or mouse found"), ""));
    }
    for dev in &host.input_devices {
        let name = input_name(dev);
        g.add(&check_row(
            cx.sender,
            (&name, dev),
            d.evdev.contains(dev),
            Choice::AddEvdev(dev.clone()),
            Choice::RemoveEvdev(dev.clone()),
        ));
    }
    let usb = group(&tr("USB devices"), &tr("Given to the VM while it runs (a controller, game pad, headset…); the VM still starts when one is unplugged."));
    let candidates = usb_candidates(host);
    if candidates.is_empty() {
        usb.add(&row(&tr("No USB devices"), ""));
    }
    for ((v, p), name) in candidates {
        usb.add(&check_row(
            cx.sender,
            (&name, &format!("{v:04x}:{p:04x}")),
            d.usb.contains(&(v, p)),
            Choice::AddUsb(v, p),
            Choice::RemoveUsb(v, p),
        ));
    }
    vec![g, usb]
}
