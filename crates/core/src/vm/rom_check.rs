//! The pre-flight's look at the passed-through cards' ROMs (libvirt's `<rom>` in a `<hostdev>`:
//! `file` replaces the card's ROM, `bar='off'` or `enabled='no'` shows the guest none).
//!
//! A missing ROM file stops QEMU at start (`rom-missing`). A UEFI VM whose card shows it no x64
//! UEFI image starts, but OVMF shows nothing on the card until the guest's driver loads
//! (`rom-no-uefi`): the ROM file is walked here. The card's own ROM needs root to read, so the
//! front end asks Passage's helper (ReadRom) for the cards [`cards_to_read`] names, never the
//! card the host shows its screen on, and [`own_rom_finding`] says what the walk found: a
//! warning, not a refusal (the guest's driver shows the screen once it loads).

use super::diagnose::{words, Cause};
use super::domain::{Domain, GuestAddress, Rom};
use super::preflight::{finding, with_remedy, Finding, Remedy};
use crate::host::rom::{self, Verdict};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;

pub(crate) fn check(d: &Domain, host: &Host, root: &Root, out: &mut Vec<Finding>) {
    let efi = d.firmware.kind == "efi";
    for h in d
        .hostdevs
        .iter()
        .filter(|h| h.guest != GuestAddress::Unassigned)
    {
        let (Some(a), Some(r)) = (h.host, h.rom.as_ref()) else {
            continue;
        };
        if let Some(f) = one(a, r, efi, host, root) {
            out.push(f);
        }
    }
}

/// The finding for the card at `a` with this `<rom>`, if any.
fn one(a: PciAddress, r: &Rom, efi: bool, host: &Host, root: &Root) -> Option<Finding> {
    let gpu = host.device(a).is_some_and(|d| d.is_gpu());
    let label = host.card_label(a);
    let off = r.bar.as_deref() == Some("off") || r.enabled.as_deref() == Some("no");
    if off {
        // Passage turns a BAR it finds off back on; `enabled='no'` is the user's to remove.
        let bar_off = r.enabled.as_deref() != Some("no");
        return (efi && gpu).then(|| {
            let w = words(Cause::RomNoUefi, Some(label.clone()));
            let f = finding(
                Cause::RomNoUefi,
                w.title,
                tr("Its ROM is switched off in the VM (<rom bar='off'/> or enabled='no'): OVMF shows nothing on the card at boot, and the screen stays black until the guest's driver loads. Turn the ROM BAR on (passagectl vm edit NAME --rom-bar on); if the card's own ROM is the trouble, give it a ROM file with an x64 UEFI image instead (passagectl vm edit NAME --rom FILE)."),
            );
            if bar_off {
                with_remedy(Remedy::RomBarOn { card: a }, f)
            } else {
                f
            }
        });
    }
    let path = r.file.as_deref()?;
    if !root.exists(path) {
        let w = words(Cause::RomMissing, Some(path.to_string()));
        return Some(finding(
            Cause::RomMissing,
            tr_f(
                "The ROM file {path} of {dev} is missing",
                &[("path", path), ("dev", &label)],
            ),
            w.fix,
        ));
    }
    // Only a UEFI VM needs the x64 UEFI image (SeaBIOS runs the legacy one). A file the user
    // may not read (0600 root) is QEMU's to read: nothing is said about it.
    if !efi {
        return None;
    }
    let verdict = rom::walk(&root.read_bytes(path)?).verdict;
    let args = [("path", path), ("dev", label.as_str())];
    let title = match verdict {
        Verdict::UefiX64 => return None,
        Verdict::NotARom | Verdict::Truncated => tr_f(
            "The ROM file {path} of {dev} is not a whole option ROM",
            &args,
        ),
        _ => tr_f("The ROM file {path} of {dev} has no x64 UEFI image", &args),
    };
    Some(finding(Cause::RomNoUefi, title, verdict.words()))
}

/// The passed-through graphics cards of a UEFI VM that show the guest their own ROM (no ROM
/// file, the BAR not off), for the front end to have read by the helper; never a card the
/// host shows its screen on (its ROM is not switched on while the host draws on it).
pub fn cards_to_read(d: &Domain, host: &Host) -> Vec<PciAddress> {
    if d.firmware.kind != "efi" {
        return Vec::new();
    }
    d.hostdevs
        .iter()
        .filter(|h| h.guest != GuestAddress::Unassigned)
        .filter(|h| {
            h.rom.as_ref().is_none_or(|r| {
                r.file.is_none()
                    && r.bar.as_deref() != Some("off")
                    && r.enabled.as_deref() != Some("no")
            })
        })
        .filter_map(|h| h.host)
        .filter(|a| {
            host.device(*a).is_some_and(|x| x.is_gpu()) && !rom::shows_host_screen(host, *a)
        })
        .collect()
}

/// The warning for the card at `a` whose own ROM, read by the helper, walked to `verdict`;
/// none when it holds an x64 UEFI image.
pub fn own_rom_finding(host: &Host, a: PciAddress, verdict: &Verdict) -> Option<Finding> {
    let label = host.card_label(a);
    let title = match verdict {
        Verdict::UefiX64 => return None,
        Verdict::NotARom | Verdict::Truncated => tr_f(
            "The ROM read from {dev} is not a whole option ROM",
            &[("dev", &label)],
        ),
        _ => tr_f("The ROM of {dev} has no x64 UEFI image", &[("dev", &label)]),
    };
    Some(finding(Cause::RomNoUefi, title, verdict.words()))
}
