//! Binding at boot on booster hosts: through the kernel command line, the way booster's own
//! init passes module options, not through modprobe.d.
//!
//! What booster (v0.12, anatol/booster) does at boot, read in its source:
//! - init/cmdline.go `parseParams`: any `module.param=value` on /proc/cmdline goes into
//!   `moduleParams[normalizeModuleName(module)]`; init/module.go `finitModule` hands those to
//!   the kernel when it loads that module. So `vfio-pci.ids=` reaches vfio_pci.
//! - Of modprobe.d the generator keeps only `options` lines (generator/kmod.go
//!   `readModprobeOptions`), applied unconditionally: no `install` command, no modprobe.d
//!   softdep (softdeps come from the kernel's modules.softdep alone), no udev rules. Passage's
//!   switch-aware modprobe.d file would do nothing there, and by address cannot work at all.
//! - vfio_pci matches no device by modalias, so the image loads it only when told:
//!   `modules_force_load` in /etc/booster.yaml (init/main.go `boost` starts loading those
//!   before it walks the devices' modaliases). The generator splits the value on `,` without
//!   trimming and the init opens `<name>.ko` as written, so names go in booster's own
//!   spelling (`vfio_pci`), without spaces.
//!
//! The fallback boot entry leaves `vfio-pci.ids=` out (see [`super::fallback`]): vfio_pci
//! still loads there, but takes nothing.

use crate::host::initramfs::InitramfsKind;
use crate::host::kernel::same_key;
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::plan::args::Arg;
use crate::plan::{bootloader, change, push_line, read_text, Plan, PlanError, Step};
use crate::root::Root;

pub const CONFIG: &str = "/etc/booster.yaml";
/// booster's own script that builds every installed kernel's image again (Arch's package
/// installs it; its pacman hook does the same per kernel).
pub const REGENERATE: &str = InitramfsKind::Booster.rebuild_command();

const KEY: &str = "modules_force_load";

/// Plans `ids` (the devices' `vendor:device` pairs) on the kernel command line and `mods` in
/// booster's `modules_force_load`. `clash` lists host devices with the same IDs: binding by
/// address needs a udev rule, which booster does not run, so that is refused. `args` are
/// other kernel arguments planned in the same edit.
pub fn plan(
    root: &Root,
    host: &Host,
    devices: &[PciAddress],
    ids: &[String],
    clash: &[String],
    mods: &[&str],
    args: &[Arg],
) -> Result<Plan, PlanError> {
    if !clash.is_empty() {
        return Err(PlanError::Regenerate(tr_f(
            "{same} has the same vendor:device IDs as a device going to the VM, so only binding by PCI address (a udev rule) would leave it to the host; booster runs no udev rules in the initramfs, so Passage cannot do that at boot there. Let Passage lend the card only while its VM runs instead",
            &[("same", &clash.join(", "))],
        )));
    }
    let ids_arg = Arg {
        key: "vfio-pci.ids".into(),
        value: Some(ids.join(",")),
    };
    let mut add = args.to_vec();
    add.push(ids_arg);
    let mut plan = bootloader::plan(root, host, &add, &[])?;
    let cur = read_text(root, CONFIG)?;
    let text = cur.as_ref().map(|c| c.1.as_str()).unwrap_or_default();
    let after = force_load(text, mods).map_err(|why| PlanError::Unparsable {
        path: CONFIG.into(),
        why,
    })?;
    if let Some(c) = change(
        CONFIG,
        cur.as_ref().map(|c| c.0.as_slice()),
        Some(after.into_bytes()),
        tr_f(
            "booster loads {modules} at boot",
            &[("modules", &mods.join(", "))],
        ),
    ) {
        if !root.exists(REGENERATE) {
            return Err(PlanError::Regenerate(tr_f(
                "booster builds this host's initramfs, but {script} (booster's own way to build every kernel's image) is missing, so Passage cannot rebuild the images; reinstall booster or let Passage lend the card only while its VM runs",
                &[("script", REGENERATE)],
            )));
        }
        plan.changes.push(c);
        plan.steps.push(Step::new(
            &[REGENERATE],
            &tr("Rebuild the initramfs images (booster)"),
        ));
    }
    if !plan.changes.is_empty() {
        plan.notes.push(tr_f(
            "booster passes vfio-pci.ids= from the kernel command line to vfio-pci, which it loads early; {devs} go to vfio-pci at the next start.",
            &[(
                "devs",
                &devices
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            )],
        ));
    }
    Ok(plan)
}

/// booster.yaml with `mods` first in its top-level `modules_force_load` (added when there is
/// none), the modules already listed after them as written. The value keeps its quoting and
/// its comment; forms Passage would have to guess at (block or flow values, anchors, a value
/// going on over the next lines, the key twice, which booster's YAML parser refuses) are
/// refused with the reason.
pub fn force_load(text: &str, mods: &[&str]) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut at = None;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('{') || line.starts_with('[') {
            return Err(tr(
                "it is written in YAML's flow style; write it as one key per line",
            ));
        }
        if key_line(line).is_some() {
            if at.is_some() {
                return Err(tr_f("it sets {KEY} twice", &[("KEY", KEY)]));
            }
            at = Some(i);
        }
    }
    let Some(i) = at else {
        let mut out = text.to_string();
        push_line(&mut out, &format!("{KEY}: {}\n", mods.join(",")));
        return Ok(out);
    };
    if lines.get(i + 1).is_some_and(|l| {
        l.starts_with([' ', '\t']) && !l.trim().is_empty() && !l.trim_start().starts_with('#')
    }) {
        return Err(tr_f(
            "its {KEY} value goes on over several lines; write it on one line",
            &[("KEY", KEY)],
        ));
    }
    let line = lines[i];
    let body = line.trim_end_matches(['\n', '\r']);
    let rest = key_line(line).unwrap_or_default();
    let value_at = body.len() - rest.len();
    let new = edit_value(rest, mods)?;
    let mut out: String = lines[..i].concat();
    out.push_str(&body[..value_at]);
    out.push_str(&new);
    out.push_str(&line[body.len()..]);
    out.push_str(&lines[i + 1..].concat());
    Ok(out)
}

