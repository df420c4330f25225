//! The rows the wizard's steps are built of. Each widget sends a typed [`Choice`]: the draft
//! is changed by values, never by text parsed back.

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::step::{Output, StepPage};
use crate::pages::chooser;
use crate::pages::row;
use crate::wizard::Choice;

pub type Sender = ComponentSender<StepPage>;

/// Sends one choice to the wizard.
pub fn set(sender: &Sender, c: Choice) {
    let _ = sender.output(Output::Set(c));
}

pub fn group(title: &str, description: &str) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    if !title.is_empty() {
        g.set_title(title);
    }
    if !description.is_empty() {
        g.set_description(Some(description));
    }
    g
}

/// A row with a switch; `make` turns its state into the choice.
pub fn switch_row(
    sender: &Sender,
    (title, subtitle): (&str, &str),
    name: &str,
    on: bool,
    make: fn(bool) -> Choice,
) -> adw::ActionRow {
    let s = sender.clone();
    switch_with((title, subtitle, name), on, move |v| set(&s, make(v)))
}

/// A row with a switch named `name`; `changed` gets each new state (the wizard's rows and the
/// Edit… view's).
pub fn switch_with(
    (title, subtitle, name): (&str, &str, &str),
    on: bool,
    changed: impl Fn(bool) + 'static,
) -> adw::ActionRow {
    let r = row(title, subtitle);
    let sw = gtk::Switch::new();
    sw.set_active(on);
    sw.set_valign(gtk::Align::Center);
    sw.set_widget_name(name);
    sw.connect_state_set(move |_, v| {
        changed(v);
        relm4::gtk::glib::Propagation::Proceed
    });
    r.add_suffix(&sw);
    r.set_activatable_widget(Some(&sw));
    r
}

/// A row with a check box: `add` when ticked, `remove` when not.
pub fn check_row(
    sender: &Sender,
    (title, subtitle): (&str, &str),
    on: bool,
    add: Choice,
    remove: Choice,
) -> adw::ActionRow {
    let r = row(title, subtitle);
    let c = gtk::CheckButton::new();
    c.set_active(on);
    let s = sender.clone();
    c.connect_toggled(move |c| {
        set(
            &s,
            if c.is_active() {
                add.clone()
            } else {
                remove.clone()
            },
        )
    });
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    r
}

/// One choice of several (radio buttons in `group`): choosing it sends what `value` gives at
/// that moment.
pub fn radio_row(
    sender: &Sender,
    group: Option<&gtk::CheckButton>,
    (title, subtitle): (&str, &str),
    on: bool,
    value: impl Fn() -> Choice + 'static,
) -> (adw::ActionRow, gtk::CheckButton) {
    let c = crate::a11y::radio();
    c.set_group(group);
    c.set_active(on);
    let r = row(title, subtitle);
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    let s = sender.clone();
    c.connect_toggled(move |c| {
        if c.is_active() {
            set(&s, value());
        }
    });
    (r, c)
}

/// An entry whose text is the choice, sent as it is typed.
pub fn entry_row(
    sender: &Sender,
    title: &str,
    name: &str,
    text: &str,
    make: fn(String) -> Choice,
) -> adw::EntryRow {
    let e = adw::EntryRow::new();
    e.set_title(title);
    e.set_text(text);
    e.set_widget_name(name);
    crate::a11y::hide_decorations(e.upcast_ref());
    let s = sender.clone();
    e.connect_changed(move |e| set(&s, make(e.text().to_string())));
    e
}

/// An entry for a file, with a button that opens a chooser for its `kind`.
pub fn file_row(
    sender: &Sender,
    (title, name): (&str, &str),
    kind: chooser::Kind,
    text: &str,
    make: fn(String) -> Choice,
) -> adw::EntryRow {
    let e = entry_row(sender, title, name, text, make);
    e.add_suffix(&choose_button(&e, title, name, kind));
    e
}

/// The button beside an entry that opens a chooser and puts the chosen path in the entry
/// (named `choose-{name}`).
pub fn choose_button(
    entry: &adw::EntryRow,
    title: &str,
    name: &str,
    kind: chooser::Kind,
) -> gtk::Button {
    let b = gtk::Button::from_icon_name("document-open-symbolic");
    b.add_css_class("flat");
    b.set_valign(gtk::Align::Center);
    b.set_widget_name(&format!("choose-{name}"));
    b.set_tooltip_text(Some(&tr("Choose a File")));
    crate::a11y::name(&b, &tr_f("Choose a file: {what}", &[("what", title)]));
    let entry = entry.clone();
    let title = title.to_string();
    b.connect_clicked(move |b| {
        let e = entry.clone();
        chooser::open(b, (kind, &title), &entry.text(), move |p| {
            e.set_text(&p.display().to_string())
        });
    });
    b
}

/// A number in a spin button.
pub fn spin_row(
    sender: &Sender,
    (title, subtitle): (&str, &str),
    name: &str,
    (value, min, max): (f64, f64, f64),
    make: fn(u64) -> Choice,
) -> adw::ActionRow {
    let s = sender.clone();
    spin_with((title, subtitle, name), (value, min, max), move |v| {
        set(&s, make(v))
    })
}

/// A whole number in a spin button named `name`; `changed` gets each new value (the wizard's
/// rows and the Edit… view's).
pub fn spin_with(
    (title, subtitle, name): (&str, &str, &str),
    (value, min, max): (f64, f64, f64),
    changed: impl Fn(u64) + 'static,
) -> adw::ActionRow {
    let r = row(title, subtitle);
    let sp = gtk::SpinButton::with_range(min, max.max(min), 1.0);
    sp.set_value(value);
    sp.set_valign(gtk::Align::Center);
    sp.set_widget_name(name);
    crate::a11y::name(&sp, title);
    sp.connect_value_changed(move |sp| changed(sp.value() as u64));
    r.add_suffix(&sp);
    r
}

/// Says when a path the user typed is not there.
pub fn exists_note(path: &str) -> String {
    if path.is_empty() || std::path::Path::new(path).exists() {
        String::new()
    } else {
        tr("Not found on this computer: check the path before starting the VM.")
    }
}
