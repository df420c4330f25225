//! Plans against configuration files as Debian, Ubuntu, Fedora, Arch and Pop!_OS ship them:
//! the diff is what a user expects, applying then planning again changes nothing, and the undo
//! brings back every file byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use passage_core::host::PciAddress;
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

fn scan(dir: &Path) -> (Root, Host) {
    let root = Root::new(dir).expect("root");
    let host = Host::scan(&root);
    (root, host)
}

/// Every regular file below /etc and /boot, by path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, p: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd.flatten() {
            let path = e.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if m.is_dir() {
                walk(base, &path, out);
            } else if m.is_file() {
                let rel = path
                    .strip_prefix(base)
                    .expect("below")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    for top in ["etc", "boot"] {
        walk(dir, &dir.join(top), &mut out);
    }
    out
}

/// Writes a plan's files into the tree (what the helper does, minus journal and atomicity).
fn apply(dir: &Path, plan: &Plan) {
    for c in &plan.changes {
        let p = dir.join(c.path.trim_start_matches('/'));
        assert_eq!(
            std::fs::read(&p).ok(),
            c.before,
            "{} changed since it was planned",
            c.path
        );
        match &c.after {
            Some(b) => {
                std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                std::fs::write(&p, b).expect("write");
            }
            None => std::fs::remove_file(&p).expect("rm"),
        }
    }
}

/// Plans, applies, re-plans (must be empty) and undoes (must be byte-identical).
fn round_trip(dir: &Path, make: impl Fn(&Root, &Host) -> Plan) -> Plan {
    let before = snapshot(dir);
    let (root, host) = scan(dir);
    let p = make(&root, &host);
    assert!(!p.is_empty(), "nothing planned");
    apply(dir, &p);
    let (root2, host2) = scan(dir);
    let again = make(&root2, &host2);
    assert!(again.is_empty(), "not idempotent:\n{}", again.diff());
    apply(dir, &p.undo());
    assert_eq!(snapshot(dir), before, "undo is not byte-identical");
    p
}

const DEBIAN_GRUB: &str = "# If you change this file, run 'update-grub' afterwards to update\n# /boot/grub/grub.cfg.\n# For full documentation of the options in this file, see:\n#   info -f grub -n 'Simple configuration'\n\nGRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n\n# If your computer has multiple video cards, you may need to uncomment\n# the following line.\n#GRUB_DISABLE_OS_PROBER=false\n\n# Uncomment to enable BadRAM filtering, modify to suit your needs\n#GRUB_BADRAM=\"0x01234567,0xfefefefe,0x89abcdef,0xefefefef\"\n\n# Uncomment to disable graphical terminal (grub-pc only)\n#GRUB_TERMINAL=console\n\n# Uncomment to disable generation of recovery mode menu entries\n#GRUB_DISABLE_RECOVERY=\"true\"\n\n# Uncomment to get a beep at grub start\n#GRUB_INIT_TUNE=\"480 440 1\"\n";

const ARCH_GRUB: &str = "# GRUB boot loader configuration\n\nGRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"Arch\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n\n# Preload both GPT and MBR modules so that they are not missed\nGRUB_PRELOAD_MODULES=\"part_gpt part_msdos\"\n\n# Uncomment to enable booting from LUKS encrypted devices\n#GRUB_ENABLE_CRYPTODISK=y\n";

/// Plans adding kernel arguments, failing the test with the plan's error.
fn plan_args(root: &Root, host: &Host, add: &[&str]) -> Plan {
    let intent = Intent::KernelArguments {
        add: add.iter().map(|a| a.to_string()).collect(),
        remove: vec![],
    };
    plan::plan(root, host, &intent).expect("plan")
}

/// Plans binding `devices` to vfio-pci at boot, failing the test with the plan's error.
fn plan_at_boot(root: &Root, host: &Host, devices: &[PciAddress]) -> Plan {
    let intent = Intent::VfioAtBoot {
        devices: devices.to_vec(),
    };
    plan::plan(root, host, &intent).expect("plan")
}

/// The change `pick` chooses; the test fails naming `what` when there is none.
fn change<'a>(p: &'a Plan, what: &str, pick: impl Fn(&&Change) -> bool) -> &'a Change {
    p.changes
        .iter()
        .find(pick)
        .unwrap_or_else(|| panic!("no change for {what}"))
}

/// The IDs vfio-pci takes at boot, as the scanner reads them back from a modprobe.d text.
fn vfio_ids(modprobe: &str) -> String {
    let mut v = passage_core::host::vfio::VfioSetup::default();
    passage_core::host::vfio::parse_modprobe("/etc/modprobe.d/passage-vfio.conf", modprobe, &mut v);
    v.modprobe_ids.join(",")
}

/// A change's new text.
fn after(c: &Change) -> String {
    String::from_utf8_lossy(c.after.as_deref().unwrap_or_default()).into_owned()
}

fn set_file(spec: &mut HostSpec, path: &str, content: &str) {
    spec.files.retain(|(p, _)| p != path);
    spec.files.push((path.into(), content.into()));
}

/// The plan to bind the Arch fixture's chipset USB controller at boot, on `spec` changed by
/// `files`: the plan, or the refusal in words.
fn arch_at_boot(files: &[(&str, &str)]) -> Result<Plan, String> {
    let mut spec = passage_fixtures::single_gpu();
    for (path, text) in files {
        set_file(&mut spec, path, text);
    }
    let d = build(&spec);
    let (root, host) = scan(d.path());
    let intent = Intent::VfioAtBoot {
        devices: vec![a("0d:00.3")],
    };
    plan::plan(&root, &host, &intent).map_err(|e| e.to_string())
}

fn changed_paths(p: &Plan) -> Vec<&str> {
    p.changes.iter().map(|c| c.path.as_str()).collect()
}

