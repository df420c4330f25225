//! Below Apply when Passage's helper is not installed: what was found, how to install it, and
//! Try Again. The plan above stays readable (core computes it without the helper).

use passage_core::i18n::{tr, tr_f};
use passage_helper_api::BUS_NAME;
use relm4::gtk::prelude::*;
use relm4::{gtk, ComponentSender};

use super::helper::HelperError;
use super::{Input, SetupPage};

/// The command that installs the helper from a source tree (there is no distribution package
/// yet; meson's install does the same).
const INSTALL: &str = "sudo build-aux/install-helper.sh";

pub struct MissingHelper {
    pub widget: gtk::Box,
    status: gtk::Label,
}

impl MissingHelper {
    pub fn new(sender: &ComponentSender<SetupPage>) -> Self {
        let widget = gtk::Box::new(gtk::Orientation::Vertical, 12);
        widget.set_widget_name("helper-missing");
        let status = crate::pages::wrapping("");
        status.set_widget_name("helper-status");
        status.set_justify(gtk::Justification::Center);
        status.set_xalign(0.5);
        let how = crate::pages::wrapping(&tr(
            "Applying goes through Passage's helper, which asks for your password first. Install it from Passage's source tree (or with “sudo meson install -C build” after building with meson), then choose Try Again:",
        ));
        how.add_css_class("dim-label");
        how.set_justify(gtk::Justification::Center);
        how.set_xalign(0.5);
        let cmd = gtk::Label::new(Some(INSTALL));
        cmd.add_css_class("monospace");
        cmd.set_selectable(true);
        cmd.set_widget_name("install-helper");
        let retry = gtk::Button::with_label(&tr("Try Again"));
        retry.set_widget_name("retry-helper");
        retry.add_css_class("pill");
        retry.set_halign(gtk::Align::Center);
        let s = sender.clone();
        retry.connect_clicked(move |_| s.input(Input::CheckHelper));
        for w in [
            status.upcast_ref::<gtk::Widget>(),
            how.upcast_ref(),
            cmd.upcast_ref(),
            retry.upcast_ref(),
        ] {
            widget.append(w);
        }
        widget.set_visible(false);
        MissingHelper { widget, status }
    }

    /// Shows what the last look for the helper found: `missing` when it is not there, and
    /// whether the user asked to look again (then the line says "still" and when).
    pub fn show(&self, missing: Option<&HelperError>, again: bool) {
        self.widget.set_visible(missing.is_some());
        let Some(e) = missing else { return };
        let why = if e.bus {
            tr_f("no {name} on the system bus", &[("name", BUS_NAME)])
        } else {
            e.text.clone()
        };
        self.status.set_text(&if again {
            let at = relm4::gtk::glib::DateTime::now_local()
                .and_then(|t| t.format("%H:%M:%S"))
                .map(|t| t.to_string())
                .unwrap_or_default();
            tr_f(
                "Still not installed: {why} (checked at {time}).",
                &[("why", &why), ("time", &at)],
            )
        } else {
            tr_f(
                "Passage's helper is not installed: {why}.",
                &[("why", &why)],
            )
        });
    }
}
