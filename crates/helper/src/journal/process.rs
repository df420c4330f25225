//! Running a step's program: from a fixed list of system directories (never the caller's
//! PATH), with a clean environment, a time limit that ends its whole process group, and its
//! output read as bytes (any encoding), bounded.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;

use super::steps::{StepRunner, ALLOWED_PROGRAMS};

/// Where programs are looked up, in order, and the PATH they run with.
pub const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long a rebuild may take (dracut --regenerate-all on many kernels is minutes).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Output kept per step (the tail); progress lines are cut to this many bytes.
const OUTPUT_CAP: usize = 64 * 1024;
const LINE_CAP: usize = 2000;

/// Runs steps from a directory of programs instead of the system's (tests: `--steps-path`),
/// or from the system directories on a live root; under any other root, steps are recorded
/// as skipped.
pub struct ProcessRunner {
    pub dir: Option<PathBuf>,
    pub live: bool,
    pub timeout: Duration,
}

impl ProcessRunner {
    /// The program's absolute path: in the test directory (by its file name), the allowed
    /// absolute path itself, or the first system directory that has it.
    fn resolve(&self, prog: &str) -> Option<PathBuf> {
        let p = Path::new(prog);
        match &self.dir {
            Some(d) => Some(d.join(p.file_name()?)),
            None if p.is_absolute() => p.is_file().then(|| p.to_path_buf()),
            None => SYSTEM_PATH
                .split(':')
                .map(|d| Path::new(d).join(prog))
                .find(|p| p.is_file()),
        }
    }
}

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
        if self.dir.is_none() && !self.live {
            return None;
        }
        let Some(path) = self.resolve(prog) else {
            return Some(Err(format!(
                "{prog} is not installed (looked in {SYSTEM_PATH})"
            )));
        };
        let r = run_bounded(&path, &argv[1..], self.timeout, progress);
        super::crash::crash_point(format_args!("ran {}", argv.join(" ")));
        Some(r)
    }
}

/// Runs `path args` in its own process group with a clean environment; kills the group when
/// `timeout` passes. Ok with the output's tail when it exits 0.
pub fn run_bounded(
    path: &Path,
    args: &[String],
    timeout: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<String, String> {
    let name = path.display().to_string();
    let mut child = Command::new(path)
        .args(args)
        .env_clear()
        .env("PATH", SYSTEM_PATH)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let pid = child.id() as i32;
    // The watchdog waits for the end (a message) or the time limit, whichever comes first: a
    // step that ends is not kept waiting for a polling interval.
    let (done, ended) = std::sync::mpsc::channel::<()>();
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let timed_out = timed_out.clone();
        std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(timeout) {
                timed_out.store(true, Ordering::SeqCst);
                // The whole group (a rebuild's children hold the output pipe too), by
                // the system's kill, as the workspace has no unsafe code.
                let _ = Command::new("/bin/kill")
                    .args(["-s", "KILL", "--", &format!("-{pid}")])
                    .env_clear()
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        })
    };
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.by_ref().take(1 << 20).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            let line = cut(line, LINE_CAP);
            progress(line);
            out.push_str(line);
            out.push('\n');
            if out.len() > OUTPUT_CAP {
                let cut_at = out.len() - OUTPUT_CAP / 2;
                let cut_at = (cut_at..out.len())
                    .find(|i| out.is_char_boundary(*i))
                    .unwrap_or(out.len());
                out.drain(..cut_at);
            }
        }
    }
    let status = child.wait();
    let _ = done.send(());
    let _ = watchdog.join();
    if timed_out.load(Ordering::SeqCst) {
        return Err(format!(
            "{out}{name} did not finish in {} minutes and was stopped",
            timeout.as_secs() / 60
        ));
    }
    match status {
        Ok(s) if s.success() => Ok(out),
        Ok(s) => Err(format!("{out}{name} exited with {s}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes an executable script. The file is written by `cp`, not by this process: a test
    /// running beside it that forks while this process held the file open for writing would
    /// make its exec fail with "Text file busy" (ETXTBSY).
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        let src = dir.join(format!(".{name}.src"));
        std::fs::write(&src, format!("#!/bin/sh\n{body}\n")).expect("write");
        let st = std::process::Command::new("cp")
            .arg(&src)
            .arg(&p)
            .status()
            .expect("cp");
        assert!(st.success(), "cp {}", p.display());
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        p
    }

    #[test]
    fn output_in_any_encoding_is_read_and_bounded() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = script(
            d.path(),
            "update-initramfs",
            r#"printf 'caf\351 latin-1\n'; i=0; while [ $i -lt 3000 ]; do echo "line $i of a long rebuild log"; i=$((i+1)); done; echo "PATH=$PATH HOME=${HOME:-unset}""#,
        );
        let mut lines = 0;
        let out = run_bounded(&p, &[], Duration::from_secs(30), &mut |_| lines += 1).expect("runs");
        assert_eq!(lines, 3002, "every line reached progress");
        assert!(out.len() <= OUTPUT_CAP + LINE_CAP, "{}", out.len());
        assert!(
            out.ends_with(&format!("PATH={SYSTEM_PATH} HOME=unset\n")),
            "clean environment: {}",
            &out[out.len() - 100..]
        );
    }

    #[test]
    fn a_step_that_hangs_is_stopped_with_its_children() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = script(
            d.path(),
            "dracut",
            "echo start; sleep 300 & sleep 300; echo never",
        );
        let t = std::time::Instant::now();
        let err = run_bounded(&p, &[], Duration::from_secs(1), &mut |_| {}).expect_err("stopped");
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
        assert!(
            err.contains("did not finish") && err.starts_with("start\n"),
            "{err}"
        );
    }

    #[test]
    fn programs_come_from_the_system_directories_not_the_callers_path() {
        let r = ProcessRunner {
            dir: None,
            live: true,
            timeout: STEP_TIMEOUT,
        };
        assert!(r.resolve("sh").is_some_and(|p| p.is_absolute()));
        let err = r
            .run(&["no-such-program".into()], &mut |_| {})
            .expect("ran")
            .expect_err("refused");
        assert!(err.contains("not a program Passage runs"), "{err}");
        // An absolute path runs only when it is the one allowed (booster's script), and a
        // test directory holds it by its file name.
        let err = r
            .run(&["/bin/sh".into()], &mut |_| {})
            .expect("ran")
            .expect_err("refused");
        assert!(err.contains("not a program Passage runs"), "{err}");
        let d = tempfile::tempdir().expect("tempdir");
        script(d.path(), "regenerate_images", "echo rebuilt");
        let t = ProcessRunner {
            dir: Some(d.path().to_path_buf()),
            live: false,
            timeout: STEP_TIMEOUT,
        };
        let argv = [passage_core::plan::booster::REGENERATE.to_string()];
        let out = t.run(&argv, &mut |_| {}).expect("ran").expect("ok");
        assert_eq!(out, "rebuilt\n");
    }
}
