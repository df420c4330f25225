//! A VM's settings after creation: memory, vCPUs, hugepages, the install and driver ISOs,
//! Secure Boot, the TPM, the SPICE display, the guest agent's channel and the boot order. [`Settings::of`] reads them from
//! a domain; [`edit`] changes the domain's XML by the wizard's rules ([`check`] runs the
//! wizard's own host checks on the new values) and splices only the elements it changes, with
//! the device editor's machinery, so every other byte stays. [`Edited`] says which changes
//! apply now (a CD-ROM's media on a running VM) and which at the VM's next start (libvirt keeps
//! the new definition and boots it the next time).

mod looking_glass;
mod rom;
mod splices;

pub use rom::{read_rom_file, rom_card, usable_rom, RomEdit, RomFile};

use serde::Serialize;

use super::domain::{DiskInfo, Domain};
use super::draft::{BootItem, Choice, Draft, POOL};
use super::hugepages::{boot_intent, HugepageMode, PAGE_KIB};
use super::looking_glass::{Backing, LookingGlass, Monitor};
use super::session::SessionSettings;
use super::{check_path, suggest_cpus, CpuPlan, VmError};
use crate::host::Host;
use crate::i18n::tr;
use crate::plan::Intent;

/// What a VM has now, as the edit dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub memory_mib: Option<u64>,
    pub vcpus: Option<u32>,
    pub hugepages: HugepageMode,
    /// The install ISO (the CD-ROM that boots first, else the first one); `None` when empty.
    pub install_iso: Option<String>,
    /// The second CD-ROM's ISO (the drivers).
    pub virtio_iso: Option<String>,
    pub uefi: bool,
    pub secure_boot: bool,
    pub tpm: bool,
    pub spice: bool,
    /// Whether it has the QEMU guest agent's channel.
    pub guest_agent: bool,
    /// Its Looking Glass shared memory.
    pub looking_glass: Option<LookingGlass>,
    /// Its disks (CD-ROMs apart).
    pub disks: Vec<DiskInfo>,
    /// vCPU → host cpuset.
    pub vcpu_pins: Vec<(u32, String)>,
    /// Each passed-through device's `<rom>`, by its host address.
    pub roms: Vec<(crate::host::PciAddress, Option<super::domain::Rom>)>,
}

impl Settings {
    pub fn of(d: &Domain) -> Settings {
        let session = SessionSettings::of(d);
        let (install, virtio) = splices::cdrom_roles(&d.cdroms);
        Settings {
            memory_mib: d.memory_mib,
            vcpus: d.vcpus,
            hugepages: match (d.hugepages, session.hugepages) {
                (false, _) => HugepageMode::Off,
                (true, true) => HugepageMode::AtStart,
                (true, false) => HugepageMode::AtBoot,
            },
            install_iso: install.and_then(|i| d.cdroms[i].source.clone()),
            virtio_iso: virtio.and_then(|i| d.cdroms[i].source.clone()),
            uefi: d.firmware.kind == "efi",
            secure_boot: d.firmware.secure_boot,
            tpm: d.tpm,
            spice: d.graphics.iter().any(|g| g == "spice"),
            guest_agent: d.guest_agent.has_channel(),
            looking_glass: d.looking_glass,
            disks: d.disks.clone(),
            vcpu_pins: d.vcpu_pins.clone(),
            roms: d
                .hostdevs
                .iter()
                .filter_map(|h| Some((h.host?, h.rom.clone())))
                .collect(),
        }
    }
}

/// A CD-ROM's new media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    Insert(String),
    Eject,
}

/// What to change (`None`: as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub memory_gib: Option<u64>,
    pub vcpus: Option<u32>,
    pub hugepages: Option<HugepageMode>,
    pub install_iso: Option<Media>,
    pub virtio_iso: Option<Media>,
    pub secure_boot: Option<bool>,
    pub tpm: Option<bool>,
    pub spice: Option<bool>,
    /// The QEMU guest agent's channel.
    pub guest_agent: Option<bool>,
    /// Looking Glass: the monitor its shared memory is sized for and where it lives, or none.
    pub looking_glass: Option<Option<(Monitor, Backing)>>,
    /// What the VM starts from, first first (the wizard's boot list).
    pub boot: Option<Vec<BootItem>>,
    /// The vCPUs' pinning: the wizard's plan for the host, or none.
    pub pinning: Option<Pinning>,
    /// New disk images in libvirt's pool (the front end creates them, see
    /// [`Edited::new_volumes`]); their size can change until then.
    pub add_disks: Vec<NewDisk>,
    /// Disks to take out, by target (`vdb`); their images stay.
    pub remove_disks: Vec<String>,
    /// The card's ROM: a ROM file, the ROM BAR.
    pub rom: Option<RomEdit>,
}

