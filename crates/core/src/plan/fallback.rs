//! A boot menu entry without GPU passthrough: the way back from a black screen.
//!
//! The change that binds devices to vfio-pci at boot also adds an entry that boots the same
//! kernel with [`SWITCH_OFF`] (and without `vfio-pci.ids=`), so the card keeps its own driver
//! and the desktop comes up; its Undo removes the entry. Each boot loader gets it the way its
//! own tools keep entries:
//! - GRUB: a script in /etc/grub.d that grub-mkconfig runs after the others. It runs the
//!   distribution's own 10_linux with the switch added and keeps its first entry (the newest
//!   kernel, which the default entry boots) under a new title and id, so it follows kernel
//!   updates and the current GRUB_CMDLINE_* by itself. It comes last, so a numeric
//!   GRUB_DEFAULT keeps pointing at the same entry.
//! - rEFInd: one more line in refind_linux.conf, which rEFInd offers for every kernel there.
//! - kernelstub (Pop!_OS): one more loader entry beside `Pop_OS-current.conf`; kernelstub
//!   copies each new kernel to the same file names, so the entry stays in step.
//! - systemd-boot and BLS: a copy of each entry whose kernel path carries no version (Arch's
//!   `/vmlinuz-linux`); entries for versioned kernels are named in a note instead, since a
//!   copy would outlive its kernel.

use crate::host::boot::BootLoaderKind;
use crate::host::kernel::split_cmdline;
use crate::host::Host;
use crate::i18n::{tr, tr_f};
use crate::plan::bootloader::refind_options;
use crate::plan::vfio::SWITCH_OFF;
use crate::plan::{change, push_line, read_text, Change, Plan, PlanError, Step};
use crate::root::Root;

/// GRUB's script; 99 so it runs after every script a distribution or user usually has.
pub const GRUB_SCRIPT: &str = "/etc/grub.d/99_passage_without_vfio";
/// The name part that marks Passage's loader entries and GRUB entry ids (kernel-argument plans
/// skip those entries, so `vfio-pci.ids=` never reaches them).
pub const MARK: &str = "passage-without-vfio";

/// The words a title gets. Not translated: the helper writes the entry (in its own, English
/// process), the boot menu serves every user of the machine, and what the app previews must be
/// the bytes that get written.
fn title_suffix() -> String {
    "without GPU passthrough".into()
}

/// Kernel arguments for the fallback: `args` without vfio-pci.ids= (and any earlier switch),
/// with [`SWITCH_OFF`] at the end.
pub fn fallback_args(args: &str) -> String {
    let mut out: Vec<String> = split_cmdline(args)
        .into_iter()
        .filter(|w| {
            let key = w.split('=').next().unwrap_or("");
            !matches!(key, "vfio-pci.ids" | "vfio_pci.ids" | "passage.vfio")
        })
        .collect();
    out.push(SWITCH_OFF.to_string());
    out.join(" ")
}

/// Plans the fallback entry for `host`'s boot loader; an empty plan with a note where Passage
/// cannot add one (the note says how to boot without passthrough by hand).
pub fn plan(root: &Root, host: &Host) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    let Some(boot) = host.boot.as_ref() else {
        plan.notes.push(by_hand());
        return Ok(plan);
    };
    match boot.kind {
        BootLoaderKind::Grub => {
            if let Some(c) = script_change(
                root,
                GRUB_SCRIPT,
                grub_script(&title_suffix()),
                tr("a boot menu entry without GPU passthrough"),
            )? {
                plan.changes.push(c);
                let regen = boot.regenerate.as_deref().unwrap_or("update-grub");
                plan.steps.push(Step {
                    argv: regen.split_whitespace().map(str::to_string).collect(),
                    summary: tr("Regenerate GRUB's boot menu"),
                    undo: None,
                });
            }
            plan.steps
                .extend(grub_menu_once(root, boot.regenerate.as_deref()));
        }
        BootLoaderKind::Refind => {
            let path = boot.config.as_str();
            let Some((before, text)) = read_text(root, path)? else {
                return Err(PlanError::NoBootLoader);
            };
            let after = refind(&text, &title_suffix()).map_err(|why| PlanError::Unparsable {
                path: path.to_string(),
                why,
            })?;
            plan.changes
                .extend(entry_change(path, Some(&before), after));
        }
        BootLoaderKind::Kernelstub => {
            let esp = kernelstub_esp(root);
            let current = format!("{esp}/loader/entries/Pop_OS-current.conf");
            match read_text(root, &current)? {
                Some((_, text)) => copy_entry(root, &current, &text, &mut plan)?,
                None => plan.notes.push(by_hand()),
            }
        }
        // sdboot-manage removes the entries it did not write each time it runs (its
        // REMOVE_EXISTING): a copy would vanish at the next kernel update.
        BootLoaderKind::SystemdBoot if root.exists(crate::plan::bootloader::SDBOOT_MANAGE) => {
            plan.notes.push(by_hand());
        }
        BootLoaderKind::SystemdBoot | BootLoaderKind::Grubby => {
            copy_unversioned(root, &mut plan)?;
            if systemd_boot_running(root) && !plan.changes.is_empty() {
                plan.steps.push(Step {
                    argv: vec![
                        "bootctl".into(),
                        "set-timeout-oneshot".into(),
                        MENU_SECONDS.into(),
                    ],
                    summary: tr("Show the boot menu at the next start, once (systemd-boot)"),
                    undo: Some(vec![
                        "bootctl".into(),
                        "set-timeout-oneshot".into(),
                        String::new(),
                    ]),
                });
            }
        }
    }
    Ok(plan)
}

