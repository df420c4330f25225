//! Before every start, without root and without starting anything: is everything the VM
//! needs still there and free? Each problem is a finding with a cause (the same ids as
//! [`super::diagnose`]), the words, and what Passage can do about it.
//!
//! - every passed-through PCI device exists, with the vendor:device and IOMMU group the VM was
//!   made with when Passage recorded them (PCI addresses move after a new card or a firmware
//!   update: Proxmox and Unraid refuse to start then, and so does Passage);
//! - each group is whole in the VM and not needed by the host (core's rules);
//! - enough free hugepages (or memory) for the VM;
//! - the firmware files it names exist;
//! - a card's ROM file exists, and a UEFI VM's card shows the guest an x64 UEFI image (its ROM
//!   file walked by [`crate::host::rom`]; its ROM BAR not off): OVMF shows nothing on a card
//!   without one. The card's own ROM is not read here (sysfs gives it to root only): the front
//!   end has the helper read it and warns ([`super::rom_check::cards_to_read`]);
//! - every folder above its disk and disc images can be entered by the user QEMU runs as (an
//!   ISO in a 0700 home folder is the classic failure; libvirt hands the image file itself to
//!   that user at start, but never the folders above it);
//! - its libvirt network is active (the front end says which networks are).

use serde::Serialize;

use super::diagnose::Cause;
use super::domain::{Domain, GuestAddress};
use crate::host::{Host, PciAddress};
use crate::i18n::tr_f;
use crate::root::Root;

/// What Passage can do about a finding (a Fix button, `passagectl vm start` on its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Remedy {
    /// Start this libvirt network.
    StartNetwork { network: String },
    /// Reserve this many hugepages of this size (the helper, with polkit).
    ReserveHugepages { size_kib: u64, count: u64 },
    /// Put the VM's memory on ordinary memory (its `<hugepages/>` and session flag off).
    TurnHugepagesOff,
    /// Choose another image for the disk or disc drive with this target (`vda`, `sdb`).
    ChooseImage { target: String },
    /// Install this distribution package (the front end says how; Passage does not).
    InstallPackage { name: String },
    /// Open Host setup (which installs libvirt's hook).
    OpenHostSetup,
    /// Choose the VM's passed-through devices again (the device editor).
    EditDevices,
    /// Turn the ROM BAR of the card at this host address on again (its `<rom bar='off'/>`).
    RomBarOn { card: PciAddress },
}

/// The causes the pre-flight reports that Passage cannot fix itself, and why: every other
/// finding carries a [`Remedy`] (a test holds the pre-flight to this).
pub const CANNOT_FIX: [(Cause, &str); 7] = [
    (
        Cause::MemoryShort,
        "the memory is held by the user's programs: only the user can close them",
    ),
    (
        Cause::MediaPermission,
        "the folder is the user's: Passage does not change its permissions",
    ),
    (
        Cause::NetworkInactive,
        "only when the network does not exist: defining one is libvirt's, not Passage's",
    ),
    (
        Cause::RomMissing,
        "the ROM file is the user's: Passage cannot make one (passagectl vm edit --rom names another, or none)",
    ),
    (
        Cause::LookingGlass,
        "not yet from the VM page: the fix names the passagectl command (apply --looking-glass, vm edit) or the virsh edit to make",
    ),
    (
        Cause::BridgeMissing,
        "a bridge is the network settings' (NetworkManager, systemd-networkd): Passage does not change the host's network",
    ),
    (
        Cause::RomNoUefi,
        "the card's firmware is its maker's: only a ROM file or the maker's UEFI update gives it the image",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub cause: Cause,
    pub title: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// What only the front end can know: libvirt's networks, and whether its driver runs hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// libvirt's networks and whether each is active; `None` when libvirt was not asked.
    pub networks: Option<Vec<(String, bool)>>,
    /// The connection's driver runs no hooks (libvirt's test driver, which runs nothing and
    /// takes nothing from the host): libvirt's hook for Passage is not needed to start there.
    pub without_hooks: bool,
    /// The user who runs the Looking Glass client (this process's), whose the shared memory
    /// must be.
    pub user: Option<u32>,
}

impl Facts {
    /// The facts of a connection to libvirt at `uri`, with its networks.
    pub fn of(uri: &str, networks: Option<Vec<(String, bool)>>) -> Facts {
        use std::os::unix::fs::MetadataExt;
        Facts {
            networks,
            without_hooks: !runs_hooks(uri),
            user: std::fs::metadata("/proc/self").ok().map(|m| m.uid()),
        }
    }
}

/// Whether libvirt's driver at `uri` (`driver[+transport]://…`) calls libvirt's hook scripts
/// when it starts a VM. libvirt's hooks are per driver (daemon, qemu, lxc, libxl, bhyve,
/// network: libvirt's hooks documentation); its test driver has none and starts nothing.
pub fn runs_hooks(uri: &str) -> bool {
    let driver = uri.split([':', '+']).next().unwrap_or_default();
    !driver.eq_ignore_ascii_case("test")
}

/// The user QEMU runs as: uid and every group it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuUser {
    pub name: String,
    pub uid: u32,
    pub gids: Vec<u32>,
}

