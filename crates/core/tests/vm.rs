//! VM specs → domain XML checked by libvirt's own schema (virt-xml-validate), and the bare
//! QEMU command line.

mod common;

use common::valid;
use passage_core::vm::{
    self, Disk, DiskFormat, DiskSource, DomainType, Firmware, Network, Purpose, Topology, VmSpec,
};
use passage_testkit::spec::{tutorial_gaming, x570};

#[test]
fn the_tutorials_gaming_vm_is_valid_libvirt_xml() {
    let (host, _d) = x570();
    let xml = tutorial_gaming(&host).to_xml().expect("xml");
    valid(&xml);
    // Firmware by auto-selection, no explicit loader: libvirt rejects the mix.
    assert!(
        xml.contains("<os firmware='efi'>") && !xml.contains("<loader"),
        "{xml}"
    );
    assert!(
        xml.contains("<feature enabled='yes' name='secure-boot'/>")
            && xml.contains("<smm state='on'/>")
    );
    assert!(xml.contains("<cpu mode='host-passthrough' check='partial' migratable='off'>"));
    assert!(xml.contains("<topology sockets='1' dies='1' cores='6' threads='2'/>"));
    assert!(
        xml.contains("<hidden state='on'/>")
            && xml.contains("<vendor_id state='on' value='passage'/>")
    );
    assert!(xml.contains("<hugepages/>"));
    // The card's four functions on one guest slot, multifunction on function 0 only.
    assert_eq!(xml.matches("multifunction='on'").count(), 1);
    for f in 0..4 {
        assert!(
            xml.contains(&format!(
                "<address type='pci' domain='0x0000' bus='0x10' slot='0x00' function='0x{f}'"
            )),
            "function {f}"
        );
        assert!(xml.contains(&format!(
            "<address domain='0x0000' bus='0x0a' slot='0x00' function='0x{f}'/>"
        )));
    }
    // The NVMe drive on a port of its own, second in the boot order after the installer.
    assert!(xml.contains("bus='0x04' slot='0x00' function='0x0'/>\n      </source>\n      <address type='pci' domain='0x0000' bus='0x11'"), "{xml}");
    assert!(xml.contains("<boot order='2'/>\n    </hostdev>"));
    assert!(
        xml.contains("<target dev='sda' bus='sata'/>\n      <readonly/>\n      <boot order='1'/>")
    );
    assert_eq!(xml.matches("startupPolicy='optional'").count(), 2);
    assert!(xml.contains("<vendor id='0x1b1c'/>") && xml.contains("<product id='0x1b2d'/>"));
    assert!(xml.contains("<tpm model='tpm-crb'>") && xml.contains("version='2.0'"));
}

#[test]
fn pinning_follows_the_l3_layout_and_leaves_cpu_0_to_the_host() {
    let (host, _d) = x570();
    // Ryzen 9 3900X: CCXs of 3 cores (6 threads); 12 vCPUs take the last two CCXs.
    let p = vm::suggest_cpus(&host, 12).expect("plan");
    let mut cpus: Vec<u32> = p.vcpu_pins.iter().map(|(_, c)| *c).collect();
    cpus.sort_unstable();
    assert_eq!(cpus, [6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23]);
    // vCPUs 0 and 1 are one core's two threads, as the guest's topology says.
    assert_eq!(p.vcpu_pins[0], (0, 6));
    assert_eq!(p.vcpu_pins[1], (1, 18));
    assert_eq!(p.emulator_cpuset, "0,12");
    assert_eq!(
        p.topology,
        Topology {
            sockets: 1,
            cores: 6,
            threads: 2
        }
    );
    assert!(
        vm::suggest_cpus(&host, 7).is_none(),
        "an odd count cannot be whole SMT cores"
    );
    assert!(
        vm::suggest_cpus(&host, 24).is_none(),
        "the host keeps a core"
    );
}

#[test]
fn an_ml_server_vm_with_explicit_firmware_and_a_bridge() {
    let (host, _d) = x570();
    let mut s = tutorial_gaming(&host);
    s.name = "ml-server".into();
    s.purpose = Purpose::Ml;
    s.domain_type = DomainType::Qemu;
    s.firmware = Firmware::Explicit {
        code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(),
        vars_template: "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
        nvram: "/var/lib/libvirt/qemu/nvram/ml-server_VARS.fd".into(),
        secure_boot: false,
    };
    s.tpm = false;
    s.spice = false;
    s.hyperv_vendor_id = None;
    s.kvm_hidden = false;
    s.usb.clear();
    s.cdroms.clear();
    s.pci.truncate(4);
    s.disks = vec![
        Disk {
            source: DiskSource::Volume {
                pool: "default".into(),
                volume: "ml-server.qcow2".into(),
            },
            format: DiskFormat::Qcow2,
            boot_order: Some(1),
        },
        Disk {
            source: DiskSource::File {
                path: "/srv/datasets/imagenet.raw".into(),
            },
            format: DiskFormat::Raw,
            boot_order: None,
        },
    ];
    s.network = Some(Network::Bridge {
        bridge: "VMBridge".into(),
    });
    let xml = s.to_xml().expect("xml");
    valid(&xml);
    assert!(xml.starts_with("<domain type='qemu'>"));
    assert!(
        xml.contains("<cpu mode='maximum' check='none' migratable='off'>"),
        "TCG cannot pass the host CPU through"
    );
    assert!(xml.contains(
        "<loader readonly='yes' secure='no' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"
    ));
    assert!(xml.contains("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/ml-server_VARS.fd</nvram>"));
    assert!(!xml.contains("firmware='efi'") && !xml.contains("<smm"));
    assert!(xml.contains("<interface type='bridge'>\n      <source bridge='VMBridge'/>"));
    assert!(xml.contains("<model type='none'/>") && !xml.contains("spice"));
    assert!(xml.contains("<source pool='default' volume='ml-server.qcow2'/>"));
}

