//! The Edit… view's rows. Each widget sends a typed [`Field`]; while the VM runs, each row says
//! when its change applies (a disc now, everything else from the next start).

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::form::Field;
use super::{Input, VmEdit};
use crate::pages::chooser;
use crate::pages::wizard::rows::{spin_with, switch_with};

pub type Sender = ComponentSender<VmEdit>;

fn changed(s: &Sender, f: Field) {
    s.input(Input::Changed(f));
}

/// When a change applies, for a row's subtitle: nothing to say while the VM is off.
pub fn when(running: bool, live: bool) -> String {
    match (running, live) {
        (false, _) => String::new(),
        (true, true) => tr("Changes now, while it runs."),
        (true, false) => tr("From its next start: it runs on as it is until then."),
    }
}

/// `subtitle` and, on its own line, `when`.
pub fn with_when(subtitle: &str, when: &str) -> String {
    match (subtitle.is_empty(), when.is_empty()) {
        (_, true) => subtitle.to_string(),
        (true, false) => when.to_string(),
        (false, false) => format!("{subtitle}\n{when}"),
    }
}

pub fn group(title: &str, description: &str) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(title);
    if !description.is_empty() {
        g.set_description(Some(description));
    }
    g
}

/// A whole number in a spin button, named `name`.
pub fn spin(
    s: &Sender,
    (title, subtitle, name): (&str, &str, &str),
    (value, min, max): (u64, u64, u64),
    make: impl Fn(u64) -> Field + 'static,
) -> adw::ActionRow {
    let s = s.clone();
    let range = (value as f64, min as f64, max as f64);
    spin_with((title, subtitle, name), range, move |v| {
        changed(&s, make(v))
    })
}

/// A switch, named `name`.
pub fn switch(
    s: &Sender,
    (title, subtitle, name): (&str, &str, &str),
    on: bool,
    make: fn(bool) -> Field,
) -> adw::ActionRow {
    let s = s.clone();
    switch_with((title, subtitle, name), on, move |v| changed(&s, make(v)))
}

/// One of `choices` (in words), named `name`; choosing sends what `make` gives for its index.
pub fn combo(
    s: &Sender,
    (title, subtitle, name): (&str, &str, &str),
    choices: &[String],
    at: u32,
    make: fn(u32) -> Field,
) -> adw::ComboRow {
    let r = adw::ComboRow::new();
    // (A combo row shows its title and subtitle as plain text.)
    r.set_title(title);
    r.set_subtitle(subtitle);
    r.set_subtitle_lines(0);
    r.set_title_lines(0);
    r.set_widget_name(name);
    let words: Vec<&str> = choices.iter().map(String::as_str).collect();
    r.set_model(Some(&gtk::StringList::new(&words)));
    r.set_selected(at);
    crate::a11y::hide_decorations(r.upcast_ref());
    let s = s.clone();
    r.connect_selected_notify(move |r| changed(&s, make(r.selected())));
    r
}

/// A disc image's path with a chooser (Disc images, from Downloads) and Eject, named `name`.
pub fn iso(
    s: &Sender,
    (title, name): (&str, &str),
    path: &str,
    when: &str,
    make: fn(String) -> Field,
) -> adw::EntryRow {
    let e = file_entry(s, (title, name, chooser::Kind::Iso), path, when, make);
    let eject = gtk::Button::from_icon_name("media-eject-symbolic");
    eject.add_css_class("flat");
    eject.set_valign(gtk::Align::Center);
    eject.set_widget_name(&format!("eject-{name}"));
    eject.set_tooltip_text(Some(&tr("Eject")));
    crate::a11y::name(&eject, &tr_f("Eject: {what}", &[("what", title)]));
    let en = e.clone();
    eject.connect_clicked(move |_| en.set_text(""));
    e.add_suffix(&eject);
    e
}

/// A file's path with a chooser for its `kind`, named `name`; each edit sends `make`'s field.
pub fn file_entry(
    s: &Sender,
    (title, name, kind): (&str, &str, chooser::Kind),
    path: &str,
    when: &str,
    make: fn(String) -> Field,
) -> adw::EntryRow {
    let e = adw::EntryRow::new();
    e.set_title(title);
    e.set_text(path);
    e.set_widget_name(name);
    if !when.is_empty() {
        e.set_tooltip_text(Some(when));
    }
    crate::a11y::hide_decorations(e.upcast_ref());
    let sc = s.clone();
    e.connect_changed(move |e| changed(&sc, make(e.text().to_string())));
    e.add_suffix(&crate::pages::wizard::rows::choose_button(
        &e, title, name, kind,
    ));
    e
}

/// A button that sends `msg`, named `name`.
pub fn button(
    s: &Sender,
    label: &str,
    name: &str,
    msg: impl Fn() -> Input + 'static,
) -> gtk::Button {
    let b = gtk::Button::with_label(label);
    b.set_widget_name(name);
    b.set_valign(gtk::Align::Center);
    let s = s.clone();
    b.connect_clicked(move |_| s.input(msg()));
    b
}
