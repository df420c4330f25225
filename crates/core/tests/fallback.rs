//! The boot menu entry without GPU passthrough, for each boot loader: it comes with the change
//! that binds at boot and goes with its undo, kernel-argument changes leave it alone, and
//! GRUB's script, run by real shells and awks against a stand-in 10_linux, prints one entry
//! with the switch and without vfio-pci.ids. `build-aux/testbed/test-boot-switch.sh` runs it
//! under Debian's real grub-mkconfig.

use std::path::Path;
use std::process::Command;

use passage_core::host::PciAddress;
use passage_core::plan::fallback::{grub_script, GRUB_SCRIPT, MARK};
use passage_core::plan::{self, Change, Intent, Plan};
use passage_core::{Host, Root};
use passage_fixtures::HostSpec;

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn build(spec: &HostSpec) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build_spec(spec, d.path()).expect("fixture");
    d
}

fn planned(dir: &Path, intent: &Intent) -> Plan {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    plan::plan(&root, &host, intent).expect("plan")
}

fn at_boot(devices: &[&str]) -> Intent {
    Intent::VfioAtBoot {
        devices: devices.iter().map(|d| a(d)).collect(),
    }
}

fn args(add: &[&str]) -> Intent {
    Intent::KernelArguments {
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: vec![],
    }
}

/// Writes a plan's files into the tree, checking each is still as planned.
fn apply(dir: &Path, plan: &Plan) {
    for c in &plan.changes {
        let p = dir.join(c.path.trim_start_matches('/'));
        assert_eq!(std::fs::read(&p).ok(), c.before, "{} changed", c.path);
        match &c.after {
            Some(b) => {
                std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                std::fs::write(&p, b).expect("write");
            }
            None => std::fs::remove_file(&p).expect("rm"),
        }
    }
}

fn text(c: &Change) -> String {
    String::from_utf8_lossy(c.after.as_deref().unwrap_or_default()).into_owned()
}

fn find<'a>(p: &'a Plan, path: &str) -> &'a Change {
    p.changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no change of {path} in {:?}", paths(p)))
}

fn paths(p: &Plan) -> Vec<&str> {
    p.changes.iter().map(|c| c.path.as_str()).collect()
}

fn set_file(spec: &mut HostSpec, path: &str, content: &str) {
    spec.files.retain(|(p, _)| p != path);
    spec.files.push((path.into(), content.into()));
}

#[test]
fn grub_gets_an_executable_script_and_its_undo_removes_it() {
    let d = build(&passage_fixtures::laptop_prime());
    let p = planned(d.path(), &at_boot(&["01:00.0", "01:00.1"]));
    let script = find(&p, GRUB_SCRIPT);
    assert_eq!(script.before, None);
    assert_eq!(
        script.mode, 0o755,
        "grub-mkconfig runs only executable scripts"
    );
    assert!(text(script).starts_with("#!/bin/sh\n"));
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert!(argv.contains(&"update-grub".to_string()), "{argv:?}");
    let undo = p.undo();
    assert!(undo
        .changes
        .iter()
        .any(|c| c.path == GRUB_SCRIPT && c.after.is_none()));
    assert!(undo.steps.iter().any(|s| s.argv == ["update-grub"]));
    apply(d.path(), &p);
    assert!(planned(d.path(), &at_boot(&["01:00.0", "01:00.1"])).is_empty());
}

