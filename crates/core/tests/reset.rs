//! The AMD reset bug on fixture roots: each card's reset_method read, the affected families
//! known by ID, the check's finding and its fix (vendor-reset's udev rule) applied and undone
//! byte for byte, and vfio-pci's disable_idle_d3 for the D3cold diagnosis.

use std::path::Path;

use passage_core::check::{self, FixAction, Severity};
use passage_core::host::reset::{self, ResetFamily};
use passage_core::host::PciAddress;
use passage_core::plan::{self, reset as fix, Intent, Plan};
use passage_core::vm::diagnose::{explain, Cause};
use passage_core::{Host, Root};

/// The X570 board's cards: 0d:00.0 is a Radeon RX 5700 XT (1002:731f, Navi 10) showing the
/// host's screen, 0a:00.0 an NVIDIA card.
const NAVI: &str = "0000:0d:00.0";

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn x570() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    d
}

fn scan(dir: &Path) -> (Root, Host) {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    (root, host)
}

/// vendor-reset installed by dkms for the fixture's kernel, as modules.dep lists it.
fn install_vendor_reset(dir: &Path) {
    let rel = std::fs::read_to_string(dir.join("proc/sys/kernel/osrelease")).expect("release");
    let base = dir.join(format!("lib/modules/{}", rel.trim()));
    std::fs::create_dir_all(&base).expect("modules dir");
    std::fs::write(
        base.join("modules.dep"),
        "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\nupdates/dkms/vendor-reset.ko:\n",
    )
    .expect("modules.dep");
}

/// The Navi card's reset_method as the kernel shows it once vendor-reset handles the card.
fn vendor_reset_resets_the_navi(dir: &Path) {
    std::fs::write(
        dir.join(format!("sys/bus/pci/devices/{NAVI}/reset_method")),
        "device_specific bus\n",
    )
    .expect("write");
}

/// Writes a plan's files below `dir` (the helper's write, minus its journal).
fn apply(dir: &Path, p: &Plan) {
    for c in &p.changes {
        let path = dir.join(c.path.trim_start_matches('/'));
        assert_eq!(std::fs::read(&path).ok(), c.before, "{} changed", c.path);
        match &c.after {
            Some(b) => {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, b).expect("write");
            }
            None => std::fs::remove_file(&path).expect("rm"),
        }
    }
}

#[test]
fn each_cards_reset_method_is_read_and_the_navi_card_is_known_by_id() {
    let d = x570();
    let (_, h) = scan(d.path());
    let navi = h.device(a(NAVI)).expect("navi");
    assert_eq!(navi.reset_methods, vec!["bus".to_string()]);
    assert_eq!(reset::card_family(navi), Some(ResetFamily::Navi10));
    // Its audio function is reset with the card; the NVIDIA card has no such bug.
    assert_eq!(
        reset::card_family(h.device(a("0000:0d:00.1")).expect("audio")),
        None
    );
    assert_eq!(
        reset::card_family(h.device(a("0000:0a:00.0")).expect("nvidia")),
        None
    );
    // The kernel lists the method it tries first first.
    vendor_reset_resets_the_navi(d.path());
    let (_, h) = scan(d.path());
    let navi = h.device(a(NAVI)).expect("navi");
    assert_eq!(navi.reset_methods, ["device_specific", "bus"]);
    assert!(reset::uses_device_specific(navi));
}

#[test]
fn vendor_reset_is_found_where_modprobe_finds_it() {
    let d = x570();
    assert!(!scan(d.path()).1.vendor_reset);
    install_vendor_reset(d.path());
    assert!(scan(d.path()).1.vendor_reset);
}

#[test]
fn the_check_names_the_reset_bug_and_offers_vendor_reset_once_it_is_installed() {
    let d = x570();
    let (_, h) = scan(d.path());
    let r = check::evaluate(&h, Some(a(NAVI))).expect("check");
    let f = r.get("gpu-reset-bug").expect("finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.detail.contains("Navi 10"), "{}", f.detail);
    assert!(
        f.fix.as_deref().is_some_and(|x| x.contains("from boot on")),
        "{f:?}"
    );
    assert_eq!(f.action, None, "nothing to apply without the module");
    install_vendor_reset(d.path());
    let (_, h) = scan(d.path());
    let r = check::evaluate(&h, Some(a(NAVI))).expect("check");
    let f = r.get("gpu-reset-bug").expect("finding");
    assert_eq!(f.action, Some(FixAction::VendorReset { gpu: a(NAVI) }));
    // The NVIDIA card has no such finding.
    let r = check::evaluate(&h, Some(a("0000:0a:00.0"))).expect("check");
    assert!(r.get("gpu-reset-bug").is_none());
}

#[test]
fn the_vendor_reset_rule_is_applied_and_undone_byte_for_byte() {
    let d = x570();
    install_vendor_reset(d.path());
    // Someone's own rules beside it stay as they are.
    let rules = d.path().join("etc/udev/rules.d");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("70-mine.rules"), "# mine\n").expect("mine");
    let (root, h) = scan(d.path());
    let intent = Intent::VendorReset { gpu: a(NAVI) };
    let p = plan::plan(&root, &h, &intent).expect("plan");
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].path, fix::VENDOR_RESET_RULE);
    apply(d.path(), &p);
    let text = std::fs::read_to_string(
        d.path()
            .join(fix::VENDOR_RESET_RULE.trim_start_matches('/')),
    )
    .expect("rule");
    let line = text.lines().find(|l| !l.starts_with('#')).expect("a rule");
    for part in [
        "ACTION==\"add\"",
        "SUBSYSTEM==\"pci\"",
        "KERNEL==\"0000:0d:00.0\"",
        "ATTR{vendor}==\"0x1002\"",
        "ATTR{device}==\"0x731f\"",
        "IMPORT{builtin}=\"kmod load vendor-reset\"",
        "ATTR{reset_method}=\"device_specific\"",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    // Planned again: nothing to change.
    let (root, h) = scan(d.path());
    assert!(plan::plan(&root, &h, &intent).expect("again").is_empty());
    apply(d.path(), &p.undo());
    assert!(!d
        .path()
        .join(fix::VENDOR_RESET_RULE.trim_start_matches('/'))
        .exists());
    assert_eq!(
        std::fs::read(rules.join("70-mine.rules")).expect("mine"),
        b"# mine\n"
    );
}

