//! A libvirt domain as Passage reads it: what `passagectl vm show` prints, what the VM page
//! shows, and what the device editor needs to know about guest PCI placement. Numbers are read
//! by libvirt's rules ([`super::number`]); anything Passage does not model is left to the XML.

use std::ops::Range;

use roxmltree::Node;
use serde::Serialize;

use super::number::{memory_kib, prop_uint};
use super::{err, VmError};
use crate::host::PciAddress;
use crate::i18n::{tr, tr_f};

/// The XML namespace of Passage's metadata.
pub const PASSAGE_NS: &str = "https://github.com/passage/passage/vm/1";

/// A guest PCI address (`<address type='pci' …/>` of a device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct GuestPci {
    pub domain: u32,
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
    /// `multifunction='on'` (Some(true)), `'off'` (Some(false)) or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multifunction: Option<bool>,
}

impl GuestPci {
    pub fn same_slot(&self, o: &GuestPci) -> bool {
        self.domain == o.domain && self.bus == o.bus && self.slot == o.slot
    }
}

/// Where a device sits in the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GuestAddress {
    Pci(GuestPci),
    /// `<address type='unassigned'/>`: given to the VM but not plugged into its PCI tree.
    Unassigned,
    /// No address: libvirt places it when the domain is defined.
    Auto,
    /// Another address type (ccw, spapr-vio…).
    Other {
        r#type: String,
    },
}

/// A `<rom>` element, attribute by attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Rom {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
}

/// A PCI device passed through (`<hostdev type='pci'>`, or `<interface type='hostdev'>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PciHostdev {
    /// `None` when the source address is missing or out of range.
    pub host: Option<PciAddress>,
    pub guest: GuestAddress,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rom: Option<Rom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub managed: bool,
    /// An SR-IOV network function given as `<interface type='hostdev'>`.
    pub interface: bool,
    #[serde(skip)]
    pub(crate) range: Range<usize>,
}

/// How a USB device is named: by its IDs, by where it is plugged in, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbHostdev {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
    #[serde(skip)]
    pub(crate) range: Range<usize>,
}

impl UsbHostdev {
    /// `VVVV:PPPP` when the device is named by its IDs.
    pub fn id(&self) -> Option<(u16, u16)> {
        Some((self.vendor?, self.product?))
    }
}

/// A disk or CD-ROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskInfo {
    /// `file`, `block`, `volume`, `network`…
    pub r#type: String,
    /// A path, a block device, `pool/volume`, or a network name; `None` for an empty drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_order: Option<u32>,
}

/// The firmware the domain boots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmwareInfo {
    /// `efi`, or `bios` (also for a domain that says nothing: libvirt's default).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loader: Option<String>,
    pub secure_boot: bool,
}

/// A PCI controller (a bus of the guest): its index is the bus number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PciController {
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(skip)]
    pub(crate) range: Range<usize>,
}

/// A root port Passage recorded as its own: the controller index, and where the record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortRecord {
    pub index: u32,
    pub range: Range<usize>,
}

/// The metadata element that records a root port Passage added.
pub(crate) const ROOT_PORT: &str = "root-port";

/// What Passage reads from a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// `kvm` or `qemu`.
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(skip)]
    pub memory_kib: Option<u64>,
    pub hugepages: bool,
    /// The hugepage size `<memoryBacking><hugepages><page size=…/>` asks for (the host's default
    /// size when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hugepage_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// vCPU → host cpuset, as `<vcpupin>` says.
    pub vcpu_pins: Vec<(u32, String)>,
    pub firmware: FirmwareInfo,
    pub hostdevs: Vec<PciHostdev>,
    pub usb: Vec<UsbHostdev>,
    pub disks: Vec<DiskInfo>,
    pub cdroms: Vec<DiskInfo>,
    /// Graphics types: `spice`, `vnc`…
    pub graphics: Vec<String>,
    /// Whether it has a `<tpm>`.
    pub tpm: bool,
    /// Whether it has a `<serial>` or `<console>` that libvirt can stream (`virsh console`):
    /// one of type `pty`, the default where no type is given.
    #[serde(skip)]
    pub serial_console: bool,
    /// Its QEMU guest agent channel and what libvirt says of it.
    pub guest_agent: GuestAgent,
    /// Whether it has a USB tablet (`<input type='tablet'>`).
    #[serde(skip)]
    pub tablet: bool,
    /// Whether it takes a host keyboard or mouse by evdev (`<input type='evdev'>`,
    /// virtio-input-host's `<input type='passthrough'>`, or QEMU's `input-linux` object).
    #[serde(skip)]
    pub evdev: bool,
    /// Its memory balloon's model when it has one (`none` is none).
    #[serde(skip)]
    pub memballoon: Option<String>,
    /// Its Looking Glass shared memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub looking_glass: Option<super::looking_glass::LookingGlass>,
    /// Passage's metadata (`purpose`…), element name → text.
    pub passage: Vec<(String, String)>,
    /// What Passage recorded about each PCI device when it made the VM.
    pub devices_seen: Vec<super::SeenDevice>,
    /// The libvirt networks its interfaces use.
    pub networks: Vec<String>,
    /// The host bridges its interfaces join (`<interface type='bridge'>`), each with whether
    /// it is an Open vSwitch bridge (`<virtualport type='openvswitch'/>`).
    pub bridges: Vec<(String, bool)>,
    pub pci_controllers: Vec<PciController>,
    /// The root ports Passage added, as its metadata records them (`<passage:root-port
    /// index='N'/>`): only these may go when they empty.
    #[serde(skip)]
    pub(crate) passage_ports: Vec<PortRecord>,
    /// Every explicit guest PCI address in `<devices>` (devices and controllers alike).
    #[serde(skip)]
    pub(crate) used_pci: Vec<GuestPci>,
}

