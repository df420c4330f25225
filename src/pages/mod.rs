//! One component per page. Each builds its rows from `crate::logic` and reports what the
//! user asked for to the window (`App`), which owns the shared state (host, chosen GPU).

pub mod check;
pub mod chooser;
pub mod confirm;
pub mod devices;
pub mod express_rows;
pub mod lg_rows;
pub mod problem;
pub mod setup;
pub mod vm_detail;
pub mod vm_edit;
pub mod vm_guest;
pub mod vm_install;
pub mod vm_lg;
pub mod vm_remedy;
pub mod vm_rom;
pub mod vm_saved;
pub mod vm_view;
pub mod vms;
pub mod wizard;

use relm4::adw::prelude::*;
use relm4::{adw, gtk};

/// Removes every group a page added the last time it was shown.
pub(crate) fn clear(page: &adw::PreferencesPage, groups: &mut Vec<adw::PreferencesGroup>) {
    for g in groups.drain(..) {
        page.remove(&g);
    }
}

/// The foot of a page on the newcomer's path: a Next button (named `next`) that says where it
/// goes, calling `go`.
pub(crate) fn next_group(to: &str, go: impl Fn() + 'static) -> adw::PreferencesGroup {
    let b = gtk::Button::with_label(&passage_core::i18n::tr("Next"));
    b.set_widget_name("next");
    b.add_css_class("suggested-action");
    b.add_css_class("pill");
    b.set_halign(gtk::Align::End);
    b.set_tooltip_text(Some(to));
    crate::a11y::name(
        &b,
        &passage_core::i18n::tr_f("Next: {page}", &[("page", to)]),
    );
    b.connect_clicked(move |_| go());
    let g = adw::PreferencesGroup::new();
    g.add(&b);
    g
}

/// Puts `g` last on `page` again (AdwPreferencesPage only appends).
pub(crate) fn keep_last(page: &adw::PreferencesPage, g: &adw::PreferencesGroup) {
    if g.parent().is_some() {
        page.remove(g);
    }
    page.add(g);
}

/// A label that wraps: long paths and device names must fit a 360 px window.
pub(crate) fn wrapping(text: &str) -> gtk::Label {
    let l = gtk::Label::new(Some(text));
    l.set_wrap(true);
    l.set_wrap_mode(gtk::pango::WrapMode::WordChar);
    l.set_xalign(0.0);
    l
}

/// A row whose title and subtitle wrap instead of being cut off.
pub(crate) fn row(title: &str, subtitle: &str) -> adw::ActionRow {
    let r = adw::ActionRow::new();
    r.set_title(&glib_escape(title));
    if !subtitle.is_empty() {
        r.set_subtitle(&glib_escape(subtitle));
    }
    r.set_title_lines(0);
    r.set_subtitle_lines(0);
    r
}

/// Row titles are Pango markup; device names and paths may hold `&` or `<`.
pub(crate) fn glib_escape(s: &str) -> String {
    relm4::gtk::glib::markup_escape_text(s).to_string()
}

/// AdwExpanderRow has no title-lines before libadwaita 1.3: its header is an AdwActionRow
/// inside, so the lines are set there, or long device names would be cut off at 360 px.
pub(crate) fn expander(title: &str, subtitle: &str) -> adw::ExpanderRow {
    let r = adw::ExpanderRow::new();
    r.set_title(&glib_escape(title));
    if !subtitle.is_empty() {
        r.set_subtitle(&glib_escape(subtitle));
    }
    if let Some(header) = expander_header(&r) {
        header.set_title_lines(0);
        header.set_subtitle_lines(0);
        // The header row is what takes focus: it says whether the row is open.
        crate::a11y::follow_expander(&r, &header, title);
    }
    r
}

/// The AdwActionRow inside an expander row that shows its title and takes focus.
pub(crate) fn expander_header(r: &adw::ExpanderRow) -> Option<adw::ActionRow> {
    fn find(w: &gtk::Widget) -> Option<adw::ActionRow> {
        if let Some(a) = w.downcast_ref::<adw::ActionRow>() {
            return Some(a.clone());
        }
        let mut c = w.first_child();
        while let Some(ch) = c {
            if let Some(a) = find(&ch) {
                return Some(a);
            }
            c = ch.next_sibling();
        }
        None
    }
    find(r.upcast_ref())
}

/// Text shown as code (a diff, domain XML): monospace, selectable, scrolling sideways so long
/// lines never widen the window.
pub(crate) fn code_view(text: &str) -> gtk::ScrolledWindow {
    let l = gtk::Label::new(Some(text));
    l.add_css_class("monospace");
    l.add_css_class("diff");
    l.set_xalign(0.0);
    l.set_selectable(true);
    l.set_margin_top(8);
    l.set_margin_bottom(8);
    l.set_margin_start(8);
    l.set_margin_end(8);
    let sw = gtk::ScrolledWindow::new();
    sw.set_vscrollbar_policy(gtk::PolicyType::Never);
    sw.set_child(Some(&l));
    sw
}
