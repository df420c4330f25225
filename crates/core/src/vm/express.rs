//! The express VM: a whole VM recommended from this host and a chosen card, for a Gaming
//! (Windows) or ML (Linux) VM, with only the name, the installer ISO and the disk size asked.
//!
//! It is the wizard's default draft ([`Draft::new`]: the card's whole IOMMU group, CPU pinning
//! from the L3/CCX layout leaving the host a core, hugepages when there is room, the Hyper-V
//! set, q35 + OVMF with Secure Boot and a TPM where the host can, virtio disk and network)
//! with the choices below made through [`Draft::set`], the wizard's own rules, so a choice the
//! wizard would refuse is refused here too and *Customize…* opens the wizard on the very same
//! draft:
//! - the purpose, the installer ISO, a name no VM or disk image in libvirt has, a new disk
//!   sized from the free space where it goes ([`disk_gib`]);
//! - the GPU mode chosen on Host setup;
//! - a free USB controller ([`free_usb_controller`]): nothing plugged in, alone in its group;
//! - the host's first keyboard and first mouse by evdev (both Ctrl keys switch them).
//!
//! Windows 11 needs Secure Boot and a TPM: the installer is identified from the ISO's label and
//! name ([`super::installer`]); when the host cannot give them, or the Windows version is not
//! known, a note says so (the draft keeps the wizard's safe choice: both on where the host can).

use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};

use super::devices::{extra_candidates, Selection};
use super::draft::{Choice, Draft, Storage};
use super::installer::{identify, Installer};
use super::labels::InputKind;
use super::session::GpuMode;
use super::tuning::Hv;
use super::{Purpose, VmError};

/// The disk a Gaming VM gets when there is room: what the wizard offers.
pub const GAMING_DISK_GIB: u64 = 128;
/// An ML VM's disk: a Linux system, CUDA and a few models.
pub const ML_DISK_GIB: u64 = 96;
/// Windows 11 asks for 64 GB; Linux with CUDA is about 32 GiB.
const MIN_DISK_GIB: [(Purpose, u64); 2] = [(Purpose::Gaming, 64), (Purpose::Ml, 32)];

/// What the front end knows besides the host: Host setup's GPU mode, the free space where
/// the disk goes (libvirt's pool), the names libvirt holds, the host's Hyper-V support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub gpu_mode: GpuMode,
    /// Bytes free where the disk goes; `None`: not known.
    pub free_bytes: Option<u64>,
    pub taken_vms: Vec<String>,
    pub taken_volumes: Vec<String>,
    pub hyperv_supported: Option<Vec<Hv>>,
}

/// What the user gave: the kind, the ISO (and its volume label, read by the caller), and
/// optionally a name and a disk size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub purpose: Purpose,
    pub iso: String,
    pub label: Option<String>,
    pub name: Option<String>,
    pub disk_gib: Option<u64>,
}

/// The recommendation: the draft, the choices made on the wizard's default to get it, what
/// the installer was read as, and what the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Express {
    pub draft: Draft,
    pub choices: Vec<Choice>,
    pub installer: Installer,
    pub notes: Vec<String>,
}

/// The whole VM for `selection` on `host`; the error names the field that was refused.
pub fn recommend(
    host: &Host,
    selection: Selection,
    req: &Request,
    ctx: &Context,
) -> Result<Express, VmError> {
    let installer = identify(&req.iso, req.label.as_deref());
    let mut notes = vec![];
    let name = match &req.name {
        Some(n) => n.trim().to_string(),
        None => unique_name(base_name(req.purpose, &installer), ctx),
    };
    let gib = match req.disk_gib {
        Some(g) => g,
        None => {
            let (g, note) = disk_gib(req.purpose, ctx.free_bytes);
            notes.extend(note);
            g
        }
    };
    let mut choices = vec![
        Choice::Purpose(req.purpose),
        Choice::InstallIso(req.iso.clone()),
        Choice::Name(name),
        Choice::Disk(Storage::New { gib, raw: false }),
        // Host setup's mode where the card can go in it; the host's only card showing the
        // screen goes in the only-GPU mode, with the first keyboard and mouse below.
        Choice::GpuMode(GpuMode::for_card(host, selection.gpu, ctx.gpu_mode)),
    ];
    choices.extend(free_usb_controller(host, selection.group).map(Choice::AddPci));
    choices.extend(first_inputs(host).into_iter().map(Choice::AddEvdev));
    let mut draft = Draft::new(host, Some(selection));
    draft.hyperv_supported = ctx.hyperv_supported.clone();
    for c in &choices {
        draft.set(host, c.clone())?;
    }
    notes.extend(clashes(&draft, ctx));
    notes.extend(windows_notes(host, req.purpose, &installer, &draft));
    Ok(Express {
        draft,
        choices,
        installer,
        notes,
    })
}