/// The name of the QEMU guest agent's virtio port (libvirt's `org.qemu.guest_agent.0`).
pub const AGENT_CHANNEL: &str = "org.qemu.guest_agent.0";

/// A domain's QEMU guest agent channel, as libvirt's live XML says: libvirt sets the channel
/// target's `state` (`connected` when a program in the guest opened the port,
/// `disconnected` when none did) while the VM runs, and writes none in a definition. Read
/// from the XML alone: no agent command runs (libvirt marks a domain that ran one tainted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestAgent {
    /// No `<channel type='unix'>` with the agent's target.
    NoChannel,
    /// The channel is there and libvirt reports no state (the VM is off, or its QEMU does
    /// not say).
    Unknown,
    /// No agent answers in the guest (`state='disconnected'`).
    NotAnswering,
    /// The guest's agent has the port open (`state='connected'`).
    Answering,
}

impl GuestAgent {
    /// Whether the domain has the agent's channel.
    pub fn has_channel(self) -> bool {
        self != GuestAgent::NoChannel
    }

    /// What it means for the user, after "Guest agent:"; `add` says how to add a missing
    /// channel (the app's *Edit…*, `passagectl vm edit`).
    pub fn words(self, add: &str) -> String {
        match self {
            GuestAgent::Answering => tr("answering"),
            GuestAgent::NotAnswering => tr("not answering (install the QEMU guest agent in the guest: virtio-win guest tools on Windows, qemu-guest-agent on Linux)"),
            GuestAgent::Unknown => tr("channel present; whether the agent answers shows while the VM runs"),
            GuestAgent::NoChannel => tr_f("no channel ({add} adds it)", &[("add", add)]),
        }
    }
}

/// Whether `dev` is the guest agent's channel (`<channel type='unix'>` with a virtio target
/// named `org.qemu.guest_agent.0`).
pub(crate) fn is_agent_channel(dev: Node) -> bool {
    dev.has_tag_name("channel")
        && dev.attribute("type") == Some("unix")
        && child(dev, "target").is_some_and(|t| {
            t.attribute("type") == Some("virtio") && t.attribute("name") == Some(AGENT_CHANNEL)
        })
}

fn agent_state(dev: Node) -> GuestAgent {
    match child(dev, "target").and_then(|t| t.attribute("state")) {
        Some("connected") => GuestAgent::Answering,
        Some("disconnected") => GuestAgent::NotAnswering,
        _ => GuestAgent::Unknown,
    }
}

pub(crate) fn parse(xml: &str) -> Result<roxmltree::Document<'_>, VmError> {
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

pub(crate) fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

fn uint(n: Option<Node>, attr: &str) -> Option<u32> {
    n?.attribute(attr).and_then(prop_uint)
}

fn text(n: Option<Node>) -> Option<String> {
    n?.text().map(str::trim).map(str::to_string)
}

