//! A PCI option ROM, walked by the published layout (PCI Firmware Specification 3.x, §5.1;
//! UEFI Specification, "PCI Option ROMs"): does it hold the x64 UEFI image (the GOP driver)
//! OVMF needs to show anything before the guest's own driver loads?
//!
//! Each image starts with 0x55 0xAA; the 16-bit word at 0x18 points to its PCI Data Structure
//! ("PCIR"), which gives the image's length in 512-byte units, its code type (0 x86 legacy,
//! 3 EFI) and, in bit 7 of its indicator, whether it is the last image. An EFI image's header
//! holds the signature 0x0EF1 at 0x04, its subsystem at 0x08 and its machine type at 0x0A.
//! ROMs some tools dump (nvflash) start with a header of their own before the first image:
//! the walk starts at the first 0x55AA whose PCIR is valid. NVIDIA's ROMs carry an extension
//! after the PCIR ("NPDE") whose length and last-image bit are the true ones.
//!
//! Nothing here panics on any input: every read is checked.

use std::os::unix::fs::FileExt;

use serde::Serialize;

use crate::i18n::{tr, tr_f};

/// EFI machine types (PE/COFF), as the UEFI specification lists them.
pub const MACHINE_X64: u16 = 0x8664;
pub const MACHINE_IA32: u16 = 0x014c;
pub const MACHINE_AARCH64: u16 = 0xaa64;

/// The EFI image header's signature at offset 0x04.
const EFI_SIGNATURE: u16 = 0x0ef1;
/// Largest ROM walked (PCI allows a 16 MiB ROM BAR).
pub const MAX_ROM: usize = 16 * 1024 * 1024;

/// What an image's code is (the PCIR's code type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Code {
    /// x86 legacy (a graphics card's VGA BIOS, a network card's PXE ROM).
    Legacy,
    /// A UEFI driver; `machine` and `subsystem` from its header, `None` when the header does
    /// not carry EFI's signature.
    Efi {
        machine: Option<u16>,
        subsystem: Option<u16>,
    },
    /// Open Firmware, HP PA RISC, or a vendor's own code type.
    Other { code_type: u8 },
}

/// One image of the ROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    /// Where it starts in the bytes given.
    pub offset: usize,
    /// Its length by its PCIR, in bytes.
    pub length: usize,
    pub vendor: u16,
    pub device: u16,
    pub code: Code,
    pub last: bool,
}

impl Image {
    /// An EFI image for x64 (the only kind x86 OVMF runs).
    pub fn is_x64_efi(&self) -> bool {
        matches!(
            self.code,
            Code::Efi {
                machine: Some(MACHINE_X64),
                ..
            }
        )
    }

    /// The image in words: "x86 legacy (BIOS)", "UEFI x64 (boot service driver)".
    pub fn words(&self) -> String {
        match self.code {
            Code::Legacy => tr("x86 legacy (BIOS)"),
            Code::Efi { machine, subsystem } => {
                let m = machine.map_or_else(|| tr("without an EFI header"), machine_name);
                match subsystem.and_then(subsystem_name) {
                    Some(s) => tr_f("UEFI {machine} ({what})", &[("machine", &m), ("what", &s)]),
                    None => tr_f("UEFI {machine}", &[("machine", &m)]),
                }
            }
            Code::Other { code_type } => tr_f(
                "code type {type} (not for a PC)",
                &[("type", &format!("{code_type:#04x}"))],
            ),
        }
    }
}

fn machine_name(m: u16) -> String {
    match m {
        MACHINE_X64 => "x64".into(),
        MACHINE_IA32 => "IA-32".into(),
        MACHINE_AARCH64 => "AArch64".into(),
        0x0ebc => "EBC".into(),
        0x5064 => "RISC-V 64".into(),
        other => format!("{other:#06x}"),
    }
}

fn subsystem_name(s: u16) -> Option<String> {
    match s {
        10 => Some(tr("application")),
        11 => Some(tr("boot service driver")),
        12 => Some(tr("runtime driver")),
        _ => None,
    }
}

