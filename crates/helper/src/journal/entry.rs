//! A journal entry, and each kind of change as its own type.
//!
//! On disk an entry is `entry.json`. Entries written before the kinds were types have the
//! legacy fields `files`/`steps`/`bound`/`hugepages` at the top level; they are read into the
//! same kinds, so an Undo of an old change still works.

use serde::{Deserialize, Serialize};

/// A change's state: one definition, the one on the bus (passage-helper-api).
pub use passage_helper_api::State;

/// A change as the History verb sends it.
impl From<Entry> for passage_helper_api::HistoryRow {
    fn from(e: Entry) -> Self {
        passage_helper_api::HistoryRow {
            id: e.id,
            created: e.created,
            uid: e.uid,
            verb: e.verb,
            summary: e.summary,
            state: e.state,
        }
    }
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
    /// `pending` (not started), `running` (started: if the helper died, it did so while the
    /// step ran), `ok`, `failed`, or `skipped` (a test root without step programs).
    pub status: String,
    pub output: String,
}

/// Files written (with their originals kept) and the commands that followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    pub files: Vec<FileRecord>,
    pub steps: Vec<StepRecord>,
}

/// Devices bound to vfio-pci now, each with the driver it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub bound: Vec<(String, Option<String>)>,
    /// `driver_override`s someone else had set before (Undo puts them back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<(String, String)>,
}

/// Hugepages reserved now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hugepages {
    pub size_kib: u64,
    /// The count before, which Undo puts back.
    pub before: u64,
    pub after: u64,
}

/// Devices given back to their drivers: a record, not something Undo can take back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub devices: Vec<(String, Option<String>)>,
}

/// A VM's session: what its libvirt hook took from the host for it, in the order taken (given
/// back in reverse). Each item is recorded before it is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub vm: String,
    /// `/proc/sys/kernel/random/boot_id` when it was taken: after a restart there is nothing
    /// left to give back.
    pub boot_id: String,
    pub taken: Vec<Taken>,
}

/// One thing a session took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "kebab-case")]
pub enum Taken {
    /// Devices taken from their drivers (each with the driver it had), now on vfio-pci.
    Devices {
        devices: Vec<(String, Option<String>)>,
        /// `driver_override`s someone else had set before (given back as they were).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        overrides: Vec<(String, String)>,
    },
    /// Hugepages added to a pool (a NUMA node's, or the whole host's).
    Hugepages {
        size_kib: u64,
        node: Option<u32>,
        before: u64,
        added: u64,
        /// Recorded false before the pool grows, true once it has: a take cut off in between
        /// is given back by setting the pool to `before`.
        #[serde(default = "yes")]
        reserved: bool,
        /// The pool size a give-back sets, recorded before it is written, so a give-back cut
        /// off and run again sets the same count (taking `added` off twice would not).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        back_to: Option<u64>,
    },
    /// systemd units kept off the VM's CPUs, each with its `AllowedCPUs` before.
    Cpus { units: Vec<(String, String)> },
    /// One step of stopping the desktop for the host's only card (*only GPU* mode), recorded
    /// before it is taken; given back by its reverse.
    Desktop {
        step: passage_core::host::desktop::DesktopStep,
    },
    /// The transient systemd timer that runs `passage-helper --recover` while an *only GPU*
    /// session holds the desktop (`UNIT.timer`), stopped when the session ends.
    Watchdog { unit: String },
}

/// Entries written before `reserved` was recorded were saved once the pages were reserved.
fn yes() -> bool {
    true
}

/// What a change did; each kind is undone its own way (`Journal::undo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    Files(FileChange),
    Binding(Binding),
    Hugepages(Hugepages),
    Restored(Restored),
    Session(Session),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DiskEntry", into = "DiskEntry")]
pub struct Entry {
    pub id: String,
    pub created: u64,
    /// The caller's uid, as the bus reported it.
    pub uid: u32,
    pub verb: String,
    pub summary: String,
    pub state: State,
    pub change: Change,
}

