//! Which host the app shows: this computer, a captured tree (`--host-root`), or the bundled
//! demo host when this computer has no IOMMU or no second GPU. Loading runs off the main
//! loop; nothing here touches GTK.

use std::path::{Path, PathBuf};

use passage_core::i18n::{tr, tr_f};
use passage_core::{Host, Root};

/// What the user asked for on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// This computer, or the demo host when it cannot pass a GPU through.
    Auto,
    /// The bundled demo host, whatever this computer has.
    Demo,
    /// A tree captured with `passagectl capture`.
    Captured(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Live,
    Demo,
    Captured,
}

/// A scanned host and where it came from.
#[derive(Debug)]
pub struct Loaded {
    pub host: Host,
    pub root: Root,
    pub kind: Kind,
}

impl Loaded {
    /// Privileged actions change this computer, so only a live host allows them.
    pub fn can_change(&self) -> bool {
        self.kind == Kind::Live
    }

    /// The banner text, when the host is not this computer.
    pub fn banner(&self) -> Option<String> {
        match self.kind {
            Kind::Live => None,
            Kind::Demo => Some(tr("Demo host: this computer has no IOMMU or no second graphics card, so Passage shows the X570 board of the public passthrough tutorial. Nothing you do here changes this computer.")),
            Kind::Captured => Some(tr_f(
                "Captured host: {dir}. Passage shows what was recorded there; nothing you do here changes this computer.",
                &[("dir", &self.root.base().display().to_string())],
            )),
        }
    }
}

/// Where "this computer" is read from: `/`, or `PASSAGE_LIVE_ROOT` (a test hook: the GUI test
/// points it at the tree its private passage-helper serves, so Apply goes through the real
/// helper and polkit; the helper recomputes every change on its own root, never the app's).
pub fn live_root() -> PathBuf {
    std::env::var_os("PASSAGE_LIVE_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Whether this machine can show anything worth passing through.
pub fn worth_showing(host: &Host) -> bool {
    host.iommu_enabled
        && (host.gpus().count() >= 2
            || host
                .only_gpu()
                .is_some_and(|g| passage_core::vm::devices::choose_card(host, g).is_ok()))
}

/// Scans what `wanted` names. `live_root` is `/` in the app and a temp dir in tests.
pub fn load(wanted: &Wanted, live_root: &Path) -> Result<Loaded, String> {
    match wanted {
        Wanted::Captured(dir) => {
            let root = Root::new(dir).map_err(|e| {
                tr_f(
                    "Cannot open the captured host {dir}: {why}. Give a directory made by “passagectl capture”.",
                    &[("dir", &dir.display().to_string()), ("why", &e.to_string())],
                )
            })?;
            let host = Host::scan(&root);
            Ok(Loaded {
                host,
                root,
                kind: Kind::Captured,
            })
        }
        Wanted::Auto => {
            let root = if live_root == Path::new("/") {
                Root::live()
            } else {
                Root::new(live_root)
            };
            if let Ok(root) = root {
                let host = Host::scan(&root);
                if worth_showing(&host) {
                    return Ok(Loaded {
                        host,
                        root,
                        kind: Kind::Live,
                    });
                }
            }
            demo()
        }
        Wanted::Demo => demo(),
    }
}

/// The demo host's directory: private to this process.
fn demo_dir() -> PathBuf {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    passage_fixtures::demo::dir(&base, std::process::id())
}

/// Removes the demo host's directory (at exit).
pub fn cleanup() {
    let _ = std::fs::remove_dir_all(demo_dir());
}

fn demo() -> Result<Loaded, String> {
    let dir = demo_dir();
    let fail = |e: String| {
        tr_f(
            "Cannot lay down the demo host in {dir}: {why}",
            &[("dir", &dir.display().to_string()), ("why", &e)],
        )
    };
    // Afresh at each scan; removed at exit by cleanup().
    passage_fixtures::demo::lay_down_at(&dir).map_err(|e| fail(e.to_string()))?;
    let root = Root::new(&dir)
        .map_err(|e| fail(e.to_string()))?
        .redirect(your_home());
    let host = Host::scan(&root);
    Ok(Loaded {
        host,
        root,
        kind: Kind::Demo,
    })
}

/// The demo host shows another board, but the files you choose are yours: your home folder
/// (where the file chooser starts, in Downloads) is read from this computer, so the wizard's
/// ISOs and the VM page's pre-flight find the same files.
fn your_home() -> Vec<(String, PathBuf)> {
    let home = relm4::gtk::glib::home_dir();
    match home.to_str().map(|h| h.trim_start_matches('/')) {
        Some(rel) if home.is_absolute() && !rel.is_empty() => vec![(rel.to_string(), home)],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build(name, d.path()).expect("fixture");
        d
    }

    #[test]
    fn the_demo_host_is_used_without_an_iommu_or_a_card_that_can_go() {
        for (name, live) in [
            ("x570-tutorial", true),
            // Its only card can go to a VM in the only-GPU mode.
            ("single-gpu", true),
            ("iommu-off", false),
        ] {
            let d = fixture(name);
            let l = load(&Wanted::Auto, d.path()).expect("load");
            assert_eq!(l.kind == Kind::Live, live, "{name}");
            assert_eq!(l.can_change(), live, "{name}");
            assert_eq!(l.banner().is_some(), !live, "{name}");
            if l.kind == Kind::Demo {
                assert!(l.root.base().join("sys/bus/pci/devices").is_dir());
                cleanup();
                assert!(!l.root.base().exists(), "the demo host is removed at exit");
            }
        }
    }

    #[test]
    fn a_captured_host_is_shown_as_captured_and_a_bad_dir_is_named() {
        let d = fixture("intel-tutorial");
        let l = load(
            &Wanted::Captured(d.path().into()),
            Path::new("/nonexistent"),
        )
        .expect("load");
        assert_eq!(l.kind, Kind::Captured);
        assert!(!l.can_change());
        assert!(l
            .banner()
            .expect("banner")
            .contains(&d.path().display().to_string()));
        let e = load(
            &Wanted::Captured("/nonexistent/capture".into()),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(
            e.contains("/nonexistent/capture") && e.contains("passagectl capture"),
            "{e}"
        );
    }
}