/// What the ROM means for a UEFI VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// It holds an x64 UEFI image: OVMF can show the card's screen at boot.
    UefiX64,
    /// Only x86 legacy code: OVMF shows nothing until the guest's driver loads.
    LegacyOnly,
    /// UEFI images, none for x64 (a card flashed for an ARM board).
    EfiOtherMachine { machines: Vec<String> },
    /// The bytes end inside an image and no whole image for x64 was before it.
    Truncated,
    /// No 0x55AA with a valid PCIR anywhere.
    NotARom,
}

impl Verdict {
    /// The verdict in words, with what to do.
    pub fn words(&self) -> String {
        match self {
            Verdict::UefiX64 => tr("It has a UEFI image for x64: the VM's UEFI firmware (OVMF) can show the card's screen at boot."),
            Verdict::LegacyOnly => tr("It has no UEFI image, only legacy x86 code: OVMF shows nothing on this card at boot (a black screen until the guest's driver loads). Give the VM a ROM file with a UEFI image, or update the card's firmware with its maker's UEFI update."),
            Verdict::EfiOtherMachine { machines } => tr_f("Its UEFI images are for {machines}, not x64: OVMF shows nothing on this card at boot. Give the VM a ROM file with an x64 UEFI image, or update the card's firmware with its maker's UEFI update.", &[("machines", &machines.join(", "))]),
            Verdict::Truncated => tr("The ROM ends inside an image: it was read or dumped only in part. Dump it again (whole), or give another ROM file."),
            Verdict::NotARom => tr("This is not a PCI option ROM: no image starts with 0x55AA and a valid PCIR structure."),
        }
    }

    /// Whether OVMF can show the card's screen with this ROM.
    pub fn has_uefi_x64(&self) -> bool {
        *self == Verdict::UefiX64
    }
}

/// The ROM walked: where its first image starts, its images, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rom {
    /// Bytes before the first image (a dump tool's header); 0 for a ROM read from the card.
    pub header: usize,
    pub images: Vec<Image>,
    /// The bytes ended inside an image.
    pub truncated: bool,
    pub verdict: Verdict,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// The signatures an image starts with: 0x55AA by the specification, and NVIDIA's own images
/// after the first (0xBB77, "VN"), which nouveau's `nvbios_imagen` walks past too.
const FIRST: [[u8; 2]; 1] = [[0x55, 0xaa]];
const LATER: [[u8; 2]; 3] = [[0x55, 0xaa], [0x77, 0xbb], [0x56, 0x4e]];

/// The PCIR structure's offset in the image at `start`, when the image starts with one of
/// `sigs` and its pointer at 0x18 leads to "PCIR" inside the bytes.
fn pcir(b: &[u8], start: usize, sigs: &[[u8; 2]]) -> Option<usize> {
    let sig = b.get(start..start.checked_add(2)?)?;
    if !sigs.iter().any(|s| s == sig) {
        return None;
    }
    let ptr = usize::from(u16_at(b, start.checked_add(0x18)?)?);
    let at = start.checked_add(ptr)?;
    (b.get(at..at.checked_add(4)?)? == b"PCIR").then_some(at)
}

/// NVIDIA's PCI Data Extension ("NPDE"), 16-byte aligned after the PCIR structure: where it
/// is, its image length (in 512-byte units) and last-image bit replace the PCIR's (nouveau's
/// `nvbios_npdeTp`; NVIDIA sets the PCIR's last bit on the legacy image of ROMs whose UEFI
/// image follows).
fn npde(b: &[u8], start: usize, p: usize) -> Option<(usize, bool)> {
    let len = usize::from(u16_at(b, p.checked_add(0x0a)?)?);
    let rel = (p.checked_sub(start)?.checked_add(len)?.checked_add(0x0f)?) & !0x0f;
    let at = start.checked_add(rel)?;
    if b.get(at..at.checked_add(4)?)? != b"NPDE" {
        return None;
    }
    let units = usize::from(u16_at(b, at.checked_add(0x08)?)?);
    let last = u8_at(b, at.checked_add(0x0a)?)? & 0x80 != 0;
    Some((units * 512, last))
}