/// qemu.conf's `user` (else the distribution's: `libvirt-qemu` on Debian and Ubuntu, `qemu`
/// on Fedora and openSUSE, else `nobody`), resolved through the root's /etc/passwd and
/// /etc/group.
pub fn qemu_user(root: &Root) -> Option<QemuUser> {
    let conf = root
        .read_string("/etc/libvirt/qemu.conf")
        .unwrap_or_default();
    let set = conf.lines().find_map(|l| {
        let l = l.trim();
        let v = l.strip_prefix("user")?.trim_start().strip_prefix('=')?;
        Some(v.trim().trim_matches('"').to_string())
    });
    let passwd = root.read_string("/etc/passwd").unwrap_or_default();
    let entry = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == name)
                .then(|| Some((f[2].parse::<u32>().ok()?, f[3].parse::<u32>().ok()?)))
                .flatten()
        })
    };
    let name = match set {
        Some(n) if n.starts_with('+') => return None,
        Some(n) => n,
        None => ["libvirt-qemu", "qemu", "nobody"]
            .into_iter()
            .find(|n| entry(n).is_some())?
            .to_string(),
    };
    let (uid, gid) = entry(&name)?;
    let mut gids = vec![gid];
    for l in root.read_string("/etc/group").unwrap_or_default().lines() {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
            if let Ok(g) = f[2].parse() {
                gids.push(g);
            }
        }
    }
    Some(QemuUser { name, uid, gids })
}

/// The first folder above `path` (below the root) that `user` cannot enter, by its mode bits.
fn closed_folder(root: &Root, path: &str, user: &QemuUser) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if user.uid == 0 {
        return None;
    }
    let mut at = String::new();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for p in &parts[..parts.len().saturating_sub(1)] {
        at.push('/');
        at.push_str(p);
        let m = std::fs::metadata(root.path(&at)).ok()?;
        let mode = m.mode();
        let x = if m.uid() == user.uid {
            mode & 0o100 != 0
        } else if user.gids.contains(&m.gid()) {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !x {
            return Some(at);
        }
    }
    None
}

/// Everything that would stop the VM from starting, or make it fail as it starts.
pub fn check(d: &Domain, host: &Host, root: &Root, facts: &Facts) -> Vec<Finding> {
    let mut out = vec![];
    devices(d, host, &mut out);
    if !facts.without_hooks {
        session_hook(d, root, &mut out);
    }
    only_gpu_input(d, host, &mut out);
    memory(d, host, &mut out);
    firmware(d, host, root, &mut out);
    super::rom_check::check(d, host, root, &mut out);
    super::looking_glass_check::check(d, host, root, facts.user, &mut out);
    media(d, root, &mut out);
    networks(d, facts, &mut out);
    if !facts.without_hooks {
        bridges(d, root, &mut out);
    }
    out
}

pub(super) fn with_remedy(remedy: Remedy, f: Finding) -> Finding {
    with(remedy, f)
}

/// The checks for a VM on a remote host: its devices and memory against `host` as read there
/// (when it could be), and libvirt's networks. The checks of files (disk images, firmware,
/// libvirt's hook) are left out: this computer cannot see the remote's files.
pub fn check_remote(d: &Domain, host: Option<&Host>, facts: &Facts) -> Vec<Finding> {
    let mut out = vec![];
    if let Some(host) = host {
        devices(d, host, &mut out);
        memory(d, host, &mut out);
    }
    networks(d, facts, &mut out);
    out.into_iter().map(reserved_there).collect()
}

