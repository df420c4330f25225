//! The commands a change runs after its files (an initramfs or boot loader rebuild).

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

/// The programs a step may start; a plan names nothing else.
pub const ALLOWED_PROGRAMS: &[&str] = &[
    "update-grub",
    "grub-mkconfig",
    "grub2-mkconfig",
    "kernelstub",
    "update-initramfs",
    "dracut",
    "mkinitcpio",
    // booster's script that builds every installed kernel's image (not in PATH).
    passage_core::plan::booster::REGENERATE,
    "kernel-install",
    "proxmox-boot-tool",
    "grub-editenv",
    "grub2-editenv",
    "bootctl",
    "sdboot-manage",
    "prime-select",
    // Sessions: AllowedCPUs of system.slice, user.slice and init.scope (--runtime only).
    "systemctl",
];
