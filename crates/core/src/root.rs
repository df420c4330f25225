//! Every read of the host goes through a [`Root`]: a path prefix (`/` on a live host, a captured
//! or fixture tree in tests), a list of what could not be read, and — for `passagectl capture` —
//! an optional record of everything that was read, so the capture holds exactly what scan needs.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Something scan could not read or understand. Scan goes on; these are reported with the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The host path (as on the host, e.g. `/sys/bus/pci/devices/0000:01:00.0/class`).
    pub path: String,
    /// What went wrong, in words.
    pub what: String,
}

/// What the recorder saw, by host path (relative to the root, no leading slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The bytes scan read from a file.
    File(Vec<u8>),
    /// A symlink scan read (the target as the link holds it).
    Link(PathBuf),
    /// A directory scan listed, with the names it held (a replay must list the same).
    Dir(Vec<String>),
    /// A path whose existence scan tested (recorded only when it existed).
    Exists,
}

/// A host root: `/` on a live system, any directory in tests.
#[derive(Debug)]
pub struct Root {
    base: PathBuf,
    problems: Mutex<Vec<Problem>>,
    recorder: Option<Mutex<BTreeMap<PathBuf, Recorded>>>,
    /// Host directories that live elsewhere on disk (a sandbox shows the host's /etc at
    /// /run/host/etc): (host dir without the leading slash, where it is).
    redirects: Vec<(String, PathBuf)>,
}

/// Largest attribute or config file scan reads; anything bigger is not a sysfs/proc/etc file we
/// understand and is reported instead of being read into memory whole.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Larger than any sysfs attribute (they are at most a page).
const ATTR_MAX: usize = 4097;

