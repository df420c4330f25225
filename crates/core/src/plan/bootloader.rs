//! Kernel arguments in each boot loader's own configuration, other lines untouched.

use crate::host::boot::BootLoaderKind;
use crate::host::kernel::{same_key, split_cmdline};
use crate::host::Host;
use crate::i18n::{tr, tr_f};
use crate::plan::args::{edit, Arg};
use crate::plan::regen::ESPS;
use crate::plan::{change, push_line, read_text, with_drop_ins, Plan, PlanError, Step};
use crate::root::Root;

/// Plans adding `add` and removing `remove` with the boot loader `host` uses.
pub fn plan(root: &Root, host: &Host, add: &[Arg], remove: &[String]) -> Result<Plan, PlanError> {
    let boot = host.boot.as_ref().ok_or(PlanError::NoBootLoader)?;
    let what = describe(add, remove);
    let mut plan = Plan::default();
    match boot.kind {
        BootLoaderKind::Grub => {
            // grub-mkconfig sources /etc/default/grub.d/*.cfg after /etc/default/grub.
            let files = with_drop_ins(root, "/etc/default/grub", "/etc/default/grub.d", ".cfg")?
                .ok_or(PlanError::NoBootLoader)?;
            let texts: Vec<String> = files.iter().map(|f| f.2.clone()).collect();
            let after = grub_files(&texts, add, remove, true)
                .map_err(|(i, why)| unparsable(&files[i].0, why))?;
            let before = plan.changes.len();
            for ((path, bytes, _), after) in files.iter().zip(after) {
                plan.changes.extend(change(
                    path,
                    Some(bytes),
                    Some(after.into_bytes()),
                    what.clone(),
                ));
            }
            if plan.changes.len() > before {
                let regen = boot
                    .regenerate
                    .clone()
                    .unwrap_or_else(|| "update-grub".into());
                plan.steps.push(Step {
                    argv: regen.split_whitespace().map(str::to_string).collect(),
                    summary: tr("Regenerate GRUB's boot menu"),
                    undo: None,
                });
            }
        }
        BootLoaderKind::Grubby => {
            // What `grubby --update-kernel=ALL --args/--remove-args` does, as file edits that
            // undo exactly: GRUB_CMDLINE_LINUX for future kernels, every BLS entry, and
            // /etc/kernel/cmdline where kernel-install reads it.
            if let Some((before, text)) = read_text(root, "/etc/default/grub")? {
                let after = grub(&text, add, remove, false)
                    .map_err(|why| unparsable("/etc/default/grub", why))?;
                plan.changes.extend(change(
                    "/etc/default/grub",
                    Some(&before),
                    Some(after.into_bytes()),
                    what.clone(),
                ));
            }
            entries(root, "/boot/loader/entries", add, remove, &what, &mut plan)?;
            kernelopts(root, add, remove, &what, &mut plan)?;
            cmdline_file(root, add, remove, &what, &mut plan)?;
        }
        BootLoaderKind::SystemdBoot if root.exists(SDBOOT_MANAGE) => {
            // EndeavourOS, CachyOS, Manjaro: sdboot-manage writes every entry again from
            // LINUX_OPTIONS (at each kernel update too), so the change goes there.
            let Some((before, text)) = read_text(root, SDBOOT_MANAGE)? else {
                return Err(PlanError::NoBootLoader);
            };
            let after = shell_var(&text, "LINUX_OPTIONS", add, remove)
                .map_err(|why| unparsable(SDBOOT_MANAGE, why))?;
            if let Some(c) = change(
                SDBOOT_MANAGE,
                Some(&before),
                Some(after.into_bytes()),
                what.clone(),
            ) {
                plan.changes.push(c);
                plan.steps.push(Step::new(
                    &["sdboot-manage", "gen"],
                    &tr("Write the boot entries again (sdboot-manage)"),
                ));
            }
        }
        BootLoaderKind::SystemdBoot => {
            cmdline_file(root, add, remove, &what, &mut plan)?;
            let has_entries = has_loader_entries(root);
            if !root.exists(CMDLINE) && !has_entries {
                cmdline_from_vendor(root, add, remove, &what, &mut plan)?;
            }
            let cmdline_changed = !plan.changes.is_empty();
            for esp in ESPS {
                entries(
                    root,
                    &format!("{esp}/loader/entries"),
                    add,
                    remove,
                    &what,
                    &mut plan,
                )?;
            }
            if cmdline_changed {
                // Entries Passage edits (or that had the change already) boot with it.
                plan.steps
                    .extend(super::regen::cmdline_steps(root, has_entries)?);
            }
        }
        BootLoaderKind::Kernelstub => {
            let path = "/etc/kernelstub/configuration";
            let Some((before, text)) = read_text(root, path)? else {
                return Err(PlanError::NoBootLoader);
            };
            let after = kernelstub(&text, add, remove).map_err(|why| unparsable(path, why))?;
            if let Some(c) = change(path, Some(&before), Some(after.into_bytes()), what.clone()) {
                plan.changes.push(c);
                plan.steps.push(Step::new(
                    &["kernelstub"],
                    &tr("Write the boot entry from kernelstub's configuration"),
                ));
            }
        }
        BootLoaderKind::Refind => {
            let path = boot.config.as_str();
            let Some((before, text)) = read_text(root, path)? else {
                return Err(PlanError::NoBootLoader);
            };
            let after = refind(&text, add, remove).map_err(|why| unparsable(path, why))?;
            plan.changes.extend(change(
                path,
                Some(&before),
                Some(after.into_bytes()),
                what.clone(),
            ));
        }
    }
    // Each file says what it really gains: an argument it holds already is not "added".
    for c in &mut plan.changes {
        c.summary = describe_change(c.before.as_deref(), c.after.as_deref(), add, remove);
    }
    Ok(plan)
}

