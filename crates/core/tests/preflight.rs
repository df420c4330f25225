//! The pre-flight on the public tutorial's X570 host: the wizard's VM, then the same VM after
//! the things that stop real starts — a device moved or replaced, half a group, hugepages
//! short, an ISO in a private home folder, a missing image or firmware file, a stopped network.

use std::os::unix::fs::PermissionsExt;

use passage_core::vm::devices::initial_selection;
use passage_core::vm::diagnose::Cause;
use passage_core::vm::draft::Draft;
use passage_core::vm::edit::{apply, Changes};
use passage_core::vm::preflight::{check, check_remote, qemu_user, Facts, Remedy};
use passage_core::vm::Domain;
use passage_core::{Host, Root};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tmp");
        passage_fixtures::build("x570-tutorial", dir.path()).expect("fixture");
        let f = Fixture { dir };
        // Debian's libvirt user, and the ISO the wizard is given.
        f.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\nanna:x:1000:1000::/home/anna:/bin/bash\n");
        f.write(
            "etc/group",
            "root:x:0:\nkvm:x:108:libvirt-qemu\nanna:x:1000:\n",
        );
        f.write("var/lib/libvirt/images/Win10.iso", "iso");
        // libvirt's hook, as Host setup leaves the host.
        f.write(
            passage_core::plan::hook::DISPATCHER.trim_start_matches('/'),
            "#!/bin/sh\n",
        );
        f
    }
    fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    fn root(&self) -> Root {
        Root::new(self.dir.path()).expect("root")
    }
    fn host(&self) -> Host {
        Host::scan(&self.root())
    }
    fn free_hugepages(&self, n: u64) {
        for f in ["free_hugepages", "nr_hugepages"] {
            self.write(
                &format!("sys/kernel/mm/hugepages/hugepages-2048kB/{f}"),
                &format!("{n}\n"),
            );
        }
    }
    /// The wizard's gaming VM as libvirt would hold it, its hugepages reserved at boot (so the
    /// pre-flight counts the free pages).
    fn vm(&self, iso: &str) -> String {
        let h = self.host();
        let mut d = Draft::new(&h, initial_selection(&h));
        let choices = [
            ("install-iso", iso),
            ("memory-gib", "8"),
            ("disk", "none"),
            ("hugepages", "boot"),
        ];
        for (k, v) in choices {
            d.set_text(&h, k, v).expect("choice");
        }
        d.spec(&h).expect("spec").to_xml().expect("xml")
    }
    fn rom_findings(&self, xml: &str) -> Vec<(Cause, String)> {
        self.check(xml, &Facts::default())
            .into_iter()
            .filter(|(c, _)| matches!(c, Cause::RomMissing | Cause::RomNoUefi))
            .collect()
    }
    fn check(&self, xml: &str, facts: &Facts) -> Vec<(Cause, String)> {
        let d = Domain::read(xml).expect("domain");
        check(&d, &self.host(), &self.root(), facts)
            .into_iter()
            .map(|f| (f.cause, format!("{} — {}", f.title, f.fix)))
            .collect()
    }
}

#[test]
fn the_wizards_vm_starts_clean_when_its_hugepages_are_free() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    assert!(
        xml.contains("<passage:device address='0000:0a:00.0' id='10de:1e07' group='28'/>"),
        "{xml}"
    );
    let found = f.check(
        &xml,
        &Facts {
            networks: Some(vec![("default".into(), true)]),
            ..Default::default()
        },
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn hugepages_short_by_what_is_missing_with_a_reservation_to_make() {
    let f = Fixture::new();
    f.free_hugepages(1000);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    let d = Domain::read(&xml).expect("domain");
    let found = check(&d, &f.host(), &f.root(), &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].cause, Cause::HugepagesShort);
    // 8 GiB are 4096 pages of 2 MiB; 1000 are free: 3096 short, 6192 MiB.
    assert!(found[0].title.contains("6192 MiB"), "{}", found[0].title);
    assert_eq!(
        found[0].remedy,
        Some(Remedy::ReserveHugepages {
            size_kib: 2048,
            count: 4096
        })
    );
}