impl Root {
    /// A root at `base`. Fails with a clear message when it is not a readable directory.
    pub fn new(base: impl Into<PathBuf>) -> Result<Self, crate::Error> {
        let base = base.into();
        match std::fs::metadata(&base) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(crate::Error::RootNotDirectory(base)),
            Err(e) => return Err(crate::Error::RootUnreadable(base, e.to_string())),
        }
        if let Err(e) = std::fs::read_dir(&base) {
            return Err(crate::Error::RootUnreadable(base, e.to_string()));
        }
        Ok(Self {
            base,
            problems: Mutex::new(Vec::new()),
            recorder: None,
            redirects: Vec::new(),
        })
    }

    /// The live host as this process sees it. Inside a flatpak (/.flatpak-info), /sys, /proc
    /// and /boot are the host's own, but its /etc and /usr are the runtime's: the host's are at
    /// /run/host (the `host-etc` and `host-os` permissions), so reads go there.
    pub fn live() -> Result<Self, crate::Error> {
        let root = Self::new("/")?;
        if !Path::new("/.flatpak-info").exists() {
            return Ok(root);
        }
        let dirs = ["etc", "usr", "lib", "lib64", "bin", "sbin"];
        Ok(root.redirect(
            dirs.iter()
                .map(|d| (d.to_string(), Path::new("/run/host").join(d)))
                .collect(),
        ))
    }

    /// The same root with these host directories read from elsewhere.
    pub fn redirect(mut self, redirects: Vec<(String, PathBuf)>) -> Self {
        self.redirects = redirects;
        self
    }

    /// The same root, recording every path read (for `passagectl capture`).
    pub fn recording(mut self) -> Self {
        self.recorder = Some(Mutex::new(BTreeMap::new()));
        self
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Whether this is the live host (`/`).
    pub fn is_live(&self) -> bool {
        self.base == Path::new("/")
    }

    /// The on-disk path of a host path such as `/sys/bus/pci/devices`.
    pub fn path(&self, host_path: &str) -> PathBuf {
        let rel = host_path.trim_start_matches('/');
        for (from, to) in &self.redirects {
            if let Some(rest) = rel.strip_prefix(from.as_str()) {
                if rest.is_empty() || rest.starts_with('/') {
                    return to.join(rest.trim_start_matches('/'));
                }
            }
        }
        self.base.join(rel)
    }

    fn record(&self, host_path: &str, what: Recorded) {
        if let Some(rec) = &self.recorder {
            let key = PathBuf::from(host_path.trim_start_matches('/'));
            if let Ok(mut map) = rec.lock() {
                // A file read wins over a mere existence test of the same path.
                match (map.get(&key), &what) {
                    (Some(Recorded::File(_)), Recorded::Exists) => {}
                    _ => {
                        map.insert(key, what);
                    }
                }
            }
        }
    }

    /// Everything recorded so far (empty unless [`Root::recording`]).
    pub fn take_record(&self) -> BTreeMap<PathBuf, Recorded> {
        self.recorder
            .as_ref()
            .and_then(|r| r.lock().ok().map(|mut m| std::mem::take(&mut *m)))
            .unwrap_or_default()
    }

    /// Notes a problem with `host_path`.
    pub fn problem(&self, host_path: &str, what: impl Into<String>) {
        if let Ok(mut p) = self.problems.lock() {
            p.push(Problem {
                path: host_path.to_string(),
                what: what.into(),
            });
        }
    }

    pub fn take_problems(&self) -> Vec<Problem> {
        self.problems
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// The bytes of a file; `None` when it does not exist (silently) or cannot be read (noted).
    pub fn read_bytes(&self, host_path: &str) -> Option<Vec<u8>> {
        let p = self.path(host_path);
        match std::fs::File::open(&p) {
            Ok(f) => {
                use std::io::Read;
                let mut buf = Vec::new();
                match f.take(MAX_FILE + 1).read_to_end(&mut buf) {
                    Ok(n) if n as u64 > MAX_FILE => {
                        self.problem(host_path, "larger than 16 MiB; not read");
                        None
                    }
                    Ok(_) => {
                        self.record(host_path, Recorded::File(buf.clone()));
                        Some(buf)
                    }
                    Err(e) => {
                        self.note_io(host_path, &e);
                        None
                    }
                }
            }
            Err(e) => {
                self.note_io(host_path, &e);
                None
            }
        }
    }

    fn note_io(&self, host_path: &str, e: &std::io::Error) {
        match e.kind() {
            ErrorKind::NotFound => {
                // A dangling symlink is worth reporting; a plain missing file is normal.
                if std::fs::symlink_metadata(self.path(host_path)).is_ok() {
                    self.problem(host_path, "broken symbolic link");
                }
            }
            _ => self.problem(host_path, format!("cannot be read: {e}")),
        }
    }

    /// A file as UTF-8 text; invalid UTF-8 is noted and read lossily.
    pub fn read_string(&self, host_path: &str) -> Option<String> {
        let bytes = self.read_bytes(host_path)?;
        match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                self.problem(host_path, "not valid UTF-8; unreadable parts replaced");
                Some(String::from_utf8_lossy(e.as_bytes()).into_owned())
            }
        }
    }

    /// The first bytes of a file, up to `max`, in one read where the file allows it (sysfs
    /// attributes and regular files answer a read whole; a short read is the end).
    pub fn read_head(&self, host_path: &str, max: usize) -> Option<Vec<u8>> {
        use std::io::Read;
        let mut f = match std::fs::File::open(self.path(host_path)) {
            Ok(f) => f,
            // Optional attributes are often absent; a broken device link shows up where the
            // device's required files are read, so no extra lookup here.
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => {
                self.note_io(host_path, &e);
                return None;
            }
        };
        let mut buf = vec![0u8; max];
        let mut len = 0;
        while len < max {
            match f.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => {
                    len += n;
                    // A short read from sysfs or a regular file is the whole content.
                    if len < max {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.note_io(host_path, &e);
                    return None;
                }
            }
        }
        buf.truncate(len);
        self.record(host_path, Recorded::File(buf.clone()));
        Some(buf)
    }

    /// A one-line attribute (sysfs, /proc/sys, a small config file), trimmed.
    pub fn read_attr(&self, host_path: &str) -> Option<String> {
        let bytes = self.read_head(host_path, ATTR_MAX)?;
        if bytes.len() == ATTR_MAX {
            // Not an attribute after all: read it whole.
            return self.read_string(host_path).map(|s| s.trim().to_string());
        }
        match String::from_utf8(bytes) {
            Ok(s) => Some(s.trim().to_string()),
            Err(e) => {
                self.problem(host_path, "not valid UTF-8; unreadable parts replaced");
                Some(String::from_utf8_lossy(e.as_bytes()).trim().to_string())
            }
        }
    }

    /// A numeric attribute in hex (`0x1234` or `1234`); garbage is noted.
    pub fn read_hex(&self, host_path: &str) -> Option<u64> {
        let s = self.read_attr(host_path)?;
        match parse_hex(&s) {
            Some(v) => Some(v),
            None => {
                self.problem(
                    host_path,
                    format!("expected a hexadecimal number, found {s:?}"),
                );
                None
            }
        }
    }

    /// A numeric attribute in decimal; garbage is noted.
    pub fn read_dec<T: std::str::FromStr>(&self, host_path: &str) -> Option<T> {
        let s = self.read_attr(host_path)?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(host_path, format!("expected a number, found {s:?}"));
                None
            }
        }
    }

    /// The target of a symlink as stored; `None` when it is not a link.
    pub fn read_link(&self, host_path: &str) -> Option<PathBuf> {
        match std::fs::read_link(self.path(host_path)) {
            Ok(t) => {
                self.record(host_path, Recorded::Link(t.clone()));
                Some(t)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) if e.raw_os_error() == Some(22) => None, // EINVAL: not a symlink
            Err(e) => {
                self.problem(host_path, format!("cannot read link: {e}"));
                None
            }
        }
    }

    /// The last component of a symlink's target (`driver` → `vfio-pci`), as UTF-8.
    pub fn link_name(&self, host_path: &str) -> Option<String> {
        let t = self.read_link(host_path)?;
        let name = t.file_name()?;
        match name.to_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.problem(host_path, "link target is not valid UTF-8");
                None
            }
        }
    }

    /// Entry names of a directory, sorted; non-UTF-8 names are noted and skipped.
    pub fn list(&self, host_path: &str) -> Vec<String> {
        let rd = match std::fs::read_dir(self.path(host_path)) {
            Ok(rd) => rd,
            Err(e) => {
                if e.kind() != ErrorKind::NotFound {
                    self.problem(host_path, format!("cannot list: {e}"));
                }
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name();
            match name.to_str() {
                Some(s) => out.push(s.to_string()),
                None => self.problem(
                    &format!("{}/{}", host_path.trim_end_matches('/'), lossy(&name)),
                    "name is not valid UTF-8; skipped",
                ),
            }
        }
        out.sort();
        self.record(host_path, Recorded::Dir(out.clone()));
        out
    }

    /// Whether a path exists (following symlinks).
    pub fn exists(&self, host_path: &str) -> bool {
        let ok = self.path(host_path).exists();
        if ok {
            self.record(host_path, Recorded::Exists);
        }
        ok
    }
}

