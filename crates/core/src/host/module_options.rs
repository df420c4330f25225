//! The options modprobe gives a module when it loads it, read as kmod 30 (Debian 12) reads
//! them: `MODULE.PARAM=VALUE` words of the kernel command line first, then the `options` lines
//! of every `*.conf` in /etc/modprobe.d, /run/modprobe.d, /usr/local/lib/modprobe.d,
//! /lib/modprobe.d and /usr/lib/modprobe.d, the files taken in the order of their names, a
//! name in an earlier directory hiding the same name in a later one; a backslash at the end of
//! a line joins the next; a line whose first word starts with `#` is a comment; `-` and `_` are
//! the same in module names. The kernel reads the words in that order, so for a parameter
//! given twice the last one is the one it keeps.

use crate::root::Root;

const DIRS: [&str; 5] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/lib/modprobe.d",
    "/usr/lib/modprobe.d",
];

/// The value of `module`'s parameter `param` that modprobe would load it with, if any is set.
pub fn value(root: &Root, module: &str, param: &str) -> Option<String> {
    options(root, module)
        .into_iter()
        .filter(|(p, _)| p == param)
        .map(|(_, v)| v)
        .next_back()
}

/// `module`'s options, in the order the kernel reads them: (parameter, value).
pub fn options(root: &Root, module: &str) -> Vec<(String, String)> {
    let want = normal(module);
    let mut out = Vec::new();
    let cmdline = root.read_string("/proc/cmdline").unwrap_or_default();
    for w in cmdline.split_whitespace() {
        if let Some((m, pv)) = w.split_once('.') {
            if normal(m) == want {
                out.extend(param(pv));
            }
        }
    }
    for path in files(root) {
        let text = root.read_string(&path).unwrap_or_default();
        out.extend(options_in(&text, &want));
    }
    out
}

/// The config files kmod reads, in its order.
fn files(root: &Root) -> Vec<String> {
    let mut by_name: std::collections::BTreeMap<String, String> = Default::default();
    for dir in DIRS {
        for name in root.list(dir) {
            if name.ends_with(".conf") {
                by_name
                    .entry(name.clone())
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
    }
    by_name.into_values().collect()
}

/// The `options` of module `want` (normalised) in one file's text.
fn options_in(text: &str, want: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", "");
    let mut out = Vec::new();
    for line in joined.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("options") {
            continue;
        }
        if words.next().map(normal).as_deref() != Some(want) {
            continue;
        }
        out.extend(words.filter_map(param));
    }
    out
}

fn param(word: &str) -> Option<(String, String)> {
    let (p, v) = word.split_once('=')?;
    Some((p.to_string(), v.trim_matches('"').to_string()))
}

fn normal(module: &str) -> String {
    module.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let root = Root::new(dir.path()).expect("root");
        (dir, root)
    }

    #[test]
    fn the_last_word_in_kmods_order_wins() {
        let (_d, root) = root_with(&[
            ("/proc/cmdline", "ro quiet kvmfr.static_size_mb=16\n"),
            (
                "/usr/lib/modprobe.d/10-kvmfr.conf",
                "options kvmfr static_size_mb=32\n",
            ),
            (
                "/etc/modprobe.d/20-lg.conf",
                "# options kvmfr static_size_mb=512\noptions kvmfr \\\n  static_size_mb=64,32\n",
            ),
            (
                "/etc/modprobe.d/other.txt",
                "options kvmfr static_size_mb=1\n",
            ),
        ]);
        assert_eq!(
            options(&root, "kvmfr"),
            vec![
                ("static_size_mb".to_string(), "16".to_string()),
                ("static_size_mb".to_string(), "32".to_string()),
                ("static_size_mb".to_string(), "64,32".to_string()),
            ]
        );
        assert_eq!(
            value(&root, "kvmfr", "static_size_mb").as_deref(),
            Some("64,32")
        );
    }

    #[test]
    fn a_file_in_etc_hides_the_same_name_below_and_dashes_are_underscores() {
        let (_d, root) = root_with(&[
            (
                "/lib/modprobe.d/kvmfr.conf",
                "options kvmfr static_size_mb=32\n",
            ),
            (
                "/etc/modprobe.d/kvmfr.conf",
                "options kvmfr static_size_mb=128\n",
            ),
            (
                "/etc/modprobe.d/vfio.conf",
                "options vfio-pci ids=10de:1e07\n",
            ),
        ]);
        assert_eq!(
            value(&root, "kvmfr", "static_size_mb").as_deref(),
            Some("128")
        );
        assert_eq!(
            value(&root, "vfio_pci", "ids").as_deref(),
            Some("10de:1e07")
        );
        assert_eq!(value(&root, "kvmfr", "other"), None);
    }
}