#[test]
fn on_a_remote_host_hugepages_short_are_not_reserved_here() {
    let f = Fixture::new();
    f.free_hugepages(1000);
    let d = Domain::read(&f.vm("/var/lib/libvirt/images/Win10.iso")).expect("domain");
    let found = check_remote(&d, Some(&f.host()), &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].cause, Cause::HugepagesShort);
    // This computer's helper would reserve this computer's memory: the remedy is the VM's own.
    assert_eq!(found[0].remedy, Some(Remedy::TurnHugepagesOff));
    assert!(found[0].fix.contains("remote host"), "{}", found[0].fix);
}

#[test]
fn a_device_that_moved_or_changed_is_refused_by_name() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    // Another card at the address the VM was made with.
    let other = xml.replace("id='10de:1e07' group='28'", "id='1002:731f' group='28'");
    let found = f.check(&other, &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::DeviceMissing);
    assert!(
        found[0].1.contains("0000:0a:00.0 is now another device")
            && found[0].1.contains("[1002:731f]")
            && found[0].1.contains("[10de:1e07]"),
        "{}",
        found[0].1
    );
    // An address this computer does not have.
    let gone = xml.replace(
        "bus='0x0a' slot='0x00' function='0x3'",
        "bus='0x0b' slot='0x00' function='0x3'",
    );
    let found = f.check(&gone, &Facts::default());
    assert!(
        found
            .iter()
            .any(|(c, t)| *c == Cause::DeviceMissing && t.contains("0000:0b:00.3 is not there")),
        "{found:?}"
    );
    // …which also leaves the card's group half in the VM.
    assert!(
        found
            .iter()
            .any(|(c, t)| *c == Cause::GroupNotViable && t.contains("add 0000:0a:00.3")),
        "{found:?}"
    );
}

#[test]
fn half_a_group_is_refused() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    let half = apply(
        &xml,
        &Changes {
            remove_pci: vec![
                "0000:0a:00.2".parse().expect("a"),
                "0000:0a:00.3".parse().expect("a"),
            ],
            ..Default::default()
        },
    )
    .expect("edit");
    let found = f.check(&half, &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::GroupNotViable);
    assert!(
        found[0].1.contains("0000:0a:00.2, 0000:0a:00.3"),
        "{}",
        found[0].1
    );
}

#[test]
fn an_iso_in_a_private_home_folder_is_found_before_qemu_fails_on_it() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    f.write("home/anna/Downloads/Win11.iso", "iso");
    let home = f.dir.path().join("home/anna");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let xml = f.vm("/home/anna/Downloads/Win11.iso");
    let user = qemu_user(&f.root()).expect("the qemu user");
    assert_eq!((user.name.as_str(), user.uid), ("libvirt-qemu", 64055));
    let found = f.check(&xml, &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::MediaPermission);
    assert!(
        found[0]
            .1
            .contains("libvirt-qemu, which cannot enter /home/anna"),
        "{}",
        found[0].1
    );
    // Once QEMU's user may pass through the folder, nothing is said.
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    assert!(f.check(&xml, &Facts::default()).is_empty());
    // qemu.conf's user wins over the distribution's.
    f.write(
        "etc/libvirt/qemu.conf",
        "# user = \"root\"\nuser = \"anna\"\n",
    );
    assert_eq!(qemu_user(&f.root()).map(|u| u.uid), Some(1000));
}

