//! Importing a domain Passage did not write (the libvirt guide's two-GPU domain, seed 004) and
//! editing its passthrough devices: everything Passage does not model stays byte for byte.

mod common;

use common::valid;
use passage_core::host::PciAddress;
use passage_core::vm::edit::{apply, Changes, UsbRef};
use passage_core::vm::import::import;
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
fn an_edit_that_changes_nothing_keeps_every_byte() {
    let i = import(SEED).expect("import");
    let same = Changes {
        add_pci: i.pci.iter().map(|p| p.address).collect(),
        ..Default::default()
    };
    let out = apply(SEED, &same).expect("export");
    assert_eq!(out, SEED);
    assert_eq!(import(&out).expect("again").pci, i.pci);
}

#[test]
fn swapping_the_gpus_and_adding_usb_changes_only_those_devices() {
    let new = pci(&["0a:00.0", "0a:00.1", "0a:00.2", "0a:00.3"]);
    let usb = [UsbPassthrough {
        vendor: 0x1b1c,
        product: 0x1b2d,
    }];
    let old: Vec<PciAddress> = import(SEED)
        .expect("import")
        .pci
        .iter()
        .map(|p| p.address)
        .collect();
    let out = apply(
        SEED,
        &Changes {
            add_pci: new.iter().map(|p| p.address).collect(),
            remove_pci: old.clone(),
            add_usb: vec![(0x1b1c, 0x1b2d)],
            remove_usb: vec![],
        },
    )
    .expect("edit");
    valid(&out);
    common::only_passthrough_changed(SEED, &out);
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
    // One new root port (the domain has no empty one), the card's functions together on it.
    assert_eq!(out.matches("model='pcie-root-port'").count(), 1);
    assert!(out.contains("<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0' multifunction='on'/>"), "{out}");
    assert!(out.contains("<vendor id='0x1b1c'/>") && out.contains("<product id='0x1b2d'/>"));
    // Removing every device leaves a valid domain, and the port Passage added goes too.
    let none = apply(
        &out,
        &Changes {
            remove_pci: new.iter().map(|p| p.address).collect(),
            remove_usb: vec![UsbRef::Id(0x1b1c, 0x1b2d)],
            ..Default::default()
        },
    )
    .expect("none");
    valid(&none);
    assert!(!none.contains("<hostdev") && !none.contains("pcie-root-port"));
    common::only_passthrough_changed(SEED, &none);
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
    let e = apply("<domain><name>x</name></domain>", &Changes::default())
        .expect_err("no devices")
        .to_string();
    assert!(e.contains("no <devices>"), "{e}");
}
