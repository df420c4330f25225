//! The answer media, built without root: the install script's files (and on Windows the
//! virtio drivers Setup loads and the guest tools installer, copied from the virtio-win ISO
//! with xorriso's osirrox) in an ISO 9660 image with Joliet names, written by xorriso into
//! the VM's storage directory, readable by its owner only.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::UnattendedError;

/// The answer ISO's volume label.
pub const LABEL: &str = "PASSAGE";

fn xorriso(args: &[&std::ffi::OsStr]) -> Result<(), UnattendedError> {
    let out = Command::new("xorriso")
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| UnattendedError::io("xorriso", e))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let message = err
            .lines()
            .filter(|l| l.contains("FAILURE") || l.contains("SORRY"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(UnattendedError::Tool {
            tool: "xorriso".into(),
            message: if message.is_empty() {
                err.trim().to_string()
            } else {
                message
            },
        })
    }
}

/// Copies `inner` (a file or folder, `/`-separated from the ISO's root) out of `iso` to `dest`.
pub fn extract(iso: &Path, inner: &str, dest: &Path) -> Result<(), UnattendedError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| UnattendedError::io(parent, e))?;
    }
    xorriso(&[
        "-osirrox".as_ref(),
        "on".as_ref(),
        "-indev".as_ref(),
        iso.as_os_str(),
        "-extract".as_ref(),
        inner.as_ref(),
        dest.as_os_str(),
    ])?;
    // osirrox keeps the ISO's read-only modes; the staging folder must stay removable.
    make_writable(dest)
}

fn make_writable(p: &Path) -> Result<(), UnattendedError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(p).map_err(|e| UnattendedError::io(p, e))?;
    let mode = if meta.is_dir() { 0o700 } else { 0o600 };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| UnattendedError::io(p, e))?;
    if meta.is_dir() {
        for e in std::fs::read_dir(p).map_err(|e| UnattendedError::io(p, e))? {
            make_writable(&e.map_err(|e| UnattendedError::io(p, e))?.path())?;
        }
    }
    Ok(())
}

/// Writes `src`'s tree as an ISO at `out` (replacing nothing: `out` must not exist), mode 0600.
pub fn build_iso(src: &Path, out: &Path, label: &str) -> Result<PathBuf, UnattendedError> {
    use std::os::unix::fs::PermissionsExt;
    if out.exists() {
        return Err(UnattendedError::Refused(format!(
            "{} exists already: Passage does not overwrite it",
            out.display()
        )));
    }
    xorriso(&[
        "-as".as_ref(),
        "mkisofs".as_ref(),
        "-quiet".as_ref(),
        "-J".as_ref(),
        "-joliet-long".as_ref(),
        "-r".as_ref(),
        "-V".as_ref(),
        label.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        src.as_os_str(),
    ])?;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| UnattendedError::io(out, e))?;
    Ok(out.to_path_buf())
}