/// The host address in a `<source><address …/>`.
pub(crate) fn host_pci(source: Option<Node>) -> Option<PciAddress> {
    let a = child(source?, "address")?;
    let (d, b, s, f) = (
        uint(Some(a), "domain").unwrap_or(0),
        uint(Some(a), "bus").unwrap_or(0),
        uint(Some(a), "slot").unwrap_or(0),
        uint(Some(a), "function").unwrap_or(0),
    );
    // An attribute that is there must be readable.
    for k in ["domain", "bus", "slot", "function"] {
        if a.attribute(k).is_some() && uint(Some(a), k).is_none() {
            return None;
        }
    }
    Some(PciAddress {
        domain: u16::try_from(d).ok()?,
        bus: u8::try_from(b).ok()?,
        slot: u8::try_from(s).ok().filter(|s| *s <= 0x1f)?,
        function: u8::try_from(f).ok().filter(|f| *f <= 7)?,
    })
}

/// A device's own `<address>` (a direct child).
fn guest_address(dev: Node) -> GuestAddress {
    match child(dev, "address") {
        None => GuestAddress::Auto,
        Some(a) => match a.attribute("type") {
            Some("pci") => match guest_pci(a) {
                Some(g) => GuestAddress::Pci(g),
                None => GuestAddress::Other {
                    r#type: "pci".into(),
                },
            },
            Some("unassigned") => GuestAddress::Unassigned,
            t => GuestAddress::Other {
                r#type: t.unwrap_or("").to_string(),
            },
        },
    }
}

pub(crate) fn guest_pci(a: Node) -> Option<GuestPci> {
    let get = |k: &str| match a.attribute(k) {
        None => Some(0),
        Some(v) => prop_uint(v),
    };
    Some(GuestPci {
        domain: get("domain")?,
        bus: get("bus")?,
        slot: get("slot")?,
        function: get("function")?,
        multifunction: match a.attribute("multifunction") {
            Some("on") => Some(true),
            Some("off") => Some(false),
            _ => None,
        },
    })
}

fn boot_order(dev: Node) -> Option<u32> {
    child(dev, "boot")
        .and_then(|b| b.attribute("order"))
        .and_then(prop_uint)
}

fn alias(dev: Node) -> Option<String> {
    child(dev, "alias")
        .and_then(|a| a.attribute("name"))
        .map(str::to_string)
}

fn rom(dev: Node) -> Option<Rom> {
    child(dev, "rom").map(|r| Rom {
        file: r.attribute("file").map(str::to_string),
        bar: r.attribute("bar").map(str::to_string),
        enabled: r.attribute("enabled").map(str::to_string),
    })
}

fn pci_hostdev(h: Node, interface: bool) -> PciHostdev {
    PciHostdev {
        host: host_pci(child(h, "source")),
        guest: guest_address(h),
        rom: rom(h),
        boot_order: boot_order(h),
        alias: alias(h),
        managed: h.attribute("managed") == Some("yes"),
        interface,
        range: h.range(),
    }
}

fn usb_hostdev(h: Node) -> UsbHostdev {
    let src = child(h, "source");
    let id = |name: &str| {
        uint(src.and_then(|s| child(s, name)), "id").and_then(|v| u16::try_from(v).ok())
    };
    let at = src.and_then(|s| child(s, "address"));
    UsbHostdev {
        vendor: id("vendor"),
        product: id("product"),
        bus: uint(at, "bus"),
        device: uint(at, "device"),
        boot_order: boot_order(h),
        range: h.range(),
    }
}

fn disk(d: Node) -> DiskInfo {
    let src = child(d, "source");
    let source = src.and_then(|s| {
        if let (Some(p), Some(v)) = (s.attribute("pool"), s.attribute("volume")) {
            return Some(format!("{p}/{v}"));
        }
        ["file", "dev", "dir", "name"]
            .iter()
            .find_map(|k| s.attribute(*k))
            .map(str::to_string)
    });
    let target = child(d, "target");
    DiskInfo {
        r#type: d.attribute("type").unwrap_or("file").to_string(),
        source,
        target: target.and_then(|t| t.attribute("dev")).map(str::to_string),
        bus: target.and_then(|t| t.attribute("bus")).map(str::to_string),
        boot_order: boot_order(d),
    }
}

fn firmware(d: Node) -> FirmwareInfo {
    let os = child(d, "os");
    let loader = os.and_then(|o| child(o, "loader"));
    let efi = os.and_then(|o| o.attribute("firmware")) == Some("efi")
        || loader.is_some_and(|l| {
            l.attribute("type") == Some("pflash")
                || l.text().is_some_and(|t| {
                    let t = t.to_ascii_lowercase();
                    t.contains("ovmf") || t.contains("edk2") || t.contains("uefi")
                })
        });
    let feature_sb = os
        .and_then(|o| child(o, "firmware"))
        .map(|f| {
            f.children().any(|c| {
                c.has_tag_name("feature")
                    && c.attribute("name") == Some("secure-boot")
                    && c.attribute("enabled") == Some("yes")
            })
        })
        .unwrap_or(false);
    FirmwareInfo {
        kind: if efi { "efi" } else { "bios" }.into(),
        loader: loader
            .and_then(|l| l.text())
            .map(str::trim)
            .map(str::to_string),
        secure_boot: feature_sb || loader.and_then(|l| l.attribute("secure")) == Some("yes"),
    }
}

