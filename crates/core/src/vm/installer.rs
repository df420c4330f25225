//! What an installer ISO holds, as far as Passage can tell without mounting it: the volume
//! label from its ISO 9660 Primary Volume Descriptor (ECMA-119 §8.4: sector 16 of 2048
//! bytes, type 1, `CD001`, the volume identifier at bytes 40–71), and the file's name.
//!
//! Microsoft gives Windows 10 and Windows 11 the same labels (`CCCOMA_X64FRE_EN-US_DV9`,
//! `CPBA_X64FRE_…`, `CCSA_X64FRE_…`: Media Creation Tool, retail and volume media), so the label
//! says "Windows" and only the file's name (`Win11_23H2_English_x64.iso`,
//! `SW_DVD9_Win_Pro_11_…`) can say which; when it does not, the version is unknown.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::i18n::{tr, tr_f};

/// Where the Primary Volume Descriptor starts (sector 16 of 2048 bytes).
const PVD_OFFSET: u64 = 16 * 2048;

/// What the installer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installer {
    Windows11,
    Windows10,
    /// A Windows installer whose version neither the label nor the name says.
    Windows,
    /// A Linux installer, with the label that said so.
    Linux(String),
    /// Neither the label nor the name says what it is.
    Unknown,
}

impl Installer {
    pub fn is_windows(&self) -> bool {
        matches!(
            self,
            Installer::Windows11 | Installer::Windows10 | Installer::Windows
        )
    }

    /// What Passage read it as, in words.
    pub fn words(&self) -> String {
        match self {
            Installer::Windows11 => tr("Windows 11"),
            Installer::Windows10 => tr("Windows 10"),
            Installer::Windows => tr("Windows (the ISO does not say which version)"),
            Installer::Linux(label) => tr_f("Linux ({label})", &[("label", label)]),
            Installer::Unknown => tr("an installer Passage cannot identify"),
        }
    }
}

/// The volume label of an ISO 9660 image from its first 34 KiB (trailing spaces dropped);
/// `None` when there is no Primary Volume Descriptor there.
pub fn volume_label(head: &[u8]) -> Option<String> {
    let pvd = head.get(PVD_OFFSET as usize..PVD_OFFSET as usize + 72)?;
    if pvd[0] != 1 || &pvd[1..6] != b"CD001" {
        return None;
    }
    let label = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_string();
    (!label.is_empty()).then_some(label)
}

/// Reads the volume label of the ISO at `path`; `None` when it cannot be read or has none.
pub fn read_volume_label(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut head = vec![0u8; PVD_OFFSET as usize + 2048];
    f.seek(SeekFrom::Start(PVD_OFFSET)).ok()?;
    f.read_exact(&mut head[PVD_OFFSET as usize..]).ok()?;
    volume_label(&head)
}

/// What the installer is, from its file name and volume label.
pub fn identify(file_name: &str, label: Option<&str>) -> Installer {
    let name = file_name
        .rsplit('/')
        .next()
        .unwrap_or(file_name)
        .to_ascii_lowercase()
        .replace([' ', '-', '.'], "_");
    let says = |words: &[&str]| words.iter().any(|w| name.contains(w));
    let by_name = if says(&["win11", "windows_11", "windows11", "win_pro_11", "win_11"]) {
        Some(Installer::Windows11)
    } else if says(&["win10", "windows_10", "windows10", "win_pro_10", "win_10"]) {
        Some(Installer::Windows10)
    } else {
        None
    };
    let label_up = label.map(str::to_ascii_uppercase).unwrap_or_default();
    let windows_label = ["CCCOMA_", "CPBA_", "CCSA_", "CENA_", "CCB"]
        .iter()
        .any(|p| label_up.starts_with(p))
        && label_up.contains("FRE_");
    let linux_label = [
        "DEBIAN", "UBUNTU", "FEDORA", "ARCH", "MINT", "POP_OS", "OPENSUSE", "ROCKY", "ALMA",
    ]
    .iter()
    .any(|p| label_up.starts_with(p));
    match (by_name, label) {
        (Some(w), _) if !linux_label => w,
        _ if windows_label => Installer::Windows,
        (_, Some(l)) if linux_label => Installer::Linux(l.to_string()),
        _ if says(&[
            "debian",
            "ubuntu",
            "fedora",
            "archlinux",
            "linuxmint",
            "pop_os",
        ]) =>
        {
            Installer::Linux(file_name.rsplit('/').next().unwrap_or(file_name).into())
        }
        _ => Installer::Unknown,
    }
}
