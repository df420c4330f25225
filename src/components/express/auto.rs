//! The express dialog's “Install automatically” group: a switch, and while it is on the
//! account the install makes (the desktop's user prefilled) and its password. The password
//! goes only to the worker that writes the answer media.

use passage_core::i18n::tr;
use passage_core::vm::unattended::Secret;
use relm4::adw::prelude::*;
use relm4::{adw, ComponentSender};

use super::{ExpressDialog, Input};
use crate::pages::wizard::rows;

/// The group and the rows shown while the switch is on; `virtio_win` is the ISO found where
/// distributions put it, if any.
pub fn group(
    login: &str,
    virtio_win: &str,
    sender: &ComponentSender<ExpressDialog>,
) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    let user = adw::EntryRow::new();
    user.set_title(&tr("Account name"));
    user.set_text(login);
    user.set_widget_name("express-user");
    crate::a11y::hide_decorations(user.upcast_ref());
    let s = sender.clone();
    user.connect_changed(move |e| s.input(Input::Login(e.text().trim().to_string())));
    let password = adw::PasswordEntryRow::new();
    password.set_title(&tr("Password"));
    password.set_widget_name("express-password");
    crate::a11y::hide_decorations(password.upcast_ref());
    // Its show-the-text button has no name in libadwaita 1.2.
    crate::a11y::for_each_descendant(password.upcast_ref(), &mut |w| {
        if w.is::<relm4::gtk::Button>() {
            crate::a11y::name(w, &tr("Show the password"));
        }
    });
    let s = sender.clone();
    password.connect_changed(move |e| s.input(Input::Password(Secret::new(e.text().as_str()))));
    let drivers = adw::EntryRow::new();
    let title = tr("virtio-win ISO (drivers for Windows)");
    drivers.set_title(&title);
    drivers.set_text(virtio_win);
    drivers.set_widget_name("express-virtio-win");
    crate::a11y::hide_decorations(drivers.upcast_ref());
    let s = sender.clone();
    drivers.connect_changed(move |e| s.input(Input::VirtioWin(e.text().trim().to_string())));
    drivers.add_suffix(&rows::choose_button(
        &drivers,
        &title,
        "express-virtio-win",
        crate::pages::chooser::Kind::Iso,
    ));
    user.set_visible(false);
    password.set_visible(false);
    drivers.set_visible(false);
    let (s, u, p, v) = (
        sender.clone(),
        user.clone(),
        password.clone(),
        drivers.clone(),
    );
    let switch = rows::switch_with(
        (
            &tr("Install automatically"),
            &tr("libosinfo answers the installer with this account and this desktop's language; Windows gets the virtio drivers and guest tools"),
            "express-unattended",
        ),
        false,
        move |on| {
            u.set_visible(on);
            p.set_visible(on);
            v.set_visible(on);
            // The account is prefilled: the password is what is left to type.
            if on {
                p.grab_focus();
            }
            s.input(Input::Unattended(on));
        },
    );
    g.add(&switch);
    g.add(&user);
    g.add(&password);
    g.add(&drivers);
    g
}
