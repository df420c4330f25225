//! Fixes for cards that do not come back from a VM:
//! - vendor-reset's reset for a card with the AMD reset bug: a udev rule that loads the module
//!   and sets the card's `reset_method` (kernel ≥ 5.15) to `device_specific` when the card
//!   appears (every boot);
//! - vfio-pci's `disable_idle_d3`: vfio-pci keeps the cards it holds out of D3 while no VM
//!   uses them, for cards that do not wake from D3cold ("Unable to change power state from
//!   D3cold to D0, device inaccessible").

use super::{change, read_text, Plan, PlanError, Step};
use crate::host::reset::{self, MODULE};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;

/// The rule giving vendor-reset's reset to the cards Passage set up.
pub const VENDOR_RESET_RULE: &str = "/etc/udev/rules.d/62-passage-vendor-reset.rules";

/// vfio-pci's option keeping idle cards out of D3.
pub const IDLE_D3_FILE: &str = "/etc/modprobe.d/passage-vfio-d3.conf";

const RULE_HEAD: &str = "# Written by Passage: vendor-reset resets these cards (the AMD reset bug). Undo it\n# from Passage (History) rather than by hand.\n";

/// One card's rule. udev applies `IMPORT{builtin}` and `ATTR{…}=` as it reads them, in order,
/// so the module is loaded (udev's kmod builtin) before the kernel is asked for the method it
/// provides; `RUN` would come too late. sysfs prints the IDs in lower case.
fn rule_line(a: PciAddress, vendor: u16, device: u16) -> String {
    format!(
        "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"{a}\", ATTR{{vendor}}==\"0x{vendor:04x}\", ATTR{{device}}==\"0x{device:04x}\", IMPORT{{builtin}}=\"kmod load {MODULE}\", ATTR{{reset_method}}=\"device_specific\"\n"
    )
}

/// The cards a rule file of Passage's names (its `KERNEL=="…"` matches).
fn cards_in(text: &str) -> Vec<PciAddress> {
    text.lines()
        .filter_map(|l| {
            l.split("KERNEL==\"")
                .nth(1)?
                .split('"')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// The rule for `gpu` (with the cards the file already names). Refused for a card without the
/// reset bug, and where vendor-reset is not installed: the rule would name a method the
/// kernel refuses.
pub fn vendor_reset_plan(root: &Root, host: &Host, gpu: PciAddress) -> Result<Plan, PlanError> {
    let dev = host.device(gpu).ok_or_else(|| {
        PlanError::Device(tr_f(
            "{dev} is not on this computer's PCI bus",
            &[("dev", &gpu.to_string())],
        ))
    })?;
    if reset::card_family(dev).is_none() {
        return Err(PlanError::Device(tr_f(
            "{dev} is not a card with the AMD reset bug (vendor-reset knows its IDs: Polaris, Vega 10/20, Navi 10/12/14); nothing to set up",
            &[("dev", &host.card_label(gpu))],
        )));
    }
    if !host.vendor_reset {
        return Err(PlanError::Device(tr(
            "vendor-reset is not installed for the running kernel (no vendor-reset module in modules.dep): install it (github.com/gnif/vendor-reset, as a DKMS module), then try again",
        )));
    }
    let before = read_text(root, VENDOR_RESET_RULE)?;
    let mut cards = before
        .as_ref()
        .map(|(_, t)| cards_in(t))
        .unwrap_or_default();
    cards.push(gpu);
    cards.sort();
    cards.dedup();
    let mut text = RULE_HEAD.to_string();
    for a in &cards {
        // A card that left the host keeps its line (its IDs as written), so that nothing the
        // user set up is dropped silently.
        let line = match host.device(*a) {
            Some(d) => rule_line(*a, d.vendor_id, d.device_id),
            None => before
                .as_ref()
                .and_then(|(_, t)| t.lines().find(|l| l.contains(&format!("KERNEL==\"{a}\""))))
                .map(|l| format!("{l}\n"))
                .unwrap_or_default(),
        };
        text.push_str(&line);
    }
    let mut out = Plan::default();
    if let Some(c) = change(
        VENDOR_RESET_RULE,
        before.as_ref().map(|(b, _)| b.as_slice()),
        Some(text.into_bytes()),
        tr_f(
            "vendor-reset resets {dev} (reset_method device_specific)",
            &[("dev", &host.card_label(gpu))],
        ),
    ) {
        out.changes.push(c);
        out.notes.push(tr(
            "The rule takes effect when the card appears: restart the computer.",
        ));
    }
    Ok(out)
}

/// The option line.
pub const IDLE_D3_LINE: &str = "options vfio-pci disable_idle_d3=1\n";

/// vfio-pci's `disable_idle_d3=1` in its own modprobe.d file (modprobe adds it to the options
/// of Passage's other file), and the initramfs rebuilt where one is used: modprobe.d goes into
/// it.
pub fn idle_d3_plan(root: &Root, host: &Host) -> Result<Plan, PlanError> {
    let before = read_text(root, IDLE_D3_FILE)?.map(|(b, _)| b);
    let text = format!(
        "# Written by Passage: vfio-pci keeps the cards it holds awake while no VM uses them\n# (for cards that do not wake from D3cold). Undo it from Passage (History).\n{IDLE_D3_LINE}"
    );
    let mut out = Plan::default();
    if let Some(c) = change(
        IDLE_D3_FILE,
        before.as_deref(),
        Some(text.into_bytes()),
        tr("vfio-pci keeps idle cards out of D3 (disable_idle_d3)"),
    ) {
        out.changes.push(c);
        if let Some(init) = &host.initramfs_config {
            let argv = init
                .kind
                .rebuild_command()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            out.steps.push(Step {
                argv,
                summary: tr("Rebuild the initramfs"),
                undo: None,
            });
        }
        out.notes
            .push(tr("Restart the computer for these changes to take effect."));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_names_the_card_and_is_read_back() {
        let a: PciAddress = "0000:0a:00.0".parse().expect("address");
        let l = rule_line(a, 0x1002, 0x67df);
        assert!(l.contains("KERNEL==\"0000:0a:00.0\""), "{l}");
        assert!(l.contains("ATTR{device}==\"0x67df\""), "{l}");
        assert!(
            l.find("kmod load vendor-reset") < l.find("ATTR{reset_method}"),
            "{l}"
        );
        assert_eq!(cards_in(&format!("{RULE_HEAD}{l}")), vec![a]);
    }
}
