//! Shared by the VM tests.

pub use passage_testkit::valid_domain as valid;

use passage_core::vm::domain::PASSAGE_NS;

/// Fails unless `after` differs from `before` only by whole `<hostdev>` elements, root ports
/// Passage added (alias `ua-passage-port-N`) with their records in its metadata, and
/// `multifunction='on'` on an address: the device editor's promise that every other byte stays.
#[allow(dead_code)]
pub fn only_passthrough_changed(before: &str, after: &str) {
    assert_eq!(
        outside_passthrough(before),
        outside_passthrough(after),
        "bytes outside host devices changed"
    );
}

/// The document without its host devices, Passage's root ports and multifunction='on'.
fn outside_passthrough(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).expect("xml");
    let mut cut: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("hostdev")
                || (n.has_tag_name("controller")
                    && n.children().any(|a| {
                        a.has_tag_name("alias")
                            && a.attribute("name")
                                .is_some_and(|v| v.starts_with("ua-passage-port-"))
                    }))
        })
        .map(|n| {
            let r = n.range();
            let ls = xml[..r.start].rfind('\n').map(|i| i + 1).unwrap_or(r.start);
            let end = if xml[r.end..].starts_with('\n') {
                r.end + 1
            } else {
                r.end
            };
            ls..end
        })
        .chain(
            doc.descendants()
                .filter(|n| n.has_tag_name((PASSAGE_NS, "root-port")))
                .map(|n| n.range()),
        )
        .collect();
    cut.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut out = xml.to_string();
    for r in cut {
        out.replace_range(r, "");
    }
    // A block (and <metadata>) that held only the records.
    out.replace(" multifunction='on'", "")
        .replace(
            &format!("<passage:vm xmlns:passage='{PASSAGE_NS}'></passage:vm>"),
            "",
        )
        .replace("\n  <metadata></metadata>", "")
}
