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
    // The hook is planned for the card kept from boot on too: it reserves the VMs' hugepages
    // when they start (the wizard's default) and keeps the host off their CPUs.
    assert!(at_boot.changes.iter().any(|c| c.path == hook::DISPATCHER));
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

/// With the helper gone (the package removed, the hook still applied), libvirt must not refuse
/// every VM's start: other domains start, and a Passage VM is refused at prepare with what to do.
#[test]
fn without_the_helper_the_dispatcher_lets_other_domains_start_and_refuses_passage_vms() {
    use std::io::Write;
    let d = tempfile::tempdir().expect("tmp");
    let gone = d.path().join("usr/libexec/passage-helper");
    let script = d.path().join("50-passage");
    std::fs::write(&script, hook::dispatcher(gone.to_str().expect("path"))).expect("script");
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .expect("chmod");
    let other = "<domain type='kvm'><name>plain</name><metadata><x:y xmlns:x='urn:other'/></metadata></domain>\n";
    let ours = format!(
        "<domain type='kvm'><name>win</name><metadata><passage:vm xmlns:passage='{}'/></metadata></domain>\n",
        passage_core::vm::domain::PASSAGE_NS
    );
    let run = |xml: &str, op: &str| {
        let mut c = std::process::Command::new(&script)
            .args(["vm", op, "begin", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run");
        // The hook may leave its input unread; that is not the test's failure.
        let _ = c.stdin.take().expect("stdin").write_all(xml.as_bytes());
        c.wait_with_output().expect("wait")
    };
    for op in ["prepare", "start", "started", "stopped", "release"] {
        let o = run(other, op);
        assert!(o.status.success(), "{op} of another domain: {o:?}");
    }
    for op in ["prepare", "start"] {
        let o = run(&ours, op);
        assert_eq!(o.status.code(), Some(1), "{op} of a Passage VM: {o:?}");
        let why = String::from_utf8_lossy(&o.stderr);
        assert!(
            why.contains("is not installed") && why.contains(gone.to_str().expect("path")),
            "{why}"
        );
    }
    // What ends a VM never fails: there is nothing to give back without the helper.
    for op in ["stopped", "release"] {
        assert!(run(&ours, op).status.success(), "{op} of a Passage VM");
    }
}

/// The dispatcher runs the helper as root for every VM start: only a regular file root owns,
/// in directories root owns, that no group or other user can write, is written into it.
#[test]
fn the_dispatcher_names_only_a_helper_that_is_roots_alone() {
    use std::os::unix::fs::{chown, symlink, PermissionsExt};
    let d = tempfile::tempdir().expect("tmp");
    let root = Root::new(d.path()).expect("root");
    let helper = hook::DEFAULT_HELPER;
    assert!(helper.ends_with("/passage-helper") && helper.starts_with('/'));
    let file = d.path().join(helper.trim_start_matches('/'));
    let why = |r: Result<(), passage_core::plan::PlanError>| r.expect_err("refused").to_string();
    assert!(why(hook::check_helper(&root, helper)).contains("not there"));
    std::fs::create_dir_all(file.parent().expect("dir")).expect("dir");
    std::fs::write(&file, "#!/bin/sh\n").expect("helper");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("mode");
    hook::check_helper(&root, helper).expect("root's, 0755");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o775)).expect("mode");
    assert!(why(hook::check_helper(&root, helper)).contains("mode 0775"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o757)).expect("mode");
    assert!(why(hook::check_helper(&root, helper)).contains("written by others"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("mode");
    chown(&file, Some(1000), None).expect("chown");
    assert!(why(hook::check_helper(&root, helper)).contains("user 1000"));
    chown(&file, Some(0), None).expect("chown");
    // A directory above it others can write: they could put another file in its place.
    let dir = file.parent().expect("dir");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("mode");
    let e = why(hook::check_helper(&root, helper));
    assert!(
        e.contains(
            &*dir
                .strip_prefix(d.path())
                .expect("in root")
                .to_string_lossy()
        ),
        "{e}"
    );
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
    hook::check_helper(&root, helper).expect("fine again");
    // Not a regular file: a link (to a fine file) or a directory.
    std::fs::rename(&file, dir.join("real")).expect("move");
    symlink(dir.join("real"), &file).expect("link");
    assert!(why(hook::check_helper(&root, helper)).contains("not a regular file"));
    std::fs::remove_file(&file).expect("unlink");
    std::fs::create_dir(&file).expect("dir");
    assert!(why(hook::check_helper(&root, helper)).contains("not a regular file"));
    assert!(why(hook::check_helper(&root, "passage-helper")).contains("not absolute"));
}

/// The path is the build's: meson passes its libexecdir (build-aux/meson-cargo.sh).
#[test]
fn the_helper_path_is_the_one_meson_configured() {
    let script = include_str!("../../../build-aux/meson-cargo.sh");
    assert!(script.contains("PASSAGE_HELPER=$libexecdir/passage-helper"));
    let meson = include_str!("../../../meson.build");
    assert!(meson.contains("'@OUTDIR@',\n    libexecdir,"));
    match option_env!("PASSAGE_HELPER") {
        Some(p) => assert_eq!(hook::DEFAULT_HELPER, p),
        None => assert_eq!(hook::DEFAULT_HELPER, "/usr/libexec/passage-helper"),
    }
}
