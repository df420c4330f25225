//! Sets a VM's session settings in its domain XML: Passage's metadata elements (added, or
//! replaced where they are), and optionally the `<hugepages/>` of `<memoryBacking>`. Only those
//! elements are spliced; every other byte stays.

use std::ops::Range;

use roxmltree::Node;

use super::domain::{child, parse, PASSAGE_NS};
use super::edit::{splice, with_line, Splice};
use super::session::SessionSettings;
use super::{err, VmError};
use crate::i18n::tr;

/// The prefix an element was written with (`passage` in `<passage:vm …>`), if any.
fn prefix<'a>(xml: &'a str, n: Node) -> Option<&'a str> {
    let start = &xml[n.range().start + 1..];
    let name_end = start.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    start[..name_end].split_once(':').map(|(p, _)| p)
}

/// Where an element's content ends (before its closing tag), `None` when it is empty-tag.
fn content_end(xml: &str, n: Node) -> Option<usize> {
    let r = n.range();
    let text = &xml[r.clone()];
    if text.ends_with("/>") {
        return None;
    }
    text.rfind("</").map(|i| r.start + i)
}

fn elements(prefix: &str, s: &SessionSettings) -> String {
    s.metadata()
        .iter()
        .map(|(k, v)| format!("<{prefix}:{k}>{v}</{prefix}:{k}>"))
        .collect()
}

/// Where a new `<metadata>` goes: where libvirt writes it, after the domain's leading name,
/// uuid, genid, title and description. (Right after `<name>` breaks libvirt's schema for a
/// running domain's XML, whose `<uuid>` and `<genid>` must follow the name.)
fn metadata_place(d: Node) -> Result<usize, VmError> {
    const LEADING: [&str; 5] = ["name", "uuid", "genid", "title", "description"];
    let name = child(d, "name").ok_or_else(|| err("xml", tr("the domain has no <name>")))?;
    let last = d
        .children()
        .filter(|c| c.is_element())
        .take_while(|c| LEADING.contains(&c.tag_name().name()))
        .last();
    Ok(last.map_or(name.range().end, |n| n.range().end.max(name.range().end)))
}

/// Passage's block in the domain's `<metadata>`, if there is one.
fn passage_block<'a, 'i>(d: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    child(d, "metadata")?
        .children()
        .find(|c| c.is_element() && c.tag_name().namespace() == Some(PASSAGE_NS))
}

/// The splice that appends elements to Passage's block of the domain's metadata: `inner` writes
/// them with the prefix the block uses. A missing block (or `<metadata>`) is added where libvirt
/// writes it; nothing else changes.
pub(crate) fn append_to_block(
    xml: &str,
    d: Node,
    inner: &dyn Fn(&str) -> String,
) -> Result<Splice, VmError> {
    let block =
        |inner: String| format!("<passage:vm xmlns:passage='{PASSAGE_NS}'>{inner}</passage:vm>");
    let Some(meta) = child(d, "metadata") else {
        let at = metadata_place(d)?;
        return Ok(Splice {
            at: at..at,
            text: format!("\n  <metadata>{}</metadata>", block(inner("passage"))),
        });
    };
    let Some(vm) = passage_block(d) else {
        let text = block(inner("passage"));
        return Ok(match content_end(xml, meta) {
            Some(at) => Splice { at: at..at, text },
            None => Splice {
                at: meta.range(),
                text: format!("<metadata>{text}</metadata>"),
            },
        });
    };
    let p = prefix(xml, vm).unwrap_or("passage").to_string();
    Ok(match content_end(xml, vm) {
        Some(end) => Splice {
            at: end..end,
            text: inner(&p),
        },
        None => {
            // `<passage:vm …/>`: written again with the elements inside.
            let open = &xml[vm.range().start..vm.range().end - 2];
            Splice {
                at: vm.range(),
                text: format!(
                    "{open}>{}</{}>",
                    inner(&p),
                    &open[1..].split_whitespace().next().unwrap_or("passage:vm")
                ),
            }
        }
    })
}

/// The splices that remove Passage's metadata elements at `ranges`: the elements alone, or the
/// block when nothing else is in it, and `<metadata>` too when the block was all it held (as
/// [`append_to_block`] adds them), so that an addition taken back leaves the bytes it found.
pub(crate) fn remove_from_block(xml: &str, d: Node, ranges: &[Range<usize>]) -> Vec<Splice> {
    let cut = |r: &Range<usize>| Splice {
        at: with_line(xml, r.clone()),
        text: String::new(),
    };
    let Some(vm) = passage_block(d).filter(|_| !ranges.is_empty()) else {
        return ranges.iter().map(cut).collect();
    };
    let only = |n: Node, inside: &dyn Fn(Node) -> bool| {
        n.children()
            .all(|c| inside(c) || (c.is_text() && c.text().is_some_and(|t| t.trim().is_empty())))
    };
    if !only(vm, &|c| c.is_element() && ranges.contains(&c.range())) {
        return ranges.iter().map(cut).collect();
    }
    match vm.parent().filter(|m| only(*m, &|c| c == vm)) {
        Some(meta) => vec![cut(&meta.range())],
        None => vec![cut(&vm.range())],
    }
}

