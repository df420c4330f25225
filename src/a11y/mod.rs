//! What a screen reader reads. GTK 4.8 names a control from its label only: an icon button
//! with a tooltip is read as "GtkImage", an image as "GtkImage", and a stack's hidden pages are
//! read as if they were on screen. These helpers give controls and status icons their names
//! (GTK's accessible properties, as Orca reads them over AT-SPI), say what state a row is in,
//! and keep what is not on screen out of the tree.

mod about;
mod ffi;

pub use about::about_window;

use relm4::adw::prelude::*;
use relm4::gtk::ffi as g;
use relm4::gtk::glib;
use relm4::{adw, gtk};

/// Names a control: what it does and to what ("Move NVMe drive earlier").
pub fn name(w: &impl IsA<glib::Object>, text: &str) {
    ffi::property(
        w.upcast_ref(),
        g::GTK_ACCESSIBLE_PROPERTY_LABEL,
        &text.to_value(),
    );
}

/// Describes a control beyond its name: how to use it ("Ctrl+Alt releases the keyboard").
pub fn describe(w: &impl IsA<glib::Object>, text: &str) {
    ffi::property(
        w.upcast_ref(),
        g::GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
        &text.to_value(),
    );
}

/// Hides `w` from what a screen reader reads, or shows it again.
pub fn hide(w: &impl IsA<glib::Object>, hidden: bool) {
    ffi::state(
        w.upcast_ref(),
        g::GTK_ACCESSIBLE_STATE_HIDDEN,
        &hidden.to_value(),
    );
}

/// Says whether a row is the selected one.
pub fn selected(w: &impl IsA<glib::Object>, on: bool) {
    ffi::state(
        w.upcast_ref(),
        g::GTK_ACCESSIBLE_STATE_SELECTED,
        &i32::from(on).to_value(),
    );
}

/// Says whether an expandable row is open. (A state that may be undefined takes an int.)
pub fn expanded(w: &impl IsA<glib::Object>, open: bool) {
    ffi::state(
        w.upcast_ref(),
        g::GTK_ACCESSIBLE_STATE_EXPANDED,
        &i32::from(open).to_value(),
    );
}

/// An icon that tells a status by its shape and colour: it gets the status in words.
pub fn status_icon(icon: &str, status: &str) -> gtk::Image {
    let i = gtk::Image::from_icon_name(icon);
    name(&i, status);
    i
}

/// Keeps a decoration (an arrow, an icon beside text that says the same) out of what a screen
/// reader reads.
pub fn decoration(w: &impl IsA<glib::Object>) {
    hide(w, true);
}

/// An icon that only decorates the text beside it.
pub fn decorative_icon(icon: &str) -> gtk::Image {
    let i = gtk::Image::from_icon_name(icon);
    decoration(&i);
    i
}

/// Keeps the pages a stack does not show out of the tree (GTK 4.8 presents them all), now and
/// whenever the visible page changes.
pub fn follow_stack(stack: &gtk::Stack) {
    fn sync(stack: &gtk::Stack) {
        let shown = stack.visible_child();
        let mut c = stack.first_child();
        while let Some(child) = c {
            let page = stack.page(&child);
            let off = shown.as_ref() != Some(&child);
            // GTK 4.8 lists a hidden page's child all the same: both are hidden.
            hide(&page, off);
            hide(&child, off);
            c = child.next_sibling();
        }
    }
    sync(stack);
    stack.connect_visible_child_notify(sync);
    // Pages added later (the wizard builds its steps when first shown) are hidden too. The
    // stack keeps its page model only while someone holds it: the handler does.
    let pages = stack.pages();
    let weak = stack.downgrade();
    pages.connect_items_changed(move |_, _, _, _| {
        if let Some(s) = weak.upgrade() {
            sync(&s);
        }
    });
    let keep = pages.clone();
    stack.connect_destroy(move |_| {
        let _ = &keep;
    });
}