/// Copies the loader entries: each whose kernel path has no version, and, where
/// kernel-install writes the entries, the versioned ones too, with [`KERNEL_INSTALL_PLUGIN`]
/// keeping a copy beside each kernel's entry as kernels come and go. A note where there is
/// nothing to copy.
fn copy_unversioned(root: &Root, plan: &mut Plan) -> Result<(), PlanError> {
    let kernel_install = ["/usr/bin/kernel-install", "/bin/kernel-install"]
        .iter()
        .any(|p| root.exists(p));
    let mut versioned = false;
    for dir in super::regen::ESPS.map(|e| format!("{e}/loader/entries")) {
        for name in loader_entries(root, &dir) {
            let path = format!("{dir}/{name}");
            let Some((_, text)) = read_text(root, &path)? else {
                continue;
            };
            let v = is_versioned(&text);
            versioned |= v;
            if !v || kernel_install {
                copy_entry(root, &path, &text, plan)?;
            }
        }
    }
    if versioned && kernel_install {
        plan.changes.extend(script_change(
            root,
            KERNEL_INSTALL_PLUGIN,
            kernel_install_plugin(&title_suffix()),
            tr("keep a boot menu entry without GPU passthrough for each new kernel"),
        )?);
    }
    if plan.changes.is_empty() {
        plan.notes.push(by_hand());
    }
    Ok(())
}

/// A script Passage writes for another tool to run (grub-mkconfig, kernel-install): an
/// executable file, or `None` when it is there already.
pub(crate) fn script_change(
    root: &Root,
    path: &str,
    text: String,
    summary: String,
) -> Result<Option<Change>, PlanError> {
    let before = read_text(root, path)?.map(|b| b.0);
    Ok(
        change(path, before.as_deref(), Some(text.into_bytes()), summary).map(|mut c| {
            c.mode = 0o755;
            c
        }),
    )
}

/// kernel-install's plugin that writes, after the distribution's own (90-loaderentry,
/// Fedora's 20-grub), the copy of each new kernel's entry, and removes it with the kernel.
pub const KERNEL_INSTALL_PLUGIN: &str = "/etc/kernel/install.d/95-passage-without-vfio.install";

/// The plugin: the same copy as [`loader_entry`] makes, in POSIX shell.
pub fn kernel_install_plugin(suffix: &str) -> String {
    let suffix = sh_quote(suffix);
    format!(
        r#"#!/bin/sh
# Written by Passage: beside each kernel's boot entry, the same entry without GPU passthrough
# ({SWITCH_OFF}, no vfio-pci.ids=). Undo it from Passage (History) rather than by hand.
COMMAND="$1" KERNEL_VERSION="$2"
BOOT="${{KERNEL_INSTALL_BOOT_ROOT:-${{3%/*/*}}}}"
TOKEN="${{KERNEL_INSTALL_ENTRY_TOKEN:-$KERNEL_INSTALL_MACHINE_ID}}"
[ -n "$BOOT" ] && [ -n "$TOKEN" ] && [ -n "$KERNEL_VERSION" ] || exit 0
ENTRY="$BOOT/loader/entries/$TOKEN-$KERNEL_VERSION.conf"
COPY="$BOOT/loader/entries/$TOKEN-$KERNEL_VERSION-{MARK}.conf"
SUFFIX={suffix}
case "$COMMAND" in
  remove) rm -f "$COPY"; exit 0 ;;
  add) [ -f "$ENTRY" ] || exit 0 ;;
  *) exit 0 ;;
