//! The AMD reset bug: cards of some generations do not come back from a VM without a host
//! restart (their function-level reset does not reinitialise the GPU). vendor-reset
//! (gnif/vendor-reset) adds a working reset for them; since kernel 5.15 it is chosen through the
//! card's `reset_method` attribute (`device_specific`).

use serde::{Deserialize, Serialize};

use crate::host::kernel::Kernel;
use crate::host::{Host, PciAddress, PciDevice};
use crate::i18n::{tr, tr_f};
use crate::root::Root;
use crate::vm::session::GpuMode;

/// ATI/AMD graphics (`PCI_VENDOR_ID_ATI`).
pub const AMD_GPU_VENDOR: u16 = 0x1002;

/// A GPU family with the reset bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResetFamily {
    Polaris10,
    Polaris11,
    Polaris12,
    Vega10,
    Vega20,
    Navi10,
    Navi12,
    Navi14,
}

impl ResetFamily {
    /// The family as AMD and the kernel name it.
    pub fn name(self) -> &'static str {
        match self {
            ResetFamily::Polaris10 => "Polaris 10",
            ResetFamily::Polaris11 => "Polaris 11",
            ResetFamily::Polaris12 => "Polaris 12",
            ResetFamily::Vega10 => "Vega 10",
            ResetFamily::Vega20 => "Vega 20",
            ResetFamily::Navi10 => "Navi 10",
            ResetFamily::Navi12 => "Navi 12",
            ResetFamily::Navi14 => "Navi 14",
        }
    }
}

/// The device IDs (vendor 0x1002) of each family with the reset bug, as vendor-reset's device
/// table lists them (gnif/vendor-reset, src/device-db.h at commit ca6a270, the same IDs as its
/// udev/99-vendor-reset.rules): the list is data, taken by ID. Its MI100 entry (0x738c, Arcturus)
/// is not a display card and is left out.
const FAMILIES: [(ResetFamily, &[u16]); 8] = [
    (
        ResetFamily::Polaris10,
        &[
            0x67c0, 0x67c1, 0x67c2, 0x67c4, 0x67c7, 0x67d0, 0x67df, 0x67c8, 0x67c9, 0x67ca, 0x67cc,
            0x67cf, 0x6fdf,
        ],
    ),
    (
        ResetFamily::Polaris11,
        &[
            0x67e0, 0x67e3, 0x67e8, 0x67eb, 0x67ef, 0x67ff, 0x67e1, 0x67e7, 0x67e9,
        ],
    ),
    (
        ResetFamily::Polaris12,
        &[
            0x6980, 0x6981, 0x6985, 0x6986, 0x6987, 0x6995, 0x6997, 0x699f,
        ],
    ),
    (
        ResetFamily::Vega10,
        &[
            0x6860, 0x6861, 0x6862, 0x6863, 0x6864, 0x6867, 0x6868, 0x6869, 0x686a, 0x686b, 0x686c,
            0x686d, 0x686e, 0x686f, 0x687f,
        ],
    ),
    (
        ResetFamily::Vega20,
        &[0x66a0, 0x66a1, 0x66a2, 0x66a3, 0x66a4, 0x66a7, 0x66af],
    ),
    (
        ResetFamily::Navi10,
        &[
            0x7310, 0x7312, 0x7318, 0x7319, 0x731a, 0x731b, 0x731e, 0x731f, 0x1681,
        ],
    ),
    (ResetFamily::Navi12, &[0x7360, 0x7362]),
    (ResetFamily::Navi14, &[0x7340, 0x7341, 0x7347, 0x734f]),
];

/// The family with the reset bug this vendor:device ID belongs to, if any.
pub fn family(vendor: u16, device: u16) -> Option<ResetFamily> {
    if vendor != AMD_GPU_VENDOR {
        return None;
    }
    FAMILIES
        .iter()
        .find(|(_, ids)| ids.contains(&device))
        .map(|(f, _)| *f)
}

/// The family of a graphics card with the reset bug (the card's other functions, its audio,
/// are reset with it).
pub fn card_family(d: &PciDevice) -> Option<ResetFamily> {
    d.is_gpu()
        .then(|| family(d.vendor_id, d.device_id))
        .flatten()
}

