//! The journal: every change the helper makes, with the original bytes, mode and owner of each
//! file, so that `Undo` restores them exactly; and atomic writes, so that a file is always old
//! or new, never torn — even when the helper is killed in the middle. Each kind of change is
//! its own type ([`Change`]); [`Journal::undo`] undoes each its own way.
//!
//! Layout (below the root prefix): `/var/lib/passage/journal/NNNNNN/entry.json` and
//! `before/K`, `after/K` copies of each file. Ids are numbers of six digits or more; the
//! journal keeps what is in effect and the newest [`KEEP_ENDED`] ended changes
//! ([`Journal::rotate`]).

mod crash;
mod entry;
mod process;
mod steps;
mod write;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use passage_core::host::PciAddress;
use passage_core::plan::Plan;

pub use crash::crash_point;
pub use entry::{
    Binding, Change, Entry, FileChange, FileRecord, Hugepages, Restored, Session, State,
    StepRecord, Taken,
};
pub use process::{ProcessRunner, STEP_TIMEOUT};
pub use steps::{StepRunner, ALLOWED_PROGRAMS};
pub use write::atomic_write;
use write::remove_synced;

/// A file's bytes, `None` when it is absent.
type Bytes = Option<Vec<u8>>;

pub const JOURNAL_DIR: &str = "var/lib/passage/journal";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path} changed since the plan was made; nothing was written. Plan again and retry.")]
    Stale { path: String },
    #[error("{path} is a symbolic link to {target}; Passage would replace the link with a file, so nothing was written. Edit {target} by hand, or replace the link with a copy of it, then plan again.")]
    Link { path: String, target: String },
    #[error("{path} was changed after Passage applied change {id}; undoing would throw those edits away. Revert them by hand, or edit the file back to what Passage wrote.")]
    ChangedSince { path: String, id: String },
    #[error("there is no change {0} in the history; `passagectl history` lists them")]
    NoSuchChange(String),
    #[error("change {id} cannot be undone: it is {state}")]
    NotUndoable { id: String, state: String },
    #[error("{step} failed, so every file was put back as it was: {output}")]
    StepFailed { step: String, output: String },
    #[error("every file of change {id} is back as it was, but {step} failed, so the change stays 'undoing': {output}. Fix the cause and Undo it again (the helper also tries at its next start)")]
    UndoRebuild {
        id: String,
        step: String,
        output: String,
    },
    #[error("change {id} cannot be undone yet: {what}, change {newer}, took hugepages of the same size after it; undo change {newer} first (or shut that VM down), then this one")]
    NewerOnPool {
        id: String,
        newer: String,
        what: String,
    },
    #[error("writing {path} failed ({why}); every file was put back as it was")]
    Io { path: String, why: String },
    /// A runtime change could not be taken back (the kernel's words).
    #[error("{0}")]
    Host(String),
    #[error("change {id} could not put back {paths}; it stays applied, so Undo can be tried again once the cause is fixed (the files Passage could put back are back)")]
    Restore { id: String, paths: String },
}

