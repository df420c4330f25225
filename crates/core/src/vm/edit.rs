//! The device editor on a domain's XML: adds and removes passed-through PCI and USB devices by
//! libvirt's placement rules, and splices only those elements, so every byte Passage does not
//! change stays as it was (comments and formatting included).
//!
//! - Kept host devices are not touched: guest address, ROM, boot order, alias, teaming, driver,
//!   an unassigned address, everything stays.
//! - New functions of one host slot share one guest slot, numbered from 0 in host order, with
//!   `multifunction='on'` on function 0 when there are several: the guest sees a card as a card
//!   (and a lone function is function 0, as QEMU needs). A function whose siblings the VM
//!   already has joins their guest slot.
//! - On a PCIe machine (a `pcie-root` controller, or a q35 machine) a new slot goes on an empty
//!   `pcie-root-port` of the domain, else on a new one. A port Passage adds carries the user
//!   alias `ua-passage-port-N` and is recorded in Passage's metadata (`<passage:root-port
//!   index='N'/>`); only a recorded port is removed with its last device (and its record with
//!   it). Every other controller stays byte for byte: the spare ports virt-manager adds for
//!   hot-plug, and the ports of a domain an older Passage edited, which recorded none.
//! - On a PCI machine (`pci-root`, the i440fx `pc` machines) a new slot takes the first free
//!   slot of bus 0 from 3 (0 is the host bridge, 1 the PIIX3, 2 libvirt keeps for the primary
//!   video), then of a `pci-bridge` from 1; no root port is ever added there.
//! - Anything Passage cannot place is refused with the reason; nothing is half-edited.

use std::collections::BTreeSet;
use std::ops::Range;

use super::domain::{child, guest_pci, parse, Domain, GuestAddress, GuestPci, ROOT_PORT};
use super::session_edit::{append_to_block, remove_from_block};
use super::{err, VmError};
use crate::host::PciAddress;
use crate::i18n::{tr, tr_f};

/// The alias prefix of root ports Passage adds.
pub const PORT_ALIAS: &str = "ua-passage-port-";

/// A USB device as the editor names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsbRef {
    /// By vendor and product ID.
    Id(u16, u16),
    /// By where it is plugged in: host bus and device number.
    Port(u32, u32),
}

/// What to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub add_pci: Vec<PciAddress>,
    pub remove_pci: Vec<PciAddress>,
    pub add_usb: Vec<(u16, u16)>,
    pub remove_usb: Vec<UsbRef>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.add_pci.is_empty()
            && self.remove_pci.is_empty()
            && self.add_usb.is_empty()
            && self.remove_usb.is_empty()
    }
}

/// The PCI topology kind, which decides where new devices go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    Pcie,
    Pci,
}

/// Which kind of PCI tree the domain has: its root controller, else its machine type (libvirt
/// adds the root controller by the machine: `pcie-root` for q35, `pci-root` for i440fx).
pub fn bus_kind(d: &Domain) -> Result<Bus, VmError> {
    // Passage knows the x86 machines; libvirt's default arch for them is the host's.
    if let Some(arch) = d
        .arch
        .as_deref()
        .filter(|a| !matches!(*a, "x86_64" | "i686"))
    {
        return Err(err(
            "machine",
            tr_f(
                "Passage adds PCI devices only to x86 virtual machines, and this one is {arch}: add them with virt-manager or virsh edit",
                &[("arch", arch)],
            ),
        ));
    }
    let machine = d.machine.as_deref().unwrap_or("pc");
    let models: Vec<&str> = d
        .pci_controllers
        .iter()
        .filter_map(|c| c.model.as_deref())
        .collect();
    if models.contains(&"pcie-root") {
        Ok(Bus::Pcie)
    } else if models.contains(&"pci-root") {
        Ok(Bus::Pci)
    } else if machine == "q35" || machine.starts_with("pc-q35") {
        Ok(Bus::Pcie)
    } else if machine == "pc" || machine.starts_with("pc-") {
        Ok(Bus::Pci)
    } else {
        Err(err(
            "machine",
            tr_f(
                "Passage cannot tell where PCI devices go on machine {m}: add them with virt-manager or virsh edit",
                &[("m", machine)],
            ),
        ))
    }
}

