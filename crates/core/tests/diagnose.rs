//! The diagnosis table on real start errors (tests/data/start-errors.txt names where each was
//! seen): every text gets the cause it means, with its subject where the text names one.

use passage_core::vm::diagnose::{explain, Cause};

struct Case {
    source: String,
    cause: String,
    text: String,
    /// In the validation set: measured, never tuned on.
    held_out: bool,
}

fn cases() -> Vec<Case> {
    let data = include_str!("data/start-errors.txt");
    data.split("\n---\n")
        .filter_map(|block| {
            let mut source = None;
            let mut cause = None;
            let mut text = vec![];
            let mut held_out = false;
            for line in block.lines() {
                if line == "# held-out" {
                    held_out = true;
                } else if let Some(s) = line.strip_prefix("# source: ") {
                    source = Some(s.to_string());
                } else if let Some(c) = line.strip_prefix("# cause: ") {
                    cause = Some(c.to_string());
                } else if !line.starts_with('#') {
                    text.push(line);
                }
            }
            Some(Case {
                source: source?,
                cause: cause?,
                text: text.join("\n"),
                held_out,
            })
        })
        .collect()
}

#[test]
fn every_training_text_gets_the_cause_it_means() {
    let cases = cases();
    let held = cases.iter().filter(|c| c.held_out).count();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    assert!(
        3 * held >= cases.len(),
        "only {held} of {} held out",
        cases.len()
    );
    let mut wrong = vec![];
    for c in cases.iter().filter(|c| !c.held_out) {
        let d = explain(&c.text);
        if d.cause.id() != c.cause {
            wrong.push(format!(
                "{} (from {}): said {}\n  {}",
                c.cause,
                c.source,
                d.cause.id(),
                c.text
            ));
        }
        assert!(!d.title.is_empty() && !d.fix.is_empty());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Each named cause is covered by at least one real text.
    for id in [
        "hugepages-short",
        "group-not-viable",
        "device-busy",
        "vfio-permission",
        "iommu-off",
        "reset-failed",
        "rom-missing",
        "ovmf-missing",
        "network-inactive",
        "kvm-missing",
        "display-unsupported",
        "tpm-missing",
        "media-permission",
        "device-missing",
        "interrupt-remapping",
        "card-unresponsive",
        "card-d3cold",
        "bridge-missing",
        "qemu-newer-than-libvirt",
        "vfio-unbound",
        "rom-unreadable",
        "kvm-busy",
        "display-gl",
        "tpm-failed",
        "kvm-permission",
        "qemu-firmware-missing",
        "media-missing",
        "unknown",
    ] {
        assert!(
            cases.iter().any(|c| c.cause == id && !c.held_out),
            "no real training text for {id}"
        );
    }
}

/// The share of held-out texts (never tuned on) named right. Measured when the rules for issue
/// 20's families were written: 45 of 53 (84 %); before them, 23 of 53 (43 %). With the second
/// round's 45 field texts (15 more held out) and the rules for their families (kvm-permission,
/// qemu-firmware-missing, media-missing, EGL displays): 63 of 68 (92 %: 48 of the first 53, 15
/// of the new 15); before those rules, 50 of 68 (73 %). The floor lets one text slip, not a
/// family.
const HELD_OUT_FLOOR_PERCENT: usize = 90;

#[test]
fn held_out_hit_rate() {
    use std::io::Write;
    let cases = cases();
    let held: Vec<&Case> = cases.iter().filter(|c| c.held_out).collect();
    assert!(!held.is_empty(), "no held-out texts");
    // Only the count: which texts are missed is not printed, so that nobody tunes a rule on them.
    let right = held
        .iter()
        .filter(|c| explain(&c.text).cause.id() == c.cause)
        .count();
    let percent = 100 * right / held.len();
    // Straight to the process's stderr, past the test harness's capture: the rate shows in
    // every `cargo test` run, not only with --nocapture.
    let _ = writeln!(
        std::io::stderr().lock(),
        "held-out: {right} of {} named right ({percent} %)",
        held.len()
    );
    assert!(
        percent >= HELD_OUT_FLOOR_PERCENT,
        "held-out hit rate {percent} % is below the floor {HELD_OUT_FLOOR_PERCENT} %"
    );
}

#[test]
fn the_new_causes_name_their_subject() {
    let d = explain("libvirt Error - Cannot get interface MTU on 'br0': No such device");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::BridgeMissing, Some("br0"))
    );
    assert!(d.title.contains("br0"), "{}", d.title);
    let d = explain("internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: -no-hpet: invalid option");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::QemuNewerThanLibvirt, Some("-no-hpet"))
    );
    assert!(d.fix.contains("-no-hpet"), "{}", d.fix);
    let d = explain("internal error: Unknown PCI header type '127' for device '0000:01:00.0'");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::CardUnresponsive, Some("0000:01:00.0"))
    );
}

