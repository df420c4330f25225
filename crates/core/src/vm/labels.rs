//! What the wizard, the VM's page and the device editor call a VM's devices: keyboards and
//! mice shared by evdev by a readable name, the extra PCI devices by kind, and the one-line
//! summary of a VM about to be made.

use crate::host::pci::PciDevice;
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f, tr_n};

use super::VmSpec;

/// What an evdev device is, from the class udev's `60-persistent-input.rules` ends its
/// `/dev/input/by-id/` name with (`-event-kbd`, `-event-mouse`); the host lists no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Keyboard,
    Mouse,
}

impl InputKind {
    pub fn of(path: &str) -> Option<InputKind> {
        if path.ends_with("-event-kbd") {
            Some(InputKind::Keyboard)
        } else if path.ends_with("-event-mouse") {
            Some(InputKind::Mouse)
        } else {
            None
        }
    }
}

/// A readable name for an evdev device from its by-id name, which udev makes as
/// `BUS-VENDOR_MODEL[_SERIAL][-ifNN]-event-CLASS` (ID_SERIAL with spaces as `_`, `\xNN` for
/// what a link name cannot hold): `usb-Logitech_USB_Receiver-if02-event-mouse` is
/// "Logitech USB Receiver (mouse)". A vendor repeated at the model's start is said once.
pub fn input_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let kind = InputKind::of(file);
    let stem = file
        .strip_suffix("-event-kbd")
        .or_else(|| file.strip_suffix("-event-mouse"))
        .unwrap_or(file);
    let stem = match stem.rsplit_once("-if") {
        Some((s, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_hexdigit()) => s,
        _ => stem,
    };
    let serial = stem.split_once('-').map(|(_, s)| s).unwrap_or(stem);
    let mut words: Vec<String> = unescape(serial)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    if words.len() > 2 && words[0].eq_ignore_ascii_case(&words[1]) {
        words.remove(1);
    }
    let name = if words.is_empty() {
        file.to_string()
    } else {
        words.join(" ")
    };
    match kind {
        Some(InputKind::Keyboard) => tr_f("{name} (keyboard)", &[("name", &name)]),
        Some(InputKind::Mouse) => tr_f("{name} (mouse)", &[("name", &name)]),
        None => name,
    }
}

/// udev's `\xNN` escapes in a link name, decoded (others kept as they are).
fn unescape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (
            b[i],
            b.get(i + 1),
            hex.and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'\\', Some(b'x'), Some(v)) => {
                out.push(v);
                i += 4;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What an extra PCI device (one [`super::devices::extra_candidates`] offers) is, by its PCI
/// class (the PCI Code and ID Assignment Specification: 01 mass storage, 0c03 USB).
pub fn extra_kind(d: &PciDevice) -> String {
    match d.class >> 8 {
        0x0108 => tr("NVMe drive"),
        0x0106 => tr("SATA controller"),
        0x0c03 => tr("USB controller"),
        _ => tr("Storage controller"),
    }
}

/// An extra device's address and kind: "0000:05:00.0 · SATA controller".
pub fn extra_sub(host: &Host, a: PciAddress) -> String {
    match host.device(a) {
        Some(d) => tr_f(
            "{addr} · {kind}",
            &[("addr", &a.to_string()), ("kind", &extra_kind(d))],
        ),
        None => a.to_string(),
    }
}

/// What the list of extra PCI devices offers, as the rule of
/// [`super::devices::extra_candidates`] has it.
pub fn extra_about() -> String {
    tr("Storage (NVMe drives, SATA and other disk controllers) and USB controllers whose whole IOMMU group can go to the VM too, with no graphics card in it. A passed-through NVMe drive runs at full speed.")
}

impl VmSpec {
    /// "win10: 16 GiB, 12 CPUs, 5 PCI devices, 2 USB devices, 1 keyboard, 1 mouse, 2 discs":
    /// the evdev keyboards and mice as what they are, not as USB devices.
    pub fn summary(&self) -> String {
        let inputs = |k| {
            self.evdev
                .iter()
                .filter(|p| InputKind::of(p) == Some(k))
                .count() as u64
        };
        let (kbd, mice) = (inputs(InputKind::Keyboard), inputs(InputKind::Mouse));
        let mut parts = vec![
            tr_f("{n} GiB", &[("n", &(self.memory_mib / 1024).to_string())]),
            tr_n("{n} CPU", "{n} CPUs", self.vcpus.into(), &[]),
            tr_n(
                "{n} PCI device",
                "{n} PCI devices",
                self.pci.len() as u64,
                &[],
            ),
            tr_n(
                "{n} USB device",
                "{n} USB devices",
                self.usb.len() as u64,
                &[],
            ),
        ];
        if kbd > 0 {
            parts.push(tr_n("{n} keyboard", "{n} keyboards", kbd, &[]));
        }
        if mice > 0 {
            parts.push(tr_n("{n} mouse", "{n} mice", mice, &[]));
        }
        parts.push(tr_n("{n} disc", "{n} discs", self.cdroms.len() as u64, &[]));
        tr_f(
            "{name}: {what}",
            &[("name", &self.name), ("what", &parts.join(", "))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_read_like_names() {
        for (path, want) in [
            (
                "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse",
                "Logitech USB Receiver (mouse)",
            ),
            (
                "/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-if01-event-kbd",
                "Razer DeathAdder V2 (keyboard)",
            ),
            (
                "/dev/input/by-id/usb-Corsair_Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd",
                "Corsair Gaming K95 RGB PLATINUM Keyboard (keyboard)",
            ),
            (
                "/dev/input/by-id/usb-Kingsis_Peripherals_ZOWIE\\x20Gaming\\x20mouse-event-mouse",
                "Kingsis Peripherals ZOWIE Gaming mouse (mouse)",
            ),
        ] {
            assert_eq!(input_name(path), want, "{path}");
        }
        assert_eq!(
            InputKind::of("/dev/input/by-id/usb-X-event-mouse"),
            Some(InputKind::Mouse)
        );
        assert_eq!(InputKind::of("/dev/input/by-path/x-event-joystick"), None);
    }
}
