//! "After the Restart": once per boot-time change, the first time Host setup is shown after
//! the restart that followed it — which boot entry started, where each card went, and Keep
//! or Undo.

use passage_core::boot_check::{BootCheck, BootDevice};
use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::{Input, SetupPage};

/// The group and the rows it holds now.
pub struct BootCard {
    pub group: adw::PreferencesGroup,
    rows: Vec<gtk::Widget>,
}

impl BootCard {
    pub fn new() -> Self {
        let group = adw::PreferencesGroup::new();
        group.set_widget_name("boot-check");
        group.set_title(&tr("After the Restart"));
        group.set_visible(false);
        BootCard {
            group,
            rows: vec![],
        }
    }

    /// Shows `check` for the change `id`, or hides the card.
    pub fn show(
        &mut self,
        pending: Option<(String, BootCheck)>,
        sender: &ComponentSender<SetupPage>,
    ) {
        for w in self.rows.drain(..) {
            self.group.remove(&w);
        }
        let Some((id, check)) = pending else {
            self.group.set_visible(false);
            return;
        };
        self.group.set_description(Some(&description(&check)));
        let entry = super::super::row(
            &if check.without_passthrough {
                tr("Started from the entry without GPU passthrough")
            } else {
                tr("Started from the usual boot entry")
            },
            "",
        );
        self.add(entry.upcast());
        for d in &check.devices {
            let r = super::super::row(&d.name, &device_words(d));
            // The subtitle says the same in words (the icon is decoration).
            let icon = if d.driver.as_deref() == Some("vfio-pci") {
                "emblem-ok-symbolic"
            } else {
                "dialog-information-symbolic"
            };
            let image = crate::a11y::decorative_icon(icon);
            r.add_prefix(&image);
            self.add(r.upcast());
        }
        let keep = gtk::Button::with_label(&tr("Keep"));
        keep.set_widget_name("keep-boot");
        keep.add_css_class("suggested-action");
        let undo = gtk::Button::with_label(&tr("Undo"));
        undo.set_widget_name("undo-boot");
        undo.add_css_class("destructive-action");
        for b in [&keep, &undo] {
            b.set_valign(gtk::Align::Center);
        }
        let s = sender.clone();
        let i = id.clone();
        keep.connect_clicked(move |_| s.input(Input::KeepBoot(i.clone())));
        let s = sender.clone();
        undo.connect_clicked(move |b| {
            b.set_sensitive(false);
            s.input(Input::Undo(id.clone()));
        });
        let ask = super::super::row(&tr("Keep this change?"), "");
        let buttons = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        buttons.append(&undo);
        buttons.append(&keep);
        ask.add_suffix(&buttons);
        self.add(ask.upcast());
        self.group.set_visible(true);
    }

    fn add(&mut self, w: gtk::Widget) {
        self.group.add(&w);
        self.rows.push(w);
    }
}

/// What the restart did, and what to do, in a sentence or two.
fn description(check: &BootCheck) -> String {
    match (check.without_passthrough, check.on_vfio()) {
        (true, _) => tr("This start used the boot menu entry without GPU passthrough, so the card kept its own driver. If the usual entry left the screen black, undo the change; otherwise restart and pick the usual entry."),
        (false, true) => tr("The card went to vfio-pci at boot and the desktop came up: it is ready for VMs. Keep the change, or undo it to give the card back to this computer."),
        (false, false) => tr("The change is in place, but the card is not on vfio-pci: its own driver took it first. Undo the change, or keep it and check the card on the Devices page."),
    }
}

/// A device's driver now, in words.
fn device_words(d: &BootDevice) -> String {
    let state = match d.driver.as_deref() {
        Some("vfio-pci") => tr("on vfio-pci, ready for VMs"),
        Some(drv) => tr_f("on {driver}, with this computer", &[("driver", drv)]),
        None => tr("no driver"),
    };
    format!("{} · {state}", d.address)
}
