//! Shared by the VM tests.

#[allow(unused_imports)]
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
    without_elements(xml, |n| {
        n.has_tag_name("hostdev")
            || (n.has_tag_name("controller")
                && n.children().any(|a| {
                    a.has_tag_name("alias")
                        && a.attribute("name")
                            .is_some_and(|v| v.starts_with("ua-passage-port-"))
                }))
    })
    .replace(" multifunction='on'", "")
}

/// The document without the elements `cut` picks, each with its indentation and the newline
/// after it (an element inside a cut one goes with it).
#[allow(dead_code)]
pub fn without_elements(xml: &str, cut: impl Fn(roxmltree::Node) -> bool) -> String {
    let doc = roxmltree::Document::parse(xml).expect("xml");
    let mut ranges: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| n.is_element() && cut(*n))
        .map(|n| {
            let r = n.range();
            let ls = xml[..r.start].rfind('\n').map_or(r.start, |i| i + 1);
            let start = if xml[ls..r.start].trim().is_empty() {
                ls
            } else {
                r.start
            };
            let end = if xml[r.end..].starts_with('\n') {
                r.end + 1
            } else {
                r.end
            };
            start..end
        })
        .chain(
            doc.descendants()
                .filter(|n| n.has_tag_name((PASSAGE_NS, "root-port")))
                .map(|n| n.range()),
        )
        .collect();
    // Outer elements first; those inside one already cut are skipped.
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut keep: Vec<std::ops::Range<usize>> = vec![];
    for r in ranges {
        if keep.last().is_none_or(|k| r.start >= k.end) {
            keep.push(r);
        }
    }
    let mut out = xml.to_string();
    for r in keep.into_iter().rev() {
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

/// Whether libvirt's schema takes the domain (virt-xml-validate), without failing the test.
#[allow(dead_code)]
pub fn validates(xml: &str) -> bool {
    let f = tempfile::Builder::new()
        .suffix(".xml")
        .tempfile()
        .expect("tmp");
    std::fs::write(f.path(), xml).expect("write");
    std::process::Command::new("virt-xml-validate")
        .arg(f.path())
        .arg("domain")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The shared corpus of users' own passthrough domains (80 published definitions), by file
/// name, in name order.
#[allow(dead_code)]
pub fn user_domains() -> Vec<(String, String)> {
    const CORPUS: &str = "/work/shared/corpora/user-domains";
    let mut out: Vec<(String, String)> = std::fs::read_dir(CORPUS)
        .expect("the shared corpus of users' domains")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 80, "the corpus has {} domains", out.len());
    out
}