fn unparsable(path: &str, why: String) -> PlanError {
    PlanError::Unparsable {
        path: path.to_string(),
        why,
    }
}

fn describe(add: &[Arg], remove: &[String]) -> String {
    let mut parts = Vec::new();
    if !add.is_empty() {
        parts.push(tr_f(
            "kernel arguments: add {args}",
            &[(
                "args",
                &add.iter().map(Arg::to_string).collect::<Vec<_>>().join(" "),
            )],
        ));
    }
    if !remove.is_empty() {
        parts.push(tr_f("remove {args}", &[("args", &remove.join(" "))]));
    }
    parts.join("; ")
}

/// What one file's edit does to its kernel arguments: only the arguments whose key gains a
/// word the file did not hold (a switch merged into its options counts), and only the keys it
/// held and no longer does; the requested ones it holds already are named as such.
fn describe_change(
    before: Option<&[u8]>,
    after: Option<&[u8]>,
    add: &[Arg],
    remove: &[String],
) -> String {
    let before = words(before);
    let after = words(after);
    let count = |ws: &[String], w: &str| ws.iter().filter(|x| *x == w).count();
    let gains = |key: &str| {
        after
            .iter()
            .any(|w| same_key(key_of(w), key) && count(&after, w) > count(&before, w))
    };
    let (added, kept): (Vec<&Arg>, Vec<&Arg>) = add.iter().partition(|a| gains(&a.key));
    let removed: Vec<&String> = remove
        .iter()
        .filter(|k| has_key(&before, k) && !has_key(&after, k))
        .collect();
    let list = |v: Vec<String>| v.join(" ");
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(tr_f(
            "kernel arguments: add {args}",
            &[("args", &list(added.iter().map(|a| a.to_string()).collect()))],
        ));
    }
    if !removed.is_empty() {
        parts.push(tr_f(
            "remove {args}",
            &[(
                "args",
                &list(removed.iter().map(|k| k.to_string()).collect()),
            )],
        ));
    }
    if parts.is_empty() {
        return describe(add, remove);
    }
    if !added.is_empty() && !kept.is_empty() {
        parts.push(tr_f(
            "{args} already there",
            &[("args", &list(kept.iter().map(|a| a.to_string()).collect()))],
        ));
    }
    parts.join("; ")
}

/// The words of a boot loader file as its command lines hold them: split at whitespace, quotes
/// and JSON's brackets, a list's trailing comma dropped (an argument's own commas kept).
fn words(text: Option<&[u8]>) -> Vec<String> {
    let text = String::from_utf8_lossy(text.unwrap_or_default());
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']'))
        .map(|w| w.trim_end_matches(','))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits arguments for editing. An unbalanced quote would swallow whatever Passage appends,
/// so such a line is refused rather than edited.
fn tokens(s: &str) -> Result<Vec<String>, String> {
    if s.matches('"').count() % 2 == 1 {
        return Err(tr(
            "the arguments have an unbalanced quote (\"); fix it by hand first",
        ));
    }
    Ok(split_cmdline(s))
}

fn key_of(tok: &str) -> &str {
    tok.split_once('=').map(|(k, _)| k).unwrap_or(tok)
}

