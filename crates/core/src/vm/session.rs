//! A VM's session: what happens on the host while it runs. Chosen per VM and kept in Passage's
//! metadata; the libvirt hook (`passage-helper hook`) reads it from the domain libvirt hands
//! it and acts only on domains that ask for something.
//!
//! - GPU mode *at boot*: the card is on vfio-pci from boot on (Host setup), nothing to do;
//!   *while the VM runs*: the host keeps the card and lends it to the VM.
//! - Hugepages *reserved at start* (and freed at the end) or none.
//! - CPU isolation: the host's other processes kept off the VM's pinned CPUs while it runs.

use std::io::Read;

use serde::{Deserialize, Serialize};

use super::domain::{Domain, PASSAGE_NS};
use super::{err, VmError};
use crate::host::PciAddress;
use crate::i18n::{tr, tr_f};

/// Metadata keys (`<passage:gpu-mode>running</passage:gpu-mode>`…).
pub const GPU_MODE: &str = "gpu-mode";
pub const SESSION_HUGEPAGES: &str = "session-hugepages";
pub const ISOLATE_CPUS: &str = "isolate-cpus";

/// When the card goes to vfio-pci.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpuMode {
    /// From boot on (Host setup binds it); the host never uses the card.
    #[default]
    AtBoot,
    /// Only while the VM runs; the host has it the rest of the time.
    WhileRunning,
    /// The host's only graphics card, while the VM runs: the session stops the desktop, frees
    /// the console and unloads the card's drivers first, and brings them back after
    /// ([`crate::host::desktop`]). Offered only where the host has one display card.
    OnlyGpu,
}

impl GpuMode {
    /// The order every front end offers the modes in: the default, from boot on, first.
    pub const CHOICES: [GpuMode; 2] = [GpuMode::AtBoot, GpuMode::WhileRunning];

    /// The modes offered for `gpu` on `host`: [`GpuMode::CHOICES`], and *only GPU* where it is
    /// the host's one display card (which the other two cannot take).
    pub fn offered(host: &crate::host::Host, gpu: PciAddress) -> Vec<GpuMode> {
        let mut out = GpuMode::CHOICES.to_vec();
        if host.only_gpu() == Some(gpu) {
            out.push(GpuMode::OnlyGpu);
        }
        out
    }

    /// The mode a VM of `gpu` gets unless the user chooses another — the one rule the app's
    /// Devices page, wizard, express VM and Host setup and passagectl share: *only GPU* for the
    /// host's only graphics card when it shows the screen (the other two modes cannot take
    /// it), from boot on for every other card.
    pub fn default_for(host: &crate::host::Host, gpu: PciAddress) -> GpuMode {
        if host.only_gpu() == Some(gpu) && host.is_host_display(gpu) {
            GpuMode::OnlyGpu
        } else {
            GpuMode::AtBoot
        }
    }

    /// `wanted` (Host setup's mode, a mode named on the command line) for `gpu` when the card
    /// can go in it, else the card's default ([`GpuMode::default_for`]): the host's only card
    /// showing the screen is always *only GPU*, and *only GPU* is for that card alone.
    pub fn for_card(host: &crate::host::Host, gpu: PciAddress, wanted: GpuMode) -> GpuMode {
        let default = GpuMode::default_for(host, gpu);
        if default == GpuMode::OnlyGpu || !GpuMode::offered(host, gpu).contains(&wanted) {
            default
        } else {
            wanted
        }
    }

    /// The modes a VM of `gpu` can have ([`GpuMode::offered`] less those that cannot take
    /// the card): only GPU alone for the host's only card showing the screen.
    pub fn usable(host: &crate::host::Host, gpu: PciAddress) -> Vec<GpuMode> {
        GpuMode::offered(host, gpu)
            .into_iter()
            .filter(|m| GpuMode::for_card(host, gpu, *m) == *m)
            .collect()
    }

    /// Whether the hook lends the VM's devices while it runs (and gives them back after).
    pub fn lends(self) -> bool {
        matches!(self, GpuMode::WhileRunning | GpuMode::OnlyGpu)
    }

    /// The choice's title, the same on Host setup and in the wizard.
    pub fn title(self) -> String {
        match self {
            GpuMode::AtBoot => tr("From boot on"),
            GpuMode::WhileRunning => tr("Only while a VM runs"),
            GpuMode::OnlyGpu => tr("Only GPU: the desktop stops while the VM runs"),
        }
    }