#[test]
fn the_subject_is_named() {
    let d = explain("Cannot access storage file '/home/anna/Win11.iso' (as uid:64055, gid:108): Permission denied");
    assert_eq!(d.cause, Cause::MediaPermission);
    assert_eq!(d.subject.as_deref(), Some("/home/anna/Win11.iso"));
    assert!(d.title.contains("/home/anna/Win11.iso"), "{}", d.title);
    let d = explain("Requested operation is not valid: PCI device 0000:0a:00.0 is in use by driver QEMU, domain gaming");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::DeviceBusy, Some("gaming"))
    );
    // Passage's hook, as libvirt relays it: the process that holds the card, the VM that has it.
    let d = explain("Hook script execution failed: internal error: Child process (/etc/libvirt/hooks/qemu.d/50-passage l3s prepare begin -) unexpected exit status 1: passage: the graphics card is in use on the host: card-holder (PID 437) has /dev/dri/card1 open. Close those programs");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::DeviceBusy, Some("card-holder (PID 437)"))
    );
    assert!(d.title.contains("card-holder (PID 437)"), "{}", d.title);
    let d = explain("unexpected exit status 1: passage: 0000:0a:00.0 is lent to the VM \"win11\" (session 000004); shut that VM down first");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::DeviceBusy, Some("win11"))
    );
    let d = explain("Requested operation is not valid: network 'default' is not active");
    assert_eq!(d.subject.as_deref(), Some("default"));
    let d = explain("Device 0000:0b:00.0 not found: could not access /sys/bus/pci/devices/0000:0b:00.0/config: No such file or directory");
    assert_eq!(d.subject.as_deref(), Some("0000:0b:00.0"));
    let json = serde_json::to_value(&d).expect("json");
    assert_eq!(json["cause"], "device-missing");
}

#[test]
fn the_field_families_name_their_subject() {
    let d = explain("qemu-system-x86_64: -device vfio-pci,host=44:00.0,bus=pci.1: vfio 0000:44:00.0: failed to open /dev/vfio/47: No such file or directory");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::VfioUnbound, Some("0000:44:00.0"))
    );
    assert!(d.fix.contains("Host setup"), "{}", d.fix);
    // Busy, but KVM's: another hypervisor, not the card.
    let d = explain("ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy\nqemu-system-x86_64: failed to initialize KVM: Device or resource busy");
    assert_eq!((d.cause, d.subject), (Cause::KvmBusy, None));
    assert!(d.fix.contains("VirtualBox"), "{}", d.fix);
    let d = explain("Error starting domain: internal error: Could not run '/usr/local/bin/swtpm_setup'. exitstatus: 126; Check error log '/var/log/swtpm/libvirt/qemu/w-swtpm.log' for details.");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (
            Cause::TpmFailed,
            Some("/var/log/swtpm/libvirt/qemu/w-swtpm.log")
        )
    );
    assert!(
        d.fix.contains("/var/log/swtpm/libvirt/qemu/w-swtpm.log"),
        "{}",
        d.fix
    );
    let d = explain("[ 1530.023314] vfio-pci 0000:01:00.0: Invalid PCI ROM header signature: expecting 0xaa55, got 0xffff");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::RomUnreadable, Some("0000:01:00.0"))
    );
}

