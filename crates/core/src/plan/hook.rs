//! "While the VM runs": the host keeps the card and lends it to VMs through libvirt's hook.
//! Host setup then plans the IOMMU arguments, keeping the desktop off the card (X11's BusID
//! where the host needs telling, mutter's `mutter-device-ignore` udev tag for GNOME on
//! Wayland) and the hook's dispatcher; never a boot-time binding.

use super::fallback::{script_change, sh_quote};
use super::{change, read_text, Plan, PlanError, Step};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;
use crate::vm::domain::PASSAGE_NS;

/// libvirt runs every executable in this directory, in name order, for each QEMU domain event
/// (libvirt ≥ 6.5; the daemon looks for hooks when it starts).
pub const DISPATCHER: &str = "/etc/libvirt/hooks/qemu.d/50-passage";

/// Where the helper is installed: meson's libexecdir as the build configured it
/// (`PASSAGE_HELPER`, set by build-aux/meson-cargo.sh), else Debian's (a build by cargo alone).
/// The dispatcher names this path, never the running program's (`/proc/self/exe` reads
/// `… (deleted)` once a package upgrade replaced the file, and every VM start would fail).
pub const DEFAULT_HELPER: &str = match option_env!("PASSAGE_HELPER") {
    Some(p) => p,
    None => "/usr/libexec/passage-helper",
};

/// Refuses a helper the dispatcher must not run as root for every VM start: the file must be a
/// regular file (not a link) owned by root, and neither it nor a directory above it may be
/// writable by a group or others (or owned by another user), else whoever can write there
/// runs code as root.
pub fn check_helper(root: &Root, helper: &str) -> Result<(), PlanError> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| Err(PlanError::BadArgument(helper.to_string(), why));
    if !helper.starts_with('/') {
        return refuse(tr("the helper's path is not absolute"));
    }
    let file = match std::fs::symlink_metadata(root.path(helper)) {
        Ok(m) => m,
        Err(e) => {
            return refuse(tr_f(
                "the helper is not there ({e}); reinstall Passage",
                &[("e", &e.to_string())],
            ))
        }
    };
    if !file.file_type().is_file() {
        return refuse(tr("the helper is not a regular file; reinstall Passage"));
    }
    let dirs = std::path::Path::new(helper).ancestors().skip(1);
    for (path, m) in std::iter::once((helper.to_string(), Ok(file))).chain(dirs.map(|d| {
        let d = d.to_string_lossy().into_owned();
        let m = std::fs::metadata(root.path(&d));
        (d, m)
    })) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                return refuse(tr_f(
                    "{path} cannot be read ({e})",
                    &[("path", &path), ("e", &e.to_string())],
                ))
            }
        };
        if m.uid() != 0 {
            return refuse(tr_f(
                "{path} belongs to user {uid}, not root: reinstall Passage from its package",
                &[("path", &path), ("uid", &m.uid().to_string())],
            ));
        }
        if m.mode() & 0o022 != 0 {
            return refuse(tr_f(
                "{path} can be written by others than root (mode {mode}): reinstall Passage from its package",
                &[("path", &path), ("mode", &format!("{:04o}", m.mode() & 0o7777))],
            ));
        }
    }
    Ok(())
}

/// The udev rule that keeps GNOME's compositor off the card.
pub const MUTTER_RULE: &str = "/etc/udev/rules.d/61-passage-mutter-ignore.rules";

/// The dispatcher: hands every call to the helper, which acts only for session VMs. Where the
/// helper is gone (the package removed with the hook still applied), every other domain starts
/// as before and a Passage VM is refused with what to do: libvirt would otherwise refuse every
/// VM's start, the hook being unable to run.
pub fn dispatcher(helper: &str) -> String {
    let helper = sh_quote(helper);
    format!(
        "#!/bin/sh\n\
         # Written by Passage: lends the graphics card to VMs that ask for it while they run\n\
         # (and reserves their hugepages), then gives it back. Domains without Passage's\n\
         # session settings are left alone. Remove it with Undo in Passage (History).\n\
         if [ ! -x {helper} ]; then\n\
         \x20 case \"$2\" in\n\
         \x20   prepare|start)\n\
         \x20     if grep -q -F '{PASSAGE_NS}'; then\n\
         \x20       echo \"Passage's helper ({helper}) is not installed, and it lends this VM its devices: install Passage again, or undo its libvirt hook and this VM's session settings.\" >&2\n\
         \x20       exit 1\n\
         \x20     fi ;;\n\
         \x20 esac\n\
         \x20 exit 0\n\
         fi\n\
         exec {helper} hook \"$@\"\n"
    )
}

/// A rule per DRM device of the card's group: mutter (GNOME 44 and later) ignores devices
/// with the tag, so the desktop never opens the card it must give up.
pub fn mutter_rule(devices: &[PciAddress]) -> String {
    let mut s =
        String::from("# Written by Passage: GNOME's compositor leaves these cards to VMs.\n");
    for a in devices {
        s.push_str(&format!(
            "SUBSYSTEM==\"drm\", KERNEL==\"card[0-9]*\", KERNELS==\"{a}\", TAG+=\"mutter-device-ignore\"\n"
        ));
    }
    s
}

/// The dispatcher, and the daemon restart that makes libvirt see it (where systemd runs
/// libvirt; elsewhere a note says which daemon to restart).
pub fn plan(root: &Root, helper: &str) -> Result<Plan, PlanError> {
    let mut out = Plan::default();
    if let Some(c) = script_change(
        root,
        DISPATCHER,
        dispatcher(helper),
        tr("libvirt hook: lend the card to VMs while they run"),
    )? {
        out.changes.push(c);
    }
    if root.exists("/run/systemd/system") {
        out.steps.push(Step::new(
            &[
                "systemctl",
                "try-restart",
                "libvirtd.service",
                "virtqemud.service",
            ],
            &tr("restart libvirt's daemon so that it reads the hook (running VMs keep running)"),
        ));
    } else {
        out.notes.push(tr("libvirt reads its hooks when it starts: restart libvirtd (or virtqemud, on hosts with libvirt's modular daemons) before starting a VM."));
    }
    Ok(out)
}

/// Keeps GNOME on Wayland off the card's group.
pub fn desktop_plan(root: &Root, host: &Host, gpu: PciAddress) -> Result<Plan, PlanError> {
    let group = host
        .group_of(gpu)
        .map(|g| host.endpoints(&g.devices))
        .unwrap_or_else(|| vec![gpu]);
    let cards: Vec<PciAddress> = group
        .into_iter()
        .filter(|a| host.device(*a).is_some_and(|d| d.is_gpu()))
        .collect();
    let before = read_text(root, MUTTER_RULE)?.map(|b| b.0);
    let mut out = Plan::default();
    if let Some(c) = change(
        MUTTER_RULE,
        before.as_deref(),
        Some(mutter_rule(&cards).into_bytes()),
        tr_f(
            "keep GNOME's desktop off {dev}",
            &[("dev", &gpu.to_string())],
        ),
    ) {
        out.changes.push(c);
        out.notes.push(tr("KDE Plasma on Wayland has no such setting by device address: if it opens the card, log out before starting the VM (Passage refuses the start and names the program)."));
    }
    Ok(out)
}