    /// The metadata and command-line word.
    pub fn word(self) -> &'static str {
        match self {
            GpuMode::AtBoot => "boot",
            GpuMode::WhileRunning => "running",
            GpuMode::OnlyGpu => "only-gpu",
        }
    }

    pub fn from_word(s: &str) -> Option<GpuMode> {
        match s {
            "boot" => Some(GpuMode::AtBoot),
            "running" => Some(GpuMode::WhileRunning),
            "only-gpu" => Some(GpuMode::OnlyGpu),
            _ => None,
        }
    }
}

/// What a VM's session does, from its metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSettings {
    pub gpu_mode: GpuMode,
    /// Reserve the VM's hugepages when it starts, free them when it stops.
    pub hugepages: bool,
    /// Keep the host's processes off the VM's pinned CPUs while it runs.
    pub isolate_cpus: bool,
}

fn yes_no(v: Option<&str>) -> bool {
    v == Some("yes")
}

impl SessionSettings {
    /// The settings a domain's metadata holds (all off for a domain Passage did not make).
    pub fn of(d: &Domain) -> SessionSettings {
        SessionSettings {
            gpu_mode: d
                .meta(GPU_MODE)
                .and_then(GpuMode::from_word)
                .unwrap_or_default(),
            hugepages: yes_no(d.meta(SESSION_HUGEPAGES)),
            isolate_cpus: yes_no(d.meta(ISOLATE_CPUS)),
        }
    }

    /// Whether the hook has anything to do for this VM.
    pub fn active(&self) -> bool {
        self.gpu_mode.lends() || self.hugepages || self.isolate_cpus
    }

    /// The metadata elements, as `(key, value)`.
    pub fn metadata(&self) -> [(&'static str, &'static str); 3] {
        let yn = |b: bool| if b { "yes" } else { "no" };
        [
            (GPU_MODE, self.gpu_mode.word()),
            (SESSION_HUGEPAGES, yn(self.hugepages)),
            (ISOLATE_CPUS, yn(self.isolate_cpus)),
        ]
    }
}

/// The libvirt QEMU hook operations Passage acts on (libvirt's `hooks.html`: `prepare` before
/// resources are allocated, `release` after they are freed, after a shutdown, a Force Off and
/// a QEMU crash alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOp {
    Prepare,
    Release,
    /// Any other operation (start, started, stopped, migrate, restore, reconnect, attach…):
    /// nothing to do.
    Other(String),
}

/// `/etc/libvirt/hooks/qemu.d/…` is run as `SCRIPT DOMAIN OPERATION SUB-OPERATION EXTRA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCall {
    pub vm: String,
    pub op: HookOp,
}

/// The most domain XML the hook reads from libvirt (real domains are a few KiB).
pub const MAX_DOMAIN_XML: usize = 1 << 20;

/// Whether `vm` can be a libvirt domain name as the hook and the helper take it: not empty,
/// at most 1 KiB, no control character and no `/`.
pub fn is_vm_name(vm: &str) -> bool {
    !(vm.is_empty() || vm.len() > 1024 || vm.chars().any(char::is_control) || vm.contains('/'))
}

/// Reads the hook's arguments (without the program name).
pub fn hook_call(args: &[String]) -> Result<HookCall, VmError> {
    let (Some(vm), Some(op)) = (args.first(), args.get(1)) else {
        return Err(err(
            "hook",
            tr("libvirt runs the hook with the domain's name and an operation; got fewer arguments"),
        ));
    };
    if !is_vm_name(vm) {
        return Err(err(
            "hook",
            tr("the domain name libvirt passed is not a name"),
        ));
    }
    let op = match op.as_str() {
        "prepare" => HookOp::Prepare,
        "release" => HookOp::Release,
        o if o.len() <= 32 && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            HookOp::Other(o.to_string())
        }
        _ => {
            return Err(err(
                "hook",
                tr("the operation libvirt passed is not a word"),
            ))
        }
    };
    Ok(HookCall { vm: vm.clone(), op })
}

/// What a starting VM's session must take from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    pub vm: String,
    /// The domain's UUID (lower case), which its authorization is kept under; `None` in a
    /// domain not defined yet (libvirt gives it one) or one whose UUID is not readable.
    pub uuid: Option<String>,
    pub settings: SessionSettings,
    /// The host PCI devices the domain passes through (its `<hostdev>`s).
    pub devices: Vec<PciAddress>,
    /// Memory to back with hugepages, in KiB, and the page size asked for (`None`: the host's
    /// default size); `None` when the session reserves none.
    pub hugepages: Option<(u64, Option<u64>)>,
    /// Host CPUs the vCPUs and emulator are pinned to.
    pub pinned_cpus: Vec<u32>,
}

