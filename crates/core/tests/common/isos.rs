#![allow(dead_code)]
//! Small ISOs built with xorriso that carry what osinfo-db's `<media>` rules match (volume
//! ID, publisher) and an El Torito boot record (osinfo-detect skips media that cannot boot),
//! and a virtio-win ISO with the layout of `data/virtio-win/layout.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A bootable ISO named `name` in `dir`, with volume ID `label`, publisher `publisher` and
/// `files` (path, content).
pub fn iso(
    dir: &Path,
    name: &str,
    label: &str,
    publisher: &str,
    files: &[(&str, &[u8])],
) -> PathBuf {
    let tree = dir.join(format!("{name}.tree"));
    std::fs::create_dir_all(tree.join("boot")).expect("tree");
    std::fs::write(tree.join("boot/boot.img"), vec![0u8; 2048]).expect("boot image");
    for (p, content) in files {
        let f = tree.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(f.parent().expect("parent")).expect("dir");
        std::fs::write(f, content).expect("file");
    }
    let out = dir.join(name);
    let mut cmd = Command::new("xorriso");
    cmd.args(["-as", "mkisofs", "-quiet", "-J", "-r", "-V", label]);
    if !publisher.is_empty() {
        cmd.args(["-publisher", publisher]);
    }
    let st = cmd
        .args([
            "-b",
            "boot/boot.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-o",
        ])
        .arg(&out)
        .arg(&tree)
        .output()
        .expect("xorriso");
    assert!(
        st.status.success(),
        "xorriso made {name}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

/// A Windows installer ISO named `name`: win-10.xml and win-11.xml match
/// `<volume-id>^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_</volume-id>` with
/// `<publisher-id>MICROSOFT CORPORATION</publisher-id>`.
pub fn windows(dir: &Path, name: &str) -> PathBuf {
    iso(
        dir,
        name,
        "CCCOMA_X64FRE_EN-US_DV9",
        "MICROSOFT CORPORATION",
        &[("/sources/install.wim", b"wim")],
    )
}

/// The entries of the virtio-win layout fixture.
pub fn virtio_win_layout() -> Vec<String> {
    // Relative to this file, so other crates' tests can include it too.
    let text = include_str!("../data/virtio-win/layout.txt");
    text.lines()
        .filter(|l| l.starts_with('/'))
        .map(str::to_string)
        .collect()
}

/// A virtio-win ISO with the fixture's layout, each file holding its own path.
pub fn virtio_win(dir: &Path) -> PathBuf {
    let layout = virtio_win_layout();
    let files: Vec<(&str, &[u8])> = layout.iter().map(|p| (p.as_str(), p.as_bytes())).collect();
    iso(dir, "virtio-win.iso", "virtio-win-0.1.240", "", &files)
}

/// One file of an ISO, read with xorriso's osirrox.
pub fn read_from_iso(iso: &Path, inner: &str) -> Option<Vec<u8>> {
    let d = tempfile::tempdir().expect("tempdir");
    let out = d.path().join("f");
    let ok = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .args(["-extract", inner])
        .arg(&out)
        .output()
        .expect("xorriso")
        .status
        .success();
    ok.then(|| std::fs::read(&out).ok()).flatten()
}

/// The short IDs this computer's osinfo-db knows, for tests that depend on its release.
pub fn osinfo_knows(short_id: &str) -> bool {
    let out = Command::new("osinfo-query")
        .args(["os", &format!("short-id={short_id}"), "--fields=short-id"])
        .output()
        .expect("osinfo-query");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == short_id)
}
