//! A ROM file for a passed-through card, placed where libvirt's QEMU may read it: a copy in
//! /var/lib/libvirt/vbios/, root's and 0644 (QEMU runs as libvirt-qemu), and on hosts with
//! AppArmor a read rule for the directory in the local override of libvirt's QEMU abstraction
//! (Debian 12's abstraction allows /usr/share/vgabios/** and the firmware directories, and
//! virt-aa-helper adds no `<rom file>` to a VM's profile, so QEMU is denied a ROM anywhere else).
//!
//! The copy is named by the user's file and a hash of its bytes: the same ROM twice is one
//! file, two ROMs of one name are two. Undo removes it as it was written.

use crate::host::rom::{self, Verdict, MAX_ROM};
use crate::i18n::tr_f;
use crate::plan::{read, unified_diff, Change, Plan, PlanError};
use crate::root::Root;

/// Where placed ROM files go.
pub const DIR: &str = "/var/lib/libvirt/vbios";

/// FNV-1a, 32 bits: a name, not a check (the bytes are compared before anything is written).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The path the ROM `bytes` from a file named `name` gets: `DIR/STEM-HASH.rom`, the stem
/// cut to the characters a path needs no quoting for.
pub fn placed_path(name: &str, bytes: &[u8]) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base
        .rsplit_once('.')
        .map_or(base, |(s, _)| s)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect::<String>();
    let stem = stem.trim_start_matches('.');
    let stem = if stem.is_empty() { "card" } else { stem };
    format!("{DIR}/{stem}-{:08x}.rom", fnv1a(bytes))
}

/// Whether a placed file is one Passage put there (the user's file is already placed).
pub fn is_placed(path: &str) -> bool {
    path.strip_prefix(DIR)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|n| !n.contains('/') && n.ends_with(".rom"))
}

/// The ROM must be one QEMU can give the guest as it is: a whole PCI option ROM starting at
/// its first image. Whether it has the x64 UEFI image a UEFI VM needs is the VM's check.
fn check(name: &str, bytes: &[u8]) -> Result<(), PlanError> {
    let refuse = |why: String| {
        PlanError::Device(tr_f(
            "{name} is not placed for QEMU: {why}",
            &[("name", name), ("why", &why)],
        ))
    };
    if bytes.len() > MAX_ROM {
        return Err(refuse(tr_f(
            "it is {size} bytes, larger than any PCI option ROM (16 MiB)",
            &[("size", &bytes.len().to_string())],
        )));
    }
    let walked = rom::walk(bytes);
    if matches!(walked.verdict, Verdict::NotARom | Verdict::Truncated) {
        return Err(refuse(walked.verdict.words()));
    }
    if walked.header > 0 {
        return Err(refuse(tr_f(
            "it starts with {n} bytes before its first image (a dump tool's header, as nvflash writes): cut them off (the ROM starts at 0x55AA), then give the file again",
            &[("n", &walked.header.to_string())],
        )));
    }
    Ok(())
}

/// The plan that places the ROM `bytes` (from a file named `name`), and the path it gets.
pub fn plan(root: &Root, name: &str, bytes: &[u8]) -> Result<(Plan, String), PlanError> {
    check(name, bytes)?;
    let path = placed_path(name, bytes);
    let mut p = Plan::default();
    match read(root, &path)? {
        Some(b) if b == bytes => {}
        Some(_) => {
            return Err(PlanError::Device(tr_f(
                "{path} is there already with other bytes (not as Passage placed it): move it away, then place the ROM again",
                &[("path", &path)],
            )))
        }
        None => p.changes.push(Change {
            path: path.clone(),
            diff: unified_diff(&path, None, Some(bytes)),
            before: None,
            after: Some(bytes.to_vec()),
            mode: 0o644,
            summary: tr_f("ROM file {path} for QEMU", &[("path", &path)]),
        }),
    }
    p.merge(crate::plan::apparmor::local_rule(
        root,
        &format!("{DIR}/* r,"),
        "for ROM files of passed-through cards",
        tr_f(
            "AppArmor lets QEMU read ROM files in {dir}",
            &[("dir", DIR)],
        ),
    )?);
    Ok((p, path))
}
