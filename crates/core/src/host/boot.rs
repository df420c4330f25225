//! Which boot loader owns the kernel command line, and where it keeps it.

use serde::{Deserialize, Serialize};

use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootLoaderKind {
    /// GRUB 2 with /etc/default/grub (Debian, Ubuntu, Arch, openSUSE…).
    Grub,
    /// Fedora/RHEL: GRUB with Boot Loader Specification entries, managed by grubby.
    Grubby,
    /// systemd-boot, with /etc/kernel/cmdline (kernel-install) or loader entries.
    SystemdBoot,
    /// Pop!_OS: systemd-boot entries written by kernelstub.
    Kernelstub,
    /// rEFInd with refind_linux.conf.
    Refind,
}

impl BootLoaderKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Grub => "grub",
            Self::Grubby => "grubby",
            Self::SystemdBoot => "systemd-boot",
            Self::Kernelstub => "kernelstub",
            Self::Refind => "refind",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootLoader {
    pub kind: BootLoaderKind,
    /// The file that holds the command line (host path).
    pub config: String,
    /// For GRUB: GRUB_CMDLINE_LINUX_DEFAULT exists (where desktop distributions put arguments).
    pub grub_has_default_line: bool,
    /// For GRUB: the command that regenerates grub.cfg on this distribution.
    pub regenerate: Option<String>,
    /// Why Passage thinks so.
    pub evidence: String,
}

const ESPS: [&str; 3] = ["/boot/efi", "/efi", "/boot"];
const LOADER_INFO: &str =
    "/sys/firmware/efi/efivars/LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

/// The boot loader systemd-boot reports in its EFI variable (UTF-16LE after 4 attribute bytes).
pub fn loader_info(root: &Root) -> Option<String> {
    let b = root.read_bytes(LOADER_INFO)?;
    let units: Vec<u16> = b
        .get(4..)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    Some(String::from_utf16_lossy(&units))
}

fn loader_entries(root: &Root) -> Option<String> {
    ESPS.iter().find_map(|esp| {
        let dir = format!("{esp}/loader/entries");
        root.list(&dir)
            .iter()
            .any(|f| f.ends_with(".conf"))
            .then_some(dir)
    })
}

pub fn scan(root: &Root) -> Option<BootLoader> {
    let mk = |kind, config: &str, evidence: String| BootLoader {
        kind,
        config: config.to_string(),
        grub_has_default_line: false,
        regenerate: None,
        evidence,
    };
    if root.exists("/etc/kernelstub/configuration") {
        return Some(mk(
            BootLoaderKind::Kernelstub,
            "/etc/kernelstub/configuration",
            "kernelstub's configuration exists (Pop!_OS)".into(),
        ));
    }
    for p in [
        "/boot/refind_linux.conf",
        "/boot/efi/EFI/refind/refind_linux.conf",
    ] {
        if root.exists(p) {
            return Some(mk(BootLoaderKind::Refind, p, format!("{p} exists")));
        }
    }
    let info = loader_info(root);
    let sd_booted = info
        .as_deref()
        .is_some_and(|i| i.starts_with("systemd-boot"));
    let grub_text = root.read_string("/etc/default/grub");
    if let (Some(text), false) = (&grub_text, sd_booted) {
        let bls = text.lines().any(|l| {
            let l = l.trim();
            l.starts_with("GRUB_ENABLE_BLSCFG=") && l.trim_end_matches('"').ends_with("true")
        });
        if bls && (root.exists("/usr/sbin/grubby") || root.exists("/usr/bin/grubby")) {
            return Some(mk(
                BootLoaderKind::Grubby,
                "/etc/default/grub",
                "GRUB with BLS entries (GRUB_ENABLE_BLSCFG=true) and grubby installed".into(),
            ));
        }
        let mut b = mk(
            BootLoaderKind::Grub,
            "/etc/default/grub",
            "/etc/default/grub exists".into(),
        );
        b.grub_has_default_line = text
            .lines()
            .any(|l| l.trim_start().starts_with("GRUB_CMDLINE_LINUX_DEFAULT="));
        b.regenerate = Some(grub_regenerate(root));
        return Some(b);
    }
    if root.exists("/etc/sdboot-manage.conf") {
        return Some(mk(
            BootLoaderKind::SystemdBoot,
            "/etc/sdboot-manage.conf",
            "sdboot-manage writes the systemd-boot entries from /etc/sdboot-manage.conf".into(),
        ));
    }
    if root.exists("/etc/kernel/cmdline") {
        let ev = match &info {
            Some(i) => format!("/etc/kernel/cmdline exists; firmware says the loader was {i}"),
            None => "/etc/kernel/cmdline exists (kernel-install)".into(),
        };
        return Some(mk(BootLoaderKind::SystemdBoot, "/etc/kernel/cmdline", ev));
    }
    if let Some(dir) = loader_entries(root) {
        return Some(mk(
            BootLoaderKind::SystemdBoot,
            &dir,
            format!("loader entries in {dir}"),
        ));
    }
    if sd_booted {
        return Some(mk(
            BootLoaderKind::SystemdBoot,
            "/etc/kernel/cmdline",
            format!("firmware says the loader was {}", info.unwrap_or_default()),
        ));
    }
    None
}

/// update-grub on Debian/Ubuntu (proxmox-boot-tool refresh on Proxmox VE hosts that keep their
/// boot partitions with it); grub2-mkconfig or grub-mkconfig with the distribution's path.
fn grub_regenerate(root: &Root) -> String {
    // Proxmox VE keeps its boot partitions with proxmox-boot-tool, which runs update-grub for
    // each; update-grub alone would leave them as they were.
    if root.exists("/etc/kernel/proxmox-boot-uuids") && root.exists("/usr/sbin/proxmox-boot-tool") {
        "proxmox-boot-tool refresh".into()
    } else if root.exists("/usr/sbin/update-grub") {
        "update-grub".into()
    } else if root.exists("/usr/sbin/grub2-mkconfig") || root.exists("/usr/bin/grub2-mkconfig") {
        if root.exists("/boot/grub2/grub.cfg") {
            "grub2-mkconfig -o /boot/grub2/grub.cfg".into()
        } else {
            "grub2-mkconfig -o /boot/efi/EFI/fedora/grub.cfg".into()
        }
    } else {
        "grub-mkconfig -o /boot/grub/grub.cfg".into()
    }
}
