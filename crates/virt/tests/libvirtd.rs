//! Against a real libvirtd, private to the test: started as root in its own mount namespace
//! where /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt, /run/libvirt,
//! /etc/passwd and /etc/group are temp copies (with the libvirt-qemu user the QEMU driver
//! wants). The host's libvirt state is never touched; clients use the socket in the temp dir.

use passage_testkit::libvirtd::PrivateLibvirtd;
use std::process::Command;
use std::time::{Duration, Instant};

use passage_core::host::PciAddress;
use passage_core::vm::{DomainType, Firmware, PciPassthrough, UsbPassthrough, VmSpec};
use passage_virt::{Hypervisor, Libvirt};

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

/// The tutorial's gaming VM on its X570 board (the same builder as passage-core's VM tests).
fn gaming() -> VmSpec {
    let (host, _d) = passage_testkit::spec::x570();
    passage_testkit::spec::tutorial_gaming(&host)
}

#[test]
fn the_tutorials_gaming_vm_is_defined_and_reads_back_equivalent() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let xml = gaming().to_xml().expect("xml");
    assert_eq!(h.define(&xml).expect("define"), "win10-gaming");
    let back = h.xml("win10-gaming").expect("dumpxml");
    // What Passage asked for is what libvirt holds (libvirt adds addresses and defaults).
    for want in [
        "<hugepages/>",
        "<topology sockets='1' dies='1' cores='6' threads='2'/>",
        "<vcpupin vcpu='1' cpuset='18'/>",
        "<emulatorpin cpuset='0,12'/>",
        "<hidden state='on'/>",
        "<vendor_id state='on' value='passage'/>",
        "<feature enabled='yes' name='secure-boot'/>",
        "<feature enabled='yes' name='enrolled-keys'/>",
        "<smm state='on'/>",
        "<source file='/home/user/.iso/Win10_22H2_English_x64.iso'/>",
        "<vendor id='0x1b1c'/>",
        "<product id='0x0084'/>",
        "<passage:purpose>gaming</passage:purpose>",
        "<tpm model='tpm-crb'>",
    ] {
        assert!(back.contains(want), "{want} missing from\n{back}");
    }
    assert!(
        back.contains("<cpu mode='host-passthrough' check='partial'"),
        "{back}"
    );
    assert!(back.contains("<os firmware='efi'>"), "{back}");
    for f in 0..4 {
        assert!(
            back.contains(&format!(
                "<address domain='0x0000' bus='0x0a' slot='0x00' function='0x{f}'/>"
            )),
            "function {f}"
        );
    }
    // The GPU's functions share one guest slot, function 0 marked multifunction.
    assert!(back.contains("<address type='pci' domain='0x0000' bus='0x10' slot='0x00' function='0x0' multifunction='on'/>"), "{back}");
    for f in 1..4 {
        assert!(
            back.contains(&format!(
                "<address type='pci' domain='0x0000' bus='0x10' slot='0x00' function='0x{f}'/>"
            )),
            "guest function {f}"
        );
    }
    assert!(back.contains("<address domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>"));
    assert_eq!(
        h.list()
            .expect("list")
            .iter()
            .filter(|v| v.passage_purpose.as_deref() == Some("gaming"))
            .count(),
        1
    );
    h.undefine("win10-gaming").expect("undefine");
    assert!(h.list().expect("list").is_empty());
}

