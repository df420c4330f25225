//! USB devices from /sys/bus/usb/devices (serial numbers are never read).

use serde::{Deserialize, Serialize};

use super::pci::PciAddress;
use crate::ids::{Names, Query};
use crate::root::Root;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbDevice {
    /// sysfs name: `1-2.3` (bus 1, port 2, then port 3 of that hub); `usb1` for a root hub.
    pub name: String,
    pub bus: u32,
    pub device: u32,
    /// Port path below the root hub (`2.3`); empty for the root hub.
    pub port_path: String,
    pub vendor_id: String,
    pub product_id: String,
    pub vendor_name: Option<String>,
    pub product_name: Option<String>,
    /// What the device says it is (`product` string).
    pub product: Option<String>,
    pub manufacturer: Option<String>,
    /// USB class of the device (`09` is a hub).
    pub class: Option<String>,
    /// Link speed in Mbit/s.
    pub speed: Option<String>,
    /// The host controller it hangs off.
    pub controller: Option<PciAddress>,
    pub is_hub: bool,
}

pub fn scan(root: &Root) -> Vec<UsbDevice> {
    let base = "/sys/bus/usb/devices";
    let mut out = Vec::new();
    for name in root.list(base) {
        if name.contains(':') {
            continue; // interfaces
        }
        let dir = format!("{base}/{name}");
        let (Some(vendor_id), Some(product_id)) = (
            root.read_attr(&format!("{dir}/idVendor")),
            root.read_attr(&format!("{dir}/idProduct")),
        ) else {
            continue;
        };
        let port_path = name
            .split_once('-')
            .map(|(_, p)| p.to_string())
            .unwrap_or_default();
        let controller = root
            .read_link(&dir)
            .and_then(|t| super::pci::last_pci_address(&t));
        let class = root.read_attr(&format!("{dir}/bDeviceClass"));
        out.push(UsbDevice {
            bus: root.read_dec(&format!("{dir}/busnum")).unwrap_or(0),
            device: root.read_dec(&format!("{dir}/devnum")).unwrap_or(0),
            port_path,
            vendor_name: None,
            product_name: None,
            product: root.read_attr(&format!("{dir}/product")),
            manufacturer: root.read_attr(&format!("{dir}/manufacturer")),
            is_hub: class.as_deref() == Some("09"),
            class,
            speed: root.read_attr(&format!("{dir}/speed")),
            controller,
            name,
            vendor_id: vendor_id.to_ascii_lowercase(),
            product_id: product_id.to_ascii_lowercase(),
        });
    }
    out.sort_by(|a, b| (a.bus, &a.port_path).cmp(&(b.bus, &b.port_path)));
    out
}

pub fn name_devices(devs: &mut [UsbDevice], lookup: impl FnOnce(&[Query]) -> Names) {
    let parse = |s: &str| u16::from_str_radix(s, 16).ok();
    let queries: Vec<Query> = devs
        .iter()
        .filter_map(|d| {
            Some(Query {
                vendor: parse(&d.vendor_id)?,
                device: parse(&d.product_id)?,
                subsystem: None,
            })
        })
        .collect();
    if queries.is_empty() {
        return;
    }
    let names = lookup(&queries);
    for d in devs {
        if let (Some(v), Some(p)) = (parse(&d.vendor_id), parse(&d.product_id)) {
            d.vendor_name = names.vendor(v);
            d.product_name = names.device(v, p);
        }
    }
}
