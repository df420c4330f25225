//! The answer media's record in the VM's definition, and its removal once the install is
//! done (the guest agent, which the guest tools install at the first logon, answers): the
//! CD-ROM holding the media and the record go, every other byte of the definition stays.
//! Only the media's path is recorded, never what it holds.

use crate::vm::domain::{Domain, PASSAGE_NS};
use crate::vm::xml::esc;
use crate::vm::VmError;

/// The metadata element naming the answer media (`<passage:unattended-media>`).
pub const TAG: &str = "unattended-media";

/// Records `media` in a definition Passage wrote (its `<passage:vm>` metadata).
pub fn record(xml: &str, media: &str) -> Result<String, VmError> {
    let end = "    </passage:vm>";
    let at = xml.find(end).ok_or_else(|| VmError {
        field: "metadata".into(),
        why: "the definition has no Passage metadata".into(),
    })?;
    let mut out = xml.to_string();
    out.insert_str(
        at,
        &format!("      <passage:{TAG}>{}</passage:{TAG}>\n", esc(media)),
    );
    Ok(out)
}

/// The answer media a definition records, if any.
pub fn recorded(xml: &str) -> Result<Option<String>, VmError> {
    Ok(Domain::read(xml)?
        .passage
        .into_iter()
        .find(|(k, _)| k == TAG)
        .map(|(_, v)| v))
}

/// The definition without the recorded media's CD-ROM and its record, and the media's path;
/// `None` when it records none.
pub fn without_media(xml: &str) -> Result<Option<(String, String)>, VmError> {
    let Some(media) = recorded(xml)? else {
        return Ok(None);
    };
    let doc = roxmltree::Document::parse(xml).map_err(|e| VmError {
        field: "xml".into(),
        why: e.to_string(),
    })?;
    let mut cut: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| {
            (n.has_tag_name("disk")
                && n.attribute("device") == Some("cdrom")
                && n.children().any(|c| {
                    c.has_tag_name("source") && c.attribute("file") == Some(media.as_str())
                }))
                || n.has_tag_name((PASSAGE_NS, TAG))
        })
        .map(|n| whole_lines(xml, n.range()))
        .collect();
    cut.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut out = xml.to_string();
    for r in cut {
        out.replace_range(r, "");
    }
    Ok(Some((out, media)))
}

/// `r` widened to its line's indentation and line end, when nothing else is on those lines.
fn whole_lines(xml: &str, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let line_start = xml[..r.start].rfind('\n').map_or(0, |i| i + 1);
    let start = if xml[line_start..r.start].trim().is_empty() {
        line_start
    } else {
        r.start
    };
    let end = match xml[r.end..].find('\n') {
        Some(i) if xml[r.end..r.end + i].trim().is_empty() => r.end + i + 1,
        _ => r.end,
    };
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<domain type='kvm'>\n  <name>w</name>\n  <metadata>\n    <passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'>\n      <passage:purpose>gaming</passage:purpose>\n    </passage:vm>\n  </metadata>\n  <devices>\n    <disk type='file' device='cdrom'>\n      <source file='/srv/Win10.iso'/>\n      <target dev='sda' bus='sata'/>\n    </disk>\n    <disk type='file' device='cdrom'>\n      <source file='/var/lib/libvirt/images/w-unattended.iso'/>\n      <target dev='sdb' bus='sata'/>\n    </disk>\n  </devices>\n</domain>\n";

    #[test]
    fn the_media_and_its_record_go_and_every_other_byte_stays() {
        let media = "/var/lib/libvirt/images/w-unattended.iso";
        let with = record(XML, media).expect("record");
        assert_eq!(recorded(&with).expect("read").as_deref(), Some(media));
        let (without, m) = without_media(&with).expect("edit").expect("recorded");
        assert_eq!(m, media);
        let want = XML.replace("    <disk type='file' device='cdrom'>\n      <source file='/var/lib/libvirt/images/w-unattended.iso'/>\n      <target dev='sdb' bus='sata'/>\n    </disk>\n", "");
        assert_eq!(without, want);
        assert_eq!(without_media(XML).expect("edit"), None);
    }
}