/// A stand-in for the distribution's 10_linux: the entries it prints for two kernels, with the
/// command line grub-mkconfig hands it, in the layout of Debian 12's script (simple entry,
/// then the submenu).
const STUB_10_LINUX: &str = r#"#!/bin/sh
echo "Found linux image: /boot/vmlinuz-6.1.0-28-amd64" >&2
cat <<END
menuentry '${TITLE}' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-0a1b' {
	load_video
	insmod gzio
	echo	'Loading Linux 6.1.0-28-amd64 ...'
	linux	/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0a1b ro ${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}
	initrd	/boot/initrd.img-6.1.0-28-amd64
}
submenu 'Advanced options for Debian GNU/Linux' \$menuentry_id_option 'gnulinux-advanced-0a1b' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-28-amd64' --class debian \$menuentry_id_option 'gnulinux-6.1.0-28-amd64-advanced-0a1b' {
		linux	/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0a1b ro ${GRUB_CMDLINE_LINUX} ${GRUB_CMDLINE_LINUX_DEFAULT}
	}
}
END
"#;

/// Runs the script as grub-mkconfig would: from a grub.d directory, with its variables set.
fn run_script(shell: &[&str], awk_dir: Option<&Path>, title: &str) -> String {
    let d = tempfile::tempdir().expect("tempdir");
    let grub_d = d.path().join("grub.d");
    std::fs::create_dir(&grub_d).expect("mkdir");
    let stub = grub_d.join("10_linux");
    std::fs::write(&stub, STUB_10_LINUX).expect("write");
    let script = grub_d.join("99_passage_without_vfio");
    std::fs::write(&script, grub_script("without GPU passthrough")).expect("write");
    for f in [&stub, &script] {
        Command::new("chmod")
            .arg("755")
            .arg(f)
            .status()
            .expect("chmod");
    }
    let mut path = std::env::var("PATH").unwrap_or_default();
    if let Some(dir) = awk_dir {
        path = format!("{}:{path}", dir.display());
    }
    let out = Command::new(shell[0])
        .args(&shell[1..])
        .arg(&script)
        .env("PATH", path)
        .env("TITLE", title)
        .env("GRUB_CMDLINE_LINUX", "rd.luks.uuid=7 vfio_pci.ids=1:2")
        .env(
            "GRUB_CMDLINE_LINUX_DEFAULT",
            "quiet intel_iommu=on iommu=pt vfio-pci.ids=10de:1b80,10de:10f0 *",
        )
        .output()
        .expect("run the script");
    assert!(out.status.success(), "{shell:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn grub_script_prints_the_newest_kernel_once_with_the_switch() {
    let busybox = Command::new("busybox")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    let bb_awk = tempfile::tempdir().expect("tempdir");
    let mut runs: Vec<(Vec<&str>, Option<&Path>)> = vec![(vec!["sh"], None)];
    if busybox {
        std::os::unix::fs::symlink(
            which("busybox").expect("busybox on PATH"),
            bb_awk.path().join("awk"),
        )
        .expect("symlink");
        runs.push((vec!["busybox", "sh"], Some(bb_awk.path())));
    }
    for (shell, awk) in runs {
        let out = run_script(&shell, awk, "Debian GNU/Linux");
        let want = "menuentry 'Debian GNU/Linux, without GPU passthrough' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'passage-without-vfio-gnulinux-simple-0a1b' {\n\tload_video\n\tinsmod gzio\n\techo\t'Loading Linux 6.1.0-28-amd64 ...'\n\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0a1b ro rd.luks.uuid=7 quiet intel_iommu=on iommu=pt * passage.vfio=off\n\tinitrd\t/boot/initrd.img-6.1.0-28-amd64\n}\n";
        let (entry, menu) = out.split_at(out.find("if [").expect("the menu block"));
        assert_eq!(entry, want, "{shell:?}");
        assert!(menu.contains("save_env passage_show_menu\n"), "{menu}");
        // GRUB's own parser accepts what the script adds to grub.cfg.
        let cfg = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(cfg.path(), &out).expect("write");
        let check = Command::new("grub-script-check")
            .arg(cfg.path())
            .output()
            .expect("grub-script-check (grub-common) runs");
        assert!(check.status.success(), "{check:?}\n{out}");
        // GRUB's quoting of a title with a quote survives the retitling.
        let out = run_script(&shell, awk, "Debian'\\''s GNU/Linux");
        assert!(
            out.starts_with("menuentry 'Debian'\\''s GNU/Linux, without GPU passthrough' --class"),
            "{shell:?}: {out}"
        );
    }
    assert!(grub_script("l'accès").contains("PASSAGE_SUFFIX=', l'\\''\\'\\'''\\''accès'"));
}

fn which(prog: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

#[test]
fn systemd_boot_gets_a_copied_entry_that_argument_changes_leave_alone() {
    let d = build(&passage_fixtures::single_gpu());
    let p = planned(d.path(), &at_boot(&["0d:00.3"]));
    let entry = find(&p, &format!("/boot/loader/entries/arch-{MARK}.conf"));
    assert_eq!(
        text(entry),
        "title Arch Linux (without GPU passthrough)\nlinux   /vmlinuz-linux\ninitrd  /initramfs-linux.img\noptions root=PARTUUID=9b0c7c2e-5f4d-4d8e-8b1a-3c2e1f0a9d8c rw zswap.enabled=0 quiet passage.vfio=off\n"
    );
    apply(d.path(), &p);
    let later = planned(d.path(), &args(&["iommu=pt", "vfio-pci.ids=1022:149c"]));
    assert!(
        !paths(&later).iter().any(|p| p.contains(MARK)),
        "{:?}",
        paths(&later)
    );
    assert!(paths(&later).contains(&"/boot/loader/entries/arch.conf"));
}

#[test]
fn kernelstub_gets_an_entry_beside_the_current_one() {
    let d = build(&passage_fixtures::x570_tutorial());
    let p = planned(
        d.path(),
        &at_boot(&["0a:00.0", "0a:00.1", "0a:00.2", "0a:00.3"]),
    );
    let entry = find(
        &p,
        &format!("/boot/efi/loader/entries/Pop_OS-current-{MARK}.conf"),
    );
    let t = text(entry);
    assert!(t.starts_with("title Pop!_OS (without GPU passthrough)\nlinux /EFI/Pop_OS-2105a9ac-da30-41ba-87a9-75437bae74c6/vmlinuz.efi\n"), "{t}");
    assert!(
        t.ends_with(" splash amd_iommu=on passage.vfio=off\n"),
        "{t}"
    );
}

#[test]
fn refind_gets_a_line_that_argument_changes_leave_alone() {
    let mut spec = passage_fixtures::single_gpu();
    let conf = "/boot/refind_linux.conf";
    set_file(&mut spec, conf, "\"Boot with standard options\"  \"rw root=PARTUUID=9b0c quiet\"\n\"Boot to single-user mode\"  \"rw root=PARTUUID=9b0c quiet single\"\n");
    let d = build(&spec);
    let p = planned(d.path(), &at_boot(&["0d:00.3"]));
    let c = find(&p, conf);
    assert!(text(c).ends_with("\"Boot without GPU passthrough (Passage)\" \"rw root=PARTUUID=9b0c quiet passage.vfio=off\"\n"), "{}", text(c));
    apply(d.path(), &p);
    let later = planned(d.path(), &args(&["amd_iommu=on"]));
    let t = text(find(&later, conf));
    assert_eq!(t.matches("amd_iommu=on").count(), 2, "{t}");
    assert!(
        t.ends_with("\"rw root=PARTUUID=9b0c quiet passage.vfio=off\"\n"),
        "{t}"
    );
}

#[test]
fn versioned_bls_entries_get_a_note_saying_how_instead() {
    let mut spec = passage_fixtures::iommu_off();
    for (i, d) in spec.pci.iter_mut().enumerate() {
        d.group = Some(if d.addr.starts_with("0000:01:") {
            1
        } else {
            10 + i as u32
        });
    }
    spec.iommu_units = vec!["dmar0".into()];
    let d = build(&spec);
    let p = planned(d.path(), &at_boot(&["01:00.0", "01:00.1"]));
    assert!(
        !paths(&p).iter().any(|p| p.contains(MARK)),
        "{:?}",
        paths(&p)
    );
    assert!(
        p.notes.iter().any(|n| n.contains("passage.vfio=off")),
        "{:?}",
        p.notes
    );
}

#[test]
fn the_next_start_shows_the_menu_once_and_undo_withdraws_the_request() {
    // GRUB (Debian's /boot/grub exists): grub-editenv sets the request the script clears.
    let mut spec = passage_fixtures::laptop_prime();
    set_file(&mut spec, "/boot/grub/grub.cfg", "# grub-mkconfig output\n");
    let d = build(&spec);
    let p = planned(d.path(), &at_boot(&["01:00.0", "01:00.1"]));
    let once = p
        .steps
        .iter()
        .find(|s| s.argv[0] == "grub-editenv")
        .expect("a grub-editenv step");
    assert_eq!(
        once.argv,
        [
            "grub-editenv",
            "/boot/grub/grubenv",
            "set",
            "passage_show_menu=1"
        ]
    );
    let undo = p.undo();
    assert!(undo.steps.iter().any(|s| s.argv
        == [
            "grub-editenv",
            "/boot/grub/grubenv",
            "unset",
            "passage_show_menu"
        ]));
    // The request is set after grub.cfg is regenerated with the script that reads it.
    let pos = |prog: &str| p.steps.iter().position(|s| s.argv[0] == prog);
    assert!(pos("update-grub") < pos("grub-editenv"), "{:?}", p.steps);

    // systemd-boot, when the firmware says it started this boot: bootctl's one-shot timeout.
    let d = build(&passage_fixtures::single_gpu());
    passage_fixtures::write_loader_info(d.path(), "systemd-boot 255.4").expect("LoaderInfo");
    let p = planned(d.path(), &at_boot(&["0d:00.3"]));
    let once = p
        .steps
        .iter()
        .find(|s| s.argv[0] == "bootctl")
        .expect("a bootctl step");
    assert_eq!(once.argv, ["bootctl", "set-timeout-oneshot", "10"]);
    assert_eq!(
        once.undo.as_deref(),
        Some(
            &[
                "bootctl".to_string(),
                "set-timeout-oneshot".into(),
                String::new()
            ][..]
        )
    );
    // Without that evidence (a container, a BIOS boot) nothing is asked of bootctl.
    let d = build(&passage_fixtures::single_gpu());
    let p = planned(d.path(), &at_boot(&["0d:00.3"]));
    assert!(!p.steps.iter().any(|s| s.argv[0] == "bootctl"));
}

#[test]
fn after_the_restart_the_boot_check_says_which_entry_and_where_the_cards_are() {
    use passage_core::boot_check::{boot_check, boot_time};
    let d = build(&passage_fixtures::x570_tutorial());
    let scan = |dir: &Path| {
        let root = Root::new(dir).expect("root");
        let host = Host::scan(&root);
        (root, host)
    };
    let (root, host) = scan(d.path());
    assert_eq!(boot_check(&root, &host), None, "nothing bound at boot yet");
    let card = ["0a:00.0", "0a:00.1", "0a:00.2", "0a:00.3"];
    apply(d.path(), &planned(d.path(), &at_boot(&card)));
    let (root, host) = scan(d.path());
    let c = boot_check(&root, &host).expect("a boot check");
    let addrs: Vec<String> = c.devices.iter().map(|x| x.address.to_string()).collect();
    assert_eq!(
        addrs,
        [
            "0000:0a:00.0",
            "0000:0a:00.1",
            "0000:0a:00.2",
            "0000:0a:00.3"
        ]
    );
    assert!(!c.without_passthrough);
    assert!(
        !c.on_vfio(),
        "the fixture's card is on nvidia: {:?}",
        c.devices
    );
    assert_eq!(c.devices[0].driver.as_deref(), Some("nvidia"));
    // Started from the entry without passthrough.
    let cmdline = d.path().join("proc/cmdline");
    let mut line = std::fs::read_to_string(&cmdline).expect("cmdline");
    line = format!("{} passage.vfio=off\n", line.trim_end());
    std::fs::write(&cmdline, line).expect("write");
    std::fs::write(
        d.path().join("proc/stat"),
        "cpu  1 2 3\nbtime 1764150000\nprocesses 9\n",
    )
    .expect("write");
    let (root, host) = scan(d.path());
    assert!(boot_check(&root, &host).expect("check").without_passthrough);
    assert_eq!(boot_time(&root), Some(1_764_150_000));
}

/// A Fedora entry as Fedora's 20-grub.install writes it, and one as systemd's
/// 90-loaderentry.install writes it (padded keys, a machine-id line).
const FEDORA_ENTRY: &str = "title Fedora Linux (6.8.5-301.fc40.x86_64) 40 (Workstation Edition)\nversion 6.8.5-301.fc40.x86_64\nlinux /vmlinuz-6.8.5-301.fc40.x86_64\ninitrd /initramfs-6.8.5-301.fc40.x86_64.img\noptions root=UUID=6a1f0e8c-2d3b-4c5a-9e7f-1b2c3d4e5f60 ro rootflags=subvol=root rhgb quiet vfio-pci.ids=10de:1b80\ngrub_users $grub_users\ngrub_arg --unrestricted\ngrub_class fedora\n";

#[test]
fn versioned_entries_get_copies_and_a_kernel_install_plugin_for_new_kernels() {
    let mut spec = passage_fixtures::iommu_off();
    for (i, d) in spec.pci.iter_mut().enumerate() {
        d.group = Some(if d.addr.starts_with("0000:01:") {
            1
        } else {
            10 + i as u32
        });
    }
    spec.iommu_units = vec!["dmar0".into()];
    set_file(&mut spec, "/usr/bin/kernel-install", "#!/bin/sh\n");
    let d = build(&spec);
    let p = planned(d.path(), &at_boot(&["01:00.0", "01:00.1"]));
    let plugin = find(&p, passage_core::plan::fallback::KERNEL_INSTALL_PLUGIN);
    assert_eq!(plugin.mode, 0o755);
    let copy = find(
        &p,
        &format!("/boot/loader/entries/6a1f0e8c2d3b4c5a9e7f1b2c3d4e5f60-6.8.5-301.fc40.x86_64-{MARK}.conf"),
    );
    assert!(text(copy).starts_with("title Fedora Linux (6.8.5-301.fc40.x86_64) 40 (Workstation Edition) (without GPU passthrough)\n"), "{}", text(copy));
}

/// Runs the plugin as kernel-install runs it (its variables, `add|remove VERSION DIR`).
fn run_plugin(plugin: &Path, boot: &Path, command: &str, version: &str) {
    let out = Command::new("sh")
        .arg(plugin)
        .args([command, version])
        .arg(boot.join("f00d").join(version))
        .env("KERNEL_INSTALL_BOOT_ROOT", boot)
        .env("KERNEL_INSTALL_ENTRY_TOKEN", "f00d")
        .output()
        .expect("sh");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_plugin_writes_what_the_plan_writes_and_removes_it_with_its_kernel() {
    use passage_core::plan::fallback::{kernel_install_plugin, loader_entry};
    let d = tempfile::tempdir().expect("tempdir");
    let plugin = d.path().join("95-passage-without-vfio.install");
    std::fs::write(&plugin, kernel_install_plugin("without GPU passthrough")).expect("write");
    let entries = d.path().join("boot/loader/entries");
    std::fs::create_dir_all(&entries).expect("mkdir");
    let padded = "title      Debian GNU/Linux 12 (bookworm)\nversion    6.1.0-28-amd64\nmachine-id f00d\nsort-key   debian\noptions    root=UUID=1 ro quiet vfio-pci.ids=10de:1b80 systemd.machine_id=f00d\nlinux      /f00d/6.1.0-28-amd64/linux\ninitrd     /f00d/6.1.0-28-amd64/initrd.img-6.1.0-28-amd64\n";
    for (version, entry) in [
        ("6.8.5-301.fc40.x86_64", FEDORA_ENTRY),
        ("6.1.0-28-amd64", padded),
        ("6.9.0-no-options", "title X\nlinux /vmlinuz-6.9.0\r\n"),
    ] {
        std::fs::write(entries.join(format!("f00d-{version}.conf")), entry).expect("write");
        run_plugin(&plugin, &d.path().join("boot"), "add", version);
        let copy = entries.join(format!("f00d-{version}-{MARK}.conf"));
        let got = std::fs::read_to_string(&copy).expect("the plugin wrote the copy");
        assert_eq!(
            got,
            loader_entry(entry, "without GPU passthrough"),
            "{version}"
        );
        run_plugin(&plugin, &d.path().join("boot"), "remove", version);
        assert!(!copy.exists(), "{version}: removed with its kernel");
    }
}

#[test]
fn real_kernel_install_runs_the_plugin_after_systemds_own_entry_writer() {
    use passage_core::plan::fallback::{kernel_install_plugin, loader_entry};
    // systemd's kernel-install with its own 90-loaderentry.install, on a temp boot root and
    // configuration root (nothing of the host's /boot or /etc/kernel is used).
    let d = tempfile::tempdir().expect("tempdir");
    let conf = d.path().join("etc/kernel");
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::write(conf.join("install.conf"), "layout=bls\n").expect("write");
    std::fs::write(
        conf.join("cmdline"),
        "root=UUID=1 ro quiet intel_iommu=on vfio-pci.ids=10de:1b80\n",
    )
    .expect("write");
    let boot = d.path().join("boot");
    std::fs::create_dir_all(&boot).expect("mkdir");
    let plugin = d.path().join("95-passage-without-vfio.install");
    std::fs::write(&plugin, kernel_install_plugin("without GPU passthrough")).expect("write");
    Command::new("chmod")
        .arg("755")
        .arg(&plugin)
        .status()
        .expect("chmod");
    let image = d.path().join("vmlinuz");
    std::fs::write(&image, "kernel").expect("write");
    let id = "0123456789abcdef0123456789abcdef";
    let plugins = format!(
        "/usr/lib/kernel/install.d/90-loaderentry.install {}",
        plugin.display()
    );
    let run = |args: &[&str]| {
        let out = Command::new("kernel-install")
            .args(args)
            .env("KERNEL_INSTALL_CONF_ROOT", &conf)
            .env("BOOT_ROOT", &boot)
            .env("MACHINE_ID", id)
            .env("KERNEL_INSTALL_PLUGINS", &plugins)
            .output()
            .expect("kernel-install (systemd) runs");
        assert!(out.status.success(), "{out:?}");
    };
    let version = "6.1.0-28-amd64";
    run(&["add", version, &image.to_string_lossy()]);
    let entries = boot.join("loader/entries");
    let entry = std::fs::read_to_string(entries.join(format!("{id}-{version}.conf")))
        .expect("systemd's plugin wrote the entry");
    let copy = std::fs::read_to_string(entries.join(format!("{id}-{version}-{MARK}.conf")))
        .expect("Passage's plugin wrote the copy");
    assert_eq!(copy, loader_entry(&entry, "without GPU passthrough"));
    assert!(
        copy.contains(" intel_iommu=on ") && copy.contains("passage.vfio=off\n"),
        "{copy}"
    );
    assert!(!copy.contains("vfio-pci.ids"), "{copy}");
    run(&["remove", version]);
    assert_eq!(std::fs::read_dir(&entries).expect("entries").count(), 0);
}