esac
set -f
trim() {{ t=$1; t=${{t#"${{t%%[! 	]*}}"}}; printf '%s' "${{t%"${{t##*[! 	]}}"}}"; }}
keep() {{
  out=""
  for w in $1; do
    case $w in vfio-pci.ids=*|vfio_pci.ids=*|passage.vfio=*) ;; *) out="$out $w" ;; esac
  done
  printf '%s' "${{out# }}"
}}
titled=0 options=0
cr=$(printf '\r')
{{
  while IFS= read -r line || [ -n "$line" ]; do
    line=${{line%"$cr"}}
    key=$(trim "$line"); key=${{key%%[ 	]*}}
    rest=$(trim "$line"); rest=$(trim "${{rest#"$key"}}")
    case $key in
      title) printf 'title %s (%s)\n' "$rest" "$SUFFIX"; titled=1 ;;
      options)
        kept=$(keep "$rest")
        if [ $options = 0 ]; then
          printf 'options %s\n' "${{kept:+$kept }}{SWITCH_OFF}"; options=1
        elif [ -n "$kept" ]; then
          printf 'options %s\n' "$kept"
        fi ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$ENTRY"
  [ $options = 1 ] || printf 'options %s\n' {SWITCH_OFF}
}} > "$COPY.tmp" || exit 1
if [ $titled = 0 ]; then
  {{ printf 'title Linux (%s)\n' "$SUFFIX"; cat "$COPY.tmp"; }} > "$COPY.tmp2" && mv "$COPY.tmp2" "$COPY.tmp"
fi
mv "$COPY.tmp" "$COPY"
"#
    )
}

/// How long the boot menu waits, the one time Passage shows it.
const MENU_SECONDS: &str = "10";

/// Whether the firmware says this boot was started by systemd-boot (so bootctl can set its
/// one-shot variables).
fn systemd_boot_running(root: &Root) -> bool {
    crate::host::boot::loader_info(root).is_some_and(|i| i.starts_with("systemd-boot"))
}

/// The grubenv variable that asks for the menu once.
pub const MENU_VAR: &str = "passage_show_menu";

/// GRUB shows its menu at the next start, once: the script's block (see [`grub_script`])
/// reads [`MENU_VAR`] from grubenv and clears it. Set with the distribution's grub-editenv
/// where the grubenv's directory exists; undo unsets it.
fn grub_menu_once(root: &Root, regenerate: Option<&str>) -> Option<Step> {
    let (tool, dir) = if regenerate.is_some_and(|r| r.starts_with("grub2-")) {
        ("grub2-editenv", "/boot/grub2")
    } else {
        ("grub-editenv", "/boot/grub")
    };
    if !root.exists(dir) {
        return None;
    }
    let env = format!("{dir}/grubenv");
    Some(Step {
        argv: vec![
            tool.into(),
            env.clone(),
            "set".into(),
            format!("{MENU_VAR}=1"),
        ],
        summary: tr("Show the boot menu at the next start, once (GRUB)"),
        undo: Some(vec![tool.into(), env, "unset".into(), MENU_VAR.into()]),
    })
}

/// What to do where no entry could be added.
fn by_hand() -> String {
    tr_f("Passage cannot add a boot menu entry without GPU passthrough for this boot loader. If the screen stays black after the restart, edit the boot entry in the boot menu (e in GRUB, e in systemd-boot) and add {switch} to its kernel command line.", &[("switch", SWITCH_OFF)])
}

fn entry_change(path: &str, before: Option<&[u8]>, after: String) -> Option<Change> {
    change(
        path,
        before,
        Some(after.into_bytes()),
        tr("a boot menu entry without GPU passthrough"),
    )
}

/// Loader entry file names in `dir`, sorted, without Passage's own.
pub fn loader_entries(root: &Root, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = root
        .list(dir)
        .into_iter()
        .filter(|n| n.ends_with(".conf") && !n.starts_with('.') && !n.contains(MARK))
        .collect();
    v.sort();
    v
}

