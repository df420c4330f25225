//! Shared by the passagectl integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn passagectl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passagectl"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run passagectl")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

pub fn fixture(name: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build(name, d.path()).expect("fixture");
    d
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/data/qemu-viommu")
}

/// Compares a scan (`scan --json` output) with what the kernel itself said: the group walk,
/// the driver links and `lspci -Dnnk`, as the test-bed payload writes them.
pub fn compare_with_kernel(scan: &serde_json::Value, truth: &Path) {
    let read =
        |f: &str| std::fs::read_to_string(truth.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    // Groups: "N ADDRESS" lines.
    let mut kernel_groups: Vec<(u64, String)> = read("groups.txt")
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .and_then(|(g, a)| Some((g.parse().ok()?, a.to_string())))
        })
        .collect();
    kernel_groups.sort();
    let mut ours: Vec<(u64, String)> = scan["iommu_groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| {
            let id = g["id"].as_u64().expect("id");
            g["devices"]
                .as_array()
                .expect("devices")
                .iter()
                .map(move |d| (id, d.as_str().expect("addr").to_string()))
        })
        .collect();
    ours.sort();
    assert!(!kernel_groups.is_empty());
    assert_eq!(ours, kernel_groups, "IOMMU groups differ from the kernel's");

    let devices: BTreeMap<String, &serde_json::Value> = scan["pci_devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| (d["address"].as_str().expect("addr").to_string(), d))
        .collect();
    // Drivers: "ADDRESS [driver]".
    for line in read("drivers.txt").lines() {
        let mut it = line.split_whitespace();
        let addr = it.next().expect("addr");
        let drv = it.next();
        let d = devices
            .get(addr)
            .unwrap_or_else(|| panic!("scan misses {addr}"));
        assert_eq!(d["driver"].as_str(), drv, "driver of {addr}");
    }
    assert_eq!(
        devices.len(),
        read("drivers.txt").lines().count(),
        "device count"
    );
    // lspci -Dnnk: "0000:01:00.0 VGA compatible controller [0300]: … [1234:1111] (rev 02)".
    let mut seen = 0;
    for line in read("lspci.txt").lines().filter(|l| !l.starts_with('\t')) {
        let addr = line.split_whitespace().next().expect("addr");
        let d = devices
            .get(addr)
            .unwrap_or_else(|| panic!("scan misses {addr} that lspci lists"));
        let class4 = line
            .split('[')
            .nth(1)
            .and_then(|s| s.get(0..4))
            .expect("class");
        assert_eq!(&d["class"].as_str().expect("class")[2..6], class4, "{line}");
        let want = format!(
            "{}:{}",
            d["vendor_id"].as_str().expect("v"),
            d["device_id"].as_str().expect("d")
        );
        assert!(line.contains(&format!("[{want}]")), "{line} vs {want}");
        if let Some(rev) = line.split("(rev ").nth(1).and_then(|r| r.get(0..2)) {
            assert_eq!(
                d["revision"].as_u64(),
                u64::from_str_radix(rev, 16).ok(),
                "{line}"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, devices.len());
}
