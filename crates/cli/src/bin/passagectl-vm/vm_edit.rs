//! `passagectl vm edit NAME --memory … --cdrom …`: a VM's settings after creation through
//! core's settings editor (`vm::settings`), with the wizard's host checks; libvirt gets the new
//! definition (from the VM's next start) and, on a running VM, a CD-ROM's new media at once.

use std::path::Path;
use std::process::ExitCode;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::draft::BootItem;
use passage_core::vm::hugepages::HugepageMode;
use passage_core::vm::looking_glass::{Backing, Monitor};
use passage_core::vm::settings::{
    self, Change, Changes, Edited, Media, NewDisk, Pinning, RomEdit, RomFile,
};
use passage_core::vm::Domain;
use passage_virt::{Hypervisor, VmState};

use crate::vm::{bad, domain_xml, refused, Failed};
use crate::ConnectArg;
use passagectl::RootArg;

/// The settings `vm edit` changes (none given: the device editor alone).
#[derive(clap::Args, Default)]
pub struct SettingsArgs {
    /// Memory in GiB (within the host's, as in the wizard)
    #[arg(long, value_name = "GIB")]
    memory: Option<u64>,
    /// vCPUs (pins of vCPUs the VM no longer has go; a CPU topology keeps its threads)
    #[arg(long, value_name = "N")]
    vcpus: Option<u32>,
    /// Pin the vCPUs to whole cores by the wizard's plan for this host (on), or unpin them
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    pin: Option<String>,
    /// Hugepages reserved when the VM starts, at boot by Host setup, or off
    #[arg(long, value_name = "start|boot|off", value_parser = ["start", "boot", "off"])]
    hugepages: Option<String>,
    /// The install ISO (the CD-ROM that boots first); also while the VM runs
    #[arg(long, value_name = "PATH", conflicts_with = "eject")]
    cdrom: Option<String>,
    /// Empty the install ISO's drive; also while the VM runs
    #[arg(long)]
    eject: bool,
    /// The driver ISO (the second CD-ROM); also while the VM runs
    #[arg(long, value_name = "PATH")]
    virtio_iso: Option<String>,
    /// Secure Boot (q35 VMs whose UEFI firmware libvirt chooses)
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    secure_boot: Option<String>,
    /// A TPM 2.0 emulator (needs swtpm on the host)
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    tpm: Option<String>,
    /// A SPICE display (a window on this computer)
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    spice: Option<String>,
    /// The QEMU guest agent's channel (the VM page's "answering", shutdown through the agent)
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    guest_agent: Option<String>,
    /// Looking Glass for a monitor of WIDTHxHEIGHT (:hdr for HDR): the shared memory sized for
    /// it, on the kvmfr module's /dev/kvmfr0 where it is loaded, else /dev/shm; or off
    #[arg(long, value_name = "WIDTHxHEIGHT[:hdr]|off")]
    looking_glass: Option<String>,
    /// What the VM starts from, first first: iso, disk, PCI addresses (comma-separated)
    #[arg(long, value_name = "ITEMS", value_delimiter = ',')]
    boot: Vec<String>,
    /// A new disk image in libvirt's default pool, GIB[:raw] (repeatable)
    #[arg(long, value_name = "GIB[:raw]")]
    add_disk: Vec<String>,
    /// Take a disk out by its target, e.g. vdb (its image stays)
    #[arg(long, value_name = "TARGET")]
    remove_disk: Vec<String>,
    /// A ROM file for the VM's graphics card instead of its own (walked first: it needs an
    /// x64 UEFI image), or none for the card's own
    #[arg(long, value_name = "FILE|none")]
    rom: Option<String>,
    /// The card's ROM BAR: off shows the guest no ROM at all
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
    rom_bar: Option<String>,
    /// Print the diff of the domain XML and define nothing
    #[arg(long)]
    dry_run: bool,
}