#[test]
fn wrappers_are_read_through_to_the_subject() {
    // KubeVirt's JSON log: the path is inside an escaped message.
    let d = explain(
        r#"{"component":"virt-launcher","level":"error","msg":"internal error: qemu unexpectedly closed the monitor: 2024-01-11T08:23:30.351153Z qemu-kvm: -blockdev {\"driver\":\"host_device\",\"filename\":\"/dev/vg0/win\"}: Could not open '/dev/vg0/win': Permission denied","pos":"qemuProcessReportLogError:1971"}"#,
    );
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::MediaPermission, Some("/dev/vg0/win"))
    );
    // virt-manager's traceback around libvirt's message, in a Russian desktop's words.
    let d = explain("libvirt.libvirtError: внутренняя ошибка: qemu unexpectedly closed the monitor: vfio 0000:01:00.0: group 1 is not viable\n\nTraceback (most recent call last):\n  File \"/usr/share/virt-manager/virtManager/asyncjob.py\", line 75, in cb_wrapper\n    callback(asyncjob, *args, **kwargs)\nlibvirt.libvirtError: внутренняя ошибка: qemu unexpectedly closed the monitor: vfio 0000:01:00.0: group 1 is not viable");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (Cause::GroupNotViable, Some("0000:01:00.0"))
    );
    // A dialog that wrapped libvirt's sentence: the phrase is read across the break.
    let d = explain("Error starting domain: operation failed: unable to find any master\nvar store for loader: /usr/share/OVMF/OVMF_CODE_4M.fd\n\nTraceback (most recent call last):\n  File \"/usr/share/virt-manager/virtManager/asyncjob.py\", line 72, in cb_wrapper\n    callback(asyncjob, *args, **kwargs)");
    assert_eq!(d.cause, Cause::OvmfMissing);
    // Kimchi's wrapper with a full-width colon: the address is read among characters wider than
    // a byte (reading it panicked before).
    let d = explain("KCHVM0019E: Could not start virtual machine w10. Detail info：internal error: qemu unexpectedly closed the monitor: vfio 0000:01:00.0: group 1 is not viable");
    assert_eq!(d.subject.as_deref(), Some("0000:01:00.0"));
}

#[test]
fn the_second_round_families_are_named_with_their_fix() {
    // /dev/kvm there but not permitted: not "KVM is not available".
    let d = explain("libvirtError: internal error: process exited while connecting to monitor: Could not access KVM kernel module: Permission denied\nfailed to initialize KVM: Permission denied");
    assert_eq!((d.cause, d.subject), (Cause::KvmPermission, None));
    assert!(d.fix.contains("kvm group"), "{}", d.fix);
    // QEMU's own BIOS and boot ROMs, by bare name: not the card's ROM, not OVMF.
    let d = explain("qemu-system-x86_64: -device virtio-net-pci,netdev=hostnet0,id=net0: failed to find romfile \"efi-virtio.rom\"");
    assert_eq!(d.cause, Cause::QemuFirmwareMissing);
    assert!(d.fix.contains("ipxe-qemu"), "{}", d.fix);
    let d = explain("qemu-system-x86_64: -device vfio-pci,host=0000:0a:00.0,romfile=/usr/share/vgabios/patched.rom: failed to find romfile \"/usr/share/vgabios/patched.rom\"");
    assert_eq!(d.cause, Cause::RomMissing);
    let d = explain("qemu: could not load PC BIOS '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd'");
    assert_eq!(d.cause, Cause::OvmfMissing);
    // A disk that is not there, named; a missing NVRAM template stays the firmware's.
    let d = explain("error: Failed to start domain 'win11'\nerror: Cannot access storage file '/var/lib/libvirt/images/win11.qcow2': No such file or directory");
    assert_eq!(
        (d.cause, d.subject.as_deref()),
        (
            Cause::MediaMissing,
            Some("/var/lib/libvirt/images/win11.qcow2")
        )
    );
    assert!(d.title.contains("win11.qcow2"), "{}", d.title);
    let d = explain("Cannot access storage file '/usr/share/OVMF/OVMF_VARS_4M.ms.fd': No such file or directory");
    assert_eq!(d.cause, Cause::OvmfMissing);
    // EGL, whichever display asked for it.
    let d = explain("qemu-system-x86_64: egl: no drm render node available\nqemu-system-x86_64: egl: render node init failed");
    assert_eq!(d.cause, Cause::DisplayGl);
}
