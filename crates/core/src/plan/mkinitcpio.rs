//! Which mkinitcpio configuration counts, read the way mkinitcpio (v36 and later) reads it.
//!
//! `mkinitcpio -P` builds every preset in /etc/mkinitcpio.d/*.preset. An image whose preset
//! names a configuration (`<name>_config`, else `ALL_config`) is built with `-c FILE`: that
//! file alone, without drop-ins. Otherwise mkinitcpio reads /etc/mkinitcpio.conf followed by
//! /etc/mkinitcpio.conf.d/*.conf in version order (`sort -V`) as one bash script, so the last
//! `MODULES=` wins and `MODULES+=` appends. The vfio-pci settings reach the image only through
//! the `modconf` hook.

use std::cmp::Ordering;

use crate::i18n::{tr, tr_f};
use crate::plan::{read_text, with_drop_ins, PlanError, Source};
use crate::root::Root;

const MAIN: &str = "/etc/mkinitcpio.conf";
const DROP_INS: &str = "/etc/mkinitcpio.conf.d";
const PRESETS: &str = "/etc/mkinitcpio.d";

/// The configuration the images are built from, in mkinitcpio's reading order, checked to
/// carry modprobe.d into them (`modconf`).
pub(crate) struct Config {
    pub files: Vec<Source>,
}

pub(crate) fn read(root: &Root) -> Result<Config, PlanError> {
    let files = configuration(root)?;
    check_modconf(&files)?;
    Ok(Config { files })
}

impl Config {
    /// The index of the file whose `KEY=` the images end up with: the last that sets it (an
    /// array or a string, not `KEY+=`), else the first file read.
    pub(crate) fn setter_of(&self, key: &str) -> usize {
        self.files
            .iter()
            .rposition(|(_, _, text)| text.lines().any(|l| sets(l, key)))
            .unwrap_or(0)
    }
}

/// Whether a line sets MODULES (not `MODULES+=`).
pub(crate) fn sets_modules(line: &str) -> bool {
    sets(line, "MODULES")
}

/// Whether a line sets `key` to an array or a string (not `key+=`).
fn sets(line: &str, key: &str) -> bool {
    line.trim_start()
        .strip_prefix(key)
        .is_some_and(|r| r.starts_with('='))
}

/// The files mkinitcpio reads for the images `-P` builds, in its order.
fn configuration(root: &Root) -> Result<Vec<Source>, PlanError> {
    match preset_config(root)? {
        Some(path) => {
            let (bytes, text) = read_text(root, &path)?.ok_or_else(|| PlanError::Unreadable {
                path: path.clone(),
                why: tr_f(
                    "a preset in {dir} builds its image from it, and it does not exist",
                    &[("dir", PRESETS)],
                ),
            })?;
            Ok(vec![(path, bytes, text)])
        }
        None => {
            let mut files =
                with_drop_ins(root, MAIN, DROP_INS, ".conf")?.ok_or(PlanError::NoInitramfs)?;
            // mkinitcpio finds them with `find -name '*.conf'`, which takes hidden names too.
            for hidden in root.list(DROP_INS) {
                if hidden.starts_with('.') && hidden.ends_with(".conf") {
                    let path = format!("{DROP_INS}/{hidden}");
                    if let Some((bytes, text)) = read_text(root, &path)? {
                        files.push((path, bytes, text));
                    }
                }
            }
            files[1..].sort_by(|a, b| version_cmp(name(&a.0), name(&b.0)));
            Ok(files)
        }
    }
}

fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The one configuration file the presets name for every image they build, or `None` when
/// they name none (the default, with drop-ins). Presets that name different files, or mix a
/// named file with the default, are refused: Passage cannot tell which one to change.
fn preset_config(root: &Root) -> Result<Option<String>, PlanError> {
    let mut used: Vec<Option<String>> = vec![];
    for file in root.list(PRESETS) {
        if !file.ends_with(".preset") || file.starts_with('.') {
            continue;
        }
        let path = format!("{PRESETS}/{file}");
        let Some((_, text)) = read_text(root, &path)? else {
            continue;
        };
        for c in preset_images(&text).map_err(|why| PlanError::Unparsable {
            path: path.clone(),
            why,
        })? {
            if !used.contains(&c) {
                used.push(c);
            }
        }
    }
    match used.as_slice() {
        [] | [None] => Ok(None),
        [Some(p)] => Ok(Some(p.clone())),
        _ => Err(PlanError::Regenerate(tr_f(
            "mkinitcpio's presets in {dir} build images from different configurations ({files}), so Passage cannot tell which one to change; make the presets use one and plan again",
            &[
                ("dir", PRESETS),
                (
                    "files",
                    &used
                        .iter()
                        .map(|c| c.as_deref().unwrap_or(MAIN))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
        ))),
    }
}

/// The configuration of each image a preset builds: `Some(file)` when it names one.
fn preset_images(text: &str) -> Result<Vec<Option<String>>, String> {
    let mut vars: Vec<(String, String)> = vec![];
    let mut presets: Option<Vec<String>> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if let Some(list) = t.strip_prefix("PRESETS=(") {
            let list = list
                .strip_suffix(')')
                .ok_or_else(|| tr("PRESETS=( must close on the same line"))?;
            presets = Some(list.split_whitespace().map(unquote).collect());
        } else if let Some((key, value)) = t.split_once('=') {
            if key.ends_with("_config") {
                let v = unquote(value);
                if v.contains(['$', '`']) {
                    return Err(tr_f(
                        "{key} is computed ({v}), not a path",
                        &[("key", key), ("v", &v)],
                    ));
                }
                vars.retain(|(k, _)| k != key);
                vars.push((key.to_string(), v));
            }
        }
    }
    let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let all = get("ALL_config").filter(|v| !v.is_empty());
    Ok(presets
        .unwrap_or_default()
        .iter()
        .map(|p| {
            get(&format!("{p}_config"))
                .filter(|v| !v.is_empty())
                .or_else(|| all.clone())
        })
        .collect())
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(['"', '\'']).to_string()
}

/// Refuses when the HOOKS the configuration ends with lacks `modconf`: without it the image
/// carries no modprobe.d, so vfio-pci would load without the card's IDs and the card's own
/// driver (which the `kms` hook puts in the image) would take it.
fn check_modconf(files: &[Source]) -> Result<(), PlanError> {
    let found = effective(files, "HOOKS")?;
    // The file named when no file sets HOOKS: the first one mkinitcpio reads.
    let last_file = found
        .as_ref()
        .map_or_else(
            || files.first().map_or(MAIN, |f| f.0.as_str()),
            |e| e.file.as_str(),
        )
        .to_string();
    if found.is_some_and(|e| e.words.iter().any(|w| w == "modconf")) {
        return Ok(());
    }
    Err(PlanError::Regenerate(tr_f(
        "mkinitcpio's HOOKS (in {file}) has no modconf, so the initramfs would not carry the vfio-pci settings and the card's own driver would take it at boot; add modconf to HOOKS, after autodetect, and plan again",
        &[("file", &last_file)],
    )))
}

/// How a setting is written: mkinitcpio (v24 and later) takes both. A string it splits with
/// `IFS=' ' read -r -a` (functions: `arrayize_config`): on spaces only, its first line only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Array,
    Str,
}

/// One `KEY=…` or `KEY+=…` in a bash file.
#[derive(Debug, PartialEq, Eq)]
struct Assignment {
    append: bool,
    form: Form,
    /// An array's words, or a string's text.
    words: Vec<String>,
    text: String,
}

/// What a setting ends up as after every file is sourced: its form, its words as mkinitcpio
/// splits them, and the file of its last `KEY=`.
pub(crate) struct Effective {
    pub form: Form,
    pub words: Vec<String>,
    pub file: String,
}

/// `key` as bash leaves it after sourcing `files` in order. An array and a string mixed make
/// something mkinitcpio reads as neither (bash puts a string into an array's first element,
/// and `+=(…)` turns a string into an array's first element): refused with the file.
pub(crate) fn effective(files: &[Source], key: &str) -> Result<Option<Effective>, PlanError> {
    // The form, the array's words or the string's text, and the file of the last `KEY=`.
    let mut state: Option<(Form, Vec<String>, String)> = None;
    let mut file = files.first().map_or(MAIN, |f| f.0.as_str());
    for (path, _, text) in files {
        let unparsable = |why: String| PlanError::Unparsable {
            path: path.clone(),
            why,
        };
        for a in assignments(text, key).map_err(unparsable)? {
            if !a.append {
                file = path;
            }
            match state.as_mut() {
                Some((form, _, _)) if *form != a.form => {
                    return Err(unparsable(tr_f(
                        "{key} is written as an array in one place and as a string in another, which mkinitcpio cannot split into its items; write every {key} the same way",
                        &[("key", key)],
                    )));
                }
                Some((_, words, text)) if a.append => {
                    words.extend(a.words);
                    text.push_str(&a.text);
                }
                _ => state = Some((a.form, a.words, a.text)),
            }
        }
    }
    Ok(state.map(|(form, words, text)| Effective {
        form,
        words: match form {
            Form::Array => words,
            Form::Str => split_string(&text),
        },
        file: file.to_string(),
    }))
}

