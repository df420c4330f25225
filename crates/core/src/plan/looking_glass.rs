//! Looking Glass's host files: the tmpfiles.d rule that makes /dev/shm/looking-glass the
//! user's (group kvm, 0660) before QEMU opens it, the AppArmor local override that lets
//! libvirt's QEMU profile map it (or the kvmfr device), and for kvmfr `cgroup_device_acl` in
//! libvirt's qemu.conf: libvirt's default list as this host's qemu.conf states it, and
//! /dev/kvmfr0. Forms from Looking Glass's documentation (looking-glass.io/docs/B7:
//! ivshmem_shm.rst "Permissions", install.rst "AppArmor", ivshmem_kvmfr.rst "cgroups").

use crate::i18n::{tr, tr_f};
use crate::plan::{change, read_text, Plan, PlanError, Step};
use crate::root::Root;
use crate::vm::looking_glass::{Backing, KVMFR_DEV, SHM_PATH};

pub const TMPFILES: &str = "/etc/tmpfiles.d/10-looking-glass.conf";
pub use crate::plan::apparmor::{ABSTRACTION as APPARMOR_ABSTRACTION, LOCAL as APPARMOR_LOCAL};
pub const QEMU_CONF: &str = "/etc/libvirt/qemu.conf";
/// The kvmfr device's udev rule, where Looking Glass's documentation puts it.
pub const KVMFR_UDEV: &str = "/etc/udev/rules.d/99-kvmfr.rules";
/// The group Looking Glass's documentation gives the file.
pub const GROUP: &str = "kvm";

/// The tmpfiles.d line for `user`.
pub fn tmpfiles_line(user: &str) -> String {
    format!("f {SHM_PATH} 0660 {user} {GROUP} -")
}

/// The AppArmor rule for the memory `backing` maps.
pub fn apparmor_rule(backing: Backing) -> String {
    format!("{} rw,", backing.path())
}

/// Whether `name` is in the colon-separated database `path` (/etc/passwd, /etc/group).
fn has_entry(root: &Root, path: &str, name: &str) -> Result<bool, PlanError> {
    Ok(read_text(root, path)?
        .is_some_and(|(_, t)| t.lines().any(|l| l.split(':').next() == Some(name))))
}

/// The name of the user with `uid`, from the host's /etc/passwd (the helper's caller).
pub fn user_of(root: &Root, uid: u32) -> Result<String, PlanError> {
    let text = read_text(root, "/etc/passwd")?
        .map(|t| t.1)
        .unwrap_or_default();
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2].parse() == Ok(uid))
        .map(|f| f[0].to_string())
        .ok_or_else(|| {
            PlanError::Device(tr_f(
                "user id {uid} is not in /etc/passwd; Looking Glass is set up for a user of this host",
                &[("uid", &uid.to_string())],
            ))
        })
}

/// The files for `user`'s Looking Glass on `backing`.
pub fn plan(root: &Root, user: &str, backing: Backing) -> Result<Plan, PlanError> {
    if !has_entry(root, "/etc/passwd", user)? {
        return Err(PlanError::Device(tr_f(
            "there is no user {user} on this host; Looking Glass's shared memory is set up for the user who runs the client",
            &[("user", user)],
        )));
    }
    let mut p = Plan::default();
    if backing == Backing::Shm {
        if !has_entry(root, "/etc/group", GROUP)? {
            return Err(PlanError::Device(tr(
                "this host has no group kvm (libvirt's QEMU package makes it); install libvirt first",
            )));
        }
        let before = read_text(root, TMPFILES)?;
        let text = format!(
            "# Written by Passage: Looking Glass's shared memory is {user}'s, read and written by QEMU (group {GROUP}).\n{}\n",
            tmpfiles_line(user)
        );
        p.changes.extend(change(
            TMPFILES,
            before.as_ref().map(|b| b.0.as_slice()),
            Some(text.into_bytes()),
            tr_f(
                "{path} owned by {user}",
                &[("path", SHM_PATH), ("user", user)],
            ),
        ));
        if p.changes.iter().any(|c| c.path == TMPFILES) {
            let mut s = Step::new(
                &["systemd-tmpfiles", "--create", TMPFILES],
                &tr("Create the shared-memory file with its owner now (systemd-tmpfiles)"),
            );
            // Undone, the rule is gone: the file stays until the next boot or VM start.
            s.undo = Some(vec!["systemd-tmpfiles".into(), "--create".into()]);
            p.steps.push(s);
        }
    }
    p.merge(apparmor(root, backing)?);
    if backing == Backing::Kvmfr {
        p.merge(kvmfr_owner(root, user)?);
        p.merge(cgroup_acl(root)?);
    }
    Ok(p)
}

