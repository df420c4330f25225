//! The commands a change runs after its files (an initramfs or boot loader rebuild).

use std::path::PathBuf;

use super::entry::StepRecord;
use super::JournalError;

/// Runs a step; `None` means "not run" (recorded as skipped). Output lines go to `progress`.
pub trait StepRunner {
    fn run(
        &self,
        step: &[String],
        progress: &mut dyn FnMut(&str),
    ) -> Option<Result<String, String>>;
}

/// Runs `steps` in order (their undo form when `undo`), recording each one's status and the
/// tail of its output; stops at the first that fails.
pub(super) fn run(
    steps: &mut [StepRecord],
    undo: bool,
    runner: &dyn StepRunner,
    progress: &mut dyn FnMut(&str),
) -> Result<(), JournalError> {
    for s in steps {
        let argv = if undo {
            s.undo.clone().unwrap_or_else(|| s.argv.clone())
        } else {
            s.argv.clone()
        };
        match runner.run(&argv, progress) {
            None => s.status = "skipped".into(),
            Some(Ok(out)) => {
                s.status = "ok".into();
                s.output = tail(&out);
            }
            Some(Err(out)) => {
                s.status = "failed".into();
                s.output = tail(&out);
                return Err(JournalError::StepFailed {
                    step: argv.join(" "),
                    output: tail(&out),
                });
            }
        }
    }
    Ok(())
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Runs steps from a directory of programs instead of the system's (tests: `--steps-path`),
/// or from PATH on a live root; under any other root, steps are recorded as skipped.
pub struct ProcessRunner {
    pub dir: Option<PathBuf>,
    pub live: bool,
}

/// The programs a step may start; a plan names nothing else.
pub const ALLOWED_PROGRAMS: &[&str] = &[
    "update-grub",
    "grub-mkconfig",
    "grub2-mkconfig",
    "kernelstub",
    "update-initramfs",
    "dracut",
    "mkinitcpio",
    "booster",
    "kernel-install",
    "proxmox-boot-tool",
    "grub-editenv",
    "grub2-editenv",
    "bootctl",
    "sdboot-manage",
    "prime-select",
];

impl StepRunner for ProcessRunner {
    fn run(
        &self,
        argv: &[String],
        progress: &mut dyn FnMut(&str),
    ) -> Option<Result<String, String>> {
        let prog = argv.first()?;
        let modprobe_vfio = argv == ["modprobe", "vfio-pci"];
        if !ALLOWED_PROGRAMS.contains(&prog.as_str()) && !modprobe_vfio {
            return Some(Err(format!("{prog} is not a program Passage runs")));
        }
        let path = match (&self.dir, self.live) {
            (Some(d), _) => d.join(prog),
            (None, true) => PathBuf::from(prog),
            (None, false) => return None,
        };
        let child = std::process::Command::new(&path)
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return Some(Err(format!("cannot start {prog}: {e}"))),
        };
        let mut out = String::new();
        if let Some(stdout) = child.stdout.take() {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                progress(&line);
                out.push_str(&line);
                out.push('\n');
            }
        }
        match child.wait() {
            Ok(s) if s.success() => Some(Ok(out)),
            Ok(s) => Some(Err(format!("{out}{prog} exited with {s}"))),
            Err(e) => Some(Err(e.to_string())),
        }
    }
}