/// Whether a loader entry boots a kernel whose file name carries its version (a copy would
/// point at a kernel that package updates remove).
fn is_versioned(entry: &str) -> bool {
    entry.lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("linux")
            && w.next().is_some_and(|p| {
                let name = p.rsplit('/').next().unwrap_or(p);
                name.bytes().any(|b| b.is_ascii_digit())
            })
    })
}

/// The ESP kernelstub writes to (`esp_path` of its configuration), /boot/efi by default.
fn kernelstub_esp(root: &Root) -> String {
    root.read_string("/etc/kernelstub/configuration")
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            ["user", "default"]
                .iter()
                .find_map(|k| v[k]["esp_path"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "/boot/efi".into())
}

/// Adds a copy of the loader entry at `path`: title with the suffix, options through
/// [`fallback_args`], beside it with [`MARK`] in its name.
fn copy_entry(root: &Root, path: &str, text: &str, plan: &mut Plan) -> Result<(), PlanError> {
    let new = entry_path(path);
    let after = loader_entry(text, &title_suffix());
    let before = read_text(root, &new)?.map(|b| b.0);
    plan.changes
        .extend(entry_change(&new, before.as_deref(), after));
    Ok(())
}

/// `…/entries/NAME.conf` → `…/entries/NAME-passage-without-vfio.conf`.
pub fn entry_path(path: &str) -> String {
    let stem = path.strip_suffix(".conf").unwrap_or(path);
    format!("{stem}-{MARK}.conf")
}

/// A loader entry (Boot Loader Specification) turned into its fallback: `title` gains the
/// suffix, `options` lines go through [`fallback_args`] (one is added if there is none), the
/// `version` and `sort-key` stay so the entry sorts next to its original; other lines as is.
pub fn loader_entry(text: &str, suffix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut titled = false;
    let mut options = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim_start();
        let (key, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
        match key {
            "title" => {
                out.push_str(&format!("title {} ({suffix})\n", rest.trim()));
                titled = true;
            }
            "options" if !options => {
                out.push_str(&format!("options {}\n", fallback_args(rest)));
                options = true;
            }
            // Later options lines are appended by the loader; the first one carries them all.
            "options" => {
                let kept = fallback_args(rest);
                let kept = kept.trim_end_matches(SWITCH_OFF).trim_end();
                if !kept.is_empty() {
                    out.push_str(&format!("options {kept}\n"));
                }
            }
            _ => {
                out.push_str(body);
                out.push('\n');
            }
        }
    }
    if !titled {
        out.insert_str(0, &format!("title Linux ({suffix})\n"));
    }
    if !options {
        push_line(&mut out, &format!("options {SWITCH_OFF}\n"));
    }
    out
}

/// refind_linux.conf with one more line: the first line's options through [`fallback_args`],
/// titled with the suffix. rEFInd boots the first line by default, so the new line goes last;
/// Passage's line is the one holding the switch.
pub fn refind(text: &str, suffix: &str) -> Result<String, String> {
    let mut first: Option<String> = None;
    let mut out = String::with_capacity(text.len() + 96);
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.contains(SWITCH_OFF) {
            continue; // Passage's earlier line: replaced below.
        }
        out.push_str(line);
        if first.is_none() && !t.is_empty() && !t.starts_with('#') {
            let (s, e) = refind_options(t)
                .ok_or_else(|| tr("its first line is not of the form \"title\" \"options\""))?;
            first = Some(t[s..e].to_string());
        }
    }
    let opts = first.ok_or_else(|| tr("it has no boot line"))?;
    push_line(
        &mut out,
        &format!(
            "\"Boot {suffix} (Passage)\" \"{}\"\n",
            fallback_args(&opts).replace('"', "")
        ),
    );
    Ok(out)
}

/// Quotes for GRUB's menu syntax inside single quotes (what grub-mkconfig_lib's grub_quote does).
fn grub_quote(s: &str) -> String {
    s.replace('\'', "'\\''")
}