/// The udev rule that makes the kvmfr device `user`'s (group kvm, 0660) whenever the module
/// makes it (Looking Glass's documentation, ivshmem_kvmfr.rst "Permissions").
pub fn kvmfr_udev_line(user: &str) -> String {
    format!("SUBSYSTEM==\"kvmfr\", OWNER=\"{user}\", GROUP=\"{GROUP}\", MODE=\"0660\"")
}

fn kvmfr_owner(root: &Root, user: &str) -> Result<Plan, PlanError> {
    let mut p = Plan::default();
    let before = read_text(root, KVMFR_UDEV)?;
    let text = format!(
        "# Written by Passage: Looking Glass's kvmfr device is {user}'s, read and written by QEMU (group {GROUP}).\n{}\n",
        kvmfr_udev_line(user)
    );
    p.changes.extend(change(
        KVMFR_UDEV,
        before.as_ref().map(|b| b.0.as_slice()),
        Some(text.into_bytes()),
        tr_f(
            "{path} owned by {user}",
            &[("path", KVMFR_DEV), ("user", user)],
        ),
    ));
    if !p.changes.is_empty() {
        p.notes.push(tr(
            "kvmfr: the device gets its owner when the module makes it again (the next boot, or unloading and loading kvmfr with no VM running).",
        ));
    }
    Ok(p)
}

/// The rule in the local override, where libvirt's QEMU abstraction is there to include it.
fn apparmor(root: &Root, backing: Backing) -> Result<Plan, PlanError> {
    crate::plan::apparmor::local_rule(
        root,
        &apparmor_rule(backing),
        "for Looking Glass",
        tr_f("AppArmor lets QEMU map {path}", &[("path", backing.path())]),
    )
}

/// /dev/kvmfr0 in qemu.conf's `cgroup_device_acl`: added to the host's own list, or to
/// libvirt's default list as the commented block of this host's qemu.conf gives it.
fn cgroup_acl(root: &Root) -> Result<Plan, PlanError> {
    let cannot = || {
        PlanError::Device(tr_f(
            "{path} has no cgroup_device_acl list, set or commented, so Passage cannot tell libvirt's default list; add \"{dev}\" to it by hand",
            &[("path", QEMU_CONF), ("dev", KVMFR_DEV)],
        ))
    };
    let (bytes, text) = read_text(root, QEMU_CONF)?.ok_or_else(cannot)?;
    let after = match acl_block(&text, false) {
        Some(r) if text[r.clone()].contains(&format!("\"{KVMFR_DEV}\"")) => {
            return Ok(Plan::default())
        }
        Some(r) => {
            let close = r.start + text[r.clone()].rfind(']').ok_or_else(cannot)?;
            let last = text[..close].rfind('"').ok_or_else(cannot)?;
            format!("{}, \"{KVMFR_DEV}\"{}", &text[..=last], &text[last + 1..])
        }
        None => {
            let r = acl_block(&text, true).ok_or_else(cannot)?;
            let default: String = text[r.clone()]
                .lines()
                .map(|l| l.strip_prefix('#').unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n");
            let close = default.rfind(']').ok_or_else(cannot)?;
            let last = default[..close].rfind('"').ok_or_else(cannot)?;
            let list = format!(
                "{},\n    \"{KVMFR_DEV}\"\n{}",
                &default[..=last],
                default[last + 1..].trim_start_matches([',', '\n', ' '])
            );
            let end = r.end + text[r.end..].find('\n').map_or(0, |i| i + 1);
            format!(
                "{}# Written by Passage for Looking Glass: libvirt's default list and the kvmfr device.\n{list}\n{}",
                &text[..end],
                &text[end..]
            )
        }
    };
    let mut p = Plan::default();
    p.changes.extend(change(
        QEMU_CONF,
        Some(&bytes),
        Some(after.into_bytes()),
        tr_f(
            "QEMU may open {dev} (cgroup_device_acl)",
            &[("dev", KVMFR_DEV)],
        ),
    ));
    p.notes.push(tr(
        "libvirt reads qemu.conf when it starts: restart it (systemctl restart libvirtd) with no VM running.",
    ));
    Ok(p)
}

/// The byte range of the `cgroup_device_acl = [ … ]` setting, from its first line to its `]`:
/// the setting itself, or (`commented`) libvirt's commented default.
fn acl_block(text: &str, commented: bool) -> Option<std::ops::Range<usize>> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let body = if commented {
            line.strip_prefix('#')
        } else {
            Some(line)
        };
        if body.is_some_and(|b| {
            b.trim_start().starts_with("cgroup_device_acl") && b.contains('=') && b.contains('[')
        }) {
            let mut end = at;
            for l in text[at..].split_inclusive('\n') {
                if commented && !l.starts_with('#') {
                    return None;
                }
                let content = l
                    .split_once('#')
                    .map_or(l, |(a, _)| if commented { l } else { a });
                end += l.len();
                if content.contains(']') {
                    return Some(at..end - usize::from(l.ends_with('\n')));
                }
            }
            return None;
        }
        at += line.len();
    }
    None
}