fn lossy(s: &OsStr) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

/// `0x10de`, `10de` → 0x10de.
pub fn parse_hex(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.is_empty() || t.len() > 16 {
        return None;
    }
    u64::from_str_radix(t, 16).ok()
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
pub fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
            if b < a || b - a > 65536 {
                return None;
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().ok()?);
        }
    }
    Some(out)
}

/// Writes CPUs as a kernel CPU list (`0-3,8`), sorted, each once.
pub fn format_cpu_list(cpus: &[u32]) -> String {
    let mut v = cpus.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_written_as_the_kernel_reads_them() {
        assert_eq!(format_cpu_list(&[8, 0, 1, 2, 3, 3]), "0-3,8");
        assert_eq!(format_cpu_list(&[]), "");
        let v = [0, 2, 4, 5, 6, 11];
        assert_eq!(parse_cpu_list(&format_cpu_list(&v)), Some(v.to_vec()));
    }

    #[test]
    fn hex_and_cpu_lists() {
        assert_eq!(parse_hex("0x030000"), Some(0x030000));
        assert_eq!(parse_hex("10de\n"), Some(0x10de));
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_cpu_list("0-3,8"), Some(vec![0, 1, 2, 3, 8]));
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a-b"), None);
    }

    #[test]
    fn missing_root_is_a_clear_error() {
        let err = Root::new("/nonexistent/passage-root").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/passage-root"),
            "{err}"
        );
    }

    #[test]
    fn garbage_broken_links_and_bad_names_are_problems_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sys/x")).unwrap();
        std::fs::write(d.join("sys/x/vendor"), "not-hex").unwrap();
        std::fs::write(d.join("sys/x/bin"), [0xff, 0xfe, b'a']).unwrap();
        std::os::unix::fs::symlink("../nowhere", d.join("sys/x/driver")).unwrap();
        std::fs::write(d.join("sys/x").join(OsStr::from_bytes(b"bad\xffname")), "").unwrap();
        let root = Root::new(d).unwrap();
        assert_eq!(root.read_hex("/sys/x/vendor"), None);
        assert_eq!(
            root.read_string("/sys/x/bin").as_deref(),
            Some("\u{fffd}\u{fffd}a")
        );
        assert_eq!(root.read_attr("/sys/x/driver/uevent"), None);
        assert_eq!(root.read_attr("/sys/x/missing"), None);
        let names = root.list("/sys/x");
        assert_eq!(names, vec!["bin", "driver", "vendor"]);
        let problems = root.take_problems();
        let whats: Vec<_> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.what.as_str()))
            .collect();
        assert!(
            whats
                .iter()
                .any(|(p, w)| *p == "/sys/x/vendor" && w.contains("hexadecimal")),
            "{whats:?}"
        );
        assert!(
            whats
                .iter()
                .any(|(p, w)| *p == "/sys/x/bin" && w.contains("UTF-8")),
            "{whats:?}"
        );
        assert!(
            whats
                .iter()
                .any(|(p, w)| p.starts_with("/sys/x/bad") && w.contains("UTF-8")),
            "{whats:?}"
        );
        // The missing plain file is not a problem.
        assert!(!whats.iter().any(|(p, _)| *p == "/sys/x/missing"));
    }

    #[test]
    fn redirected_directories_are_read_from_where_the_sandbox_shows_them() {
        let base = tempfile::tempdir().expect("tempdir");
        let host_etc = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(base.path().join("sys")).expect("mkdir");
        std::fs::write(host_etc.path().join("hostname"), "host\n").expect("write");
        let r = super::Root::new(base.path())
            .expect("root")
            .redirect(vec![("etc".into(), host_etc.path().into())]);
        assert_eq!(r.path("/etc/hostname"), host_etc.path().join("hostname"));
        assert_eq!(r.path("/etc"), host_etc.path().to_path_buf());
        assert_eq!(
            r.path("/etcetera"),
            base.path().join("etcetera"),
            "only whole names"
        );
        assert_eq!(r.path("/sys/bus"), base.path().join("sys/bus"));
        assert_eq!(r.read_string("/etc/hostname").as_deref(), Some("host\n"));
    }
}
