//! Writing files so that each is always old or new, never torn.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::crash::crash_point;

/// The extended attribute that holds a file's SELinux label.
const SELINUX_LABEL: &str = "security.selinux";

/// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the dir.
/// The temp file is created new (`O_CREAT|O_EXCL|O_NOFOLLOW`: a file or link planted at its
/// name is never followed), private (0600) until it holds all of `bytes` and gets `mode` and
/// its owner, and removed when anything fails. Directories it creates are fsynced into their
/// parents, so a crash cannot leave the file in a directory that vanishes. A file that is
/// replaced keeps its SELinux label (the temp file would have its directory's default, and
/// on Fedora a grub.d script or a modprobe.d file with the wrong label is not read); a new
/// file gets the label the policy gives it.
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> std::io::Result<()> {
    crash_point(format_args!("before writing {}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("/"));
    create_dirs_synced(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.passage-tmp"));
    // A leftover from a crash, or something planted: removed, never followed (unlinking a
    // link removes the link).
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let label = xattr::get(path, SELINUX_LABEL).ok().flatten();
    let written = write_new(&tmp, bytes, mode, uid, gid, label.as_deref())
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    crash_point(format_args!("renamed into {}", path.display()));
    File::open(dir)?.sync_all()
}

/// Creates `tmp` (it must not exist), writes it, then sets its mode, owner and SELinux label
/// (when the file it replaces had one), and syncs.
fn write_new(
    tmp: &Path,
    bytes: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
    label: Option<&[u8]>,
) -> std::io::Result<()> {
    use xattr::FileExt;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)?;
    f.write_all(bytes)?;
    std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
    f.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
    if let Some(l) = label {
        f.set_xattr(SELINUX_LABEL, l)?;
    }
    f.sync_all()
}

/// `create_dir_all`, then an fsync of the parent of each directory it made.
fn create_dirs_synced(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.exists())
        .map(Path::to_path_buf)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    for d in missing.iter().rev() {
        if let Some(parent) = d.parent() {
            File::open(parent)?.sync_all()?;
        }
    }
    Ok(())
}

pub(super) fn remove_synced(path: &Path) -> std::io::Result<()> {
    crash_point(format_args!("before removing {}", path.display()));
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    crash_point(format_args!("removed {}", path.display()));
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_keeps_its_selinux_label_and_a_new_one_gets_none_from_us() {
        let d = tempfile::tempdir().expect("tempdir");
        let conf = d.path().join("etc/modprobe.d/passage-vfio.conf");
        fs::create_dir_all(conf.parent().expect("dir")).expect("mkdir");
        fs::write(&conf, "old\n").expect("write");
        let label = b"system_u:object_r:modules_conf_t:s0\0";
        // Root may set security.* attributes on ext4 and tmpfs with or without SELinux.
        xattr::set(&conf, SELINUX_LABEL, label).expect("label the original");
        atomic_write(&conf, b"new\n", 0o644, 0, 0).expect("write");
        assert_eq!(fs::read(&conf).expect("read"), b"new\n");
        assert_eq!(
            xattr::get(&conf, SELINUX_LABEL).expect("xattr").as_deref(),
            Some(&label[..]),
            "the new inode has the old label"
        );
        let fresh = d.path().join("etc/modprobe.d/new.conf");
        atomic_write(&fresh, b"x\n", 0o644, 0, 0).expect("write");
        assert_eq!(xattr::get(&fresh, SELINUX_LABEL).expect("xattr"), None);
    }

    #[test]
    fn a_link_planted_at_the_temp_name_is_not_followed() {
        let d = tempfile::tempdir().expect("tempdir");
        let victim = d.path().join("victim");
        fs::write(&victim, "keep me").expect("write");
        let target = d.path().join("etc/grub.d/99_x");
        fs::create_dir_all(target.parent().expect("dir")).expect("mkdir");
        std::os::unix::fs::symlink(&victim, target.with_file_name(".99_x.passage-tmp"))
            .expect("plant");
        atomic_write(&target, b"new", 0o755, 0, 0).expect("write");
        assert_eq!(fs::read_to_string(&victim).expect("read"), "keep me");
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
        let mode = fs::metadata(&target).expect("meta").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        assert!(!target.with_file_name(".99_x.passage-tmp").exists());
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file_and_the_old_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let target = d.path().join("f");
        fs::write(&target, "old").expect("write");
        // A directory at the target: the rename fails after the temp file was written.
        let dir_target = d.path().join("adir");
        fs::create_dir(&dir_target).expect("mkdir");
        fs::write(dir_target.join("inside"), "x").expect("write");
        assert!(atomic_write(&dir_target, b"new", 0o644, 0, 0).is_err());
        assert!(!d.path().join(".adir.passage-tmp").exists());
        assert_eq!(fs::read_to_string(&target).expect("read"), "old");
        // New directories are made (and synced) on the way.
        let deep = d.path().join("a/b/c/file");
        atomic_write(&deep, b"x", 0o644, 0, 0).expect("write");
        assert_eq!(fs::read(&deep).expect("read"), b"x");
    }
}
