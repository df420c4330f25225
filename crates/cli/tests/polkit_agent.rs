//! The helper honours the D-Bus message flag that allows interactive authorization: polkit
//! asks the caller's own authentication agent only when the call sets it.
//!
//! A caller waits on a FIFO, then execs `busctl` with or without the flag; a real text agent
//! (pkttyagent, on a pty from `script` and a devpts of its own) is registered for that
//! caller's process first. The test rules answer "auth_self" for `nouveau.modeset=0`. Every
//! wait here has a deadline and every process is ended by its process group's id, so a
//! misbehaving agent fails this test with what it printed instead of hanging the suite.

mod common;
use common::{stderr, stdout};
use passage_testkit::bus::{TestBus, ALLOWED_UID};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the agent may take to register with polkit, and the call to end once the agent is
/// gone (busctl's own method timeout is 25 s).
const REGISTER: Duration = Duration::from_secs(30);
const CALL_END: Duration = Duration::from_secs(40);

/// A child in a process group of its own, ended with the whole group when dropped.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command, what: &str) -> Group {
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        Group(child)
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
    }

    /// Waits up to `limit`; `None` when the child is still running then.
    fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.0.try_wait() {
                return Some(st);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM to the group, then SIGKILL if it has not ended in 5 s.
    fn end(&mut self) -> Option<ExitStatus> {
        self.signal("-TERM");
        let st = self.wait_for(Duration::from_secs(5));
        if st.is_none() {
            self.signal("-KILL");
            let _ = self.0.wait();
        }
        st
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.signal("-KILL");
            let _ = self.0.wait();
        }
    }
}

fn fifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success(), "mkfifo {}", path.display());
    std::os::unix::fs::chown(path, Some(ALLOWED_UID), None).expect("chown");
}

/// Everything a reader thread gets from `r`, chunk by chunk.
fn chunks(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until the agent closes its notify fd (it is registered with polkit), failing with
/// what the agent printed if it exits first or takes longer than `REGISTER`.
fn await_registration(agent: &mut Group, ready: &Path, log: &Path) {
    let (tx, rx) = mpsc::channel();
    let path = ready.to_path_buf();
    std::thread::spawn(move || {
        let mut s = String::new();
        let r = std::fs::File::open(&path).and_then(|mut f| f.read_to_string(&mut s));
        let _ = tx.send(r);
    });
    let end = Instant::now() + REGISTER;
    let said = || std::fs::read_to_string(log).unwrap_or_default();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                r.expect("read the agent's notify FIFO");
                return;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the FIFO reader ended"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(st)) = agent.0.try_wait() {
            // Unblock the reader thread's open, then fail with the agent's words.
            let _ = std::fs::OpenOptions::new().write(true).open(ready);
            panic!("the agent exited ({st}) before registering: {}", said());
        }
        if Instant::now() >= end {
            agent.end();
            let _ = std::fs::OpenOptions::new().write(true).open(ready);
            panic!("the agent did not register in {REGISTER:?}: {}", said());
        }
    }
}

/// Opens the caller's FIFO and writes to it, giving up after `limit` (the caller died).
fn release(go: &Path, limit: Duration) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let end = Instant::now() + limit;
    loop {
        // O_NONBLOCK: ENXIO while no reader has the FIFO open, instead of blocking.
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0o4000)
            .open(go)
        {
            Ok(mut f) => {
                f.write_all(b"go\n").expect("release the caller");
                return;
            }
            Err(e) if Instant::now() >= end => panic!("the caller never read its FIFO: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn read_all(r: Option<impl Read>) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some(mut r) = r {
        let _ = r.read_to_end(&mut v);
    }
    v
}

fn call_with_agent(tb: &TestBus, interactive: bool) -> (Output, String) {
    let dir = tb.dir.path();
    let go = dir.join(format!("go-{interactive}"));
    let ready = dir.join(format!("ready-{interactive}"));
    let log = dir.join(format!("agent-{interactive}.log"));
    fifo(&go);
    fifo(&ready);
    let call = format!(
        "read x < {go}; exec busctl --address={addr} --allow-interactive-authorization={flag} call io.github.passage.Helper1 /io/github/passage/Helper1 io.github.passage.Helper1 SetKernelArguments asas 1 nouveau.modeset=0 0",
        go = go.display(),
        addr = tb.address,
        flag = if interactive { "yes" } else { "no" },
    );
    let mut caller = Group::spawn(
        Command::new("sh")
            .args(["-c", &call])
            .uid(ALLOWED_UID)
            .gid(ALLOWED_UID)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        "the caller (sh)",
    );
    // The agent closes its notify fd once polkit has it registered for the caller.
    let agent_cmd = format!(
        "exec pkttyagent --process {pid} --notify-fd 3 3>{ready}",
        pid = caller.0.id(),
        ready = ready.display()
    );
    // script gives the agent a terminal, from a devpts instance of the agent's own (in a
    // private mount namespace), so the test needs nothing of the host's ptys.
    let inner = format!(
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts && mount --bind /dev/pts/ptmx /dev/ptmx && exec setpriv --reuid={u} --regid={u} --clear-groups script -qfec '{agent_cmd}' /dev/null",
        u = ALLOWED_UID
    );
    let mut agent = Group::spawn(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &inner])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &tb.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("agent log")),
        "unshare, script (util-linux) and pkttyagent (polkitd)",
    );
    await_registration(&mut agent, &ready, &log);
    release(&go, Duration::from_secs(10));
    // The agent's screen, read while the call runs; polkit takes the prompt as dismissed when
    // the agent is ended (or, without the flag, never asks it).
    let rx = chunks(agent.0.stdout.take().expect("stdout"));
    let mut screen = String::new();
    let end = Instant::now() + Duration::from_secs(if interactive { 20 } else { 4 });
    while Instant::now() < end && !screen.contains("AUTHENTICATING FOR") {
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(200)) {
            screen.push_str(&String::from_utf8_lossy(&b));
        }
    }
    agent.end();
    let status = caller.wait_for(CALL_END);
    let Some(status) = status else {
        caller.end();
        panic!("the call did not end {CALL_END:?} after the agent was gone: {screen:?}");
    };
    let out = read_all(caller.0.stdout.take());
    let err = read_all(caller.0.stderr.take());
    let o = Output {
        status,
        stdout: out,
        stderr: err,
    };
    (o, screen)
}