/// The size of `<memoryBacking><hugepages><page size='1' unit='G'/>` (libvirt's unit for a
/// page is KiB when none is given).
fn hugepage_kib(d: Node) -> Option<u64> {
    let page = child(child(child(d, "memoryBacking")?, "hugepages")?, "page")?;
    memory_kib(
        page.attribute("size")?,
        Some(page.attribute("unit").unwrap_or("KiB")),
    )
}

fn passage_elements<'a, 'i>(d: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    child(d, "metadata")
        .into_iter()
        .flat_map(|m| m.children())
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(PASSAGE_NS))
        .flat_map(|vm| vm.children())
        .filter(|c| c.is_element())
}

fn devices_seen(d: Node) -> Vec<super::SeenDevice> {
    passage_elements(d)
        .filter(|c| c.tag_name().name() == "device")
        .filter_map(|c| {
            Some(super::SeenDevice {
                address: c.attribute("address")?.parse().ok()?,
                id: c.attribute("id")?.to_string(),
                group: c.attribute("group").and_then(|g| g.parse().ok()),
            })
        })
        .collect()
}

fn passage_ports(d: Node) -> Vec<PortRecord> {
    passage_elements(d)
        .filter(|c| c.tag_name().name() == ROOT_PORT)
        .filter_map(|c| {
            Some(PortRecord {
                index: prop_uint(c.attribute("index")?)?,
                range: c.range(),
            })
        })
        .collect()
}

fn passage_metadata(d: Node) -> Vec<(String, String)> {
    passage_elements(d)
        .filter(|c| !matches!(c.tag_name().name(), "device" | ROOT_PORT))
        .map(|c| {
            (
                c.tag_name().name().to_string(),
                c.text().unwrap_or("").trim().to_string(),
            )
        })
        .collect()
}

impl Domain {
    /// Whether a viewer (virt-viewer, which speaks SPICE and VNC) can show this VM's screen.
    pub fn has_viewer_display(&self) -> bool {
        self.graphics.iter().any(|g| g == "spice" || g == "vnc")
    }

    /// Reads a domain; the error says what is wrong with the document.
    pub fn read(xml: &str) -> Result<Domain, VmError> {
        let doc = parse(xml)?;
        Domain::from_node(doc.root_element())
    }

