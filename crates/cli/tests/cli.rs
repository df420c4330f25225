//! passagectl as a user runs it: exit codes, messages, JSON, capture and replay.

mod common;
use common::*;

use std::io::Read;
use std::process::Command;

#[test]
fn scan_json_contract_on_the_x570_fixture() {
    let d = fixture("x570-tutorial");
    let o = passagectl(&["scan", "--json", "--root", d.path().to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    for key in [
        "pci_devices",
        "iommu_groups",
        "cpu",
        "iommu_enabled",
        "kernel_cmdline",
        "boot_loader",
        "initramfs",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let gpu = v["pci_devices"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["address"] == "0000:0a:00.0"))
        .expect("gpu");
    assert_eq!(
        (
            gpu["class"].as_str(),
            gpu["vendor_id"].as_str(),
            gpu["iommu_group"].as_u64()
        ),
        (Some("0x030000"), Some("10de"), Some(28))
    );
    assert!(v["kernel_cmdline"]
        .as_array()
        .is_some_and(|a| a.iter().all(|x| x.is_string())));
}

#[test]
fn human_scan_shows_groups_as_a_tree_with_gpus_marked() {
    let o = passagectl(&["scan", "--demo"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("Group 28  ✔ can go to a VM"), "{out}");
    assert!(out.contains("└─ 0000:0a:00.3"), "{out}");
    assert!(
        out.contains("Group 31  ✘ the host needs it: 0000:0d:00.0 is the boot display"),
        "{out}"
    );
    assert!(out.contains("◀ GPU, host display"), "{out}");
    assert!(
        out.contains(
            "3-1.2    Corsair K95 RGB Platinum Keyboard [RGP0056] [1b1c:1b2d]  on 0000:07:00.3"
        ),
        "{out}"
    );
    assert!(
        !out.contains("\x1b["),
        "no colour codes when not on a terminal"
    );
}

#[test]
fn check_exit_codes_follow_blockers() {
    let ok = fixture("x570-tutorial");
    let o = passagectl(&["check", "--root", ok.path().to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("Nothing blocks GPU passthrough"));

    let blocked = fixture("single-gpu");
    let o = passagectl(&[
        "check",
        "--json",
        "--root",
        blocked.path().to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let f = v["findings"].as_array().expect("findings");
    assert!(f.iter().all(|x| x["id"].is_string()
        && x["severity"].is_string()
        && x["title"].is_string()
        && x["detail"].is_string()
        && x.get("fix").is_some()));
    assert!(f
        .iter()
        .any(|x| x["id"] == "only-gpu" && x["severity"] == "warning"));
}

#[test]
fn bad_usage_and_bad_roots_exit_2_with_a_clear_message() {
    let o = passagectl(&["scan", "--root", "/nonexistent/host"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/host") && stderr(&o).contains("does not exist"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());

    let o = passagectl(&["check", "--demo", "--gpu", "01:00"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a PCI address") && stderr(&o).contains("0000:01:00.0"),
        "{}",
        stderr(&o)
    );

    let o = passagectl(&["check", "--demo", "--gpu", "0000:0a:00.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a graphics card"), "{}", stderr(&o));

    let o = passagectl(&["scan", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));

    let f = tempfile::NamedTempFile::new().expect("tmp");
    let o = passagectl(&["scan", "--root", f.path().to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));

    let bad = tempfile::Builder::new()
        .suffix(".tar.gz")
        .tempfile()
        .expect("tmp");
    std::fs::write(bad.path(), b"not a tarball").expect("w");
    let o = passagectl(&["scan", "--root", bad.path().to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a capture"), "{}", stderr(&o));
}

/// Removes what legitimately differs between a host and its replay: where names came from.
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().map(|o| o.remove("names_from"));
    v
}

#[test]
fn capture_replays_to_the_same_scan_and_keeps_private_things_out() {
    let d = fixture("x570-tutorial");
    let root = d.path().to_str().expect("utf8");
    let out_dir = tempfile::tempdir().expect("tmp");
    let archive = out_dir.path().join("host.tar.gz");
    let archive_s = archive.to_str().expect("utf8");
    let o = passagectl(&["capture", archive_s, "--root", root]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("51 PCI devices, 35 IOMMU groups"),
        "{}",
        stdout(&o)
    );

    // Replaying the archive gives the same picture, with the home mount point redacted.
    let live = comparable(json(&passagectl(&["scan", "--json", "--root", root])));
    let replay = comparable(json(&passagectl(&["scan", "--json", "--root", archive_s])));
    let redacted: serde_json::Value =
        serde_json::from_str(&live.to_string().replace("/home/alice/", "/home/user/"))
            .expect("json");
    assert_ne!(
        live, redacted,
        "the fixture has a mount below a home directory"
    );
    assert_eq!(redacted, replay, "replay differs");
    let what = |v: &serde_json::Value| {
        v["iommu_groups"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["id"] == 13))
            .map(|g| g["host_needs"][0]["what"].clone())
    };
    assert!(
        what(&replay).is_some_and(|w| w.as_str().unwrap_or("").contains("/home/user/Games")),
        "{:?}",
        what(&replay)
    );

    // Nothing private in it: no serials, EDIDs, MAC addresses or user names.
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(&archive).expect("open"),
    ));
    let mut names = Vec::new();
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut body = Vec::new();
        e.read_to_end(&mut body).expect("read");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("alice"), "{name} holds a user name");
        assert!(
            !text.contains("DO-NOT-CAPTURE") && !text.contains("EDID"),
            "{name} holds a serial or EDID"
        );
        names.push(name);
    }
    for n in &names {
        assert!(
            !n.ends_with("/serial") && !n.ends_with("/edid") && !n.ends_with("/address"),
            "{n}"
        );
        assert!(
            n == "passage-capture.json"
                || n.starts_with("sys/")
                || n.starts_with("proc/")
                || n.starts_with("etc/")
                || n.starts_with("dev/")
                || n.starts_with("lib/modules/")
                || n.starts_with("usr/share/")
                || n.starts_with("boot/")
                || n.starts_with("usr/sbin/")
                || n.starts_with("usr/bin/")
                || n.starts_with("usr/lib/x86_64-linux-gnu/qemu"),
            "{n}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n == "sys/bus/pci/devices/0000:0a:00.0"),
        "links are kept"
    );

    // The archive is never overwritten.
    let o = passagectl(&["capture", archive_s, "--root", root]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn the_capture_of_a_real_kernel_matches_what_that_kernel_said() {
    let archive = data_dir().join("capture.tar.gz");
    let o = passagectl(&["scan", "--json", "--root", archive.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    compare_with_kernel(&v, &data_dir());
    // The test bed's GPU-like slot: QEMU VGA + ICH9 HD audio, one group, behind a root port.
    let devs = v["pci_devices"].as_array().expect("devices");
    let vga = devs
        .iter()
        .find(|d| d["vendor_id"] == "1234" && d["device_id"] == "1111")
        .expect("QEMU VGA");
    let hda = devs
        .iter()
        .find(|d| d["address"] == "0000:01:00.1")
        .expect("HDA");
    assert_eq!(vga["iommu_group"], hda["iommu_group"]);
    assert_eq!(vga["boot_vga"], true);
    assert_eq!(hda["driver"], "snd_hda_intel");
    assert_eq!(v["iommu_enabled"], true);
    assert_eq!(v["kernel"]["interrupt_remapping"], true);
    assert!(v["kernel_cmdline"]
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x == "intel_iommu=on")));
    assert_eq!(
        v["problems"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["problems"]
    );
}

#[test]
fn lspci_reads_every_fixture_tree() {
    let lspci = ["/usr/bin/lspci", "/usr/sbin/lspci", "/bin/lspci"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("lspci (pciutils) is installed by build-aux/install-deps.sh");
    for name in passage_fixtures::NAMES {
        let d = fixture(name);
        let sysfs = d.path().join("sys/bus/pci");
        let o = Command::new(lspci)
            .args(["-A", "linux-sysfs", "-O"])
            .arg(format!("sysfs.path={}", sysfs.display()))
            .arg("-Dnnk")
            .output()
            .expect("lspci");
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let scan = json(&passagectl(&[
            "scan",
            "--json",
            "--root",
            d.path().to_str().expect("utf8"),
        ]));
        let listed = String::from_utf8_lossy(&o.stdout);
        let lines: Vec<&str> = listed.lines().filter(|l| !l.starts_with('\t')).collect();
        let devs = scan["pci_devices"].as_array().expect("devices");
        assert_eq!(
            lines.len(),
            devs.len(),
            "{name}: lspci lists {} devices",
            lines.len()
        );
        for dev in devs {
            let addr = dev["address"].as_str().expect("addr");
            let line = lines
                .iter()
                .find(|l| l.starts_with(addr))
                .unwrap_or_else(|| panic!("{name}: lspci misses {addr}"));
            let ids = format!(
                "[{}:{}]",
                dev["vendor_id"].as_str().expect("v"),
                dev["device_id"].as_str().expect("d")
            );
            assert!(line.contains(&ids), "{name}: {line} vs {ids}");
        }
        // "\tKernel driver in use: X" belongs to the device line above it.
        let mut drivers = std::collections::BTreeMap::new();
        let mut cur = "";
        for l in listed.lines() {
            match l.strip_prefix("\tKernel driver in use: ") {
                Some(drv) => {
                    drivers.insert(cur.to_string(), drv.to_string());
                }
                None if !l.starts_with('\t') => cur = l.split_whitespace().next().unwrap_or(""),
                None => {}
            }
        }
        let ours: std::collections::BTreeMap<String, String> = devs
            .iter()
            .filter_map(|d| {
                Some((
                    d["address"].as_str()?.to_string(),
                    d["driver"].as_str()?.to_string(),
                ))
            })
            .collect();
        assert_eq!(drivers, ours, "{name}: drivers as lspci -k sees them");
    }
}

/// The live test bed (build-aux/test.sh runs it with PASSAGE_TESTBED_OUT set): passagectl inside
/// a real kernel agrees with that kernel, and its capture replays to the same scan here.
#[test]
#[ignore = "needs the test bed's results: PASSAGE_TESTBED_OUT=DIR (build-aux/testbed/test-scan.sh)"]
fn live_test_bed_scan_matches_the_kernel_and_replays() {
    let dir = std::path::PathBuf::from(
        std::env::var("PASSAGE_TESTBED_OUT").expect("PASSAGE_TESTBED_OUT"),
    );
    let live: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("scan.json")).expect("scan.json"))
            .expect("json");
    compare_with_kernel(&live, &dir);
    assert_eq!(
        std::fs::read_to_string(dir.join("capture.rc"))
            .expect("rc")
            .trim(),
        "0"
    );
    let replay = json(&passagectl(&[
        "scan",
        "--json",
        "--root",
        dir.join("capture.tar.gz").to_str().expect("utf8"),
    ]));
    // Names may come from another pci.ids here, and free memory moved between the two scans;
    // everything else must be identical.
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().map(|o| o.remove("names_from"));
        for k in ["free_kib", "available_kib"] {
            v["memory"].as_object_mut().map(|o| o.remove(k));
        }
        for d in v["pci_devices"].as_array_mut().into_iter().flatten() {
            for k in ["vendor_name", "device_name", "subsystem_name"] {
                d.as_object_mut().map(|o| o.remove(k));
            }
        }
        for d in v["usb_devices"].as_array_mut().into_iter().flatten() {
            for k in ["vendor_name", "product_name"] {
                d.as_object_mut().map(|o| o.remove(k));
            }
        }
        v
    };
    assert_eq!(strip(live), strip(replay));
    let check: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("check.json")).expect("check.json"))
            .expect("json");
    let ids: Vec<&str> = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"iommu") && ids.contains(&"virtualization") && ids.contains(&"vfio"),
        "{ids:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("check.rc"))
            .expect("rc")
            .trim(),
        "1",
        "the test bed has one GPU and no OVMF"
    );
}

#[test]
fn plan_previews_the_x570_host_setup_and_writes_nothing() {
    let d = fixture("x570-tutorial");
    let root = d.path().to_str().expect("utf8");
    let before = std::fs::read(d.path().join("etc/kernelstub/configuration")).expect("read");
    let o = passagectl(&["plan", "--root", root, "--gpu", "0000:0a:00.0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "+      \"iommu=pt\"",
        "ids=10de:10f7,10de:1ad6,10de:1ad7,10de:1e07 $CMDLINE_OPTS",
        "passage.vfio=off",
        "+title Pop!_OS (without GPU passthrough)",
        "Pop_OS-current-passage-without-vfio.conf",
        "+vfio_virqfd",
        "+    BusID \"PCI:13:0:0\"",
        "$ kernelstub",
        "$ update-initramfs -u -k all",
        "nothing was written",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert_eq!(
        std::fs::read(d.path().join("etc/kernelstub/configuration")).expect("read"),
        before
    );
    assert!(!d.path().join("etc/modprobe.d/passage-vfio.conf").exists());

    let v = json(&passagectl(&[
        "plan", "--root", root, "--add", "iommu=pt", "--json",
    ]));
    assert_eq!(v["changes"][0]["path"], "/etc/kernelstub/configuration");
    assert_eq!(v["steps"][0]["argv"], serde_json::json!(["kernelstub"]));
    // Already there: nothing to do.
    let o = passagectl(&["plan", "--root", root, "--add", "amd_iommu=on"]);
    assert!(stdout(&o).contains("Nothing to change"), "{}", stdout(&o));
}

#[test]
fn plan_shows_the_boot_entry_without_passthrough_on_grub_and_systemd_boot() {
    for (name, gpu, want) in [
        (
            "laptop-prime",
            "0000:01:00.0",
            "/etc/grub.d/99_passage_without_vfio",
        ),
        (
            "single-gpu",
            "0000:0d:00.3",
            "+title Arch Linux (without GPU passthrough)",
        ),
    ] {
        let d = fixture(name);
        let root = d.path().to_str().expect("utf8");
        let o = if name == "single-gpu" {
            passagectl(&["plan", "--root", root, "--vfio", gpu])
        } else {
            passagectl(&["plan", "--root", root, "--gpu", gpu])
        };
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains(want), "{name}: missing {want:?} in\n{out}");
        assert!(out.contains("passage.vfio=off"), "{name}: {out}");
    }
}

#[test]
fn plan_refuses_bad_input_with_the_reason() {
    for (args, why) in [
        (
            vec!["plan", "--demo", "--add", "init=/bin/sh"],
            "not a kernel argument Passage sets",
        ),
        (
            vec!["plan", "--demo", "--add", "intel_iommu=sometimes"],
            "is not a value intel_iommu accepts",
        ),
        (
            vec!["plan", "--demo", "--vfio", "0000:0a:00.0"],
            "whole IOMMU group 28",
        ),
        (
            vec!["plan", "--demo", "--vfio", "0000:0d:00.0"],
            "holds what the host needs",
        ),
        (
            vec!["plan", "--demo", "--gpu", "0a:00"],
            "not a PCI address",
        ),
        (vec!["plan", "--demo"], "say what to plan"),
    ] {
        let o = passagectl(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn vm_suggest_xml_and_qemu_cmdline_for_headless_hosts() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.json");
    let o = passagectl(&[
        "vm",
        "suggest",
        "--demo",
        "--gpu",
        "0000:0a:00.0",
        "--name",
        "win10-gaming",
        "--vcpus",
        "12",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v = json(&o);
    assert_eq!(
        v["pci"].as_array().map(Vec::len),
        Some(4),
        "the whole group 28"
    );
    assert_eq!(
        v["topology"],
        serde_json::json!({"sockets": 1, "cores": 6, "threads": 2})
    );
    assert_eq!(
        v["firmware"]["secure_boot"], true,
        "the demo host has Secure Boot OVMF with keys"
    );
    // The user adds the installer, as the wizard would.
    v["cdroms"] = serde_json::json!([{"iso": "/srv/iso/Win10.iso", "boot_order": 1}]);
    std::fs::write(&spec, v.to_string()).expect("write");
    let o = passagectl(&["vm", "xml", "--from", spec.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let xml_file = dir.path().join("dom.xml");
    std::fs::write(&xml_file, &o.stdout).expect("write");
    let val = Command::new("virt-xml-validate")
        .arg(&xml_file)
        .arg("domain")
        .output()
        .expect("virt-xml-validate");
    assert!(
        val.status.success(),
        "{}",
        String::from_utf8_lossy(&val.stderr)
    );

    let o = passagectl(&[
        "vm",
        "qemu-cmdline",
        "--demo",
        "--from",
        spec.to_str().expect("utf8"),
    ]);
    let script = stdout(&o);
    assert!(
        script.starts_with("qemu-system-x86_64 \\\n  -name win10-gaming \\\n"),
        "{script}"
    );
    assert!(
        script.contains(
            "  -device vfio-pci,host=0000:0a:00.0,bus=rp0,addr=0x0.0,multifunction=on \\\n"
        ),
        "{script}"
    );
    // The script is valid shell: sh splits it back into the same words.
    let words = Command::new("sh")
        .arg("-c")
        .arg(format!("printf '%s\\n' {script}"))
        .output()
        .expect("sh");
    let words: Vec<String> = String::from_utf8_lossy(&words.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(words[..3], ["qemu-system-x86_64", "-name", "win10-gaming"]);
    assert!(
        words.iter().any(|w| w == "-mem-prealloc")
            && words
                .iter()
                .any(|w| w == "vfio-pci,host=0000:0a:00.3,bus=rp0,addr=0x0.3"),
        "{words:?}"
    );
    // Bad specs name the field; nothing is printed on stdout.
    v["name"] = serde_json::json!("win 10");
    std::fs::write(&spec, v.to_string()).expect("write");
    let o = passagectl(&["vm", "xml", "--from", spec.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("name:") && o.stdout.is_empty(),
        "{}",
        stderr(&o)
    );
    std::fs::write(&spec, "{\"name\": 3}").expect("write");
    let o = passagectl(&["vm", "xml", "--from", spec.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a VM spec"), "{}", stderr(&o));
    // A device that cannot go is the host's refusal: 1.
    let o = passagectl(&["vm", "suggest", "--demo", "--gpu", "0000:0d:00.5"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn vm_commands_talk_to_libvirt() {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("spec.json");
    let o = passagectl(&[
        "vm",
        "suggest",
        "--demo",
        "--gpu",
        "0000:0a:00.0",
        "--name",
        "passage-ml",
        "--vcpus",
        "4",
    ]);
    let mut v = json(&o);
    v["domain_type"] = serde_json::json!("qemu");
    std::fs::write(&spec, v.to_string()).expect("write");
    // libvirt's test driver: each command sees a fresh host (its "test" VM).
    let o = passagectl(&[
        "vm",
        "create",
        "--connect",
        "test:///default",
        "--from",
        spec.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("VM passage-ml defined"),
        "{}",
        stdout(&o)
    );
    let o = passagectl(&["vm", "list", "--connect", "test:///default"]);
    assert!(
        stdout(&o).contains("test ") && stdout(&o).contains("running"),
        "{}",
        stdout(&o)
    );
    let o = passagectl(&["vm", "start", "nosuch", "--connect", "test:///default"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no VM named \"nosuch\""),
        "{}",
        stderr(&o)
    );
    let o = passagectl(&[
        "vm",
        "list",
        "--connect",
        "qemu:///system?socket=/nonexistent/sock",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Is libvirtd running"), "{}", stderr(&o));
}

#[test]
fn check_speaks_german_with_the_german_catalogue() {
    let d = tempfile::tempdir().expect("tmp");
    passage_testkit::locale::german_catalogue(d.path());
    // A private de_DE.UTF-8 (LOCPATH), so nothing is installed on the machine.
    let loc = d.path().join("loc");
    std::fs::create_dir_all(&loc).expect("mkdir");
    let _ = Command::new("localedef")
        .args(["-i", "de_DE", "-f", "UTF-8"])
        .arg(loc.join("de_DE.UTF-8"))
        .output()
        .expect("localedef");
    assert!(
        loc.join("de_DE.UTF-8/LC_MESSAGES").exists(),
        "localedef built no locale"
    );
    let german = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passagectl"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("LC_ALL", "de_DE.UTF-8")
            .env("LOCPATH", &loc)
            .env("PASSAGE_LOCALEDIR", d.path())
            .output()
            .expect("passagectl")
    };
    let o = german(&["check", "--demo"]);
    let out = stdout(&o);
    assert!(out.contains("Die Hardware-Virtualisierung ist an"), "{out}");
    assert!(
        out.contains("Nichts verhindert das Durchreichen der GPU auf diesem Rechner."),
        "{out}"
    );
    assert!(
        out.contains("Diese Geräte gehen mit der Karte an die VM (IOMMU-Gruppe 28)"),
        "placeholders filled: {out}"
    );
    // The hugepage advice, untranslated until every message was.
    assert!(
        out.contains("Speicher einer VM aus Hugepages ist schneller"),
        "{out}"
    );

    // Core's errors: a bad address, and a device that is not a graphics card.
    let o = german(&["check", "--demo", "--gpu", "zz"]);
    assert!(
        stderr(&o).contains("\"zz\" ist keine PCI-Adresse"),
        "{}",
        stderr(&o)
    );
    let o = german(&["check", "--demo", "--gpu", "0000:0d:00.1"]);
    assert!(
        stderr(&o).contains("0000:0d:00.1 ist keine Grafikkarte"),
        "{}",
        stderr(&o)
    );

    // A plan's errors too: an argument Passage does not manage.
    let o = german(&["plan", "--demo", "--add", "init=/bin/sh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("init ist kein Kernel-Argument, das Passage setzt"),
        "{}",
        stderr(&o)
    );

    // And a VM spec's (the wizard's Review shows them): the field, then German.
    let o = german(&["vm", "suggest", "--demo", "--gpu", "0000:0a:00.0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut v = json(&o);
    v["network"] = serde_json::json!({"kind": "bridge", "bridge": "br0; reboot"});
    let spec = d.path().join("spec.json");
    std::fs::write(&spec, v.to_string()).expect("write");
    let o = german(&["vm", "xml", "--from", spec.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("network.bridge: \"br0; reboot\" muss aus 1–15 Buchstaben"),
        "{}",
        stderr(&o)
    );

    // `rom`: a legacy-only ROM's image and verdict.
    let rom = d.path().join("legacy.rom");
    std::fs::write(&rom, passage_fixtures::rom::legacy_only()).expect("write");
    let o = german(&["rom", rom.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("Abbild 1 bei 0x0: x86-Legacy (BIOS), 2048 Bytes")
            && out.contains("Es hat kein UEFI-Abbild"),
        "{out}"
    );
}

#[test]
fn vm_serve_is_a_hypervisor_in_another_process() {
    use passage_virt::remote::Remote;
    use passage_virt::Hypervisor;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_passagectl"));
    let r = Remote::spawn(bin, &["vm", "serve", "--connect", "test:///default"]).expect("spawn");
    let vms = r.list().expect("list");
    assert!(vms.iter().any(|v| v.name == "test" && v.running), "{vms:?}");
    let e = r.start("nosuchvm").unwrap_err().to_string();
    assert!(e.contains("nosuchvm"), "{e}");
    assert!(r.xml("test").expect("xml").contains("<domain"));
    // The worker keeps answering after an error, and says what is wrong when libvirt is away.
    let away = Remote::spawn(
        bin,
        &[
            "vm",
            "serve",
            "--connect",
            "qemu+unix:///system?socket=/nonexistent/sock",
        ],
    )
    .expect("spawn");
    let e = away.list().unwrap_err().to_string();
    assert!(
        e.contains("/nonexistent/sock") && e.contains("libvirtd"),
        "{e}"
    );
    assert!(away.list().is_err(), "a second request is answered too");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    // 2,000 devices: far more than a pipe holds, so the write meets a reader that has gone.
    let d = fixture("sriov-server");
    let root = d.path().to_str().expect("utf8");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "\"$0\" scan --root '{root}' | head -c 1 >/dev/null"
        ))
        .arg(env!("CARGO_BIN_EXE_passagectl"))
        .env("NO_COLOR", "1")
        .output()
        .expect("sh");
    assert!(
        !stderr(&o).contains("panicked") && !stderr(&o).contains("failed printing"),
        "{}",
        stderr(&o)
    );
    // A write that fails for another reason is said and is not success.
    let o = Command::new(env!("CARGO_BIN_EXE_passagectl"))
        .args(["scan", "--demo"])
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create("/dev/full").expect("/dev/full"))
        .output()
        .expect("passagectl");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("writing the output failed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_real_kernels_ich9_group_stays_with_the_host() {
    // Group 7 of the captured q35 machine: ICH9 LPC (lpc_ich), AHCI and SMBus (i801_smbus).
    let archive = data_dir().join("capture.tar.gz");
    let o = passagectl(&["scan", "--json", "--root", archive.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let g = v["iommu_groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["devices"][0] == "0000:00:1f.0")
        .expect("ICH9 group");
    assert_eq!(g["viable"], false, "{g}");
    let reasons: Vec<(&str, &str)> = g["host_needs"]
        .as_array()
        .expect("needs")
        .iter()
        .map(|n| {
            (
                n["device"].as_str().unwrap_or(""),
                n["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [("0000:00:1f.0", "chipset"), ("0000:00:1f.3", "chipset")]
    );
}

/// The shared libraries a binary names (its ELF dynamic section's NEEDED entries), as binutils'
/// `readelf -d` prints them: what the dynamic loader maps before `main`, whichever command runs.
fn needed(bin: &std::path::Path) -> Vec<String> {
    let o = Command::new("readelf")
        .arg("-d")
        .arg(bin)
        .output()
        .expect("readelf (binutils)");
    assert!(o.status.success(), "readelf: {}", stderr(&o));
    stdout(&o)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_string()))
        .collect()
}

#[test]
fn host_commands_start_without_libvirt_and_vm_commands_still_work_through_passagectl() {
    let host = needed(std::path::Path::new(env!("CARGO_BIN_EXE_passagectl")));
    assert!(
        host.iter().any(|l| l.starts_with("libc.so")),
        "readelf named no libc: {host:?}"
    );
    assert!(
        !host.iter().any(|l| l.starts_with("libvirt")),
        "passagectl loads libvirt for every command: {host:?}"
    );
    let vm = needed(std::path::Path::new(env!("CARGO_BIN_EXE_passagectl-vm")));
    assert!(
        vm.iter().any(|l| l.starts_with("libvirt.so")),
        "the VM commands' program names no libvirt: {vm:?}"
    );
    // The user still types `passagectl vm …`: the test driver's one VM is listed.
    let o = passagectl(&["vm", "list", "--connect", "test:///default"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("test ") && l.contains("running")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn vm_commands_without_their_program_say_what_is_missing() {
    if std::path::Path::new(passage_core::programs::VM_COMMANDS).exists() {
        eprintln!("skipped: Passage is installed here, so passagectl-vm would be found");
        return;
    }
    // passagectl alone, away from the passagectl-vm built beside it.
    let d = tempfile::tempdir().expect("tempdir");
    let bin = d.path().join("passagectl");
    std::fs::copy(env!("CARGO_BIN_EXE_passagectl"), &bin).expect("copy");
    let o = Command::new(&bin)
        .args(["vm", "list", "--connect", "test:///default"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(passage_core::programs::VM_COMMANDS)
            && stderr(&o).contains("Reinstall Passage"),
        "{}",
        stderr(&o)
    );
    // The host commands need nothing beside it.
    let o = Command::new(&bin).arg("--version").output().expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
}
