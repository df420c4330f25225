//! The app in German: every page, every wizard step, the VM list and a VM page (the demo
//! host's VMs on libvirt's test driver) and Host setup's plan, read over AT-SPI as a screen
//! reader reads them. No text may be English: a text is English when it is (with its
//! `{placeholders}` filled by anything) a message of po/passage.pot that German says
//! otherwise, or when it holds a common English word — unless it is one of the names below.
//! A screenshot of each page in German.
//!
//! German through LANGUAGE=de under C.UTF-8: glibc (2.35 on) reads LANGUAGE there, as it does
//! not under plain C; the catalogue is compiled from po/de.po into the test's directory.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use super::Session;
use crate::App;

/// The pages walked, by the name `show-page` takes (the VM page is shown by `show-vm`).
const PAGES: [&str; 14] = [
    "check",
    "devices",
    "setup",
    "vms",
    "vm-media",
    "vm-resources",
    "vm-storage",
    "vm-name",
    "vm-firmware",
    "vm-cpu",
    "vm-pci",
    "vm-usb",
    "vm-boot",
    "vm-review",
];

/// Names that stay as they are in German: what other programs call their things. A text
/// holding one is checked without it (the longest first).
const NAMES: &[&str] = &[
    // The firmware's own descriptions, from the ovmf package's descriptors
    // (/usr/share/qemu/firmware/*.json), which the firmware step lists.
    "UEFI firmware for x86_64, with Secure Boot and SMM, SB enabled, MS certs enrolled",
    "UEFI firmware for x86_64, with Secure Boot and SMM",
    "UEFI firmware for x86_64",
];

/// Common English words that are not German words too ("will", "was", "also", "die" are).
const ENGLISH: &[&str] = &[
    "the", "and", "is", "are", "of", "with", "for", "this", "that", "these", "those", "not",
    "your", "you", "it", "its", "be", "been", "has", "have", "from", "when", "which", "there",
    "their", "they", "by", "or", "to", "can", "cannot", "should", "would", "into", "only", "yet",
    "more", "other", "after", "before", "here", "then", "than", "what", "how", "why", "does",
    "doesn", "isn", "don", "choose", "chosen", "make", "made", "used", "using", "needs", "need",
    "must", "keep", "kept", "running", "none", "new", "open", "off", "shut", "down", "show",
    "back", "next", "review", "memory", "disk", "image", "file", "files", "page", "card",
    "nothing", "every", "each", "without", "while", "about", "any", "at", "load", "early", "takes",
    "add", "remove", "rebuild", "restart", "write", "entry", "entries", "changes",
];

/// A message of the template with German's translation, split at its placeholders.
struct Message {
    id: String,
    parts: Vec<String>,
}

impl Message {
    /// Whether `text` is this message with its placeholders filled by anything.
    fn matches(&self, text: &str) -> bool {
        if self.parts.len() == 1 {
            return text == self.id;
        }
        // Few letters outside the placeholders ("{a} ({b})") say nothing about the language.
        if self
            .parts
            .iter()
            .map(|p| p.chars().filter(|c| c.is_alphabetic()).count())
            .sum::<usize>()
            < 4
        {
            return false;
        }
        let (first, last) = (&self.parts[0], &self.parts[self.parts.len() - 1]);
        let Some(mut rest) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for mid in &self.parts[1..self.parts.len() - 1] {
            match rest.find(mid.as_str()) {
                Some(at) => rest = &rest[at + mid.len()..],
                None => return false,
            }
        }
        rest.ends_with(last.as_str())
    }
}