/// vendor-reset's module name, as modprobe takes it and /proc/modules shows it.
pub const MODULE: &str = "vendor-reset";

/// Whether vendor-reset can be loaded on the running kernel: loaded now, or listed in
/// `/lib/modules/RELEASE/modules.dep` (where modprobe finds a module; dkms installs it under
/// `updates/dkms/`).
pub fn vendor_reset_installed(root: &Root, kernel: &Kernel) -> bool {
    if kernel.modules.iter().any(|m| m == "vendor_reset") {
        return true;
    }
    let Some(rel) = kernel.release.as_deref() else {
        return false;
    };
    root.read_string(&format!("/lib/modules/{rel}/modules.dep"))
        .is_some_and(|dep| dep.lines().any(lists_vendor_reset))
}

/// A modules.dep line (`path/name.ko[.xz|.zst|.gz]: deps…`) for vendor-reset.
fn lists_vendor_reset(line: &str) -> bool {
    let path = line.split(':').next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    file == "vendor-reset.ko" || file.starts_with("vendor-reset.ko.")
}

/// Whether the card's reset is vendor-reset's now (`reset_method` lists `device_specific`
/// first: the kernel tries the methods in that order).
pub fn uses_device_specific(d: &PciDevice) -> bool {
    d.reset_methods.first().map(String::as_str) == Some("device_specific")
}

/// What the Devices page and `passagectl` say about a card of an affected family.
pub fn words(d: &PciDevice, family: ResetFamily) -> String {
    if uses_device_specific(d) {
        tr_f(
            "AMD {family}: the reset bug; vendor-reset resets it (reset_method device_specific)",
            &[("family", family.name())],
        )
    } else {
        tr_f(
            "AMD {family}: the reset bug — it may not come back after a VM stops until the computer restarts; give it to VMs from boot on, and use vendor-reset",
            &[("family", family.name())],
        )
    }
}

/// The GPU mode for `gpu`: from boot on for a card with the reset bug that vendor-reset does
/// not reset (lent while VMs run, it would go back to the host after each VM and may not come
/// back); `None` where either mode suits.
pub fn mode_for(host: &Host, gpu: PciAddress) -> Option<GpuMode> {
    let d = host.device(gpu)?;
    (card_family(d).is_some() && !uses_device_specific(d)).then_some(GpuMode::AtBoot)
}

/// Why "only while a VM runs" does not suit `gpu`, for the mode's choice.
pub fn while_running_caution(host: &Host, gpu: PciAddress) -> Option<String> {
    mode_for(host, gpu)?;
    Some(tr(
        "Not for this card: it has the AMD reset bug, and after a VM it may not come back to this computer until a restart.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_each_id_once_and_finds_the_families() {
        let mut all: Vec<u16> = FAMILIES.iter().flat_map(|(_, ids)| ids.to_vec()).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "an ID is listed twice");
        assert_eq!(n, 67);
        assert_eq!(family(0x1002, 0x67df), Some(ResetFamily::Polaris10));
        assert_eq!(family(0x1002, 0x731f), Some(ResetFamily::Navi10));
        assert_eq!(family(0x1002, 0x7362), Some(ResetFamily::Navi12));
        assert_eq!(family(0x1002, 0x734f), Some(ResetFamily::Navi14));
        // Navi 21 (RX 6800/6900) resets; NVIDIA's IDs are another vendor's.
        assert_eq!(family(0x1002, 0x73bf), None);
        assert_eq!(family(0x10de, 0x67df), None);
    }

    #[test]
    fn modules_dep_lines_name_the_module_by_file() {
        assert!(lists_vendor_reset("updates/dkms/vendor-reset.ko: "));
        assert!(lists_vendor_reset("updates/dkms/vendor-reset.ko.xz:"));
        assert!(!lists_vendor_reset("kernel/drivers/x/not-vendor-reset.ko:"));
        assert!(!lists_vendor_reset(
            "kernel/a.ko: updates/dkms/vendor-reset.ko"
        ));
    }
}