fn has_key(tokens: &[String], key: &str) -> bool {
    tokens.iter().any(|t| same_key(key_of(t), key))
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    Double,
    Single,
    Bare,
}

/// A shell assignment `VAR=value` in a file: where its value is and what it holds.
struct Assign {
    start: usize,
    end: usize,
    quote: Quote,
    tokens: Vec<String>,
}

/// The last (effective) assignment of `var` in a shell-style file such as /etc/default/grub.
fn find_assign(text: &str, var: &str) -> Result<Option<Assign>, String> {
    let mut found = None;
    let mut offset = 0;
    let mut skip_until = 0; // inside a multi-line value found earlier
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if line_start < skip_until {
            continue;
        }
        let trimmed = line.trim_start();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some(rest) = body.strip_prefix(var).and_then(|r| r.strip_prefix('=')) else {
            continue;
        };
        let start = line_start + (line.len() - rest.len());
        let (end, quote, inner) = match rest.as_bytes().first() {
            Some(b'"') => {
                let bytes = text.as_bytes();
                let mut i = start + 1;
                let mut close = None;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            close = Some(i);
                            break;
                        }
                        _ => i += 1,
                    }
                }
                let close = close.ok_or_else(|| {
                    tr_f(
                        "the quote opened by {var}= is never closed",
                        &[("var", var)],
                    )
                })?;
                (
                    close + 1,
                    Quote::Double,
                    text[start + 1..close].replace("\\\n", " "),
                )
            }
            Some(b'\'') => {
                let close = text[start + 1..]
                    .find('\'')
                    .map(|i| start + 1 + i)
                    .ok_or_else(|| {
                        tr_f(
                            "the quote opened by {var}= is never closed",
                            &[("var", var)],
                        )
                    })?;
                (close + 1, Quote::Single, text[start + 1..close].to_string())
            }
            _ => {
                let len = rest
                    .find(|c: char| c.is_whitespace() || c == ';' || c == '#')
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                // A bare word with shell quoting or expansion in it is not a plain value.
                if word.contains(['"', '\'', '\\', '$']) {
                    return Err(tr_f("{var} mixes quoting or expansion into an unquoted value; put its value in double quotes and try again", &[("var", var)]));
                }
                (start + len, Quote::Bare, word.to_string())
            }
        };
        if inner.contains('`') || inner.contains("$(") {
            return Err(tr_f(
                "{var} is computed by a command; edit it by hand",
                &[("var", var)],
            ));
        }
        skip_until = end;
        found = Some(Assign {
            start,
            end,
            quote,
            tokens: tokens(&inner)?,
        });
    }
    Ok(found)
}

fn render(quote: Quote, tokens: &[String]) -> String {
    let inner = tokens.join(" ");
    match quote {
        Quote::Single => format!("'{inner}'"),
        // A bare value that now holds spaces needs quotes.
        Quote::Double | Quote::Bare => format!("\"{inner}\""),
    }
}

/// Edits /etc/default/grub. `prefer_default`: new arguments go to GRUB_CMDLINE_LINUX_DEFAULT
/// when the file has it (normal boots, not recovery), else to GRUB_CMDLINE_LINUX. Arguments
/// already in either variable are replaced or removed where they are.
pub fn grub(
    text: &str,
    add: &[Arg],
    remove: &[String],
    prefer_default: bool,
) -> Result<String, String> {
    let mut out =
        grub_files(&[text.to_string()], add, remove, prefer_default).map_err(|(_, why)| why)?;
    Ok(out.pop().unwrap_or_default())
}

const GRUB_DEF: &str = "GRUB_CMDLINE_LINUX_DEFAULT";
const GRUB_ALL: &str = "GRUB_CMDLINE_LINUX";

/// The assignments of `var` whose value reaches grub.cfg, as `(file, assignment)`, first to
/// last: the last one read, and before it each one the later value expands (`"$VAR …"`).
fn grub_chain(files: &[String], var: &str) -> Result<Vec<(usize, Assign)>, (usize, String)> {
    let mut all = Vec::new();
    for (i, text) in files.iter().enumerate() {
        if let Some(a) = find_assign(text, var).map_err(|why| (i, why))? {
            all.push((i, a));
        }
    }
    let expands = |a: &Assign| {
        a.tokens
            .iter()
            .any(|t| t == &format!("${var}") || t == &format!("${{{var}}}"))
    };
    let mut keep = all.len().saturating_sub(1);
    while keep > 0 && expands(&all[keep].1) {
        keep -= 1;
    }
    Ok(all.split_off(keep))
}

