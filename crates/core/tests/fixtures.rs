//! passage-core against the fixture hosts: what scan sees and what check says.

use passage_core::check::{self, FixAction, Severity};
use passage_core::host::{HostNeed, PciAddress, Refusal};
use passage_core::{Host, Root};
use passage_fixtures::HostSpec;

fn a(s: &str) -> PciAddress {
    s.parse().expect("test address")
}

fn scan_spec(spec: &HostSpec) -> (Host, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build_spec(spec, dir.path()).expect("fixture");
    let host = Host::scan(&Root::new(dir.path()).expect("root"));
    (host, dir)
}

fn scan(name: &str) -> Host {
    scan_spec(&passage_fixtures::spec(name).expect("fixture name")).0
}

#[test]
fn every_fixture_scans_without_problems() {
    for name in passage_fixtures::NAMES {
        let h = scan(name);
        assert!(h.problems.is_empty(), "{name}: {:?}", h.problems);
        assert!(!h.pci_devices.is_empty(), "{name}");
        assert!(h.cpu.virtualization, "{name}");
    }
}

#[test]
fn intel_tutorial_group_1_holds_both_gpus_and_is_not_viable() {
    let h = scan("intel-tutorial");
    let g = h.group(1).expect("group 1");
    let members: Vec<String> = g.devices.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        members,
        [
            "0000:00:01.0",
            "0000:00:01.1",
            "0000:01:00.0",
            "0000:01:00.1",
            "0000:01:00.2",
            "0000:01:00.3",
            "0000:02:00.0",
            "0000:02:00.1"
        ]
    );
    assert!(!g.viable);
    assert_eq!(
        g.host_needs,
        vec![HostNeed::BootGpu {
            device: a("02:00.0")
        }]
    );
    let nv = h.device(a("01:00.0")).expect("2080 Ti");
    assert_eq!(nv.id_pair(), "10de:1e07");
    assert_eq!(nv.vendor_name.as_deref(), Some("NVIDIA Corporation"));
    assert!(
        nv.device_name.as_deref().unwrap_or("").contains("TU102"),
        "{:?}",
        nv.device_name
    );
    assert_eq!(nv.revision, Some(0xa1));
    assert_eq!(nv.driver.as_deref(), Some("nvidia"));
    assert_eq!(
        nv.slot_functions,
        vec![a("01:00.1"), a("01:00.2"), a("01:00.3")]
    );
    assert_eq!(nv.parent, Some(a("00:01.0")));
    assert_eq!(h.boot_loader.as_deref(), Some("kernelstub"));
    assert_eq!(h.initramfs.as_deref(), Some("initramfs-tools"));
    assert_eq!(h.cpu.vendor, "GenuineIntel");

    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(
        r.gpu,
        Some(a("01:00.0")),
        "the free NVIDIA card is the candidate"
    );
    let f = r.get("group-not-viable").expect("group finding");
    assert_eq!(f.severity, Severity::Blocker);
    assert!(
        f.detail.contains("0000:02:00.0") && f.detail.contains("boot display"),
        "{}",
        f.detail
    );
    assert!(
        f.fix
            .as_deref()
            .unwrap_or("")
            .contains("not in this kernel"),
        "unpatched kernel: {:?}",
        f.fix
    );
    assert!(f.action.is_none(), "no ACS action on an unpatched kernel");
    assert!(r.blocked());
}

#[test]
fn acs_override_is_offered_only_on_a_patched_kernel_with_its_risk() {
    let mut spec = passage_fixtures::intel_tutorial();
    spec.release = "5.3.0-acso".into();
    let (h, _d) = scan_spec(&spec);
    assert_eq!(h.kernel.acs_override.patched, Some(true));
    let r = check::evaluate(&h, None).expect("check");
    let f = r.get("group-not-viable").expect("finding");
    let fix = f.fix.clone().unwrap_or_default();
    assert!(
        fix.contains("pcie_acs_override=downstream,multifunction"),
        "{fix}"
    );
    assert!(
        fix.contains("compromised VM could read or corrupt host data"),
        "risk in words: {fix}"
    );
    assert_eq!(
        f.action,
        Some(FixAction::KernelArguments {
            add: vec!["pcie_acs_override=downstream,multifunction".into()],
            remove: vec![]
        })
    );

    // Asking for the override on a kernel without the patch does nothing: say so.
    let mut spec = passage_fixtures::intel_tutorial();
    spec.cmdline
        .push_str(" pcie_acs_override=downstream,multifunction");
    let (h, _d) = scan_spec(&spec);
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(
        r.get("acs-override-ignored").map(|f| f.severity),
        Some(Severity::Warning)
    );
}