/// What follows `modules_force_load:` on a top-level line, `None` for other lines.
fn key_line(line: &str) -> Option<&str> {
    let body = line.trim_end_matches(['\n', '\r']);
    let rest = body.strip_prefix(KEY)?.trim_start_matches([' ', '\t']);
    rest.strip_prefix(':')
        .filter(|r| r.is_empty() || r.starts_with([' ', '\t']))
}

/// The value part of the line (after the colon): its list with `mods` first, same quoting,
/// same trailing comment.
fn edit_value(rest: &str, mods: &[&str]) -> Result<String, String> {
    let lead = &rest[..rest.len() - rest.trim_start().len()];
    let v = rest.trim_start();
    let (quote, inner, tail) = match v.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let close = v[1..]
                .find(q)
                .ok_or_else(|| tr_f("its {KEY} value has no closing quote", &[("KEY", KEY)]))?;
            let inner = &v[1..1 + close];
            if q == '"' && inner.contains('\\') || q == '\'' && v[2 + close..].starts_with('\'') {
                return Err(tr_f(
                    "its {KEY} value has escapes; write the names plainly",
                    &[("KEY", KEY)],
                ));
            }
            (Some(q), inner, &v[2 + close..])
        }
        Some('|' | '>' | '[' | '{' | '&' | '*' | '!') => {
            return Err(tr_f(
                "its {KEY} value is not a plain comma-separated list",
                &[("KEY", KEY)],
            ));
        }
        _ => {
            // A plain scalar ends at ` #` (a comment).
            let end = v.find(" #").or_else(|| v.find("\t#")).unwrap_or(v.len());
            let inner = v[..end].trim_end();
            (None, inner, &v[inner.len()..])
        }
    };
    let cur: Vec<&str> = inner.split(',').filter(|m| !m.trim().is_empty()).collect();
    let mut list: Vec<&str> = mods.to_vec();
    list.extend(
        cur.iter()
            .filter(|c| !mods.iter().any(|m| same_key(c.trim(), m))),
    );
    let list = list.join(",");
    let lead = if lead.is_empty() { " " } else { lead };
    Ok(match quote {
        Some(q) => format!("{lead}{q}{list}{q}{tail}"),
        None => format!("{lead}{list}{tail}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: [&str; 3] = ["vfio_pci", "vfio", "vfio_iommu_type1"];

    #[test]
    fn vfio_goes_first_in_booster_spelling_and_stays_once() {
        let cases = [
            ("universal: false\n", "universal: false\nmodules_force_load: vfio_pci,vfio,vfio_iommu_type1\n"),
            ("universal: false", "universal: false\nmodules_force_load: vfio_pci,vfio,vfio_iommu_type1\n"),
            ("", "modules_force_load: vfio_pci,vfio,vfio_iommu_type1\n"),
            ("modules_force_load: nvme\n", "modules_force_load: vfio_pci,vfio,vfio_iommu_type1,nvme\n"),
            // booster opens `<name>.ko` as written: the dash spelling would not load.
            ("modules_force_load: vfio-pci,zfs # early\n", "modules_force_load: vfio_pci,vfio,vfio_iommu_type1,zfs # early\n"),
            ("modules_force_load: \"nvme,btrfs\"\r\n", "modules_force_load: \"vfio_pci,vfio,vfio_iommu_type1,nvme,btrfs\"\r\n"),
            ("modules_force_load: 'nvme'\n", "modules_force_load: 'vfio_pci,vfio,vfio_iommu_type1,nvme'\n"),
            ("modules_force_load:\nvconsole: true\n", "modules_force_load: vfio_pci,vfio,vfio_iommu_type1\nvconsole: true\n"),
            // The network's keys are indented; only the top-level key counts.
            ("network:\n  modules_force_load: x\n", "network:\n  modules_force_load: x\nmodules_force_load: vfio_pci,vfio,vfio_iommu_type1\n"),
        ];
        for (text, want) in cases {
            let out = force_load(text, &M).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(out, want, "{text:?}");
            assert_eq!(
                force_load(&out, &M).as_deref(),
                Ok(out.as_str()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn forms_passage_would_guess_at_are_refused() {
        for bad in [
            "modules_force_load: a\nmodules_force_load: b\n",
            "modules_force_load: |\n  a,b\n",
            "modules_force_load: [a, b]\n",
            "modules_force_load: a,\n  b\n",
            "modules_force_load: \"a\\x2cb\"\n",
            "modules_force_load: \"a,b\n",
            "{modules_force_load: a}\n",
        ] {
            assert!(force_load(bad, &M).is_err(), "{bad:?}");
        }
    }
}
