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

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let d = cx.d;
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
        for ((icon, enabled, make), tip) in [(earlier, tr("Earlier")), (later, tr("Later"))] {
            let bt = gtk::Button::from_icon_name(icon);
            bt.add_css_class("flat");
            bt.set_valign(gtk::Align::Center);
            bt.set_sensitive(enabled);
            bt.set_tooltip_text(Some(&tip));
            let (s, item) = (cx.sender.clone(), b.clone());
            bt.connect_clicked(move |_| set(&s, make(item.clone())));
            r.add_suffix(&bt);
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