/// A string setting's items as mkinitcpio reads them: `IFS=' ' read -r -a` takes the first
/// line and splits it on spaces (a tab is part of an item).
fn split_string(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or("")
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every `KEY=(…)`, `KEY+=(…)` (an array may span lines) and `KEY="…"`, `KEY='…'`,
/// `KEY=word` (with `+=` too) in a bash file. A computed value cannot be told and is an error.
fn assignments(text: &str, key: &str) -> Result<Vec<Assignment>, String> {
    let mut out = vec![];
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix(key) else {
            continue;
        };
        let (append, rest) = match rest.strip_prefix("+=") {
            Some(r) => (true, r),
            None => match rest.strip_prefix('=') {
                Some(r) => (false, r),
                None => continue,
            },
        };
        let computed = || {
            tr_f(
                "{key} is computed, so Passage cannot tell its items",
                &[("key", key)],
            )
        };
        if let Some(r) = rest.strip_prefix('(') {
            let mut body = r.split('#').next().unwrap_or("").to_string();
            while !body.contains(')') {
                let next = lines
                    .next()
                    .ok_or_else(|| tr_f("{key}=( never closes", &[("key", key)]))?;
                body.push(' ');
                body.push_str(next.split('#').next().unwrap_or(""));
            }
            let inner = &body[..body.find(')').unwrap_or(body.len())];
            if inner.contains(['$', '`']) {
                return Err(computed());
            }
            let words = inner.split_whitespace().map(unquote).collect();
            out.push(Assignment {
                append,
                form: Form::Array,
                words,
                text: String::new(),
            });
            continue;
        }
        let text = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let mut body = rest[1..].to_string();
                while !body.contains(q) {
                    let next = lines
                        .next()
                        .ok_or_else(|| tr_f("{key}'s quote never closes", &[("key", key)]))?;
                    body.push('\n');
                    body.push_str(next);
                }
                let (inner, after) = body.split_at(body.find(q).unwrap_or(body.len()));
                let after = after[1..].trim_start();
                if !(after.is_empty() || after.starts_with('#')) {
                    return Err(tr_f(
                        "{key} goes on after its closing quote; write it as one quoted string",
                        &[("key", key)],
                    ));
                }
                if q == '"' && inner.contains(['$', '`', '\\']) {
                    return Err(computed());
                }
                inner.to_string()
            }
            _ => {
                let word = rest.split([' ', '\t']).next().unwrap_or("");
                if word.contains(['$', '`', '\\', '"', '\'', '(']) {
                    return Err(computed());
                }
                word.to_string()
            }
        };
        out.push(Assignment {
            append,
            form: Form::Str,
            words: vec![],
            text,
        });
    }
    Ok(out)
}

/// `sort -V` on file names (gnulib's filevercmp, as coreutils 9 sorts): names starting with
/// `.` first; then the names without their suffixes (`.conf`) compared as versions, then the
/// whole names; runs of digits compare as numbers, letters before other characters, `~`
/// before everything; a tie is broken byte by byte, as sort does.
pub(crate) fn version_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let dotted = |s: &[u8]| s.first() == Some(&b'.');
    let by_dot = dotted(y).cmp(&dotted(x));
    if by_dot != Ordering::Equal || dotted(x) {
        return by_dot.then_with(|| a.cmp(b));
    }
    let (xp, yp) = (prefix_len(x), prefix_len(y));
    let first = verrevcmp(&x[..xp], &y[..yp]);
    let one_pass = xp == x.len() && yp == y.len();
    let result = if first != Ordering::Equal || one_pass {
        first
    } else {
        verrevcmp(x, y)
    };
    result.then_with(|| a.cmp(b))
}

/// The length of a name without its suffix, `(\.[A-Za-z~][A-Za-z0-9~]*)*$`.
fn prefix_len(s: &[u8]) -> usize {
    let n = s.len();
    let (mut i, mut prefix) = (0, 0);
    while i < n {
        i += 1;
        prefix = i;
        while i + 1 < n && s[i] == b'.' && (s[i + 1].is_ascii_alphabetic() || s[i + 1] == b'~') {
            i += 2;
            while i < n && (s[i].is_ascii_alphanumeric() || s[i] == b'~') {
                i += 1;
            }
        }
    }
    prefix
}

/// The weight of the byte at `pos` in a version's non-digit part (end of string: -1).
fn order(s: &[u8], pos: usize) -> i32 {
    match s.get(pos) {
        None => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(b'~') => -2,
        Some(c) => i32::from(*c) + 256,
    }
}

