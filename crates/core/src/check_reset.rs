//! The check's finding for a card with the AMD reset bug ([`crate::host::reset`]): what it
//! means, and vendor-reset's udev rule as the fix where the module is installed.

use crate::check::{Finding, FixAction, Severity};
use crate::host::reset::{self, ResetFamily};
use crate::host::{Host, PciDevice};
use crate::i18n::{tr, tr_f};

/// The finding for `gpu`, when it is of a family with the reset bug.
pub(crate) fn finding(host: &Host, gpu: &PciDevice) -> Option<Finding> {
    let family = reset::card_family(gpu)?;
    let label = host.card_label(gpu.address);
    if reset::uses_device_specific(gpu) {
        return Some(Finding {
            id: "gpu-reset-bug".into(),
            severity: Severity::Ok,
            title: tr("vendor-reset resets the card"),
            detail: reset::words(gpu, family),
            fix: None,
            action: None,
        });
    }
    let (fix, action) = if host.vendor_reset {
        (
            tr("Let vendor-reset reset the card: Passage writes a udev rule that sets its reset_method to device_specific (from the next restart). Give the card to VMs from boot on."),
            Some(FixAction::VendorReset { gpu: gpu.address }),
        )
    } else {
        (
            tr("Give the card to VMs from boot on, and restart the computer after a VM used it. Install vendor-reset (github.com/gnif/vendor-reset, a DKMS module) and check again: Passage then sets the card up to use it."),
            None,
        )
    };
    Some(Finding {
        id: "gpu-reset-bug".into(),
        severity: Severity::Warning,
        title: tr("The card has the AMD reset bug"),
        detail: detail(&label, family),
        fix: Some(fix),
        action,
    })
}

fn detail(label: &str, family: ResetFamily) -> String {
    tr_f(
        "{gpu} is an AMD {family} card: once a VM has used it, the card often cannot be reset, and it stays unusable (a black screen, a VM that does not start again) until the computer restarts.",
        &[("gpu", label), ("family", family.name())],
    )
}