/// Something that breaks a valid spec.
type Breaker = Box<dyn Fn(&mut VmSpec)>;

#[test]
fn paths_are_escaped_and_bad_specs_name_the_field() {
    let (host, _d) = x570();
    let mut s = tutorial_gaming(&host);
    s.cdroms[0].iso = "/home/user/ISOs/Tom's & Jerry's <Windows>.iso".into();
    let xml = s.to_xml().expect("xml");
    valid(&xml);
    assert!(xml.contains("Tom&apos;s &amp; Jerry&apos;s &lt;Windows&gt;.iso"));

    let cases: Vec<(Breaker, &str)> = vec![
        (Box::new(|s| s.name = "../etc".into()), "name:"),
        (Box::new(|s| s.name = "win 10".into()), "name:"),
        (
            Box::new(|s| s.cdroms[0].iso = "Win10.iso".into()),
            "cdroms.iso: \"Win10.iso\" is not an absolute path",
        ),
        (
            Box::new(|s| s.cdroms[0].iso = "/iso/../../etc/shadow".into()),
            "cdroms.iso:",
        ),
        (
            Box::new(|s| {
                s.topology = Some(Topology {
                    sockets: 1,
                    cores: 4,
                    threads: 2,
                })
            }),
            "topology: 1 socket × 4 cores × 2 threads is not 12 vCPUs",
        ),
        (Box::new(|s| s.cdroms[1].boot_order = Some(1)), "boot_order"),
        (
            Box::new(|s| s.hyperv_vendor_id = Some("thirteen-chars".into())),
            "hyperv_vendor_id",
        ),
        (
            Box::new(|s| s.vcpu_pins.push((12, 3))),
            "vcpu_pins: vCPU 12 does not exist",
        ),
        (Box::new(|s| s.memory_mib = 16385), "multiple of 2 MiB"),
        (Box::new(|s| s.pci.push(s.pci[0].clone())), "listed twice"),
        (
            Box::new(|s| s.evdev = vec!["/etc/passwd".into()]),
            "not below /dev/input",
        ),
        (
            Box::new(|s| {
                s.network = Some(Network::Bridge {
                    bridge: "br0; reboot".into(),
                })
            }),
            "network.bridge",
        ),
        (
            Box::new(|s| s.emulator_cpuset = Some("0-x".into())),
            "emulator_cpuset",
        ),
    ];
    for (break_it, why) in cases {
        let mut bad = tutorial_gaming(&host);
        break_it(&mut bad);
        let e = bad.to_xml().expect_err(why).to_string();
        assert!(e.contains(why), "{e} (wanted {why})");
    }
}

#[test]
fn the_same_vm_as_a_bare_qemu_command_line() {
    let (host, _d) = x570();
    let s = tutorial_gaming(&host);
    let e = s
        .qemu_args(None)
        .expect_err("auto firmware needs the host's pair")
        .to_string();
    assert!(e.contains("firmware") && e.contains("OVMF"), "{e}");
    let fw = host.ovmf().expect("ovmf");
    let args = s
        .qemu_args(Some((
            fw.executable.as_deref().unwrap_or(""),
            fw.nvram_template.as_deref().unwrap_or(""),
        )))
        .expect("args");
    let line = args.join(" ");
    assert!(
        line.starts_with("qemu-system-x86_64 -name win10-gaming -machine q35,accel=kvm,smm=on"),
        "{line}"
    );
    assert!(
        line.contains("-cpu host,migratable=off,kvm=off,host-cache-info=on,l3-cache=off,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on"),
        "{line}"
    );
    assert!(
        line.contains(
            "-smp 12,sockets=1,cores=6,threads=2 -m 16384M -mem-path /dev/hugepages -mem-prealloc"
        ),
        "{line}"
    );
    assert!(
        line.contains(
            "-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
        ),
        "{line}"
    );
    assert!(line.contains("-device vfio-pci,host=0000:0a:00.0,bus=rp0,addr=0x0.0,multifunction=on -device vfio-pci,host=0000:0a:00.1,bus=rp0,addr=0x0.1"), "{line}");
    assert!(
        line.contains("-device vfio-pci,host=0000:04:00.0,bus=rp1,addr=0x0.0"),
        "{line}"
    );
    assert!(
        line.contains("usb-host,bus=xhci.0,vendorid=0x1b1c,productid=0x1b2d"),
        "{line}"
    );
    assert!(
        line.contains("-netdev user,id=net0 -device virtio-net-pci,netdev=net0"),
        "{line}"
    );
    // Each argument is one word for exec: nothing goes through a shell.
    assert!(args.iter().all(|a| !a.is_empty()));
}

