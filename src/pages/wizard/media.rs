//! Install media: what the VM is for, the installation disc and the drivers disc.

use passage_core::i18n::tr;
use passage_core::vm::Purpose;
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk;

use super::rows::{exists_note, file_row, group, set};
use super::step::Cx;
use crate::pages::chooser::Kind;
use crate::pages::row;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let d = cx.d;
    let g = group(&tr("What the VM is for"), "");
    let purpose = adw::ComboRow::new();
    purpose.set_title(&tr("Purpose"));
    let model = gtk::StringList::new(&[
        &tr("Gaming (Windows)"),
        &tr("Machine learning (Linux)"),
        &tr("Other"),
    ]);
    purpose.set_model(Some(&model));
    const PURPOSES: [Purpose; 3] = [Purpose::Gaming, Purpose::Ml, Purpose::Other];
    purpose.set_selected(PURPOSES.iter().position(|p| *p == d.purpose).unwrap_or(0) as u32);
    let s = cx.sender.clone();
    purpose.connect_selected_notify(move |c| {
        let p = PURPOSES[(c.selected() as usize).min(PURPOSES.len() - 1)];
        set(&s, Choice::Purpose(p));
    });
    crate::a11y::hide_decorations(purpose.upcast_ref());
    g.add(&purpose);
    let media = group(
        &tr("Install media"),
        &tr("The operating system's disc image, and for Windows the virtio-win drivers disc (its installer needs them to see the virtio disk)."),
    );
    media.add(&file_row(
        cx.sender,
        (&tr("Installation disc image (ISO)"), "install-iso"),
        Kind::Iso,
        &d.install_iso,
        Choice::InstallIso,
    ));
    media.add(&file_row(
        cx.sender,
        (&tr("Drivers disc image (virtio-win ISO)"), "virtio-iso"),
        Kind::Iso,
        &d.virtio_iso,
        Choice::VirtioIso,
    ));
    if let Some(note) = [exists_note(&d.install_iso), exists_note(&d.virtio_iso)]
        .into_iter()
        .find(|n| !n.is_empty())
    {
        media.add(&row(&note, ""));
    }
    vec![g, media]
}
