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

/// Runs `steps` in order from `from` (their undo form when `undo`), recording each one's
/// status and the tail of its output; stops at the first that fails. `record` is called with
/// every step's state before a step runs (`running`) and after it ran, so the journal on disk
/// always says which rebuild was under way when the helper died.
pub(super) fn run(
    steps: &mut [StepRecord],
    undo: bool,
    from: usize,
    runner: &dyn StepRunner,
    progress: &mut dyn FnMut(&str),
    record: &mut dyn FnMut(&[StepRecord]) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    for i in from..steps.len() {
        let s = &steps[i];
        let argv = if undo {
            s.undo.clone().unwrap_or_else(|| s.argv.clone())
        } else {
            s.argv.clone()
        };
        steps[i].status = RUNNING.into();
        record(steps)?;
        let outcome = runner.run(&argv, progress);
        let s = &mut steps[i];
        let failed = match outcome {
            None => {
                s.status = "skipped".into();
                None
            }
            Some(Ok(out)) => {
                s.status = OK.into();
                s.output = tail(&out);
                None
            }
            Some(Err(out)) => {
                s.status = "failed".into();
                s.output = tail(&out);
                Some(JournalError::StepFailed {
                    step: argv.join(" "),
                    output: tail(&out),
                })
            }
        };
        record(steps)?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(())
}

/// The first step that has not finished (`pending`, `running` or `failed`): where a rebuild
/// the helper did not see through starts again.
pub(super) fn first_unfinished(steps: &[StepRecord]) -> usize {
    steps
        .iter()
        .position(|s| s.status != OK && s.status != "skipped")
        .unwrap_or(steps.len())
}

/// Whether the rebuild had begun: a step ran or is running (every file was written first).
pub(super) fn begun(steps: &[StepRecord]) -> bool {
    steps.iter().any(|s| s.status != PENDING)
}

/// A step's status before it runs.
pub const PENDING: &str = "pending";
/// A step's status while it runs.
pub const RUNNING: &str = "running";
/// A step's status once it succeeded.
pub const OK: &str = "ok";

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
    // Looking Glass's shared-memory file made with its owner (tmpfiles.d).
    "systemd-tmpfiles",
    // Sessions: AllowedCPUs of system.slice, user.slice and init.scope (--runtime only); the
    // display manager stopped and started for an only-GPU session.
    "systemctl",
    // Only-GPU sessions: users' graphical sessions ended, the card's driver stack unloaded
    // and loaded back, the watchdog timer started.
    "loginctl",
    "modprobe",
    "systemd-run",
];
