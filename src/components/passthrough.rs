//! The dialog that edits an existing VM's passed-through devices: graphics cards by whole
//! IOMMU group, NVMe drives and USB controllers, USB devices. It owns the edit (core's
//! `PassthroughEdit`), takes typed changes, and emits the XML to save.

use std::sync::Arc;

use passage_core::i18n::{tr, tr_f, tr_n};
use passage_core::vm::devices::{extra_candidates, usb_candidates, DeviceChoice, PassthroughEdit};
use passage_core::Host;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::host_source::Loaded;
use crate::logic;

pub struct Init {
    pub parent: adw::ApplicationWindow,
    pub loaded: Arc<Loaded>,
    pub edit: PassthroughEdit,
}

#[derive(Debug)]
pub enum Input {
    Set(DeviceChoice),
    Save,
}

#[derive(Debug)]
pub enum Output {
    /// The edited domain, to define.
    Save(String),
    Toast(String),
}

pub struct DevicesDialog {
    loaded: Arc<Loaded>,
    edit: PassthroughEdit,
}

fn check(
    sender: &ComponentSender<DevicesDialog>,
    (title, subtitle): (&str, &str),
    on: bool,
    add: DeviceChoice,
    remove: DeviceChoice,
) -> adw::ActionRow {
    let r = crate::pages::row(title, subtitle);
    let c = gtk::CheckButton::new();
    c.set_active(on);
    let s = sender.clone();
    c.connect_toggled(move |c| s.input(Input::Set(if c.is_active() { add } else { remove })));
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    r
}

fn page(
    host: &Host,
    edit: &PassthroughEdit,
    sender: &ComponentSender<DevicesDialog>,
) -> adw::PreferencesPage {
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
        let n = tr_n("{n} device", "{n} devices", members.len() as u64, &[]);
        g.add(&check(
            sender,
            (&row.title, &n),
            on,
            DeviceChoice::AddGroup(row.id),
            DeviceChoice::RemoveGroup(row.id),
        ));
    }
    page.add(&g);
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("More devices"));
    g.set_description(Some(&passage_core::vm::labels::extra_about()));
    for (a, name) in extra_candidates(host, None) {
        g.add(&check(
            sender,
            (&name, &passage_core::vm::labels::extra_sub(host, a)),
            edit.pci.contains(&a),
            DeviceChoice::AddPci(a),
            DeviceChoice::RemovePci(a),
        ));
    }
    page.add(&g);
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("USB devices"));
    for ((v, p), name) in usb_candidates(host) {
        g.add(&check(
            sender,
            (&name, &format!("{v:04x}:{p:04x}")),
            edit.usb.contains(&(v, p)),
            DeviceChoice::AddUsb(v, p),
            DeviceChoice::RemoveUsb(v, p),
        ));
    }
    page.add(&g);
    page
}

impl Component for DevicesDialog {
    type Init = Init;
    type Input = Input;
    type Output = Output;
    type CommandOutput = ();
    type Root = adw::Window;
    type Widgets = ();

    fn init_root() -> Self::Root {
        adw::Window::builder()
            .modal(true)
            .default_width(560)
            .default_height(620)
            .build()
    }

    fn init(init: Init, w: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let title = tr_f("Devices of {vm}", &[("vm", &init.edit.name)]);
        w.set_transient_for(Some(&init.parent));
        w.set_title(Some(&title));
        let header = adw::HeaderBar::new();
        header.set_show_end_title_buttons(false);
        header.set_show_start_title_buttons(false);
        header.set_title_widget(Some(&adw::WindowTitle::new(
            &title,
            &tr("Everything else in the VM stays as it is"),
        )));
        let cancel = gtk::Button::with_label(&tr("Cancel"));
        let save = gtk::Button::with_label(&tr("Save"));
        save.add_css_class("suggested-action");
        header.pack_start(&cancel);
        header.pack_end(&save);
        let bx = gtk::Box::new(gtk::Orientation::Vertical, 0);
        bx.append(&header);
        let p = page(&init.loaded.host, &init.edit, &sender);
        p.set_vexpand(true);
        bx.append(&p);
        w.set_content(Some(&bx));
        let ww = w.clone();
        cancel.connect_clicked(move |_| ww.close());
        crate::a11y::close_on_escape(w.upcast_ref());
        let s = sender.clone();
        save.connect_clicked(move |_| s.input(Input::Save));
        w.present();
        ComponentParts {
            model: DevicesDialog {
                loaded: init.loaded,
                edit: init.edit,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, w: &Self::Root) {
        let host = &self.loaded.host;
        match msg {
            Input::Set(c) => {
                if let Err(e) = self.edit.set(host, c) {
                    let _ = sender.output(Output::Toast(e.to_string()));
                }
            }
            Input::Save => match self.edit.edited_xml(host) {
                Ok(xml) => {
                    let _ = sender.output(Output::Save(xml));
                    w.close();
                }
                Err(e) => {
                    let _ = sender.output(Output::Toast(e.to_string()));
                }
            },
        }
    }
}

/// Opens the dialog on a VM's XML, its outputs going to the window.
pub fn open(
    parent: &adw::ApplicationWindow,
    loaded: &Arc<Loaded>,
    xml: &str,
    sender: &ComponentSender<crate::app::App>,
) -> Result<relm4::Controller<DevicesDialog>, String> {
    let edit = PassthroughEdit::from_xml(xml).map_err(|e| e.to_string())?;
    let init = Init {
        parent: parent.clone(),
        loaded: loaded.clone(),
        edit,
    };
    Ok(DevicesDialog::builder()
        .launch(init)
        .forward(sender.input_sender(), |o| match o {
            Output::Save(xml) => crate::app::Msg::EditSaved(xml),
            Output::Toast(t) => crate::app::Msg::Toast(t),
        }))
}