/// One splice of the original text.
pub(crate) struct Splice {
    pub at: Range<usize>,
    pub text: String,
}

/// Applies `changes` to the domain `xml`. Adding a device the VM has, or removing one it does
/// not have, changes nothing.
pub fn apply(xml: &str, changes: &Changes) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let d = Domain::from_node(root)?;
    let devs =
        child(root, "devices").ok_or_else(|| err("xml", tr("the domain has no <devices>")))?;
    let layout = Layout::of(xml, devs);
    let mut ed = Editor::new(xml, &d)?;
    ed.remove(changes)?;
    // Additions first take the ports the removals emptied; Passage's ports still empty go.
    ed.add_pci(&changes.add_pci)?;
    ed.drop_empty_ports();
    let mut splices = std::mem::take(&mut ed.splices);
    splices.extend(remove_from_block(xml, root, &ed.records_gone));
    // New controllers after the last controller; new host devices after the last host device
    // (or before </devices>).
    let controllers_at = layout.after_last(xml, devs, "controller");
    let hostdevs_at = layout.after_last(xml, devs, "hostdev");
    let mut ports = String::new();
    for index in &ed.new_ports {
        ports.push_str(&layout.port(*index));
    }
    let mut hostdevs = String::new();
    for (host, guest) in &ed.new_pci {
        hostdevs.push_str(&layout.pci_hostdev(*host, guest));
    }
    for (v, p) in &changes.add_usb {
        if !d.usb.iter().any(|u| u.id() == Some((*v, *p))) {
            hostdevs.push_str(&layout.usb_hostdev(*v, *p));
        }
    }
    if !ports.is_empty() {
        splices.push(Splice {
            at: controllers_at.unwrap_or(layout.before_close)
                ..controllers_at.unwrap_or(layout.before_close),
            text: ports,
        });
    }
    if !hostdevs.is_empty() {
        let at = hostdevs_at.unwrap_or(layout.before_close);
        splices.push(Splice {
            at: at..at,
            text: hostdevs,
        });
    }
    if !ed.new_ports.is_empty() {
        let record = |p: &str| {
            ed.new_ports
                .iter()
                .map(|i| format!("<{p}:{ROOT_PORT} index='{i}'/>"))
                .collect::<String>()
        };
        splices.push(append_to_block(xml, root, &record)?);
    }
    let out = splice(xml, splices);
    Domain::read(&out)?;
    Ok(out)
}

/// The text with the splices made (their ranges are of the original text and do not overlap).
pub(crate) fn splice(xml: &str, mut splices: Vec<Splice>) -> String {
    // From the end, so earlier ranges stay valid; at one point, insertions after removals.
    splices.sort_by_key(|s| std::cmp::Reverse((s.at.start, s.at.end)));
    let mut out = xml.to_string();
    for s in splices {
        out.replace_range(s.at, &s.text);
    }
    out
}

/// Where new elements go and how they are indented.
pub(crate) struct Layout {
    pub(crate) indent: String,
    pub(crate) unit: String,
    pub(crate) before_close: usize,
}

fn line_start(xml: &str, at: usize) -> usize {
    xml[..at].rfind('\n').map(|i| i + 1).unwrap_or(at)
}