/// mkinitcpio's reading rules (mkinitcpio v41's `mkinitcpio` script): a preset that names a
/// configuration builds with `-c`, which reads that file alone; drop-ins come in `sort -V`
/// order; modprobe.d reaches the image only through the `modconf` hook.
#[test]
fn mkinitcpio_is_read_as_mkinitcpio_reads_it() {
    let sets = |m: &str| format!("MODULES=({m})\n");
    // Version order: 10-b comes after 9-a, so 10-b's MODULES is the one that counts.
    let p = arch_at_boot(&[
        ("/etc/mkinitcpio.conf.d/9-a.conf", &sets("amdgpu")),
        ("/etc/mkinitcpio.conf.d/10-b.conf", &sets("nvidia")),
    ])
    .expect("plan");
    assert!(
        changed_paths(&p).contains(&"/etc/mkinitcpio.conf.d/10-b.conf"),
        "{:?}",
        changed_paths(&p)
    );
    assert!(!changed_paths(&p).contains(&"/etc/mkinitcpio.conf.d/9-a.conf"));
    // A preset that names /etc/mkinitcpio.conf turns the drop-ins off: the main file counts.
    let named = "ALL_config=\"/etc/mkinitcpio.conf\"\nALL_kver=\"/boot/vmlinuz-linux\"\nPRESETS=('default')\ndefault_image=\"/boot/initramfs-linux.img\"\n";
    let p = arch_at_boot(&[
        ("/etc/mkinitcpio.d/linux.preset", named),
        ("/etc/mkinitcpio.conf.d/10-b.conf", &sets("nvidia")),
    ])
    .expect("plan");
    assert!(changed_paths(&p).contains(&"/etc/mkinitcpio.conf"));
    assert!(!changed_paths(&p).contains(&"/etc/mkinitcpio.conf.d/10-b.conf"));
    // A preset naming a file of its own: that file is changed.
    let custom = named.replace("/etc/mkinitcpio.conf", "/etc/mkinitcpio-vfio.conf");
    let hooks = "HOOKS=(base udev autodetect modconf block filesystems fsck)\n";
    let p = arch_at_boot(&[
        ("/etc/mkinitcpio.d/linux.preset", &custom),
        ("/etc/mkinitcpio-vfio.conf", &format!("MODULES=()\n{hooks}")),
    ])
    .expect("plan");
    assert!(changed_paths(&p).contains(&"/etc/mkinitcpio-vfio.conf"));
    assert!(!changed_paths(&p).contains(&"/etc/mkinitcpio.conf"));
    // Its HOOKS without modconf: that file is named, not /etc/mkinitcpio.conf.
    let e = arch_at_boot(&[
        ("/etc/mkinitcpio.d/linux.preset", &custom),
        ("/etc/mkinitcpio-vfio.conf", "MODULES=()\n"),
    ])
    .expect_err("no HOOKS");
    assert!(
        e.contains("modconf") && e.contains("/etc/mkinitcpio-vfio.conf"),
        "{e}"
    );
    // ... and one that does not exist is named.
    let e = arch_at_boot(&[("/etc/mkinitcpio.d/linux.preset", &custom)]).expect_err("missing");
    assert!(e.contains("/etc/mkinitcpio-vfio.conf"), "{e}");
    // Two kernels whose presets read different files: Passage cannot tell, and says so.
    let e = arch_at_boot(&[
        ("/etc/mkinitcpio.d/linux-lts.preset", &custom),
        ("/etc/mkinitcpio-vfio.conf", &format!("MODULES=()\n{hooks}")),
    ])
    .expect_err("two configurations");
    assert!(
        e.contains("/etc/mkinitcpio-vfio.conf, /etc/mkinitcpio.conf)"),
        "{e}"
    );
    // No modconf: the image would not carry the vfio-pci settings. A drop-in's HOOKS counts.
    let e = arch_at_boot(&[(
        "/etc/mkinitcpio.conf.d/20-hooks.conf",
        "HOOKS=(base systemd autodetect\n  kms keyboard sd-vconsole block filesystems fsck)\n",
    )])
    .expect_err("no modconf");
    assert!(
        e.contains("modconf") && e.contains("/etc/mkinitcpio.conf.d/20-hooks.conf"),
        "{e}"
    );
    let p = arch_at_boot(&[(
        "/etc/mkinitcpio.conf.d/20-hooks.conf",
        "HOOKS=(base systemd autodetect\n  kms keyboard sd-vconsole block filesystems fsck)\nHOOKS+=(modconf)\n",
    )]);
    assert!(p.is_ok(), "{p:?}");
}

#[test]
fn debian_laptop_full_host_setup() {
    let mut spec = passage_fixtures::laptop_prime();
    set_file(&mut spec, "/etc/default/grub", DEBIAN_GRUB);
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan::for_gpu(r, h, a("01:00.0")).expect("plan")
    });
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/default/grub",
            "/etc/modprobe.d/passage-vfio.conf",
            "/etc/initramfs-tools/modules",
            "/etc/grub.d/99_passage_without_vfio",
            // libvirt's hook: it reserves the wizard's VMs' hugepages when they start.
            "/etc/libvirt/hooks/qemu.d/50-passage",
            "/etc/X11/xorg.conf.d/20-passage-host-gpu.conf",
            "/etc/X11/xorg.conf.d/10-nvidia.conf"
        ]
    );
    let grub = &p.changes[0].diff;
    assert!(grub.contains("-GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n+GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n"), "{grub}");
    assert!(
        grub.starts_with("--- a/etc/default/grub\n+++ b/etc/default/grub\n"),
        "{grub}"
    );
    let modprobe = after(&p.changes[1]);
    assert!(vfio_ids(&modprobe) == "10de:10fa,10de:1f99", "{modprobe}");
    assert!(
        modprobe.contains("softdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n"),
        "{modprobe}"
    );
    let x11 = after(&p.changes[5]);
    assert!(
        x11.contains("BusID \"PCI:0:2:0\"") && x11.contains("Driver \"modesetting\""),
        "{x11}"
    );
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert_eq!(
        argv,
        [
            "update-grub",
            "update-initramfs -u -k all",
            "prime-select intel"
        ]
    );
    assert_eq!(
        p.undo().steps[2].argv,
        ["prime-select", "on-demand"],
        "undo switches prime-select back"
    );
    assert!(p.notes.iter().any(|n| n.contains("Restart")));
    // Linux 6.5: no vfio_virqfd.
    let mods = after(&p.changes[2]);
    assert!(
        mods.ends_with("# Passage: vfio for GPU passthrough\nvfio_pci\nvfio\nvfio_iommu_type1\n"),
        "{mods}"
    );
}

#[test]
fn pop_os_x570_with_kernelstub() {
    let d = build(&passage_fixtures::x570_tutorial());
    let p = round_trip(d.path(), |r, h| {
        plan::for_gpu(r, h, a("0a:00.0")).expect("plan")
    });
    let ks = change(&p, "kernelstub", |c| {
        c.path == "/etc/kernelstub/configuration"
    });
    // amd_iommu=on is there already (the tutorial's kernelstub --add-options); iommu=pt is new.
    assert!(
        ks.diff
            .contains("-      \"amd_iommu=on\"\n+      \"amd_iommu=on\",\n+      \"iommu=pt\"\n"),
        "{}",
        ks.diff
    );
    let added = ks
        .diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .count();
    assert_eq!(added, 2, "only the user's options change: {}", ks.diff);
    let modprobe = change(&p, "modprobe", |c| c.path.ends_with("passage-vfio.conf"));
    let text = after(modprobe);
    assert!(
        vfio_ids(&text) == "10de:10f7,10de:1ad6,10de:1ad7,10de:1e07",
        "{text}"
    );
    for m in ["i2c_nvidia_gpu", "nvidia", "snd_hda_intel", "xhci_pci"] {
        assert!(
            text.contains(&format!("softdep {m} pre: vfio-pci\n")),
            "{m}: {text}"
        );
    }
    // Linux 5.3 still has vfio_virqfd as its own module.
    let mods = change(&p, "modules", |c| c.path == "/etc/initramfs-tools/modules");
    assert!(after(mods).contains("vfio_virqfd\n"));
    // The host keeps the RX 5700 for its desktop; NVIDIA's packaged X11 config is masked.
    let x11 = change(&p, "x11", |c| c.path.ends_with("20-passage-host-gpu.conf"));
    assert!(after(x11).contains("BusID \"PCI:13:0:0\""));
    assert!(p
        .changes
        .iter()
        .any(|c| c.path == "/etc/X11/xorg.conf.d/10-nvidia.conf" && c.before.is_none()));
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert_eq!(argv, ["kernelstub", "update-initramfs -u -k all"]);
}

const CLOUDIMG: &str = include_str!("data/boot/50-cloudimg-settings.cfg");

