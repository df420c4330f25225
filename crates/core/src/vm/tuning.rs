//! How Passage tunes a VM beyond the tutorials: the Hyper-V enlightenments a Windows guest
//! gets, chosen from what the host's libvirt and QEMU say they support (domain capabilities),
//! with each enlightenment's prerequisites kept.
//!
//! The set follows Proxmox VE's for Windows 10/11 guests (relaxed, vapic, spinlocks, vpindex,
//! runtime, synic, stimer, reset, frequencies, tlbflush, ipi, and the Hyper-V clock), plus
//! what newer QEMU adds that helps any Windows guest (reenlightenment, avic). Left out:
//! `evmcs` (only for Hyper-V nested inside the guest, and it disables other features) and
//! `stimer direct` (for nested too).

use serde::{Deserialize, Serialize};

/// A Hyper-V enlightenment, by its libvirt element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hv {
    Relaxed,
    Vapic,
    Spinlocks,
    Vpindex,
    Runtime,
    Synic,
    Stimer,
    Reset,
    Frequencies,
    Reenlightenment,
    Tlbflush,
    Ipi,
    Avic,
}

impl Hv {
    pub const ALL: [Hv; 13] = [
        Hv::Relaxed,
        Hv::Vapic,
        Hv::Spinlocks,
        Hv::Vpindex,
        Hv::Runtime,
        Hv::Synic,
        Hv::Stimer,
        Hv::Reset,
        Hv::Frequencies,
        Hv::Reenlightenment,
        Hv::Tlbflush,
        Hv::Ipi,
        Hv::Avic,
    ];

    /// libvirt's element name (also domain capabilities' value).
    pub fn name(self) -> &'static str {
        match self {
            Hv::Relaxed => "relaxed",
            Hv::Vapic => "vapic",
            Hv::Spinlocks => "spinlocks",
            Hv::Vpindex => "vpindex",
            Hv::Runtime => "runtime",
            Hv::Synic => "synic",
            Hv::Stimer => "stimer",
            Hv::Reset => "reset",
            Hv::Frequencies => "frequencies",
            Hv::Reenlightenment => "reenlightenment",
            Hv::Tlbflush => "tlbflush",
            Hv::Ipi => "ipi",
            Hv::Avic => "avic",
        }
    }

    /// QEMU's `-cpu` property for it.
    pub fn qemu(self) -> &'static str {
        match self {
            Hv::Spinlocks => "hv-spinlocks=0x1fff",
            Hv::Relaxed => "hv-relaxed=on",
            Hv::Vapic => "hv-vapic=on",
            Hv::Vpindex => "hv-vpindex=on",
            Hv::Runtime => "hv-runtime=on",
            Hv::Synic => "hv-synic=on",
            Hv::Stimer => "hv-stimer=on",
            Hv::Reset => "hv-reset=on",
            Hv::Frequencies => "hv-frequencies=on",
            Hv::Reenlightenment => "hv-reenlightenment=on",
            Hv::Tlbflush => "hv-tlbflush=on",
            Hv::Ipi => "hv-ipi=on",
            Hv::Avic => "hv-avic=on",
        }
    }

    /// What must be on for this one to work (QEMU's and the Hyper-V TLFS's dependencies).
    fn needs(self) -> &'static [Hv] {
        match self {
            Hv::Synic => &[Hv::Vpindex],
            Hv::Stimer => &[Hv::Synic, Hv::Vpindex],
            Hv::Tlbflush | Hv::Ipi => &[Hv::Vpindex],
            Hv::Reenlightenment => &[Hv::Frequencies],
            Hv::Avic => &[Hv::Vapic],
            _ => &[],
        }
    }
}