/// Hugepages are reserved on the host the VM runs on, by Passage's helper there: from here the
/// remedy a remote VM is offered is the one libvirt can do, turning them off for the VM.
fn reserved_there(f: Finding) -> Finding {
    match f.remedy {
        Some(Remedy::ReserveHugepages { .. }) => Finding {
            fix: format!(
                "{} {}",
                f.fix,
                tr("On a remote host they are reserved there, by Passage on that host (passagectl hugepages COUNT, in a terminal there); from here, Passage can turn them off for this VM.")
            ),
            remedy: Some(Remedy::TurnHugepagesOff),
            ..f
        },
        _ => f,
    }
}

pub(super) fn finding(cause: Cause, title: String, fix: String) -> Finding {
    Finding {
        cause,
        title,
        fix,
        remedy: None,
    }
}

fn with(remedy: Remedy, f: Finding) -> Finding {
    Finding {
        remedy: Some(remedy),
        ..f
    }
}

/// What Passage recorded about a device when it made the VM: vendor:device and group.
fn recorded(d: &Domain, a: PciAddress) -> Option<(String, Option<u32>)> {
    d.devices_seen
        .iter()
        .find(|s| s.address == a)
        .map(|s| (s.id.clone(), s.group))
}

fn devices(d: &Domain, host: &Host, out: &mut Vec<Finding>) {
    let mut groups: Vec<u32> = vec![];
    for h in d
        .hostdevs
        .iter()
        .filter(|h| h.guest != GuestAddress::Unassigned)
    {
        let Some(a) = h.host else { continue };
        let Some(dev) = host.device(a) else {
            out.push(with(
                Remedy::EditDevices,
                finding(
                    Cause::DeviceMissing,
                    tr_f("{dev} is not there", &[("dev", &a.to_string())]),
                    tr_f("The VM was given the device at {dev}, which the host no longer has (a new card or a firmware update moves addresses): choose the device again on the VM's Devices page.", &[("dev", &a.to_string())]),
                ),
            ));
            continue;
        };
        let now = dev.id_pair();
        if let Some((was, group)) = recorded(d, a) {
            if was != now || group.is_some_and(|g| host.group_of(a).map(|x| x.id) != Some(g)) {
                out.push(with(
Remedy::EditDevices,
finding(
                    Cause::DeviceMissing,
                    tr_f("{dev} is now another device", &[("dev", &a.to_string())]),
                    tr_f("The VM was made with [{was}] at {dev}; now {name} [{now}] is there. Passage does not start it with a device it was not given: choose the devices again on the VM's Devices page.", &[("dev", &a.to_string()), ("was", &was), ("name", &dev.display_name()), ("now", &now)]),
                )));
                continue;
            }
        }
        if let Some(g) = host.group_of(a) {
            if !groups.contains(&g.id) {
                groups.push(g.id);
            }
        }
    }
    let have = d.host_pci();
    for id in groups {
        let mode = super::session::SessionSettings::of(d).gpu_mode;
        if let Err(e) = super::devices::group_may_go_in(host, id, mode) {
            out.push(with(
                Remedy::EditDevices,
                finding(
                    Cause::GroupNotViable,
                    tr_f(
                        "IOMMU group {id} cannot go to the VM",
                        &[("id", &id.to_string())],
                    ),
                    e.why,
                ),
            ));
            continue;
        }
        let members = host
            .group(id)
            .map(|g| host.endpoints(&g.devices))
            .unwrap_or_default();
        let missing: Vec<String> = members
            .iter()
            .filter(|m| !have.contains(m))
            .map(|m| m.to_string())
            .collect();
        if !missing.is_empty() {
            out.push(with(
                Remedy::EditDevices,
                finding(
                    Cause::GroupNotViable,
                    tr_f(
                        "IOMMU group {id} is only partly in the VM",
                        &[("id", &id.to_string())],
                    ),
                    tr_f(
                        "A group goes to a VM whole: add {missing} on the VM's Devices page.",
                        &[("missing", &missing.join(", "))],
                    ),
                ),
            ));
        }
    }
}