/// What the hook's stdin held: its first `MAX_DOMAIN_XML + 1` bytes, and whether Passage's
/// metadata namespace is anywhere in it.
struct HookInput {
    head: Vec<u8>,
    passage: bool,
}

/// Passage's namespace as a domain can spell it: UTF-8 (what libvirt writes), UTF-16 either way
/// round (an odd encoding is then refused with its reason, not taken for someone else's domain).
fn namespace_spellings() -> [Vec<u8>; 3] {
    let utf16 = |le: bool| {
        PASSAGE_NS
            .encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    };
    [PASSAGE_NS.as_bytes().to_vec(), utf16(true), utf16(false)]
}

/// Reads `r` to its end (libvirt writes the XML into a pipe and waits), keeping no more than
/// `MAX_DOMAIN_XML + 1` bytes however long it is, and looking for Passage's namespace across
/// all of it.
fn read_hook_input(r: &mut dyn Read) -> std::io::Result<HookInput> {
    let needles = namespace_spellings();
    let overlap = needles.iter().map(Vec::len).max().unwrap_or(1) - 1;
    let mut input = HookInput {
        head: Vec::new(),
        passage: false,
    };
    // The tail of what was read so far, so that a spelling split across two reads is found.
    let mut window: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(input),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = (MAX_DOMAIN_XML + 1).saturating_sub(input.head.len());
        input.head.extend_from_slice(&buf[..n.min(room)]);
        if !input.passage {
            window.extend_from_slice(&buf[..n]);
            input.passage = needles
                .iter()
                .any(|w| window.windows(w.len()).any(|x| x == w.as_slice()));
            let keep = window.len().saturating_sub(overlap);
            window.drain(..keep);
        }
    }
}

/// Reads the domain libvirt writes on the hook's stdin, all of it. `Ok(None)`: leave the VM
/// alone — Passage's namespace is nowhere in it (whatever its size or form: a domain Passage
/// has nothing to do with starts as if Passage were not there), or its metadata asks for no
/// session. A domain with Passage's namespace that cannot be read is refused with the reason.
pub fn read_session_request(vm: &str, r: &mut dyn Read) -> Result<Option<SessionRequest>, VmError> {
    let input = read_hook_input(r).map_err(|e| {
        err(
            "hook",
            tr_f(
                "cannot read the domain XML from libvirt: {e}",
                &[("e", &e.to_string())],
            ),
        )
    })?;
    if !input.passage {
        return Ok(None);
    }
    parse_session_request(vm, &input.head)
}

/// [`read_session_request`] on the bytes of a domain.
pub fn session_request(vm: &str, xml: &[u8]) -> Result<Option<SessionRequest>, VmError> {
    read_session_request(vm, &mut &xml[..])
}

/// The session a domain with Passage's namespace asks for.
fn parse_session_request(vm: &str, xml: &[u8]) -> Result<Option<SessionRequest>, VmError> {
    if xml.len() > MAX_DOMAIN_XML {
        return Err(err(
            "hook",
            tr_f(
                "the domain XML libvirt passed is larger than {max} KiB; Passage does not read it",
                &[("max", &(MAX_DOMAIN_XML / 1024).to_string())],
            ),
        ));
    }
    let text = std::str::from_utf8(xml)
        .map_err(|_| err("hook", tr("the domain XML libvirt passed is not UTF-8")))?;
    let d = Domain::read(text)?;
    if d.name != vm {
        return Err(err(
            "hook",
            tr_f(
                "the domain XML is for {xml}, but libvirt named {vm}",
                &[("xml", &d.name), ("vm", vm)],
            ),
        ));
    }
    SessionRequest::of(&d)
}

impl SessionRequest {
    /// What `d`'s session would take. `Ok(None)`: its metadata asks for no session.
    pub fn of(d: &Domain) -> Result<Option<SessionRequest>, VmError> {
        session_of(d)
    }

    /// What an administrator authorizes for this VM (the helper's AuthorizeVm): its devices,
    /// the memory its hugepages back (KiB, 0 for none) and the CPUs the host is kept off
    /// (none without CPU isolation).
    pub fn authorization(&self) -> (Vec<PciAddress>, u64, Vec<u32>) {
        let cpus = if self.settings.isolate_cpus {
            self.pinned_cpus.clone()
        } else {
            vec![]
        };
        (
            self.devices.clone(),
            self.hugepages.map(|(kib, _)| kib).unwrap_or(0),
            cpus,
        )
    }
}