#[test]
fn grub_drop_ins_read_after_default_grub_get_the_change() {
    // Ubuntu's cloud image sets GRUB_CMDLINE_LINUX_DEFAULT again in a drop-in that
    // grub-mkconfig sources last: an edit of /etc/default/grub alone would never reach grub.cfg.
    let cloud = "/etc/default/grub.d/50-cloudimg-settings.cfg";
    let mut spec = passage_fixtures::laptop_prime();
    set_file(&mut spec, "/etc/default/grub", DEBIAN_GRUB);
    set_file(&mut spec, cloud, CLOUDIMG);
    set_file(
        &mut spec,
        "/etc/default/grub.d/.hidden.cfg",
        "GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\n",
    );
    set_file(
        &mut spec,
        "/etc/default/grub.d/init-select.cfg.dpkg-old",
        "GRUB_CMDLINE_LINUX_DEFAULT=\"y\"\n",
    );
    let d = build(&spec);
    let iommu = ["intel_iommu=on", "iommu=pt"];
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &iommu));
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, [cloud]);
    assert_eq!(
        after(&p.changes[0]),
        CLOUDIMG.replace(
            "\"console=tty1 console=ttyS0\"",
            "\"console=tty1 console=ttyS0 intel_iommu=on iommu=pt\""
        )
    );

    // A drop-in that appends to the value (`"$GRUB_CMDLINE_LINUX_DEFAULT …"`) carries the
    // earlier one: arguments are replaced where they are, new ones go last.
    let vflag = "/etc/default/grub.d/vflag.cfg";
    set_file(
        &mut spec,
        vflag,
        "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=nopt \\\nhugepages=16\"\n",
    );
    set_file(
        &mut spec,
        cloud,
        &CLOUDIMG.replace("console=ttyS0", "console=ttyS0 intel_iommu=off"),
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &iommu));
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, [cloud, vflag]);
    assert!(after(&p.changes[0]).contains("\"console=tty1 console=ttyS0 intel_iommu=on\""));
    assert_eq!(
        after(&p.changes[1]),
        "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt hugepages=16\"\n"
    );
}

#[test]
fn modules_already_listed_with_a_dash_are_not_added_again() {
    // A user who followed a guide wrote `vfio-pci`; the kernel reads it as `vfio_pci`.
    let mut spec = passage_fixtures::laptop_prime();
    set_file(&mut spec, "/etc/default/grub", DEBIAN_GRUB);
    set_file(
        &mut spec,
        "/etc/initramfs-tools/modules",
        "# List of modules\nvfio-pci\nvfio-iommu-type1 # by hand\n",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan::for_gpu(r, h, a("01:00.0")).expect("plan")
    });
    let mods = after(change(&p, "modules", |c| {
        c.path == "/etc/initramfs-tools/modules"
    }));
    assert_eq!(
        mods,
        "# List of modules\nvfio-pci\nvfio-iommu-type1 # by hand\n# Passage: vfio for GPU passthrough\nvfio\n"
    );
}

#[test]
fn fedora_grubby_bls_and_dracut() {
    // Fedora 40 with the IOMMU on this time (groups), GRUB + BLS entries, dracut.
    let mut spec = passage_fixtures::iommu_off();
    for (i, d) in spec.pci.iter_mut().enumerate() {
        d.group = Some(
            if d.addr.starts_with("0000:01:") || d.addr == "0000:00:01.0" {
                1
            } else {
                10 + i as u32
            },
        );
    }
    spec.iommu_units = vec!["dmar0".into()];
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan::for_gpu(r, h, a("01:00.0")).expect("plan")
    });
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(
        paths.contains(&"/etc/default/grub")
            && paths.iter().any(|p| p.starts_with("/boot/loader/entries/")),
        "{paths:?}"
    );
    let grub = change(&p, "grub", |c| c.path == "/etc/default/grub");
    assert!(
        grub.diff
            .contains("+GRUB_CMDLINE_LINUX=\"rhgb quiet intel_iommu=on iommu=pt\"\n"),
        "{}",
        grub.diff
    );
    let entry = change(&p, "entry", |c| c.path.starts_with("/boot/loader/entries/"));
    assert!(entry.diff.contains("+options root=UUID=6a1f0e8c-2d3b-4c5a-9e7f-1b2c3d4e5f60 ro rootflags=subvol=root rhgb quiet intel_iommu=on iommu=pt\n"), "{}", entry.diff);
    let dracut = change(&p, "dracut (.conf, or dracut ignores it)", |c| {
        c.path == "/etc/dracut.conf.d/10-passage-vfio.conf"
    });
    assert!(after(dracut).contains("force_drivers+=\" vfio_pci vfio vfio_iommu_type1 \""));
    // dracut copies /etc/modprobe.d only into host-only images (its 90kernel-modules): the
    // IDs and softdeps are installed by name, so a generic image carries them too.
    assert!(
        after(dracut).contains("install_items+=\" /etc/modprobe.d/passage-vfio.conf \""),
        "{}",
        after(dracut)
    );
    // nouveau drives the card today: it must wait for vfio-pci.
    let modprobe = change(&p, "modprobe", |c| c.path.ends_with("passage-vfio.conf"));
    assert!(after(modprobe).contains("softdep nouveau pre: vfio-pci"));
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert_eq!(
        argv,
        ["dracut -f --regenerate-all"],
        "BLS entries need no regeneration"
    );
}

#[test]
fn arch_systemd_boot_and_mkinitcpio() {
    let d = build(&passage_fixtures::single_gpu());
    round_trip(d.path(), |r, h| {
        plan_args(r, h, &["amd_iommu=on", "iommu=pt"])
    });
    // The only GPU is refused at boot, with the reason and the mode that takes it.
    let (root, host) = scan(d.path());
    let e = plan::for_gpu(&root, &host, a("0c:00.0"))
        .expect_err("boot GPU")
        .to_string();
    assert!(
        e.contains("0000:0c:00.0") && e.contains("no display") && e.contains("only-GPU mode"),
        "{e}"
    );
    // The chipset USB controller can go: mkinitcpio gets vfio first.
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &[a("0d:00.3")]));
    let mk = change(&p, "mkinitcpio", |c| c.path == "/etc/mkinitcpio.conf");
    assert!(
        mk.diff
            .contains("-MODULES=()\n+MODULES=(vfio_pci vfio vfio_iommu_type1)\n"),
        "{}",
        mk.diff
    );
    assert_eq!(
        p.steps.iter().map(|s| s.argv.join(" ")).collect::<Vec<_>>(),
        ["mkinitcpio -P"]
    );
    // mkinitcpio sources /etc/mkinitcpio.conf.d/*.conf after the main file: a drop-in that
    // sets MODULES is the one that counts, and the last such drop-in gets the change. One that
    // only appends (`MODULES+=`) does not replace the main file's list.
    let mut spec = passage_fixtures::single_gpu();
    let nvidia = "/etc/mkinitcpio.conf.d/10-nvidia.conf";
    set_file(
        &mut spec,
        nvidia,
        "# NVIDIA early KMS\nMODULES=(nvidia nvidia_modeset nvidia_uvm nvidia_drm)\n",
    );
    set_file(
        &mut spec,
        "/etc/mkinitcpio.conf.d/20-extra.conf",
        "MODULES+=(btrfs)\n",
    );
    set_file(
        &mut spec,
        "/etc/mkinitcpio.conf.d/30-off.conf.bak",
        "MODULES=(nope)\n",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &[a("0d:00.3")]));
    assert!(!p
        .changes
        .iter()
        .any(|c| c.path.starts_with("/etc/mkinitcpio.conf") && c.path != nvidia));
    assert_eq!(
        after(change(&p, "drop-in", |c| c.path == nvidia)),
        "# NVIDIA early KMS\nMODULES=(vfio_pci vfio vfio_iommu_type1 nvidia nvidia_modeset nvidia_uvm nvidia_drm)\n"
    );
    // Arch on GRUB too.
    let mut spec = passage_fixtures::single_gpu();
    set_file(&mut spec, "/etc/default/grub", ARCH_GRUB);
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["amd_iommu=on"]));
    assert!(
        p.changes[0]
            .diff
            .contains("+GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet amd_iommu=on\"\n"),
        "{}",
        p.diff()
    );
    assert_eq!(
        p.steps[0].argv,
        ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"]
    );
}