/// The strings of a .po or .pot file: msgid with its msgstr[0], msgid_plural with its msgstr[1].
fn po_entries(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("po file");
    let unquote = |l: &str| {
        let s = l.trim();
        let s = s.strip_prefix('"').and_then(|s| s.strip_suffix('"'));
        s.unwrap_or("").replace("\\n", "\n").replace("\\\"", "\"")
    };
    let mut out = vec![];
    for block in text.split("\n\n") {
        let (mut ids, mut strs, mut cur): (Vec<String>, Vec<String>, Option<usize>) =
            (vec![], vec![], None);
        for l in block.lines() {
            if l.starts_with('#') {
                continue;
            }
            let (key, val) = match l.split_once(' ') {
                Some((k, v)) if !l.starts_with('"') => (k, v),
                _ => ("", l),
            };
            match key {
                "msgid" | "msgid_plural" => {
                    ids.push(unquote(val));
                    cur = Some(0);
                }
                "msgstr" | "msgstr[0]" | "msgstr[1]" => {
                    strs.push(unquote(val));
                    cur = Some(1);
                }
                "msgctxt" => cur = None,
                _ => match cur {
                    Some(0) => ids.last_mut().expect("msgid").push_str(&unquote(val)),
                    Some(1) => strs.last_mut().expect("msgstr").push_str(&unquote(val)),
                    _ => {}
                },
            }
        }
        // msgid with msgstr[0], msgid_plural with msgstr[1] (German's plural: "{n} CPUs" is
        // "{n} CPUs" in German too).
        out.extend(
            ids.into_iter()
                .enumerate()
                .filter(|(_, id)| !id.is_empty())
                .map(|(i, id)| {
                    let german = strs.get(i).or(strs.first()).cloned().unwrap_or_default();
                    (id, german)
                }),
        );
    }
    out
}

/// The template's messages whose German is not the English (an untranslated one counts as
/// English; "GPU" translated as "GPU" is German too).
fn english_messages(repo: &Path) -> Vec<Message> {
    let german: HashMap<String, String> = po_entries(&repo.join("po/de.po")).into_iter().collect();
    po_entries(&repo.join("po/passage.pot"))
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| german.get(id).map(String::as_str) != Some(id.as_str()))
        .filter(|id| id.chars().any(char::is_alphabetic))
        .map(|id| Message {
            parts: placeholder_split(&id),
            id,
        })
        .collect()
}

/// `"Group {n}: {name}"` → `["Group ", ": ", ""]`.
fn placeholder_split(id: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut rest = id;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c);
        let is_name = close.is_some_and(|c| {
            c > open + 1
                && rest[open + 1..c]
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_')
        });
        match close {
            Some(c) if is_name => {
                parts.last_mut().expect("part").push_str(&rest[..open]);
                parts.push(String::new());
                rest = &rest[c + 1..];
            }
            _ => {
                parts.last_mut().expect("part").push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    parts.last_mut().expect("part").push_str(rest);
    parts
}

/// The texts of a walked tree: each node's name and description
/// (`role 'name' (description) [states]`; a name with line breaks goes on over the next lines).
/// The domain XML is libvirt's language and a plan's diff the files' own text, not the app's:
/// they are left out.
fn texts(tree: &str) -> Vec<String> {
    let mut nodes: Vec<String> = vec![];
    for l in tree.lines() {
        let t = l.trim_start();
        let role = t.split_once(" '").map(|(r, _)| r);
        match role {
            Some(r) if !r.is_empty() && r.chars().all(|c| c.is_ascii_lowercase() || c == ' ') => {
                nodes.push(t.to_string())
            }
            _ => {
                if let Some(n) = nodes.last_mut() {
                    n.push('\n');
                    n.push_str(l);
                }
            }
        }
    }
    let mut out = vec![];
    for n in nodes {
        let n = n.rsplit_once(" [").map_or(n.as_str(), |(a, _)| a);
        let Some((_, rest)) = n.split_once('\'') else {
            continue;
        };
        let (name, desc) = match rest.find("' (") {
            Some(at) if rest.ends_with(')') => (&rest[..at], Some(&rest[at + 3..rest.len() - 1])),
            _ => (rest.strip_suffix('\'').unwrap_or(rest), None),
        };
        out.push(name.to_string());
        out.extend(desc.map(str::to_string));
    }
    out.retain(|t| {
        let t = t.trim_start();
        !t.is_empty() && !t.starts_with('<') && !t.starts_with("--- ")
    });
    out
}

/// Why `text` is English, if it is.
fn english(text: &str, messages: &[Message]) -> Option<String> {
    for line in text.lines() {
        if let Some(m) = messages.iter().find(|m| m.matches(line)) {
            return Some(format!("the message {:?}", m.id));
        }
    }
    let mut rest = text.to_string();
    for n in NAMES {
        rest = rest.replace(n, " ");
    }
    // Paths are the system's names.
    let rest: Vec<&str> = rest
        .split_whitespace()
        .filter(|w| !w.starts_with('/'))
        .collect();
    let words: Vec<String> = rest
        .join(" ")
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| ENGLISH.contains(&w.to_lowercase().as_str()))
        .map(str::to_string)
        .collect();
    (!words.is_empty()).then(|| format!("English words {words:?}"))
}

