//! The wizard's draft (moved from the app with its tests): choices, refusals, the spec it
//! makes, and the device editor's whole-group rules, on the public tutorial's X570 host.

mod common;

use passage_core::host::{Host, PciAddress};
use passage_core::vm::devices::{
    extra_candidates, initial_selection, DeviceChoice, PassthroughEdit,
};
use passage_core::vm::draft::{BootItem, Choice, Draft};
use passage_core::Root;

fn host() -> (Host, tempfile::TempDir) {
    let d = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    (Host::scan(&Root::new(d.path()).expect("root")), d)
}

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn tutorial_draft(h: &Host) -> Draft {
    let mut d = Draft::new(h, initial_selection(h));
    for (k, v) in [
        (
            "install-iso",
            "/var/lib/libvirt/images/Win10_22H2_English_x64.iso",
        ),
        ("virtio-iso", "/var/lib/libvirt/images/virtio-win.iso"),
        ("memory-gib", "16"),
        ("vcpus", "12"),
        ("disk", "new:128"),
        ("name", "win10"),
    ] {
        d.set_text(h, k, v)
            .unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    d
}

#[test]
fn the_tutorials_gaming_vm_from_the_wizards_choices() {
    let (h, _d) = host();
    let mut d = tutorial_draft(&h);
    let group = d.gpu.as_ref().map(|s| s.group);
    let (nvme, _) = extra_candidates(&h, group)
        .into_iter()
        .find(|(a, _)| h.device(*a).is_some_and(|x| x.is_storage()))
        .expect("an NVMe drive that can go");
    d.set(&h, Choice::AddPci(nvme)).expect("nvme");
    let kbd = h.input_devices.first().cloned().expect("a keyboard");
    d.set(&h, Choice::AddEvdev(kbd.clone())).expect("evdev");
    // Boot from the NVMe drive first, then the ISO.
    d.set(&h, Choice::BootEarlier(BootItem::Pci(nvme)))
        .expect("up");
    d.set(&h, Choice::BootEarlier(BootItem::Pci(nvme)))
        .expect("up");
    let s = d.spec(&h).expect("a valid VM");
    assert_eq!(s.name, "win10");
    assert_eq!(s.memory_mib, 16 * 1024);
    assert_eq!(s.vcpus, 12);
    assert_eq!(
        s.pci.len(),
        5,
        "the card's four functions and the NVMe drive"
    );
    assert_eq!(
        s.pci
            .iter()
            .find(|p| p.address == nvme)
            .and_then(|p| p.boot_order),
        Some(1)
    );
    assert_eq!(s.cdroms.len(), 2);
    assert_eq!(s.cdroms[0].boot_order, Some(2));
    assert_eq!(s.disks[0].boot_order, Some(3));
    assert_eq!(s.evdev, vec![kbd]);
    // Review's summary counts the evdev keyboard as a keyboard, not as a USB device.
    assert_eq!(
        s.summary(),
        "win10: 16 GiB, 12 CPUs, 5 PCI devices, 0 USB devices, 1 keyboard, 2 discs"
    );
    let mut one = s.clone();
    one.pci.truncate(1);
    one.cdroms.truncate(1);
    one.evdev
        .push("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse".into());
    assert_eq!(
        one.summary(),
        "win10: 16 GiB, 12 CPUs, 1 PCI device, 0 USB devices, 1 keyboard, 1 mouse, 1 disc"
    );
    let xml = s.to_xml().expect("xml");
    assert!(
        xml.contains("Win10_22H2_English_x64.iso") && xml.contains("volume="),
        "{xml}"
    );
}

#[test]
fn the_network_and_the_display_are_chosen_in_the_name_step() {
    let (mut h, _d) = host();
    let mut d = tutorial_draft(&h);
    let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
    assert!(xml.contains("<interface type='network'>"), "{xml}");
    assert!(xml.contains("<graphics type='spice'"), "{xml}");

    d.set_text(&h, "network", "bridge:br0").expect("bridge");
    d.set_text(&h, "spice", "off").expect("no display");
    let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
    assert!(xml.contains("<source bridge='br0'/>"), "{xml}");
    assert!(!xml.contains("<graphics"), "{xml}");

    // A bridge's name may be typed a letter at a time; the spec names the field.
    d.set_text(&h, "network", "bridge:").expect("typing");
    let e = d.spec(&h).expect_err("no bridge name");
    assert_eq!(e.field, "network.bridge");
    d.set_text(&h, "network", "bridge:br0; rm -rf /")
        .expect("typing");
    assert_eq!(
        d.spec(&h).map(|_| ()).map_err(|e| e.field),
        Err("network.bridge".into())
    );

    d.set_text(&h, "network", "none").expect("no network");
    let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
    assert!(!xml.contains("<interface"), "{xml}");

    h.spice_module_missing = true;
    let e = d.set(&h, Choice::Spice(true)).expect_err("no module");
    assert!(e.to_string().contains("SPICE module"), "{e}");
    assert!(!d.spice);
}

#[test]
fn bad_choices_are_refused_with_the_reason_and_change_nothing() {
    let (h, _d) = host();
    let mut d = tutorial_draft(&h);
    let before = d.clone();
    for (k, v, says) in [
        ("memory-gib", "0", "between 1 GiB"),
        ("memory-gib", "lots", "whole number"),
        ("vcpus", "4096", "between 1 and"),
        ("disk", "file:relative.img", "full path"),
        ("disk", "new:0", "between 1 GiB"),
        ("pci-add", "0000:0d:00.0", "cannot go to the VM"),
        ("pci-add", "0d:00", "not a PCI address"),
        ("usb-add", "zz:1", "VVVV:PPPP"),
        ("evdev-add", "/dev/input/by-id/nope", "not a keyboard"),
        ("boot-up", "cdrom9", "not iso, disk or a PCI address"),
        ("boot-up", "0000:04:00.0", "not in the boot order"),
        ("frobnicate", "1", "no VM setting"),
        ("network", "wifi", "nat, bridge:NAME or none"),
        ("spice", "maybe", "say on or off"),
    ] {
        let e = d.set_text(&h, k, v).expect_err(k);
        assert!(e.to_string().contains(says), "{k}={v}: {e}");
        assert_eq!(e.field, k, "the error names the field");
    }
    assert_eq!(d, before);
    d.set_text(&h, "name", "bad name!")
        .expect("any text is kept while typing");
    let e = d.spec(&h).expect_err("an invalid name");
    assert_eq!(e.field, "name");
    assert!(e.to_string().contains("letters"), "{e}");
}

#[test]
fn without_a_card_the_spec_names_the_gpu() {
    let (h, _d) = host();
    let d = Draft::new(&h, None);
    let e = d.spec(&h).expect_err("no GPU");
    assert_eq!(e.field, "gpu");
    assert!(e.to_string().contains("Devices"), "{e}");
}

#[test]
fn the_device_editor_moves_whole_groups_and_refuses_half_ones() {
    let (h, _d) = host();
    let d = tutorial_draft(&h);
    let xml = d.spec(&h).expect("spec").to_xml().expect("xml");
    let mut e = PassthroughEdit::from_xml(&xml).expect("import");
    assert_eq!(e.name, "win10");
    assert_eq!(e.pci.len(), 4, "the card's group");
    // Half of the card's group is refused, naming what would be left out.
    e.set(&h, DeviceChoice::RemovePci(a("0000:0a:00.1")))
        .expect("taken");
    let why = e.edited_xml(&h).expect_err("half a group").to_string();
    assert!(
        why.contains("group 28") && why.contains("0000:0a:00.1"),
        "{why}"
    );
    e.set(&h, DeviceChoice::RemoveGroup(28)).expect("remove");
    assert!(e.pci.is_empty());
    e.set(&h, DeviceChoice::AddPci(a("0000:04:00.0")))
        .expect("nvme");
    e.set(&h, DeviceChoice::AddUsb(0x046d, 0xc52b))
        .expect("usb");
    // The host's display card and a group the host needs cannot be added.
    let no = e.set(&h, DeviceChoice::AddGroup(31)).expect_err("31");
    assert!(no.to_string().contains("screen"), "{no}");
    let needed = h
        .iommu_groups
        .iter()
        .find(|g| {
            !g.viable
                && !g
                    .devices
                    .iter()
                    .any(|d| h.device(*d).is_some_and(|x| x.is_gpu()))
        })
        .expect("a group the host needs");
    let no = e
        .set(&h, DeviceChoice::AddGroup(needed.id))
        .expect_err("needed");
    assert!(no.to_string().contains("cannot go to a VM"), "{no}");
    let before = e.pci.clone();
    e.set(&h, DeviceChoice::AddPci(needed.devices[0]))
        .expect("taken, judged at save");
    assert!(
        e.edited_xml(&h).is_err(),
        "a device of a needed group is refused at save"
    );
    e.pci = before;
    let out = e.edited_xml(&h).expect("edited");
    assert!(
        out.contains("bus='0x04'") && !out.contains("bus='0x0a'"),
        "{out}"
    );
    assert!(out.contains("0xc52b"), "{out}");
    assert!(out.contains("Win10_22H2_English_x64.iso"), "the rest stays");
    // The NVMe drive takes the root port the card left: function 0, slot 0.
    let dom = passage_core::vm::Domain::read(&out).expect("read");
    let nvme = dom
        .hostdevs
        .iter()
        .find(|h| h.host == Some(a("0000:04:00.0")))
        .expect("nvme");
    assert!(matches!(
        nvme.guest,
        passage_core::vm::domain::GuestAddress::Pci(g) if g.slot == 0 && g.function == 0
    ));
}

#[test]
fn device_choices_parse_once_from_text() {
    for (k, v, want) in [
        ("group-add", "28", DeviceChoice::AddGroup(28)),
        (
            "pci-remove",
            "0000:04:00.0",
            DeviceChoice::RemovePci(a("0000:04:00.0")),
        ),
        ("usb-add", "046d:c52b", DeviceChoice::AddUsb(0x046d, 0xc52b)),
    ] {
        assert_eq!(DeviceChoice::parse(k, v).expect(k), want);
    }
    for (k, v) in [
        ("group-add", "x"),
        ("pci-add", "4:0"),
        ("usb-add", "1"),
        ("nope", "1"),
    ] {
        assert!(DeviceChoice::parse(k, v).is_err(), "{k}={v}");
    }
}

#[test]
fn the_gpu_mode_chosen_in_the_wizard_is_what_libvirts_hook_reads() {
    use passage_core::vm::session::{session_request, GpuMode};
    let (h, _d) = host();
    let mut d = tutorial_draft(&h);
    for (k, v) in [("gpu-mode", "running"), ("isolate-cpus", "on")] {
        d.set_text(&h, k, v)
            .unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    assert!(d.set_text(&h, "gpu-mode", "sometimes").is_err());
    let spec = d.spec(&h).expect("spec");
    assert_eq!(spec.session.gpu_mode, GpuMode::WhileRunning);
    assert!(
        spec.session.hugepages,
        "hugepages are reserved at start in this mode"
    );
    let xml = spec.to_xml().expect("xml");
    passage_testkit::valid_domain(&xml);
    let req = session_request("win10", xml.as_bytes())
        .expect("read")
        .expect("a session VM");
    let group: Vec<PciAddress> = d
        .gpu
        .as_ref()
        .map(|s| s.devices.clone())
        .unwrap_or_default();
    assert!(
        group.iter().all(|a| req.devices.contains(a)),
        "{:?} in {:?}",
        group,
        req.devices
    );
    assert_eq!(req.hugepages.map(|h| h.0), Some(16 * 1024 * 1024));
    assert!(req.settings.isolate_cpus && !req.pinned_cpus.is_empty());
    // At boot (the default): the card is vfio-pci's already, so the hook takes no device,
    // but it still reserves the VM's hugepages at start (the wizard's default where there is
    // room) …
    d.set_text(&h, "gpu-mode", "boot").expect("boot");
    let xml = d.spec(&h).expect("spec").to_xml().expect("xml");
    assert!(session_request("win10", xml.as_bytes())
        .expect("read")
        .is_some_and(
            |r| r.devices.is_empty() && r.hugepages.map(|h| h.0) == Some(16 * 1024 * 1024)
        ));
    // … and with hugepages reserved at boot by Host setup, it has nothing to do.
    for (k, v) in [("hugepages", "boot"), ("isolate-cpus", "off")] {
        d.set_text(&h, k, v).expect("choice");
    }
    let xml = d.spec(&h).expect("spec").to_xml().expect("xml");
    assert!(session_request("win10", xml.as_bytes())
        .expect("read")
        .is_none());
}

/// Every VM the wizard makes has the QEMU guest agent's channel (libvirt picks the socket and
/// adds the virtio-serial controller), and libvirt's schema takes it.
#[test]
fn every_new_vm_has_the_guest_agent_channel_and_validates() {
    let (h, _d) = host();
    for spice in ["on", "off"] {
        let mut d = tutorial_draft(&h);
        d.set_text(&h, "spice", spice).expect("display");
        let xml = d.spec(&h).expect("valid").to_xml().expect("xml");
        assert!(
            xml.contains("<channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>"),
            "{xml}"
        );
        let dom = passage_core::vm::Domain::read(&xml).expect("reads");
        assert_eq!(
            dom.guest_agent,
            passage_core::vm::domain::GuestAgent::Unknown
        );
        assert!(common::validates(&xml), "libvirt's schema: {xml}");
    }
}

/// The wizard's ROM choices: a ROM file is read and walked when the VM is made (legacy only,
/// behind a dump tool's header, or missing: refused with why, on the PCI step), named in the
/// card's `<rom>` where the helper places it; the ROM BAR off writes `<rom bar='off'/>` and no file. Each result passes
/// libvirt's schema.
#[test]
fn the_cards_rom_file_and_rom_bar_from_the_wizard() {
    use passage_fixtures::rom;
    let (h, _d) = host();
    let mut d = tutorial_draft(&h);
    let dir = tempfile::tempdir().expect("tmp");
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("rom");
        p.to_string_lossy().into_owned()
    };
    let good = rom::legacy_and_uefi();
    for (f, says) in [
        (file("legacy.rom", &rom::legacy_only()), "no UEFI image"),
        (
            file("nvflash.rom", &rom::nvidia_header(&good)),
            "before its first image",
        ),
        (
            dir.path().join("gone.rom").display().to_string(),
            "cannot read",
        ),
    ] {
        d.set_text(&h, "rom-file", &f).expect("typed");
        let e = d.domain_xml(&h).expect_err(&f);
        assert!(e.why.contains(says), "{f}: {}", e.why);
        assert_eq!(e.field, "rom");
    }
    d.set_text(&h, "rom-file", "").expect("the card's own");
    let plain = d.domain_xml(&h).expect("xml");
    assert!(!plain.contains("<rom"), "{plain}");

    let card = file("card.rom", &good);
    d.set_text(&h, "rom-file", &card).expect("a good ROM");
    let placed = passage_core::plan::rom::placed_path(&card, &good);
    let x = d.domain_xml(&h).expect("xml");
    assert!(x.contains(&format!("<rom file='{placed}'/>")), "{x}");
    assert_eq!(x.matches("<rom").count(), 1, "{x}");
    passage_testkit::valid_domain(&x);
    assert_eq!(d.rom().expect("rom").map(|f| f.bytes), Some(good));

    d.set_text(&h, "rom-bar", "off").expect("bar");
    let x = d.domain_xml(&h).expect("xml");
    assert!(
        x.contains("<rom bar='off'/>") && !x.contains("<rom file"),
        "{x}"
    );
    passage_testkit::valid_domain(&x);
    assert_eq!(
        d.rom().expect("rom"),
        None,
        "nothing to place with the BAR off"
    );
}

/// Looking Glass from the wizard: the monitor's shared memory (64 MiB at 1440p, 256 MiB at 4K
/// HDR) on /dev/shm or kvmfr, written by the same editor as `vm edit --looking-glass`; each
/// result passes libvirt's schema; off writes none.
#[test]
fn looking_glass_from_the_wizard() {
    use passage_core::vm::looking_glass::Backing;
    let (h, _d) = host();
    let mut d = tutorial_draft(&h);
    assert!(!d.domain_xml(&h).expect("xml").contains("looking-glass"));
    d.set_text(&h, "looking-glass", "2560x1440").expect("1440p");
    let x = d.domain_xml(&h).expect("xml");
    assert!(x.contains("<shmem name='looking-glass'>"), "{x}");
    assert!(x.contains("<size unit='M'>64</size>"), "{x}");
    passage_testkit::valid_domain(&x);
    d.set_text(&h, "looking-glass", "3840x2160:hdr")
        .expect("4K HDR");
    d.lg_backing = Backing::Kvmfr;
    let x = d.domain_xml(&h).expect("xml");
    assert!(
        x.contains("/dev/kvmfr0") && x.contains(&(256u64 << 20).to_string()),
        "{x}"
    );
    passage_testkit::valid_domain(&x);
    d.set_text(&h, "looking-glass", "off").expect("off");
    assert!(!d.domain_xml(&h).expect("xml").contains("looking-glass"));
    assert!(d.set_text(&h, "looking-glass", "big").is_err());
}