#[test]
fn a_software_emulated_vm_starts_and_reaches_the_ovmf_firmware() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let spec = VmSpec {
        name: "passage-tcg".into(),
        domain_type: DomainType::Qemu,
        memory_mib: 512,
        hugepages: false,
        vcpus: 1,
        topology: None,
        vcpu_pins: vec![],
        emulator_cpuset: None,
        tpm: false,
        pci: vec![],
        usb: vec![],
        cdroms: vec![],
        network: None,
        spice: false,
        kvm_hidden: false,
        hyperv_vendor_id: None,
        hyperv: passage_core::vm::tuning::windows_set(None),
        topoext: false,
        firmware: Firmware::Auto {
            secure_boot: false,
            enrolled_keys: false,
        },
        ..gaming()
    };
    let serial = d.dir.path().join("serial.log");
    // Instrumentation only: a serial port to read what the firmware prints.
    let xml = spec.to_xml().expect("xml").replace("  </devices>", &format!("    <serial type='file'>\n      <source path='{}'/>\n      <target port='0'/>\n    </serial>\n  </devices>", serial.display()));
    h.define(&xml).expect("define");
    h.start("passage-tcg").expect("start");
    assert!(h
        .list()
        .expect("list")
        .iter()
        .any(|v| v.name == "passage-tcg" && v.running));
    let start = Instant::now();
    let seen = loop {
        let log = std::fs::read(&serial)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if log.contains("UEFI") || log.contains("BdsDxe") {
            break log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "OVMF printed nothing in 2 minutes:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(seen.contains("EDK II") || seen.contains("BdsDxe"), "{seen}");
    h.destroy("passage-tcg").expect("destroy");
    assert!(h
        .list()
        .expect("list")
        .iter()
        .any(|v| v.name == "passage-tcg" && !v.running));
    h.undefine("passage-tcg").expect("undefine");
}

#[test]
fn an_imported_two_gpu_domain_keeps_everything_when_its_gpu_is_swapped() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let seed = include_str!("../../core/tests/data/seed-004-two-gpus.xml");
    assert_eq!(
        h.define(seed).expect("define the guide's domain"),
        "Example"
    );
    let held = h.xml("Example").expect("xml");
    let imported = passage_core::vm::import::import(&held).expect("import");
    assert_eq!(imported.pci.len(), 4);
    let new: Vec<PciPassthrough> = ["0a:00.0", "0a:00.1", "0a:00.2", "0a:00.3"]
        .iter()
        .map(|s| PciPassthrough {
            address: a(s),
            rom: None,
            boot_order: None,
        })
        .collect();
    let edited = passage_core::vm::edit::apply(
        &held,
        &passage_core::vm::edit::Changes {
            add_pci: new.iter().map(|p| p.address).collect(),
            remove_pci: imported.pci.iter().map(|p| p.address).collect(),
            add_usb: vec![(0x046d, 0xc52b)],
            remove_usb: vec![],
        },
    )
    .expect("edit");
    h.define(&edited).expect("redefine");
    let back = h.xml("Example").expect("xml");
    let again = passage_core::vm::import::import(&back).expect("import");
    assert_eq!(again.pci, new);
    assert_eq!(
        again.usb,
        [UsbPassthrough {
            vendor: 0x046d,
            product: 0xc52b
        }]
    );
    for kept in [
        "<source bridge='VMBridge'/>",
        "<mac address='c6:f4:35:f8:98:c9'/>",
        "listen='192.168.1.103'",
        "com.redhat.spice.0",
        "/usr/share/OVMF/OVMF_CODE.fd",
        "<hidden state='on'/>",
        "<model type='vga' vram='2097152' heads='1' primary='yes'/>",
    ] {
        assert!(back.contains(kept), "{kept} lost:\n{back}");
    }
    assert!(
        !back.contains("<address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>"),
        "the second GPU is gone"
    );
    h.undefine("Example").expect("undefine");
}