#[test]
fn identical_gpus_bind_by_address_with_a_udev_rule() {
    let mut spec = passage_fixtures::x570_tutorial();
    for d in &mut spec.pci {
        if d.addr == "0000:0d:00.0" {
            (d.vendor, d.device, d.driver) = (0x10de, 0x1e07, Some("nvidia".into()));
        }
    }
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan_at_boot(
            r,
            h,
            &[a("0a:00.0"), a("0a:00.1"), a("0a:00.2"), a("0a:00.3")],
        )
    });
    let modprobe = change(&p, "modprobe", |c| c.path.ends_with("passage-vfio.conf"));
    let text = after(modprobe);
    assert!(
        !text.contains("ids="),
        "ID binding would take the host's card: {text}"
    );
    let rule = change(&p, "udev", |c| {
        c.path == "/etc/udev/rules.d/61-passage-vfio.rules"
    });
    let rule = after(rule);
    assert!(
        rule.contains("KERNEL==\"0000:0a:00.0\", ATTR{driver_override}=\"vfio-pci\""),
        "{rule}"
    );
    assert!(!rule.contains("0000:0d:00.0"));
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("0000:0d:00.0") && n.contains("by PCI address")));
}

/// The udev rule that binds by address must act in the initramfs, before the card's own
/// driver there (dracut's `drm` module, mkinitcpio's `kms` hook) takes the card:
/// initramfs-tools copies every custom rule itself (Debian 12's udev hook), dracut and
/// mkinitcpio are told, and booster, which runs no udev rules, is refused.
#[test]
fn binding_by_address_puts_the_rule_into_every_initramfs() {
    let identical = |files: &[(&str, &str)], drop: &str| {
        let mut spec = passage_fixtures::x570_tutorial();
        for d in &mut spec.pci {
            if d.addr == "0000:0d:00.0" {
                (d.vendor, d.device, d.driver) = (0x10de, 0x1e07, Some("nvidia".into()));
            }
        }
        spec.files.retain(|(p, _)| p != drop);
        for (path, text) in files {
            set_file(&mut spec, path, text);
        }
        spec
    };
    let pair = [a("0a:00.0"), a("0a:00.1"), a("0a:00.2"), a("0a:00.3")];
    let rule = "/etc/udev/rules.d/61-passage-vfio.rules";
    // dracut: install_items in Passage's own dracut.conf.d file.
    let spec = identical(
        &[("/etc/dracut.conf", "")],
        "/etc/initramfs-tools/initramfs.conf",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &pair));
    let dracut = after(change(&p, "dracut", |c| {
        c.path.starts_with("/etc/dracut.conf.d/")
    }));
    assert!(
        dracut.contains(&format!("install_items+=\" {rule} \"")),
        "{dracut}"
    );
    // mkinitcpio: FILES+= where MODULES is changed, unless a later file sets FILES=.
    let hooks =
        "MODULES=()\nFILES=()\nHOOKS=(base udev autodetect modconf kms block filesystems)\n";
    let spec = identical(&[("/etc/mkinitcpio.conf", hooks)], "");
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &pair));
    let mk = after(change(&p, "mkinitcpio", |c| {
        c.path == "/etc/mkinitcpio.conf"
    }));
    assert!(mk.ends_with(&format!("FILES+=({rule})\n")), "{mk}");
    let spec = identical(
        &[
            ("/etc/mkinitcpio.conf", hooks),
            (
                "/etc/mkinitcpio.conf.d/50-files.conf",
                "FILES=(/etc/crypto.key)\n",
            ),
        ],
        "",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &pair));
    let later = after(change(&p, "the later FILES=", |c| {
        c.path.ends_with("50-files.conf")
    }));
    assert_eq!(later, format!("FILES=(/etc/crypto.key)\nFILES+=({rule})\n"));
    let mk = after(change(&p, "mkinitcpio", |c| {
        c.path == "/etc/mkinitcpio.conf"
    }));
    assert!(!mk.contains("FILES+="), "{mk}");
    // Binding by ID needs no rule in the image.
    let mut spec = passage_fixtures::x570_tutorial();
    set_file(&mut spec, "/etc/mkinitcpio.conf", hooks);
    let d = build(&spec);
    let (root, host) = scan(d.path());
    let p = plan_at_boot(&root, &host, &pair);
    assert!(!p.diff().contains("FILES+="), "{}", p.diff());
    // booster runs no udev rules: binding by address is refused there, with the reason and
    // the way that works (by ID it binds through the kernel command line, see below).
    let spec = identical(&[("/etc/booster.yaml", "universal: false\n")], "");
    let d = build(&spec);
    let (root, host) = scan(d.path());
    let intent = Intent::VfioAtBoot {
        devices: pair.to_vec(),
    };
    let e = plan::plan(&root, &host, &intent)
        .expect_err("booster by address")
        .to_string();
    assert!(
        e.contains("booster runs no udev rules")
            && e.contains("0000:0d:00.0")
            && e.contains("while its VM runs"),
        "{e}"
    );
}

/// `spec` with booster building its initramfs (no mkinitcpio or initramfs-tools
/// configuration), with `booster_yaml` and booster's own regenerate_images script.
fn with_booster(mut spec: HostSpec, booster_yaml: &str) -> HostSpec {
    spec.files.retain(|(p, _)| {
        !p.starts_with("/etc/mkinitcpio") && p != "/etc/initramfs-tools/initramfs.conf"
    });
    set_file(&mut spec, "/etc/booster.yaml", booster_yaml);
    set_file(
        &mut spec,
        "/usr/lib/booster/regenerate_images",
        "#!/bin/bash -e\n",
    );
    spec
}

/// The Arch fixture with booster, on its systemd-boot or on `grub`.
fn booster_arch(grub: Option<&str>, booster_yaml: &str) -> HostSpec {
    let mut spec = with_booster(passage_fixtures::single_gpu(), booster_yaml);
    if let Some(g) = grub {
        spec.files.retain(|(p, _)| !p.starts_with("/boot/loader"));
        set_file(&mut spec, "/etc/default/grub", g);
    }
    spec
}