fn session_of(d: &Domain) -> Result<Option<SessionRequest>, VmError> {
    let settings = SessionSettings::of(d);
    if !settings.active() {
        return Ok(None);
    }
    let devices = if settings.gpu_mode.lends() {
        let mut v = d.host_pci();
        v.sort();
        v.dedup();
        v
    } else {
        vec![]
    };
    if settings.gpu_mode.lends() && d.hostdevs.iter().any(|h| h.host.is_none()) {
        return Err(err(
            "hook",
            tr("a <hostdev> of the domain has no readable host PCI address; fix the domain XML"),
        ));
    }
    let hugepages = match (settings.hugepages, d.hugepages, d.memory_kib) {
        (true, true, Some(kib)) => Some((kib, d.hugepage_kib)),
        _ => None,
    };
    let uuid = d.uuid.as_deref().and_then(crate::verb_args::uuid);
    Ok(Some(SessionRequest {
        vm: d.name.clone(),
        uuid,
        settings,
        devices,
        hugepages,
        pinned_cpus: pinned_cpus(d),
    }))
}

/// Every host CPU a `<vcpupin>` names.
fn pinned_cpus(d: &Domain) -> Vec<u32> {
    let mut out: Vec<u32> = d
        .vcpu_pins
        .iter()
        .filter_map(|(_, set)| crate::root::parse_cpu_list(set))
        .flatten()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Pages of `page_kib` that back `memory_kib` (rounded up: QEMU needs the whole of it).
pub fn pages_for(memory_kib: u64, page_kib: u64) -> Option<u64> {
    (page_kib > 0).then(|| memory_kib.div_ceil(page_kib))
}

/// How many pages to add to a pool that has `free` unused pages, so that `want` are free.
pub fn pages_to_add(want: u64, free: u64) -> u64 {
    want.saturating_sub(free)
}

/// The shortfall in MiB when the kernel reserved `got` of `asked` pages of `page_kib`.
pub fn shortfall_mib(asked: u64, got: u64, page_kib: u64) -> u64 {
    (asked.saturating_sub(got) * page_kib).div_ceil(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dom(meta: &str, extra: &str) -> String {
        format!(
            "<domain type='kvm'><name>win</name><uuid>5A3B0D5C-1A2B-4C3D-8E9F-0123456789AB</uuid><metadata><passage:vm xmlns:passage='{}'>{meta}</passage:vm></metadata>\
             <memory unit='GiB'>8</memory>{extra}<devices>\
             <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>\
             <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>\
             </devices></domain>",
            super::super::domain::PASSAGE_NS
        )
    }

    #[test]
    fn a_domain_without_session_metadata_is_left_alone() {
        let x = dom("<passage:purpose>gaming</passage:purpose>", "");
        assert_eq!(session_request("win", x.as_bytes()), Ok(None));
        let x = dom("<passage:gpu-mode>boot</passage:gpu-mode>", "");
        assert_eq!(session_request("win", x.as_bytes()), Ok(None));
    }

    #[test]
    fn a_running_mode_domain_asks_for_its_devices_hugepages_and_cpus() {
        let x = dom(
            "<passage:gpu-mode>running</passage:gpu-mode><passage:session-hugepages>yes</passage:session-hugepages><passage:isolate-cpus>yes</passage:isolate-cpus>",
            "<memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking>\
             <cputune><vcpupin vcpu='0' cpuset='2'/><vcpupin vcpu='1' cpuset='3,8'/></cputune>",
        );
        let r = session_request("win", x.as_bytes())
            .expect("ok")
            .expect("session");
        assert_eq!(
            r.devices.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["0000:01:00.0", "0000:01:00.1"]
        );
        assert_eq!(r.hugepages, Some((8 * 1024 * 1024, Some(1024 * 1024))));
        assert_eq!(r.pinned_cpus, [2, 3, 8]);
        assert!(r.settings.isolate_cpus);
        assert_eq!(
            r.uuid.as_deref(),
            Some("5a3b0d5c-1a2b-4c3d-8e9f-0123456789ab")
        );
        let (devices, kib, cpus) = r.authorization();
        assert_eq!(
            (devices.len(), kib, cpus),
            (2, 8 * 1024 * 1024, vec![2, 3, 8])
        );
        let no_uuid = x.replace("<uuid>5A3B0D5C-1A2B-4C3D-8E9F-0123456789AB</uuid>", "");
        let r = session_request("win", no_uuid.as_bytes()).expect("ok");
        assert_eq!(r.and_then(|r| r.uuid), None);
    }

    #[test]
    fn hugepages_need_the_domain_to_use_them() {
        let x = dom(
            "<passage:session-hugepages>yes</passage:session-hugepages>",
            "",
        );
        let r = session_request("win", x.as_bytes())
            .expect("ok")
            .expect("session");
        assert_eq!(r.hugepages, None);
        assert!(r.devices.is_empty(), "at-boot mode takes no devices");
    }

    #[test]
    fn bad_input_is_refused_with_what_was_wrong() {
        let x = dom("<passage:gpu-mode>running</passage:gpu-mode>", "");
        let e = session_request("other", x.as_bytes()).expect_err("name");
        assert!(e.to_string().contains("libvirt named other"), "{e}");
        let malformed = format!("<domain xmlns:p='{PASSAGE_NS}'><name>win</nam");
        let e = session_request("win", malformed.as_bytes()).expect_err("malformed");
        assert!(
            e.to_string().contains("not a domain Passage can read"),
            "{e}"
        );
        let mut huge = x.clone().into_bytes();
        huge.resize(MAX_DOMAIN_XML + 1, b' ');
        let e = session_request("win", &huge).expect_err("huge");
        assert!(e.to_string().contains("larger than"), "{e}");
        let mut latin1 = x.clone().into_bytes();
        latin1.extend([0xff, 0xfe]);
        let e = session_request("win", &latin1).expect_err("utf8");
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let utf16: Vec<u8> = x.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let e = session_request("win", &utf16).expect_err("utf16");
        assert!(
            e.to_string().contains("not a domain Passage can read"),
            "{e}"
        );
        let no_addr = x.replace("bus='0x01' slot='0x00' function='0x1'", "bus='0x1ff'");
        let e = session_request("win", no_addr.as_bytes()).expect_err("address");
        assert!(e.to_string().contains("host PCI address"), "{e}");
    }

    /// Reads in pieces of a few bytes, as a pipe may deliver them.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_domain_without_passages_namespace_is_left_alone_whatever_its_size_or_form() {
        let plain = "<domain type='kvm'><name>win</name><memory>1</memory><devices/></domain>";
        let mut huge = plain.as_bytes().to_vec();
        huge.resize(3 * MAX_DOMAIN_XML, b' ');
        let utf16: Vec<u8> = plain.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let odd: [&[u8]; 6] = [
            plain.as_bytes(),
            &huge,
            b"<domain><name>win</nam",
            &[0xff, 0xfe, 0x00],
            &utf16,
            b"",
        ];
        for input in odd {
            assert_eq!(
                session_request("win", input),
                Ok(None),
                "{} bytes",
                input.len()
            );
            assert_eq!(session_request("other", input), Ok(None));
        }
        // Passage's namespace anywhere, even past the bytes Passage keeps or split across
        // reads, makes it Passage's: refused with the reason.
        let mut late = huge.clone();
        late.extend(format!("<!-- {PASSAGE_NS} -->").bytes());
        let e = read_session_request("win", &mut Trickle(&late, 4096)).expect_err("late");
        assert!(e.to_string().contains("larger than"), "{e}");
        let x = dom("<passage:gpu-mode>running</passage:gpu-mode>", "");
        for step in [1, 7, 64 * 1024] {
            let r = read_session_request("win", &mut Trickle(x.as_bytes(), step));
            assert!(r.expect("read").is_some(), "in pieces of {step}");
        }
    }

    #[test]
    fn hook_arguments() {
        let a = |v: &[&str]| hook_call(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            a(&["win", "prepare", "begin", "-"]).map(|c| c.op),
            Ok(HookOp::Prepare)
        );
        assert_eq!(
            a(&["win", "release", "end", "-"]).map(|c| c.op),
            Ok(HookOp::Release)
        );
        assert!(matches!(
            a(&["win", "started", "begin", "-"]).map(|c| c.op),
            Ok(HookOp::Other(_))
        ));
        assert!(a(&["win"]).is_err());
        assert!(a(&["../x", "prepare"]).is_err());
        assert!(a(&["win", "pre pare"]).is_err());
    }

    #[test]
    fn hugepage_arithmetic() {
        assert_eq!(pages_for(8 * 1024 * 1024, 2048), Some(4096));
        assert_eq!(pages_for(8 * 1024 * 1024 + 1, 2048), Some(4097));
        assert_eq!(pages_for(1, 0), None);
        assert_eq!(pages_to_add(4096, 100), 3996);
        assert_eq!(pages_to_add(10, 100), 0);
        assert_eq!(shortfall_mib(4096, 4000, 2048), 192);
        assert_eq!(shortfall_mib(4, 3, 1024 * 1024), 1024);
    }
}