    pub(crate) fn from_node(d: Node) -> Result<Domain, VmError> {
        if !d.has_tag_name("domain") {
            return Err(err("xml", tr("the document is not a <domain>")));
        }
        let name = text(child(d, "name"))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err("xml", tr("the domain has no <name>")))?;
        let mem = |tag: &str| {
            let m = child(d, tag)?;
            memory_kib(m.text().unwrap_or(""), m.attribute("unit"))
        };
        let os_type = child(d, "os").and_then(|o| child(o, "type"));
        let memory_kib = mem("memory");
        let mut out = Domain {
            name,
            uuid: text(child(d, "uuid")),
            r#type: d.attribute("type").unwrap_or("kvm").to_string(),
            arch: os_type
                .and_then(|t| t.attribute("arch"))
                .map(str::to_string),
            machine: os_type
                .and_then(|t| t.attribute("machine"))
                .map(str::to_string),
            memory_mib: memory_kib.map(|k| k / 1024),
            memory_kib,
            hugepages: child(d, "memoryBacking").is_some_and(|m| child(m, "hugepages").is_some()),
            hugepage_kib: hugepage_kib(d),
            vcpus: text(child(d, "vcpu")).and_then(|v| v.parse().ok()),
            vcpu_pins: child(d, "cputune")
                .into_iter()
                .flat_map(|c| c.children())
                .filter(|c| c.has_tag_name("vcpupin"))
                .filter_map(|p| {
                    Some((
                        prop_uint(p.attribute("vcpu")?)?,
                        p.attribute("cpuset")?.to_string(),
                    ))
                })
                .collect(),
            firmware: firmware(d),
            hostdevs: vec![],
            usb: vec![],
            disks: vec![],
            cdroms: vec![],
            graphics: vec![],
            tpm: false,
            serial_console: false,
            guest_agent: GuestAgent::NoChannel,
            tablet: false,
            evdev: false,
            memballoon: None,
            looking_glass: super::looking_glass::LookingGlass::of(d),
            passage: passage_metadata(d),
            devices_seen: devices_seen(d),
            networks: vec![],
            bridges: vec![],
            pci_controllers: vec![],
            passage_ports: passage_ports(d),
            used_pci: vec![],
        };
        if let Some(devs) = child(d, "devices") {
            out.read_devices(devs);
        }
        // The older form the guides give: QEMU's input-linux object on its command line.
        if qemu_input_linux(d) {
            out.evdev = true;
        }
        Ok(out)
    }

    fn read_devices(&mut self, devs: Node) {
        for dev in devs.children().filter(Node::is_element) {
            if let Some(a) = child(dev, "address").filter(|a| a.attribute("type") == Some("pci")) {
                if let Some(g) = guest_pci(a) {
                    self.used_pci.push(g);
                }
            }
            let ty = dev.attribute("type");
            match dev.tag_name().name() {
                "hostdev" if ty == Some("pci") && dev.attribute("mode") != Some("capabilities") => {
                    self.hostdevs.push(pci_hostdev(dev, false))
                }
                "hostdev" if ty == Some("usb") => self.usb.push(usb_hostdev(dev)),
                "interface" if ty == Some("hostdev") => self.hostdevs.push(pci_hostdev(dev, true)),
                "interface" if ty == Some("network") => {
                    if let Some(n) = child(dev, "source").and_then(|s| s.attribute("network")) {
                        self.networks.push(n.to_string());
                    }
                }
                "interface" if ty == Some("bridge") => {
                    if let Some(b) = child(dev, "source").and_then(|s| s.attribute("bridge")) {
                        // An Open vSwitch bridge is an interface without the kernel's bridge/.
                        let ovs = child(dev, "virtualport")
                            .is_some_and(|v| v.attribute("type") == Some("openvswitch"));
                        self.bridges.push((b.to_string(), ovs));
                    }
                }
                "disk" if dev.attribute("device") == Some("cdrom") => self.cdroms.push(disk(dev)),
                "disk" => self.disks.push(disk(dev)),
                "graphics" => self.graphics.push(ty.unwrap_or("").to_string()),
                "tpm" => self.tpm = true,
                "serial" | "console" if ty.unwrap_or("pty") == "pty" => self.serial_console = true,
                "input" if ty == Some("tablet") => self.tablet = true,
                // virtio-input-host (`passthrough`) takes an evdev device as well.
                "input" if matches!(ty, Some("evdev" | "passthrough")) => self.evdev = true,
                "memballoon" => {
                    self.memballoon = dev
                        .attribute("model")
                        .filter(|m| *m != "none")
                        .map(str::to_string)
                }
                "channel" if is_agent_channel(dev) => {
                    self.guest_agent = self.guest_agent.max(agent_state(dev))
                }
                "controller" if ty == Some("pci") => {
                    if let Some(index) = dev.attribute("index").and_then(prop_uint) {
                        self.pci_controllers.push(PciController {
                            index,
                            model: dev.attribute("model").map(str::to_string),
                            alias: alias(dev),
                            range: dev.range(),
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The host PCI devices the VM has.
    pub fn host_pci(&self) -> Vec<PciAddress> {
        self.hostdevs.iter().filter_map(|h| h.host).collect()
    }

    /// Every explicit guest PCI address in `<devices>`.
    pub fn used_pci(&self) -> &[GuestPci] {
        &self.used_pci
    }

    /// The indexes of the root ports Passage recorded as its own.
    pub fn passage_ports(&self) -> Vec<u32> {
        self.passage_ports.iter().map(|p| p.index).collect()
    }

    /// A value of Passage's metadata.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.passage
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether the domain's QEMU command line (`<qemu:commandline>`) adds an `input-linux` object:
/// a host keyboard or mouse by evdev, as the older guides set it up.
fn qemu_input_linux(d: Node) -> bool {
    d.children()
        .filter(|c| {
            c.tag_name().namespace() == Some(super::looking_glass::QEMU_NS)
                && c.tag_name().name() == "commandline"
        })
        .flat_map(|c| c.children())
        .filter_map(|a| a.attribute("value"))
        .any(|v| v.starts_with("input-linux,") || v.contains("\"qom-type\":\"input-linux\""))
}
