//! The device editor on domains Passage did not write: libvirt's own test data and what
//! virt-install writes (tests/data/libvirt/README.md says where each comes from). Each edit is
//! checked against libvirt's rules, not against one expected text: only host devices and the
//! root ports Passage adds change, kept devices keep every byte, a card's functions share a
//! guest slot from function 0, PCIe machines get root ports and PCI machines none, and the
//! result passes libvirt's schema.

mod common;

use common::{only_passthrough_changed, valid};
use passage_core::host::PciAddress;
use passage_core::vm::domain::{Domain, GuestAddress, GuestPci};
use passage_core::vm::edit::{apply, bus_kind, Bus, Changes, UsbRef, PORT_ALIAS};

const DOMAINS: &[(&str, &str)] = &[
    (
        "hostdev-pci-multifunction",
        include_str!("data/libvirt/hostdev-pci-multifunction.xml"),
    ),
    ("pci-rom", include_str!("data/libvirt/pci-rom.xml")),
    (
        "hostdev-vfio-multidomain",
        include_str!("data/libvirt/hostdev-vfio-multidomain.xml"),
    ),
    (
        "hostdev-usb-address",
        include_str!("data/libvirt/hostdev-usb-address.xml"),
    ),
    (
        "net-virtio-teaming-hostdev",
        include_str!("data/libvirt/net-virtio-teaming-hostdev.xml"),
    ),
    (
        "hostdev-pci-address-unassigned",
        include_str!("data/libvirt/hostdev-pci-address-unassigned.xml"),
    ),
    (
        "q35-virt-manager-basic",
        include_str!("data/libvirt/q35-virt-manager-basic.x86_64-latest.xml"),
    ),
    (
        "q35-pcie",
        include_str!("data/libvirt/q35-pcie.x86_64-latest.xml"),
    ),
    (
        "net-hostdev-bootorder",
        include_str!("data/libvirt/net-hostdev-bootorder.xml"),
    ),
    (
        "virt-install-kvm-win10",
        include_str!("data/libvirt/virt-install-kvm-win10.xml"),
    ),
    (
        "seed-004-two-gpus",
        include_str!("data/seed-004-two-gpus.xml"),
    ),
    (
        "genid-active",
        include_str!("data/libvirt/genid-active.x86_64-latest.xml"),
    ),
    (
        "virt-install-1.0-kvm-win2k3",
        include_str!("data/libvirt/virt-install-1.0-kvm-win2k3.xml"),
    ),
    (
        "pcie-root-port-nohotplug",
        include_str!("data/libvirt/pcie-root-port-nohotplug.x86_64-latest.xml"),
    ),
    (
        "x86_64-q35-graphics",
        include_str!("data/libvirt/x86_64-q35-graphics.x86_64-latest.xml"),
    ),
    (
        "user-kvm-passthrough-win10",
        include_str!("data/users/kvm-passthrough-win10.xml"),
    ),
    (
        "user-vfio-kvm-win10-gaming",
        include_str!("data/users/vfio-kvm-win10-gaming.xml"),
    ),
];

/// Domains with spare empty root ports (virt-manager adds them for hot-plug).
const SPARE_PORTS: &[&str] = &[
    "q35-virt-manager-basic",
    "pcie-root-port-nohotplug",
    "x86_64-q35-graphics",
    "user-kvm-passthrough-win10",
    "user-vfio-kvm-win10-gaming",
];

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn domain(name: &str) -> &'static str {
    DOMAINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, x)| *x)
        .expect("fixture")
}

fn add(addrs: &[&str]) -> Changes {
    Changes {
        add_pci: addrs.iter().map(|s| a(s)).collect(),
        ..Default::default()
    }
}

fn remove(addrs: &[&str]) -> Changes {
    Changes {
        remove_pci: addrs.iter().map(|s| a(s)).collect(),
        ..Default::default()
    }
}

fn guest_of(d: &Domain, host: &str) -> GuestAddress {
    d.hostdevs
        .iter()
        .find(|h| h.host == Some(a(host)))
        .map(|h| h.guest.clone())
        .unwrap_or_else(|| panic!("{host} is not in the domain"))
}

