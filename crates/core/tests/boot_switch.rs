//! `passage.vfio=off` switches off what Passage sets up for boot: the modprobe.d `install`
//! command is run here by real shells (dash, and busybox's as in an initramfs) against a
//! stand-in /proc/cmdline, and the udev rule is read for its structure. The test bed
//! (`build-aux/testbed/test-boot-switch.sh`) boots a real kernel with and without the switch.

use std::process::Command;

use passage_core::host::PciAddress;
use passage_core::plan::vfio::{modprobe_conf, udev_rules, SWITCH_OFF};

/// The command of the `install vfio-pci` line, with /proc/cmdline and /sbin/modprobe replaced
/// by a temp file and `echo`, so it prints the modprobe call it would make.
fn install_command(conf: &str, cmdline: &std::path::Path) -> String {
    let line = conf
        .lines()
        .find_map(|l| l.strip_prefix("install vfio-pci "))
        .expect("an install line");
    line.replace("/proc/cmdline", &cmdline.display().to_string())
        .replace("/sbin/modprobe", "echo modprobe")
}

fn shells() -> Vec<Vec<&'static str>> {
    let mut s = vec![vec!["sh", "-c"]];
    if Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
    {
        s.push(vec!["busybox", "sh", "-c"]);
    }
    s
}

#[test]
fn the_install_command_passes_ids_unless_the_switch_is_on_the_command_line() {
    let ids = ["1234:1111".to_string(), "8086:293e".to_string()];
    let conf = modprobe_conf(Some(&ids), &[], &["bochs".into()]);
    assert!(conf.contains("softdep bochs pre: vfio-pci\n"), "{conf}");
    let d = tempfile::tempdir().expect("tempdir");
    let cmdline = d.path().join("cmdline");
    let cases = [
        (
            "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet intel_iommu=on\n",
            true,
        ),
        ("BOOT_IMAGE=/vmlinuz quiet passage.vfio=off\n", false),
        ("passage.vfio=off intel_iommu=on\n", false),
        ("quiet passage.vfio=offline\n", true),
        ("quiet xpassage.vfio=off\n", true),
        ("quiet passage.vfio=on\n", true),
        ("", true),
    ];
    for shell in shells() {
        for (text, binds) in cases {
            std::fs::write(&cmdline, text).expect("write");
            let cmd = install_command(&conf, &cmdline);
            let out = Command::new(shell[0])
                .args(&shell[1..])
                .arg(&cmd)
                .env("CMDLINE_OPTS", "")
                .output()
                .expect("run the shell");
            assert!(out.status.success(), "{shell:?} {text:?}: {out:?}");
            let said = String::from_utf8_lossy(&out.stdout);
            let want = if binds {
                "modprobe --ignore-install vfio-pci ids=1234:1111,8086:293e"
            } else {
                "modprobe --ignore-install vfio-pci"
            };
            assert_eq!(said.trim(), want, "{shell:?} with cmdline {text:?}");
        }
    }
}

#[test]
fn a_conf_bound_by_address_has_no_ids_and_the_udev_rule_honours_the_switch() {
    let conf = modprobe_conf(None, &["0000:02:00.0".into()], &["nvidia".into()]);
    assert!(!conf.contains("ids="), "{conf}");
    assert!(!conf.lines().any(|l| l.starts_with("install ")), "{conf}");
    let a: PciAddress = "0000:01:00.0".parse().expect("addr");
    let rules = udev_rules(&[a]);
    let lines: Vec<&str> = rules.lines().filter(|l| !l.starts_with('#')).collect();
    let import = lines
        .iter()
        .position(|l| *l == "IMPORT{cmdline}=\"passage.vfio\"")
        .expect("imports the switch");
    let skip = lines
        .iter()
        .position(|l| *l == "ENV{passage.vfio}==\"off\", GOTO=\"passage_vfio_end\"")
        .expect("skips on the switch");
    let bind = lines
        .iter()
        .position(|l| l.contains("ATTR{driver_override}=\"vfio-pci\""))
        .expect("binds");
    assert!(import < skip && skip < bind, "{rules}");
    assert_eq!(lines.last(), Some(&"LABEL=\"passage_vfio_end\""));
    assert_eq!(SWITCH_OFF, "passage.vfio=off");
}