#[test]
fn libvirt_takes_the_device_editors_placement_on_its_own_test_domains() {
    // libvirt's own q35 (virt-manager's layout) and i440fx domains, a card added by the editor,
    // defined in a real libvirtd: libvirt keeps the guest slots and the root port's alias.
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let card = [a("0a:00.0"), a("0a:00.1")];
    for (file, xml) in [
        (
            "q35-virt-manager-basic",
            include_str!("../../core/tests/data/libvirt/q35-virt-manager-basic.x86_64-latest.xml"),
        ),
        (
            "hostdev-pci-multifunction",
            include_str!("../../core/tests/data/libvirt/hostdev-pci-multifunction.xml"),
        ),
    ] {
        let xml = xml.replace(" type='kvm'>", " type='qemu'>");
        let edited = passage_core::vm::edit::apply(
            &xml,
            &passage_core::vm::edit::Changes {
                add_pci: card.to_vec(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let name = h
            .define(&edited)
            .unwrap_or_else(|e| panic!("{file}: libvirt refused: {e}"));
        let held = passage_core::vm::Domain::read(&h.xml(&name).expect("xml")).expect("read");
        let mine = passage_core::vm::Domain::read(&edited).expect("read");
        for c in card {
            let guest = |d: &passage_core::vm::Domain| {
                d.hostdevs
                    .iter()
                    .find(|x| x.host == Some(c))
                    .map(|x| x.guest.clone())
            };
            assert_eq!(
                guest(&held),
                guest(&mine),
                "{file}: libvirt kept {c}'s slot"
            );
        }
        // A second card on q35 gets a port of Passage's, which libvirt keeps with its alias and
        // its record.
        if file.starts_with("q35") {
            let more = passage_core::vm::edit::apply(
                &h.xml(&name).expect("xml"),
                &passage_core::vm::edit::Changes {
                    add_pci: vec![a("0c:00.0")],
                    ..Default::default()
                },
            )
            .expect("second card");
            h.define(&more).expect("libvirt takes Passage's root port");
            let back = h.xml(&name).expect("xml");
            assert!(back.contains("<alias name='ua-passage-port-7'/>"), "{back}");
            assert_eq!(
                passage_core::vm::Domain::read(&back)
                    .expect("read")
                    .passage_ports(),
                [7],
                "libvirt keeps the port's record in Passage's metadata"
            );
            let gone = passage_core::vm::edit::apply(
                &back,
                &passage_core::vm::edit::Changes {
                    remove_pci: vec![a("0c:00.0")],
                    ..Default::default()
                },
            )
            .expect("remove");
            assert!(
                !gone.contains("ua-passage-port-7"),
                "the port went with its card"
            );
            h.define(&gone).expect("redefine");
        }
        h.undefine(&name).expect("undefine");
    }
}

#[test]
fn disk_images_are_created_in_a_pool_with_progress() {
    use passage_virt::VolumeFormat;
    use std::os::unix::fs::MetadataExt;
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let images = d.dir.path().join("images");
    h.ensure_pool("passage-test", images.to_str().expect("utf8"))
        .expect("pool");
    h.ensure_pool("passage-test", images.to_str().expect("utf8"))
        .expect("again: nothing to do");
    let pool = h
        .pools()
        .expect("pools")
        .into_iter()
        .find(|p| p.name == "passage-test")
        .expect("listed");
    assert!(pool.active && pool.available > 0);

    let q = h
        .create_volume(
            "passage-test",
            "win10.qcow2",
            64 << 20,
            VolumeFormat::Qcow2,
            &mut |_, _| {},
        )
        .expect("qcow2");
    let head = std::fs::read(&q).expect("read");
    assert_eq!(&head[..4], b"QFI\xfb", "a qcow2 image");
    let mut seen = Vec::new();
    let r = h
        .create_volume(
            "passage-test",
            "ml.raw",
            16 << 20,
            VolumeFormat::RawPreallocated,
            &mut |a, b| seen.push((a, b)),
        )
        .expect("raw");
    let m = std::fs::metadata(&r).expect("meta");
    assert_eq!(m.len(), 16 << 20);
    assert!(
        m.blocks() * 512 >= 16 << 20,
        "fully allocated: {} blocks",
        m.blocks()
    );
    assert_eq!(
        seen.last(),
        Some(&(16 << 20, 16 << 20)),
        "progress ends at 100 %"
    );

    let e = h
        .create_volume(
            "passage-test",
            "huge.raw",
            pool.available + (1 << 30),
            VolumeFormat::RawPreallocated,
            &mut |_, _| {},
        )
        .expect_err("too big")
        .to_string();
    assert!(
        e.contains("does not fit") && e.contains("passage-test"),
        "{e}"
    );
    let e = h
        .create_volume(
            "passage-test",
            "../escape",
            1 << 20,
            VolumeFormat::Qcow2,
            &mut |_, _| {},
        )
        .expect_err("bad name")
        .to_string();
    assert!(e.contains("not a volume name"), "{e}");
    h.delete_volume("passage-test", "ml.raw").expect("delete");
    assert!(!std::path::Path::new(&r).exists());
    // A VM's disk deleted with it, by the path its domain names; a file outside every pool
    // is not libvirt's to delete, and is left.
    h.delete_image(&q).expect("delete by path");
    assert!(!std::path::Path::new(&q).exists());
    let outside = d.dir.path().join("outside.img");
    std::fs::write(&outside, "x").expect("write");
    let e = h
        .delete_image(outside.to_str().expect("utf8"))
        .expect_err("not libvirt's")
        .to_string();
    assert!(e.contains("in none of libvirt's storage pools"), "{e}");
    assert!(outside.exists());
    assert!(h
        .delete_volume("passage-test", "ml.raw")
        .expect_err("gone")
        .to_string()
        .contains("no disk"));
}

#[test]
fn a_qcow2_overlay_on_a_base_image() {
    use passage_virt::VolumeFormat;
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let images = d.dir.path().join("images");
    h.ensure_pool("passage-test", images.to_str().expect("utf8"))
        .expect("pool");
    let base = h
        .create_volume(
            "passage-test",
            "win10-base.qcow2",
            64 << 20,
            VolumeFormat::Qcow2,
            &mut |_, _| {},
        )
        .expect("base");
    let overlay = h
        .create_volume(
            "passage-test",
            "win10-gaming.qcow2",
            64 << 20,
            VolumeFormat::Qcow2Backing { base: base.clone() },
            &mut |_, _| {},
        )
        .expect("overlay");
    let info = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&overlay)
        .output()
        .expect("qemu-img");
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).expect("json");
    assert_eq!(v["format"], "qcow2");
    assert_eq!(v["backing-filename"], base.as_str(), "{v}");
    assert_eq!(v["backing-filename-format"], "qcow2");
    let e = h
        .create_volume(
            "passage-test",
            "bad.qcow2",
            1 << 20,
            VolumeFormat::Qcow2Backing {
                base: "relative.qcow2".into(),
            },
            &mut |_, _| {},
        )
        .expect_err("relative")
        .to_string();
    assert!(e.contains("not an absolute"), "{e}");
}

/// A private libvirtd with the pool "passage-test" in its directory.
fn with_pool() -> (PrivateLibvirtd, Libvirt) {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let images = d.dir.path().join("images");
    h.ensure_pool("passage-test", images.to_str().expect("utf8"))
        .expect("pool");
    (d, h)
}

#[test]
fn a_file_is_uploaded_into_a_pool_by_libvirt_and_deleted_there() {
    let (d, h) = with_pool();
    let src = d.dir.path().join("answers.iso");
    // More than one chunk, not a multiple of it.
    let data: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).expect("write");
    let path = h
        .upload_volume("passage-test", "vm-unattended.iso", &src)
        .expect("upload");
    assert_eq!(std::fs::read(&path).expect("read"), data);
    assert!(
        h.upload_volume("passage-test", "vm-unattended.iso", &src)
            .is_err(),
        "an existing volume is not overwritten"
    );
    h.delete_volume("passage-test", "vm-unattended.iso")
        .expect("delete");
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn the_answer_media_is_detached_and_deleted_when_the_install_is_done() {
    use passage_core::vm::unattended::finish;
    let (d, h) = with_pool();
    let src = d.dir.path().join("answers.iso");
    std::fs::write(&src, b"the answers").expect("write");
    let media = h
        .upload_volume("passage-test", "win10-gaming-unattended.iso", &src)
        .expect("upload");
    let mut spec = gaming();
    passage_core::vm::unattended::prepare::attach(&mut spec, std::path::Path::new(&media));
    let xml = finish::record(&spec.to_xml().expect("xml"), &media).expect("record");
    let name = h.define(&xml).expect("define");
    let before = h.xml(&name).expect("xml");
    assert!(before.contains(&media));

    assert_eq!(
        passage_virt::unattended::finish_unattended(&h, &name).expect("finish"),
        Some(media.clone())
    );
    let after = h.xml(&name).expect("xml");
    assert!(!after.contains(&media), "{after}");
    assert!(
        after.contains("Win10_22H2_English_x64.iso"),
        "the installer's CD-ROM stays"
    );
    assert!(!std::path::Path::new(&media).exists(), "deleted");
    assert_eq!(
        passage_virt::unattended::finish_unattended(&h, &name).expect("again"),
        None,
        "nothing left to do"
    );

    // A copy of a definition (virt-clone keeps the record) names another VM's media: the
    // copy loses the record and the CD-ROM, the other VM's file stays.
    let other = h
        .upload_volume("passage-test", "win10-gaming-unattended.iso", &src)
        .expect("upload again");
    let mut clone = gaming();
    clone.name = "win10-clone".into();
    passage_core::vm::unattended::prepare::attach(&mut clone, std::path::Path::new(&other));
    let xml = finish::record(&clone.to_xml().expect("xml"), &other).expect("record");
    let clone_name = h.define(&xml).expect("define clone");
    assert_eq!(
        passage_virt::unattended::finish_unattended(&h, &clone_name).expect("finish clone"),
        None
    );
    assert!(!h.xml(&clone_name).expect("xml").contains(&other));
    assert!(
        std::path::Path::new(&other).exists(),
        "another VM's media is kept"
    );
}