fn pci_guest(d: &Domain, host: &str) -> GuestPci {
    match guest_of(d, host) {
        GuestAddress::Pci(g) => g,
        other => panic!("{host} has no guest PCI address: {other:?}"),
    }
}

/// The text of every `<hostdev>` element in a document.
fn hostdev_texts(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("xml");
    doc.descendants()
        .filter(|n| n.has_tag_name("hostdev"))
        .map(|n| xml[n.range()].to_string())
        .collect()
}

#[test]
fn a_card_added_to_any_domain_lands_by_libvirts_rules_and_comes_out_again() {
    for (name, xml) in DOMAINS {
        let before = Domain::read(xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = bus_kind(&before).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = apply(xml, &add(&["0000:0a:00.0", "0000:0a:00.1"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        valid(&out);
        only_passthrough_changed(xml, &out);
        for kept in hostdev_texts(xml) {
            assert!(
                out.contains(&kept),
                "{name}: a kept device changed:\n{kept}"
            );
        }
        let after = Domain::read(&out).expect("read back");
        let (g0, g1) = (
            pci_guest(&after, "0000:0a:00.0"),
            pci_guest(&after, "0000:0a:00.1"),
        );
        assert!(
            g0.same_slot(&g1),
            "{name}: the card's functions share a slot"
        );
        assert_eq!((g0.function, g1.function), (0, 1), "{name}");
        assert_eq!(g0.multifunction, Some(true), "{name}");
        assert!(
            !before.used_pci().iter().any(|u| u.same_slot(&g0)),
            "{name}: the slot was free"
        );
        match kind {
            Bus::Pcie => {
                let port = after
                    .pci_controllers
                    .iter()
                    .find(|c| c.index == g0.bus)
                    .unwrap_or_else(|| panic!("{name}: the card's bus is a controller"));
                assert_eq!(port.model.as_deref(), Some("pcie-root-port"), "{name}");
                assert_eq!(g0.slot, 0, "{name}: a root port has one slot");
            }
            Bus::Pci => {
                assert_eq!(g0.bus, 0, "{name}: on the PCI root bus");
                assert!(g0.slot >= 3, "{name}: slots 0-2 are libvirt's");
                assert_eq!(
                    out.matches("pcie-root-port").count(),
                    xml.matches("pcie-root-port").count(),
                    "{name}: no root port on a PCI machine"
                );
            }
        }
        // Taking the card out again gives back the domain byte for byte.
        let back = apply(&out, &remove(&["0000:0a:00.0", "0000:0a:00.1"]))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, *xml, "{name}: add then remove is no change");
    }
}

#[test]
fn a_lone_function_is_function_0_of_its_guest_slot() {
    for name in ["q35-virt-manager-basic", "hostdev-pci-multifunction"] {
        let out = apply(domain(name), &add(&["0000:0b:00.1"])).expect("add");
        valid(&out);
        let g = pci_guest(&Domain::read(&out).expect("read"), "0000:0b:00.1");
        assert_eq!(g.function, 0, "{name}: not the host's function 1");
        assert_eq!(g.multifunction, None, "{name}");
    }
}

#[test]
fn q35_takes_an_empty_root_port_first_then_adds_its_own_and_removes_it_with_its_device() {
    let xml = domain("q35-virt-manager-basic");
    let one = apply(xml, &add(&["0000:0a:00.0", "0000:0a:00.1"])).expect("first");
    assert_eq!(
        pci_guest(&Domain::read(&one).expect("read"), "0000:0a:00.0").bus,
        6,
        "virt-manager's empty port 6"
    );
    assert_eq!(
        one.matches("<controller type='pci'").count(),
        7,
        "none added"
    );
    let two = apply(&one, &add(&["0000:0c:00.0"])).expect("second");
    valid(&two);
    let d = Domain::read(&two).expect("read");
    let g = pci_guest(&d, "0000:0c:00.0");
    assert_eq!(g.bus, 7, "a new port above the highest index");
    let port = d
        .pci_controllers
        .iter()
        .find(|c| c.index == 7)
        .expect("port 7");
    assert_eq!(port.alias.as_deref(), Some(&*format!("{PORT_ALIAS}7")));
    // The port goes with its device; virt-manager's port 6 stays when its card goes.
    let back = apply(&two, &remove(&["0000:0c:00.0"])).expect("remove");
    assert_eq!(back, one);
    let none = apply(&one, &remove(&["0000:0a:00.0", "0000:0a:00.1"])).expect("remove");
    assert_eq!(none, xml);
    // Swapping a card for another in one edit reuses the port the first one leaves.
    let swap = apply(
        &two,
        &Changes {
            add_pci: vec![a("0000:0d:00.0")],
            remove_pci: vec![a("0000:0c:00.0")],
            ..Default::default()
        },
    )
    .expect("swap");
    valid(&swap);
    assert_eq!(
        pci_guest(&Domain::read(&swap).expect("read"), "0000:0d:00.0").bus,
        7
    );
    assert_eq!(swap.matches(PORT_ALIAS).count(), 1);
}

/// The empty `pcie-root-port`s of a domain.
fn empty_ports(d: &Domain) -> Vec<u32> {
    d.pci_controllers
        .iter()
        .filter(|c| c.model.as_deref() == Some("pcie-root-port"))
        .map(|c| c.index)
        .filter(|i| !d.used_pci().iter().any(|u| u.bus == *i))
        .collect()
}

/// The text of every `<controller>` of a document.
fn controller_texts(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("xml");
    doc.descendants()
        .filter(|n| n.has_tag_name("controller"))
        .map(|n| xml[n.range()].to_string())
        .collect()
}

fn every_controller_kept(name: &str, before: &str, after: &str) {
    for c in controller_texts(before) {
        assert!(after.contains(&c), "{name}: a controller changed:\n{c}");
    }
}

#[test]
fn spare_root_ports_stay_byte_for_byte_and_only_the_ports_passage_records_go() {
    for name in SPARE_PORTS {
        let xml = domain(name);
        let d = Domain::read(xml).expect("read");
        let spare = empty_ports(&d);
        assert!(!spare.is_empty(), "{name}: has spare ports");
        assert!(d.passage_ports().is_empty(), "{name}");
        // Cards for every spare port and two more, which need ports of Passage's own.
        let cards: Vec<String> = (0..spare.len() + 2)
            .map(|i| format!("0000:{:02x}:00.0", 0x40 + i))
            .collect();
        let cards: Vec<&str> = cards.iter().map(String::as_str).collect();
        let out = apply(xml, &add(&cards)).unwrap_or_else(|e| panic!("{name}: {e}"));
        valid(&out);
        only_passthrough_changed(xml, &out);
        every_controller_kept(name, xml, &out);
        let after = Domain::read(&out).expect("read back");
        let ours = after.passage_ports();
        assert_eq!(ours.len(), 2, "{name}: the two new ports are recorded");
        for i in &ours {
            assert!(
                !d.pci_controllers.iter().any(|c| c.index == *i),
                "{name}: only new ports are recorded, not the user's {i}"
            );
        }
        // Session settings written in between keep the record.
        let out = set_session(&out, &running(), None).expect("session");
        assert_eq!(Domain::read(&out).expect("read").passage_ports(), ours);
        // Cards out one by one: the user's ports stay, Passage's go with their card.
        let mut now = out;
        for (k, card) in cards.iter().enumerate() {
            now = apply(&now, &remove(&[card])).unwrap_or_else(|e| panic!("{name}: {e}"));
            valid(&now);
            every_controller_kept(name, xml, &now);
            let left = Domain::read(&now).expect("read");
            let ports = left
                .pci_controllers
                .iter()
                .filter(|c| c.model.as_deref() == Some("pcie-root-port"))
                .count();
            let gone = k.saturating_sub(spare.len() - 1);
            assert_eq!(
                ports,
                d.pci_controllers
                    .iter()
                    .filter(|c| c.model.as_deref() == Some("pcie-root-port"))
                    .count()
                    + 2
                    - gone,
                "{name}: after card {k}"
            );
            assert_eq!(left.passage_ports().len(), 2 - gone, "{name}: records");
        }
        // All out: the domain as it was but for the session settings.
        assert_eq!(now, set_session(xml, &running(), None).expect("session"));
        // The domain's own devices out: every port stays.
        let own = Changes {
            remove_pci: d.host_pci(),
            ..Default::default()
        };
        let bare = apply(xml, &own).unwrap_or_else(|e| panic!("{name}: {e}"));
        valid(&bare);
        every_controller_kept(name, xml, &bare);
    }
}

fn running() -> passage_core::vm::session::SessionSettings {
    passage_core::vm::session::SessionSettings {
        gpu_mode: passage_core::vm::session::GpuMode::WhileRunning,
        hugepages: false,
        isolate_cpus: false,
    }
}

use passage_core::vm::session_edit::set_session;

/// A domain an older Passage edited carries its port (alias `ua-passage-port-N`) with no
/// record: whose the port is cannot be told, so it stays when its card goes.
#[test]
fn a_port_no_record_names_stays_when_its_card_goes() {
    let xml = domain("q35-virt-manager-basic");
    let one = apply(xml, &add(&["0000:0a:00.0"])).expect("spare port 6");
    let two = apply(&one, &add(&["0000:0c:00.0"])).expect("port 7");
    assert_eq!(Domain::read(&two).expect("read").passage_ports(), [7]);
    // What an older Passage wrote: the same port and alias, no metadata.
    let (m0, m1) = (
        two.find("  <metadata>").expect("metadata"),
        two.find("</metadata>\n").expect("end") + "</metadata>\n".len(),
    );
    let older = format!("{}{}", &two[..m0], &two[m1..]);
    assert!(!older.contains("metadata"), "{older}");
    let port = controller_texts(&older)
        .into_iter()
        .find(|c| c.contains(PORT_ALIAS))
        .expect("the older Passage's port");
    let out = apply(&older, &remove(&["0000:0c:00.0"])).expect("remove");
    valid(&out);
    assert!(out.contains(&port), "the port stays:\n{out}");
    every_controller_kept("older", &older, &out);
    // Its record written back: the port goes with its card.
    let back = apply(&two, &remove(&["0000:0c:00.0"])).expect("remove");
    assert!(!back.contains(&port));
    assert_eq!(back, one);
}

#[test]
fn a_q35_domain_without_controllers_gets_root_ports_from_index_1() {
    let xml = domain("virt-install-kvm-win10");
    let out = apply(xml, &add(&["0000:0a:00.0", "0000:0a:00.1", "0000:04:00.0"])).expect("add");
    valid(&out);
    let d = Domain::read(&out).expect("read");
    assert_eq!(pci_guest(&d, "0000:04:00.0").bus, 1);
    assert_eq!(pci_guest(&d, "0000:0a:00.0").bus, 2);
    assert_eq!(out.matches("model='pcie-root-port'").count(), 2);
    // Its double quotes and memory without a unit are read as libvirt reads them.
    assert_eq!(d.memory_mib, Some(64), "65536 KiB");
    assert_eq!(d.machine.as_deref(), Some("q35"));
}

#[test]
fn a_pc_machine_gets_the_first_free_slot_and_no_root_port() {
    let xml = domain("hostdev-pci-multifunction");
    let d = Domain::read(xml).expect("read");
    assert_eq!(bus_kind(&d).expect("kind"), Bus::Pci);
    let out = apply(xml, &add(&["0000:0a:00.0"])).expect("add");
    let g = pci_guest(&Domain::read(&out).expect("read"), "0000:0a:00.0");
    // Slots 1-9 are taken (the PIIX3 at 1, hostdevs 2-8, the balloon at 9).
    assert_eq!((g.bus, g.slot, g.function), (0, 10, 0));
    assert!(!out.contains("pcie-root-port"));
}

#[test]
fn a_function_whose_card_the_vm_has_joins_its_slot() {
    // 0005:90:01.0 sits on guest slot 2 alone; its function 1 joins it.
    let xml = domain("hostdev-pci-multifunction");
    let out = apply(xml, &add(&["0005:90:01.1"])).expect("add");
    valid(&out);
    only_passthrough_changed(xml, &out);
    let d = Domain::read(&out).expect("read");
    let (zero, one) = (pci_guest(&d, "0005:90:01.0"), pci_guest(&d, "0005:90:01.1"));
    assert!(zero.same_slot(&one));
    assert_eq!((zero.function, one.function), (0, 1));
    assert_eq!(
        zero.multifunction,
        Some(true),
        "function 0 says multifunction"
    );
    assert!(out.contains(
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>"
    ));
}

#[test]
fn removing_function_0_under_a_kept_function_is_refused() {
    let xml = domain("q35-virt-manager-basic");
    let out = apply(xml, &add(&["0000:0a:00.0", "0000:0a:00.1"])).expect("add");
    let e = apply(&out, &remove(&["0000:0a:00.0"])).expect_err("hides .1");
    assert!(e.to_string().contains("0000:0a:00.1"), "{e}");
    assert!(e.to_string().contains("function 0"), "{e}");
}

#[test]
fn addresses_are_read_as_libvirt_reads_them() {
    // bus='222' slot='31' function='1': decimal, not hexadecimal.
    let d = Domain::read(domain("hostdev-vfio-multidomain")).expect("read");
    assert_eq!(d.host_pci(), vec![a("0021:de:1f.1")]);
    assert_eq!(guest_of(&d, "0021:de:1f.1"), GuestAddress::Auto);
    let out = apply(
        domain("hostdev-vfio-multidomain"),
        &remove(&["0021:de:1f.1"]),
    )
    .expect("rm");
    valid(&out);
    assert!(!out.contains("<hostdev"), "{out}");
    // A leading 0 is octal, as strtoul reads it.
    let octal = domain("hostdev-vfio-multidomain").replace("slot='31'", "slot='037'");
    assert_eq!(
        Domain::read(&octal).expect("read").host_pci(),
        vec![a("0021:de:1f.1")]
    );
}

#[test]
fn usb_devices_named_by_port_are_kept_and_removed_by_port() {
    let xml = domain("hostdev-usb-address");
    let d = Domain::read(xml).expect("read");
    assert_eq!(d.usb.len(), 1);
    assert_eq!((d.usb[0].bus, d.usb[0].device), (Some(14), Some(6)));
    assert_eq!(d.usb[0].id(), None);
    let added = apply(
        xml,
        &Changes {
            add_usb: vec![(0x046d, 0xc52b)],
            ..Default::default()
        },
    )
    .expect("add");
    valid(&added);
    only_passthrough_changed(xml, &added);
    assert!(added.contains("<address bus='14' device='6'/>"), "kept");
    assert_eq!(Domain::read(&added).expect("read").usb.len(), 2);
    let gone = apply(
        &added,
        &Changes {
            remove_usb: vec![UsbRef::Port(14, 6), UsbRef::Id(0x046d, 0xc52b)],
            ..Default::default()
        },
    )
    .expect("remove");
    valid(&gone);
    assert!(!gone.contains("<hostdev"));
}

#[test]
fn unassigned_devices_stay_unplugged() {
    let xml = domain("hostdev-pci-address-unassigned");
    let d = Domain::read(xml).expect("read");
    assert_eq!(guest_of(&d, "0005:90:01.1"), GuestAddress::Unassigned);
    let out = apply(xml, &add(&["0000:0a:00.0"])).expect("add");
    assert_eq!(
        guest_of(&Domain::read(&out).expect("read"), "0005:90:01.1"),
        GuestAddress::Unassigned
    );
    assert_eq!(out.matches("<address type='unassigned'/>").count(), 1);
}

#[test]
fn rom_boot_order_alias_and_teaming_survive_an_edit_and_go_with_their_device() {
    let xml = domain("pci-rom");
    let d = Domain::read(xml).expect("read");
    let rom = d.hostdevs[1].rom.clone().expect("rom");
    assert_eq!(rom.file.as_deref(), Some("/etc/fake/bootrom.bin"));
    assert_eq!(rom.bar.as_deref(), Some("on"));
    let out = apply(xml, &remove(&["0000:06:12.5"])).expect("remove");
    valid(&out);
    only_passthrough_changed(xml, &out);
    assert!(out.contains("<rom bar='on' file='/etc/fake/bootrom.bin'/>"));
    assert!(!out.contains("<rom bar='off'/>"), "went with its device");

    let xml = domain("net-virtio-teaming-hostdev");
    let out = apply(xml, &add(&["0000:0a:00.0"])).expect("add");
    assert_eq!(
        out.matches("<teaming type='transient' persistent=").count(),
        2
    );

    let xml = domain("net-hostdev-bootorder");
    let d = Domain::read(xml).expect("read");
    let net = d
        .hostdevs
        .iter()
        .find(|h| h.interface)
        .expect("interface hostdev");
    assert_eq!(net.boot_order, Some(1));
    let e = apply(xml, &remove(&[&net.host.expect("host").to_string()])).expect_err("a NIC");
    assert!(e.to_string().contains("interface"), "{e}");
}

#[test]
fn machines_passage_cannot_place_on_are_refused() {
    let xml = include_str!("data/libvirt/pseries-hostdevs-1.ppc64-latest.xml");
    let e = apply(xml, &add(&["0000:0a:00.0"])).expect_err("pseries");
    assert!(
        e.to_string().contains("only to x86") && e.to_string().contains("ppc64"),
        "the refusal names the architecture: {e}"
    );
    // An x86 machine Passage has no rule for is named.
    let isa = "<domain type='qemu'><name>isa</name><memory>65536</memory><os><type arch='x86_64' machine='isapc'>hvm</type></os><devices/></domain>";
    let e = apply(isa, &add(&["0000:0a:00.0"])).expect_err("isapc");
    assert!(e.to_string().contains("machine isapc"), "{e}");
    // Removing needs no placement.
    let d = Domain::read(xml).expect("read");
    let first = d
        .hostdevs
        .iter()
        .find(|h| !h.interface)
        .and_then(|h| h.host)
        .expect("a hostdev")
        .to_string();
    let out = apply(xml, &remove(&[&first])).expect("remove");
    only_passthrough_changed(xml, &out);
}

#[test]
fn memory_units_are_libvirts() {
    let base = domain("hostdev-pci-multifunction");
    assert_eq!(Domain::read(base).expect("read").memory_mib, Some(256));
    for (unit, value, mib) in [
        ("GiB", "16", 16384),
        ("G", "16", 16384),
        ("GB", "16", 15258),
        ("MB", "4096", 3906),
        ("MiB", "4096", 4096),
        ("bytes", "1073741824", 1024),
    ] {
        let xml = base.replace(
            "<memory unit='KiB'>262144</memory>",
            &format!("<memory unit='{unit}'>{value}</memory>"),
        );
        assert_eq!(
            Domain::read(&xml).expect("read").memory_mib,
            Some(mib),
            "{value} {unit}"
        );
    }
}

#[test]
#[should_panic(expected = "bytes outside host devices changed")]
fn the_checker_sees_a_change_outside_host_devices() {
    let xml = domain("pci-rom");
    only_passthrough_changed(xml, &xml.replace("219100", "219101"));
}

/// Passage's session settings (metadata and hugepages) on every domain: libvirt's schema still
/// holds. A running domain's XML (`id=` on `<domain>`, a `<genid>`) wants `<metadata>` after
/// its name, uuid and genid, where libvirt writes it, not right after the name.
#[test]
fn session_settings_keep_every_domain_valid_and_metadata_where_libvirt_puts_it() {
    use passage_core::vm::session::{GpuMode, SessionSettings};
    use passage_core::vm::session_edit::set_session;
    let s = SessionSettings {
        gpu_mode: GpuMode::WhileRunning,
        hugepages: true,
        isolate_cpus: false,
    };
    for (name, xml) in DOMAINS {
        let out = set_session(xml, &s, Some(true)).unwrap_or_else(|e| panic!("{name}: {e}"));
        valid(&out);
        let meta = out.find("<metadata>").expect("metadata");
        for leading in [
            "</name>",
            "</uuid>",
            "</genid>",
            "</title>",
            "</description>",
        ] {
            if let Some(at) = out.find(leading) {
                assert!(at < meta, "{name}: <metadata> before {leading}");
            }
        }
    }
}
