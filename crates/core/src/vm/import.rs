//! Existing domains: read what Passage models, and edit passthrough devices by splicing the
//! original text, so every element Passage does not model stays exactly as it was (byte for
//! byte, comments and formatting included).

use std::ops::Range;

use super::{err, Cdrom, PciPassthrough, UsbPassthrough, VmError};
use crate::host::PciAddress;
use crate::i18n::{tr, tr_f};

/// What Passage reads from a domain it did not write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Imported {
    pub name: String,
    pub memory_mib: Option<u64>,
    pub vcpus: Option<u32>,
    pub pci: Vec<PciPassthrough>,
    pub usb: Vec<UsbPassthrough>,
    pub cdroms: Vec<Cdrom>,
    /// `kvm` or `qemu`.
    pub domain_type: String,
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, VmError> {
    roxmltree::Document::parse(xml).map_err(|e| {
        err(
            "xml",
            tr_f(
                "not a domain Passage can read: {why}",
                &[("why", &e.to_string())],
            ),
        )
    })
}

fn hex(s: Option<&str>) -> Option<u32> {
    let s = s?;
    u32::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

/// A PCI host device's host address.
fn pci_source(h: roxmltree::Node) -> Option<PciAddress> {
    let a = child(child(h, "source")?, "address")?;
    Some(PciAddress {
        domain: hex(a.attribute("domain")).unwrap_or(0) as u16,
        bus: hex(a.attribute("bus"))? as u8,
        slot: hex(a.attribute("slot"))? as u8,
        function: hex(a.attribute("function")).unwrap_or(0) as u8,
    })
}

/// Reads the parts of a domain Passage models.
pub fn import(xml: &str) -> Result<Imported, VmError> {
    let doc = parse(xml)?;
    let d = doc.root_element();
    if !d.has_tag_name("domain") {
        return Err(err("xml", tr("the document is not a <domain>")));
    }
    let text = |n: &str| {
        child(d, n)
            .and_then(|x| x.text())
            .map(str::trim)
            .map(str::to_string)
    };
    let memory_mib = child(d, "memory").and_then(|m| {
        let v: u64 = m.text()?.trim().parse().ok()?;
        Some(match m.attribute("unit").unwrap_or("KiB") {
            "b" | "bytes" => v / 1024 / 1024,
            "KiB" | "k" | "K" => v / 1024,
            "MiB" | "M" => v,
            "GiB" | "G" => v * 1024,
            "TiB" | "T" => v * 1024 * 1024,
            _ => v / 1024,
        })
    });
    let mut out = Imported {
        name: text("name").ok_or_else(|| err("xml", tr("the domain has no <name>")))?,
        memory_mib,
        vcpus: text("vcpu").and_then(|v| v.parse().ok()),
        domain_type: d.attribute("type").unwrap_or("kvm").to_string(),
        ..Default::default()
    };
    if let Some(devs) = child(d, "devices") {
        for h in devs.children().filter(|c| c.has_tag_name("hostdev")) {
            match h.attribute("type") {
                Some("pci") => {
                    if let Some(a) = pci_source(h) {
                        let rom = child(h, "rom")
                            .and_then(|r| r.attribute("file"))
                            .map(str::to_string);
                        let boot_order = child(h, "boot")
                            .and_then(|b| b.attribute("order"))
                            .and_then(|o| o.parse().ok());
                        out.pci.push(PciPassthrough {
                            address: a,
                            rom,
                            boot_order,
                        });
                    }
                }
                Some("usb") => {
                    let src = child(h, "source");
                    let v = src
                        .and_then(|s| child(s, "vendor"))
                        .and_then(|v| hex(v.attribute("id")));
                    let p = src
                        .and_then(|s| child(s, "product"))
                        .and_then(|p| hex(p.attribute("id")));
                    if let (Some(v), Some(p)) = (v, p) {
                        out.usb.push(UsbPassthrough {
                            vendor: v as u16,
                            product: p as u16,
                        });
                    }
                }
                _ => {}
            }
        }
        for disk in devs
            .children()
            .filter(|c| c.has_tag_name("disk") && c.attribute("device") == Some("cdrom"))
        {
            if let Some(f) = child(disk, "source").and_then(|s| s.attribute("file")) {
                let boot_order = child(disk, "boot")
                    .and_then(|b| b.attribute("order"))
                    .and_then(|o| o.parse().ok());
                out.cdroms.push(Cdrom {
                    iso: f.to_string(),
                    boot_order,
                });
            }
        }
    }
    Ok(out)
}

/// The byte range of a whole element including the indentation before it and the newline after,
/// so removing it leaves no blank line.
fn with_line(xml: &str, r: Range<usize>) -> Range<usize> {
    let line_start = xml[..r.start].rfind('\n').map(|i| i + 1).unwrap_or(r.start);
    let start = if xml[line_start..r.start].trim().is_empty() {
        line_start
    } else {
        r.start
    };
    let end = if xml[r.end..].starts_with('\n') {
        r.end + 1
    } else {
        r.end
    };
    start..end
}

/// Replaces the domain's PCI and USB host devices with `pci` and `usb`, rendered as Passage
/// renders them: each host slot on a root port of its own (new controllers above the highest
/// index the domain has), its functions together on one guest slot with multifunction='on'.
/// Everything else in the document is kept byte for byte.
pub fn replace_passthrough(
    xml: &str,
    pci: &[PciPassthrough],
    usb: &[UsbPassthrough],
) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = doc.root_element();
    let devs = child(d, "devices").ok_or_else(|| err("xml", tr("the domain has no <devices>")))?;
    let old: Vec<Range<usize>> = devs
        .children()
        .filter(|c| {
            c.has_tag_name("hostdev") && matches!(c.attribute("type"), Some("pci") | Some("usb"))
        })
        .map(|c| with_line(xml, c.range()))
        .collect();
    // Indentation of the devices' children, as the document has it.
    let indent = devs
        .children()
        .find(|c| c.is_element())
        .map(|c| {
            let s = c.range().start;
            let ls = xml[..s].rfind('\n').map(|i| i + 1).unwrap_or(s);
            xml[ls..s].to_string()
        })
        .unwrap_or_else(|| "    ".into());
    let top = devs
        .children()
        .filter(|c| c.has_tag_name("controller") && c.attribute("type") == Some("pci"))
        .filter_map(|c| c.attribute("index")?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    let mut new = String::new();
    for (i, slot) in super::slots(pci).iter().enumerate() {
        let bus = top + 1 + i as u32;
        if bus > 0xff {
            return Err(err(
                "pci",
                tr("the domain has no room for another PCI root port"),
            ));
        }
        new.push_str(&format!(
            "{indent}<controller type='pci' index='{bus}' model='pcie-root-port'/>\n"
        ));
        for (k, p) in slot.iter().enumerate() {
            let a = p.address;
            let rom = p
                .rom
                .as_ref()
                .map(|r| format!("<rom file='{}'/>", super::xml::esc(r)))
                .unwrap_or_default();
            let boot = p
                .boot_order
                .map(|o| format!("<boot order='{o}'/>"))
                .unwrap_or_default();
            let multi = if k == 0 && slot.len() > 1 {
                " multifunction='on'"
            } else {
                ""
            };
            new.push_str(&format!(
                "{indent}<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source><address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/></source>{rom}<address type='pci' domain='0x0000' bus='0x{bus:02x}' slot='0x00' function='0x{:x}'{multi}/>{boot}</hostdev>\n",
                a.domain, a.bus, a.slot, a.function, a.function
            ));
        }
    }
    for u in usb {
        new.push_str(&format!(
            "{indent}<hostdev mode='subsystem' type='usb' managed='yes'><source startupPolicy='optional'><vendor id='0x{:04x}'/><product id='0x{:04x}'/></source></hostdev>\n",
            u.vendor, u.product
        ));
    }
    // Remove the old ones (from the end), then insert the new ones where the first old one was,
    // or before </devices>.
    let insert_at = old.first().map(|r| r.start);
    let mut out = xml.to_string();
    for r in old.iter().rev() {
        out.replace_range(r.clone(), "");
    }
    let at = match insert_at {
        Some(p) => p,
        None => {
            let close = devs.range().end - "</devices>".len();
            // Before the closing tag's own line.
            out[..close].rfind('\n').map(|i| i + 1).unwrap_or(close)
        }
    };
    out.insert_str(at, &new);
    parse(&out)?;
    Ok(out)
}