#[test]
fn a_windows_vm_is_tuned_like_proxmox_and_a_linux_vm_gets_no_hyper_v() {
    let (host, _d) = x570();
    let gpu = "0000:0a:00.0".parse().expect("gpu");
    let s = passage_core::vm::suggest(&host, gpu, "win", 12, 16384).expect("suggest");
    assert!(s.topoext, "an AMD host with SMT");
    let xml = s.to_xml().expect("xml");
    valid(&xml);
    for h in [
        "relaxed",
        "vapic",
        "vpindex",
        "runtime",
        "synic",
        "stimer",
        "reset",
        "frequencies",
        "tlbflush",
        "ipi",
    ] {
        assert!(xml.contains(&format!("<{h} state='on'/>")), "{h}:\n{xml}");
    }
    assert!(xml.contains("<spinlocks state='on' retries='8191'/>"));
    assert!(xml.contains("<timer name='hypervclock' present='yes'/>"));
    assert!(xml.contains("<cache mode='passthrough'/>"));
    assert!(xml.contains("<feature policy='require' name='topoext'/>"));
    assert!(xml.contains("<emulatorpin cpuset=") && xml.contains("<iothreadpin iothread='1'"));

    // The wizard's ML VM: the same passthrough, no Hyper-V at all.
    let mut d = passage_core::vm::draft::Draft::new(
        &host,
        passage_core::vm::devices::initial_selection(&host),
    );
    d.set_text(&host, "purpose", "ml").expect("ml");
    let ml = d.spec(&host).expect("spec");
    let xml = ml.to_xml().expect("xml");
    valid(&xml);
    assert!(
        !xml.contains("<hyperv") && !xml.contains("hypervclock"),
        "{xml}"
    );
    assert!(xml.contains("<cache mode='passthrough'/>"));
    // A disk on the VM's I/O thread.
    assert!(xml.contains("discard='unmap' iothread='1'/>"), "{xml}");
}

#[test]
fn hyper_v_follows_what_the_hosts_libvirt_supports() {
    use passage_core::vm::tuning::{supported_from_domcaps, windows_set, Hv};
    let (host, _d) = x570();
    let gpu = "0000:0a:00.0".parse().expect("gpu");
    let mut s = passage_core::vm::suggest(&host, gpu, "win", 4, 8192).expect("suggest");
    // libvirt 9.0 with QEMU 8.0 (libvirt's own test data, tests/domaincapsdata).
    let caps = "<domainCapabilities><features><hyperv supported='yes'><enum name='features'><value>relaxed</value><value>vapic</value><value>spinlocks</value><value>vpindex</value><value>runtime</value><value>synic</value><value>stimer</value><value>reset</value><value>vendor_id</value><value>frequencies</value><value>reenlightenment</value><value>tlbflush</value><value>ipi</value><value>avic</value></enum></hyperv></features></domainCapabilities>";
    s.hyperv = windows_set(supported_from_domcaps(caps).as_deref());
    assert!(s.hyperv.contains(&Hv::Avic) && s.hyperv.contains(&Hv::Reenlightenment));
    let xml = s.to_xml().expect("xml");
    valid(&xml);
    assert!(xml.contains("<avic state='on'/>") && xml.contains("<reenlightenment state='on'/>"));
}

/// libvirt streams a `<serial>` or `<console>` only when its source is a pty (qemu driver:
/// "character device … is not using a PTY"); a chardev with no type is a pty.
#[test]
fn a_serial_console_is_a_pty_serial_or_console() {
    let dom = |devices: &str| {
        vm::Domain::read(&format!(
            "<domain type='qemu'><name>t</name><devices>{devices}</devices></domain>"
        ))
        .expect("reads")
        .serial_console
    };
    assert!(dom("<serial type='pty'><target port='0'/></serial>"));
    assert!(dom(
        "<console type='pty'><target type='serial' port='0'/></console>"
    ));
    assert!(dom("<serial><target port='0'/></serial>"));
    assert!(!dom(
        "<serial type='file'><source path='/tmp/s.log'/><target port='0'/></serial>"
    ));
    assert!(!dom("<graphics type='spice'/>"));
    assert!(!dom(""));
}
