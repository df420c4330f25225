//! The About window.

use passage_core::i18n::tr;
use relm4::adw;
use relm4::gtk::prelude::*;

use crate::config;

pub fn show(parent: &adw::ApplicationWindow) {
    // The logo is in the app's resources, whose icon path joins the icon theme only now: each
    // resource path makes the theme's first load slower (main.rs).
    let icons = format!("{}/icons/", config::RESOURCE_BASE);
    let theme = relm4::gtk::IconTheme::for_display(&WidgetExt::display(parent));
    if !theme.resource_path().iter().any(|p| *p == icons) {
        theme.add_resource_path(&icons);
    }
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
    crate::a11y::about_window(&w);
    w.present();
}