/// The image at `start` (whose PCIR is at `p`); `None` when its PCIR is cut off.
fn image(b: &[u8], start: usize, p: usize) -> Option<Image> {
    let units = usize::from(u16_at(b, p.checked_add(0x10)?)?);
    let code_type = u8_at(b, p.checked_add(0x14)?)?;
    let indicator = u8_at(b, p.checked_add(0x15)?)?;
    let code = match code_type {
        0 => Code::Legacy,
        3 => {
            let efi = u16_at(b, start.saturating_add(0x04)) == Some(EFI_SIGNATURE);
            Code::Efi {
                machine: efi.then(|| u16_at(b, start.saturating_add(0x0a))).flatten(),
                subsystem: efi.then(|| u16_at(b, start.saturating_add(0x08))).flatten(),
            }
        }
        other => Code::Other { code_type: other },
    };
    let (length, last) = npde(b, start, p).unwrap_or((units * 512, indicator & 0x80 != 0));
    Some(Image {
        offset: start,
        length,
        vendor: u16_at(b, p.saturating_add(0x04))?,
        device: u16_at(b, p.saturating_add(0x06))?,
        code,
        last,
    })
}

/// Walks `bytes` (at most [`MAX_ROM`] of them are looked at).
pub fn walk(bytes: &[u8]) -> Rom {
    let b = &bytes[..bytes.len().min(MAX_ROM)];
    let first = (0..b.len()).find(|&i| pcir(b, i, &FIRST).is_some());
    let mut images: Vec<Image> = vec![];
    let mut at = first.unwrap_or(b.len());
    // The walk ends at the last-image bit, at bytes that are not an image (vendors put other
    // data after their images), or where the bytes end.
    while let Some(img) =
        pcir(b, at, if images.is_empty() { &FIRST } else { &LATER }).and_then(|p| image(b, at, p))
    {
        let (last, end) = (img.last, at.saturating_add(img.length));
        images.push(img);
        if last || end == at || end >= b.len() {
            break;
        }
        at = end;
    }
    // Cut off: an image goes past the end, or the bytes end where another image should start.
    let truncated = images.last().is_some_and(|i| {
        let end = i.offset.saturating_add(i.length);
        end > b.len() || (end == b.len() && !i.last)
    }) || (first.is_some() && images.is_empty());
    let verdict = verdict(&images, truncated, b.len());
    Rom {
        header: first.unwrap_or(0),
        images,
        truncated,
        verdict,
    }
}

fn verdict(images: &[Image], truncated: bool, len: usize) -> Verdict {
    let whole = |i: &&Image| i.offset.saturating_add(i.length) <= len;
    if images.iter().filter(whole).any(Image::is_x64_efi) {
        return Verdict::UefiX64;
    }
    if truncated {
        return Verdict::Truncated;
    }
    if images.is_empty() {
        return Verdict::NotARom;
    }
    let machines: Vec<String> = images
        .iter()
        .filter_map(|i| match i.code {
            Code::Efi { machine, .. } => Some(machine.map_or_else(|| "?".into(), machine_name)),
            _ => None,
        })
        .collect();
    if machines.is_empty() {
        Verdict::LegacyOnly
    } else {
        Verdict::EfiOtherMachine { machines }
    }
}

/// The Devices page's line for a card's own ROM: `None` not read yet, else what the helper's
/// read gave (its walk's verdict, or why it could not be read).
pub fn boot_image_line(read: Option<&Result<Verdict, String>>) -> String {
    match read {
        None => tr("UEFI boot image: not read"),
        Some(Ok(Verdict::UefiX64)) => tr("UEFI boot image: yes"),
        Some(Ok(_)) => {
            tr("UEFI boot image: no — a black screen at boot is likely, give a ROM file")
        }
        Some(Err(why)) => tr_f("UEFI boot image: not read ({why})", &[("why", why)]),
    }
}

/// Why Passage does not read a card's ROM from sysfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRefusal {
    NoSuchDevice(super::PciAddress),
    /// The host shows its screen on it (`boot_vga` = 1, or a connected output): enabling the
    /// ROM BAR of the card the host is drawing on can hang the screen.
    HostDisplay(super::PciAddress),
    /// The kernel gives the device no `rom` attribute (it has no ROM BAR).
    NoRom(super::PciAddress),
    /// A process has one of its device nodes open (its name and PID): a running VM's QEMU, or
    /// a program using it.
    InUse(super::PciAddress, String, u32),
}