#[test]
fn missing_media_firmware_and_a_stopped_network_are_named() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Gone.iso");
    let found = f.check(
        &xml,
        &Facts {
            networks: Some(vec![("default".into(), false)]),
            ..Default::default()
        },
    );
    let causes: Vec<Cause> = found.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        causes,
        vec![Cause::MediaMissing, Cause::NetworkInactive],
        "{found:?}"
    );
    let d = Domain::read(&xml).expect("domain");
    let net = check(
        &d,
        &f.host(),
        &f.root(),
        &Facts {
            networks: Some(vec![("default".into(), false)]),
            ..Default::default()
        },
    )
    .into_iter()
    .find(|x| x.cause == Cause::NetworkInactive)
    .expect("network");
    assert_eq!(
        net.remedy,
        Some(Remedy::StartNetwork {
            network: "default".into()
        })
    );
    // An explicit OVMF file that is not there.
    let explicit = xml.replace("<os firmware='efi'>", "<os>").replace(
        "<type arch='x86_64' machine='q35'>hvm</type>",
        "<type arch='x86_64' machine='q35'>hvm</type>\n    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.gone.fd</loader>",
    );
    let found = f.check(&explicit, &Facts::default());
    assert!(
        found
            .iter()
            .any(|(c, t)| *c == Cause::OvmfMissing && t.contains("OVMF_CODE_4M.gone.fd")),
        "{found:?}"
    );
}

#[test]
fn hugepages_reserved_at_start_need_room_not_free_pages() {
    use passage_core::vm::session::{GpuMode, SessionSettings};
    use passage_core::vm::session_edit::set_session;
    let f = Fixture::new();
    f.free_hugepages(0);
    let lent = SessionSettings {
        gpu_mode: GpuMode::WhileRunning,
        hugepages: true,
        isolate_cpus: false,
    };
    // 8 GiB on a 64 GiB host: libvirt's hook reserves them at start, nothing to say.
    let xml = set_session(
        &f.vm("/var/lib/libvirt/images/Win10.iso"),
        &lent,
        Some(true),
    )
    .expect("set");
    let found = f.check(&xml, &Facts::default());
    assert!(found.is_empty(), "{found:?}");
    // More memory than the host can spare as hugepages: said before the start, and the VM
    // can go without them.
    let big = xml.replace(
        "<memory unit='MiB'>8192</memory>",
        "<memory unit='MiB'>65536</memory>",
    );
    assert_ne!(big, xml);
    let d = Domain::read(&big).expect("domain");
    let found = check(&d, &f.host(), &f.root(), &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].cause, Cause::HugepagesShort);
    assert!(
        found[0].title.contains("cannot be reserved"),
        "{}",
        found[0].title
    );
    assert_eq!(found[0].remedy, Some(Remedy::TurnHugepagesOff));
    // Turned off, nothing is said about hugepages (64 GiB of ordinary memory is its own
    // finding on this host).
    let off = passage_core::vm::remedy_edit::hugepages_off(&big).expect("off");
    let found = f.check(&off, &Facts::default());
    assert!(
        found.iter().all(|(c, _)| *c != Cause::HugepagesShort),
        "{found:?}"
    );
    let off = passage_core::vm::remedy_edit::hugepages_off(&xml).expect("off");
    assert!(f.check(&off, &Facts::default()).is_empty());
}

#[test]
fn a_session_vm_without_libvirts_hook_is_stopped_by_name() {
    use passage_core::vm::session::{GpuMode, SessionSettings};
    use passage_core::vm::session_edit::set_session;
    let f = Fixture::new();
    std::fs::remove_file(
        f.dir
            .path()
            .join(passage_core::plan::hook::DISPATCHER.trim_start_matches('/')),
    )
    .expect("no hook");
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    f.free_hugepages(4096);
    // Nothing for the hook to do: no hook needed.
    assert!(f.check(&xml, &Facts::default()).is_empty());
    let lent = SessionSettings {
        gpu_mode: GpuMode::WhileRunning,
        hugepages: false,
        isolate_cpus: false,
    };
    let xml = set_session(&xml, &lent, None).expect("set");
    let found = f.check(&xml, &Facts::default());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::SessionHookMissing);
    assert!(found[0].1.contains("Host setup"), "{}", found[0].1);
}

