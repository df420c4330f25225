//! The dialog that edits an existing VM's passed-through devices: graphics cards by whole
//! IOMMU group, NVMe drives and USB controllers, USB devices. It sends `field=value` changes
//! and Save to the window, which keeps the edit (crate::wizard::PassthroughEdit).

use passage_core::host::Host;
use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use crate::app::{App, Msg};
use crate::logic;
use crate::wizard::{self, PassthroughEdit};

fn check(
    sender: &ComponentSender<App>,
    title: &str,
    subtitle: &str,
    on: bool,
    add: String,
    remove: String,
) -> adw::ActionRow {
    let r = crate::pages::row(title, subtitle);
    let c = gtk::CheckButton::new();
    c.set_active(on);
    let s = sender.clone();
    c.connect_toggled(move |c| {
        let kv = if c.is_active() { &add } else { &remove };
        if let Some((k, v)) = kv.split_once('=') {
            s.input(Msg::EditSet(k.to_string(), v.to_string()));
        }
    });
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    r
}

pub fn open(
    parent: &adw::ApplicationWindow,
    host: &Host,
    edit: &PassthroughEdit,
    sender: &ComponentSender<App>,
) -> adw::Window {
    let page = adw::PreferencesPage::new();
    page.set_widget_name("page-edit-devices");
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Graphics cards"));
    g.set_description(Some(&tr("A card goes with its whole IOMMU group.")));
    for row in logic::groups(host)
        .into_iter()
        .filter(|r| r.gpu.is_some() && r.viable)
    {
        let members: Vec<_> = row.devices.iter().map(|d| d.address).collect();
        let on = !members.is_empty() && members.iter().all(|a| edit.pci.contains(a));
        g.add(&check(
            sender,
            &row.title,
            &tr_f("{n} device(s)", &[("n", &members.len().to_string())]),
            on,
            format!("group-add={}", row.id),
            format!("group-remove={}", row.id),
        ));
    }
    page.add(&g);
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("More devices"));
    for (a, name) in wizard::extra_candidates(host, None) {
        g.add(&check(
            sender,
            &name,
            &a.to_string(),
            edit.pci.contains(&a),
            format!("pci-add={a}"),
            format!("pci-remove={a}"),
        ));
    }
    page.add(&g);
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("USB devices"));
    for ((v, p), name) in wizard::usb_candidates(host) {
        let id = format!("{v:04x}:{p:04x}");
        g.add(&check(
            sender,
            &name,
            &id,
            edit.usb.contains(&(v, p)),
            format!("usb-add={id}"),
            format!("usb-remove={id}"),
        ));
    }
    page.add(&g);

    let header = adw::HeaderBar::new();
    header.set_show_end_title_buttons(false);
    header.set_show_start_title_buttons(false);
    header.set_title_widget(Some(&adw::WindowTitle::new(
        &tr_f("Devices of {vm}", &[("vm", &edit.name)]),
        &tr("Everything else in the VM stays as it is"),
    )));
    let cancel = gtk::Button::with_label(&tr("Cancel"));
    let save = gtk::Button::with_label(&tr("Save"));
    save.add_css_class("suggested-action");
    header.pack_start(&cancel);
    header.pack_end(&save);
    let bx = gtk::Box::new(gtk::Orientation::Vertical, 0);
    bx.append(&header);
    page.set_vexpand(true);
    bx.append(&page);
    let w = adw::Window::builder()
        .transient_for(parent)
        .modal(true)
        .default_width(560)
        .default_height(620)
        .content(&bx)
        .build();
    let ww = w.clone();
    cancel.connect_clicked(move |_| ww.close());
    let s = sender.clone();
    save.connect_clicked(move |_| s.input(Msg::EditSave));
    w.present();
    w
}
