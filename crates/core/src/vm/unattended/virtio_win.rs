//! The virtio-win ISO (Red Hat's Windows drivers for virtio devices, published by the Fedora
//! project): where distributions put it, the driver folders Windows Setup needs for each
//! Windows version (`viostor\w11\amd64` for the virtio disk, `NetKVM\w11\amd64` for the
//! network), and the guest tools installer at its root (`virtio-win-guest-tools.exe`: QEMU
//! guest agent, SPICE agent, balloon and the other drivers).

use std::path::{Path, PathBuf};

use crate::i18n::tr_f;

/// Where distributions install the ISO: Fedora's `virtio-win` package.
pub const KNOWN_LOCATIONS: &[&str] = &["/usr/share/virtio-win/virtio-win.iso"];

/// Where to get it: the Fedora project's direct downloads (stable build).
pub const DOWNLOAD_URL: &str =
    "https://fedorapeople.org/groups/virt/virtio-win/direct-downloads/stable-virtio/virtio-win.iso";

/// The guest tools installer at the ISO's root.
pub const GUEST_TOOLS: &str = "virtio-win-guest-tools.exe";

/// The drivers Setup must load before it sees the disk and the network.
pub const SETUP_DRIVERS: &[&str] = &["viostor", "NetKVM"];

/// The ISO's folder for a Windows version, by osinfo's short ID: `w10`, `w11`.
pub fn version_dir(short_id: &str) -> Option<&'static str> {
    match short_id {
        "win10" => Some("w10"),
        "win11" => Some("w11"),
        _ => None,
    }
}

/// The folders (ISO paths, `/`-separated, from the root) of the drivers Setup loads.
pub fn driver_paths(short_id: &str) -> Option<Vec<String>> {
    let v = version_dir(short_id)?;
    Some(
        SETUP_DRIVERS
            .iter()
            .map(|d| format!("/{d}/{v}/amd64"))
            .collect(),
    )
}

/// The ISO, chosen or found where distributions put it under `root` (`/` on the host).
pub fn find(chosen: Option<&Path>, root: &Path) -> Result<PathBuf, String> {
    if let Some(c) = chosen {
        return if c.is_file() {
            Ok(c.to_path_buf())
        } else {
            Err(tr_f(
                "The virtio-win ISO {path} cannot be read: choose the file again.",
                &[("path", &c.display().to_string())],
            ))
        };
    }
    KNOWN_LOCATIONS
        .iter()
        .map(|l| root.join(l.trim_start_matches('/')))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

/// What to do when the ISO is not there.
pub fn missing() -> String {
    tr_f(
        "Windows Setup needs the virtio-win ISO for the virtio disk and network drivers, and it is not in {path}. Download it from {url} (or install your distribution's virtio-win package) and choose it.",
        &[("path", KNOWN_LOCATIONS[0]), ("url", DOWNLOAD_URL)],
    )
}

/// A virtio-win ISO without a needed folder: which, and for what.
pub fn incomplete(paths: &[String]) -> String {
    tr_f(
        "This virtio-win ISO has no {paths}: it is not the virtio-win ISO or too old for this Windows. Get the current one from {url}.",
        &[("paths", &paths.join(", ")), ("url", DOWNLOAD_URL)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_windows_gets_its_own_driver_folders() {
        assert_eq!(
            driver_paths("win11").expect("ok"),
            ["/viostor/w11/amd64", "/NetKVM/w11/amd64"]
        );
        assert_eq!(
            driver_paths("win10").expect("ok"),
            ["/viostor/w10/amd64", "/NetKVM/w10/amd64"]
        );
        assert_eq!(driver_paths("ubuntu22.04"), None);
    }

    #[test]
    fn a_missing_iso_says_where_to_get_it() {
        let dir = tempfile::tempdir().expect("ok");
        let e = find(None, dir.path()).expect_err("refused");
        assert!(e.contains(DOWNLOAD_URL), "{e}");
        std::fs::create_dir_all(dir.path().join("usr/share/virtio-win")).expect("ok");
        std::fs::write(dir.path().join("usr/share/virtio-win/virtio-win.iso"), b"x").expect("ok");
        assert_eq!(
            find(None, dir.path()).expect("ok"),
            dir.path().join("usr/share/virtio-win/virtio-win.iso")
        );
    }
}