/// Edits /etc/default/grub and the drop-ins grub-mkconfig reads after it
/// (`/etc/default/grub.d/*.cfg`), given as texts in reading order. A variable's effective
/// assignment is the last one read, so a drop-in that sets GRUB_CMDLINE_LINUX_DEFAULT again
/// (Ubuntu's cloud images) is where new arguments go; arguments are replaced or removed in
/// every assignment whose value still reaches grub.cfg. Errors name the file's index.
pub fn grub_files(
    files: &[String],
    add: &[Arg],
    remove: &[String],
    prefer_default: bool,
) -> Result<Vec<String>, (usize, String)> {
    let def = grub_chain(files, GRUB_DEF)?;
    let all = grub_chain(files, GRUB_ALL)?;
    let present = |k: &str| def.iter().chain(&all).any(|(_, a)| has_key(&a.tokens, k));
    let missing: Vec<Arg> = add.iter().filter(|a| !present(&a.key)).cloned().collect();
    let target_def = prefer_default && !def.is_empty();
    let mut edits: Vec<(usize, usize, usize, String)> = Vec::new();
    let mut appended: Option<String> = None;
    for (var, chain, is_target) in [(GRUB_DEF, &def, target_def), (GRUB_ALL, &all, !target_def)] {
        for (n, (file, a)) in chain.iter().enumerate() {
            let here: Vec<Arg> = add
                .iter()
                .filter(|x| has_key(&a.tokens, &x.key))
                .cloned()
                .collect();
            let mut toks = edit(&a.tokens, &here, remove);
            if is_target && n + 1 == chain.len() {
                toks = edit(&toks, &missing, &[]);
            }
            if toks != a.tokens {
                edits.push((*file, a.start, a.end, render(a.quote, &toks)));
            }
        }
        if is_target && chain.is_empty() && !missing.is_empty() {
            let toks: Vec<String> = missing.iter().map(Arg::to_string).collect();
            appended = Some(format!("{var}={}\n", render(Quote::Double, &toks)));
        }
    }
    // Edit from the end of each file backwards so earlier offsets stay valid.
    edits.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
    let mut out = files.to_vec();
    for (file, s, e, v) in edits {
        out[file].replace_range(s..e, &v);
    }
    if let (Some(line), Some(first)) = (appended, out.first_mut()) {
        push_line(first, &line);
    }
    Ok(out)
}

/// sdboot-manage's configuration (systemd-boot-manager), sourced by bash.
pub const SDBOOT_MANAGE: &str = "/etc/sdboot-manage.conf";

/// A bash-sourced configuration's `VAR="…"` (sdboot-manage's LINUX_OPTIONS): its assignment
/// edited in place with its quoting, or one added when there is none and `add` is not empty.
pub fn shell_var(text: &str, var: &str, add: &[Arg], remove: &[String]) -> Result<String, String> {
    match find_assign(text, var)? {
        Some(a) => {
            let toks = edit(&a.tokens, add, remove);
            let mut out = text.to_string();
            if toks != a.tokens {
                out.replace_range(a.start..a.end, &render(a.quote, &toks));
            }
            Ok(out)
        }
        None if add.is_empty() => Ok(text.to_string()),
        None => {
            let toks: Vec<String> = add.iter().map(Arg::to_string).collect();
            let mut out = text.to_string();
            push_line(
                &mut out,
                &format!("{var}={}\n", render(Quote::Double, &toks)),
            );
            Ok(out)
        }
    }
}

/// Edits the `options` line of a Boot Loader Specification entry.
pub fn bls_entry(text: &str, add: &[Arg], remove: &[String]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut seen = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if let Some(rest) = body
            .strip_prefix("options")
            .filter(|r| r.starts_with([' ', '\t']))
        {
            if rest.contains("$kernelopts") {
                // The line is in grubenv (see kernelopts); the entry stays as it is.
                out.push_str(line);
                seen = true;
                continue;
            }
            seen = true;
            let toks = tokens(rest)?;
            let new = edit(&toks, add, remove);
            if new == toks {
                out.push_str(line);
            } else {
                out.push_str("options ");
                out.push_str(&new.join(" "));
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
        } else {
            out.push_str(line);
        }
    }
    if !seen && !add.is_empty() {
        push_line(
            &mut out,
            &format!(
                "options {}\n",
                add.iter().map(Arg::to_string).collect::<Vec<_>>().join(" ")
            ),
        );
    }
    Ok(out)
}