/// Debian's version comparison of two strings.
fn verrevcmp(x: &[u8], y: &[u8]) -> Ordering {
    let digit = |s: &[u8], i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let (mut i, mut j) = (0, 0);
    while i < x.len() || j < y.len() {
        while (i < x.len() && !x[i].is_ascii_digit()) || (j < y.len() && !y[j].is_ascii_digit()) {
            let (c, d) = (order(x, i), order(y, j));
            if c != d {
                return c.cmp(&d);
            }
            i += 1;
            j += 1;
        }
        while x.get(i) == Some(&b'0') {
            i += 1;
        }
        while y.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(x, i) && digit(y, j) {
            if first_diff == Ordering::Equal {
                first_diff = x[i].cmp(&y[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(x, i) {
            return Ordering::Greater;
        }
        if digit(y, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_ins_sort_as_versions() {
        // As `LC_ALL=C.UTF-8 sort -V` orders them (coreutils 9.1).
        let mut v = vec!["10-b.conf", "9-a.conf", "09-c.conf", "a.conf", "1.conf"];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(
            v,
            ["1.conf", "9-a.conf", "09-c.conf", "10-b.conf", "a.conf"]
        );
        let mut w = vec!["9-b.conf", "09-a.conf"];
        w.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(w, ["09-a.conf", "9-b.conf"]);
    }

    #[test]
    fn drop_ins_sort_as_coreutils_sort_v_does() {
        let names = [
            "99-last.conf",
            "10-nvidia.conf",
            "1-a.conf",
            "01-b.conf",
            "001.conf",
            "2.conf",
            "20-hooks.conf",
            "a10.conf",
            "a9.conf",
            "A.conf",
            "a.conf",
            "b-1.2.conf",
            "b-1.10.conf",
            "x_1.conf",
            "x-1.conf",
            "100.conf",
            "9.conf",
        ];
        let mut ours = names.to_vec();
        ours.sort_by(|a, b| version_cmp(a, b));
        let mut input = names.join("\n");
        input.push('\n');
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                "printf '%s' \"$1\" | LC_ALL=C.UTF-8 sort -V",
                "sh",
                &input,
            ])
            .output()
            .expect("sort");
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(ours, theirs);
    }

    fn hooks(files: &[&str]) -> Result<Vec<String>, String> {
        let files: Vec<Source> = files
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("/f{i}"), t.as_bytes().to_vec(), t.to_string()))
            .collect();
        effective(&files, "HOOKS")
            .map(|e| e.map(|e| e.words).unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn hooks_arrays_span_lines_and_append() {
        let t = "HOOKS=(base udev\n  autodetect # comment\n  modconf)\nHOOKS+=(lvm2)\n";
        assert_eq!(
            hooks(&[t]).expect("hooks"),
            ["base", "udev", "autodetect", "modconf", "lvm2"]
        );
        assert!(hooks(&["HOOKS=($(cat /x))\n"]).is_err());
    }

    /// Strings as mkinitcpio's `arrayize_config` reads them (`IFS=' ' read -r -a`): split on
    /// spaces, first line only; `+=` concatenates, as bash does.
    #[test]
    fn hooks_strings_read_as_mkinitcpio_reads_them() {
        let cases: [(&[&str], &[&str]); 6] = [
            (
                &["HOOKS=\"base udev autodetect modconf block filesystems\"\n"],
                &[
                    "base",
                    "udev",
                    "autodetect",
                    "modconf",
                    "block",
                    "filesystems",
                ],
            ),
            (
                &["HOOKS='base  modconf' # two spaces\n"],
                &["base", "modconf"],
            ),
            (
                &["HOOKS=\"base udev \"\n", "HOOKS+=\"modconf\"\n"],
                &["base", "udev", "modconf"],
            ),
            (
                &["HOOKS=\"base udev\"\n", "HOOKS+=\"modconf\"\n"],
                &["base", "udevmodconf"],
            ),
            (&["HOOKS=\"base udev\n  modconf\"\n"], &["base", "udev"]),
            (&["HOOKS=base\n"], &["base"]),
        ];
        for (files, want) in cases {
            assert_eq!(hooks(files).expect("hooks"), want, "{files:?}");
        }
        for bad in [
            &["HOOKS=(base modconf)\n", "HOOKS=\"base modconf\"\n"][..],
            &["HOOKS=\"base\"\nHOOKS+=(modconf)\n"],
            &["HOOKS=\"base $EXTRA\"\n"],
            &["HOOKS=\"base\" modconf\n"],
            &["HOOKS=\"base\n"],
        ] {
            assert!(hooks(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn presets_name_their_images_configuration() {
        // Arch's own preset (mkinitcpio.d/hook.preset): no configuration named.
        let arch = "#ALL_config=\"/etc/mkinitcpio.conf\"\nALL_kver=\"/boot/vmlinuz-linux\"\nPRESETS=('default')\n#default_config=\"/etc/mkinitcpio.conf\"\n";
        assert_eq!(preset_images(arch).expect("arch"), [None]);
        let both = "ALL_config='/etc/a.conf'\nPRESETS=('default' 'fallback')\nfallback_config=\"/etc/b.conf\"\n";
        assert_eq!(
            preset_images(both).expect("both"),
            [Some("/etc/a.conf".into()), Some("/etc/b.conf".into())]
        );
        assert!(preset_images("ALL_config=\"$HOME/x\"\nPRESETS=('default')\n").is_err());
    }
}