/// A VM whose session asks for something needs libvirt's hook, which Host setup installs:
/// without it libvirt starts the VM with nothing taken (no hugepages: the start fails; the
/// card still on its driver: QEMU cannot open it).
fn session_hook(d: &Domain, root: &Root, out: &mut Vec<Finding>) {
    if super::session::SessionSettings::of(d).active()
        && !root.exists(crate::plan::hook::DISPATCHER)
    {
        let w = super::diagnose::words(Cause::SessionHookMissing, None);
        out.push(with(
            Remedy::OpenHostSetup,
            finding(Cause::SessionHookMissing, w.title, w.fix),
        ));
    }
}

/// A VM that takes the host's only card needs its own keyboard and mouse: evdev
/// (`<input type='evdev'>`), or a USB device or a USB controller passed through.
fn only_gpu_input(d: &Domain, host: &Host, out: &mut Vec<Finding>) {
    use super::session::{GpuMode, SessionSettings};
    const USB_CONTROLLER: u32 = 0x0c03;
    if SessionSettings::of(d).gpu_mode != GpuMode::OnlyGpu || d.evdev || !d.usb.is_empty() {
        return;
    }
    let usb_controller = d
        .host_pci()
        .iter()
        .filter_map(|a| host.device(*a))
        .any(|dev| dev.class >> 8 == USB_CONTROLLER);
    if usb_controller {
        return;
    }
    let w = super::diagnose::words(Cause::OnlyGpuInput, None);
    out.push(with(
        Remedy::EditDevices,
        finding(Cause::OnlyGpuInput, w.title, w.fix),
    ));
}

fn memory(d: &Domain, host: &Host, out: &mut Vec<Finding>) {
    let Some(kib) = d.memory_kib else { return };
    if d.hugepages {
        // libvirt's default page size for <hugepages/> is the system's default: 2 MiB on x86.
        let size = d.hugepage_kib.unwrap_or(super::hugepages::PAGE_KIB);
        let need = kib.div_ceil(size);
        let pool = host.memory.hugepages.iter().find(|p| p.size_kib == size);
        let (total, free) = pool.map(|p| (p.total, p.free)).unwrap_or((0, 0));
        if free >= need {
            return;
        }
        let count = total + (need - free);
        let at_start = super::session::SessionSettings::of(d).hugepages;
        // At start the hook adds the missing pages on the host-wide pool (a NUMA node's count
        // is not the pool); a reservation sets the pool's count.
        let room = if at_start {
            host.memory.check_more_hugepages(size, need - free)
        } else {
            host.memory.check_hugepages(size, count)
        };
        let f = if at_start {
            // libvirt's hook reserves them when the VM starts: there must be room for them.
            let Err(why) = &room else { return };
            finding(
                Cause::HugepagesShort,
                tr_f("{mib} MiB of hugepages cannot be reserved", &[("mib", &((need - free) * size / 1024).to_string())]),
                tr_f("The VM's memory is reserved as hugepages when it starts, but: {why}. Turn hugepages off for this VM, give it less memory, or close programs.", &[("why", &why.to_string())]),
            )
        } else {
            let fix = match &room {
                Ok(()) => tr_f("The VM's {mem} MiB come from hugepages, and {free} of the {need} pages it needs are free: reserve more (Passage can, with your password), or switch hugepages off for this VM.", &[("mem", &(kib / 1024).to_string()), ("free", &free.to_string()), ("need", &need.to_string())]),
                Err(why) => tr_f("The VM's {mem} MiB come from hugepages, and {free} of the {need} pages it needs are free; no more can be reserved: {why}. Turn hugepages off for this VM, or give it less memory.", &[("mem", &(kib / 1024).to_string()), ("free", &free.to_string()), ("need", &need.to_string()), ("why", &why.to_string())]),
            };
            finding(
                Cause::HugepagesShort,
                tr_f(
                    "{mib} MiB of hugepages short",
                    &[("mib", &((need - free) * size / 1024).to_string())],
                ),
                fix,
            )
        };
        // Reserve where the host has room for them, else the VM goes without.
        out.push(match room {
            Ok(()) => with(
                Remedy::ReserveHugepages {
                    size_kib: size,
                    count,
                },
                f,
            ),
            Err(_) => with(Remedy::TurnHugepagesOff, f),
        });
    } else if host.memory.available_kib > 0 && kib > host.memory.available_kib {
        out.push(finding(
            Cause::MemoryShort,
            tr_f("{mib} MiB more memory than is free", &[("mib", &((kib - host.memory.available_kib) / 1024).to_string())]),
            tr("Close programs, or give the VM less memory: with passed-through devices all of its memory is locked when it starts."),
        ));
    }
}