/// The name's stem: the Windows version when the ISO says it, else the kind.
fn base_name(purpose: Purpose, installer: &Installer) -> &'static str {
    match (purpose, installer) {
        (Purpose::Gaming, Installer::Windows11) => "win11-gaming",
        (Purpose::Gaming, Installer::Windows10) => "win10-gaming",
        (Purpose::Ml, _) => "ml",
        _ => "gaming",
    }
}

/// `base`, or `base-2`, `base-3`… : the first that neither a VM nor a disk image in the pool
/// (`NAME.qcow2`) has.
pub fn unique_name(base: &str, ctx: &Context) -> String {
    (1..)
        .map(|i| match i {
            1 => base.to_string(),
            i => format!("{base}-{i}"),
        })
        .find(|n| !name_taken(n, ctx))
        .unwrap_or_else(|| base.to_string())
}

fn name_taken(name: &str, ctx: &Context) -> bool {
    ctx.taken_vms.iter().any(|v| v == name)
        || ctx
            .taken_volumes
            .iter()
            .any(|v| *v == format!("{name}.qcow2"))
}

/// What in the draft clashes with what libvirt holds, in words: a VM of the same name, or a
/// new disk image whose file is in the pool already; empty when nothing does. The wizard's
/// Create and the express VM's wait until nothing does.
pub fn clashes(d: &Draft, ctx: &Context) -> Vec<String> {
    let mut out = vec![];
    if ctx.taken_vms.contains(&d.name) {
        out.push(tr_f(
            "A VM named {vm} is in libvirt already: choose another name.",
            &[("vm", &d.name)],
        ));
    }
    if matches!(d.storage, Storage::New { .. }) && ctx.taken_volumes.contains(&d.volume_name()) {
        out.push(tr_f(
            "The disk image {image} is in libvirt's pool “{pool}” already: choose another name, or choose that image as an existing disk on the Storage step.",
            &[("image", &d.volume_name()), ("pool", super::draft::POOL)],
        ));
    }
    out
}

/// The disk size: the kind's size when three quarters of the free space hold it, else those
/// three quarters (whole GiB), never under the kind's minimum; a note when that is more than
/// the free space allows, or the free space is not known.
pub fn disk_gib(purpose: Purpose, free_bytes: Option<u64>) -> (u64, Option<String>) {
    let want = match purpose {
        Purpose::Ml => ML_DISK_GIB,
        _ => GAMING_DISK_GIB,
    };
    let min = MIN_DISK_GIB
        .iter()
        .find(|(p, _)| *p == purpose)
        .map_or(32, |(_, m)| *m);
    let Some(free) = free_bytes else {
        return (
            want,
            Some(tr_f(
                "The free space where the disk goes is not known: the disk is {gib} GiB.",
                &[("gib", &want.to_string())],
            )),
        );
    };
    let room = (free / 4 * 3) >> 30;
    if room >= want {
        return (want, None);
    }
    let gib = room.max(min);
    let note = (room < min).then(|| {
        tr_f(
            "Only {free} GiB are free where the disk goes: the {gib} GiB disk grows as the guest writes and may fill it. Free some space, or choose a smaller disk.",
            &[("free", &(free >> 30).to_string()), ("gib", &gib.to_string())],
        )
    });
    (gib, note)
}

/// A USB controller the VM can have with nothing lost: an endpoint that is the only one in its
/// IOMMU group (a group that can go, [`extra_candidates`]), not the card's, with no USB device
/// plugged into it (hubs aside), so no keyboard or disk of the host hangs off it.
pub fn free_usb_controller(host: &Host, gpu_group: u32) -> Option<PciAddress> {
    extra_candidates(host, Some(gpu_group))
        .into_iter()
        .map(|(a, _)| a)
        .filter(|a| host.device(*a).is_some_and(|d| d.class >> 8 == 0x0c03))
        .filter(|a| {
            host.group_of(*a)
                .is_some_and(|g| host.endpoints(&g.devices) == vec![*a])
        })
        .find(|a| {
            !host
                .usb_devices
                .iter()
                .any(|u| u.controller == Some(*a) && !u.is_hub)
        })
}

