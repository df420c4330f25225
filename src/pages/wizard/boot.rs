//! Boot order: what the VM starts from, earlier and later, and the boot menu.

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::rows::{group, set, switch_row};
use super::step::Cx;
use crate::pages::row;
use crate::wizard::{BootItem, Choice, Storage};

/// The title and detail of an item in the list.
fn describe(cx: &Cx, b: &BootItem) -> (String, String) {
    let d = cx.d;
    match b {
        BootItem::InstallIso => (tr("Installation disc"), d.install_iso.clone()),
        BootItem::Disk => (
            tr("Disk"),
            match &d.storage {
                Storage::New { gib, .. } => tr_f(
                    "new {n} GiB image {vol}",
                    &[("n", &gib.to_string()), ("vol", &d.volume_name())],
                ),
                Storage::Existing { path } => path.clone(),
                Storage::None => String::new(),
            },
        ),
        BootItem::Pci(a) => (
            cx.host
                .device(*a)
                .map(|x| x.display_name())
                .unwrap_or_default(),
            a.to_string(),
        ),
    }
}

thread_local! {
    /// The item just moved and which way: the page is rebuilt after a move, and focus goes
    /// back to the same button of that item (or its other one, at the end of the list).
    static MOVED: std::cell::RefCell<Option<(String, bool)>> = const { std::cell::RefCell::new(None) };
}

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let d = cx.d;
    let moved = MOVED.with(|m| m.borrow_mut().take());
    let g = group(&tr("Boot order"), &tr("The VM tries these in order. Install from the disc first; afterwards the disk comes first."));
    let n = d.boot.len();
    for (i, b) in d.boot.iter().enumerate() {
        let (title, sub) = describe(cx, b);
        let r = row(&format!("{}. {title}", i + 1), &sub);
        r.set_widget_name(&format!("boot-{}", b.id()));
        let earlier: (&str, bool, fn(BootItem) -> Choice) =
            ("go-up-symbolic", i > 0, Choice::BootEarlier);
        let later: (&str, bool, fn(BootItem) -> Choice) =
            ("go-down-symbolic", i + 1 < n, Choice::BootLater);
        let mut buttons = vec![];
        for ((icon, enabled, make), tip, up) in
            [(earlier, tr("Earlier"), true), (later, tr("Later"), false)]
        {
            let bt = gtk::Button::from_icon_name(icon);
            bt.add_css_class("flat");
            bt.set_valign(gtk::Align::Center);
            bt.set_sensitive(enabled);
            bt.set_tooltip_text(Some(&tip));
            bt.set_widget_name(&format!(
                "boot-{}-{}",
                b.id(),
                if up { "up" } else { "down" }
            ));
            let says = if up {
                tr_f("Move {item} earlier", &[("item", &title)])
            } else {
                tr_f("Move {item} later", &[("item", &title)])
            };
            crate::a11y::name(&bt, &says);
            let (s, item) = (cx.sender.clone(), b.clone());
            bt.connect_clicked(move |_| {
                MOVED.with(|m| *m.borrow_mut() = Some((item.id(), up)));
                set(&s, make(item.clone()));
            });
            r.add_suffix(&bt);
            buttons.push((up, enabled, bt));
        }
        if let Some((id, up)) = &moved {
            if *id == b.id() {
                refocus(&buttons, *up);
            }
        }
        g.add(&r);
    }
    if n == 0 {
        g.add(&row(
            &tr("Nothing to boot from yet"),
            &tr("Give the VM a disc image or a disk."),
        ));
    }
    let menu = group("", "");
    menu.add(&switch_row(
        cx.sender,
        (
            &tr("Boot menu"),
            &tr("Press Esc while the VM starts to choose."),
        ),
        "boot-menu",
        d.boot_menu,
        Choice::BootMenu,
    ));
    vec![g, menu]
}

/// Focuses the moved item's button for the same direction once the page is on screen, or its
/// other button when the item reached the end of the list.
fn refocus(buttons: &[(bool, bool, gtk::Button)], up: bool) {
    let pick = buttons
        .iter()
        .find(|(u, enabled, _)| *u == up && *enabled)
        .or_else(|| buttons.iter().find(|(_, enabled, _)| *enabled))
        .map(|(_, _, b)| b.clone());
    if let Some(b) = pick {
        b.connect_map(|b| {
            b.grab_focus();
        });
    }
}
