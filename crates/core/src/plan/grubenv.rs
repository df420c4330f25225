//! GRUB's environment block (grubenv), where Fedora 30–33 and RHEL 8 keep the kernel command
//! line of every BLS entry (`options $kernelopts`). Edited as grub-editenv edits it: a
//! 1024-byte file, `# GRUB Environment Block`, `name=value` lines, `#` padding to the size.

use std::path::{Component, Path, PathBuf};

use crate::i18n::{tr, tr_f};
use crate::root::Root;

pub const HEADER: &str = "# GRUB Environment Block\n";
/// Where grub2-editenv and grubby look; on EFI systems of those releases a link into the ESP.
pub const PATH: &str = "/boot/grub2/grubenv";

/// The lines of a block before its free space (the run of `#` after the last newline):
/// `name=value` lines and comments (Debian's grub-editenv writes a warning comment).
fn body(block: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(block).ok()?;
    let rest = text.strip_prefix(HEADER)?;
    let end = rest.rfind('\n').map_or(0, |i| i + 1);
    rest[end..]
        .bytes()
        .all(|b| b == b'#')
        .then_some(&rest[..end])
}

/// The variables of a block, in order (`None` when it is not an environment block).
pub fn vars(block: &[u8]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for line in body(block)?.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=')?;
        out.push((k.to_string(), v.to_string()));
    }
    Some(out)
}

/// `block` with `name` set to `value`, as `grub-editenv FILE set name=value` writes it: the
/// variable keeps its line (or is added after the others), comments stay, and the block keeps
/// its size.
pub fn set(block: &[u8], name: &str, value: &str) -> Result<Vec<u8>, String> {
    if value.contains(['\\', '\n']) || name.contains(['=', '\n']) {
        return Err(tr_f("{name} would need escaping", &[("name", name)]));
    }
    let body = body(block).ok_or_else(|| tr("it is not a GRUB environment block"))?;
    if body.contains('\\') {
        return Err(tr("it holds escaped values Passage does not edit"));
    }
    let line = format!("{name}={value}\n");
    let mut out = String::from(HEADER);
    let mut done = false;
    for l in body.split_inclusive('\n') {
        if !done && !l.starts_with('#') && l.split_once('=').is_some_and(|(k, _)| k == name) {
            out.push_str(&line);
            done = true;
        } else {
            out.push_str(l);
        }
    }
    if !done {
        out.push_str(&line);
    }
    let mut out = out.into_bytes();
    if out.len() > block.len() {
        return Err(tr_f(
            "the block is full ({bytes} bytes)",
            &[("bytes", &block.len().to_string())],
        ));
    }
    out.resize(block.len(), b'#');
    Ok(out)
}

/// The grubenv that holds the variables: [`PATH`], or where it links to (resolved inside the
/// root, so the change is planned on the real file and never written through the link).
pub fn resolve(root: &Root) -> Option<String> {
    let mut path = PathBuf::from(PATH);
    for _ in 0..8 {
        let Some(target) = root.read_link(&path.to_string_lossy()) else {
            return root
                .exists(&path.to_string_lossy())
                .then(|| path.to_string_lossy().into_owned());
        };
        let joined = if target.is_absolute() {
            target
        } else {
            path.parent().unwrap_or(Path::new("/")).join(target)
        };
        path = normalize(&joined);
    }
    None
}

/// `a/b/../c` → `a/c`, never above `/`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(lines: &str) -> Vec<u8> {
        let mut b = format!("{HEADER}{lines}").into_bytes();
        b.resize(1024, b'#');
        b
    }

    #[test]
    fn set_keeps_order_and_size() {
        let b = block("saved_entry=abc\nkernelopts=root=/dev/sda1 ro \nboot_success=0\n");
        let out = set(&b, "kernelopts", "root=/dev/sda1 ro iommu=pt").unwrap();
        assert_eq!(out.len(), 1024);
        assert_eq!(
            vars(&out).unwrap(),
            [
                ("saved_entry".to_string(), "abc".to_string()),
                ("kernelopts".into(), "root=/dev/sda1 ro iommu=pt".into()),
                ("boot_success".into(), "0".into())
            ]
        );
        assert!(set(&b, "x", &"y".repeat(2000)).is_err());
        assert!(set(b"not a block", "x", "y").is_err());
    }

    #[test]
    fn normalize_stays_below_root() {
        assert_eq!(
            normalize(Path::new("/boot/grub2/../efi/EFI/fedora/grubenv")),
            PathBuf::from("/boot/efi/EFI/fedora/grubenv")
        );
        assert_eq!(normalize(Path::new("/../../etc")), PathBuf::from("/etc"));
    }
}
