//! The domain edits behind the pre-flight's remedies: hugepages off for a VM, another image in
//! a disk or disc drive. Only the elements concerned are spliced; every other byte stays.

use super::domain::{child, parse, Domain};
use super::session::SessionSettings;
use super::session_edit::set_session;
use super::xml::esc;
use super::{err, VmError};
use crate::i18n::{tr, tr_f};

/// The domain with its memory on ordinary memory: `<hugepages/>` gone and Passage's session
/// no longer reserving them.
pub fn hugepages_off(xml: &str) -> Result<String, VmError> {
    let d = Domain::read(xml)?;
    let s = SessionSettings {
        hugepages: false,
        ..SessionSettings::of(&d)
    };
    set_session(xml, &s, Some(false))
}

/// The domain with the ROM BAR of the card at `card` on again (the settings editor's `<rom>`
/// edit: only that element changes).
pub fn rom_bar_on(xml: &str, card: crate::host::PciAddress) -> Result<String, VmError> {
    let c = super::settings::Changes {
        rom: Some(super::settings::RomEdit {
            card,
            file: None,
            bar: Some(true),
        }),
        ..Default::default()
    };
    super::settings::edit(xml, &c, false).map(|e| e.xml)
}

/// The domain with the file-backed disk or disc drive `target` (`vda`, `sdb`) reading `path`.
pub fn set_image(xml: &str, target: &str, path: &str) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devices = child(doc.root_element(), "devices")
        .ok_or_else(|| err("disk", tr("the domain has no <devices>")))?;
    let disk = devices
        .children()
        .filter(|n| n.has_tag_name("disk"))
        .find(|n| child(*n, "target").and_then(|t| t.attribute("dev")) == Some(target))
        .ok_or_else(|| {
            err(
                "disk",
                tr_f("the VM has no drive {target}", &[("target", target)]),
            )
        })?;
    if disk.attribute("type") != Some("file") {
        return Err(err(
            "disk",
            tr_f(
                "the drive {target} does not read a file",
                &[("target", target)],
            ),
        ));
    }
    let mut out = xml.to_string();
    match child(disk, "source") {
        Some(s) => out.replace_range(s.range(), &format!("<source file='{}'/>", esc(path))),
        None => {
            // An empty drive: the source goes before its target, as libvirt writes it.
            let at = child(disk, "target")
                .map(|t| t.range().start)
                .unwrap_or_default();
            let indent = line_indent(xml, at);
            let text = format!("<source file='{}'/>\n{indent}", esc(path));
            out.insert_str(at, &text);
        }
    }
    Ok(out)
}

/// The whitespace before `at` on its line.
fn line_indent(xml: &str, at: usize) -> &str {
    let start = xml[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let s = &xml[start..at];
    if s.trim().is_empty() {
        s
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const X: &str = "<domain type='kvm'>\n  <name>w</name>\n  <memory unit='KiB'>8388608</memory>\n  <memoryBacking>\n    <hugepages/>\n  </memoryBacking>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='/var/lib/libvirt/images/w.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <target dev='sdb' bus='sata'/>\n      <readonly/>\n    </disk>\n  </devices>\n</domain>\n";

    #[test]
    fn hugepages_off_removes_them_and_keeps_the_rest() {
        let y = hugepages_off(X).expect("off");
        let d = Domain::read(&y).expect("d");
        assert!(!d.hugepages);
        assert!(!SessionSettings::of(&d).hugepages);
        assert!(!y.contains("<hugepages"), "{y}");
        assert!(y.contains("<source file='/var/lib/libvirt/images/w.qcow2'/>"));
    }

    #[test]
    fn an_image_replaces_the_source_or_fills_an_empty_drive() {
        let y = set_image(X, "vda", "/srv/new's.qcow2").expect("set");
        assert_eq!(
            y,
            X.replace("/var/lib/libvirt/images/w.qcow2'", "/srv/new&apos;s.qcow2'")
        );
        let z = set_image(X, "sdb", "/srv/Win11.iso").expect("fill");
        assert!(
            z.contains("<driver name='qemu' type='raw'/>\n      <source file='/srv/Win11.iso'/>\n      <target dev='sdb' bus='sata'/>"),
            "{z}"
        );
        let d = Domain::read(&z).expect("d");
        assert_eq!(d.cdroms[0].source.as_deref(), Some("/srv/Win11.iso"));
        let e = set_image(X, "sdz", "/x.iso").expect_err("no such drive");
        assert!(e.to_string().contains("sdz"), "{e}");
    }
}
