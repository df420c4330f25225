//! VM specs the tests of several crates build on.

use passage_core::host::PciAddress;
use passage_core::vm::{
    self, Cdrom, DomainType, Firmware, Network, PciPassthrough, Purpose, UsbPassthrough, VmSpec,
};
use passage_core::{Host, Root};

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

/// The public tutorial's X570 board as a fixture tree, scanned.
pub fn x570() -> (Host, tempfile::TempDir) {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    (Host::scan(&Root::new(d.path()).expect("root")), d)
}

/// The tutorial's gaming VM (seed 001) on its X570 board: Windows 10 and virtio-win ISOs, the
/// RTX 2080 Ti's group, the second NVMe drive, keyboard and mouse, hugepages, pinning.
pub fn tutorial_gaming(host: &Host) -> VmSpec {
    let group: Vec<PciPassthrough> = host
        .group(28)
        .expect("group 28")
        .devices
        .iter()
        .map(|d| PciPassthrough {
            address: *d,
            rom: None,
            boot_order: None,
        })
        .collect();
    let cpus = vm::suggest_cpus(host, 12).expect("12 vCPUs fit");
    let mut pci = group;
    pci.push(PciPassthrough {
        address: a("04:00.0"),
        rom: None,
        boot_order: Some(2),
    });
    VmSpec {
        name: "win10-gaming".into(),
        purpose: Purpose::Gaming,
        domain_type: DomainType::Kvm,
        memory_mib: 16384,
        hugepages: true,
        vcpus: 12,
        topology: Some(cpus.topology),
        vcpu_pins: cpus.vcpu_pins,
        emulator_cpuset: Some(cpus.emulator_cpuset),
        firmware: Firmware::Auto {
            secure_boot: true,
            enrolled_keys: true,
        },
        tpm: true,
        devices_seen: vm::seen(host, &pci),
        pci,
        usb: vec![
            UsbPassthrough {
                vendor: 0x1b1c,
                product: 0x1b2d,
            },
            UsbPassthrough {
                vendor: 0x1532,
                product: 0x0084,
            },
        ],
        evdev: vec![],
        disks: vec![],
        cdroms: vec![
            Cdrom {
                iso: "/home/user/.iso/Win10_22H2_English_x64.iso".into(),
                boot_order: Some(1),
            },
            Cdrom {
                iso: "/home/user/.iso/virtio-win-0.1.240.iso".into(),
                boot_order: None,
            },
        ],
        network: Some(Network::Nat {
            network: "default".into(),
        }),
        spice: true,
        kvm_hidden: true,
        hyperv_vendor_id: Some("passage".into()),
        hyperv: passage_core::vm::tuning::windows_set(None),
        topoext: false,
        boot_menu: true,
        session: Default::default(),
    }
}
