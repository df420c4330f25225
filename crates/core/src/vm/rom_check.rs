//! The pre-flight's look at the passed-through cards' ROMs (libvirt's `<rom>` in a `<hostdev>`:
//! `file` replaces the card's ROM, `bar='off'` or `enabled='no'` shows the guest none).
//!
//! A missing ROM file stops QEMU at start (`rom-missing`). A UEFI VM whose card shows it no x64
//! UEFI image starts, but OVMF shows nothing on the card until the guest's driver loads
//! (`rom-no-uefi`): the ROM file is walked here; the card's own ROM needs root to read
//! (`passagectl rom ADDRESS`), so the pre-flight, which runs as the user, does not.

use super::diagnose::{words, Cause};
use super::domain::{Domain, GuestAddress, Rom};
use super::preflight::{finding, with_remedy, Finding, Remedy};
use crate::host::rom::{self, Verdict};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;

pub(super) fn check(d: &Domain, host: &Host, root: &Root, out: &mut Vec<Finding>) {
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
