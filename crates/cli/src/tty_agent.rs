//! polkit's text agent for a caller at a terminal with none of its own, as `pkexec` and
//! systemd's tools start one: a user in an SSH session on a headless host (`passagectl apply`
//! there, or `passagectl --connect … apply` here, which runs it there through `ssh -t`).
//! Without an agent polkit cannot ask for a password and refuses. The agent is registered for
//! this process alone (`--process`): a desktop's agent stays the one that asks for everything
//! else, and where a display is set (a terminal on the desktop) none is started, so the
//! desktop's dialog asks as it does for every app. `--notify-fd` says when it is registered,
//! so the helper call comes after, never racing it.

use std::io::{IsTerminal, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the agent may take to register.
const REGISTER: Duration = Duration::from_secs(10);

/// The running agent; ended when dropped (after the helper call).
pub struct TtyAgent(Child);

impl Drop for TtyAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the agent for this process when stdin is a terminal, no display is set and the
/// caller is not root (polkit never asks root); `None` where it is not wanted or cannot start
/// (no pkttyagent: polkit then refuses as before, and the helper's words say so).
pub fn start() -> Option<TtyAgent> {
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if desktop || !std::io::stdin().is_terminal() || rustix::process::geteuid().is_root() {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let fifo = dir.path().join("ready");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_bits_truncate(0o600),
        0,
    )
    .ok()?;
    // The shell opens the FIFO as the agent's fd 3 and execs it: no descriptor juggling here.
    let child = Command::new("sh")
        .args([
            "-c",
            "exec pkttyagent --process \"$1\" --notify-fd 3 3>\"$2\"",
            "sh",
            &std::process::id().to_string(),
        ])
        .arg(&fifo)
        // Its prompts go to the controlling terminal (/dev/tty), not to stdout or stderr:
        // those stay passagectl's own output alone (`history --json > file 2>&1` stays JSON),
        // and an agent that cannot register (no polkit there) says nothing of it.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut agent = TtyAgent(child);
    // Opening the FIFO waits for the writer; EOF comes when the agent closes it (registered) or
    // ends (not there, or refused): told apart by whether it still runs.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::fs::File::open(&fifo).and_then(|mut f| f.read_to_end(&mut Vec::new()));
        let _ = tx.send(r.is_ok());
        drop(dir);
    });
    match rx.recv_timeout(REGISTER) {
        Ok(true) if matches!(agent.0.try_wait(), Ok(None)) => Some(agent),
        _ => {
            let _ = agent.0.kill();
            None
        }
    }
}
