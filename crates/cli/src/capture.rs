//! `passagectl capture`: the part of /sys, /proc and /etc that scan reads, as a tar.gz that
//! `--root` replays. Exactly what scan read goes in (the recording [`Root`]), with symlinks kept
//! as symlinks so the tree keeps the real sysfs layout. Scan never reads serial numbers, MAC
//! addresses or EDIDs; mount points below home directories are renamed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

use passage_core::root::Recorded;
use passage_core::{Host, Root};

/// What goes into the archive, by path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    Link(PathBuf),
    Dir,
}

/// Lexically joins `rel` onto `dir`, resolving `..` (never above the root).
fn join_norm(dir: &Path, rel: &Path) -> PathBuf {
    let mut out: Vec<std::ffi::OsString> = dir
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            _ => None,
        })
        .collect();
    for c in rel.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s.to_os_string()),
            Component::RootDir => out.clear(),
            _ => {}
        }
    }
    out.iter().collect()
}

/// Resolves symlinks in the parent part of `rel` (below `base`), adding each link it crosses to
/// `entries`. Returns the canonical relative path of `rel`'s parent joined with its last part.
fn resolve_parent(base: &Path, rel: &Path, entries: &mut BTreeMap<PathBuf, Entry>) -> PathBuf {
    let comps: Vec<_> = rel.components().collect();
    let Some((last, parents)) = comps.split_last() else {
        return rel.to_path_buf();
    };
    let mut cur = PathBuf::new();
    let mut hops = 0;
    let mut queue: Vec<Component> = parents.to_vec();
    queue.reverse();
    while let Some(c) = queue.pop() {
        let next = cur.join(c.as_os_str());
        match std::fs::read_link(base.join(&next)) {
            Ok(target) if hops < 40 => {
                hops += 1;
                entries.insert(next.clone(), Entry::Link(target.clone()));
                let resolved = if target.is_absolute() {
                    join_norm(Path::new(""), &target)
                } else {
                    join_norm(&cur, &target)
                };
                cur = resolved;
            }
            _ => cur = next,
        }
    }
    cur.join(last.as_os_str())
}

/// `/home/alice/x` → `/home/user/x` in the mount table (user names stay home).
fn redact_mounts(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut fields: Vec<String> = line.split(' ').map(str::to_string).collect();
        if let Some(target) = fields.get_mut(1) {
            for prefix in ["/home/", "/media/", "/run/media/", "/var/home/"] {
                if let Some(rest) = target.strip_prefix(prefix) {
                    let tail = rest
                        .split_once('/')
                        .map(|(_, t)| format!("/{t}"))
                        .unwrap_or_default();
                    *target = format!("{prefix}user{tail}");
                    break;
                }
            }
        }
        out.push_str(&fields.join(" "));
        out.push('\n');
    }
    out
}

fn sanitize(path: &Path, bytes: Vec<u8>) -> Vec<u8> {
    if path == Path::new("proc/mounts") || path == Path::new("proc/self/mounts") {
        return redact_mounts(&String::from_utf8_lossy(&bytes)).into_bytes();
    }
    bytes
}

