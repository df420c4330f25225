//! The journal: every change the helper makes, with the original bytes, mode and owner of each
//! file, so that `Undo` restores them exactly; and atomic writes, so that a file is always old
//! or new, never torn — even when the helper is killed in the middle.
//!
//! Layout (below the root prefix): `/var/lib/passage/journal/NNNNNN/entry.json` and
//! `before/K`, `after/K` copies of each file.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use passage_core::plan::Plan;
use serde::{Deserialize, Serialize};

pub const JOURNAL_DIR: &str = "var/lib/passage/journal";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path} changed since the plan was made; nothing was written. Plan again and retry.")]
    Stale { path: String },
    #[error("{path} was changed after Passage applied change {id}; undoing would throw those edits away. Revert them by hand, or edit the file back to what Passage wrote.")]
    ChangedSince { path: String, id: String },
    #[error("there is no change {0} in the history; `passagectl history` lists them")]
    NoSuchChange(String),
    #[error("change {id} cannot be undone: it is {state}")]
    NotUndoable { id: String, state: String },
    #[error("{step} failed, so every file was put back as it was: {output}")]
    StepFailed { step: String, output: String },
    #[error("writing {path} failed ({why}); every file was put back as it was")]
    Io { path: String, why: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Files are being written (seen at start: the helper died; roll back).
    Applying,
    Applied,
    /// A step failed or the helper died; every file is as before.
    RolledBack,
    /// Being undone (seen at start: finish the undo).
    Undoing,
    Undone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub existed: bool,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub argv: Vec<String>,
    pub undo: Option<Vec<String>>,
    pub summary: String,
    /// `ok`, `failed`, or `skipped` (a test root without step programs).
    pub status: String,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub created: u64,
    /// The caller's uid, as the bus reported it.
    pub uid: u32,
    pub verb: String,
    pub summary: String,
    pub state: State,
    pub files: Vec<FileRecord>,
    pub steps: Vec<StepRecord>,
    /// Devices bound to vfio-pci by this change, with the driver each had (runtime changes).
    #[serde(default)]
    pub bound: Vec<(String, Option<String>)>,
    /// Hugepages reserved by this change: (page size in KiB, count before, count after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hugepages: Option<(u64, u64, u64)>,
}

/// Runs a step; `None` means "not run" (recorded as skipped). Output lines go to `progress`.
pub trait StepRunner {
    fn run(
        &self,
        step: &[String],
        progress: &mut dyn FnMut(&str),
    ) -> Option<Result<String, String>>;
}

/// The journal below a root.
pub struct Journal {
    root: PathBuf,
}

fn io(path: &str, e: impl std::fmt::Display) -> JournalError {
    JournalError::Io {
        path: path.to_string(),
        why: e.to_string(),
    }
}

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the dir.
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.passage-tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

