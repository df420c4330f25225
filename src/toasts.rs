//! Results and errors shown as toasts over the window, and told to screen readers too: GTK 4.8
//! cannot announce, so each toast's text also goes to a status bar (see `a11y::status_bar`).

use passage_core::i18n::tr;
use relm4::adw::prelude::*;
use relm4::gtk::glib;
use relm4::{adw, gtk};

pub struct Toasts {
    overlay: adw::ToastOverlay,
    status: gtk::Label,
}

impl Toasts {
    /// The toast overlay over `child`, with the status bar lying over it.
    pub fn new(child: &impl IsA<gtk::Widget>) -> Toasts {
        let status = crate::a11y::status_bar();
        let over = gtk::Overlay::new();
        over.set_child(Some(child));
        over.add_overlay(&status);
        let overlay = adw::ToastOverlay::new();
        overlay.set_child(Some(&over));
        Toasts { overlay, status }
    }

    /// What the window's content is.
    pub fn widget(&self) -> &adw::ToastOverlay {
        &self.overlay
    }

    /// Shows `text` (a success: failures stay on their page) for five seconds, whole, and puts
    /// it in the status bar.
    pub fn show(&self, text: &str) {
        let t = adw::Toast::new(&glib::markup_escape_text(text));
        // The title label ellipsizes (“…libvirt-sock': N…” at 360 px): a label that wraps
        // shows the whole text.
        // (At least as wide as a short text or 30 characters: a wrapping label asks for
        // the width of its longest word, and the toast gives it no more.)
        let label = crate::pages::wrapping(text);
        label.set_width_chars(text.chars().count().min(30) as i32);
        label.set_max_width_chars(60);
        t.set_custom_title(Some(&label));
        t.set_timeout(5);
        // libadwaita 1.2's toast has an unnamed close button: named once the toast is on
        // screen, now or (queued behind another) when the one before is dismissed.
        let name_close = {
            let overlay = self.overlay.clone();
            move || {
                let o = overlay.clone();
                // Only inside toasts: a page's own close buttons have their names ("Dismiss
                // this error").
                glib::idle_add_local_once(move || {
                    crate::a11y::for_each_descendant(o.upcast_ref(), &mut |w| {
                        if w.css_name() == "toast" {
                            crate::a11y::name_icon_buttons(
                                w,
                                "window-close-symbolic",
                                &tr("Dismiss"),
                            );
                        }
                    });
                });
            }
        };
        name_close();
        t.connect_dismissed(move |_| name_close());
        self.overlay.add_toast(t);
        crate::a11y::tell(&self.status, text);
    }
}