/// Keeps the side a folded leaflet does not show out of the tree.
pub fn follow_leaflet(leaflet: &adw::Leaflet) {
    fn sync(l: &adw::Leaflet) {
        let shown = l.visible_child();
        let folded = l.is_folded();
        let mut c = l.first_child();
        while let Some(child) = c {
            hide(&child, folded && shown.as_ref() != Some(&child));
            c = child.next_sibling();
        }
    }
    sync(leaflet);
    leaflet.connect_visible_child_notify(sync);
    leaflet.connect_folded_notify(sync);
}

/// Says whether an expander row is open, as it opens and closes, on the row and on its header
/// (the part that takes focus); the arrow is a decoration.
pub fn follow_expander(row: &adw::ExpanderRow, header: &adw::ActionRow, title: &str) {
    name(row, title);
    let h = header.clone();
    let sync = move |row: &adw::ExpanderRow| {
        expanded(row, row.is_expanded());
        expanded(&h, row.is_expanded());
    };
    sync(row);
    row.connect_expanded_notify(sync);
    hide_decorations(row.upcast_ref());
}

/// The images libadwaita draws inside its rows as decoration (the expander's arrow, an entry
/// row's pencil, a combo row's arrow): hidden, as their rows say what they mean.
pub fn hide_decorations(w: &gtk::Widget) {
    const CLASSES: [&str; 4] = [
        "expander-row-arrow",
        "edit-icon",
        "dropdown-arrow",
        "indicator",
    ];
    for_each_descendant(w, &mut |d| {
        if d.is::<gtk::Image>() && CLASSES.iter().any(|c| d.has_css_class(c)) {
            decoration(d);
        }
    });
}

/// Names a composite control (a drop-down) and the button inside it that takes focus.
pub fn name_control(w: &gtk::Widget, text: &str) {
    name(w, text);
    for_each_descendant(w, &mut |d| {
        // (A GtkToggleButton is a GtkButton.)
        if d.is::<gtk::Button>() {
            name(d, text);
        }
        if d.is::<gtk::Image>() {
            decoration(d);
        }
    });
}

/// A check button that is one choice of several: GTK 4.8 reads every check button as a check
/// box, grouped or not, and the role can only be given when the widget is made.
pub fn radio() -> gtk::CheckButton {
    glib::Object::builder()
        .property("accessible-role", gtk::AccessibleRole::Radio)
        .build()
}

/// A status bar for screen readers: the window's last message (a toast, which GTK 4.8 cannot
/// announce) stays here, where Orca's "read status bar" finds it. It is transparent and lies
/// over the content, so it takes no room on screen.
pub fn status_bar() -> gtk::Label {
    let l: gtk::Label = glib::Object::builder()
        .property("accessible-role", gtk::AccessibleRole::Status)
        .build();
    l.set_opacity(0.0);
    l.set_can_target(false);
    l.set_halign(gtk::Align::Start);
    l.set_valign(gtk::Align::End);
    l.set_ellipsize(gtk::pango::EllipsizeMode::End);
    l.set_max_width_chars(1);
    l.set_widget_name("status-bar");
    l
}

/// Puts a message in the status bar.
pub fn tell(status: &gtk::Label, text: &str) {
    status.set_text(text);
    name(status, text);
}

/// Esc closes a dialog window, as it does GTK's and libadwaita's own dialogs.
pub fn close_on_escape(w: &gtk::Window) {
    let c = gtk::ShortcutController::new();
    c.add_shortcut(gtk::Shortcut::new(
        gtk::ShortcutTrigger::parse_string("Escape"),
        Some(gtk::NamedAction::new("window.close")),
    ));
    w.add_controller(c);
}

/// Names the icon buttons below `w` that show `icon` (libadwaita's own, such as a toast's
/// close button, have no name in 1.2).
pub fn name_icon_buttons(w: &gtk::Widget, icon: &str, text: &str) {
    for_each_descendant(w, &mut |d| {
        if let Some(b) = d.downcast_ref::<gtk::Button>() {
            if b.icon_name().as_deref() == Some(icon) {
                name(b, text);
            }
        }
    });
}

/// Calls `f` on every widget below `w`.
pub fn for_each_descendant(w: &gtk::Widget, f: &mut dyn FnMut(&gtk::Widget)) {
    let mut c = w.first_child();
    while let Some(child) = c {
        f(&child);
        for_each_descendant(&child, f);
        c = child.next_sibling();
    }
}