#[test]
fn polkit_asks_the_users_agent_only_when_the_call_allows_interaction() {
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let (o, screen) = call_with_agent(&tb, true);
    assert!(
        screen.contains("AUTHENTICATING FOR io.github.passage."),
        "with the flag, polkit asked the agent: {screen:?}; the call: {} {}",
        stdout(&o),
        stderr(&o)
    );
    assert!(
        !o.status.success(),
        "the prompt was dismissed: {}",
        stdout(&o)
    );
    let (o, screen) = call_with_agent(&tb, false);
    assert!(
        !screen.contains("AUTHENTICATING"),
        "without the flag, no prompt: {screen:?}"
    );
    // (busctl names the D-Bus error, AccessDenied, by its errno's text.)
    assert!(!o.status.success());
    assert!(stderr(&o).contains("Access denied"), "{}", stderr(&o));
    // Nothing was changed either way.
    let h = tb.passagectl(ALLOWED_UID, &["history"]);
    assert!(!stdout(&h).contains("nouveau"), "{}", stdout(&h));
}

/// What `passagectl apply --add nouveau.modeset=0` shows at a terminal (a pty from script, on
/// a devpts instance of its own) as the allowed user, with `env` set: read until polkit's
/// prompt shows or passagectl ends; then the session is ended.
fn at_a_terminal(tb: &TestBus, env: &[(&str, &str)]) -> String {
    let cmd = format!(
        "{} apply --add nouveau.modeset=0",
        env!("CARGO_BIN_EXE_passagectl")
    );
    let inner = format!(
        "mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts && mount --bind /dev/pts/ptmx /dev/ptmx && exec setpriv --reuid={u} --regid={u} --clear-groups script -qfec '{cmd}' /dev/null",
        u = ALLOWED_UID
    );
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &inner])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &tb.address)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut session = Group::spawn(&mut c, "unshare, script and passagectl");
    let rx = chunks(session.0.stdout.take().expect("stdout"));
    let mut screen = String::new();
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end && !screen.contains("AUTHENTICATING FOR") {
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(200)) {
            screen.push_str(&String::from_utf8_lossy(&b));
        }
        if let Ok(Some(_)) = session.0.try_wait() {
            while let Ok(b) = rx.recv_timeout(Duration::from_millis(200)) {
                screen.push_str(&String::from_utf8_lossy(&b));
            }
            break;
        }
    }
    session.end();
    screen
}

/// `passagectl` at a terminal with no agent of its own (an SSH session on a headless host):
/// it starts polkit's text agent for itself, so polkit asks there for the password instead of
/// refusing. The test rules answer "auth_self" for `nouveau.modeset=0`, so polkit must ask. At
/// a terminal on a desktop (a display set) it starts none: the desktop's agent asks there.
#[test]
fn passagectl_at_a_terminal_without_an_agent_starts_one_and_polkit_asks_there() {
    let tb = TestBus::start("x570-tutorial", None, &[]);
    let screen = at_a_terminal(&tb, &[]);
    assert!(
        screen.contains("AUTHENTICATING FOR io.github.passage.configure-boot"),
        "polkit asked at passagectl's terminal: {screen:?}"
    );
    let screen = at_a_terminal(&tb, &[("DISPLAY", ":99")]);
    assert!(
        !screen.contains("AUTHENTICATING") && screen.contains("not authorized"),
        "on a desktop the desktop's agent asks, not one of passagectl's: {screen:?}"
    );
    // Nothing was changed: the prompt was never answered.
    let h = tb.passagectl(ALLOWED_UID, &["history"]);
    assert!(!stdout(&h).contains("nouveau"), "{}", stdout(&h));
}
