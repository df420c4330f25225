//! Which GPU drives the host's screens, and what display stack sits on it.

use serde::{Deserialize, Serialize};

use super::pci::PciAddress;
use crate::root::Root;

/// A DRM output (`card0-HDMI-A-1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    pub name: String,
    pub card: String,
    pub gpu: Option<PciAddress>,
    pub connected: bool,
}

/// An X11 configuration file and what it pins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct X11Config {
    pub path: String,
    /// `Driver "nvidia"` and the like.
    pub drivers: Vec<String>,
    /// `BusID "PCI:1:0:0"` values.
    pub bus_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Display {
    /// GPUs with a connected output (the screens the host shows now).
    pub active_gpus: Vec<PciAddress>,
    pub connectors: Vec<Connector>,
    /// `gdm3`, `sddm`, `lightdm`… from the display-manager unit or /etc/X11/default-display-manager.
    pub display_manager: Option<String>,
    pub x11_configs: Vec<X11Config>,
    pub nvidia_loaded: bool,
    pub nouveau_loaded: bool,
    /// Ubuntu's prime-select mode (`/etc/prime-discrete`: on, off, on-demand) when present.
    pub prime_select: Option<String>,
}

pub fn scan(root: &Root, modules: &[String]) -> Display {
    let mut connectors = Vec::new();
    for name in root.list("/sys/class/drm") {
        // Outputs are `cardN-TYPE-M`; render nodes and bare cards are not outputs.
        let Some((card, _)) = name.split_once('-') else {
            continue;
        };
        if !card.starts_with("card") {
            continue;
        }
        let status = root.read_attr(&format!("/sys/class/drm/{name}/status"));
        // The card lives below its GPU: /sys/class/drm/card0 → ../../devices/…/0000:0d:00.0/drm/card0
        let gpu = root
            .read_link(&format!("/sys/class/drm/{card}"))
            .and_then(|t| super::pci::last_pci_address(&t));
        connectors.push(Connector {
            name: name.clone(),
            card: card.to_string(),
            gpu,
            connected: status.as_deref() == Some("connected"),
        });
    }
    let mut active_gpus: Vec<PciAddress> = connectors
        .iter()
        .filter(|c| c.connected)
        .filter_map(|c| c.gpu)
        .collect();
    active_gpus.sort();
    active_gpus.dedup();

    let display_manager = root
        .link_name("/etc/systemd/system/display-manager.service")
        .map(|s| s.trim_end_matches(".service").to_string())
        .or_else(|| {
            root.read_attr("/etc/X11/default-display-manager")
                .and_then(|p| p.rsplit('/').next().map(str::to_string))
                .filter(|s| !s.is_empty())
        });

    let mut x11_configs = Vec::new();
    let mut paths = vec!["/etc/X11/xorg.conf".to_string()];
    for dir in ["/etc/X11/xorg.conf.d", "/usr/share/X11/xorg.conf.d"] {
        for f in root.list(dir) {
            if f.ends_with(".conf") {
                paths.push(format!("{dir}/{f}"));
            }
        }
    }
    for path in paths {
        if let Some(text) = root.read_string(&path) {
            x11_configs.push(parse_x11(&path, &text));
        }
    }
    let prime_select = root
        .read_attr("/etc/prime-discrete")
        .filter(|s| !s.is_empty());
    Display {
        active_gpus,
        connectors,
        display_manager,
        x11_configs,
        nvidia_loaded: modules.iter().any(|m| m == "nvidia"),
        nouveau_loaded: modules.iter().any(|m| m == "nouveau"),
        prime_select,
    }
}

/// Pulls `Driver` and `BusID` values out of an xorg.conf (comments ignored).
pub fn parse_x11(path: &str, text: &str) -> X11Config {
    let mut drivers = Vec::new();
    let mut bus_ids = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut it = line.splitn(2, char::is_whitespace);
        let key = it.next().unwrap_or("");
        let val = it.next().unwrap_or("").trim().trim_matches('"').to_string();
        if val.is_empty() {
            continue;
        }
        if key.eq_ignore_ascii_case("Driver") {
            drivers.push(val);
        } else if key.eq_ignore_ascii_case("BusID") {
            bus_ids.push(val);
        }
    }
    X11Config {
        path: path.to_string(),
        drivers,
        bus_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x11_busid_and_driver() {
        let c = parse_x11(
            "/etc/X11/xorg.conf.d/20-intel.conf",
            "Section \"Device\"\n  Identifier \"Intel\"\n  Driver \"modesetting\" # iGPU\n  BusID \"PCI:0:2:0\"\n# Driver \"nvidia\"\nEndSection\n",
        );
        assert_eq!(c.drivers, vec!["modesetting"]);
        assert_eq!(c.bus_ids, vec!["PCI:0:2:0"]);
    }
}