fn remove_synced(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Journal {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(JOURNAL_DIR)
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// A change id is six digits; anything else is refused before it is used as a path.
    pub fn valid_id(id: &str) -> bool {
        id.len() == 6 && id.bytes().all(|b| b.is_ascii_digit())
    }

    fn next_id(&self) -> String {
        let max = fs::read_dir(self.dir())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        format!("{:06}", max + 1)
    }

    fn save(&self, e: &Entry) -> Result<(), JournalError> {
        let p = self.dir().join(&e.id).join("entry.json");
        let bytes = serde_json::to_vec_pretty(e).map_err(|x| io("journal", x))?;
        atomic_write(&p, &bytes, 0o600, 0, 0).map_err(|x| io(&p.to_string_lossy(), x))
    }

    pub fn load(&self, id: &str) -> Result<Entry, JournalError> {
        if !Self::valid_id(id) {
            return Err(JournalError::NoSuchChange(
                id.chars()
                    .take(40)
                    .collect::<String>()
                    .escape_debug()
                    .to_string(),
            ));
        }
        let p = self.dir().join(id).join("entry.json");
        let bytes = fs::read(&p).map_err(|_| JournalError::NoSuchChange(id.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|x| io(&p.to_string_lossy(), x))
    }

    /// Every entry, newest first.
    pub fn history(&self) -> Vec<Entry> {
        let mut ids: Vec<String> = fs::read_dir(self.dir())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter(|n| Self::valid_id(n))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.iter()
            .rev()
            .filter_map(|id| self.load(id).ok())
            .collect()
    }

    fn copy(&self, id: &str, which: &str, k: usize) -> PathBuf {
        self.dir().join(id).join(which).join(k.to_string())
    }

    /// Applies `plan`: journals the originals, writes every file atomically, runs the steps.
    /// If anything fails, every file is put back and the steps run again on the old files.
    pub fn apply(
        &self,
        plan: &Plan,
        verb: &str,
        uid: u32,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Entry, JournalError> {
        // The plan was made from what is on disk now; refuse if that moved under us.
        for c in &plan.changes {
            if fs::read(self.host(&c.path)).ok() != c.before {
                return Err(JournalError::Stale {
                    path: c.path.clone(),
                });
            }
        }
        let id = self.next_id();
        let mut files = Vec::new();
        for (k, c) in plan.changes.iter().enumerate() {
            let hp = self.host(&c.path);
            let (mode, fuid, gid) = match fs::metadata(&hp) {
                Ok(m) => (m.mode() & 0o7777, m.uid(), m.gid()),
                Err(_) => (c.mode, 0, 0),
            };
            if let Some(b) = &c.before {
                atomic_write(&self.copy(&id, "before", k), b, 0o600, 0, 0)
                    .map_err(|x| io(&c.path, x))?;
            }
            if let Some(a) = &c.after {
                atomic_write(&self.copy(&id, "after", k), a, 0o600, 0, 0)
                    .map_err(|x| io(&c.path, x))?;
            }
            files.push(FileRecord {
                path: c.path.clone(),
                existed: c.before.is_some(),
                mode,
                uid: fuid,
                gid,
                removed: c.after.is_none(),
            });
        }
        let summary = plan
            .changes
            .iter()
            .map(|c| c.summary.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let mut entry = Entry {
            id: id.clone(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            uid,
            verb: verb.to_string(),
            summary,
            state: State::Applying,
            files,
            steps: plan
                .steps
                .iter()
                .map(|s| StepRecord {
                    argv: s.argv.clone(),
                    undo: s.undo.clone(),
                    summary: s.summary.clone(),
                    status: "pending".into(),
                    output: String::new(),
                })
                .collect(),
            bound: Vec::new(),
            hugepages: None,
        };
        self.save(&entry)?;
        // Test hook: a pause between files, so a test can kill the helper mid-apply.
        let pause = std::env::var("PASSAGE_HELPER_TEST_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|_| self.root != Path::new("/"));
        for (k, c) in plan.changes.iter().enumerate() {
            let f = &entry.files[k];
            let r = match &c.after {
                Some(a) => atomic_write(&self.host(&c.path), a, f.mode, f.uid, f.gid),
                None => remove_synced(&self.host(&c.path)),
            };
            if let Err(x) = r {
                self.restore(&entry);
                entry.state = State::RolledBack;
                self.save(&entry)?;
                return Err(io(&c.path, x));
            }
            if let Some(ms) = pause {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        }
        entry.state = State::Applied;
        self.save(&entry)?;
        if let Err(e) = self.run_steps(&mut entry, false, runner, progress) {
            self.restore(&entry);
            // The old files need their regeneration too.
            let _ = self.run_steps(&mut entry.clone(), false, runner, &mut |_| {});
            entry.state = State::RolledBack;
            self.save(&entry)?;
            return Err(e);
        }
        self.save(&entry)?;
        Ok(entry)
    }

    fn run_steps(
        &self,
        entry: &mut Entry,
        undo: bool,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(), JournalError> {
        for s in &mut entry.steps {
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

    /// Puts every file of `entry` back as it was before (best effort, each write atomic).
    fn restore(&self, entry: &Entry) {
        for (k, f) in entry.files.iter().enumerate().rev() {
            let hp = self.host(&f.path);
            if f.existed {
                if let Ok(b) = fs::read(self.copy(&entry.id, "before", k)) {
                    let _ = atomic_write(&hp, &b, f.mode, f.uid, f.gid);
                }
            } else {
                let _ = remove_synced(&hp);
            }
        }
    }

    /// Undoes an applied change: every file back to its original bytes, mode and owner; the
    /// steps run again. Refuses when a file was edited after Passage wrote it.
    pub fn undo(
        &self,
        id: &str,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Entry, JournalError> {
        let mut entry = self.load(id)?;
        if entry.state != State::Applied {
            let state = serde_json::to_value(entry.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(JournalError::NotUndoable {
                id: id.to_string(),
                state,
            });
        }
        for (k, f) in entry.files.iter().enumerate() {
            let now = fs::read(self.host(&f.path)).ok();
            let wrote = if f.removed {
                None
            } else {
                fs::read(self.copy(id, "after", k)).ok()
            };
            if now != wrote {
                return Err(JournalError::ChangedSince {
                    path: f.path.clone(),
                    id: id.to_string(),
                });
            }
        }
        entry.state = State::Undoing;
        self.save(&entry)?;
        self.restore(&entry);
        let r = self.run_steps(&mut entry, true, runner, progress);
        entry.state = State::Undone;
        self.save(&entry)?;
        r.map(|()| entry)
    }

    /// Records a change made outside files (binding devices now), for the history and undo.
    pub fn record(
        &self,
        verb: &str,
        uid: u32,
        summary: String,
        bound: Vec<(String, Option<String>)>,
        state: State,
    ) -> Result<Entry, JournalError> {
        let e = Entry {
            id: self.next_id(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            uid,
            verb: verb.to_string(),
            summary,
            state,
            files: Vec::new(),
            steps: Vec::new(),
            bound,
            hugepages: None,
        };
        self.save(&e)?;
        Ok(e)
    }

    /// Records a hugepage reservation.
    pub fn record_hugepages(
        &self,
        uid: u32,
        summary: String,
        pages: (u64, u64, u64),
    ) -> Result<Entry, JournalError> {
        let mut e = self.record(
            "reserve-hugepages",
            uid,
            summary,
            Vec::new(),
            State::Applied,
        )?;
        e.hugepages = Some(pages);
        self.save(&e)?;
        Ok(e)
    }

    /// Sets the state of an entry (a runtime change undone).
    pub fn mark(&self, id: &str, state: State) -> Result<(), JournalError> {
        let mut e = self.load(id)?;
        e.state = state;
        self.save(&e)
    }

    /// At start: an apply the helper did not finish is rolled back; an undo it did not finish
    /// is finished. Returns the ids it repaired.
    pub fn recover(&self) -> Vec<String> {
        let mut fixed = Vec::new();
        for mut e in self.history() {
            let next = match e.state {
                State::Applying => State::RolledBack,
                State::Undoing => State::Undone,
                _ => continue,
            };
            self.restore(&e);
            e.state = next;
            if self.save(&e).is_ok() {
                fixed.push(e.id.clone());
            }
        }
        fixed
    }
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
