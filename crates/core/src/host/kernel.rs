//! The running kernel: command line, modules, IOMMU state, ACS override.

use serde::{Deserialize, Serialize};

use crate::i18n::{tr, tr_f};
use crate::root::Root;

/// Splits a kernel command line the way the kernel does: whitespace separates arguments except
/// inside double quotes. Quotes are kept in each argument (`foo="a b"` stays one argument).
pub fn split_cmdline(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if c.is_whitespace() && !quoted {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `key=value` → (`key`, Some(`value`)) with surrounding quotes removed from the value.
pub fn arg_key_value(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((k, v)) => {
            let v = v.strip_prefix('"').unwrap_or(v);
            let v = v.strip_suffix('"').unwrap_or(v);
            (k, Some(v))
        }
        None => (arg, None),
    }
}

/// The kernel treats `-` and `_` in parameter names alike.
pub fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (x == b'-' || x == b'_') && (y == b'-' || y == b'_'))
}

/// Whether the ACS override patch is in the running kernel, and on what evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcsOverride {
    /// `Some(true)` patched, `Some(false)` known unpatched, `None` unknown.
    pub patched: Option<bool>,
    pub evidence: String,
    /// `pcie_acs_override=` is on the command line.
    pub requested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kernel {
    pub release: Option<String>,
    pub cmdline: Vec<String>,
    pub modules: Vec<String>,
    /// An IOMMU is active (/sys/class/iommu has units, or groups exist).
    pub iommu_enabled: bool,
    /// The IOMMU units (`dmar0`, `ivhd0`).
    pub iommu_units: Vec<String>,
    /// Interrupt remapping, where visible (IR- interrupt chips in /proc/interrupts).
    pub interrupt_remapping: Option<bool>,
    pub acs_override: AcsOverride,
    /// vfio-pci is loaded, built in, or installed as a module.
    pub vfio_pci_available: bool,
    /// How: `loaded`, `built-in`, `module`.
    pub vfio_pci_state: Option<String>,
}

impl Kernel {
    /// The value of a command-line parameter (last one wins, as in the kernel).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params(key).pop()
    }

    /// Every value of `key` on the command line, in order (`""` for a bare key).
    pub fn params(&self, key: &str) -> Vec<&str> {
        self.cmdline
            .iter()
            .filter_map(|a| {
                let (k, v) = arg_key_value(a);
                same_key(k, key).then_some(v.unwrap_or(""))
            })
            .collect()
    }

    /// `(major, minor)` of the release.
    pub fn version(&self) -> Option<(u32, u32)> {
        let r = self.release.as_deref()?;
        let mut it = r.split(|c: char| !c.is_ascii_digit());
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    }
}

/// Kernel flavours known to carry the ACS override patch.
const PATCHED_FLAVOURS: [&str; 4] = ["acso", "zen", "liquorix", "xanmod"];

pub fn scan(root: &Root, iommu_groups_exist: bool) -> Kernel {
    let release = root
        .read_attr("/proc/sys/kernel/osrelease")
        .filter(|s| !s.is_empty());
    let cmdline = root
        .read_string("/proc/cmdline")
        .map(|s| split_cmdline(&s))
        .unwrap_or_default();
    let modules: Vec<String> = root
        .read_string("/proc/modules")
        .map(|s| {
            s.lines()
                .filter_map(|l| l.split_whitespace().next().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let iommu_units = root.list("/sys/class/iommu");
    let iommu_enabled = !iommu_units.is_empty() || iommu_groups_exist;
    let interrupt_remapping = root.read_string("/proc/interrupts").and_then(|s| {
        if s.contains("IR-") {
            Some(true)
        } else if iommu_enabled && s.contains("PCI-MSI") {
            Some(false)
        } else {
            None
        }
    });

    let mut k = Kernel {
        release,
        cmdline,
        modules,
        iommu_enabled,
        iommu_units,
        interrupt_remapping,
        acs_override: AcsOverride {
            patched: None,
            evidence: String::new(),
            requested: false,
        },
        vfio_pci_available: false,
        vfio_pci_state: None,
    };
    k.acs_override = acs(root, &k);
    k.vfio_pci_state = vfio_state(root, &k);
    k.vfio_pci_available = k.vfio_pci_state.is_some();
    k
}

fn acs(root: &Root, k: &Kernel) -> AcsOverride {
    let requested = k.param("pcie_acs_override").is_some();
    let rel = k.release.clone().unwrap_or_default();
    let lower = rel.to_ascii_lowercase();
    if let Some(f) = PATCHED_FLAVOURS.iter().find(|f| lower.contains(*f)) {
        return AcsOverride {
            patched: Some(true),
            evidence: tr_f(
                "kernel {release} is a “{flavour}” build, which carries the patch",
                &[("release", &rel), ("flavour", f)],
            ),
            requested,
        };
    }
    // Only worth the large read when the user already asked for the override.
    if requested {
        if let Some(syms) = root.read_string("/proc/kallsyms") {
            let has = syms.contains("pcie_acs_override");
            return AcsOverride {
                patched: Some(has),
                evidence: if has {
                    tr("the kernel has the pcie_acs_override parameter")
                } else {
                    tr("the kernel has no pcie_acs_override parameter")
                },
                requested,
            };
        }
    }
    if rel.is_empty() {
        return AcsOverride {
            patched: None,
            evidence: tr("kernel release unknown"),
            requested,
        };
    }
    AcsOverride {
        patched: Some(false),
        evidence: tr_f(
            "kernel {release} is a mainline or distribution build, which does not carry the patch",
            &[("release", &rel)],
        ),
        requested,
    }
}

fn vfio_state(root: &Root, k: &Kernel) -> Option<String> {
    if k.modules.iter().any(|m| m == "vfio_pci") {
        return Some("loaded".into());
    }
    let rel = k.release.as_deref()?;
    let base = format!("/lib/modules/{rel}");
    if let Some(b) = root.read_string(&format!("{base}/modules.builtin")) {
        if b.lines()
            .any(|l| l.ends_with("/vfio-pci.ko") || l.ends_with("/vfio_pci.ko"))
        {
            return Some("built-in".into());
        }
    }
    let dir = format!("{base}/kernel/drivers/vfio/pci");
    if root
        .list(&dir)
        .iter()
        .any(|f| f.starts_with("vfio-pci.ko") || f.starts_with("vfio_pci.ko"))
    {
        return Some("module".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_keeps_quotes_and_splits_on_space() {
        let v = split_cmdline("BOOT_IMAGE=/vmlinuz-6.1 root=UUID=abc ro quiet  splash acpi_osi=\"Windows 2015\" vfio-pci.ids=10de:1e07,10de:10f7\n");
        assert_eq!(
            v,
            vec![
                "BOOT_IMAGE=/vmlinuz-6.1",
                "root=UUID=abc",
                "ro",
                "quiet",
                "splash",
                "acpi_osi=\"Windows 2015\"",
                "vfio-pci.ids=10de:1e07,10de:10f7"
            ]
        );
        assert_eq!(
            arg_key_value("acpi_osi=\"Windows 2015\""),
            ("acpi_osi", Some("Windows 2015"))
        );
        assert_eq!(arg_key_value("quiet"), ("quiet", None));
        assert!(same_key("vfio_pci.ids", "vfio-pci.ids"));
        assert!(!same_key("vfio_pci.ids", "vfio-pci.idz"));
    }

    #[test]
    fn unterminated_quote_takes_the_rest() {
        assert_eq!(split_cmdline("a=\"b c"), vec!["a=\"b c"]);
    }
}