impl App<'_> {
    /// The tree once it has stopped changing (pages fill in after they show).
    fn settled_tree(&self) -> String {
        let end = Instant::now() + Duration::from_secs(15);
        let mut last = self.tree();
        loop {
            std::thread::sleep(Duration::from_millis(700));
            let t = self.tree();
            if t == last || Instant::now() > end {
                return t;
            }
            last = t;
        }
    }
}

#[test]
fn the_german_ui_shows_no_english() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let messages = english_messages(repo);
    let s = Session::start();
    let locale = s.dir.path().join("locale");
    passage_testkit::locale::german_catalogue(&locale);
    let locale = locale.display().to_string();
    // The demo's own VMs on the test driver (an empty URI is no URI).
    let mut app = s.launch(&[
        ("LANGUAGE", "de"),
        ("PASSAGE_LOCALEDIR", &locale),
        ("PASSAGE_LIBVIRT_URI", ""),
    ]);
    app.wait_page("check", &["#banner", "#next"]);
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut read = |app: &mut App<'_>, page: &str, dump: &str| {
        let tree = app.settled_tree();
        assert!(
            tree.lines().count() > 20,
            "{page}: too little read:\n{tree}"
        );
        for t in texts(&tree) {
            if let Some(why) = english(&t, &messages) {
                found.insert(format!("{page}: {t:?} ({why})"));
            }
        }
        let shot = app.shot(&format!("german-{page}"), dump);
        std::fs::write(shot.with_extension("txt"), &tree).expect("the tree beside the shot");
    };
    for page in PAGES {
        app.action("show-page", Some(page));
        let d = app.wait_page(page, &[]);
        read(&mut app, page, &d);
    }
    app.action("show-vm", Some("win11-gaming"));
    let d = app.wait_page("vms", &["#vm-page", "#start"]);
    read(&mut app, "vm-page", &d);
    assert!(
        found.is_empty(),
        "{} English text(s) in the German UI:\n{}",
        found.len(),
        found.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn english_is_told_from_german() {
    let m = |id: &str| Message {
        parts: placeholder_split(id),
        id: id.to_string(),
    };
    let msgs = [
        m("Group {n}: {name}"),
        m("Keyboard and mouse"),
        m("{a} ({b})"),
    ];
    assert!(english("Group 28: NVIDIA", &msgs).is_some());
    assert!(english("Gruppe 28: NVIDIA", &msgs).is_none());
    assert!(english("Keyboard and mouse", &msgs).is_some());
    assert!(english("Tastatur und Maus", &msgs).is_none());
    assert!(english("Die VM (aus)", &msgs).is_none());
    assert!(english("Choose the card", &[]).is_some());
    assert!(english("Eine UEFI firmware for x86_64-Firmware", &[]).is_none());
    assert!(english("/dev/input/by-id/usb-Razer-event-mouse", &[]).is_none());
    assert_eq!(
        texts("  push button 'Weiter' (Zum nächsten Schritt) [focusable]\n  label 'Die VM's' (auch 'so') []\n  text '<domain>\n  <name>x</name>' []\n  label '--- a/etc/x\n+# Written by Passage' []\n  label 'zwei\nZeilen' []"),
        ["Weiter", "Zum nächsten Schritt", "Die VM's", "auch 'so'", "zwei\nZeilen"]
    );
}