fn entries(
    root: &Root,
    dir: &str,
    add: &[Arg],
    remove: &[String],
    what: &str,
    plan: &mut Plan,
) -> Result<(), PlanError> {
    // Passage's entries without passthrough keep their own arguments (no vfio-pci.ids=).
    for f in root
        .list(dir)
        .into_iter()
        .filter(|f| f.ends_with(".conf") && !f.contains(super::fallback::MARK))
    {
        let path = format!("{dir}/{f}");
        let Some((before, text)) = read_text(root, &path)? else {
            continue;
        };
        let after = bls_entry(&text, add, remove).map_err(|why| unparsable(&path, why))?;
        plan.changes.extend(change(
            &path,
            Some(&before),
            Some(after.into_bytes()),
            what.to_string(),
        ));
    }
    Ok(())
}

/// Fedora 30–33 and RHEL 8: BLS entries whose options are `$kernelopts` boot with the value in
/// grubenv, which is edited as `grub2-editenv - set kernelopts=…` (what grubby runs) would.
fn kernelopts(
    root: &Root,
    add: &[Arg],
    remove: &[String],
    what: &str,
    plan: &mut Plan,
) -> Result<(), PlanError> {
    let dir = "/boot/loader/entries";
    let uses = root.list(dir).iter().any(|f| {
        root.read_string(&format!("{dir}/{f}"))
            .is_some_and(|t| t.contains("$kernelopts"))
    });
    if !uses {
        return Ok(());
    }
    let path = super::grubenv::resolve(root).ok_or_else(|| {
        unparsable(
            super::grubenv::PATH,
            tr("the BLS entries take their options from $kernelopts, and there is no grubenv that holds it"),
        )
    })?;
    let Some(before) = super::read(root, &path)? else {
        return Err(PlanError::NoBootLoader);
    };
    let vars = super::grubenv::vars(&before)
        .ok_or_else(|| unparsable(&path, tr("it is not a GRUB environment block")))?;
    let (_, value) = vars
        .iter()
        .find(|(k, _)| k == "kernelopts")
        .ok_or_else(|| unparsable(&path, tr("it has no kernelopts")))?;
    let toks = tokens(value).map_err(|why| unparsable(&path, why))?;
    let new = edit(&toks, add, remove);
    if new == toks {
        return Ok(());
    }
    let after = super::grubenv::set(&before, "kernelopts", &new.join(" "))
        .map_err(|why| unparsable(&path, why))?;
    plan.changes
        .extend(change(&path, Some(&before), Some(after), what.to_string()));
    Ok(())
}

const CMDLINE: &str = "/etc/kernel/cmdline";
const VENDOR_CMDLINE: &str = "/usr/lib/kernel/cmdline";

/// Whether any ESP holds systemd-boot loader entries (type 1).
fn has_loader_entries(root: &Root) -> bool {
    ESPS.iter().any(|esp| {
        !super::fallback::loader_entries(root, &format!("{esp}/loader/entries")).is_empty()
    })
}

/// systemd-boot with neither /etc/kernel/cmdline nor a loader entry to edit (unified kernel
/// images): kernel-install takes the line from /etc/kernel/cmdline, else
/// /usr/lib/kernel/cmdline, else the running kernel's /proc/cmdline. From the vendor's file
/// Passage writes /etc/kernel/cmdline with the change; /proc/cmdline may hold one boot's
/// arguments, so there it asks for the file instead of guessing.
fn cmdline_from_vendor(
    root: &Root,
    add: &[Arg],
    remove: &[String],
    what: &str,
    plan: &mut Plan,
) -> Result<(), PlanError> {
    let Some((_, text)) = read_text(root, VENDOR_CMDLINE)? else {
        return Err(PlanError::Regenerate(crate::i18n::tr_f(
            "systemd-boot starts this host with no loader entry Passage can edit (unified kernel images?) and there is no {file}, so kernel-install takes the arguments from the running kernel; Passage will not guess them: write your kernel arguments into {file} (see /proc/cmdline) and plan again",
            &[("file", CMDLINE)],
        )));
    };
    let after =
        kernel_cmdline(&text, add, remove).map_err(|why| unparsable(VENDOR_CMDLINE, why))?;
    if after != text {
        plan.changes.extend(change(
            CMDLINE,
            None,
            Some(after.into_bytes()),
            what.to_string(),
        ));
    }
    Ok(())
}