/// The host's first keyboard and first mouse (by udev's by-id names), for evdev.
pub fn first_inputs(host: &Host) -> Vec<String> {
    [InputKind::Keyboard, InputKind::Mouse]
        .into_iter()
        .filter_map(|k| {
            host.input_devices
                .iter()
                .find(|p| InputKind::of(p) == Some(k))
                .cloned()
        })
        .collect()
}

/// What a Windows install needs that the host or the ISO leaves open.
fn windows_notes(host: &Host, purpose: Purpose, installer: &Installer, d: &Draft) -> Vec<String> {
    let mut out = vec![];
    let may_be_11 = matches!(installer, Installer::Windows11 | Installer::Windows)
        || (purpose == Purpose::Gaming && *installer == Installer::Unknown);
    if !installer.is_windows() && purpose == Purpose::Gaming && *installer != Installer::Unknown {
        out.push(tr_f(
            "The ISO looks like {what}, not Windows: the VM still gets Windows' Hyper-V settings; Customize… changes them.",
            &[("what", &installer.words())],
        ));
    }
    if matches!(installer, Installer::Windows | Installer::Unknown) && purpose == Purpose::Gaming {
        out.push(tr("Passage cannot tell from the ISO whether it is Windows 11: the VM gets Secure Boot and a TPM where the host can, as Windows 11 needs (Windows 10 runs with them too)."));
    }
    if may_be_11 && !(d.secure_boot && d.tpm) {
        let missing = match (d.secure_boot, host.swtpm) {
            (false, false) => tr("UEFI firmware with Secure Boot (package ovmf) and swtpm"),
            (false, true) => tr("UEFI firmware with Secure Boot (package ovmf)"),
            _ => tr("swtpm"),
        };
        out.push(tr_f(
            "Windows 11 Setup refuses a PC without Secure Boot and a TPM 2.0; this host lacks {what}. Install it, then make the VM again (System check says how).",
            &[("what", &missing)],
        ));
    }
    out
}

impl Express {
    /// What was chosen, a line each (label, value), as `passagectl vm new --express` prints it
    /// and the app's dialog lists it.
    pub fn lines(&self, host: &Host) -> Vec<(String, String)> {
        let d = &self.draft;
        let on_off = |on: bool| if on { tr("on") } else { tr("off") };
        let mut out = vec![(
            tr("Installer"),
            tr_f(
                "{file}: {what}",
                &[
                    ("file", d.install_iso.rsplit('/').next().unwrap_or_default()),
                    ("what", &self.installer.words()),
                ],
            ),
        )];
        if let Ok(s) = d.spec(host) {
            out.push((tr("VM"), s.summary()));
            let pinned = match &s.emulator_cpuset {
                Some(keep) if !s.vcpu_pins.is_empty() => tr_f(
                    "pinned to whole cores by the L3 cache layout; the host keeps CPUs {keep}",
                    &[("keep", keep)],
                ),
                _ => tr("not pinned (the host has too few CPUs to spare)"),
            };
            out.push((tr("CPUs"), pinned));
        }
        out.push((tr("Hugepages"), d.hugepages_why(host)));
        out.push((
            tr("Firmware"),
            tr_f(
                "UEFI (OVMF), Secure Boot {sb}, TPM {tpm}",
                &[("sb", &on_off(d.secure_boot)), ("tpm", &on_off(d.tpm))],
            ),
        ));
        if let Storage::New { gib, .. } = d.storage {
            out.push((
                tr("Disk"),
                tr_f(
                    "a new {gib} GiB image {image} (virtio) in libvirt's pool “{pool}”",
                    &[
                        ("gib", &gib.to_string()),
                        ("image", &d.volume_name()),
                        ("pool", super::draft::POOL),
                    ],
                ),
            ));
        }
        out.push((tr("GPU mode"), d.gpu_mode.title()));
        let usb = match d.extra_pci.first() {
            Some(a) => super::labels::extra_sub(host, *a),
            None => tr("none free: every USB controller has a device of this host on it or shares its group"),
        };
        out.push((tr("USB controller"), usb));
        let inputs: Vec<String> = d
            .evdev
            .iter()
            .map(|p| super::labels::input_name(p))
            .collect();
        out.push((
            tr("Keyboard and mouse"),
            if inputs.is_empty() {
                tr("none found on this host")
            } else {
                tr_f(
                    "{devices} by evdev (both Ctrl keys switch them)",
                    &[("devices", &inputs.join(", "))],
                )
            },
        ));
        out
    }
}