/// The byte range of an element with the indentation before it and the newline after when it
/// has its line to itself, so that removing it leaves no blank line (else the element alone:
/// what shares its line keeps its place).
pub(crate) fn with_line(xml: &str, r: Range<usize>) -> Range<usize> {
    let ls = line_start(xml, r.start);
    let alone_before = xml[ls..r.start].trim().is_empty();
    let rest = &xml[r.end..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    if !alone_before || !rest[..line_end].trim().is_empty() {
        return r;
    }
    let end = if rest.starts_with('\n') {
        r.end + 1
    } else {
        r.end
    };
    ls..end
}

impl Layout {
    pub(crate) fn of(xml: &str, devs: roxmltree::Node) -> Layout {
        let indent_of = |at: usize| {
            let ls = line_start(xml, at);
            let s = &xml[ls..at];
            if s.trim().is_empty() {
                s.to_string()
            } else {
                String::new()
            }
        };
        let own = indent_of(devs.range().start);
        let indent = devs
            .children()
            .find(|c| c.is_element())
            .map(|c| indent_of(c.range().start))
            .unwrap_or_else(|| format!("{own}  "));
        let unit = indent
            .strip_prefix(own.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or("  ")
            .to_string();
        let close = devs.range().end - "</devices>".len();
        let ls = line_start(xml, close);
        let before_close = if xml[ls..close].trim().is_empty() {
            ls
        } else {
            close
        };
        Layout {
            indent,
            unit,
            before_close,
        }
    }

    /// Just after the last `<name>` child of `<devices>` (its line included).
    pub(crate) fn after_last(&self, xml: &str, devs: roxmltree::Node, name: &str) -> Option<usize> {
        devs.children()
            .rfind(|c| c.has_tag_name(name))
            .map(|c| with_line(xml, c.range()).end)
    }

    fn port(&self, index: u32) -> String {
        let (i, u) = (&self.indent, &self.unit);
        format!(
            "{i}<controller type='pci' index='{index}' model='pcie-root-port'>\n{i}{u}<alias name='{PORT_ALIAS}{index}'/>\n{i}</controller>\n"
        )
    }

    fn pci_hostdev(&self, a: PciAddress, g: &GuestPci) -> String {
        let (i, u) = (&self.indent, &self.unit);
        let multi = if g.multifunction == Some(true) {
            " multifunction='on'"
        } else {
            ""
        };
        format!(
            "{i}<hostdev mode='subsystem' type='pci' managed='yes'>\n{i}{u}<driver name='vfio'/>\n{i}{u}<source>\n{i}{u}{u}<address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/>\n{i}{u}</source>\n{i}{u}<address type='pci' domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'{multi}/>\n{i}</hostdev>\n",
            a.domain, a.bus, a.slot, a.function, g.domain, g.bus, g.slot, g.function
        )
    }

    fn usb_hostdev(&self, v: u16, p: u16) -> String {
        let (i, u) = (&self.indent, &self.unit);
        format!(
            "{i}<hostdev mode='subsystem' type='usb' managed='yes'>\n{i}{u}<source startupPolicy='optional'>\n{i}{u}{u}<vendor id='0x{v:04x}'/>\n{i}{u}{u}<product id='0x{p:04x}'/>\n{i}{u}</source>\n{i}</hostdev>\n"
        )
    }
}

struct Editor<'a> {
    xml: &'a str,
    d: &'a Domain,
    bus: Option<Bus>,
    /// Guest addresses in use after the removals and the additions so far.
    used: Vec<GuestPci>,
    /// Controller indexes in use, and the root ports added.
    indexes: BTreeSet<u32>,
    new_ports: Vec<u32>,
    new_pci: Vec<(PciAddress, GuestPci)>,
    /// Guest addresses the removals freed.
    freed: Vec<GuestPci>,
    /// The metadata records of the ports removed.
    records_gone: Vec<Range<usize>>,
    splices: Vec<Splice>,
}

impl<'a> Editor<'a> {
    fn new(xml: &'a str, d: &'a Domain) -> Result<Self, VmError> {
        Ok(Editor {
            xml,
            d,
            bus: None,
            used: d.used_pci.clone(),
            indexes: d.pci_controllers.iter().map(|c| c.index).collect(),
            new_ports: vec![],
            new_pci: vec![],
            freed: vec![],
            records_gone: vec![],
            splices: vec![],
        })
    }

    fn remove(&mut self, c: &Changes) -> Result<(), VmError> {
        let mut freed: Vec<GuestPci> = vec![];
        for h in &self.d.hostdevs {
            let Some(host) = h.host.filter(|a| c.remove_pci.contains(a)) else {
                continue;
            };
            if h.interface {
                return Err(err(
                    "pci",
                    tr_f(
                        "{dev} is the VM's network interface (an <interface type='hostdev'>); remove it with virt-manager or virsh edit",
                        &[("dev", &host.to_string())],
                    ),
                ));
            }
            self.splices.push(Splice {
                at: with_line(self.xml, h.range.clone()),
                text: String::new(),
            });
            if let GuestAddress::Pci(g) = h.guest {
                freed.push(g);
            }
        }
        for u in &self.d.usb {
            let hit = c.remove_usb.iter().any(|r| match *r {
                UsbRef::Id(v, p) => u.id() == Some((v, p)),
                UsbRef::Port(b, n) => u.bus == Some(b) && u.device == Some(n),
            });
            if hit {
                self.splices.push(Splice {
                    at: with_line(self.xml, u.range.clone()),
                    text: String::new(),
                });
            }
        }
        self.used.retain(|u| !freed.iter().any(|f| f == u));
        self.check_function_zero(&freed)?;
        self.freed = freed;
        Ok(())
    }

    /// Removing function 0 of a guest slot whose other functions stay would hide them from
    /// the guest: refused.
    fn check_function_zero(&self, freed: &[GuestPci]) -> Result<(), VmError> {
        for f in freed.iter().filter(|f| f.function == 0) {
            if let Some(left) = self.used.iter().find(|u| u.same_slot(f)) {
                let who = self
                    .d
                    .hostdevs
                    .iter()
                    .find(|h| h.guest == GuestAddress::Pci(*left))
                    .and_then(|h| h.host)
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| tr("another device"));
                return Err(err(
                    "pci",
                    tr_f(
                        "removing this device would leave {dev} on a guest slot without function 0, where the guest cannot see it: remove them together",
                        &[("dev", &who)],
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Root ports Passage recorded as its own whose bus is now empty go too, with their record.
    /// No other controller is touched: not a spare port of the user's, not a port with Passage's
    /// alias that no record names (an older Passage's: whose it is cannot be told).
    fn drop_empty_ports(&mut self) {
        let freed = std::mem::take(&mut self.freed);
        for c in &self.d.pci_controllers {
            let record = self.d.passage_ports.iter().find(|p| p.index == c.index);
            let Some(record) = record.filter(|_| c.model.as_deref() == Some("pcie-root-port"))
            else {
                continue;
            };
            let emptied = freed.iter().any(|f| f.bus == c.index);
            let in_use = self.used.iter().any(|u| u.bus == c.index);
            if emptied && !in_use {
                self.splices.push(Splice {
                    at: with_line(self.xml, c.range.clone()),
                    text: String::new(),
                });
                self.records_gone.push(record.range.clone());
                self.indexes.remove(&c.index);
                // The port's own address is free again.
                let own = self.port_address(c.range.clone());
                self.used.retain(|u| Some(*u) != own);
            }
        }
    }

    fn port_address(&self, r: Range<usize>) -> Option<GuestPci> {
        let doc = roxmltree::Document::parse(&self.xml[r]).ok()?;
        child(doc.root_element(), "address")
            .filter(|a| a.attribute("type") == Some("pci"))
            .and_then(guest_pci)
    }

    fn add_pci(&mut self, add: &[PciAddress]) -> Result<(), VmError> {
        let have = self.d.host_pci();
        let mut todo: Vec<PciAddress> = add.iter().filter(|a| !have.contains(a)).copied().collect();
        todo.sort();
        todo.dedup();
        if todo.is_empty() {
            return Ok(());
        }
        self.bus = Some(bus_kind(self.d)?);
        // By host slot, functions in order.
        let mut slots: Vec<Vec<PciAddress>> = vec![];
        for a in todo {
            match slots.iter_mut().find(|s| s[0].same_slot(&a)) {
                Some(s) => s.push(a),
                None => slots.push(vec![a]),
            }
        }
        for s in slots {
            let rest = self.join_siblings(&s)?;
            if !rest.is_empty() {
                let g = self.free_slot()?;
                let n = rest.len();
                for (k, a) in rest.into_iter().enumerate() {
                    let guest = GuestPci {
                        function: k as u32,
                        multifunction: (k == 0 && n > 1).then_some(true),
                        ..g
                    };
                    self.used.push(guest);
                    self.new_pci.push((a, guest));
                }
            }
        }
        Ok(())
    }

    /// New functions of a host slot whose other functions the VM keeps join their guest slot
    /// (with multifunction='on' added to its function 0). Returns the functions left to place.
    fn join_siblings(&mut self, s: &[PciAddress]) -> Result<Vec<PciAddress>, VmError> {
        let sibling = self
            .d
            .hostdevs
            .iter()
            .find_map(|h| match (h.host, &h.guest) {
                (Some(a), GuestAddress::Pci(g)) if a.same_slot(&s[0]) && self.used.contains(g) => {
                    Some(*g)
                }
                _ => None,
            });
        let Some(g) = sibling else {
            return Ok(s.to_vec());
        };
        let zero = self
            .used
            .iter()
            .find(|u| u.same_slot(&g) && u.function == 0)
            .copied();
        let Some(zero) = zero.filter(|z| z.multifunction != Some(false)) else {
            return Ok(s.to_vec());
        };
        let free: Vec<u32> = (1..8)
            .filter(|f| {
                !self
                    .used
                    .iter()
                    .any(|u| u.same_slot(&g) && u.function == *f)
            })
            .collect();
        if free.len() < s.len() {
            return Ok(s.to_vec());
        }
        if zero.multifunction != Some(true) {
            self.set_multifunction(zero)?;
        }
        for (a, f) in s.iter().zip(free) {
            let guest = GuestPci {
                function: f,
                multifunction: None,
                ..g
            };
            self.used.push(guest);
            self.new_pci.push((*a, guest));
        }
        Ok(vec![])
    }

    /// Adds multifunction='on' to the address of the device at `zero`.
    fn set_multifunction(&mut self, zero: GuestPci) -> Result<(), VmError> {
        let doc = parse(self.xml)?;
        let devs = child(doc.root_element(), "devices");
        let addr = devs
            .into_iter()
            .flat_map(|d| d.children())
            .filter_map(|dev| child(dev, "address"))
            .find(|a| a.attribute("type") == Some("pci") && guest_pci(*a) == Some(zero))
            .ok_or_else(|| err("pci", tr("a guest slot's function 0 could not be found")))?;
        let r = addr.range();
        let tail = if self.xml[..r.end].ends_with("/>") {
            2
        } else {
            1
        };
        let at = r.end - tail;
        let at = self.xml[..at].trim_end().len();
        self.splices.push(Splice {
            at: at..at,
            text: " multifunction='on'".into(),
        });
        Ok(())
    }

    /// A guest slot for a new device: an empty root port, a new one, or a free slot of a PCI bus.
    fn free_slot(&mut self) -> Result<GuestPci, VmError> {
        let slot = |bus: u32, slot: u32| GuestPci {
            domain: 0,
            bus,
            slot,
            function: 0,
            multifunction: None,
        };
        match self.bus {
            Some(Bus::Pcie) => {
                let empty = self
                    .d
                    .pci_controllers
                    .iter()
                    .filter(|c| c.model.as_deref() == Some("pcie-root-port"))
                    .filter(|c| self.indexes.contains(&c.index))
                    .map(|c| c.index)
                    .find(|i| !self.used.iter().any(|u| u.bus == *i));
                if let Some(i) = empty {
                    return Ok(slot(i, 0));
                }
                let next = self.indexes.iter().max().map(|m| m + 1).unwrap_or(1);
                if next > 255 {
                    return Err(err(
                        "pci",
                        tr("the VM has no room for another PCIe root port (256 buses)"),
                    ));
                }
                self.indexes.insert(next);
                self.new_ports.push(next);
                Ok(slot(next, 0))
            }
            _ => {
                let bridges: Vec<u32> = self
                    .d
                    .pci_controllers
                    .iter()
                    .filter(|c| c.model.as_deref() == Some("pci-bridge"))
                    .map(|c| c.index)
                    .collect();
                let buses = std::iter::once((0, 3)).chain(bridges.into_iter().map(|b| (b, 1)));
                for (bus, first) in buses {
                    for s in first..32 {
                        if !self
                            .used
                            .iter()
                            .any(|u| u.bus == bus && u.slot == s && u.domain == 0)
                        {
                            return Ok(slot(bus, s));
                        }
                    }
                }
                Err(err(
                    "pci",
                    tr("the VM's PCI bus has no free slot: add a pci-bridge controller with virt-manager, or remove a device"),
                ))
            }
        }
    }
}