/// /etc/kernel/cmdline (kernel-install): one line of arguments.
fn cmdline_file(
    root: &Root,
    add: &[Arg],
    remove: &[String],
    what: &str,
    plan: &mut Plan,
) -> Result<(), PlanError> {
    let path = CMDLINE;
    let Some((before, text)) = read_text(root, path)? else {
        return Ok(());
    };
    let after = kernel_cmdline(&text, add, remove).map_err(|why| unparsable(path, why))?;
    if after != text {
        plan.changes.extend(change(
            path,
            Some(&before),
            Some(after.into_bytes()),
            what.to_string(),
        ));
    }
    Ok(())
}

/// /etc/kernel/cmdline as kernel-install reads it: every line's words joined, so the file may
/// hold its arguments on several lines. Lines keep their place and lines Passage does not
/// change keep their bytes; a key is replaced on the line that holds it (later occurrences on
/// any line dropped), and a new key goes at the end of the last line with arguments.
pub fn kernel_cmdline(text: &str, add: &[Arg], remove: &[String]) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let old: Vec<Vec<String>> = lines.iter().map(|l| tokens(l)).collect::<Result<_, _>>()?;
    let mut new: Vec<Vec<String>> = old.iter().map(|t| edit(t, &[], remove)).collect();
    for a in add {
        let holder = new.iter().position(|t| has_key(t, &a.key));
        let target = holder
            .or_else(|| new.iter().rposition(|t| !t.is_empty()))
            .unwrap_or(0);
        for (i, toks) in new.iter_mut().enumerate() {
            if i == target {
                *toks = edit(toks, std::slice::from_ref(a), &[]);
            } else if holder.is_some() {
                toks.retain(|t| !same_key(key_of(t), &a.key));
            }
        }
    }
    if new.is_empty() {
        new.push(edit(&[], add, &[]));
    }
    let mut out = String::with_capacity(text.len() + 64);
    for (i, toks) in new.iter().enumerate() {
        match (lines.get(i), old.get(i)) {
            (Some(line), Some(o)) if o == toks => out.push_str(line),
            (line, _) => {
                out.push_str(&toks.join(" "));
                if line.is_none_or(|l| l.ends_with('\n')) {
                    out.push('\n');
                }
            }
        }
    }
    Ok(out)
}

/// kernelstub's JSON: the `user` profile's `kernel_options`, written back the way kernelstub
/// writes it (two-space indent, keys in their order).
pub fn kernelstub(text: &str, add: &[Arg], remove: &[String]) -> Result<String, String> {
    let mut v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| tr_f("not valid JSON: {e}", &[("e", &e.to_string())]))?;
    let opts = v
        .get_mut("user")
        .and_then(|u| u.get_mut("kernel_options"))
        .ok_or_else(|| tr("it has no user.kernel_options"))?;
    // Older kernelstub wrote the options as one string; kernelstub still reads that form.
    let toks: Vec<String> = match &*opts {
        serde_json::Value::String(line) => tokens(line)?,
        serde_json::Value::Array(list) => list
            .iter()
            .map(|o| o.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| tr("user.kernel_options holds something other than strings"))?,
        _ => return Err(tr("user.kernel_options is neither a list nor a string")),
    };
    let new = edit(&toks, add, remove);
    if new == toks {
        return Ok(text.to_string());
    }
    *opts = if opts.is_string() {
        serde_json::Value::String(new.join(" "))
    } else {
        new.into_iter().map(serde_json::Value::String).collect()
    };
    let mut s = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    if text.ends_with('\n') {
        s.push('\n');
    }
    Ok(s)
}

/// refind_linux.conf: `"title"  "options"` per line; the options of every line are edited.
/// Where the options of a refind_linux.conf line are: two quoted fields, the title, then the
/// options (the byte range between the second field's quotes).
pub fn refind_options(line: &str) -> Option<(usize, usize)> {
    let quotes: Vec<usize> = line.match_indices('"').map(|(i, _)| i).collect();
    (quotes.len() >= 4).then(|| (quotes[2] + 1, quotes[3]))
}