#[test]
fn vendor_reset_is_refused_for_another_card_and_without_the_module() {
    let d = x570();
    let (root, h) = scan(d.path());
    let e = plan::plan(&root, &h, &Intent::VendorReset { gpu: a(NAVI) }).expect_err("no module");
    assert!(
        e.to_string().contains("vendor-reset is not installed"),
        "{e}"
    );
    install_vendor_reset(d.path());
    let (root, h) = scan(d.path());
    let e = plan::plan(
        &root,
        &h,
        &Intent::VendorReset {
            gpu: a("0000:0a:00.0"),
        },
    )
    .expect_err("nvidia");
    assert!(
        e.to_string().contains("not a card with the AMD reset bug"),
        "{e}"
    );
    let e = plan::plan(
        &root,
        &h,
        &Intent::VendorReset {
            gpu: a("0000:42:00.0"),
        },
    )
    .expect_err("absent");
    assert!(e.to_string().contains("0000:42:00.0"), "{e}");
}

#[test]
fn a_d3cold_failure_names_the_fix_and_disable_idle_d3_is_applied_and_undone() {
    let d = explain("vfio-pci 0000:01:00.0: Unable to change power state from D3cold to D0, device inaccessible");
    assert_eq!(d.cause, Cause::CardD3Cold);
    assert!(d.fix.contains("--idle-d3-off"), "{}", d.fix);
    // Another driver's device that did not wake is not vfio-pci's sleep.
    let other = explain("atlantic 0000:06:00.0: Unable to change power state from D3cold to D0, device inaccessible");
    assert_eq!(other.cause, Cause::CardUnresponsive);

    let dir = x570();
    let before = std::fs::read(dir.path().join("etc/modprobe.d/vfio.conf")).ok();
    let (root, h) = scan(dir.path());
    let p = plan::plan(&root, &h, &Intent::IdleD3Off).expect("plan");
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].path, fix::IDLE_D3_FILE);
    let after = String::from_utf8(p.changes[0].after.clone().expect("after")).expect("utf8");
    assert!(
        after
            .lines()
            .any(|l| l == "options vfio-pci disable_idle_d3=1"),
        "{after}"
    );
    // modprobe.d goes into the initramfs: it is rebuilt where the host has one.
    if let Some(init) = &h.initramfs_config {
        assert_eq!(p.steps[0].argv.join(" "), init.kind.rebuild_command());
    }
    apply(dir.path(), &p);
    let (root, h) = scan(dir.path());
    assert!(plan::plan(&root, &h, &Intent::IdleD3Off)
        .expect("again")
        .is_empty());
    apply(dir.path(), &p.undo());
    assert!(!dir
        .path()
        .join(fix::IDLE_D3_FILE.trim_start_matches('/'))
        .exists());
    assert_eq!(
        std::fs::read(dir.path().join("etc/modprobe.d/vfio.conf")).ok(),
        before
    );
}

#[test]
fn a_card_with_the_reset_bug_goes_to_vms_from_boot_on_unless_vendor_reset_resets_it() {
    use passage_core::host::reset::{mode_for, while_running_caution};
    use passage_core::vm::session::GpuMode;
    let d = x570();
    let (_, h) = scan(d.path());
    assert_eq!(mode_for(&h, a(NAVI)), Some(GpuMode::AtBoot));
    assert!(while_running_caution(&h, a(NAVI)).is_some_and(|c| c.contains("reset bug")));
    assert_eq!(
        mode_for(&h, a("0000:0a:00.0")),
        None,
        "the NVIDIA card: either mode"
    );
    assert_eq!(while_running_caution(&h, a("0000:0a:00.0")), None);
    vendor_reset_resets_the_navi(d.path());
    let (_, h) = scan(d.path());
    assert_eq!(mode_for(&h, a(NAVI)), None, "vendor-reset resets it");
}
