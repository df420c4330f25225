//! The German catalogue for tests that read the UI or the CLI in German.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Compiles the repository's po/de.po into `dir`/de/LC_MESSAGES/passage.mo, readable by
/// every user (the GUI tests may run the app as another user): `dir` is then the
/// PASSAGE_LOCALEDIR to give.
pub fn german_catalogue(dir: &Path) {
    let po = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../po/de.po");
    let mo = dir.join("de/LC_MESSAGES");
    std::fs::create_dir_all(&mo).expect("mkdir");
    let st = Command::new("msgfmt")
        .arg("-o")
        .arg(mo.join("passage.mo"))
        .arg(&po)
        .status()
        .expect("msgfmt (gettext, installed by build-aux/install-deps.sh)");
    assert!(st.success(), "po/de.po compiles");
    for p in [
        dir.to_path_buf(),
        dir.join("de"),
        mo.clone(),
        mo.join("passage.mo"),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}