/// How the vCPUs are pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinning {
    /// Not pinned: `<vcpupin>` and `<emulatorpin>` go.
    Off,
    /// Pinned by the wizard's plan ([`Pinning::suggest`]).
    To(CpuPlan),
}

impl Pinning {
    /// The wizard's pinning of `vcpus` vCPUs on `host`, or why it has none.
    pub fn suggest(host: &Host, vcpus: u32) -> Result<Pinning, VmError> {
        suggest_cpus(host, vcpus).map(Pinning::To).ok_or_else(|| {
            super::err(
                "pin",
                crate::i18n::tr_f(
                    "{n} vCPUs cannot be pinned to whole cores this host can spare; choose fewer, or a multiple of its threads per core",
                    &[("n", &vcpus.to_string())],
                ),
            )
        })
    }
}

/// A new disk image for the VM, in the wizard's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDisk {
    pub gib: u64,
    pub raw: bool,
}

/// A disk image to create in `pool` before the edited domain is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewVolume {
    pub pool: String,
    pub volume: String,
    pub gib: u64,
    pub raw: bool,
}

/// One kind of change, for the result's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Memory,
    Vcpus,
    Hugepages,
    InstallIso,
    VirtioIso,
    SecureBoot,
    Tpm,
    Spice,
    GuestAgent,
    LookingGlass,
    Boot,
    Disks,
    Pinning,
    Rom,
}

impl Change {
    /// What changed, in words.
    pub fn words(self) -> String {
        match self {
            Change::Memory => tr("memory"),
            Change::Vcpus => tr("vCPUs"),
            Change::Hugepages => tr("hugepages"),
            Change::InstallIso => tr("install ISO"),
            Change::VirtioIso => tr("driver ISO"),
            Change::SecureBoot => tr("Secure Boot"),
            Change::Tpm => tr("TPM"),
            Change::Spice => tr("SPICE display"),
            Change::GuestAgent => tr("guest agent channel"),
            Change::LookingGlass => tr("Looking Glass"),
            Change::Boot => tr("boot order"),
            Change::Disks => tr("disks"),
            Change::Pinning => tr("CPU pinning"),
            Change::Rom => tr("the card's ROM"),
        }
    }

    /// Whether libvirt can apply it to a running VM (a CD-ROM's media, by
    /// `virDomainUpdateDeviceFlags` with the drive's new `<disk>`).
    pub fn live(self) -> bool {
        matches!(self, Change::InstallIso | Change::VirtioIso)
    }
}

/// A CD-ROM's new `<disk device='cdrom'>` element, to give a running VM (libvirt's
/// `updateDeviceFlags` with the drive's target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaChange {
    pub target: String,
    pub element: String,
}

/// The edited domain and when its changes apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub xml: String,
    /// Applied to the running VM now (and kept in its definition).
    pub now: Vec<Change>,
    /// In the definition: the VM gets them at its next start.
    pub at_next_start: Vec<Change>,
    /// The CD-ROM elements to give the running VM (for the changes in `now`).
    pub live_media: Vec<MediaChange>,
    /// What Host setup must add: hugepages reserved at boot.
    pub host_setup: Option<Intent>,
    /// Disk images to create before defining `xml`.
    pub new_volumes: Vec<NewVolume>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// The new values checked against the host by the wizard's own rules (memory and vCPUs within
/// the host's, a TPM only with swtpm, SPICE only with QEMU's module, ISO paths absolute).
pub fn check(host: &Host, c: &Changes) -> Result<(), VmError> {
    let mut d = Draft::new(host, None);
    let mut choices = vec![];
    if let Some(g) = c.memory_gib {
        choices.push(Choice::MemoryGib(g));
    }
    if let Some(n) = c.vcpus {
        choices.push(Choice::Vcpus(n.into()));
    }
    if let Some(on) = c.tpm {
        choices.push(Choice::Tpm(on));
    }
    if let Some(on) = c.spice {
        choices.push(Choice::Spice(on));
    }
    for n in &c.add_disks {
        let ext = if n.raw { "raw" } else { "qcow2" };
        choices.push(Choice::parse("disk", &format!("new:{}:{ext}", n.gib))?);
    }
    for ch in choices {
        d.set(host, ch)?;
    }
    for (field, m) in [("cdrom", &c.install_iso), ("virtio-iso", &c.virtio_iso)] {
        if let Some(Media::Insert(p)) = m {
            check_path(field, p)?;
        }
    }
    if let Some(RomEdit {
        file: Some(Some(p)),
        ..
    }) = &c.rom
    {
        check_path("rom", p)?;
    }
    Ok(())
}

