//! Real /etc/default/grub files (tests/data/boot/grub, sources in its README): the plan is
//! checked by the shell that grub-mkconfig uses to read the file, against rules rather than
//! one expected text.

use std::path::{Path, PathBuf};
use std::process::Command;

use passage_core::plan::{self, Intent, Plan};
use passage_core::{Host, Root};

const ADD: [&str; 3] = [
    "amd_iommu=on",
    "iommu=pt",
    // A card this fixture does not have (its own GPU is its screen: the guard refuses that).
    "vfio-pci.ids=10de:2204,10de:1aef",
];
const KEYS: [&str; 3] = ["amd_iommu", "iommu", "vfio-pci.ids"];

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/boot/grub");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

/// GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT as `sh` reads them from `file`.
fn sourced(file: &Path) -> (Vec<String>, Vec<String>) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#". "$1" >/dev/null 2>&1; printf '%s\n%s\n' "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT""#)
        .arg("sh")
        .arg(file)
        .output()
        .expect("sh");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect());
    (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    )
}

fn key(w: &str) -> String {
    w.split('=').next().unwrap_or(w).replace('_', "-")
}

fn managed(w: &str) -> bool {
    KEYS.iter().any(|k| key(w) == k.replace('_', "-"))
}

fn planned(dir: &Path) -> Plan {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    let intent = Intent::KernelArguments {
        add: ADD.iter().map(|s| s.to_string()).collect(),
        remove: vec![],
    };
    plan::plan(&root, &host, &intent).expect("plan")
}

fn write_after(dir: &Path, p: &Plan) {
    for c in &p.changes {
        let f = dir.join(c.path.trim_start_matches('/'));
        match &c.after {
            Some(b) => std::fs::write(&f, b).expect("write"),
            None => std::fs::remove_file(&f).expect("rm"),
        }
    }
}

#[test]
fn real_grub_defaults_get_the_arguments_by_the_rules() {
    for sample in samples() {
        let name = sample
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&sample).expect("read");
        let mut spec = passage_fixtures::single_gpu();
        spec.files.retain(|(p, _)| !p.contains("/loader/"));
        spec.files.push(("/etc/default/grub".into(), text.clone()));
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build_spec(&spec, d.path()).expect("fixture");
        let file = d.path().join("etc/default/grub");
        let (lin0, def0) = sourced(&file);

        let p = planned(d.path());
        assert_eq!(p.changes.len(), 1, "{name}: {:?}", p.changes);
        write_after(d.path(), &p);
        let after = std::fs::read_to_string(&file).expect("read");
        // Only the command-line lines change.
        let other = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with("GRUB_CMDLINE_LINUX"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(other(&after), other(&text), "{name}");
        let (lin1, def1) = sourced(&file);
        let all0: Vec<&String> = lin0.iter().chain(&def0).collect();
        let all1: Vec<&String> = lin1.iter().chain(&def1).collect();
        // The user's other words, in order.
        let kept0: Vec<&&String> = all0.iter().filter(|w| !managed(w)).collect();
        let kept1: Vec<&&String> = all1.iter().filter(|w| !managed(w)).collect();
        assert_eq!(kept1, kept0, "{name}");
        // Each managed argument once, with the value the VM needs.
        for want in ADD {
            let k = key(want);
            let got: Vec<&&String> = all1.iter().filter(|w| key(w) == k).collect();
            assert_eq!(got.len(), 1, "{name}: {k} in {all1:?}");
            // A stronger IOMMU value the user chose stays.
            let kept = all0
                .iter()
                .find(|w| w.as_str() == "amd_iommu=force_isolation");
            let want = match kept {
                Some(w) if k == "amd-iommu" => w.as_str(),
                _ => want,
            };
            assert_eq!(got[0].as_str(), want, "{name}");
        }
        // Where the distribution puts desktop arguments (an active line), the new ones go
        // there; otherwise to GRUB_CMDLINE_LINUX.
        if text
            .lines()
            .any(|l| l.starts_with("GRUB_CMDLINE_LINUX_DEFAULT="))
        {
            assert!(
                def1.iter().any(|w| w == "iommu=pt") || lin0.iter().any(|w| w == "iommu=pt"),
                "{name}: {def1:?}"
            );
        }
        // Planning again: nothing; undo: the bytes.
        assert!(planned(d.path()).is_empty(), "{name}: not idempotent");
        write_after(d.path(), &p.undo());
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            text,
            "{name}: undo"
        );
    }
}
