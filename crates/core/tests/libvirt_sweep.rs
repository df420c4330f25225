//! Passage's domain edits over every domain of a directory of test data: libvirt's (run by
//! build-aux/sweep-libvirt.sh, which fetches libvirt 9.0's source) or virt-manager's at its
//! releases since 1.0 (build-aux/sweep-virt-manager.sh, from a virt-manager clone); not part
//! of the test command, which must not download. For each domain: it is read, a card is added
//! with the device editor, and the session settings are written; nothing may panic, a refusal
//! must say why, and every result of a schema-valid input must pass libvirt's schema too.

mod common;

use common::validates;
use passage_core::vm::domain::Domain;
use passage_core::vm::edit::{apply, Changes};
use passage_core::vm::session::{GpuMode, SessionSettings};
use passage_core::vm::session_edit::set_session;

/// What happened to one domain.
#[derive(Default)]
struct Outcome {
    /// What went wrong (empty: all well).
    problems: Vec<String>,
    /// The input passed libvirt's schema (only then must the results).
    valid: bool,
    /// The reasons given for refusals, which are allowed (tallied in the sweep's report).
    refusals: Vec<String>,
}

fn sweep_one(name: &str, xml: &str) -> Outcome {
    let card = Changes {
        add_pci: vec!["0000:0a:00.0".parse().expect("address")],
        ..Default::default()
    };
    let session = SessionSettings {
        gpu_mode: GpuMode::WhileRunning,
        hugepages: true,
        isolate_cpus: false,
    };
    let run = std::panic::catch_unwind(|| {
        (
            Domain::read(xml).map(|_| ()),
            apply(xml, &card),
            set_session(xml, &session, Some(true)),
        )
    });
    let Ok((read, edited, sessioned)) = run else {
        return Outcome {
            problems: vec![format!("{name}: PANIC")],
            ..Default::default()
        };
    };
    let mut o = Outcome {
        valid: validates(xml),
        ..Default::default()
    };
    if let Err(e) = read {
        o.problems.push(format!("{name}: read: {e}"));
    }
    for (what, r) in [("edit", edited), ("session", sessioned)] {
        match r {
            Ok(out) if o.valid && !validates(&out) => o
                .problems
                .push(format!("{name}: {what}: the result fails libvirt's schema")),
            Err(e) if e.to_string().trim().is_empty() => o
                .problems
                .push(format!("{name}: {what}: refused without a reason")),
            Err(e) => o.refusals.push(format!("{what}: {e}")),
            Ok(_) => {}
        }
    }
    o
}

/// Each outermost `<domain>` element of a file that defines a domain (has a `<name>`), as
/// text: a file may hold several (virt-install's install-then-boot output, the test driver's
/// node, whose snapshots hold domains of their own). Capabilities' `<domain type=…>` entries
/// name no domain and are left out, and so are virt-xml's diffs.
fn domains(xml: &str) -> Vec<&str> {
    let is_diff = xml.lines().any(|l| {
        let t = l.trim_start_matches(['+', '-']);
        t.len() < l.len() && t.trim_start().starts_with('<')
    });
    if is_diff {
        return vec![];
    }
    let (mut out, mut depth, mut start, mut at) = (vec![], 0usize, 0, 0);
    while let Some((pos, tag)) = next_domain_tag(xml, at) {
        match tag {
            Tag::Open => {
                if depth == 0 {
                    start = pos;
                }
                depth += 1;
                at = pos + 7;
            }
            Tag::Empty => at = pos + 7,
            Tag::Close => {
                at = pos + "</domain>".len();
                if depth > 0 {
                    depth -= 1;
                    if depth == 0 && xml[start..at].contains("<name>") {
                        out.push(&xml[start..at]);
                    }
                }
            }
        }
    }
    out
}

enum Tag {
    Open,
    Empty,
    Close,
}

/// The next `<domain …>`, `<domain …/>` or `</domain>` from `from` (not `<domainsnapshot>`).
fn next_domain_tag(xml: &str, from: usize) -> Option<(usize, Tag)> {
    let mut at = from;
    loop {
        let open = xml[at..].find("<domain").map(|i| i + at);
        let close = xml[at..].find("</domain>").map(|i| i + at);
        match (open, close) {
            (Some(o), c) if c.is_none_or(|c| o < c) => {
                let name_ends = matches!(
                    xml[o + 7..].chars().next(),
                    Some(' ' | '>' | '\n' | '\t' | '\r' | '/')
                );
                if name_ends {
                    let gt = xml[o..].find('>').map_or(xml.len(), |g| g + o);
                    let empty = xml[..gt].ends_with('/');
                    return Some((o, if empty { Tag::Empty } else { Tag::Open }));
                }
                at = o + 7;
            }
            (_, Some(c)) => return Some((c, Tag::Close)),
            _ => return None,
        }
    }
}

#[test]
#[ignore = "needs libvirt's test data: build-aux/sweep-libvirt.sh"]
fn every_libvirt_test_domain_is_read_edited_and_stays_valid() {
    let dir = std::env::var("LIBVIRT_TEST_DOMAINS").expect("LIBVIRT_TEST_DOMAINS=DIR");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let (mut seen, mut valid, mut problems) = (0, 0, vec![]);
    let mut refusals = std::collections::BTreeMap::<String, usize>::new();
    for p in files {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(xml) = std::fs::read_to_string(&p) else {
            continue;
        };
        // libvirt's files name their architecture: x86 ones only (others are refused with
        // the reason, by design). virt-manager's are all swept.
        if name.matches('.').count() > 1 && !name.contains("x86_64") {
            continue;
        }
        for (i, one) in domains(&xml).into_iter().enumerate() {
            seen += 1;
            let o = sweep_one(&format!("{name}#{i}"), one);
            problems.extend(o.problems);
            valid += usize::from(o.valid);
            for r in o.refusals {
                *refusals.entry(r).or_default() += 1;
            }
        }
    }
    eprintln!(
        "{seen} domains swept ({valid} schema-valid), {} problems",
        problems.len()
    );
    for (why, n) in &refusals {
        eprintln!("  refused {n}×: {why}");
    }
    assert!(seen > 0, "no domains in {dir}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