/// Quotes for a POSIX shell word.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The /etc/grub.d script. It runs the distribution's 10_linux (next to itself) with the
/// switch on GRUB_CMDLINE_LINUX_DEFAULT and vfio-pci.ids= left out of both command lines,
/// and prints its first menu entry with the title suffix and a `passage-without-vfio-` id.
pub fn grub_script(suffix: &str) -> String {
    let suffix = sh_quote(&format!(", {}", grub_quote(suffix)));
    format!(
        r#"#!/bin/sh
# Written by Passage: a boot menu entry for the newest kernel without GPU passthrough. It boots
# with {SWITCH_OFF}, so the devices Passage binds to vfio-pci at boot keep their own drivers
# (and vfio-pci.ids= is left out). Undo it from Passage (History) rather than by hand.
set -e
linux="${{0%/*}}/10_linux"
[ -x "$linux" ] || exit 0
set -f
keep() {{
  out=""
  for w in $1; do
    case $w in vfio-pci.ids=*|vfio_pci.ids=*|passage.vfio=*) ;; *) out="$out $w" ;; esac
  done
  printf '%s' "${{out# }}"
}}
GRUB_CMDLINE_LINUX=$(keep "$GRUB_CMDLINE_LINUX")
GRUB_CMDLINE_LINUX_DEFAULT="$(keep "$GRUB_CMDLINE_LINUX_DEFAULT") {SWITCH_OFF}"
PASSAGE_SUFFIX={suffix}
export GRUB_CMDLINE_LINUX GRUB_CMDLINE_LINUX_DEFAULT PASSAGE_SUFFIX
"$linux" 2>/dev/null | awk '
  !on && /^menuentry '\''/ {{
    on = 1; s = substr($0, 12); t = ""
    while ((i = index(s, "'\''")) > 0) {{
      if (substr(s, i, 4) == "'\''\\'\'''\''") {{ t = t substr(s, 1, i + 3); s = substr(s, i + 4); continue }}
      t = t substr(s, 1, i - 1); s = substr(s, i); break
    }}
    sub(/\$menuentry_id_option '\''/, "$menuentry_id_option '\''{MARK}-", s)
    print "menuentry '\''" t ENVIRON["PASSAGE_SUFFIX"] s
    next
  }}
  on {{ print }}
  on && /^}}/ {{ exit }}
'
# Once after Passage's change the menu shows (at least {MENU_SECONDS} seconds) and the request is
# cleared, so later starts are as before. grub.cfg sets the timeout before this runs.
cat <<'END'
if [ -n "${{{MENU_VAR}}}" ]; then
  set {MENU_VAR}=
  save_env {MENU_VAR}
  set timeout_style=menu
  if [ "${{timeout}}" != "-1" ]; then
    if [ "${{timeout}}" -lt {MENU_SECONDS} ]; then
      set timeout={MENU_SECONDS}
    fi
  fi
fi
END
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_args_drop_vfio_ids_and_add_the_switch_once() {
        assert_eq!(
            fallback_args(
                "root=UUID=x ro quiet intel_iommu=on vfio-pci.ids=10de:1b80 passage.vfio=off"
            ),
            "root=UUID=x ro quiet intel_iommu=on passage.vfio=off"
        );
        assert_eq!(fallback_args(""), "passage.vfio=off");
    }

    #[test]
    fn loader_entries_keep_their_lines_and_gain_title_and_switch() {
        let e = "title   Arch Linux\nlinux   /vmlinuz-linux\ninitrd  /initramfs-linux.img\noptions root=PARTUUID=9b ro quiet vfio-pci.ids=1:2\n";
        assert_eq!(
            loader_entry(e, "without GPU passthrough"),
            "title Arch Linux (without GPU passthrough)\nlinux   /vmlinuz-linux\ninitrd  /initramfs-linux.img\noptions root=PARTUUID=9b ro quiet passage.vfio=off\n"
        );
        assert!(!is_versioned(e));
        assert!(is_versioned("linux /vmlinuz-6.8.5-301.fc40.x86_64\n"));
        assert_eq!(
            entry_path("/boot/loader/entries/arch.conf"),
            "/boot/loader/entries/arch-passage-without-vfio.conf"
        );
    }

    #[test]
    fn refind_gets_one_more_line_last() {
        let t = "\"Boot with standard options\"  \"ro root=UUID=1 quiet vfio-pci.ids=1:2\"\n\"Boot to single-user mode\"    \"ro root=UUID=1 single\"\n";
        let out = refind(t, "without GPU passthrough").unwrap();
        assert_eq!(
            out,
            format!("{t}\"Boot without GPU passthrough (Passage)\" \"ro root=UUID=1 quiet passage.vfio=off\"\n")
        );
        assert_eq!(refind(&out, "without GPU passthrough").unwrap(), out);
        assert!(refind("# nothing\n", "x").is_err());
    }
}