pub fn refind(text: &str, add: &[Arg], remove: &[String]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches('\n');
        let t = body.trim_start();
        // Comments, and Passage's line without passthrough (it keeps its own arguments).
        if t.is_empty() || t.starts_with('#') || t.contains(super::vfio::SWITCH_OFF) {
            out.push_str(line);
            continue;
        }
        let (os, oe) = refind_options(body).ok_or_else(|| {
            tr_f(
                "line {n} is not of the form \"title\" \"options\"",
                &[("n", &(n + 1).to_string())],
            )
        })?;
        let toks = tokens(&body[os..oe])?;
        let new = edit(&toks, add, remove);
        out.push_str(&body[..os]);
        out.push_str(&if new == toks {
            body[os..oe].to_string()
        } else {
            new.join(" ")
        });
        out.push_str(&body[oe..]);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::args::parse_allowed;

    fn a(s: &str) -> Arg {
        parse_allowed(s).unwrap()
    }

    #[test]
    fn kernel_cmdline_keeps_its_lines() {
        let t = "root=UUID=1 rw\nquiet  splash intel_iommu=off\n\n";
        let out = kernel_cmdline(t, &[a("iommu=pt"), a("intel_iommu=on")], &[]).unwrap();
        assert_eq!(
            out,
            "root=UUID=1 rw\nquiet splash intel_iommu=on iommu=pt\n\n"
        );
        assert_eq!(
            kernel_cmdline(&out, &[a("iommu=pt"), a("intel_iommu=on")], &[]).unwrap(),
            out
        );
        // A key on an earlier line is replaced there; a later copy on any line goes.
        let t = "iommu=nopt rw\nquiet iommu=off";
        assert_eq!(
            kernel_cmdline(t, &[a("iommu=pt")], &[]).unwrap(),
            "iommu=pt rw\nquiet"
        );
        assert_eq!(
            kernel_cmdline(t, &[], &["iommu".into()]).unwrap(),
            "rw\nquiet"
        );
        assert_eq!(
            kernel_cmdline("", &[a("iommu=pt")], &[]).unwrap(),
            "iommu=pt\n"
        );
    }

    #[test]
    fn grub_keeps_quoting_comments_and_other_lines() {
        let t = "# comment GRUB_CMDLINE_LINUX_DEFAULT=\"no\"\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash' # trailing\nGRUB_CMDLINE_LINUX=\"\"\n";
        let out = grub(t, &[a("intel_iommu=on"), a("iommu=pt")], &[], true).unwrap();
        assert_eq!(out, "# comment GRUB_CMDLINE_LINUX_DEFAULT=\"no\"\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash intel_iommu=on iommu=pt' # trailing\nGRUB_CMDLINE_LINUX=\"\"\n");
        assert_eq!(
            grub(&out, &[a("intel_iommu=on"), a("iommu=pt")], &[], true).unwrap(),
            out,
            "idempotent"
        );
    }

    #[test]
    fn grub_replaces_where_the_argument_is_and_handles_bare_and_continued_values() {
        let t =
            "GRUB_CMDLINE_LINUX_DEFAULT=quiet\nGRUB_CMDLINE_LINUX=\"rhgb \\\n intel_iommu=off\"\n";
        let out = grub(t, &[a("intel_iommu=on")], &[], true).unwrap();
        assert_eq!(
            out,
            "GRUB_CMDLINE_LINUX_DEFAULT=quiet\nGRUB_CMDLINE_LINUX=\"rhgb intel_iommu=on\"\n"
        );
        let out = grub(t, &[a("iommu=pt")], &["intel_iommu".into()], true).unwrap();
        assert_eq!(
            out,
            "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\nGRUB_CMDLINE_LINUX=\"rhgb\"\n"
        );
    }

    #[test]
    fn grub_last_assignment_wins_and_missing_variables_are_added() {
        let t = "GRUB_CMDLINE_LINUX=\"a=1\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX quiet\"\n";
        let out = grub(t, &[a("iommu=pt")], &[], true).unwrap();
        assert_eq!(out, "GRUB_CMDLINE_LINUX=\"a=1\"\nGRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX quiet iommu=pt\"\n");
        let out = grub("GRUB_TIMEOUT=5", &[a("iommu=pt")], &[], true).unwrap();
        assert_eq!(out, "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"iommu=pt\"\n");
        assert!(grub(
            "GRUB_CMDLINE_LINUX=\"$(cat /x)\"\n",
            &[a("iommu=pt")],
            &[],
            true
        )
        .unwrap_err()
        .contains("computed by a command"));
        assert!(
            grub("GRUB_CMDLINE_LINUX=\"open\n", &[a("iommu=pt")], &[], true)
                .unwrap_err()
                .contains("never closed")
        );
    }

    #[test]
    fn unbalanced_quotes_are_refused_not_edited() {
        assert!(
            grub("GRUB_CMDLINE_LINUX=U$=\"\"\n", &[a("iommu=pt")], &[], true)
                .unwrap_err()
                .contains("unquoted value")
        );
        assert!(bls_entry("options root=x rh\"\n", &[a("iommu=pt")], &[])
            .unwrap_err()
            .contains("unbalanced quote"));
        assert!(
            grub("GRUB_CMDLINE_LINUX='a\"b'\n", &[a("iommu=pt")], &[], true)
                .unwrap_err()
                .contains("unbalanced quote")
        );
    }

    #[test]
    fn bls_refind_kernelstub() {
        let e = "title Fedora\nversion 6.8\nlinux /vmlinuz\noptions root=UUID=x ro rhgb quiet\ngrub_class fedora\n";
        let out = bls_entry(e, &[a("intel_iommu=on")], &[]).unwrap();
        assert!(
            out.contains("options root=UUID=x ro rhgb quiet intel_iommu=on\ngrub_class fedora\n"),
            "{out}"
        );
        // The value is in grubenv: the entry stays as it is.
        assert_eq!(
            bls_entry("options $kernelopts $tuned_params\n", &[a("iommu=pt")], &[]).unwrap(),
            "options $kernelopts $tuned_params\n"
        );

        let r = "\"Boot with standard options\"  \"rw root=PARTUUID=1 quiet\"\n# c\n\"Boot to terminal\"  \"rw root=PARTUUID=1 systemd.unit=multi-user.target\"\n";
        let out = refind(r, &[a("amd_iommu=on")], &[]).unwrap();
        assert_eq!(out, "\"Boot with standard options\"  \"rw root=PARTUUID=1 quiet amd_iommu=on\"\n# c\n\"Boot to terminal\"  \"rw root=PARTUUID=1 systemd.unit=multi-user.target amd_iommu=on\"\n");
        assert!(refind("broken line\n", &[a("iommu=pt")], &[]).is_err());

        let k = "{\n  \"default\": {\n    \"kernel_options\": [\n      \"quiet\",\n      \"splash\"\n    ],\n    \"esp_path\": \"/boot/efi\"\n  },\n  \"user\": {\n    \"kernel_options\": [\n      \"quiet\",\n      \"splash\"\n    ],\n    \"esp_path\": \"/boot/efi\",\n    \"setup_loader\": true\n  }\n}";
        let out = kernelstub(k, &[a("amd_iommu=on")], &[]).unwrap();
        assert_eq!(out, k.replacen("      \"splash\"\n    ],\n    \"esp_path\": \"/boot/efi\",", "      \"splash\",\n      \"amd_iommu=on\"\n    ],\n    \"esp_path\": \"/boot/efi\",", 1));
        assert_eq!(kernelstub(&out, &[a("amd_iommu=on")], &[]).unwrap(), out);
        assert_eq!(
            kernelstub(&out, &[], &["amd_iommu".into()]).unwrap(),
            k,
            "undo by removal is byte-identical"
        );
        assert!(kernelstub("{}", &[a("iommu=pt")], &[]).is_err());
        // kernelstub before config_rev 3 kept the options as one string.
        let old = "{\n  \"default\": {\n    \"kernel_options\": \"quiet splash\",\n    \"esp_path\": \"/boot/efi\",\n    \"setup_loader\": false,\n    \"manage_mode\": false,\n    \"force_update\": false,\n    \"live_mode\": false,\n    \"config_rev\": 2\n  },\n  \"user\": {\n    \"kernel_options\": \"quiet loglevel=0 splash\",\n    \"esp_path\": \"/boot/efi\",\n    \"setup_loader\": true,\n    \"manage_mode\": true,\n    \"force_update\": false,\n    \"live_mode\": false,\n    \"config_rev\": 2\n  }\n}\n";
        let out = kernelstub(old, &[a("amd_iommu=on"), a("iommu=pt")], &[]).unwrap();
        assert_eq!(
            out,
            old.replace(
                "\"quiet loglevel=0 splash\"",
                "\"quiet loglevel=0 splash amd_iommu=on iommu=pt\""
            )
        );
        assert_eq!(kernelstub(&out, &[a("amd_iommu=on")], &[]).unwrap(), out);
        assert_eq!(
            kernelstub(&out, &[], &["amd_iommu".into(), "iommu".into()]).unwrap(),
            old
        );
        assert!(kernelstub("{\"user\":{\"kernel_options\":3}}", &[a("iommu=pt")], &[]).is_err());
    }
}
