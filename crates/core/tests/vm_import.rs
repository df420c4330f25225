//! Importing a domain Passage did not write (the libvirt guide's two-GPU domain, seed 004) and
//! editing its passthrough devices: everything Passage does not model stays byte for byte.

mod common;

use common::valid;
use passage_core::host::PciAddress;
use passage_core::vm::import::{import, replace_passthrough};
use passage_core::vm::{PciPassthrough, UsbPassthrough};

const SEED: &str = include_str!("data/seed-004-two-gpus.xml");

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn pci(addrs: &[&str]) -> Vec<PciPassthrough> {
    addrs
        .iter()
        .map(|s| PciPassthrough {
            address: a(s),
            rom: None,
            boot_order: None,
        })
        .collect()
}

/// The document without its hostdev elements and the controllers Passage adds.
fn without_passthrough(xml: &str) -> String {
    xml.lines()
        .filter(|l| !l.contains("<controller type='pci' index=") || !l.contains("pcie-root-port"))
        .collect::<Vec<_>>()
        .join("\n")
        .split("<hostdev")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                part.split_once("</hostdev>")
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or_default()
            }
        })
        .collect::<String>()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn import_reads_what_passage_models() {
    let i = import(SEED).expect("import");
    assert_eq!(i.name, "Example");
    assert_eq!(i.memory_mib, Some(16 * 1024));
    assert_eq!(i.vcpus, Some(8));
    assert_eq!(i.domain_type, "kvm");
    let got: Vec<String> = i.pci.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(
        got,
        [
            "0000:01:00.0",
            "0000:01:00.1",
            "0000:02:00.0",
            "0000:02:00.1"
        ]
    );
    assert!(i.usb.is_empty() && i.cdroms.is_empty());
}

#[test]
fn re_exporting_the_same_devices_keeps_every_other_byte() {
    let i = import(SEED).expect("import");
    let out = replace_passthrough(SEED, &i.pci, &i.usb).expect("export");
    valid(&out);
    assert_eq!(
        without_passthrough(&out),
        without_passthrough(SEED),
        "everything else unchanged"
    );
    assert_eq!(import(&out).expect("again").pci, i.pci);
    // Comments, the bridge, SPICE on its address, the explicit loader: all still there.
    for kept in [
        "<!-- Attach a virtual disk image file to the VM -->",
        "<source bridge='VMBridge'/>",
        "<graphics type='spice' port='5902' listen='192.168.1.103'/>",
        "<target type='virtio' name='com.redhat.spice.0'/>",
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>",
        "<mac address='c6:f4:35:f8:98:c9'/>",
    ] {
        assert!(out.contains(kept), "{kept} lost");
    }
}

#[test]
fn swapping_the_gpu_and_adding_usb_changes_only_those_devices() {
    let new = pci(&["0a:00.0", "0a:00.1", "0a:00.2", "0a:00.3"]);
    let usb = [UsbPassthrough {
        vendor: 0x1b1c,
        product: 0x1b2d,
    }];
    let out = replace_passthrough(SEED, &new, &usb).expect("edit");
    valid(&out);
    assert_eq!(without_passthrough(&out), without_passthrough(SEED));
    let back = import(&out).expect("import");
    assert_eq!(back.pci, new);
    assert_eq!(back.usb, usb);
    // The old GPUs are gone: neither their host addresses nor their guest buses remain.
    assert!(
        !out.contains("<address domain='0x0000' bus='0x01'")
            && !out.contains("<address domain='0x0000' bus='0x02'"),
        "{out}"
    );
    assert!(
        !out.contains("bus='0x06'") && !out.contains("bus='0x07'"),
        "{out}"
    );
    // One new root port above the domain's controllers, the card's functions together on it.
    assert_eq!(out.matches("model='pcie-root-port'").count(), 1);
    assert!(out.contains("<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' multifunction='on'/>"), "{out}");
    assert!(out.contains("startupPolicy='optional'><vendor id='0x1b1c'/><product id='0x1b2d'/>"));
    // Removing every device leaves a valid domain.
    let none = replace_passthrough(SEED, &[], &[]).expect("none");
    valid(&none);
    assert!(!none.contains("<hostdev"));
    assert_eq!(without_passthrough(&none), without_passthrough(SEED));
}

#[test]
fn broken_documents_are_refused_with_the_reason() {
    for (bad, why) in [
        ("<domain><name>x</name>", "not a domain Passage can read"),
        ("<network/>", "is not a <domain>"),
        ("<domain type='kvm'/>", "no <name>"),
    ] {
        let e = import(bad).expect_err(bad).to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    let e = replace_passthrough("<domain><name>x</name></domain>", &[], &[])
        .expect_err("no devices")
        .to_string();
    assert!(e.contains("no <devices>"), "{e}");
}
