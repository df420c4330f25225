//! Firmware: libvirt's choice or one of the host's OVMF files, Secure Boot, a TPM.

use passage_core::i18n::tr;
use relm4::adw;
use relm4::adw::prelude::*;

use super::rows::{group, radio_row, switch_row};
use super::step::Cx;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    let g = group(&tr("UEFI firmware"), &tr("GPU passthrough needs UEFI (OVMF). libvirt can choose the firmware, or Passage uses the one you pick."));
    let (r, auto) = radio_row(
        cx.sender,
        None,
        (
            &tr("Let libvirt choose"),
            &tr("Recommended: libvirt picks a firmware that matches the features below."),
        ),
        d.firmware.is_none(),
        || Choice::Firmware(None),
    );
    g.add(&r);
    for (i, f) in host
        .firmware
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_x86_64_uefi() && f.installed)
    {
        let (r, _) = radio_row(
            cx.sender,
            Some(&auto),
            (&f.description, f.executable.as_deref().unwrap_or_default()),
            d.firmware == Some(i),
            move || Choice::Firmware(Some(i)),
        );
        g.add(&r);
    }
    let security = group(&tr("Security"), "");
    security.add(&switch_row(
        cx.sender,
        (
            &tr("Secure Boot"),
            &tr("Windows 11 wants it; Microsoft's keys are enrolled."),
        ),
        "secure-boot",
        d.secure_boot,
        Choice::SecureBoot,
    ));
    let tpm = switch_row(
        cx.sender,
        (
            &tr("TPM 2.0"),
            &if host.swtpm {
                tr("An emulated TPM (swtpm), which Windows 11 requires.")
            } else {
                tr("Needs swtpm on this computer (package swtpm).")
            },
        ),
        "tpm",
        d.tpm,
        Choice::Tpm,
    );
    tpm.set_sensitive(host.swtpm);
    security.add(&tpm);
    vec![g, security]
}