fn tr(s: &str) -> String {
    crate::i18n::tr(s)
}

fn firmware(d: &Domain, host: &Host, root: &Root, out: &mut Vec<Finding>) {
    if d.firmware.kind != "efi" {
        return;
    }
    match &d.firmware.loader {
        Some(code) if !root.exists(code) => out.push(with(
Remedy::InstallPackage { name: "ovmf".into() },
finding(
            Cause::OvmfMissing,
            tr_f("The firmware file {path} is missing", &[("path", code)]),
            tr("Install the ovmf package (edk2-ovmf on Fedora and Arch), or choose another firmware on the VM's page."),
        ))),
        Some(_) => {}
        None if !host.firmware.iter().any(|f| f.installed && f.is_x86_64_uefi()) => {
            out.push(with(
Remedy::InstallPackage { name: "ovmf".into() },
finding(
                Cause::OvmfMissing,
                tr("No UEFI firmware (OVMF) is installed"),
                tr("Install the ovmf package (edk2-ovmf on Fedora and Arch)."),
            )))
        }
        None => {}
    }
}

fn media(d: &Domain, root: &Root, out: &mut Vec<Finding>) {
    let user = qemu_user(root);
    for disk in d.disks.iter().chain(&d.cdroms) {
        let Some(path) = disk.source.as_deref().filter(|_| disk.r#type == "file") else {
            continue;
        };
        if !root.exists(path) {
            let f = finding(
                Cause::MediaMissing,
                tr_f("{path} is missing", &[("path", path)]),
                tr("Put the image back, or choose another one."),
            );
            // libvirt requires a target for every disk; one without is not Passage's to edit.
            out.push(match &disk.target {
                Some(t) => with(Remedy::ChooseImage { target: t.clone() }, f),
                None => f,
            });
            continue;
        }
        if let Some(closed) = user.as_ref().and_then(|u| closed_folder(root, path, u)) {
            let who = user.as_ref().map(|u| u.name.as_str()).unwrap_or_default();
            out.push(finding(
                Cause::MediaPermission,
                tr_f("QEMU may not read {path}", &[("path", path)]),
                tr_f("QEMU runs as {user}, which cannot enter {folder}: move the image to /var/lib/libvirt/images, or let {user} enter that folder (chmod o+x, or an ACL).", &[("user", who), ("folder", &closed)]),
            ));
        }
    }
}

/// A bridge the VM joins must exist on the host (the kernel's `/sys/class/net/NAME/bridge`),
/// or QEMU's network helper fails as the VM starts. libvirt's test driver joins nothing, and a
/// root without the kernel's interface list (the demo host, a capture: their interfaces were
/// not recorded) cannot tell, so says nothing.
fn bridges(d: &Domain, root: &Root, out: &mut Vec<Finding>) {
    if root.list("/sys/class/net").is_empty() {
        return;
    }
    for (b, ovs) in &d.bridges {
        // An interface name has no slash and is not a dot name (the kernel's dev_valid_name).
        let valid = !b.is_empty() && !b.contains('/') && b != "." && b != "..";
        // A kernel bridge has bridge/; an Open vSwitch bridge is an interface without it.
        let attr = if *ovs { "" } else { "/bridge" };
        if valid && root.path(&format!("/sys/class/net/{b}{attr}")).is_dir() {
            continue;
        }
        let w = super::diagnose::words(Cause::BridgeMissing, Some(b.clone()));
        out.push(finding(Cause::BridgeMissing, w.title, w.fix));
    }
}

fn networks(d: &Domain, facts: &Facts, out: &mut Vec<Finding>) {
    let Some(nets) = &facts.networks else { return };
    for n in &d.networks {
        match nets.iter().find(|(name, _)| name == n) {
            Some((_, true)) => {}
            Some((_, false)) => out.push(with(
                Remedy::StartNetwork { network: n.clone() },
                finding(
                    Cause::NetworkInactive,
                    tr_f("The network “{net}” is not running", &[("net", n)]),
                    tr("Passage starts it before the VM."),
                ),
            )),
            None => out.push(finding(
                Cause::NetworkInactive,
                tr_f("There is no network “{net}”", &[("net", n)]),
                tr("Choose another network on the VM's page, or define it in libvirt (virsh net-define)."),
            )),
        }
    }
}
