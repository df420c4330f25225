//! The VM page's look at the cards' own ROMs before a start: a UEFI VM's passed cards that show
//! the guest their own ROM (core's `rom_check::cards_to_read`, never the card the host shows its
//! screen on) are read by the helper (ReadRom; polkit asks), walked, and a ROM without an x64
//! UEFI image is a warning beside the start, which goes on (the guest's driver shows the
//! screen once it loads). A ROM read once is not read again while the app runs.

use std::collections::HashMap;

use passage_core::host::rom::{self, Verdict};
use passage_core::host::{Host, PciAddress};
use passage_core::i18n::{tr, tr_f};
use passage_core::vm::rom_check::own_rom_finding;
use relm4::adw;
use relm4::adw::prelude::*;

use super::row;

/// What the start says of one card's ROM: a title and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomNote {
    pub title: String,
    pub text: String,
}

/// The verdicts read so far, by card.
pub type Read = HashMap<PciAddress, Verdict>;

/// Reads the ROMs of `cards` not in `known` through the helper; the verdicts read, and the
/// notes for the cards whose ROM lacks the image or could not be read.
pub async fn check(cards: Vec<PciAddress>, known: Read, host: &Host) -> (Read, Vec<RomNote>) {
    let mut read = known;
    let mut notes = vec![];
    for a in cards {
        if let std::collections::hash_map::Entry::Vacant(slot) = read.entry(a) {
            match super::setup::helper::read_rom(a).await {
                Ok(bytes) => {
                    slot.insert(rom::walk(&bytes).verdict);
                }
                Err(e) => notes.push(RomNote {
                    title: tr_f(
                        "The ROM of {card} was not checked",
                        &[("card", &host.card_label(a))],
                    ),
                    text: tr_f(
                        "Passage's helper did not read it ({why}). The VM starts anyway; the Devices page's Read ROM checks it later.",
                        &[("why", &e.text)],
                    ),
                }),
            }
        }
        if let Some(f) = read.get(&a).and_then(|v| own_rom_finding(host, a, v)) {
            notes.push(RomNote {
                title: f.title,
                text: f.fix,
            });
        }
    }
    (read, notes)
}

/// The notes as a group on the VM's page.
pub fn group(notes: &[RomNote]) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("The Card's ROM"));
    g.set_description(Some(&tr(
        "Started anyway: these do not stop the VM, but its screen may stay black until the guest's driver loads.",
    )));
    for n in notes {
        let r = row(&n.title, &n.text);
        r.add_prefix(&crate::a11y::status_icon(
            "dialog-information-symbolic",
            &tr("Warning"),
        ));
        r.set_widget_name("rom-warning");
        g.add(&r);
    }
    g
}

/// What the walk says of the ROM file at `path`, for the row below it; `None` when no file is
/// given. A file the VM can take says where it goes.
pub fn file_note(path: &str) -> Option<String> {
    let path = path.trim();
    if path.is_empty() {
        return None;
    }
    Some(match passage_core::vm::settings::read_rom_file(path) {
        Ok(f) if f.needs_placing() => tr_f(
            "It has an x64 UEFI image. Passage's helper copies it to {placed} for QEMU when the VM is saved.",
            &[("placed", &f.placed)],
        ),
        Ok(_) => tr("It has an x64 UEFI image, and is where QEMU may read it."),
        Err(e) => e.why,
    })
}

/// Has the helper place `f` for QEMU (PlaceRom; polkit asks) when it must; the helper's
/// words on a failure.
pub async fn place(f: Option<passage_core::vm::settings::RomFile>) -> Result<(), String> {
    let Some(f) = f.filter(|f| f.needs_placing()) else {
        return Ok(());
    };
    super::setup::helper::place_rom(&f.source, &f.bytes)
        .await
        .map(drop)
        .map_err(|e| {
            tr_f(
                "The ROM file was not placed for QEMU: {why}",
                &[("why", &e.text)],
            )
        })
}