impl SettingsArgs {
    /// The typed changes; a malformed value is bad input.
    fn changes(&self) -> Result<Changes, Failed> {
        let on = |v: &Option<String>| v.as_deref().map(|v| v == "on");
        let boot = self
            .boot
            .iter()
            .map(|b| {
                BootItem::parse(b).ok_or_else(|| {
                    bad(tr_f(
                        "--boot: “{v}” is not iso, disk or a PCI address",
                        &[("v", b)],
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let add_disks = self
            .add_disk
            .iter()
            .map(|d| {
                let (gib, raw) = match d.split_once(':') {
                    Some((g, "raw")) => (g, true),
                    Some((g, "qcow2")) => (g, false),
                    Some(_) => return Err(bad(tr("--add-disk: GIB or GIB:raw, such as 64"))),
                    None => (d.as_str(), false),
                };
                let gib = gib.parse().map_err(|_| {
                    bad(tr_f(
                        "--add-disk: “{v}” is not a whole number of GiB",
                        &[("v", gib)],
                    ))
                })?;
                Ok(NewDisk { gib, raw })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Changes {
            add_disks,
            remove_disks: self.remove_disk.clone(),
            pinning: None,
            memory_gib: self.memory,
            vcpus: self.vcpus,
            hugepages: self
                .hugepages
                .as_deref()
                .map(|h| HugepageMode::from_word(h).unwrap_or(HugepageMode::Off)),
            install_iso: match (&self.cdrom, self.eject) {
                (Some(p), _) => Some(Media::Insert(p.clone())),
                (None, true) => Some(Media::Eject),
                (None, false) => None,
            },
            virtio_iso: self.virtio_iso.clone().map(Media::Insert),
            secure_boot: on(&self.secure_boot),
            tpm: on(&self.tpm),
            spice: on(&self.spice),
            guest_agent: on(&self.guest_agent),
            looking_glass: match self.looking_glass.as_deref() {
                None => None,
                Some("off") => Some(None),
                Some(m) => {
                    let m = Monitor::parse(m)
                        .map_err(|e| bad(format!("--looking-glass: {}", e.why)))?;
                    Some(Some((m, Backing::Shm)))
                }
            },
            boot: (!boot.is_empty()).then_some(boot),
            rom: None,
        })
    }

    /// The card's ROM edit, on the VM's one graphics card; a ROM file is read and walked
    /// first, and named where the helper places it for QEMU (with what to place, unless the
    /// file is one placed already).
    fn rom(&self, d: &Domain, host: &passage_core::Host) -> Result<Option<RomChange>, Failed> {
        if self.rom.is_none() && self.rom_bar.is_none() {
            return Ok(None);
        }
        let card = settings::rom_card(d, host).map_err(refused)?;
        let (file, place) = match self.rom.as_deref() {
            None => (None, None),
            Some("none") => (Some(None), None),
            Some(p) => {
                let f = settings::read_rom_file(p).map_err(|e| bad(format!("--rom: {}", e.why)))?;
                let place = f.needs_placing().then(|| f.clone());
                (Some(Some(f.placed)), place)
            }
        };
        let edit = RomEdit {
            card,
            file,
            bar: self.rom_bar.as_deref().map(|v| v == "on"),
        };
        Ok(Some(RomChange { edit, place }))
    }

    /// Whether any setting is given (`--dry-run` alone is none).
    pub fn any(&self) -> bool {
        self.pin.is_some()
            || self.rom.is_some()
            || self.rom_bar.is_some()
            || self.changes().map(|c| !c.is_empty()).unwrap_or(true)
    }
}

/// A ROM edit, and the file the helper places for QEMU before the VM names it.
struct RomChange {
    edit: RomEdit,
    place: Option<RomFile>,
}

/// Places the ROM file for QEMU through the helper (polkit asks) and says so.
fn place_rom(place: Option<&RomFile>) -> Result<(), Failed> {
    let Some(f) = place else {
        return Ok(());
    };
    let (_, said) = passagectl::helper::place_rom(&f.source, &f.bytes).map_err(refused)?;
    outln!("{said}");
    Ok(())
}

fn words(list: &[Change]) -> String {
    list.iter()
        .map(|c| c.words())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the edit does, in words.
fn summary(name: &str, e: &Edited) -> String {
    let mut o = String::new();
    if !e.now.is_empty() {
        o.push_str(&tr_f(
            "VM {name}: {what} changed now (and kept in its definition).\n",
            &[("name", name), ("what", &words(&e.now))],
        ));
    }
    if !e.at_next_start.is_empty() {
        o.push_str(&tr_f(
            "VM {name}: {what} from its next start (libvirt keeps the new definition and boots it the next time the VM starts).\n",
            &[("name", name), ("what", &words(&e.at_next_start))],
        ));
    }
    for v in &e.new_volumes {
        o.push_str(&tr_f(
            "New disk image {volume} ({gib} GiB) in libvirt's pool {pool}.\n",
            &[
                ("volume", &v.volume),
                ("gib", &v.gib.to_string()),
                ("pool", &v.pool),
            ],
        ));
    }
    let lg_changed = e.at_next_start.contains(&Change::LookingGlass);
    if let Some(lg) = lg_changed
        .then(|| Domain::read(&e.xml).ok()?.looking_glass)
        .flatten()
    {
        o.push_str(&tr_f(
            "Looking Glass: {what}. The host's side (the memory yours, AppArmor, kvmfr's device list) with passagectl apply --looking-glass.\n",
            &[("what", &lg.words())],
        ));
    }
    if let Some(passage_core::plan::Intent::KernelArguments { add, .. }) = &e.host_setup {
        o.push_str(&tr_f(
            "Hugepages at boot: Host setup reserves them with the kernel argument {arg} (apply Host setup's plan, then restart the host).\n",
            &[("arg", &add.join(" "))],
        ));
    }
    o
}

/// `vm edit` with settings: checked against the host, edited in core, defined in libvirt.
pub fn run(
    name: Option<&str>,
    file: Option<&Path>,
    root: &RootArg,
    args: &SettingsArgs,
    print: bool,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let changes = args.changes()?;
    let (xml, libvirt) = domain_xml(name, file, conn)?;
    let d = Domain::read(&xml).map_err(bad)?;
    let host = crate::vm_remote::host_of(root, conn).map_err(bad)?;
    let mut changes = changes;
    // A ROM file is read and walked here: on a remote host it is that host's file.
    if conn.remote().is_some() && args.rom.as_deref().is_some_and(|f| f != "none") {
        return Err(bad(tr(
            "A ROM file is on the VM's own host: run passagectl vm edit --rom there.",
        )));
    }
    let rom = args.rom(&d, &host)?;
    let place = rom.as_ref().and_then(|r| r.place.clone());
    changes.rom = rom.map(|r| r.edit);
    if let Some(Some((m, _))) = changes.looking_glass {
        // Its backing (kvmfr or /dev/shm) and host files are the VM's own host's.
        if conn.remote().is_some() {
            return Err(bad(tr(
                "Looking Glass is set up on the VM's own host: run passagectl vm edit --looking-glass there.",
            )));
        }
        let opened = passagectl::open_root(root).map_err(bad)?;
        changes.looking_glass = Some(Some((m, Backing::of(&opened.root))));
    }
    changes.pinning = match args.pin.as_deref() {
        Some("on") => {
            let n = changes.vcpus.or(d.vcpus).unwrap_or(1);
            Some(Pinning::suggest(&host, n).map_err(refused)?)
        }
        Some(_) => Some(Pinning::Off),
        None => None,
    };
    settings::check(&host, &changes).map_err(bad)?;
    let running = libvirt
        .as_ref()
        .and_then(|h| h.state(&d.name).ok())
        .is_some_and(|s| s == VmState::Running);
    let e = settings::edit(&xml, &changes, running).map_err(refused)?;
    if print {
        out!("{}", e.xml);
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        let path = format!("{}.xml", d.name);
        out!(
            "{}",
            passage_core::plan::unified_diff(&path, Some(xml.as_bytes()), Some(e.xml.as_bytes()))
        );
        out!("{}", summary(&d.name, &e));
        if let Some(f) = &place {
            outln!(
                "{}",
                tr_f(
                    "(the ROM file {path} is copied where the VM names it when the edit is made)",
                    &[("path", &f.source)]
                )
            );
        }
        outln!("{}", tr("(dry run: nothing defined)"));
        return Ok(ExitCode::SUCCESS);
    }
    match libvirt {
        Some(_) if e.xml == xml => outln!(
            "{}",
            tr_f("VM {name}: nothing to change.", &[("name", &d.name)])
        ),
        Some(h) => {
            place_rom(place.as_ref())?;
            passage_virt::edit::apply(&h, &d.name, &xml, &e).map_err(refused)?;
            out!("{}", summary(&d.name, &e));
        }
        None => {
            out!("{}", summary(&d.name, &e));
            outln!(
                "{}",
                tr("(from a file: nothing written; --print shows the edited XML, --dry-run the diff)")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