fn io(path: &str, e: impl std::fmt::Display) -> JournalError {
    JournalError::Io {
        path: path.to_string(),
        why: e.to_string(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The journal below a root.
pub struct Journal {
    root: PathBuf,
}

impl Journal {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The root prefix it lives below.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self) -> PathBuf {
        self.root.join(JOURNAL_DIR)
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// A change id is six digits or more (core's rule); anything else is refused before it
    /// is used as a path.
    pub fn valid_id(id: &str) -> bool {
        passage_core::verb_args::change_id(id)
    }

    /// The ids of the entries' directories, as numbers, in no order.
    fn ids(&self) -> Vec<u64> {
        fs::read_dir(self.dir())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter(|n| Self::valid_id(n))
                    .filter_map(|n| id_number(&n))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn next_id(&self) -> String {
        format_id(self.ids().into_iter().max().unwrap_or(0) + 1)
    }

    pub(crate) fn save(&self, e: &Entry) -> Result<(), JournalError> {
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

    /// Every entry, newest first (by number: 1000000 is newer than 999999).
    pub fn history(&self) -> Vec<Entry> {
        let mut ids = self.ids();
        ids.sort_unstable();
        ids.iter()
            .rev()
            .filter_map(|n| self.load(&format_id(*n)).ok())
            .collect()
    }

    /// Prunes the journal: every change still in effect or half done stays (Applying, Applied,
    /// Undoing: Undo and recovery need them), and of the ended ones (rolled back, undone, and
    /// records of devices given back) the newest `keep_ended`; older ended ones are removed
    /// with their copies, as are directories a crash left without an entry (an apply cut off
    /// before its first save, which changed nothing). Runs under Passage's lock, at every
    /// start of the helper ([`Self::recover`]). Returns how many it removed.
    pub fn rotate(&self, keep_ended: usize) -> usize {
        let mut ids = self.ids();
        ids.sort_unstable();
        let mut ended = 0;
        let mut removed = 0;
        for n in ids.into_iter().rev() {
            let id = format_id(n);
            let drop = match self.load(&id) {
                Ok(e) if ended_entry(&e) => {
                    ended += 1;
                    ended > keep_ended
                }
                Ok(_) => false,
                Err(_) => !self.dir().join(&id).join("entry.json").exists(),
            };
            if drop && fs::remove_dir_all(self.dir().join(&id)).is_ok() {
                removed += 1;
            }
        }
        removed
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
            // A rename over a link replaces the link (an EFI grubenv, a config kept elsewhere).
            if let Ok(target) = fs::read_link(self.host(&c.path)) {
                return Err(JournalError::Link {
                    path: c.path.clone(),
                    target: target.to_string_lossy().into_owned(),
                });
            }
            if fs::read(self.host(&c.path)).ok() != c.before {
                return Err(JournalError::Stale {
                    path: c.path.clone(),
                });
            }
        }
        let id = self.next_id();
        let files = self.keep_originals(plan, &id)?;
        let summary = plan
            .changes
            .iter()
            .map(|c| c.summary.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let steps = plan
            .steps
            .iter()
            .map(|s| StepRecord {
                argv: s.argv.clone(),
                undo: s.undo.clone(),
                summary: s.summary.clone(),
                status: steps::PENDING.into(),
                output: String::new(),
            })
            .collect();
        let mut entry = Entry {
            id,
            created: now(),
            uid,
            verb: verb.to_string(),
            summary,
            state: State::Applying,
            change: Change::Files(FileChange { files, steps }),
        };
        self.save(&entry)?;
        self.write_files(plan, &mut entry)?;
        // Still Applying: the change is applied once its rebuild has finished, not before.
        match self.run_steps(&mut entry, false, 0, runner, progress) {
            Ok(()) => {
                entry.state = State::Applied;
                self.save(&entry)?;
                Ok(entry)
            }
            Err(e) => self.roll_back(entry, e, runner),
        }
    }

    /// Runs a file change's steps from `from`, saving the entry before and after each one
    /// (so the journal names the step that was running when the helper died).
    fn run_steps(
        &self,
        entry: &mut Entry,
        undo: bool,
        from: usize,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(), JournalError> {
        let Change::Files(fc) = &entry.change else {
            return Ok(());
        };
        let mut now = fc.steps.clone();
        let r = {
            let base = &*entry;
            steps::run(&mut now, undo, from, runner, progress, &mut |s| {
                self.save(&with_steps(base, s))
            })
        };
        if let Change::Files(fc) = &mut entry.change {
            fc.steps = now;
        }
        r
    }

    /// An apply whose rebuild failed (`why`): every file back, the rebuild run again on the
    /// old files, the change RolledBack; or, when a file cannot be put back, left Applied
    /// (partly) so Undo can finish it. Always an error.
    fn roll_back(
        &self,
        mut entry: Entry,
        why: JournalError,
        runner: &dyn StepRunner,
    ) -> Result<Entry, JournalError> {
        let Some(fc) = entry.files().cloned() else {
            return Err(why);
        };
        let failed = self.restore(&entry.id, &fc);
        if !failed.is_empty() {
            // Still applied (partly): Undo can finish it.
            entry.state = State::Applied;
            self.save(&entry)?;
            return Err(restore_error(&entry.id, &failed));
        }
        // The old files need their regeneration too.
        let mut old = fc.steps.clone();
        let _ = steps::run(&mut old, false, 0, runner, &mut |_| {}, &mut |_| Ok(()));
        entry.state = State::RolledBack;
        self.save(&entry)?;
        Err(why)
    }

    /// Keeps a copy of each file before and after, with its mode and owner now.
    fn keep_originals(&self, plan: &Plan, id: &str) -> Result<Vec<FileRecord>, JournalError> {
        let mut files = Vec::new();
        for (k, c) in plan.changes.iter().enumerate() {
            let hp = self.host(&c.path);
            let (mode, fuid, gid) = match fs::metadata(&hp) {
                Ok(m) => (m.mode() & 0o7777, m.uid(), m.gid()),
                Err(_) => (c.mode, 0, 0),
            };
            if let Some(b) = &c.before {
                atomic_write(&self.copy(id, "before", k), b, 0o600, 0, 0)
                    .map_err(|x| io(&c.path, x))?;
            }
            if let Some(a) = &c.after {
                atomic_write(&self.copy(id, "after", k), a, 0o600, 0, 0)
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
        Ok(files)
    }

    /// Writes the plan's files; on a failure puts every one back and records the rollback.
    fn write_files(&self, plan: &Plan, entry: &mut Entry) -> Result<(), JournalError> {
        let Some(fc) = entry.files().cloned() else {
            return Ok(());
        };
        // Test hook: a pause between files, so a test can kill the helper mid-apply.
        let pause = std::env::var("PASSAGE_HELPER_TEST_PAUSE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|_| self.root != Path::new("/"));
        for (k, c) in plan.changes.iter().enumerate() {
            let f = &fc.files[k];
            let r = match &c.after {
                Some(a) => atomic_write(&self.host(&c.path), a, f.mode, f.uid, f.gid),
                None => remove_synced(&self.host(&c.path)),
            };
            if let Err(x) = r {
                let failed = self.restore(&entry.id, &fc);
                // Only a complete rollback is a rollback; otherwise the change stays applied
                // (partly), and Undo can finish it.
                entry.state = if failed.is_empty() {
                    State::RolledBack
                } else {
                    State::Applied
                };
                self.save(entry)?;
                return Err(if failed.is_empty() {
                    io(&c.path, x)
                } else {
                    restore_error(&entry.id, &failed)
                });
            }
            if let Some(ms) = pause {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
            // Test hook: a bug in the middle of an apply (test roots only).
            if self.root != Path::new("/")
                && std::env::var_os("PASSAGE_HELPER_TEST_PANIC").is_some()
            {
                panic!("test panic after writing {}", c.path);
            }
        }
        Ok(())
    }

    /// One file of a change as it is now, as Passage wrote it, and as it was before (each
    /// `None` where the file is, or was, absent).
    fn versions(&self, id: &str, k: usize, f: &FileRecord) -> (Bytes, Bytes, Bytes) {
        let now = fs::read(self.host(&f.path)).ok();
        let wrote = (!f.removed)
            .then(|| fs::read(self.copy(id, "after", k)).ok())
            .flatten();
        let before = f
            .existed
            .then(|| fs::read(self.copy(id, "before", k)).ok())
            .flatten();
        (now, wrote, before)
    }

    /// Puts one file of a change back as it was before (atomically), or removes it.
    fn put_back(&self, id: &str, k: usize, f: &FileRecord) -> std::io::Result<()> {
        let hp = self.host(&f.path);
        if f.existed {
            let b = fs::read(self.copy(id, "before", k))?;
            atomic_write(&hp, &b, f.mode, f.uid, f.gid)
        } else {
            remove_synced(&hp)
        }
    }

    /// Puts every file of a file change back as it was before, each write atomic; returns the
    /// files it could not put back, with why.
    fn restore(&self, id: &str, fc: &FileChange) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        for (k, f) in fc.files.iter().enumerate().rev() {
            if let Err(e) = self.put_back(id, k, f) {
                failed.push((f.path.clone(), e.to_string()));
            }
        }
        failed
    }

    /// Undoes an applied change, each kind its own way: files back to their original bytes,
    /// mode and owner, with the steps run again (refused when a file was edited after Passage
    /// wrote it); devices back to their drivers; hugepages back to the count before. Returns
    /// what was done, in words.
    pub fn undo(
        &self,
        id: &str,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<String, JournalError> {
        let entry = self.load(id)?;
        // Undoing: an undo whose rebuild failed or was cut off, asked again.
        if !matches!(entry.state, State::Applied | State::Undoing) {
            return Err(JournalError::NotUndoable {
                id: id.to_string(),
                state: entry.state.name().to_string(),
            });
        }
        match entry.change.clone() {
            Change::Files(fc) => self.undo_files(entry, fc, runner, progress),
            Change::Binding(_) | Change::Hugepages(_) => self.undo_runtime(entry),
            Change::Session(s) => crate::session::undo(self, entry, s, runner),
            Change::Restored(_) => Err(JournalError::NotUndoable {
                id: id.to_string(),
                state: "a record of devices given back to their drivers; bind them again to take them back".into(),
            }),
        }
    }

    /// Undoes a binding (devices back to their drivers) or a hugepage reservation (the pool
    /// back to the count before): Undoing while the kernel is asked, Undone after, so an undo
    /// cut off is finished by recovery.
    fn undo_runtime(&self, mut entry: Entry) -> Result<String, JournalError> {
        if let Change::Hugepages(h) = &entry.change {
            if let Some((newer, what)) = self.newer_on_pool(&entry.id, h.size_kib) {
                return Err(JournalError::NewerOnPool {
                    id: entry.id.clone(),
                    newer,
                    what,
                });
            }
        }
        if let Change::Binding(b) = &entry.change {
            // Not while a VM holds the group (an unbind would hang).
            let found = crate::sysfs::Found::joined(&b.bound, &b.overrides);
            let devs: Vec<PciAddress> = found.iter().map(|f| f.address).collect();
            crate::give_back::not_held(&self.root, &devs).map_err(JournalError::Host)?;
        }
        entry.state = State::Undoing;
        self.save(&entry)?;
        let done = match &entry.change {
            Change::Binding(b) => {
                // Back to the drivers they had, and the overrides someone else had set.
                let found = crate::sysfs::Found::joined(&b.bound, &b.overrides);
                crate::sysfs::give_back(&self.root, &found).map(|now| {
                    now.iter()
                        .map(|(a, d)| format!("{a} now {}", d.as_deref().unwrap_or("unbound")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
            }
            Change::Hugepages(h) => crate::sysfs::set_hugepages(&self.root, h.size_kib, h.before)
                .map(|now| format!("{now} hugepages of {} KiB reserved now", h.size_kib)),
            _ => Ok(String::new()),
        };
        let done = match done {
            Ok(d) => d,
            Err(why) => {
                // The kernel said no: nothing (or not all) was taken back; still applied.
                entry.state = State::Applied;
                self.save(&entry)?;
                return Err(JournalError::Host(why));
            }
        };
        entry.state = State::Undone;
        self.save(&entry)?;
        Ok(format!("Change {} undone: {done}", entry.id))
    }

    /// A change newer than `id` that still holds hugepages of `size_kib` (a reservation, or a
    /// VM's session), with what it is in words. The pool is one number that each reservation
    /// set: a reservation puts back the count it found, which is right only once every newer
    /// one is undone.
    fn newer_on_pool(&self, id: &str, size_kib: u64) -> Option<(String, String)> {
        let older = id_number(id)?;
        self.history().into_iter().find_map(|e| {
            let open = matches!(e.state, State::Applying | State::Applied | State::Undoing);
            if !open || id_number(&e.id)? <= older {
                return None;
            }
            let what = match &e.change {
                Change::Hugepages(h) if h.size_kib == size_kib => "a newer reservation".to_string(),
                Change::Session(s)
                    if s.taken.iter().any(|t| {
                        matches!(t, Taken::Hugepages { size_kib: k, node: None, .. } if *k == size_kib)
                    }) =>
                {
                    format!("the session of the VM \"{}\"", s.vm)
                }
                _ => return None,
            };
            Some((e.id, what))
        })
    }

    fn undo_files(
        &self,
        mut entry: Entry,
        fc: FileChange,
        runner: &dyn StepRunner,
        progress: &mut dyn FnMut(&str),
    ) -> Result<String, JournalError> {
        let id = entry.id.clone();
        for (k, f) in fc.files.iter().enumerate() {
            let (now, wrote, before) = self.versions(&id, k, f);
            // Already back (an earlier Undo that could not finish) counts as Passage's too.
            if now != wrote && now != before {
                return Err(JournalError::ChangedSince {
                    path: f.path.clone(),
                    id,
                });
            }
        }
        entry.state = State::Undoing;
        self.save(&entry)?;
        let failed = self.restore(&id, &fc);
        if !failed.is_empty() {
            // Not undone: the steps would regenerate from a half-restored state.
            entry.state = State::Applied;
            self.save(&entry)?;
            return Err(restore_error(&id, &failed));
        }
        // Undoing until the rebuild has finished: one that fails (or is cut off) leaves the
        // change Undoing, and Undo, or the helper's next start, runs it again.
        entry.change = Change::Files(fc);
        if let Err(e) = self.run_steps(&mut entry, true, 0, runner, progress) {
            return Err(match e {
                JournalError::StepFailed { step, output } => {
                    JournalError::UndoRebuild { id, step, output }
                }
                other => other,
            });
        }
        entry.state = State::Undone;
        self.save(&entry)?;
        Ok(format!("Change {id} undone: {}", entry.summary))
    }

    /// Records a change made outside files (devices bound now, hugepages reserved, devices
    /// given back), for the history and undo.
    pub fn record(
        &self,
        verb: &str,
        uid: u32,
        summary: String,
        change: Change,
    ) -> Result<Entry, JournalError> {
        let e = Entry {
            id: self.next_id(),
            created: now(),
            uid,
            verb: verb.to_string(),
            summary,
            state: State::Applied,
            change,
        };
        self.save(&e)?;
        Ok(e)
    }

    /// Records a change about to be made, in `state` (a session being taken).
    pub(crate) fn begin(
        &self,
        verb: &str,
        summary: String,
        change: Change,
        state: State,
    ) -> Result<Entry, JournalError> {
        let e = Entry {
            id: self.next_id(),
            created: now(),
            uid: 0,
            verb: verb.to_string(),
            summary,
            state,
            change,
        };
        self.save(&e)?;
        Ok(e)
    }

    /// Sets the state of an entry (a runtime change undone).
    pub fn mark(&self, id: &str, state: State) -> Result<(), JournalError> {
        let mut e = self.load(id)?;
        e.state = state;
        self.save(&e)
    }

    /// At start: finishes what the helper did not. An apply cut off during its rebuild is
    /// finished when its files still hold what Passage wrote: the rebuild runs again from the
    /// step that was pending or running (and, if it fails, the change is rolled back as an
    /// apply is); an apply cut off before its rebuild began is
    /// rolled back, and an undo finished, each with its rebuild run again on the files as they
    /// are then. A file is put back only when it still holds what Passage wrote (or is back
    /// already); one someone else changed since is left alone and reported, and its change
    /// stays Applied (Undo then names the file). A rebuild that fails leaves the change as it
    /// was, for the next start. Bindings and reservations being undone are undone. Sessions
    /// are [`crate::session::recover`]'s. Returns the ids it repaired, and what it left alone.
    pub fn recover(&self, runner: &dyn StepRunner) -> (Vec<String>, Vec<String>) {
        let (mut fixed, mut left_alone) = (Vec::new(), Vec::new());
        for e in self.history() {
            if !matches!(e.state, State::Applying | State::Undoing) {
                continue;
            }
            let id = e.id.clone();
            match self.recover_one(e, runner) {
                Recovered::Fixed => fixed.push(id),
                Recovered::Left(paths) => {
                    left_alone.extend(paths.iter().map(|p| format!("{p} (change {id})")))
                }
                Recovered::Later => {}
            }
        }
        self.rotate(KEEP_ENDED);
        (fixed, left_alone)
    }

    fn recover_one(&self, mut e: Entry, runner: &dyn StepRunner) -> Recovered {
        let fc = match e.change.clone() {
            Change::Files(fc) => fc,
            Change::Binding(_) | Change::Hugepages(_) if e.state == State::Undoing => {
                return match self.undo_runtime(e) {
                    Ok(_) => Recovered::Fixed,
                    Err(_) => Recovered::Later,
                };
            }
            Change::Session(_) => return Recovered::Later,
            _ => {
                // Recorded only once done: nothing was left half done.
                e.state = State::Applied;
                return self.saved(&e);
            }
        };
        let mut quiet = |_: &str| {};
        // Its rebuild had begun (so every file had been written), and the files still hold
        // what Passage wrote: finish it.
        if e.state == State::Applying && steps::begun(&fc.steps) && self.holds_written(&e.id, &fc) {
            let from = steps::first_unfinished(&fc.steps);
            return match self.run_steps(&mut e, false, from, runner, &mut quiet) {
                Ok(()) => {
                    e.state = State::Applied;
                    self.saved(&e)
                }
                Err(why) => match self.roll_back(e, why, runner) {
                    Err(JournalError::Restore { .. }) => Recovered::Later,
                    _ => Recovered::Fixed,
                },
            };
        }
        let (next, undo_form) = match e.state {
            State::Applying => (State::RolledBack, false),
            _ => (State::Undone, true),
        };
        let (restored, others) = self.restore_checked(&e.id, &fc);
        if !others.is_empty() {
            e.state = State::Applied;
            let _ = self.save(&e);
            return Recovered::Left(others);
        }
        if restored.is_err() {
            return Recovered::Later; // could not write: tried again at the next start
        }
        if self
            .run_steps(&mut e, undo_form, 0, runner, &mut quiet)
            .is_err()
        {
            return Recovered::Later;
        }
        e.state = next;
        self.saved(&e)
    }

    fn saved(&self, e: &Entry) -> Recovered {
        match self.save(e) {
            Ok(()) => Recovered::Fixed,
            Err(_) => Recovered::Later,
        }
    }

    /// Whether every file of a change holds what Passage wrote (or is absent as it left it).
    fn holds_written(&self, id: &str, fc: &FileChange) -> bool {
        fc.files.iter().enumerate().all(|(k, f)| {
            let (now, wrote, _) = self.versions(id, k, f);
            now == wrote
        })
    }

    /// Like [`Self::restore`], but each file only when it holds what Passage wrote (or its
    /// original already): `Err` when a write failed, and the files someone else changed since.
    fn restore_checked(&self, id: &str, fc: &FileChange) -> (Result<(), ()>, Vec<String>) {
        let mut others = Vec::new();
        let mut keep = Vec::new();
        for (k, f) in fc.files.iter().enumerate() {
            let (now, wrote, before) = self.versions(id, k, f);
            if now == before {
                continue;
            }
            if now == wrote {
                keep.push(k);
            } else {
                others.push(f.path.clone());
            }
        }
        if !others.is_empty() {
            return (Ok(()), others);
        }
        let mut failed = false;
        for k in keep.into_iter().rev() {
            failed |= self.put_back(id, k, &fc.files[k]).is_err();
        }
        (if failed { Err(()) } else { Ok(()) }, others)
    }
}

/// What recovery did with one entry.
enum Recovered {
    Fixed,
    /// Files someone else changed since Passage wrote them, left as they are.
    Left(Vec<String>),
    /// Not finished now; the next start tries again.
    Later,
}

/// A change id's number (ids are compared as numbers: past 999999 they have more digits).
fn id_number(id: &str) -> Option<u64> {
    id.parse().ok()
}

/// A change id as written: six digits at least.
fn format_id(n: u64) -> String {
    format!("{n:06}")
}

/// Whether a change has ended: nothing left to undo or to finish.
fn ended_entry(e: &Entry) -> bool {
    matches!(e.state, State::RolledBack | State::Undone) || matches!(e.change, Change::Restored(_))
}

/// How many ended changes the journal keeps ([`Journal::rotate`] at each start): a few years
/// of setup changes and VM sessions, and a History the app lists at once.
pub const KEEP_ENDED: usize = 200;

/// `e` with its file change's steps as `steps`.
fn with_steps(e: &Entry, steps: &[StepRecord]) -> Entry {
    let mut e = e.clone();
    if let Change::Files(fc) = &mut e.change {
        fc.steps = steps.to_vec();
    }
    e
}

/// The error of a restore that could not put every file back.
fn restore_error(id: &str, failed: &[(String, String)]) -> JournalError {
    JournalError::Restore {
        id: id.to_string(),
        paths: failed
            .iter()
            .map(|(p, why)| format!("{p} ({why})"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
