//! Rules in the local override of libvirt's QEMU abstraction, which Debian's and Ubuntu's
//! profile for every VM includes (`#include <local/abstractions/libvirt-qemu>` at the end of
//! /etc/apparmor.d/abstractions/libvirt-qemu): a file QEMU must open that libvirt's
//! virt-aa-helper does not add to the VM's own profile.

use crate::i18n::tr;
use crate::plan::{change, read_text, Plan, PlanError};
use crate::root::Root;

/// libvirt's QEMU abstraction, which includes the local override where it exists.
pub const ABSTRACTION: &str = "/etc/apparmor.d/abstractions/libvirt-qemu";
pub const LOCAL: &str = "/etc/apparmor.d/local/abstractions/libvirt-qemu";

/// `rule` added to the local override under a comment saying `why`, where libvirt's QEMU
/// abstraction is there to include it (no AppArmor, nothing to do); nothing when it is there.
pub fn local_rule(root: &Root, rule: &str, why: &str, summary: String) -> Result<Plan, PlanError> {
    let mut p = Plan::default();
    if !root.exists(ABSTRACTION) {
        return Ok(p);
    }
    let before = read_text(root, LOCAL)?;
    let mut text = before.as_ref().map(|b| b.1.clone()).unwrap_or_default();
    if text.lines().any(|l| l.trim() == rule) {
        return Ok(p);
    }
    if text.is_empty() {
        text.push_str("# Site-specific additions and overrides for 'abstractions/libvirt-qemu'\n");
    }
    crate::plan::push_line(&mut text, &format!("# Written by Passage {why}\n{rule}\n"));
    p.changes.extend(change(
        LOCAL,
        before.as_ref().map(|b| b.0.as_slice()),
        Some(text.into_bytes()),
        summary,
    ));
    p.notes.push(tr(
        "AppArmor: a VM started from now on gets the rule (libvirt writes each VM's profile when it starts).",
    ));
    Ok(p)
}
