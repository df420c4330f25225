//! What the guest's own tools print, read: `lspci -nnk` (pciutils) in a Linux guest, and the
//! JSON of PowerShell's `Get-CimInstance Win32_PnPEntity … | ConvertTo-Json` in a Windows one.
//! The agent hands a program's output over as base64 (`guest-exec-status`'s `out-data`).

use serde::{Deserialize, Serialize};

/// A PCI function as the guest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub vendor: u16,
    pub device: u16,
    /// The guest's name for it (`NVIDIA Corporation GA102 [GeForce RTX 3090]`).
    pub name: Option<String>,
    /// The driver bound to it (`Kernel driver in use:`; Windows' service name).
    pub driver: Option<String>,
    /// Kernel modules that could drive it (`Kernel modules:`), for a device without a driver.
    pub modules: Vec<String>,
    /// The driver's version (Windows' `guest-get-devices`).
    pub version: Option<String>,
    /// Windows' Device Manager problem code (`ConfigManagerErrorCode`; 0 when it works).
    pub problem: Option<u32>,
}

/// The devices in `lspci -nnk`'s output: each function's first line ends its name with
/// `[vvvv:dddd]`, then `(rev xx)` or `(prog-if xx …)` may follow; its indented lines say the
/// driver in use and the modules that could take it. Lines that are neither are skipped.
pub fn lspci_nnk(text: &str) -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    for line in text.lines() {
        if line.starts_with(['\t', ' ']) {
            let Some(last) = out.last_mut() else { continue };
            let line = line.trim();
            if let Some(d) = line.strip_prefix("Kernel driver in use:") {
                last.driver = Some(d.trim().to_string()).filter(|d| !d.is_empty());
            } else if let Some(m) = line.strip_prefix("Kernel modules:") {
                last.modules = m
                    .split(',')
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect();
            }
            continue;
        }
        if let Some(l) = header(line) {
            out.push(l);
        }
    }
    out
}

/// A function's first line: `01:00.0 VGA compatible controller [0300]: NAME [10de:2204] (rev a1)`.
fn header(line: &str) -> Option<Listed> {
    let (_, rest) = line.split_once("]: ")?;
    // The IDs are the last bracketed `xxxx:xxxx` (names may hold brackets of their own).
    let mut end = rest.len();
    while let Some(open) = rest[..end].rfind('[') {
        let close = open + rest[open..].find(']')?;
        if let Some((v, d)) = crate::host::pci::parse_id_pair(&rest[open + 1..close]) {
            let name = rest[..open].trim();
            return Some(Listed {
                vendor: v,
                device: d,
                name: (!name.is_empty()).then(|| name.to_string()),
                driver: None,
                modules: Vec::new(),
                version: None,
                problem: None,
            });
        }
        end = open;
    }
    None
}

/// One `Win32_PnPEntity` as `ConvertTo-Json` writes it (the properties selected).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PnpEntity {
    name: Option<String>,
    #[serde(rename = "PNPDeviceID")]
    pnp_device_id: Option<String>,
    config_manager_error_code: Option<u32>,
    service: Option<String>,
}

/// PowerShell's JSON of PCI devices: an array, or one object when it found only one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<PnpEntity>),
    One(PnpEntity),
}

/// The PCI devices in PowerShell's JSON of `Win32_PnPEntity` (`PNPDeviceID` as
/// `PCI\VEN_10DE&DEV_2204&SUBSYS_…\…`). `None` when it is not that JSON.
pub fn pnp_entities(text: &str) -> Option<Vec<Listed>> {
    // Windows PowerShell may start its output with a UTF-8 byte order mark.
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Some(Vec::new());
    }
    let all = match serde_json::from_str::<OneOrMany>(text).ok()? {
        OneOrMany::Many(v) => v,
        OneOrMany::One(e) => vec![e],
    };
    Some(
        all.into_iter()
            .filter_map(|e| {
                let (vendor, device) = pci_hardware_id(e.pnp_device_id.as_deref()?)?;
                Some(Listed {
                    vendor,
                    device,
                    name: e.name,
                    driver: e.service.filter(|s| !s.is_empty()),
                    modules: Vec::new(),
                    version: None,
                    problem: e.config_manager_error_code,
                })
            })
            .collect(),
    )
}

/// `PCI\VEN_10DE&DEV_2204&…` → (0x10de, 0x2204); any case.
pub fn pci_hardware_id(id: &str) -> Option<(u16, u16)> {
    let up = id.to_ascii_uppercase();
    let rest = up.strip_prefix("PCI\\")?;
    let mut vendor = None;
    let mut device = None;
    for part in rest.split(['&', '\\']) {
        if let Some(v) = part.strip_prefix("VEN_") {
            vendor = vendor.or_else(|| hex4(v));
        } else if let Some(d) = part.strip_prefix("DEV_") {
            device = device.or_else(|| hex4(d));
        }
    }
    Some((vendor?, device?))
}

fn hex4(s: &str) -> Option<u16> {
    (s.len() == 4)
        .then(|| u16::from_str_radix(s, 16).ok())
        .flatten()
}

/// Standard base64 (RFC 4648, with `=` padding, as GLib's `g_base64_encode` writes the agent's
/// `out-data`); `None` on anything else.
pub fn base64(text: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_glib_writes_it() {
        assert_eq!(base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64("").as_deref(), Some(&b""[..]));
        assert_eq!(base64("a=bc"), None);
        assert_eq!(base64("abc"), None);
        assert_eq!(base64("ab!c"), None);
    }

    #[test]
    fn hardware_ids_in_any_case() {
        assert_eq!(
            pci_hardware_id("PCI\\VEN_10DE&DEV_2204&SUBSYS_87B31043&REV_A1\\4&2E5F3C0A&0&0008"),
            Some((0x10de, 0x2204))
        );
        assert_eq!(
            pci_hardware_id("pci\\ven_1002&dev_73bf"),
            Some((0x1002, 0x73bf))
        );
        assert_eq!(pci_hardware_id("USB\\VID_046D&PID_C52B"), None);
        assert_eq!(pci_hardware_id("PCI\\VEN_10DE"), None);
    }

    #[test]
    fn a_name_with_brackets_keeps_them() {
        let l = lspci_nnk("0b:00.0 VGA compatible controller [0300]: Advanced Micro Devices, Inc. [AMD/ATI] Navi 21 [Radeon RX 6800/6800 XT / 6900 XT] [1002:73bf] (rev c1)\n");
        assert_eq!((l[0].vendor, l[0].device), (0x1002, 0x73bf));
        assert_eq!(
            l[0].name.as_deref(),
            Some(
                "Advanced Micro Devices, Inc. [AMD/ATI] Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"
            )
        );
    }
}