/// booster (v0.12's init) hands `module.param=` from the kernel command line to the module
/// it loads (init/cmdline.go, init/module.go) but reads of modprobe.d only `options` lines:
/// the IDs go on the command line, vfio_pci into `modules_force_load`, the fallback entry
/// leaves the IDs out, and nothing goes to modprobe.d.
#[test]
fn booster_binds_through_the_kernel_command_line() {
    let usb = [a("0d:00.3")];
    let ids = "vfio-pci.ids=1022:149c";
    // systemd-boot: the entry gets the IDs, its copy without passthrough does not.
    let d = build(&booster_arch(
        None,
        "universal: false\nmodules_force_load: zfs\n",
    ));
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &usb));
    let entry = after(change(&p, "the loader entry", |c| {
        c.path == "/boot/loader/entries/arch.conf"
    }));
    assert!(
        entry.contains(&format!("options root=PARTUUID=9b0c7c2e-5f4d-4d8e-8b1a-3c2e1f0a9d8c rw zswap.enabled=0 quiet {ids}\n")),
        "{entry}"
    );
    let fallback = after(change(&p, "the fallback entry", |c| {
        c.path.ends_with("arch-passage-without-vfio.conf")
    }));
    assert!(
        !fallback.contains("vfio-pci.ids") && fallback.contains("passage.vfio=off"),
        "{fallback}"
    );
    assert_eq!(
        after(change(&p, "booster.yaml", |c| c.path == "/etc/booster.yaml")),
        "universal: false\nmodules_force_load: vfio_pci,vfio,vfio_iommu_type1,zfs\n"
    );
    assert!(
        !changed_paths(&p)
            .iter()
            .any(|c| c.starts_with("/etc/modprobe.d")),
        "booster would ignore modprobe.d's install command: {:?}",
        changed_paths(&p)
    );
    assert!(
        p.steps
            .iter()
            .any(|s| s.argv == ["/usr/lib/booster/regenerate_images"]),
        "{:?}",
        p.steps
    );
    // GRUB: the IDs in GRUB_CMDLINE_LINUX_DEFAULT; Passage's grub.d script leaves them out
    // of its entry.
    let d = build(&booster_arch(Some(ARCH_GRUB), "universal: false\n"));
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &usb));
    assert!(
        p.diff().contains(&format!(
            "+GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet {ids}\"\n"
        )),
        "{}",
        p.diff()
    );
    let script = after(change(&p, "grub.d", |c| c.path.starts_with("/etc/grub.d/")));
    assert!(script.contains("vfio-pci.ids=*|"), "{script}");
    // The whole card setup: the IOMMU's arguments and the IDs in one edit of kernelstub's
    // configuration (two plans of one file from the same bytes would lose one of them).
    let spec = with_booster(passage_fixtures::x570_tutorial(), "universal: false\n");
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan::for_gpu(r, h, a("0a:00.0")).expect("plan")
    });
    let ks = after(change(&p, "kernelstub", |c| {
        c.path == "/etc/kernelstub/configuration"
    }));
    assert!(
        ks.contains("\"iommu=pt\"")
            && ks.contains("\"vfio-pci.ids=10de:10f7,10de:1ad6,10de:1ad7,10de:1e07\""),
        "{ks}"
    );
    // Linux 5.3 still has vfio_virqfd as its own module.
    assert_eq!(
        after(change(&p, "booster.yaml", |c| c.path == "/etc/booster.yaml")),
        "universal: false\nmodules_force_load: vfio_pci,vfio,vfio_iommu_type1,vfio_virqfd\n"
    );
    // Without booster's script there is no way to rebuild the images: refused, with the reason.
    let mut spec = booster_arch(None, "universal: false\n");
    spec.files
        .retain(|(p, _)| p != "/usr/lib/booster/regenerate_images");
    let d = build(&spec);
    let (root, host) = scan(d.path());
    let e = plan::plan(
        &root,
        &host,
        &Intent::VfioAtBoot {
            devices: usb.to_vec(),
        },
    )
    .expect_err("no regenerate_images")
    .to_string();
    assert!(e.contains("/usr/lib/booster/regenerate_images"), "{e}");
    // A booster.yaml Passage cannot edit safely is named, nothing planned.
    let d = build(&booster_arch(None, "modules_force_load: |\n  zfs\n"));
    let (root, host) = scan(d.path());
    let e = plan::plan(
        &root,
        &host,
        &Intent::VfioAtBoot {
            devices: usb.to_vec(),
        },
    )
    .expect_err("block scalar")
    .to_string();
    assert!(e.contains("/etc/booster.yaml"), "{e}");
}

#[test]
fn refind_and_systemd_boot_with_kernel_cmdline() {
    let mut spec = passage_fixtures::single_gpu();
    set_file(&mut spec, "/boot/refind_linux.conf", "\"Boot with standard options\"  \"rw root=PARTUUID=9b0c quiet\"\n\"Boot to single-user mode\"  \"rw root=PARTUUID=9b0c quiet single\"\n");
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["amd_iommu=on"]));
    assert_eq!(p.changes.len(), 1);
    assert_eq!(p.changes[0].diff.matches("amd_iommu=on").count(), 2);

    let mut spec = passage_fixtures::single_gpu();
    set_file(
        &mut spec,
        "/etc/kernel/cmdline",
        "root=PARTUUID=9b0c rw quiet\n",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    let paths: Vec<&str> = p.changes.iter().map(|c| c.path.as_str()).collect();
    // kernel-install's source for future kernels, and today's entry, both.
    assert_eq!(
        paths,
        ["/etc/kernel/cmdline", "/boot/loader/entries/arch.conf"]
    );
    assert!(
        p.steps.is_empty(),
        "the edited entry boots with it: {:?}",
        p.steps
    );
    assert_eq!(
        p.changes[0].after.as_deref(),
        Some(&b"root=PARTUUID=9b0c rw quiet iommu=pt\n"[..])
    );

    // kernel-install joins the lines of the file; a user who keeps one argument group per
    // line keeps them, and only the changed line is rewritten.
    let mut spec = passage_fixtures::single_gpu();
    let lines = "root=PARTUUID=9b0c rw\nquiet\tsplash\nmitigations=auto\n";
    set_file(&mut spec, "/etc/kernel/cmdline", lines);
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    assert_eq!(
        p.changes[0].after.as_deref(),
        Some(&b"root=PARTUUID=9b0c rw\nquiet\tsplash\nmitigations=auto iommu=pt\n"[..])
    );
}

#[test]
fn kernel_arguments_are_validated_before_anything_is_read() {
    let d = build(&passage_fixtures::x570_tutorial());
    let (root, host) = scan(d.path());
    for (add, remove, why) in [
        (vec!["init=/bin/sh"], vec![], "init"),
        (vec!["iommu=pt\n"], vec![], "without spaces"),
        (vec![], vec!["root"], "root"),
    ] {
        let intent = Intent::KernelArguments {
            add: add.iter().map(|s| s.to_string()).collect(),
            remove: remove.iter().map(|s| s.to_string()).collect(),
        };
        let e = plan::plan(&root, &host, &intent)
            .expect_err(why)
            .to_string();
        assert!(e.contains(why), "{e}");
    }
    // A group half given is refused with what to add.
    let e = plan::plan(
        &root,
        &host,
        &Intent::VfioAtBoot {
            devices: vec![a("0a:00.0")],
        },
    )
    .expect_err("half group")
    .to_string();
    assert!(
        e.contains("whole IOMMU group 28") && e.contains("0000:0a:00.3"),
        "{e}"
    );
    let e = plan::plan(
        &root,
        &host,
        &Intent::VfioAtBoot {
            devices: vec![a("0d:00.0")],
        },
    )
    .expect_err("host GPU")
    .to_string();
    assert!(e.contains("holds what the host needs"), "{e}");
}

/// single_gpu (Arch) with /etc/kernel/cmdline and no loader entries of type 1: the command
/// line reaches the boot only when kernel-install writes the entries or UKIs again.
fn kernel_install_host(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut spec = passage_fixtures::single_gpu();
    spec.files.retain(|(p, _)| !p.contains("/loader/entries/"));
    set_file(
        &mut spec,
        "/etc/kernel/cmdline",
        "root=PARTUUID=9b0c rw quiet\n",
    );
    for (p, c) in extra {
        set_file(&mut spec, p, c);
    }
    build(&spec)
}