impl std::fmt::Display for ReadRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ReadRefusal::NoSuchDevice(a) => tr_f(
                "there is no PCI device {dev} on this host; `passagectl scan` lists the devices",
                &[("dev", &a.to_string())],
            ),
            ReadRefusal::HostDisplay(a) => tr_f(
                "{dev} shows the host's screen (it is the boot display or has a connected output): Passage does not switch on its ROM while the host draws on it. Give a ROM file dumped elsewhere (GPU-Z on Windows, or this card as a second card), or read it while the host uses another card",
                &[("dev", &a.to_string())],
            ),
            ReadRefusal::InUse(a, name, pid) => tr_f(
                "{dev} is in use by {name} (PID {pid}), a running VM's QEMU or a program on the card: Passage does not switch on its ROM under it. Read it when the VM is off and nothing uses the card",
                &[("dev", &a.to_string()), ("name", name), ("pid", &pid.to_string())],
            ),
            ReadRefusal::NoRom(a) => tr_f(
                "{dev} has no option ROM the kernel can read (no rom file in sysfs); give a ROM file dumped with the card's own tool",
                &[("dev", &a.to_string())],
            ),
        };
        f.write_str(&s)
    }
}

impl std::error::Error for ReadRefusal {}

/// Whether the host shows its screen on the card at `addr` (the boot display, or a connected
/// output): its ROM is never switched on.
pub fn shows_host_screen(host: &super::Host, addr: super::PciAddress) -> bool {
    host.device(addr).is_some_and(|d| d.boot_vga) || host.display.active_gpus.contains(&addr)
}

/// The sysfs `rom` attribute of the card at `addr` (a host path), when Passage may switch its
/// ROM on to read it: the device exists, the host does not show its screen on it, and the
/// kernel gives it a ROM.
pub fn sysfs_rom(
    host: &super::Host,
    root: &crate::Root,
    addr: super::PciAddress,
) -> Result<String, ReadRefusal> {
    host.device(addr).ok_or(ReadRefusal::NoSuchDevice(addr))?;
    if shows_host_screen(host, addr) {
        return Err(ReadRefusal::HostDisplay(addr));
    }
    // Switching the ROM on changes the card's config space under whoever drives it: a VM's
    // QEMU (its /dev/vfio group open) or a program on its DRM nodes.
    let nodes = super::holders::device_nodes(root, host, addr);
    if let Some(h) = super::holders::holders(root, &nodes, std::process::id()).first() {
        return Err(ReadRefusal::InUse(addr, h.name.clone(), h.pid));
    }
    let path = format!("/sys/bus/pci/devices/{addr}/rom");
    if !root.exists(&path) {
        return Err(ReadRefusal::NoRom(addr));
    }
    Ok(path)
}
/// Switches the card's ROM on, reads it, and switches it off again whatever the read gave: the
/// kernel's sysfs ABI for `rom` ("1", read, "0"), the only write core makes, for the root callers
/// that read a card's ROM (`passagectl rom` as root, the helper's ReadRom) after
/// [`sysfs_rom`] allowed it.
pub fn read_card(
    root: &crate::Root,
    attr: &str,
    addr: super::PciAddress,
) -> Result<Vec<u8>, String> {
    let path = root.path(attr);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => tr_f(
                "only root may read the ROM of {dev}: run this with sudo, or give a ROM file",
                &[("dev", &addr.to_string())],
            ),
            _ => tr_f(
                "cannot open {path}: {why}",
                &[("path", attr), ("why", &e.to_string())],
            ),
        })?;
    f.write_all_at(b"1\n", 0).map_err(|e| {
        tr_f(
            "cannot switch on the ROM of {dev}: {why}",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    let got = read_all(&f);
    // The kernel switches the ROM off only on exactly "0\n" written at offset 0.
    let off = f.write_all_at(b"0\n", 0);
    let bytes = got.map_err(|e| {
        tr_f(
            "cannot read the ROM of {dev}: {why} (the kernel could not map it: some cards give their ROM only before their driver loads; give a ROM file)",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    off.map_err(|e| {
        tr_f(
            "the ROM of {dev} was read but could not be switched off again: {why}",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    Ok(bytes)
}

fn read_all(f: &std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut out = vec![];
    let mut buf = vec![0u8; 64 * 1024];
    while out.len() < MAX_ROM {
        let n = f.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
}
