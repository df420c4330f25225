//! Which initramfs generator this distribution uses.

use serde::{Deserialize, Serialize};

use crate::root::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitramfsKind {
    /// Debian, Ubuntu, Pop!_OS.
    InitramfsTools,
    /// Fedora, RHEL, openSUSE (and optional elsewhere).
    Dracut,
    /// Arch.
    Mkinitcpio,
    Booster,
}

impl InitramfsKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::InitramfsTools => "initramfs-tools",
            Self::Dracut => "dracut",
            Self::Mkinitcpio => "mkinitcpio",
            Self::Booster => "booster",
        }
    }
    /// The command that rebuilds the images. booster's is the script its Arch package installs
    /// (`booster build` alone needs a kernel version and an output file per image).
    pub const fn rebuild_command(self) -> &'static str {
        match self {
            Self::InitramfsTools => "update-initramfs -u -k all",
            Self::Dracut => "dracut -f --regenerate-all",
            Self::Mkinitcpio => "mkinitcpio -P",
            Self::Booster => "/usr/lib/booster/regenerate_images",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initramfs {
    pub kind: InitramfsKind,
    pub config: String,
}

pub fn scan(root: &Root) -> Option<Initramfs> {
    // Most specific first: a system has one of these configured, but dracut's directory can be
    // left behind on Debian, so its tools' own config files decide before it.
    let probes: [(InitramfsKind, &str); 5] = [
        (InitramfsKind::Booster, "/etc/booster.yaml"),
        (InitramfsKind::Mkinitcpio, "/etc/mkinitcpio.conf"),
        (
            InitramfsKind::InitramfsTools,
            "/etc/initramfs-tools/initramfs.conf",
        ),
        (InitramfsKind::Dracut, "/etc/dracut.conf"),
        (InitramfsKind::Dracut, "/etc/dracut.conf.d"),
    ];
    probes
        .iter()
        .find(|(_, p)| root.exists(p))
        .map(|(kind, p)| Initramfs {
            kind: *kind,
            config: p.to_string(),
        })
}