/// The demo's VMs on libvirt's test driver, as the app lays them down with the demo host: the
/// one with the card (win11-gaming) and the others pass the pre-flight there, so Start works
/// on the demo (libvirt's default network active, as the node file defines it).
#[test]
fn the_demo_vms_pass_the_preflight_on_the_demo_host() {
    let base = tempfile::tempdir().expect("tmp");
    let dir = base.path().join("demo");
    passage_fixtures::demo::lay_down_at(&dir).expect("demo");
    let root = Root::new(&dir).expect("root");
    let host = Host::scan(&root);
    let facts = Facts {
        networks: Some(vec![("default".into(), true)]),
        ..Default::default()
    };
    let node = std::fs::read_to_string(dir.join(passage_fixtures::demo::LIBVIRT_NODE))
        .expect("the node file is laid down");
    let domains: Vec<&str> = node
        .split("<domain ")
        .skip(1)
        .map(|d| d.split("</domain>").next().expect("a domain"))
        .collect();
    assert_eq!(domains.len(), 3, "{node}");
    let mut with_card = 0;
    for d in domains {
        let xml = format!("<domain {d}</domain>");
        let dom = Domain::read(&xml).expect("domain");
        with_card += usize::from(
            dom.host_pci()
                .iter()
                .any(|a| a.to_string() == "0000:0a:00.0"),
        );
        let found = check(&dom, &host, &root, &facts);
        assert!(found.is_empty(), "{}: {found:?}", dom.name);
    }
    assert_eq!(with_card, 1, "one demo VM has the demo card");
}

/// Every finding the pre-flight makes, from the scenarios above and the ones only a remedy
/// can answer: each carries its remedy, or its cause is one Passage cannot fix (with why).
#[test]
fn every_finding_passage_can_act_on_carries_its_remedy() {
    use passage_core::vm::preflight::CANNOT_FIX;
    use passage_core::vm::session::{GpuMode, SessionSettings};
    use passage_core::vm::session_edit::set_session;
    let f = Fixture::new();
    f.free_hugepages(1000);
    f.write("home/anna/Downloads/Win11.iso", "iso");
    let home = f.dir.path().join("home/anna");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let xml = f.vm("/var/lib/libvirt/images/Gone.iso");
    let lent = SessionSettings {
        gpu_mode: GpuMode::WhileRunning,
        hugepages: true,
        isolate_cpus: false,
    };
    let session = set_session(&xml, &lent, Some(true)).expect("set").replace(
        "<memory unit='MiB'>8192</memory>",
        "<memory unit='MiB'>65536</memory>",
    );
    let scenarios = [
        xml.replace("id='10de:1e07' group='28'", "id='1002:731f' group='28'"),
        xml.replace(
            "bus='0x0a' slot='0x00' function='0x3'",
            "bus='0x0b' slot='0x00' function='0x3'",
        ),
        f.vm("/home/anna/Downloads/Win11.iso"),
        xml.replace("<os firmware='efi'>", "<os>").replace(
            "<type arch='x86_64' machine='q35'>hvm</type>",
            "<type arch='x86_64' machine='q35'>hvm</type><loader type='pflash'>/gone.fd</loader>",
        ),
        xml.replace("<memoryBacking>", "<memoryBacking><!-- -->")
            .replace("<hugepages/>", "")
            .replace(
                "<memory unit='MiB'>8192</memory>",
                "<memory unit='MiB'>4194304</memory>",
            ),
        session.clone(),
        xml.replace("'default'", "'nowhere'"),
        xml.replace("<interface type='network'>", "<interface type='bridge'>")
            .replace("<source network='default'/>", "<source bridge='br7'/>"),
        with_rom(&xml, "<rom file='/var/lib/libvirt/vbios/gone.rom'/>"),
        with_rom(&xml, "<rom bar='off'/>"),
        with_rom(&xml, "<rom file='/var/lib/libvirt/vbios/notes.rom'/>"),
        xml.replace(
            "  </devices>",
            "    <shmem name='looking-glass'><model type='ivshmem-plain'/><size unit='M'>32</size></shmem>\n  </devices>",
        ),
    ];
    f.write("var/lib/libvirt/vbios/notes.rom", "not a ROM");
    f.write("sys/class/net/lo/address", "00:00:00:00:00:00\n");
    let nets = Facts {
        networks: Some(vec![("default".into(), false)]),
        ..Default::default()
    };
    let mut seen = vec![];
    for x in &scenarios {
        let d = Domain::read(x).expect("domain");
        for found in check(&d, &f.host(), &f.root(), &nets) {
            let unfixable = CANNOT_FIX.iter().any(|(c, _)| *c == found.cause);
            assert!(
                found.remedy.is_some() || unfixable,
                "{:?} has no remedy and is not in CANNOT_FIX: {}",
                found.cause,
                found.title
            );
            seen.push((found.cause, found.remedy.clone()));
        }
    }
    // The hook's finding, on a host without it.
    std::fs::remove_file(
        f.dir
            .path()
            .join(passage_core::plan::hook::DISPATCHER.trim_start_matches('/')),
    )
    .expect("no hook");
    let d = Domain::read(&session).expect("domain");
    seen.extend(
        check(&d, &f.host(), &f.root(), &nets)
            .into_iter()
            .map(|x| (x.cause, x.remedy)),
    );
    let remedies = |c: Cause| -> Vec<Option<Remedy>> {
        seen.iter()
            .filter(|(x, _)| *x == c)
            .map(|(_, r)| r.clone())
            .collect()
    };
    // Every cause the pre-flight reports was made to appear, with the remedy it must carry.
    let want: [(Cause, Remedy); 9] = [
        (Cause::DeviceMissing, Remedy::EditDevices),
        (Cause::GroupNotViable, Remedy::EditDevices),
        (
            Cause::OvmfMissing,
            Remedy::InstallPackage {
                name: "ovmf".into(),
            },
        ),
        (
            Cause::MediaMissing,
            Remedy::ChooseImage {
                target: "sda".into(),
            },
        ),
        (
            Cause::HugepagesShort,
            Remedy::ReserveHugepages {
                size_kib: 2048,
                count: 4096,
            },
        ),
        (Cause::HugepagesShort, Remedy::TurnHugepagesOff),
        (
            Cause::NetworkInactive,
            Remedy::StartNetwork {
                network: "default".into(),
            },
        ),
        (Cause::SessionHookMissing, Remedy::OpenHostSetup),
        (
            Cause::RomNoUefi,
            Remedy::RomBarOn {
                card: "0000:0a:00.0".parse().expect("address"),
            },
        ),
    ];
    for (c, r) in want {
        assert!(
            remedies(c).contains(&Some(r.clone())),
            "{c:?} without {r:?}: {seen:?}"
        );
    }
    for (c, why) in CANNOT_FIX {
        assert!(!why.is_empty());
        assert!(
            remedies(c).contains(&None),
            "{c:?} listed as unfixable but never seen without a remedy"
        );
    }
}