/// Scans `source` recording every read, and writes the archive to `out` atomically.
/// Returns the number of entries and the host that was seen.
pub fn capture(source: &Path, out: &Path) -> Result<(usize, Host), String> {
    if out.exists() {
        return Err(format!(
            "{} already exists; choose another file name or remove it first",
            out.display()
        ));
    }
    let root = Root::new(source).map_err(|e| e.to_string())?.recording();
    let host = Host::scan(&root);
    let record = root.take_record();
    let mut entries: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    let mut listed: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for (rel, what) in record {
        let canonical = resolve_parent(source, &rel, &mut entries);
        let e = match what {
            Recorded::File(b) => Entry::File(sanitize(&rel, b)),
            Recorded::Link(t) => Entry::Link(t),
            Recorded::Dir(names) => {
                listed.push((canonical.clone(), names));
                Entry::Dir
            }
            Recorded::Exists => match std::fs::symlink_metadata(source.join(&canonical)) {
                Ok(m) if m.is_dir() => Entry::Dir,
                Ok(m) if m.file_type().is_symlink() => {
                    match std::fs::read_link(source.join(&canonical)) {
                        Ok(t) => Entry::Link(t),
                        Err(_) => continue,
                    }
                }
                // A device node (/dev/kvm) or a write-only attribute (reset): its existence is
                // what scan looked at, so an empty file stands for it.
                Ok(_) => Entry::File(Vec::new()),
                Err(_) => continue,
            },
        };
        // A file read wins over a directory listing of the same canonical path.
        match (entries.get(&canonical), &e) {
            (Some(Entry::File(_)), Entry::Dir) | (Some(Entry::Link(_)), Entry::Dir) => {}
            _ => {
                entries.insert(canonical, e);
            }
        }
    }
    // A listing replays only if its names are there: links as links, directories as
    // directories, and files scan did not read as empty placeholders.
    for (dir, names) in listed {
        for name in names {
            let p = dir.join(&name);
            if entries.contains_key(&p) {
                continue;
            }
            let e = match std::fs::symlink_metadata(source.join(&p)) {
                Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(source.join(&p)) {
                    Ok(t) => Entry::Link(t),
                    Err(_) => continue,
                },
                Ok(m) if m.is_dir() => Entry::Dir,
                Ok(_) => Entry::File(Vec::new()),
                Err(_) => continue,
            };
            entries.insert(p, e);
        }
    }
    let manifest = serde_json::json!({
        "format": "passage-capture",
        "version": 1,
        "captured_by": format!("passagectl {}", env!("CARGO_PKG_VERSION")),
        "kernel": host.kernel.release,
        "note": "A subset of /sys, /proc and /etc as `passagectl scan` reads it. Replay with `passagectl scan --root THIS_FILE`."
    });
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    {
        let gz = flate2::write::GzEncoder::new(tmp.as_file(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.follow_symlinks(false);
        let add = |tar: &mut tar::Builder<_>, path: &Path, e: &Entry| -> std::io::Result<()> {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            match e {
                Entry::File(b) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    h.set_size(b.len() as u64);
                    tar.append_data(&mut h, path, b.as_slice())
                }
                Entry::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_size(0);
                    tar.append_data(&mut h, path, std::io::empty())
                }
                Entry::Link(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    h.set_size(0);
                    tar.append_link(&mut h, path, t)
                }
            }
        };
        let mf = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        add(
            &mut tar,
            Path::new("passage-capture.json"),
            &Entry::File(mf),
        )
        .map_err(|e| e.to_string())?;
        for (path, e) in &entries {
            add(&mut tar, path, e)
                .map_err(|err| format!("cannot add {}: {err}", path.display()))?;
        }
        let gz = tar.into_inner().map_err(|e| e.to_string())?;
        let f = gz.finish().map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
    }
    tmp.persist_noclobber(out)
        .map_err(|e| format!("cannot create {}: {}", out.display(), e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok((entries.len(), host))
}

/// Unpacks a capture into a fresh temporary directory (for `--root FILE.tar.gz`).
pub fn unpack(archive: &Path) -> Result<tempfile::TempDir, String> {
    let f = File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("passage-root-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    ar.set_preserve_permissions(false);
    ar.unpack(dir.path()).map_err(|e| {
        format!(
            "{} is not a capture Passage can read (a .tar.gz from `passagectl capture`): {e}",
            archive.display()
        )
    })?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_lose_user_names() {
        let t = redact_mounts("/dev/sda1 /home/alice/Games\\040Library ext4 rw 0 0\n/dev/sda2 / ext4 rw 0 0\n/dev/sdb1 /run/media/bob/USB vfat rw 0 0\n");
        assert!(!t.contains("alice") && !t.contains("bob"), "{t}");
        assert!(t.contains("/home/user/Games\\040Library"), "{t}");
        assert!(t.contains("/dev/sda2 / ext4"), "{t}");
    }

    #[test]
    fn lexical_join() {
        assert_eq!(
            join_norm(
                Path::new("sys/bus/pci/devices"),
                Path::new("../../../devices/pci0000:00/x")
            ),
            PathBuf::from("sys/devices/pci0000:00/x")
        );
        assert_eq!(
            join_norm(Path::new("a"), Path::new("../../../b")),
            PathBuf::from("b")
        );
    }
}