#[test]
fn x570_groups_match_the_tutorial() {
    let h = scan("x570-tutorial");
    let g28 = h.group(28).expect("group 28");
    assert_eq!(
        g28.devices,
        vec![a("0a:00.0"), a("0a:00.1"), a("0a:00.2"), a("0a:00.3")]
    );
    assert!(g28.viable);
    // The pages name the card by pci.ids' marketing name and lspci's short address.
    assert_eq!(
        h.card_label(a("0a:00.0")),
        "GeForce RTX 2080 Ti Rev. A (0a:00.0)"
    );
    assert_eq!(h.card_label(a("2f:00.0")), "0000:2f:00.0");
    let g31 = h.group(31).expect("group 31");
    assert_eq!(g31.devices, vec![a("0d:00.0")]);
    assert!(!g31.viable);
    assert_eq!(
        h.group(32).map(|g| g.devices.clone()),
        Some(vec![a("0d:00.1")])
    );
    // The host's NVMe holds / through LVM (dm-1 → nvme0n1p3) and swap through dm-0.
    let g13 = h.group(13).expect("host nvme group");
    match g13.host_needs.as_slice() {
        [HostNeed::MountedStorage { device, what }] => {
            assert_eq!(*device, a("01:00.0"));
            assert!(
                what.contains("/ (dm-1)")
                    && what.contains("[swap] (dm-0)")
                    && what.contains("/boot/efi"),
                "{what}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The tutorial's second NVMe, unmounted, can go to Windows.
    assert!(h.group_of(a("04:00.0")).expect("guest nvme").viable);
    // Network cards with a driver are the host's.
    assert!(matches!(
        h.group_of(a("06:00.0"))
            .map(|g| g.host_needs.clone())
            .as_deref(),
        Some([HostNeed::NetworkDriver { .. }])
    ));
    assert_eq!(h.display.active_gpus, vec![a("0d:00.0")]);
    assert_eq!(h.display.display_manager.as_deref(), Some("gdm3"));
    assert!(h.display.nvidia_loaded);
    assert!(h
        .display
        .x11_configs
        .iter()
        .any(|c| c.drivers.contains(&"nvidia".to_string())));
    assert_eq!(
        h.kernel_cmdline.last().map(String::as_str),
        Some("amd_iommu=on")
    );
    assert_eq!(h.kernel.interrupt_remapping, Some(true));
    // Ryzen 9 3900X: 12 cores, SMT 2, four CCXs of three cores sharing an L3.
    assert_eq!((h.cpu.cores, h.cpu.threads_per_core), (12, 2));
    assert_eq!(h.cpu.l3_groups.len(), 4);
    assert_eq!(h.cpu.l3_groups[0], vec![0, 1, 2, 12, 13, 14]);
    assert_eq!(h.cpu.logical_cpus[0].siblings, vec![0, 12]);
    // USB: the keyboard behind the hub on the chipset controller.
    let kb = h
        .usb_devices
        .iter()
        .find(|u| u.name == "3-1.2")
        .expect("keyboard");
    assert_eq!(
        (kb.port_path.as_str(), kb.controller),
        ("1.2", Some(a("07:00.3")))
    );
    assert_eq!(kb.vendor_id, "1b1c");
    let rx = h
        .usb_devices
        .iter()
        .find(|u| u.name == "1-2")
        .expect("receiver");
    assert_eq!(rx.vendor_name.as_deref(), Some("Logitech, Inc."));
    // Firmware: Debian's three descriptors, in priority order.
    assert_eq!(h.firmware.len(), 3);
    let best = h.ovmf().expect("ovmf");
    assert!(best.secure_boot() && best.enrolled_keys() && best.requires_smm());
    assert!(best
        .descriptor
        .ends_with("40-edk2-x86_64-secure-enrolled.json"));
    assert_eq!(h.memory.hugepages_kib(), 0);
}

#[test]
fn x570_is_ready_and_says_what_goes_with_the_card() {
    let h = scan("x570-tutorial");
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(r.gpu, Some(a("0a:00.0")));
    assert!(!r.blocked(), "{:#?}", r.findings);
    let comp = r.get("group-companions").expect("companions");
    assert!(comp.detail.contains("0000:0a:00.3"), "{}", comp.detail);
    assert_eq!(
        r.get("no-hugepages").map(|f| f.action.clone()),
        Some(Some(FixAction::ReserveHugepages {
            size_kib: 2048,
            count: 4096
        }))
    );
    assert_eq!(r.get("ovmf").map(|f| f.severity), Some(Severity::Ok));

    // Choosing the host's display card is refused with the alternative named.
    let r = check::evaluate(&h, Some(a("0d:00.0"))).expect("check");
    let f = r.get("gpu-is-host-display").expect("display finding");
    assert_eq!(f.severity, Severity::Blocker);
    assert!(
        f.fix.as_deref().unwrap_or("").contains("0000:0a:00.0"),
        "{:?}",
        f.fix
    );

    // Something that is not a GPU, or not there, is a clear error.
    let e = check::evaluate(&h, Some(a("0a:00.1")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not a graphics card") && e.contains("0x040300"),
        "{e}"
    );
    let e = check::evaluate(&h, Some(a("0000:42:00.0")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no PCI device 0000:42:00.0"), "{e}");
}

#[test]
fn identical_gpus_are_bound_by_address() {
    // The X570 board with a second RTX 2080 Ti as the host's card instead of the RX 5700.
    let mut spec = passage_fixtures::x570_tutorial();
    for d in &mut spec.pci {
        if d.addr == "0000:0d:00.0" {
            (d.vendor, d.device, d.driver) = (0x10de, 0x1e07, Some("nvidia".into()));
        }
        if d.addr == "0000:0d:00.1" {
            (d.vendor, d.device) = (0x10de, 0x10f7);
        }
    }
    let (h, _d) = scan_spec(&spec);
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(r.gpu, Some(a("0a:00.0")));
    let f = r.get("identical-devices").expect("identical finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.detail.contains("10de:1e07") && f.detail.contains("0000:0d:00.0"),
        "{}",
        f.detail
    );
    assert_eq!(
        f.action,
        Some(FixAction::BindByAddress {
            devices: vec![a("0a:00.0"), a("0a:00.1"), a("0a:00.2"), a("0a:00.3")]
        })
    );
}

#[test]
fn laptop_with_prime_select() {
    let h = scan("laptop-prime");
    assert_eq!(h.display.prime_select.as_deref(), Some("on-demand"));
    assert_eq!(h.display.active_gpus, vec![a("00:02.0")]);
    assert_eq!(h.boot_loader.as_deref(), Some("grub"));
    let boot = h.boot.as_ref().expect("boot");
    assert!(boot.grub_has_default_line);
    assert_eq!(boot.regenerate.as_deref(), Some("update-grub"));
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(r.gpu, Some(a("01:00.0")));
    assert!(!r.blocked(), "{:#?}", r.findings);
}

#[test]
fn single_gpu_desktop_is_told_why_not() {
    let h = scan("single-gpu");
    assert_eq!(h.boot_loader.as_deref(), Some("systemd-boot"));
    assert_eq!(
        h.boot.as_ref().map(|b| b.config.as_str()),
        Some("/boot/loader/entries")
    );
    assert_eq!(h.initramfs.as_deref(), Some("mkinitcpio"));
    let r = check::evaluate(&h, None).expect("check");
    // A cost, not a blocker: the only-GPU mode can take the card (the desktop stops while
    // its VM runs).
    assert_eq!(
        r.get("only-gpu").map(|f| f.severity),
        Some(Severity::Warning)
    );
    // The finding names the mode that can take the only card, in the app and passagectl.
    let fix = r
        .get("only-gpu")
        .and_then(|f| f.fix.clone())
        .unwrap_or_default();
    assert!(
        fix.contains("only-GPU mode")
            && fix.contains("choose it on Devices")
            && fix.contains("passagectl vm new --gpu 0000:0c:00.0"),
        "{fix}"
    );
    let ovmf = r.get("no-ovmf").expect("no ovmf");
    assert!(ovmf
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("pacman -S edk2-ovmf"));
}

#[test]
fn iommu_off_gets_the_argument_for_this_cpu_and_boot_loader() {
    let h = scan("iommu-off");
    assert!(!h.iommu_enabled);
    assert!(h.iommu_groups.is_empty());
    assert_eq!(h.boot_loader.as_deref(), Some("grubby"));
    assert_eq!(h.initramfs.as_deref(), Some("dracut"));
    assert!(h.pci_devices.iter().all(|d| d.iommu_group.is_none()));
    let r = check::evaluate(&h, None).expect("check");
    let f = r.get("iommu-off").expect("iommu finding");
    assert_eq!(f.severity, Severity::Blocker);
    assert!(
        f.fix
            .as_deref()
            .unwrap_or("")
            .contains("grubby --update-kernel=ALL --args=\"intel_iommu=on iommu=pt\""),
        "{:?}",
        f.fix
    );
    assert_eq!(
        f.action,
        Some(FixAction::KernelArguments {
            add: vec!["intel_iommu=on".into(), "iommu=pt".into()],
            remove: vec![]
        })
    );

    // An AMD CPU on GRUB: amd_iommu=on in GRUB_CMDLINE_LINUX (Fedora has no _DEFAULT line).
    let mut spec = passage_fixtures::iommu_off();
    spec.files.retain(|(p, _)| p != "/usr/sbin/grubby");
    if let Some(c) = spec.cpu.as_mut() {
        c.vendor = "AuthenticAMD";
        c.virt_flag = Some("svm");
    }
    let (h, _d) = scan_spec(&spec);
    let r = check::evaluate(&h, None).expect("check");
    let fix = r
        .get("iommu-off")
        .and_then(|f| f.fix.clone())
        .unwrap_or_default();
    assert!(
        fix.contains("amd_iommu=on iommu=pt")
            && fix.contains("GRUB_CMDLINE_LINUX in /etc/default/grub")
            && fix.contains("grub2-mkconfig"),
        "{fix}"
    );

    // Already on the command line but no IOMMU: the firmware has it off. A stronger value the
    // user chose counts as on too; Passage does not offer to replace it.
    for (vendor, flag, arg, setting) in [
        ("GenuineIntel", "vmx", "intel_iommu=on", "Intel VT-d"),
        ("GenuineIntel", "vmx", "intel_iommu=on,sm_on", "Intel VT-d"),
        (
            "GenuineIntel",
            "vmx",
            "intel_iommu=on intel_iommu=sm_on",
            "Intel VT-d",
        ),
        ("AuthenticAMD", "svm", "amd_iommu=force_isolation", "AMD-Vi"),
    ] {
        let mut spec = passage_fixtures::iommu_off();
        if let Some(c) = spec.cpu.as_mut() {
            c.vendor = vendor;
            c.virt_flag = Some(flag);
        }
        spec.cmdline.push_str(&format!(" {arg}"));
        let (h, _d) = scan_spec(&spec);
        let f = check::evaluate(&h, None)
            .expect("check")
            .get("iommu-off")
            .cloned()
            .expect("finding");
        assert!(
            f.fix.unwrap_or_default().contains(setting) && f.action.is_none(),
            "{arg}"
        );
    }
}

#[test]
fn virtualization_and_vfio_missing() {
    let mut spec = passage_fixtures::x570_tutorial();
    if let Some(c) = spec.cpu.as_mut() {
        c.virt_flag = None;
    }
    let (h, _d) = scan_spec(&spec);
    let f = check::evaluate(&h, None)
        .expect("check")
        .get("virtualization-off")
        .cloned()
        .expect("finding");
    assert!(f.fix.unwrap_or_default().contains("SVM Mode"));

    let mut spec = passage_fixtures::x570_tutorial();
    if let Some(c) = spec.cpu.as_mut() {
        c.kvm = false;
    }
    let (h, d) = scan_spec(&spec);
    let f = check::evaluate(&h, None)
        .expect("check")
        .get("virtualization-off")
        .cloned()
        .expect("finding");
    assert!(f.detail.contains("kvm_amd"), "{}", f.detail);

    std::fs::remove_file(
        d.path()
            .join("lib/modules/5.3.0-7625-generic/kernel/drivers/vfio/pci/vfio-pci.ko.zst"),
    )
    .expect("rm");
    let h = Host::scan(&Root::new(d.path()).expect("root"));
    assert!(!h.kernel.vfio_pci_available);
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(
        r.get("vfio-missing").map(|f| f.severity),
        Some(Severity::Blocker)
    );
}

#[test]
fn sriov_server_scale() {
    let h = scan("sriov-server");
    assert_eq!(h.pci_devices.len(), 2000);
    assert_eq!(
        h.iommu_groups
            .iter()
            .map(|g| g.devices.len())
            .sum::<usize>(),
        2000
    );
    assert_eq!(h.vfio.modprobe_ids, vec!["15b3:101e"]);
    assert!(h.vfio.bound.len() > 400, "{}", h.vfio.bound.len());
    assert_eq!(h.memory.hugepages_kib(), 64 * 1024 * 1024);
    assert_eq!(
        (h.cpu.cores, h.cpu.logical_cpus.len(), h.cpu.l3_groups.len()),
        (64, 128, 8)
    );
    let root_buses: std::collections::BTreeSet<&str> = h
        .pci_devices
        .iter()
        .filter_map(|d| d.sysfs_path.split('/').nth(3))
        .collect();
    assert_eq!(
        root_buses.into_iter().collect::<Vec<_>>(),
        ["pci0000:00", "pci0000:40", "pci0000:80", "pci0000:c0"]
    );
    assert!(h.pci_devices.iter().any(|d| d.numa_node == Some(1)));
    let r = check::evaluate(&h, None).expect("check");
    assert_eq!(r.get("hugepages").map(|f| f.severity), Some(Severity::Ok));
}

#[test]
fn garbage_and_broken_trees_are_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build("x570-tutorial", dir.path()).expect("fixture");
    let dev = |addr: &str| {
        let link =
            std::fs::read_link(dir.path().join("sys/bus/pci/devices").join(addr)).expect("link");
        dir.path().join("sys/bus/pci/devices").join(link)
    };
    // Garbage IDs everywhere for one device: skipped, reported.
    let d = dev("0000:0f:00.0");
    std::fs::write(d.join("uevent"), "PCI_ID=zz:zz\n").expect("w");
    std::fs::write(d.join("config"), b"\x00").expect("w");
    std::fs::write(d.join("vendor"), "garbage").expect("w");
    // A directory where an attribute should be.
    let d = dev("0000:0a:00.1");
    std::fs::remove_file(d.join("reset_method")).expect("rm");
    std::fs::create_dir(d.join("reset_method")).expect("mkdir");
    // A uevent without IDs: they come from the config space, and the name is still found.
    std::fs::write(dev("0000:0a:00.3").join("uevent"), "DRIVER=nvidia-gpu\n").expect("w");
    // A broken iommu_group link.
    let d = dev("0000:0a:00.2");
    std::fs::remove_file(d.join("iommu_group")).expect("rm");
    std::os::unix::fs::symlink(
        "../../../../kernel/iommu_groups/not-a-number",
        d.join("iommu_group"),
    )
    .expect("ln");
    // A non-UTF-8 entry and a stray file in the device list.
    use std::os::unix::ffi::OsStrExt;
    std::fs::write(
        dir.path()
            .join("sys/bus/pci/devices")
            .join(std::ffi::OsStr::from_bytes(b"0000:\xff")),
        "",
    )
    .expect("w");
    std::fs::write(dir.path().join("sys/bus/pci/devices/README"), "").expect("w");
    // Garbage in /proc.
    std::fs::write(dir.path().join("proc/cpuinfo"), [0xffu8, 0xfe, 0x00]).expect("w");
    std::fs::write(dir.path().join("proc/mounts"), "\\\\\\ \n/dev/\n").expect("w");
    std::fs::write(
        dir.path()
            .join("usr/share/qemu/firmware/60-edk2-x86_64.json"),
        "{not json",
    )
    .expect("w");

    let h = Host::scan(&Root::new(dir.path()).expect("root"));
    let said = |path: &str| h.problems.iter().any(|p| p.path.contains(path));
    assert!(h.device(a("0f:00.0")).is_none());
    assert!(said("0000:0f:00.0"), "{:#?}", h.problems);
    assert!(said("0000:0a:00.1/reset_method"), "{:#?}", h.problems);
    assert!(said("README"), "{:#?}", h.problems);
    assert!(said("/proc/cpuinfo"), "{:#?}", h.problems);
    assert!(said("60-edk2-x86_64.json"), "{:#?}", h.problems);
    assert!(
        h.problems.iter().any(|p| p.what.contains("UTF-8")),
        "{:#?}",
        h.problems
    );
    // The rest of the picture stands.
    assert_eq!(
        h.device(a("0a:00.1")).map(|d| d.reset_methods.len()),
        Some(0)
    );
    assert_eq!(h.device(a("0a:00.2")).and_then(|d| d.iommu_group), None);
    assert!(h
        .group(28)
        .is_some_and(|g| g.devices.contains(&a("0a:00.0"))));
    assert_eq!(h.firmware.len(), 2);
    assert!(check::evaluate(&h, None).is_ok());
    let ucsi = h.device(a("0a:00.3")).expect("ucsi");
    assert_eq!(
        (ucsi.id_pair().as_str(), ucsi.class, ucsi.driver.as_deref()),
        ("10de:1ad7", 0x0c8000, Some("nvidia-gpu"))
    );
    assert!(
        ucsi.device_name.as_deref().unwrap_or("").contains("UCSI"),
        "{:?}",
        ucsi.device_name
    );
}

#[test]
fn json_contract_fields() {
    let h = scan("x570-tutorial");
    let v = serde_json::to_value(&h).expect("json");
    let dev = v["pci_devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["address"] == "0000:0a:00.0"))
        .expect("device");
    assert_eq!(dev["class"], "0x030000");
    assert_eq!(dev["vendor_id"], "10de");
    assert_eq!(dev["device_id"], "1e07");
    assert_eq!(dev["vendor_name"], "NVIDIA Corporation");
    assert_eq!(dev["driver"], "nvidia");
    assert_eq!(dev["iommu_group"], 28);
    assert_eq!(dev["boot_vga"], false);
    let none = v["pci_devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["address"] == "0000:00:00.0"))
        .expect("root complex");
    assert!(none["driver"].is_null());
    let g = v["iommu_groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["id"] == 31))
        .expect("group");
    assert_eq!(g["devices"], serde_json::json!(["0000:0d:00.0"]));
    assert_eq!(g["viable"], false);
    assert_eq!(v["cpu"]["vendor"], "AuthenticAMD");
    assert_eq!(v["cpu"]["model"], "AMD Ryzen 9 3900X 12-Core Processor");
    assert_eq!(v["cpu"]["virtualization"], true);
    assert_eq!(v["iommu_enabled"], true);
    assert!(v["kernel_cmdline"]
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x == "amd_iommu=on")));
    assert_eq!(v["boot_loader"], "kernelstub");
    assert_eq!(v["initramfs"], "initramfs-tools");
    // And it reads back.
    let back: Host = serde_json::from_value(v).expect("round trip");
    assert_eq!(back, h);
}

#[test]
fn firmware_resolves_like_qemu_etc_overrides_and_masks() {
    let mut spec = passage_fixtures::x570_tutorial();
    // An empty file in /etc masks the enrolled-keys descriptor; a lower prefix in /etc wins.
    spec.files.push((
        "/etc/qemu/firmware/40-edk2-x86_64-secure-enrolled.json".into(),
        String::new(),
    ));
    spec.files.push((
        "/etc/qemu/firmware/10-custom.json".into(),
        r#"{"description": "Site OVMF", "interface-types": ["uefi"], "mapping": {"device": "flash", "executable": {"filename": "/opt/ovmf/CODE.fd"}, "nvram-template": {"filename": "/opt/ovmf/VARS.fd"}}, "targets": [{"architecture": "x86_64", "machines": ["pc-q35-*"]}], "features": ["requires-smm"]}"#.into(),
    ));
    spec.files.push(("/opt/ovmf/CODE.fd".into(), String::new()));
    let (h, _d) = scan_spec(&spec);
    let descs: Vec<&str> = h.firmware.iter().map(|f| f.descriptor.as_str()).collect();
    assert_eq!(
        descs,
        [
            "/etc/qemu/firmware/10-custom.json",
            "/usr/share/qemu/firmware/50-edk2-x86_64-secure.json",
            "/usr/share/qemu/firmware/60-edk2-x86_64.json"
        ]
    );
    assert_eq!(h.ovmf().map(|f| f.description.as_str()), Some("Site OVMF"));
    // Without Microsoft keys, the check says Windows 11 will miss them.
    let r = check::evaluate(&h, None).expect("check");
    assert!(
        r.get("ovmf")
            .is_some_and(|f| f.detail.contains("Windows 11 needs")),
        "{:?}",
        r.get("ovmf")
    );
    // A descriptor whose image is not installed does not count.
    let mut spec = passage_fixtures::x570_tutorial();
    spec.files
        .retain(|(p, _)| !p.starts_with("/usr/share/OVMF/"));
    let (h, _d) = scan_spec(&spec);
    assert!(h.firmware.iter().all(|f| !f.installed));
    assert_eq!(
        check::evaluate(&h, None)
            .expect("check")
            .get("no-ovmf")
            .map(|f| f.severity),
        Some(Severity::Blocker)
    );
}

#[test]
fn boot_loaders_and_initramfs_systems_are_told_apart() {
    use passage_core::host::BootLoaderKind;
    // rEFInd, with its config file.
    let mut spec = passage_fixtures::single_gpu();
    spec.files.push((
        "/boot/refind_linux.conf".into(),
        "\"Boot with standard options\"  \"rw root=PARTUUID=9b0c quiet\"\n".into(),
    ));
    let (h, _d) = scan_spec(&spec);
    assert_eq!(
        h.boot.as_ref().map(|b| (b.kind, b.config.as_str())),
        Some((BootLoaderKind::Refind, "/boot/refind_linux.conf"))
    );
    let fix = check::kernel_argument_howto(&h, "amd_iommu=on iommu=pt");
    assert!(fix.contains("/boot/refind_linux.conf"), "{fix}");

    // systemd-boot with kernel-install's /etc/kernel/cmdline, confirmed by the EFI variable;
    // booster builds the initramfs.
    let mut spec = passage_fixtures::single_gpu();
    spec.files.push((
        "/etc/kernel/cmdline".into(),
        "root=PARTUUID=9b0c rw quiet\n".into(),
    ));
    spec.files.retain(|(p, _)| p != "/etc/mkinitcpio.conf");
    spec.files
        .push(("/etc/booster.yaml".into(), "universal: false\n".into()));
    let (h, d) = scan_spec(&spec);
    passage_fixtures::write_loader_info(d.path(), "systemd-boot 255.4").expect("LoaderInfo");
    let h2 = Host::scan(&Root::new(d.path()).expect("root"));
    for host in [&h, &h2] {
        assert_eq!(
            host.boot.as_ref().map(|b| (b.kind, b.config.as_str())),
            Some((BootLoaderKind::SystemdBoot, "/etc/kernel/cmdline"))
        );
        assert_eq!(host.initramfs.as_deref(), Some("booster"));
    }
    assert!(
        h2.boot
            .as_ref()
            .is_some_and(|b| b.evidence.contains("systemd-boot 255.4")),
        "{:?}",
        h2.boot
    );
    assert!(check::kernel_argument_howto(&h2, "x=1").contains("/etc/kernel/cmdline"));

    // kernelstub on Pop!_OS, the tutorial's way.
    let h = scan("x570-tutorial");
    assert_eq!(
        check::kernel_argument_howto(&h, "amd_iommu=on"),
        "Run “kernelstub --add-options \"amd_iommu=on\"”, then restart."
    );
    // Loader entries without kernel-install.
    let h = scan("single-gpu");
    assert!(check::kernel_argument_howto(&h, "a=b")
        .contains("options line of each entry in /boot/loader/entries"));
    // Debian GRUB with the _DEFAULT line.
    let h = scan("laptop-prime");
    assert_eq!(
        check::kernel_argument_howto(&h, "intel_iommu=on"),
        "Add “intel_iommu=on” to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run “update-grub”, then restart."
    );
}

#[test]
fn interrupt_remapping_off_is_a_warning_with_its_cost() {
    let mut spec = passage_fixtures::x570_tutorial();
    spec.interrupt_remapping = false;
    let (h, _d) = scan_spec(&spec);
    assert_eq!(h.kernel.interrupt_remapping, Some(false));
    let r = check::evaluate(&h, None).expect("check");
    let f = r.get("interrupt-remapping-off").expect("finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("allow_unsafe_interrupts"));
    assert!(!r.blocked());
}

#[test]
fn keyboards_and_mice_for_evdev_and_the_tpm_emulator() {
    let h = scan("x570-tutorial");
    assert_eq!(
        h.input_devices,
        [
            "/dev/input/by-id/usb-Corsair_Corsair_Gaming_K95_RGB_PLATINUM_Keyboard-event-kbd",
            "/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-event-mouse",
            "/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-if01-event-kbd",
        ]
    );
    assert!(h.swtpm);
    assert!(check::evaluate(&h, None)
        .expect("check")
        .get("no-swtpm")
        .is_none());
    let h = scan("single-gpu");
    assert_eq!(
        h.input_devices,
        [
            "/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd",
            "/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse",
        ]
    );
    assert!(!h.swtpm);
    let f = check::evaluate(&h, None)
        .expect("check")
        .get("no-swtpm")
        .cloned()
        .expect("finding");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.fix.unwrap_or_default().contains("pacman -S swtpm"));
}

#[test]
fn a_modular_qemu_without_its_spice_module_is_reported() {
    // x570-tutorial: Debian's module directory with ui-spice-core.so.
    let h = scan("x570-tutorial");
    assert!(!h.spice_module_missing);
    assert!(check::evaluate(&h, None)
        .expect("check")
        .get("no-spice-module")
        .is_none());
    // single-gpu: Arch's /usr/lib/qemu holds modules, but not the SPICE ones.
    let h = scan("single-gpu");
    assert!(h.spice_module_missing);
    let f = check::evaluate(&h, None)
        .expect("check")
        .get("no-spice-module")
        .cloned()
        .expect("finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f
        .fix
        .unwrap_or_default()
        .contains("pacman -S qemu-ui-spice-core"));
    assert_eq!(
        f.action,
        Some(FixAction::InstallPackage {
            packages: vec!["qemu-system-modules-spice".into()]
        })
    );
    // A VM suggested for this host leaves the SPICE display out rather than fail to start.
    let gpu: PciAddress = "0000:0c:00.0".parse().expect("address");
    let spec = passage_core::vm::suggest(&h, gpu, "win", 4, 8192).expect("suggest");
    assert!(!spec.spice);
    let x570 = scan("x570-tutorial");
    let gpu = x570.candidate_gpu().expect("a GPU").address;
    let spec = passage_core::vm::suggest(&x570, gpu, "win", 4, 8192).expect("suggest");
    assert!(spec.spice && spec.tpm);
    // iommu-off: no QEMU modules at all; nothing to say.
    let h = scan("iommu-off");
    assert!(!h.spice_module_missing);
}

#[test]
fn which_cards_can_go_to_a_vm_and_why_not() {
    // The tutorial's RTX 2080 Ti goes with its group; the rest are refused for what they are.
    let h = scan("x570-tutorial");
    assert_eq!(h.vm_gpu(a("0a:00.0")).map(|g| g.id), Ok(28));
    let refusals = [
        (
            "0d:00.0",
            Refusal::HostDisplay(a("0d:00.0")),
            "shows this computer's screen",
        ),
        (
            "04:00.0",
            Refusal::NotAGpu(a("04:00.0")),
            "is not a graphics card",
        ),
        (
            "7f:00.0",
            Refusal::NoSuchDevice(a("7f:00.0")),
            "no PCI device 0000:7f:00.0",
        ),
    ];
    for (dev, want, says) in refusals {
        let r = h.vm_gpu(a(dev)).map(|g| g.id).expect_err(dev);
        assert_eq!(r, want);
        assert!(r.words(&h).contains(says), "{dev}: {}", r.words(&h));
    }
    // Intel tutorial: the 2080 Ti shares group 1 with the boot GPU; the words name it.
    let h = scan("intel-tutorial");
    let r = h.vm_gpu(a("01:00.0")).map(|g| g.id).expect_err("group 1");
    assert_eq!(r, Refusal::GroupNotViable(1));
    assert!(
        r.words(&h).contains("group 1 holds what the host needs")
            && r.words(&h).contains("boot display"),
        "{}",
        r.words(&h)
    );
    // No IOMMU: no groups at all.
    let h = scan("iommu-off");
    let gpu = h
        .gpus()
        .find(|d| !h.is_host_display(d.address))
        .map(|d| d.address)
        .expect("a second GPU");
    assert_eq!(h.vm_gpu(gpu).map(|g| g.id), Err(Refusal::NoGroup(gpu)));
}

#[test]
fn the_chipset_stays_with_the_host_and_bridges_do_not_count() {
    let h = scan("intel-tutorial");
    // 00:1f.x: ISA/LPC bridge, PMC (memory controller), HD audio, SMBus in one group.
    let g = h.group(7).expect("PCH group");
    assert!(!g.viable);
    let chipset: Vec<(String, passage_core::host::chipset::ChipsetFunction)> = g
        .host_needs
        .iter()
        .filter_map(|n| match n {
            HostNeed::Chipset { device, function } => Some((device.to_string(), *function)),
            _ => None,
        })
        .collect();
    use passage_core::host::chipset::ChipsetFunction as F;
    assert_eq!(
        chipset,
        [
            ("0000:00:1f.0".to_string(), F::IsaBridge),
            ("0000:00:1f.2".to_string(), F::MemoryController),
            ("0000:00:1f.4".to_string(), F::Smbus)
        ]
    );
    let w = check::need_words(&h, &g.host_needs[0]);
    assert!(
        w.contains("ISA/LPC bridge") && w.contains("the host runs on it"),
        "{w}"
    );
    // The PCH thermal subsystem (11/80 on the root bus) keeps the xHCI beside it.
    assert!(matches!(
        h.group(2).expect("group 2").host_needs[..],
        [HostNeed::Chipset {
            function: F::SignalProcessing,
            ..
        }]
    ));
    assert!(matches!(
        h.group(0).expect("group 0").host_needs[..],
        [HostNeed::Chipset {
            function: F::HostBridge,
            ..
        }]
    ));
    // The GPU groups' root ports and switch bridges never count: the X570's RX 6800 group
    // goes, bridges and all.
    let x = scan("x570-tutorial");
    for g in &x.iommu_groups {
        assert!(
            g.host_needs
                .iter()
                .all(|n| !x.device(n.device()).is_some_and(|d| d.is_bridge())),
            "{g:?}"
        );
    }
    assert!(x.group_of(a("0a:00.0")).expect("rtx group").viable);
}

#[test]
fn one_group_rule_says_every_refusal_the_same_way_everywhere() {
    use passage_core::host::Allow;
    use passage_core::plan::{self, PlanError};
    use passage_core::vm::devices::group_may_go;
    let h = scan("intel-tutorial");
    // The PCH group (ISA/LPC bridge, PMC, HD audio, SMBus): plan, device editor and the rule
    // itself refuse it in the same words.
    let pch = [a("00:1f.0"), a("00:1f.2"), a("00:1f.3"), a("00:1f.4")];
    let r = h.may_take(&pch, Allow::Exact).expect_err("chipset");
    assert_eq!(r, Refusal::GroupNotViable(7));
    let words = r.words(&h);
    assert!(words.contains("ISA/LPC bridge"), "{words}");
    let plan_err = plan::vfio::check_group(&h, &pch, false).expect_err("plan");
    assert_eq!(plan_err, PlanError::Device(words.clone()));
    assert_eq!(group_may_go(&h, 7).expect_err("editor").why, words);
    // Not even the override (BindToVfio with its own action authorized) takes the chipset;
    // it does take the boot GPU's group.
    assert_eq!(
        h.may_take(&pch, Allow::HostNeeds),
        Err(Refusal::GroupNotViable(7))
    );
    let g1 = h.group(1).expect("group 1").devices.clone();
    let g1 = h.endpoints(&g1);
    assert_eq!(
        h.may_take(&g1, Allow::Exact),
        Err(Refusal::GroupNotViable(1))
    );
    assert_eq!(
        h.may_take(&g1, Allow::HostNeeds).map(|t| t.groups),
        Ok(vec![1])
    );
    // Part of a group, and a bridge named on its own.
    let x = scan("x570-tutorial");
    assert_eq!(
        x.may_take(&[a("0a:00.0")], Allow::Exact),
        Err(Refusal::PartialGroup(
            28,
            vec![a("0a:00.1"), a("0a:00.2"), a("0a:00.3")]
        ))
    );
    assert_eq!(
        x.may_take(&[a("0a:00.0")], Allow::Groups)
            .map(|t| t.devices.len()),
        Ok(4)
    );
    assert_eq!(
        h.may_take(&[a("00:01.0")], Allow::Exact),
        Err(Refusal::Bridge(a("00:01.0")))
    );
    // "No such device" and "no IOMMU group" are worded once: the plans, the VM suggestion and
    // the rule say the same.
    let ghost = a("42:00.0");
    let none = Refusal::NoSuchDevice(ghost).words(&h);
    assert!(none.contains("no PCI device 0000:42:00.0"), "{none}");
    assert_eq!(
        plan::gpu_intents(&h, ghost).expect_err("ghost"),
        PlanError::Device(none.clone())
    );
    assert_eq!(
        plan::vfio::check_group(&h, &[ghost], false).expect_err("ghost"),
        PlanError::Device(none.clone())
    );
    assert_eq!(
        passage_core::vm::suggest(&h, ghost, "w", 4, 4096)
            .expect_err("ghost")
            .why,
        none
    );
    let off = scan("iommu-off");
    let gpu = off.gpus().map(|d| d.address).last().expect("gpu");
    let nogroup = Refusal::NoGroup(gpu).words(&off);
    assert_eq!(
        plan::gpu_intents(&off, gpu).expect_err("no group"),
        PlanError::Device(nogroup.clone())
    );
    assert_eq!(
        passage_core::vm::suggest(&off, gpu, "w", 4, 4096)
            .expect_err("no group")
            .why,
        nogroup
    );
}

#[test]
fn the_boot_display_rule_is_one_rule() {
    // The Intel board's boot GPU (RX 480 at 02:00.0, group 1 with the 2080 Ti) parked on
    // pci-stub: no console or desktop can draw through a stub driver, so it is not the host's
    // display, its group is viable and the card may go — is_host_display, the group's needs
    // and vm_gpu agree (is_host_display used to exempt vfio-pci only).
    let mut spec = passage_fixtures::intel_tutorial();
    for d in &mut spec.pci {
        if d.addr == "0000:02:00.0" || d.addr == "0000:02:00.1" {
            d.driver = Some("pci-stub".into());
        }
    }
    // No DRM device on a stub driver.
    spec.drm.retain(|m| m.gpu != "0000:02:00.0");
    let (h, _dir) = scan_spec(&spec);
    let boot = a("02:00.0");
    assert!(h.device(boot).expect("boot gpu").boot_vga);
    assert!(!h.is_host_display(boot));
    assert!(h.group(1).expect("group 1").host_needs.is_empty());
    assert_eq!(h.vm_gpu(boot).map(|g| g.id), Ok(1));
    // With its own driver it is the host's, the same way everywhere.
    let h = scan("intel-tutorial");
    assert!(h.is_host_display(boot));
    assert_eq!(h.vm_gpu(boot), Err(Refusal::HostDisplay(boot)));
}

/// On every fixture host, with every GPU chosen: each finding that asks the user to do
/// something carries the action Passage takes for it, or is one Passage cannot fix (listed,
/// with why).
#[test]
fn every_check_finding_passage_can_act_on_carries_its_action() {
    let mut unlisted = vec![];
    for name in passage_fixtures::NAMES {
        let h = scan(name);
        let gpus: Vec<Option<PciAddress>> = std::iter::once(None)
            .chain(
                h.pci_devices
                    .iter()
                    .filter(|d| d.is_gpu())
                    .map(|d| Some(d.address)),
            )
            .collect();
        for gpu in gpus {
            let r = check::evaluate(&h, gpu).expect("check");
            for f in r.findings {
                let listed = check::CANNOT_FIX.iter().any(|(id, _)| *id == f.id);
                if f.fix.is_some() && f.severity != Severity::Ok && f.action.is_none() && !listed {
                    unlisted.push(format!("{name} {gpu:?}: {} ({})", f.id, f.title));
                }
            }
        }
    }
    unlisted.sort();
    unlisted.dedup();
    assert!(unlisted.is_empty(), "{unlisted:#?}");
}
