//! The About window.

use passage_core::i18n::tr;
use relm4::adw;
use relm4::gtk::prelude::*;

use crate::config;

pub fn show(parent: &adw::ApplicationWindow) {
    let w = adw::AboutWindow::builder()
        .transient_for(parent)
        // The icon from the app's own resources (under a name of its own: an icon named after
        // the app id would be loaded as the X11 window icon at every start, pulling in librsvg).
        .application_icon("passage-about-logo")
        .application_name(tr("Passage"))
        .developer_name(tr("The Passage developers"))
        .version(config::VERSION)
        .comments(tr("From “I have a second GPU” to one click that starts a VM with it passed through — and back."))
        .website("https://github.com/passage/passage")
        .issue_url("https://github.com/passage/passage/issues")
        .license_type(relm4::gtk::License::Gpl30)
        .translator_credits(tr("translator-credits"))
        .build();
    w.set_widget_name("about");
    w.present();
}