#[test]
fn kernel_cmdline_changes_are_written_into_entries_and_ukis_by_kernel_install() {
    // A UKI in the ESP, kernel-install and an installed kernel (Arch's layout).
    let d = kernel_install_host(&[
        ("/efi/EFI/Linux/arch-linux.efi", "MZ"),
        ("/usr/bin/kernel-install", "#!/bin/sh\n"),
        ("/usr/lib/modules/6.9.7-arch1-1/vmlinuz", "kernel"),
    ]);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert_eq!(
        argv,
        ["kernel-install add 6.9.7-arch1-1 /usr/lib/modules/6.9.7-arch1-1/vmlinuz"]
    );
    assert_eq!(
        p.undo().steps,
        p.steps,
        "undo writes them again from the old line"
    );
    // Debian's layout: the image in /boot; two kernels, both written.
    let d = kernel_install_host(&[
        ("/usr/bin/kernel-install", "#!/bin/sh\n"),
        ("/usr/lib/modules/6.1.0-27-amd64/modules.dep", ""),
        ("/boot/vmlinuz-6.1.0-27-amd64", "kernel"),
        ("/usr/lib/modules/6.1.0-28-amd64/modules.dep", ""),
        ("/boot/vmlinuz-6.1.0-28-amd64", "kernel"),
        ("/usr/lib/modules/6.0.0-old/modules.dep", ""),
    ]);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    let argv: Vec<String> = p.steps.iter().map(|s| s.argv.join(" ")).collect();
    assert_eq!(
        argv,
        [
            "kernel-install add 6.1.0-27-amd64 /boot/vmlinuz-6.1.0-27-amd64",
            "kernel-install add 6.1.0-28-amd64 /boot/vmlinuz-6.1.0-28-amd64"
        ]
    );
    // Nothing that could write them: refused, nothing planned.
    let d = kernel_install_host(&[]);
    let (root, host) = scan(d.path());
    let e = plan::plan(
        &root,
        &host,
        &Intent::KernelArguments {
            add: vec!["iommu=pt".into()],
            remove: vec![],
        },
    )
    .expect_err("no way to regenerate")
    .to_string();
    assert!(
        e.contains("/etc/kernel/cmdline") && e.contains("kernel-install"),
        "{e}"
    );
}

#[test]
fn proxmox_refreshes_its_boot_partitions() {
    // Proxmox VE on ZFS with systemd-boot (its /etc/kernel/cmdline), and on GRUB.
    let d = kernel_install_host(&[
        (
            "/etc/kernel/cmdline",
            "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n",
        ),
        ("/etc/kernel/proxmox-boot-uuids", "3A1C-9F2B\n"),
        ("/usr/sbin/proxmox-boot-tool", "#!/bin/sh\n"),
    ]);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    assert_eq!(
        p.changes[0].after.as_deref(),
        Some(&b"root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n"[..])
    );
    assert_eq!(p.steps[0].argv, ["proxmox-boot-tool", "refresh"]);
    let mut spec = passage_fixtures::single_gpu();
    spec.files.retain(|(p, _)| !p.contains("/loader/"));
    set_file(&mut spec, "/etc/default/grub", DEBIAN_GRUB);
    set_file(&mut spec, "/usr/sbin/update-grub", "#!/bin/sh\n");
    set_file(&mut spec, "/etc/kernel/proxmox-boot-uuids", "3A1C-9F2B\n");
    set_file(&mut spec, "/usr/sbin/proxmox-boot-tool", "#!/bin/sh\n");
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["iommu=pt"]));
    assert_eq!(p.steps[0].argv, ["proxmox-boot-tool", "refresh"]);
}

fn grub_editenv(file: &Path, args: &[&str]) {
    let s = std::process::Command::new("grub-editenv")
        .arg(file)
        .args(args)
        .status()
        .expect("grub-editenv (grub-common) runs");
    assert!(s.success(), "grub-editenv {args:?}");
}

#[test]
fn rhel8_kernelopts_in_grubenv_are_edited_as_grub2_editenv_would() {
    // RHEL 8.4 on EFI: BLS entries with `options $kernelopts $tuned_params`, the value in the
    // ESP's grubenv, /boot/grub2/grubenv a link to it. The variables are those of a real host
    // (RedHatInsights/insights-core, insights/tests/parsers/test_grub2_editenv_list.py), put
    // into a block by the real grub-editenv.
    let mut spec = passage_fixtures::iommu_off();
    spec.files
        .retain(|(p, _)| !p.starts_with("/boot/loader/entries/"));
    set_file(&mut spec, "/boot/loader/entries/295e1ba1696e4fad9e062f096f92d147-4.18.0-305.el8.x86_64.conf", "title Red Hat Enterprise Linux (4.18.0-305.el8.x86_64) 8.4 (Ootpa)\nversion 4.18.0-305.el8.x86_64\nlinux /vmlinuz-4.18.0-305.el8.x86_64\ninitrd /initramfs-4.18.0-305.el8.x86_64.img $tuned_initrd\noptions $kernelopts $tuned_params\nid rhel-20210429130346-4.18.0-305.el8.x86_64\ngrub_users $grub_users\ngrub_arg --unrestricted\ngrub_class kernel\n");
    let d = build(&spec);
    let env = d.path().join("boot/efi/EFI/redhat/grubenv");
    std::fs::create_dir_all(env.parent().expect("dir")).expect("mkdir");
    let old = "root=/dev/mapper/root_vg-lv_root ro crashkernel=auto resume=/dev/mapper/root_vg-lv_swap rd.lvm.lv=root_vg/lv_root rd.lvm.lv=root_vg/lv_swap console=tty0 console=ttyS0,115200 ";
    grub_editenv(&env, &["create"]);
    grub_editenv(
        &env,
        &[
            "set",
            "saved_entry=295e1ba1696e4fad9e062f096f92d147-4.18.0-305.el8.x86_64",
            &format!("kernelopts={old}"),
            "boot_success=0",
            "boot_indeterminate=2",
            "tuned_params=transparent_hugepages=never",
            "tuned_initrd=",
        ],
    );
    std::fs::create_dir_all(d.path().join("boot/grub2")).expect("mkdir");
    std::os::unix::fs::symlink(
        "../efi/EFI/redhat/grubenv",
        d.path().join("boot/grub2/grubenv"),
    )
    .expect("link");
    let p = round_trip(d.path(), |r, h| {
        plan_args(r, h, &["intel_iommu=on", "iommu=pt"])
    });
    let env_path = "/boot/efi/EFI/redhat/grubenv";
    assert_eq!(
        p.changes
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        ["/etc/default/grub", env_path],
        "the entry keeps $kernelopts; the link is never written through"
    );
    // The same edit by grub-editenv, byte for byte.
    let want = d.path().join("want");
    std::fs::copy(&env, &want).expect("copy");
    let new = format!("{} intel_iommu=on iommu=pt", old.trim_end());
    grub_editenv(&want, &["set", &format!("kernelopts={new}")]);
    let ours = change(&p, "grubenv", |c| c.path == env_path);
    assert_eq!(
        ours.after.as_deref(),
        Some(&std::fs::read(&want).expect("read")[..])
    );
    assert_eq!(ours.after.as_ref().map(Vec::len), Some(1024));
}