/// What a host supports when its libvirt does not say: the Proxmox set, which every QEMU from
/// 4.1 with KVM accepts.
pub const PROXMOX_SET: [Hv; 11] = [
    Hv::Relaxed,
    Hv::Vapic,
    Hv::Spinlocks,
    Hv::Vpindex,
    Hv::Runtime,
    Hv::Synic,
    Hv::Stimer,
    Hv::Reset,
    Hv::Frequencies,
    Hv::Tlbflush,
    Hv::Ipi,
];

/// The enlightenments libvirt's domain capabilities list under `<features><hyperv>`; `None`
/// when the document says nothing about Hyper-V (libvirt before 9.0, or QEMU before 8.0).
pub fn supported_from_domcaps(xml: &str) -> Option<Vec<Hv>> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let hv = doc.descendants().find(|n| {
        n.has_tag_name("hyperv") && n.parent().is_some_and(|p| p.has_tag_name("features"))
    })?;
    if hv.attribute("supported") != Some("yes") {
        return Some(vec![]);
    }
    Some(
        hv.descendants()
            .filter(|n| n.has_tag_name("value"))
            .filter_map(|v| Hv::ALL.iter().copied().find(|h| Some(h.name()) == v.text()))
            .collect(),
    )
}

/// The enlightenments a Windows VM gets: every one Passage knows that the host supports
/// (`None`: the Proxmox set), without any whose prerequisites are missing.
pub fn windows_set(supported: Option<&[Hv]>) -> Vec<Hv> {
    let mut on: Vec<Hv> = match supported {
        Some(s) => Hv::ALL.iter().copied().filter(|h| s.contains(h)).collect(),
        None => PROXMOX_SET.to_vec(),
    };
    // Dropping one can strand another: repeat until nothing changes.
    loop {
        let before = on.len();
        let keep: Vec<Hv> = on
            .iter()
            .copied()
            .filter(|h| h.needs().iter().all(|n| on.contains(n)))
            .collect();
        on = keep;
        if on.len() == before {
            return on;
        }
    }
}

/// The serde default for specs written before the set was chosen: the Proxmox set.
pub fn default_set() -> Vec<Hv> {
    PROXMOX_SET.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMCAPS_8: &str = "<domainCapabilities><features><hyperv supported='yes'><enum name='features'><value>relaxed</value><value>vapic</value><value>spinlocks</value><value>vpindex</value><value>runtime</value><value>synic</value><value>stimer</value><value>reset</value><value>vendor_id</value><value>frequencies</value><value>reenlightenment</value><value>tlbflush</value><value>ipi</value><value>avic</value></enum></hyperv></features></domainCapabilities>";

    #[test]
    fn every_supported_enlightenment_is_taken() {
        let s = supported_from_domcaps(DOMCAPS_8).expect("listed");
        assert_eq!(s.len(), 13, "vendor_id is not an enlightenment");
        assert_eq!(windows_set(Some(&s)), Hv::ALL.to_vec());
    }

    #[test]
    fn without_domcaps_the_proxmox_set() {
        assert_eq!(supported_from_domcaps("<domainCapabilities/>"), None);
        assert_eq!(windows_set(None), PROXMOX_SET.to_vec());
        let no = "<domainCapabilities><features><hyperv supported='no'/></features></domainCapabilities>";
        assert_eq!(windows_set(supported_from_domcaps(no).as_deref()), vec![]);
    }

    #[test]
    fn an_enlightenment_without_its_prerequisites_is_left_out() {
        // No vpindex: synic, stimer, tlbflush and ipi cannot work.
        let s = [
            Hv::Relaxed,
            Hv::Vapic,
            Hv::Synic,
            Hv::Stimer,
            Hv::Ipi,
            Hv::Tlbflush,
            Hv::Avic,
        ];
        assert_eq!(
            windows_set(Some(&s)),
            vec![Hv::Relaxed, Hv::Vapic, Hv::Avic]
        );
        let s = [Hv::Vpindex, Hv::Stimer, Hv::Reenlightenment];
        assert_eq!(
            windows_set(Some(&s)),
            vec![Hv::Vpindex],
            "stimer needs synic"
        );
    }
}
