//! Host setup for "while the VM runs": the IOMMU arguments, the desktop kept off the card and
//! libvirt's hook; no boot-time binding. The hook script passes libvirt's arguments through.

use passage_core::plan::{self, hook};
use passage_core::vm::session::GpuMode;
use passage_core::{Host, Root};

#[test]
fn lending_the_card_plans_the_hook_and_the_desktop_but_no_binding_at_boot() {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    let gpu = "0000:0a:00.0".parse().expect("addr");
    let p = plan::for_gpu_mode(
        &root,
        &host,
        gpu,
        GpuMode::WhileRunning,
        "/opt/p a/passage-helper",
    )
    .expect("plan");
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(paths.contains(&hook::DISPATCHER), "{paths:?}");
    assert!(paths.contains(&hook::MUTTER_RULE), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.contains("modprobe.d")
            || p.contains("initramfs")
            || p.contains("grub.d/99_passage")),
        "no boot-time binding or fallback entry: {paths:?}"
    );
    let at_boot = plan::for_gpu(&root, &host, gpu).expect("boot plan");
    assert!(at_boot
        .changes
        .iter()
        .any(|c| c.path.contains("modprobe.d")));
    assert!(!at_boot.changes.iter().any(|c| c.path == hook::DISPATCHER));
    let script = p
        .changes
        .iter()
        .find(|c| c.path == hook::DISPATCHER)
        .expect("dispatcher");
    assert_eq!(script.mode, 0o755);
    let text = String::from_utf8(script.after.clone().expect("text")).expect("utf8");
    assert!(
        text.ends_with("exec '/opt/p a/passage-helper' hook \"$@\"\n"),
        "{text}"
    );
    let rule = p
        .changes
        .iter()
        .find(|c| c.path == hook::MUTTER_RULE)
        .expect("rule");
    let rule = String::from_utf8(rule.after.clone().expect("text")).expect("utf8");
    assert!(
        rule.contains("KERNELS==\"0000:0a:00.0\", TAG+=\"mutter-device-ignore\""),
        "{rule}"
    );
    assert!(
        !rule.contains("0a:00.1"),
        "only display devices get the tag: {rule}"
    );
    assert!(
        p.notes.iter().any(|n| n.contains("libvirtd"))
            || p.steps.iter().any(|s| s.argv[0] == "systemctl")
    );
}

#[test]
fn the_dispatcher_runs_under_a_real_shell_and_passes_every_argument() {
    let d = tempfile::tempdir().expect("tmp");
    let fake = d.path().join("helper");
    std::fs::write(&fake, "#!/bin/sh\nprintf '%s|' \"$@\"\n").expect("fake");
    let script = d.path().join("50-passage");
    std::fs::write(&script, hook::dispatcher(fake.to_str().expect("path"))).expect("script");
    for f in [&fake, &script] {
        std::process::Command::new("chmod")
            .arg("755")
            .arg(f)
            .status()
            .expect("chmod");
    }
    let out = std::process::Command::new(&script)
        .args(["win 11", "prepare", "begin", "-"])
        .output()
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hook|win 11|prepare|begin|-|"
    );
}
