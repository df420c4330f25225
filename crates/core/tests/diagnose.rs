//! The diagnosis table on real start errors (tests/data/start-errors.txt names where each was
//! seen): every text gets the cause it means, with its subject where the text names one.

use passage_core::vm::diagnose::{explain, Cause};

struct Case {
    source: String,
    cause: String,
    text: String,
}

fn cases() -> Vec<Case> {
    let data = include_str!("data/start-errors.txt");
    data.split("\n---\n")
        .filter_map(|block| {
            let mut source = None;
            let mut cause = None;
            let mut text = vec![];
            for line in block.lines() {
                if let Some(s) = line.strip_prefix("# source: ") {
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
            })
        })
        .collect()
}

#[test]
fn every_real_error_gets_the_cause_it_means() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut wrong = vec![];
    for c in &cases {
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
        "bridge-missing",
        "qemu-newer-than-libvirt",
        "unknown",
    ] {
        assert!(cases.iter().any(|c| c.cause == id), "no real text for {id}");
    }
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