impl Entry {
    /// The files and steps of a file change (none for the other kinds).
    pub fn files(&self) -> Option<&FileChange> {
        match &self.change {
            Change::Files(f) => Some(f),
            _ => None,
        }
    }
}

/// `entry.json` as written now (`change`), or as written before (the legacy fields).
#[derive(Serialize, Deserialize)]
struct DiskEntry {
    id: String,
    created: u64,
    uid: u32,
    verb: String,
    summary: String,
    state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
    #[serde(default, skip_serializing)]
    files: Vec<FileRecord>,
    #[serde(default, skip_serializing)]
    steps: Vec<StepRecord>,
    #[serde(default, skip_serializing)]
    bound: Vec<(String, Option<String>)>,
    #[serde(default, skip_serializing)]
    hugepages: Option<(u64, u64, u64)>,
}

impl From<DiskEntry> for Entry {
    fn from(d: DiskEntry) -> Entry {
        let change = match (d.change, d.hugepages) {
            (Some(c), _) => c,
            (None, Some((size_kib, before, after))) => Change::Hugepages(Hugepages {
                size_kib,
                before,
                after,
            }),
            (None, None) if !d.bound.is_empty() => Change::Binding(Binding {
                bound: d.bound,
                overrides: vec![],
            }),
            (None, None) if d.verb == "restore-drivers" => {
                Change::Restored(Restored { devices: vec![] })
            }
            (None, None) => Change::Files(FileChange {
                files: d.files,
                steps: d.steps,
            }),
        };
        Entry {
            id: d.id,
            created: d.created,
            uid: d.uid,
            verb: d.verb,
            summary: d.summary,
            state: d.state,
            change,
        }
    }
}

impl From<Entry> for DiskEntry {
    fn from(e: Entry) -> DiskEntry {
        DiskEntry {
            id: e.id,
            created: e.created,
            uid: e.uid,
            verb: e.verb,
            summary: e.summary,
            state: e.state,
            change: Some(e.change),
            files: vec![],
            steps: vec![],
            bound: vec![],
            hugepages: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_entries_are_read_into_their_kinds() {
        let base = r#""id":"000001","created":1,"uid":1000,"summary":"s","state":"applied""#;
        let hp: Entry = serde_json::from_str(&format!(
            r#"{{{base},"verb":"reserve-hugepages","files":[],"steps":[],"bound":[],"hugepages":[2048,0,512]}}"#
        ))
        .expect("hugepages");
        assert_eq!(
            hp.change,
            Change::Hugepages(Hugepages {
                size_kib: 2048,
                before: 0,
                after: 512
            })
        );
        let b: Entry = serde_json::from_str(&format!(
            r#"{{{base},"verb":"bind-to-vfio","files":[],"steps":[],"bound":[["0000:0a:00.0","nouveau"]]}}"#
        ))
        .expect("binding");
        assert!(matches!(b.change, Change::Binding(ref x) if x.bound.len() == 1));
        let f: Entry = serde_json::from_str(&format!(
            r#"{{{base},"verb":"configure-gpu","files":[{{"path":"/etc/default/grub","existed":true,"mode":420,"uid":0,"gid":0,"removed":false}}],"steps":[]}}"#
        ))
        .expect("files");
        assert_eq!(f.files().map(|c| c.files.len()), Some(1));
        let r: Entry = serde_json::from_str(&format!(
            r#"{{{base},"verb":"restore-drivers","files":[],"steps":[],"bound":[]}}"#
        ))
        .expect("restored");
        assert!(matches!(r.change, Change::Restored(_)));
        // Written back in the new form, and read again the same.
        let again: Entry =
            serde_json::from_str(&serde_json::to_string(&hp).expect("json")).expect("again");
        assert_eq!(again, hp);
        assert!(serde_json::to_string(&hp)
            .expect("json")
            .contains(r#""kind":"hugepages""#));
    }
}
