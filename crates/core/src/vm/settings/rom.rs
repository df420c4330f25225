//! A passed-through card's ROM in the VM, as libvirt's `<rom>` in the card's `<hostdev>` says
//! it: `file` gives the guest a ROM file instead of the card's own, `bar='off'` shows the guest
//! none. A ROM file is walked first ([`crate::host::rom`]): one without an x64 UEFI image, or
//! not a ROM at all, is refused with what the walk found.

use roxmltree::Node;

use super::splices::{append, cut, devices, root};
use crate::host::rom::{self, Verdict};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::vm::domain::{child, host_pci, parse, Domain};
use crate::vm::edit::{splice, Splice};
use crate::vm::xml::esc;
use crate::vm::{err, VmError};

/// What to change in one card's `<rom>` (`None`: as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomEdit {
    /// The card, by its host address (the `<hostdev>`'s source).
    pub card: PciAddress,
    /// The ROM file (`Some(None)`: none, the card's own ROM).
    pub file: Option<Option<String>>,
    /// The ROM BAR: on, or off (the guest sees no ROM).
    pub bar: Option<bool>,
}

/// The VM's graphics card whose ROM an edit changes: its one passed-through GPU.
pub fn rom_card(d: &Domain, host: &Host) -> Result<PciAddress, VmError> {
    let gpus: Vec<PciAddress> = d
        .hostdevs
        .iter()
        .filter_map(|h| h.host)
        .filter(|a| host.device(*a).is_some_and(|x| x.is_gpu()))
        .collect();
    match gpus.as_slice() {
        [one] => Ok(*one),
        [] => Err(err(
            "rom",
            tr("the VM has no graphics card passed through, so it has no card ROM to set"),
        )),
        _ => Err(err(
            "rom",
            tr("the VM has more than one graphics card passed through; Passage sets the ROM of a VM with one"),
        )),
    }
}

/// Whether `bytes` (the file at `path`) can be the card's ROM for a UEFI VM: it walks to an x64
/// UEFI image, and starts with its first image (QEMU gives the guest the file as it is, so a
/// dump tool's header would hide the ROM).
pub fn usable_rom(path: &str, bytes: &[u8]) -> Result<(), VmError> {
    let walked = rom::walk(bytes);
    if walked.verdict != Verdict::UefiX64 {
        return Err(err(
            "rom",
            tr_f(
                "{path} cannot be the card's ROM: {why}",
                &[("path", path), ("why", &walked.verdict.words())],
            ),
        ));
    }
    if walked.header > 0 {
        return Err(err(
            "rom",
            tr_f(
                "{path} starts with {n} bytes before its first image (a dump tool's header, as nvflash writes): cut them off (the ROM starts at 0x55AA), then give the file again",
                &[("path", path), ("n", &walked.header.to_string())],
            ),
        ));
    }
    Ok(())
}

/// The `<hostdev type='pci'>` whose source is `card`.
fn hostdev<'a, 'i>(devs: Node<'a, 'i>, card: PciAddress) -> Option<Node<'a, 'i>> {
    devs.children().find(|h| {
        h.has_tag_name("hostdev")
            && h.attribute("type") == Some("pci")
            && host_pci(child(*h, "source")) == Some(card)
    })
}

/// The card's `<rom>` with `e` applied: the element replaced (its other attributes kept), added
/// as the hostdev's last child, or taken out when nothing is left in it.
pub(super) fn edit(xml: &str, e: &RomEdit) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let h = hostdev(devs, e.card).ok_or_else(|| {
        err(
            "rom",
            tr_f(
                "the VM has no <hostdev> for {card}",
                &[("card", &e.card.to_string())],
            ),
        )
    })?;
    let old = child(h, "rom");
    let attr = |name: &str| old.and_then(|r| r.attribute(name)).map(str::to_string);
    let bar = match e.bar {
        Some(on) => Some(if on { "on" } else { "off" }.to_string()),
        None => attr("bar"),
    };
    let file = match &e.file {
        Some(f) => f.clone(),
        None => attr("file"),
    };
    // The ROM BAR on is libvirt's default: said only where it was said before.
    let bar = bar.filter(|b| b != "on" || attr("bar").is_some());
    let mut attrs: Vec<(&str, String)> = vec![];
    attrs.extend(bar.map(|b| ("bar", b)));
    attrs.extend(file.map(|f| ("file", f)));
    attrs.extend(attr("enabled").map(|v| ("enabled", v)));
    let element = format!(
        "<rom{}/>",
        attrs
            .iter()
            .map(|(k, v)| format!(" {k}='{}'", esc(v)))
            .collect::<String>()
    );
    let s = match (old, attrs.is_empty()) {
        (Some(r), true) => vec![cut(xml, r)],
        (Some(r), false) if same(r, &attrs) => vec![],
        (Some(r), false) => vec![Splice {
            at: r.range(),
            text: element,
        }],
        (None, true) => vec![],
        (None, false) => vec![append(xml, h, &element)],
    };
    Ok(splice(xml, s))
}

/// Whether the element already has exactly these attributes.
fn same(r: Node, attrs: &[(&str, String)]) -> bool {
    r.attributes().count() == attrs.len()
        && attrs
            .iter()
            .all(|(k, v)| r.attribute(*k) == Some(v.as_str()))
}

/// A ROM file the user gave, read and walked: its absolute path, its bytes, and the path the
/// VM names it by, where Passage's helper places it for QEMU (a file placed already keeps its
/// path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RomFile {
    pub source: String,
    pub bytes: Vec<u8>,
    pub placed: String,
}

impl RomFile {
    /// Whether the helper must place it before the VM names it.
    pub fn needs_placing(&self) -> bool {
        self.placed != self.source
    }
}

/// Reads the ROM file at `path` (the user's: read as the user) and checks it with
/// [`usable_rom`]; errors name the file and what to do.
pub fn read_rom_file(path: &str) -> Result<RomFile, VmError> {
    let cannot = |e: std::io::Error| {
        err(
            "rom",
            tr_f(
                "cannot read {path}: {e}",
                &[("path", path), ("e", &e.to_string())],
            ),
        )
    };
    let abs = std::fs::canonicalize(path).map_err(cannot)?;
    let len = std::fs::metadata(&abs).map_err(cannot)?.len();
    if len > rom::MAX_ROM as u64 {
        return Err(err(
            "rom",
            tr_f(
                "{path} is {size} bytes, larger than any PCI option ROM (16 MiB)",
                &[("path", path), ("size", &len.to_string())],
            ),
        ));
    }
    let bytes = std::fs::read(&abs).map_err(cannot)?;
    let source = abs.to_string_lossy().into_owned();
    usable_rom(&source, &bytes)?;
    let placed = if crate::plan::rom::is_placed(&source) {
        source.clone()
    } else {
        crate::plan::rom::placed_path(&source, &bytes)
    };
    Ok(RomFile {
        source,
        bytes,
        placed,
    })
}
