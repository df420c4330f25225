//! passage: the GNOME app. Until the GUI lands (see the GTK issue) this is a terminal
//! placeholder that shows the same picture the first page will: which host, and what stands
//! between it and GPU passthrough. On a machine without an IOMMU or a second GPU it opens on
//! the bundled demo host and says so.

use std::path::PathBuf;
use std::process::ExitCode;

use passage_core::check::{self, Severity};
use passage_core::i18n::{tr, tr_f};
use passage_core::{Host, Root};

/// Whether this machine can show anything worth passing through.
fn worth_showing(host: &Host) -> bool {
    host.iommu_enabled && host.gpus().count() >= 2
}

fn main() -> ExitCode {
    passage_core::i18n::init(&passage_core::i18n::localedir());
    let mut args = std::env::args().skip(1);
    let mut host_root: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host-root" => host_root = args.next().map(PathBuf::from),
            "--demo" => host_root = Some(PathBuf::new()),
            "-h" | "--help" => {
                println!("{}", tr("usage: passage [--host-root DIR | --demo]"));
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!(
                    "{}",
                    tr_f(
                        "passage: unknown option {opt}; try --help",
                        &[("opt", other)]
                    )
                );
                return ExitCode::from(2);
            }
        }
    }

    let mut demo_dir = None;
    let (host, label) = match host_root {
        Some(p) if !p.as_os_str().is_empty() => match Root::new(&p) {
            Ok(r) => (
                Host::scan(&r),
                tr_f("Captured host: {dir}", &[("dir", &p.display().to_string())]),
            ),
            Err(e) => {
                eprintln!("passage: {e}");
                return ExitCode::from(2);
            }
        },
        explicit_demo => {
            let live = if explicit_demo.is_none() {
                Root::new("/").ok().map(|r| Host::scan(&r))
            } else {
                None
            };
            match live.filter(worth_showing) {
                Some(h) => (h, tr("This computer")),
                None => {
                    let dir = match tempfile_dir() {
                        Ok(d) => d,
                        Err(e) => {
                            eprintln!("passage: {e}");
                            return ExitCode::from(2);
                        }
                    };
                    if let Err(e) = passage_fixtures::build(passage_fixtures::DEMO, &dir) {
                        eprintln!("passage: cannot lay down the demo host: {e}");
                        return ExitCode::from(2);
                    }
                    let h = match Root::new(&dir) {
                        Ok(r) => Host::scan(&r),
                        Err(e) => {
                            eprintln!("passage: {e}");
                            return ExitCode::from(2);
                        }
                    };
                    demo_dir = Some(dir);
                    (h, tr("DEMO HOST — this computer has no IOMMU or no second graphics card, so Passage shows the X570 board of the public GPU-passthrough tutorial. Nothing here changes this computer."))
                }
            }
        }
    };

    let bar = "━".repeat(72);
    println!("{bar}\n {}\n{bar}", label);
    println!("{}", tr("Passage — GPU passthrough made simple. (The graphical window arrives with the GUI work; this terminal view shows the same checks.)"));
    match check::evaluate(&host, None) {
        Ok(report) => {
            if let Some(g) = report.gpu.and_then(|a| host.device(a)) {
                println!(
                    "\n{} {} ({})\n",
                    tr("Graphics card for the VM:"),
                    g.display_name(),
                    g.address
                );
            }
            let mut findings = report.findings.clone();
            findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
            for f in &findings {
                let mark = match f.severity {
                    Severity::Ok => "✔",
                    Severity::Info => "ℹ",
                    Severity::Warning => "⚠",
                    Severity::Blocker => "✘",
                };
                println!("{mark} {}", f.title);
                if let Some(fix) = &f.fix {
                    println!("    {fix}");
                }
            }
            println!("\n{}", tr("Details: passagectl scan / passagectl check"));
        }
        Err(e) => eprintln!("passage: {e}"),
    }
    if let Some(d) = demo_dir {
        let _ = std::fs::remove_dir_all(d);
    }
    ExitCode::SUCCESS
}

/// A private directory for the demo host.
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("passage-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(name: &str) -> Host {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build(name, d.path()).expect("fixture");
        Host::scan(&Root::new(d.path()).expect("root"))
    }

    #[test]
    fn the_demo_host_is_used_without_an_iommu_or_a_second_gpu() {
        assert!(worth_showing(&scan("x570-tutorial")));
        assert!(!worth_showing(&scan("single-gpu")), "one GPU");
        assert!(!worth_showing(&scan("iommu-off")), "no IOMMU");
    }
}
