//! Passage's domain edits over every domain of a directory of libvirt's test data (run by
//! build-aux/sweep-libvirt.sh, which fetches libvirt 9.0's source; not part of the test
//! command, which must not download). For each x86 domain: it is read, a card is added with
//! the device editor, and the session settings are written; nothing may panic, a refusal must
//! say why, and every result of a schema-valid input must pass libvirt's schema too.

use passage_core::vm::domain::Domain;
use passage_core::vm::edit::{apply, Changes};
use passage_core::vm::session::{GpuMode, SessionSettings};
use passage_core::vm::session_edit::set_session;

fn validates(xml: &str) -> bool {
    let f = tempfile::Builder::new()
        .suffix(".xml")
        .tempfile()
        .expect("tmp");
    std::fs::write(f.path(), xml).expect("write");
    std::process::Command::new("virt-xml-validate")
        .arg(f.path())
        .arg("domain")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What happened to one domain: the problems found (empty: all well).
fn sweep_one(name: &str, xml: &str) -> Vec<String> {
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
        return vec![format!("{name}: PANIC")];
    };
    let mut problems = vec![];
    if let Err(e) = read {
        problems.push(format!("{name}: read: {e}"));
    }
    let input_valid = validates(xml);
    for (what, r) in [("edit", edited), ("session", sessioned)] {
        match r {
            Ok(out) if input_valid && !validates(&out) => {
                problems.push(format!("{name}: {what}: the result fails libvirt's schema"))
            }
            Err(e) if e.to_string().trim().is_empty() => {
                problems.push(format!("{name}: {what}: refused without a reason"))
            }
            _ => {}
        }
    }
    problems
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
    let (mut seen, mut problems) = (0, vec![]);
    for p in files {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(xml) = std::fs::read_to_string(&p) else {
            continue;
        };
        // x86 domains (other architectures are refused with the reason, by design).
        if !xml.contains("<domain") || (name.matches('.').count() > 1 && !name.contains("x86_64")) {
            continue;
        }
        seen += 1;
        problems.extend(sweep_one(&name, &xml));
    }
    eprintln!("{seen} domains swept, {} problems", problems.len());
    assert!(seen > 0, "no domains in {dir}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