/// The domain `xml` with `c` applied; `running` says whether the VM runs now (then CD-ROM
/// media changes apply at once, everything else at its next start). A change the domain
/// cannot take is refused with the reason, and nothing is edited.
pub fn edit(xml: &str, c: &Changes, running: bool) -> Result<Edited, VmError> {
    let before = Domain::read(xml)?;
    let mut out = xml.to_string();
    let mut done = vec![];
    if let Some(g) = c.memory_gib {
        out = splices::memory(&out, g * 1024 * 1024)?;
        done.push(Change::Memory);
    }
    if let Some(n) = c.vcpus {
        out = splices::vcpus(&out, n)?;
        done.push(Change::Vcpus);
    }
    if let Some(p) = &c.pinning {
        out = splices::pinning(&out, p)?;
        done.push(Change::Pinning);
    }
    if let Some(m) = c.hugepages {
        out = hugepages(&out, m)?;
        done.push(Change::Hugepages);
    }
    if let Some(m) = &c.install_iso {
        out = splices::media(&out, splices::Role::Install, m)?;
        done.push(Change::InstallIso);
    }
    if let Some(m) = &c.virtio_iso {
        out = splices::media(&out, splices::Role::Drivers, m)?;
        done.push(Change::VirtioIso);
    }
    if let Some(on) = c.secure_boot {
        out = splices::secure_boot(&out, on)?;
        done.push(Change::SecureBoot);
    }
    if let Some(on) = c.tpm {
        out = splices::tpm(&out, on)?;
        done.push(Change::Tpm);
    }
    if let Some(on) = c.spice {
        out = splices::spice(&out, on)?;
        done.push(Change::Spice);
    }
    if let Some(on) = c.guest_agent {
        out = splices::guest_agent(&out, on)?;
        done.push(Change::GuestAgent);
    }
    if let Some(lg) = c.looking_glass {
        out = looking_glass::set(&out, lg)?;
        done.push(Change::LookingGlass);
    }
    if let Some(order) = &c.boot {
        out = splices::boot(&out, order)?;
        done.push(Change::Boot);
    }
    if let Some(r) = &c.rom {
        out = rom::edit(&out, r)?;
        done.push(Change::Rom);
    }
    let mut new_volumes = vec![];
    if !c.add_disks.is_empty() || !c.remove_disks.is_empty() {
        for t in &c.remove_disks {
            out = splices::remove_disk(&out, t)?;
        }
        for n in &c.add_disks {
            let ext = if n.raw { "img" } else { "qcow2" };
            let (xml, volume) =
                splices::add_disk(&out, POOL, |vm, dev| format!("{vm}-{dev}.{ext}"), n.raw)?;
            out = xml;
            new_volumes.push(NewVolume {
                pool: POOL.into(),
                volume,
                gib: n.gib,
                raw: n.raw,
            });
        }
        done.push(Change::Disks);
    }
    let after = Domain::read(&out)?;
    let live_media = if running {
        splices::changed_cdroms(xml, &out)?
    } else {
        vec![]
    };
    // A drive the VM did not have cannot be plugged into a running VM: next start.
    let live_ok = |ch: Change| {
        ch.live() && running && after.cdroms.len() == before.cdroms.len() && !live_media.is_empty()
    };
    let (now, at_next_start) = done.into_iter().partition(|ch| live_ok(*ch));
    let memory_gib = after.memory_kib.unwrap_or(0) / (1024 * 1024);
    Ok(Edited {
        xml: out,
        now,
        at_next_start,
        live_media,
        host_setup: c.hugepages.and_then(|m| boot_intent(m, memory_gib)),
        new_volumes,
    })
}

/// Hugepages by the session editor: the memory backing and Passage's metadata.
fn hugepages(xml: &str, m: HugepageMode) -> Result<String, VmError> {
    let d = Domain::read(xml)?;
    let kib = d.memory_kib.unwrap_or(0);
    if m != HugepageMode::Off && !kib.is_multiple_of(d.hugepage_kib.unwrap_or(PAGE_KIB)) {
        return Err(super::err(
            "hugepages",
            tr("the VM's memory is not a whole number of hugepages; give it whole GiB first"),
        ));
    }
    let s = SessionSettings {
        hugepages: m == HugepageMode::AtStart,
        ..SessionSettings::of(&d)
    };
    super::session_edit::set_session(xml, &s, Some(m != HugepageMode::Off))
}