fn metadata_splices(xml: &str, d: Node, s: &SessionSettings) -> Result<Vec<Splice>, VmError> {
    let Some(vm) = passage_block(d).filter(|vm| content_end(xml, *vm).is_some()) else {
        return Ok(vec![append_to_block(xml, d, &|p| elements(p, s))?]);
    };
    let p = prefix(xml, vm).unwrap_or("passage").to_string();
    let mut out = Vec::new();
    let mut missing = String::new();
    for (k, v) in s.metadata() {
        let existing = vm.children().find(|c| {
            c.is_element()
                && c.tag_name().name() == k
                && c.tag_name().namespace() == Some(PASSAGE_NS)
        });
        let text = format!("<{p}:{k}>{v}</{p}:{k}>");
        match existing {
            Some(e) => out.push(Splice {
                at: e.range(),
                text,
            }),
            None => missing.push_str(&text),
        }
    }
    if !missing.is_empty() {
        out.push(append_to_block(xml, d, &|_| missing.clone())?);
    }
    Ok(out)
}

fn backing_splice(xml: &str, d: Node, on: bool) -> Option<Splice> {
    let mb = child(d, "memoryBacking");
    let huge = mb.and_then(|m| child(m, "hugepages"));
    match (on, mb, huge) {
        (true, _, Some(_)) | (false, _, None) => None,
        (true, None, _) => {
            let at = child(d, "currentMemory")
                .or_else(|| child(d, "memory"))?
                .range()
                .end;
            Some(Splice {
                at: at..at,
                text: "\n  <memoryBacking><hugepages/></memoryBacking>".into(),
            })
        }
        (true, Some(m), None) => match content_end(xml, m) {
            Some(at) => Some(Splice {
                at: at..at,
                text: "<hugepages/>".into(),
            }),
            None => Some(Splice {
                at: m.range(),
                text: "<memoryBacking><hugepages/></memoryBacking>".into(),
            }),
        },
        (false, _, Some(h)) => Some(Splice {
            at: h.range(),
            text: String::new(),
        }),
    }
}

/// The domain with `s` in its metadata, and its memory on hugepages (`Some(true)`), not on
/// them (`Some(false)`) or as it was (`None`).
pub fn set_session(
    xml: &str,
    s: &SessionSettings,
    hugepages: Option<bool>,
) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = doc.root_element();
    if !d.has_tag_name("domain") {
        return Err(err("xml", tr("the document is not a <domain>")));
    }
    let mut splices = metadata_splices(xml, d, s)?;
    if let Some(on) = hugepages {
        splices.extend(backing_splice(xml, d, on));
    }
    Ok(splice(xml, splices))
}

#[cfg(test)]
mod tests {
    use super::super::domain::Domain;
    use super::super::session::GpuMode;
    use super::*;

    fn running() -> SessionSettings {
        SessionSettings {
            gpu_mode: GpuMode::WhileRunning,
            hugepages: true,
            isolate_cpus: false,
        }
    }

    fn read(xml: &str) -> SessionSettings {
        SessionSettings::of(&Domain::read(xml).expect("domain"))
    }

    #[test]
    fn settings_are_added_replaced_and_read_back_with_every_other_byte_kept() {
        let x = "<domain type='kvm'>\n  <name>w</name>\n  <!-- mine -->\n  <memory unit='KiB'>1048576</memory>\n  <devices/>\n</domain>\n";
        let y = set_session(x, &running(), Some(true)).expect("set");
        assert_eq!(read(&y), running());
        assert!(Domain::read(&y).expect("d").hugepages);
        assert!(y.contains("<!-- mine -->"));
        // Again: the elements are replaced, not added twice; hugepages off removes the element.
        let off = SessionSettings::default();
        let z = set_session(&y, &off, Some(false)).expect("again");
        assert_eq!(read(&z), off);
        assert_eq!(z.matches("gpu-mode").count(), 2, "{z}");
        assert!(!Domain::read(&z).expect("d").hugepages);
        // Back on: the same document as the first time, byte for byte.
        assert_eq!(set_session(&z, &running(), Some(true)).expect("back"), y);
    }

    #[test]
    fn an_existing_passage_block_keeps_its_prefix_and_its_other_elements() {
        let x = "<domain type='kvm'><name>w</name><metadata><other:x xmlns:other='urn:o'/><p:vm xmlns:p='https://github.com/passage/passage/vm/1'><p:purpose>ml</p:purpose><p:gpu-mode>boot</p:gpu-mode></p:vm></metadata><memory>1</memory></domain>";
        let y = set_session(x, &running(), None).expect("set");
        assert!(y.contains("<p:purpose>ml</p:purpose><p:gpu-mode>running</p:gpu-mode><p:session-hugepages>yes</p:session-hugepages>"), "{y}");
        assert!(y.contains("<other:x xmlns:other='urn:o'/>"));
        assert_eq!(read(&y), running());
        let e = Domain::read(&y).expect("d");
        assert_eq!(e.meta("purpose"), Some("ml"));
    }

    #[test]
    fn empty_metadata_and_a_self_closing_block_are_filled() {
        let x = "<domain><name>w</name><metadata/><memory>1</memory></domain>";
        assert_eq!(
            read(&set_session(x, &running(), None).expect("set")),
            running()
        );
        let x = "<domain><name>w</name><metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'/></metadata></domain>";
        assert_eq!(
            read(&set_session(x, &running(), None).expect("set")),
            running()
        );
        assert!(set_session("<network/>", &running(), None).is_err());
        assert!(set_session("<domain><name>", &running(), None).is_err());
    }
}
