//! libadwaita 1.2's About window, made readable: it is libadwaita's own, so Passage names and
//! hides its parts after it is built.

use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::{decoration, follow_leaflet, for_each_descendant, name};

/// libadwaita 1.2's About window, made readable: its icon buttons (Back on each subpage) are
/// named by their tooltips and the version button by the version, the logo and the arrows of
/// its rows are decorations (the name and the rows' titles say it), its two text views are
/// named after what they hold, and the subpages it does not show are hidden.
pub fn about_window(w: &adw::AboutWindow) {
    let debug = w.debug_info().to_string();
    let version = w.version().to_string();
    for_each_descendant(w.upcast_ref(), &mut |d| {
        if let Some(b) = d.downcast_ref::<gtk::Button>() {
            let child = b.child();
            let icon_only =
                b.label().is_none() && child.as_ref().is_some_and(|c| c.is::<gtk::Image>());
            let shows_version = child
                .as_ref()
                .and_then(|c| c.downcast_ref::<gtk::Label>().map(|l| l.text() == version))
                .unwrap_or(false);
            if let (true, Some(tip)) = (icon_only, b.tooltip_text()) {
                name(b, &tip);
            } else if shows_version {
                name(
                    b,
                    &passage_core::i18n::tr_f("Version {version}", &[("version", &version)]),
                );
            }
        } else if d.is::<gtk::Image>() {
            // Inside a button it is read as the button; elsewhere it decorates.
            if d.ancestor(gtk::Button::static_type()).is_none() {
                decoration(d);
            }
        } else if let Some(t) = d.downcast_ref::<gtk::TextView>() {
            let (start, end) = t.buffer().bounds();
            let text = t.buffer().text(&start, &end, false);
            name(
                t,
                &if !debug.is_empty() && text == debug {
                    gettext_adw("Debugging Information")
                } else {
                    gettext_adw("What’s New")
                },
            );
        } else if let Some(l) = d.downcast_ref::<adw::Leaflet>() {
            follow_leaflet(l);
        }
    });
}

/// A title as libadwaita itself translates it (its own pages use these words).
fn gettext_adw(s: &str) -> String {
    passage_core::i18n::tr_domain("libadwaita", s)
}