#[test]
fn sdboot_manage_hosts_get_the_change_in_linux_options() {
    // CachyOS/EndeavourOS: sdboot-manage writes every entry from LINUX_OPTIONS (the line is
    // CachyOS's documented default); an edit of the entries would vanish at its next run.
    let mut spec = passage_fixtures::single_gpu();
    let conf = "/etc/sdboot-manage.conf";
    set_file(
        &mut spec,
        conf,
        "LINUX_OPTIONS=\"zswap.enabled=0 nowatchdog quiet splash\"\n",
    );
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| {
        plan_args(r, h, &["amd_iommu=on", "iommu=pt"])
    });
    assert_eq!(
        p.changes
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        [conf]
    );
    assert_eq!(
        after(&p.changes[0]),
        "LINUX_OPTIONS=\"zswap.enabled=0 nowatchdog quiet splash amd_iommu=on iommu=pt\"\n"
    );
    assert_eq!(p.steps[0].argv, ["sdboot-manage", "gen"]);
    // No copied entry without passthrough (sdboot-manage would remove it): a note instead.
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &[a("0d:00.3")]));
    assert!(!p.changes.iter().any(|c| c.path.contains("loader/entries")));
    assert!(
        p.notes.iter().any(|n| n.contains("passage.vfio=off")),
        "{:?}",
        p.notes
    );
}

/// Plans kernel arguments and returns the refusal, failing the test when it plans.
fn refused_args(root: &Root, host: &Host, add: &[&str]) -> String {
    let intent = Intent::KernelArguments {
        add: add.iter().map(|a| a.to_string()).collect(),
        remove: vec![],
    };
    plan::plan(root, host, &intent)
        .expect_err("refused")
        .to_string()
}

#[test]
fn kernel_arguments_cannot_go_around_the_host_guards() {
    // The single-GPU Arch desktop: its only GPU drives the screen, its NVMe holds /, r8169
    // is its network; 32 GiB or so of memory.
    let d = build(&passage_fixtures::single_gpu());
    let (root, host) = scan(d.path());
    let e = refused_args(&root, &host, &["vfio-pci.ids=1002:73bf,1002:ab28"]);
    assert!(e.contains("0000:0c:00.0") && e.contains("needs"), "{e}");
    for m in ["nvme", "r8169", "amdgpu"] {
        let e = refused_args(&root, &host, &[&format!("modprobe.blacklist={m}")]);
        assert!(e.contains(m) && e.contains("needs"), "{m}: {e}");
        let e = refused_args(&root, &host, &[&format!("rd.driver.blacklist=nouveau,{m}")]);
        assert!(e.contains(m), "{m}: {e}");
    }
    let e = refused_args(&root, &host, &["hugepages=9999999"]);
    assert!(e.contains("more than this computer can spare"), "{e}");
    let e = refused_args(&root, &host, &["hugepagesz=1G", "hugepages=200"]);
    assert!(e.contains("1024 MiB"), "{e}");
    // What the host can spare plans as before.
    plan_args(
        &root,
        &host,
        &["hugepages=1024", "modprobe.blacklist=nouveau"],
    );
    // The page size is the whole command line's, by the kernel's rules: with
    // default_hugepagesz=1G there already, hugepages=30 is 30 GiB, not 60 MiB.
    let mut spec = passage_fixtures::single_gpu();
    spec.cmdline.push_str(" default_hugepagesz=1G");
    let d1 = build(&spec);
    let (root1, host1) = scan(d1.path());
    let e = refused_args(&root1, &host1, &["hugepages=30"]);
    assert!(
        e.contains("30 pages of 1024 MiB") && e.contains("more than this computer can spare"),
        "{e}"
    );
    plan_args(&root1, &host1, &["hugepages=16"]);
    // Setting the default size counts the pages already asked for in it.
    spec.cmdline = spec
        .cmdline
        .replace(" default_hugepagesz=1G", " hugepages=30");
    let d2 = build(&spec);
    let (root2, host2) = scan(d2.path());
    let e = refused_args(&root2, &host2, &["default_hugepagesz=1G"]);
    assert!(e.contains("30 pages of 1024 MiB"), "{e}");
    // The loader entry holds no hugepages=: there the arguments go last, in their order, and
    // hugepages=29 follows hugepagesz=1G (29 GiB), whatever this boot's hugepages=30 is.
    let e = refused_args(&root2, &host2, &["hugepagesz=1G", "hugepages=29"]);
    assert!(e.contains("29 pages of 1024 MiB"), "{e}");
    plan_args(&root, &host, &["vfio-pci.ids=10de:2c05"]);

    // The X570 board: the IDs of the RTX's whole group go; the video function alone does not
    // (its audio, USB and UCSI functions share the group).
    let d = build(&passage_fixtures::x570_tutorial());
    let (root, host) = scan(d.path());
    plan_args(
        &root,
        &host,
        &["vfio-pci.ids=10de:1e07,10de:10f7,10de:1ad6,10de:1ad7"],
    );
    let e = refused_args(&root, &host, &["vfio-pci.ids=10de:1e07"]);
    assert!(e.contains("whole IOMMU group"), "{e}");
}

/// systemd-boot with unified kernel images: no loader entry to edit and no
/// /etc/kernel/cmdline. kernel-install (systemd 252's 90-loaderentry.install and
/// 60-ukify.install) takes the line from /etc/kernel/cmdline, else /usr/lib/kernel/cmdline,
/// else /proc/cmdline. Before, the plan was empty and Passage said "nothing to change".
#[test]
fn unified_kernel_images_get_etc_kernel_cmdline_from_the_vendor_file_or_a_refusal() {
    let uki = |files: &[(&str, &str)]| {
        let mut spec = passage_fixtures::single_gpu();
        spec.files.retain(|(p, _)| !p.starts_with("/boot/loader"));
        for (path, text) in files {
            set_file(&mut spec, path, text);
        }
        let d = build(&spec);
        passage_fixtures::write_loader_info(d.path(), "systemd-boot 255.4").expect("LoaderInfo");
        d
    };
    let intent = Intent::KernelArguments {
        add: vec!["amd_iommu=on".into()],
        remove: vec![],
    };
    // Only /proc/cmdline: Passage asks for the file rather than copying one boot's line.
    let d = uki(&[("/boot/efi/EFI/Linux/arch-linux.efi", "")]);
    let (root, host) = scan(d.path());
    let e = plan::plan(&root, &host, &intent)
        .expect_err("no line to start from")
        .to_string();
    assert!(
        e.contains("/etc/kernel/cmdline") && e.contains("/proc/cmdline"),
        "{e}"
    );
    // The vendor's line: /etc/kernel/cmdline is written from it, then each kernel's image.
    let d = uki(&[
        ("/boot/efi/EFI/Linux/arch-linux.efi", ""),
        ("/usr/lib/kernel/cmdline", "root=PARTUUID=9b0c rw\nquiet\n"),
        ("/usr/bin/kernel-install", ""),
        ("/usr/lib/modules/6.12.4-arch1-1/vmlinuz", ""),
    ]);
    let p = round_trip(d.path(), |r, h| plan_args(r, h, &["amd_iommu=on"]));
    let c = change(&p, "/etc/kernel/cmdline", |c| {
        c.path == "/etc/kernel/cmdline"
    });
    assert_eq!(c.before, None);
    assert_eq!(after(c), "root=PARTUUID=9b0c rw\nquiet amd_iommu=on\n");
    assert_eq!(
        p.steps.iter().map(|s| s.argv.join(" ")).collect::<Vec<_>>(),
        ["kernel-install add 6.12.4-arch1-1 /usr/lib/modules/6.12.4-arch1-1/vmlinuz"]
    );
}

/// A real mkinitcpio.conf in the string form (tests/data/mkinitcpio, sources in its README).
fn string_form(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/mkinitcpio")
        .join(name);
    std::fs::read_to_string(&p).expect("sample")
}