/// The wizard's VM with `rom` (a `<rom>` element) in the card's `<hostdev>` (0a:00.0).
fn with_rom(xml: &str, rom: &str) -> String {
    let at = "bus='0x0a' slot='0x00' function='0x0'/>\n      </source>";
    assert!(xml.contains(at), "{xml}");
    xml.replacen(at, &format!("{at}\n      {rom}"), 1)
}

/// A card given a ROM file: the file is walked (ROMs built from the published layout), and a
/// UEFI VM is warned when OVMF would show nothing on the card at boot.
#[test]
fn a_cards_rom_file_without_an_x64_uefi_image_is_a_finding() {
    use passage_fixtures::rom;
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    assert!(f.rom_findings(&xml).is_empty());
    let vbios = |name: &str, bytes: &[u8]| {
        let p = f.dir.path().join("var/lib/libvirt/vbios").join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
        with_rom(
            &xml,
            &format!("<rom file='/var/lib/libvirt/vbios/{name}'/>"),
        )
    };

    let found = f.rom_findings(&vbios("legacy.rom", &rom::legacy_only()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::RomNoUefi);
    assert!(
        found[0].1.contains("/var/lib/libvirt/vbios/legacy.rom")
            && found[0].1.contains("has no x64 UEFI image")
            && found[0].1.contains("OVMF shows nothing"),
        "{found:?}"
    );

    let mut arm = rom::image(rom::LEGACY, 0, 2, false);
    arm.extend(rom::image(rom::EFI, rom::AARCH64, 2, true));
    let found = f.rom_findings(&vbios("arm.rom", &arm));
    assert!(found[0].1.contains("AArch64"), "{found:?}");

    let cut = rom::legacy_and_uefi();
    let found = f.rom_findings(&vbios("cut.rom", &cut[..3000]));
    assert!(found[0].1.contains("not a whole option ROM"), "{found:?}");

    // A whole ROM with the x64 image, as dumped with nvflash's header: nothing to say.
    let good = vbios("good.rom", &rom::nvidia_header(&rom::legacy_and_uefi()));
    assert!(
        f.rom_findings(&good).is_empty(),
        "{:?}",
        f.rom_findings(&good)
    );

    // A BIOS VM runs the legacy image: no finding for a legacy-only ROM there.
    let bios = vbios("legacy.rom", &rom::legacy_only()).replace("<os firmware='efi'>", "<os>");
    assert!(
        f.rom_findings(&bios).is_empty(),
        "{:?}",
        f.rom_findings(&bios)
    );
}

#[test]
fn a_missing_rom_file_and_the_rom_bar_off_are_findings() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    let found = f.rom_findings(&with_rom(
        &xml,
        "<rom file='/var/lib/libvirt/vbios/gone.rom'/>",
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Cause::RomMissing);
    assert!(
        found[0]
            .1
            .contains("The ROM file /var/lib/libvirt/vbios/gone.rom of ")
            && found[0].1.contains("(0a:00.0) is missing"),
        "{found:?}"
    );
    for off in ["<rom bar='off'/>", "<rom enabled='no'/>"] {
        let found = f.rom_findings(&with_rom(&xml, off));
        assert_eq!(found.len(), 1, "{off}: {found:?}");
        assert_eq!(found[0].0, Cause::RomNoUefi);
        assert!(found[0].1.contains("switched off"), "{found:?}");
    }
    assert!(f
        .rom_findings(&with_rom(&xml, "<rom bar='on'/>"))
        .is_empty());
}

/// The ROM BAR off: the remedy turns it on, changing only the card's `<rom>`, and the finding
/// is gone.
#[test]
fn a_cards_rom_bar_turned_off_is_turned_on_by_its_remedy() {
    use passage_core::vm::remedy_edit::rom_bar_on;
    let f = Fixture::new();
    f.free_hugepages(1000);
    let xml = with_rom(
        &f.vm("/var/lib/libvirt/images/Win11.iso"),
        "<rom bar='off'/>",
    );
    f.write("var/lib/libvirt/images/Win11.iso", "iso");
    let d = Domain::read(&xml).expect("domain");
    let found = check(&d, &f.host(), &f.root(), &Facts::default());
    let rom = found
        .iter()
        .find(|x| x.cause == Cause::RomNoUefi)
        .expect("rom-no-uefi");
    let Some(Remedy::RomBarOn { card }) = rom.remedy.clone() else {
        panic!("no remedy: {rom:?}");
    };
    let fixed = rom_bar_on(&xml, card).expect("edit");
    assert_eq!(fixed, xml.replace("<rom bar='off'/>", "<rom bar='on'/>"));
    let d = Domain::read(&fixed).expect("domain");
    let again = check(&d, &f.host(), &f.root(), &Facts::default());
    assert!(
        again.iter().all(|x| x.cause != Cause::RomNoUefi),
        "{again:?}"
    );
}

/// Looking Glass on the wizard's VM (the X570's card 0a:00.0, its DP-3 and HDMI-A-2 seen by
/// the host): each thing users get wrong is a finding of its own, and set right it goes.
#[test]
fn looking_glass_findings_name_what_users_get_wrong() {
    use passage_core::vm::looking_glass::{Backing, Monitor};
    use passage_core::vm::settings;
    let f = Fixture::new();
    f.free_hugepages(1000);
    let plain = f.vm("/var/lib/libvirt/images/Win10.iso");
    let with_lg = |res: &str, b: Backing| {
        let c = settings::Changes {
            looking_glass: Some(Some((Monitor::parse(res).expect("m"), b))),
            ..Default::default()
        };
        settings::edit(&plain, &c, false).expect("edit").xml
    };
    let xml = with_lg("1920x1080", Backing::Shm);
    let facts = |user: u32| Facts {
        networks: Some(vec![("default".into(), true)]),
        user: Some(user),
        ..Default::default()
    };
    let lg = |xml: &str, user: u32| -> Vec<String> {
        f.check(xml, &facts(user))
            .into_iter()
            .filter(|(c, _)| *c == Cause::LookingGlass)
            .map(|(_, w)| w)
            .collect()
    };
    let has = |found: &[String], what: &str| found.iter().any(|w| w.contains(what));
    // Without Looking Glass: none of these.
    assert!(lg(&plain, 1000).is_empty());

    let found = lg(&xml, 1000);
    assert!(
        has(&found, "Nothing makes Looking Glass's memory yours"),
        "{found:?}"
    );
    assert!(has(&found, "No monitor or dummy plug on"), "{found:?}");
    assert_eq!(found.len(), 2, "{found:?}");

    // The tmpfiles rule, a monitor on DP-3: clean.
    f.write(
        "etc/tmpfiles.d/10-looking-glass.conf",
        "f /dev/shm/looking-glass 0660 anna kvm -\n",
    );
    f.write("sys/class/drm/card1-DP-3/status", "connected\n");
    assert!(lg(&xml, 1000).is_empty(), "{:?}", lg(&xml, 1000));

    // The file there and not the user's (this test's files are root's).
    f.write("dev/shm/looking-glass", "");
    assert!(has(&lg(&xml, 1000), "/dev/shm/looking-glass is not yours"));
    assert!(lg(&xml, 0).is_empty(), "root's own file");

    // AppArmor on and confining libvirt's QEMU: the override's rule is needed.
    f.write("sys/module/apparmor/parameters/enabled", "Y\n");
    f.write(
        "etc/apparmor.d/abstractions/libvirt-qemu",
        "  include if exists <local/abstractions/libvirt-qemu>\n",
    );
    assert!(has(&lg(&xml, 0), "AppArmor does not let QEMU map"));
    f.write(
        "etc/apparmor.d/local/abstractions/libvirt-qemu",
        "/dev/shm/looking-glass rw,\n",
    );
    assert!(lg(&xml, 0).is_empty(), "{:?}", lg(&xml, 0));

    // Memory too small for the monitor recorded; a tablet and a balloon left in.
    let small = xml.replace("<size unit='M'>32</size>", "<size unit='M'>16</size>");
    assert!(
        has(&lg(&small, 0), "16 MiB are too small for 1920x1080"),
        "{:?}",
        lg(&small, 0)
    );
    let extras = xml.replace(
        "  </devices>",
        "    <input type='tablet' bus='usb'/>\n    <memballoon model='virtio'/>\n  </devices>",
    );
    let found = lg(&extras, 0);
    assert!(has(&found, "still has a USB tablet"), "{found:?}");
    assert!(has(&found, "memory balloon (virtio)"), "{found:?}");

    // kvmfr: its device must be there.
    let kvmfr = with_lg("2560x1440", Backing::Kvmfr);
    f.write(
        "etc/apparmor.d/local/abstractions/libvirt-qemu",
        "/dev/kvmfr0 rw,\n",
    );
    assert!(has(&lg(&kvmfr, 0), "/dev/kvmfr0 is not there"));
    f.write("dev/kvmfr0", "");
    assert!(lg(&kvmfr, 0).is_empty(), "{:?}", lg(&kvmfr, 0));
    // The module set (modprobe.d) to make kvmfr0 smaller than the VM maps: named, with the size
    // to set; as large, or no size set anywhere (loaded by hand), it passes.
    f.write(
        "etc/modprobe.d/kvmfr.conf",
        "options kvmfr static_size_mb=32\n",
    );
    let found = lg(&kvmfr, 0);
    assert!(
        has(&found, "/dev/kvmfr0 holds 32 MiB and the VM maps 64 MiB"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|x| x.contains("static_size_mb=64")),
        "{found:?}"
    );
    f.write(
        "etc/modprobe.d/kvmfr.conf",
        "options kvmfr static_size_mb=64,32\n",
    );
    assert!(lg(&kvmfr, 0).is_empty(), "{:?}", lg(&kvmfr, 0));
}

/// Whether a monitor or dummy plug is on a card the host sees no outputs of (on vfio-pci, no
/// DRM) Passage cannot tell: `cannot_tell` names those cards, and only those.
#[test]
fn a_card_without_outputs_the_host_sees_is_named_as_one_passage_cannot_tell() {
    use passage_core::vm::looking_glass_check::cannot_tell;
    let f = Fixture::new();
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    let d = Domain::read(&xml).expect("domain");
    assert!(
        cannot_tell(&d, &f.host()).is_empty(),
        "the X570's 0a:00.0 shows DP-3 and HDMI-A-2"
    );
    for out in ["card1", "card1-DP-3", "card1-HDMI-A-2"] {
        std::fs::remove_file(f.dir.path().join("sys/class/drm").join(out)).expect("rm");
    }
    let gpu: passage_core::host::PciAddress = "0000:0a:00.0".parse().expect("address");
    assert_eq!(cannot_tell(&d, &f.host()), vec![gpu]);
}

/// A VM on a host bridge: QEMU's network helper fails at start when the bridge is not there,
/// so the pre-flight names it; a bridge the kernel has (`/sys/class/net/NAME/bridge`) passes,
/// and a name that is not an interface name is never looked up as a path.
#[test]
fn a_bridge_the_host_does_not_have_is_named_before_the_start() {
    let f = Fixture::new();
    f.free_hugepages(4096);
    let xml = f.vm("/var/lib/libvirt/images/Win10.iso");
    assert!(xml.contains("<source network='default'/>"), "{xml}");
    let on = |br: &str| {
        xml.replace("<interface type='network'>", "<interface type='bridge'>")
            .replace(
                "<source network='default'/>",
                &format!("<source bridge='{br}'/>"),
            )
    };
    let bridge_findings = |xml: &str| -> Vec<String> {
        f.check(xml, &Facts::default())
            .into_iter()
            .filter(|(c, _)| *c == Cause::BridgeMissing)
            .map(|(_, t)| t)
            .collect()
    };
    // A root without the kernel's interface list (the demo host, a capture) cannot tell.
    assert_eq!(bridge_findings(&on("br0")), Vec::<String>::new());
    f.write("sys/class/net/lo/address", "00:00:00:00:00:00\n");
    let missing = bridge_findings(&on("br0"));
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("“br0”"), "{missing:?}");
    assert!(missing[0].contains("nmcli"), "{missing:?}");
    f.write("sys/class/net/br0/bridge/bridge_id", "8000.525400123456\n");
    assert_eq!(bridge_findings(&on("br0")), Vec::<String>::new());
    // A plain interface (no bridge/ directory) is not a bridge.
    f.write("sys/class/net/enp5s0/address", "52:54:00:12:34:56\n");
    assert_eq!(bridge_findings(&on("enp5s0")).len(), 1);
    assert_eq!(bridge_findings(&on("../../sys/class/net/br0")).len(), 1);
    // An Open vSwitch bridge has no bridge/ directory: the interface is enough.
    f.write("sys/class/net/ovsbr0/address", "52:54:00:12:34:57\n");
    let ovs = |br: &str| {
        on(br).replace(
            &format!("<source bridge='{br}'/>"),
            &format!("<source bridge='{br}'/><virtualport type='openvswitch'/>"),
        )
    };
    assert_eq!(bridge_findings(&ovs("ovsbr0")), Vec::<String>::new());
    assert_eq!(bridge_findings(&on("ovsbr0")).len(), 1);
    assert_eq!(bridge_findings(&ovs("ovsbr9")).len(), 1);
    // libvirt's test driver joins nothing on this host.
    let test_driver = Facts {
        without_hooks: true,
        ..Default::default()
    };
    let d = Domain::read(&on("br9")).expect("domain");
    assert!(check(&d, &f.host(), &f.root(), &test_driver)
        .iter()
        .all(|x| x.cause != Cause::BridgeMissing));
}