/// MODULES, FILES and HOOKS as mkinitcpio v41 reads `files` (below `dir`): sourced in order
/// by bash, then its `arrayize_config` (functions) for a setting that is not an array.
fn mkinitcpio_reads(dir: &Path, files: &[&str]) -> [Vec<String>; 3] {
    let script = r#"for f; do . "$f"; done
set -f
[[ ${MODULES@a} != *a* ]] && IFS=' ' read -r -a MODULES <<<"$MODULES"
[[ ${FILES@a} != *a* ]] && IFS=' ' read -r -a FILES <<<"$FILES"
[[ ${HOOKS@a} != *a* ]] && IFS=' ' read -r -a HOOKS <<<"$HOOKS"
printf '%s|' "${MODULES[@]}"; echo; printf '%s|' "${FILES[@]}"; echo; printf '%s|' "${HOOKS[@]}"; echo"#;
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .args(files.iter().map(|f| dir.join(f.trim_start_matches('/'))))
        .output()
        .expect("bash");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines().map(|l| {
        l.split('|')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    [(); 3].map(|_| lines.next().unwrap_or_default())
}

/// mkinitcpio's string form (`HOOKS="base udev …"`, which mkinitcpio v41 still reads) is
/// edited in its own form: MODULES stays a string with vfio first, FILES gets `+=" …"`, and
/// what mkinitcpio reads afterwards (bash plus its own `arrayize_config`) is checked.
#[test]
fn mkinitcpio_string_form_is_edited_in_its_own_form() {
    let vfio = ["vfio_pci", "vfio", "vfio_iommu_type1"];
    let conf = "/etc/mkinitcpio.conf";
    // mkinitcpio v23's own configuration.
    let v23 = string_form("mkinitcpio-v23.conf");
    let mut spec = passage_fixtures::single_gpu();
    set_file(&mut spec, conf, &v23);
    let d = build(&spec);
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &[a("0d:00.3")]));
    let mk = change(&p, "mkinitcpio", |c| c.path == conf);
    assert!(
        mk.diff
            .contains("-MODULES=\"\"\n+MODULES=\"vfio_pci vfio vfio_iommu_type1\"\n"),
        "{}",
        mk.diff
    );
    apply(d.path(), &p);
    let [modules, _, hooks] = mkinitcpio_reads(d.path(), &[conf]);
    assert_eq!(modules, vfio);
    assert_eq!(
        hooks.join(" "),
        "base udev autodetect modconf block filesystems keyboard fsck"
    );
    // A user's string configuration, binding by address: FILES keeps its two files and gains
    // the rule, as a string.
    let laptop = string_form("samsung-laptop-string-form.conf");
    let mut spec = passage_fixtures::x570_tutorial();
    for dev in &mut spec.pci {
        if dev.addr == "0000:0d:00.0" {
            (dev.vendor, dev.device, dev.driver) = (0x10de, 0x1e07, Some("nvidia".into()));
        }
    }
    spec.files
        .retain(|(p, _)| p != "/etc/initramfs-tools/initramfs.conf");
    set_file(&mut spec, conf, &laptop);
    let d = build(&spec);
    let pair = [a("0a:00.0"), a("0a:00.1"), a("0a:00.2"), a("0a:00.3")];
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &pair));
    let rule = "/etc/udev/rules.d/61-passage-vfio.rules";
    let text = after(change(&p, "mkinitcpio", |c| c.path == conf));
    assert!(text.ends_with(&format!("FILES+=\" {rule}\"\n")), "{text}");
    apply(d.path(), &p);
    let [modules, files, _] = mkinitcpio_reads(d.path(), &[conf]);
    assert_eq!(
        modules,
        [
            &vfio[..],
            &["vfio_virqfd", "radeon", "backlight", "samsung_laptop"]
        ]
        .concat()
    );
    assert_eq!(
        files,
        [
            "/etc/modprobe.d/wifi.conf",
            "/etc/modprobe.d/ath10k.conf",
            rule
        ]
    );
    // An installer's configuration: without modconf it is refused for that, not for its form.
    let installer = string_form("installer-string-append.conf");
    let e = arch_at_boot(&[(conf, &installer)]).expect_err("no modconf");
    assert!(e.contains("has no modconf"), "{e}");
    // With the HOOKS its own comment offers, MODULES keeps the spaces its `MODULES+="…"` lines
    // count on.
    let with_modconf = installer.replace(
        "HOOKS=\"base udev consolefont encrypt\"",
        "HOOKS=\"base udev block autodetect modconf consolefont encrypt filesystems keyboard fsck\"",
    );
    let mut spec = passage_fixtures::single_gpu();
    set_file(&mut spec, conf, &with_modconf);
    let d = build(&spec);
    let [before, ..] = mkinitcpio_reads(d.path(), &[conf]);
    assert_eq!(before.len(), 14, "{before:?}");
    let p = round_trip(d.path(), |r, h| plan_at_boot(r, h, &[a("0d:00.3")]));
    apply(d.path(), &p);
    let [modules, ..] = mkinitcpio_reads(d.path(), &[conf]);
    let want: Vec<String> = vfio.iter().map(|m| m.to_string()).chain(before).collect();
    assert_eq!(modules, want);
    // An array in one file and a string in another make neither: refused, naming the file.
    let e = arch_at_boot(&[(
        "/etc/mkinitcpio.conf.d/10-old.conf",
        "HOOKS=\"base udev autodetect modconf block filesystems\"\n",
    )])
    .expect_err("mixed");
    assert!(
        e.contains("10-old.conf") && e.contains("as an array in one place and as a string"),
        "{e}"
    );
}

/// The summary of a kernel-argument edit names only what the file gains: on the demo host
/// (Pop!_OS's kernelstub, amd_iommu=on there already) only iommu=pt is added; on a GRUB file
/// holding neither, both are; a file holding both has no change at all.
#[test]
fn a_kernel_argument_summary_names_only_what_is_new() {
    let base = tempfile::tempdir().expect("tmp");
    let dir = base.path().join("demo");
    passage_fixtures::demo::lay_down_at(&dir).expect("demo");
    let (root, host) = scan(&dir);
    let p = plan::for_gpu(&root, &host, a("0a:00.0")).expect("plan");
    let c = p
        .changes
        .iter()
        .find(|c| c.path == "/etc/kernelstub/configuration")
        .expect("kernelstub edited");
    assert_eq!(
        c.summary,
        "kernel arguments: add iommu=pt; amd_iommu=on already there"
    );
    let intent = |add: &[&str], remove: &[&str]| Intent::KernelArguments {
        add: add.iter().map(|s| s.to_string()).collect(),
        remove: remove.iter().map(|s| s.to_string()).collect(),
    };
    let mut spec = passage_fixtures::single_gpu();
    set_file(
        &mut spec,
        "/etc/default/grub",
        "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=igfx_off\"\nGRUB_CMDLINE_LINUX=\"iommu=pt pcie_acs_override=downstream\"\n",
    );
    let d = build(&spec);
    let (root, host) = scan(d.path());
    let p = plan::plan(
        &root,
        &host,
        &intent(
            &["intel_iommu=on", "iommu=pt"],
            &["pcie_acs_override", "video"],
        ),
    )
    .expect("plan");
    let summaries: Vec<&str> = p.changes.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "kernel arguments: add intel_iommu=on; remove pcie_acs_override; iommu=pt already there"
        ]
    );
}
