//! Defaults that start: on every fixture host that has a card for a VM (and on the demo host),
//! the VM the wizard makes when every default is accepted passes its pre-flight once Host
//! setup's plan for that card is applied. Before the plan, the pre-flight says what is missing
//! (the hook that reserves the VM's hugepages at start), so the test can fail.

use passage_core::plan;
use passage_core::vm::devices::initial_selection;
use passage_core::vm::diagnose::Cause;
use passage_core::vm::draft::{Draft, HugepageMode, POOL_PATH};
use passage_core::vm::preflight::{check, Facts};
use passage_core::vm::Domain;
use passage_core::{Host, Root};

const ISO: &str = "/var/lib/libvirt/images/Win11_23H2_English_x64.iso";

/// Lays the fixture down with what a Debian host running Passage has besides: libvirt's QEMU
/// user and the installer ISO in the pool.
fn lay_down(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    passage_fixtures::build(name, dir.path()).expect("fixture");
    let w = |p: &str, text: &str| {
        let p = dir.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n");
    w("/etc/group", "root:x:0:\nkvm:x:108:libvirt-qemu\n");
    w(ISO, "iso");
    dir
}

/// What Host setup writes for the card, written as the helper would (the `after` bytes).
fn apply_host_setup(root: &Root, host: &Host, d: &Draft) {
    let gpu = d.gpu.as_ref().expect("a card").gpu;
    let p = plan::for_gpu_mode(root, host, gpu, d.gpu_mode, plan::hook::DEFAULT_HELPER)
        .expect("Host setup's plan");
    for c in p.changes {
        let path = root.path(&c.path);
        match c.after {
            Some(bytes) => {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, bytes).expect("write");
            }
            None => drop(std::fs::remove_file(&path)),
        }
    }
}

/// The wizard's VM with every default but the ISO, as libvirt holds it after Create (its new
/// disk is a volume of libvirt's pool, which Create makes; a file disk is made here).
fn default_vm(root: &Root, host: &Host) -> (Draft, Domain) {
    let mut d = Draft::new(host, initial_selection(host));
    d.set_text(host, "install-iso", ISO).expect("iso");
    let xml = d.spec(host).expect("spec").to_xml().expect("xml");
    let dom = Domain::read(&xml).expect("domain");
    for disk in dom.disks.iter().filter(|d| d.r#type == "file") {
        if let Some(p) = disk.source.as_deref() {
            assert!(p.starts_with(POOL_PATH), "{p}");
            let p = root.path(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, "qcow2").expect("image");
        }
    }
    (d, dom)
}

fn running_nat() -> Facts {
    Facts {
        networks: Some(vec![("default".into(), true)]),
        ..Default::default()
    }
}

/// What the pre-flight finds for the default VM on fixture `name` once Host setup is applied;
/// `None` where no card can go to a VM there (the wizard does not start).
fn defaults_on(name: &str) -> Option<Vec<String>> {
    let dir = lay_down(name);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    initial_selection(&host)?;
    let (d, dom) = default_vm(&root, &host);
    apply_host_setup(&root, &host, &d);
    let after = Host::scan(&root);
    let found = check(&dom, &after, &root, &running_nat());
    Some(
        found
            .into_iter()
            .map(|f| format!("{:?}: {} — {}", d.hugepages, f.title, f.fix))
            .collect(),
    )
}

#[test]
fn the_defaults_pass_the_pre_flight_once_host_setup_is_applied_on_every_fixture_host() {
    // One thread a host: the SR-IOV fixture alone has 2,000 functions to lay down and read.
    let results: Vec<(&str, Option<Vec<String>>)> = std::thread::scope(|s| {
        let runs: Vec<_> = passage_fixtures::NAMES
            .iter()
            .map(|n| (*n, s.spawn(move || defaults_on(n))))
            .collect();
        runs.into_iter()
            .map(|(n, h)| (n, h.join().expect("no panic")))
            .collect()
    });
    let mut tried = vec![];
    for (name, found) in results {
        let Some(found) = found else { continue };
        assert!(found.is_empty(), "{name}: {found:#?}");
        tried.push(name);
    }
    // The Intel tutorial's cards share group 1 with the host's bridge, the single-GPU host's
    // card is its screen, and the others have no IOMMU or no card.
    assert_eq!(tried, [passage_fixtures::DEMO, "laptop-prime"]);
}

#[test]
fn hugepages_are_reserved_at_start_where_there_is_room_and_off_where_there_is_none() {
    let dir = lay_down(passage_fixtures::DEMO);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    let d = Draft::new(&host, initial_selection(&host));
    assert_eq!(d.hugepages, HugepageMode::AtStart);
    assert!(d.spec(&host).expect("spec").session.hugepages);
    assert!(
        d.hugepages_why(&host).contains("when it starts"),
        "{}",
        d.hugepages_why(&host)
    );

    // A host whose memory is nearly all taken: no room for the VM's pages, so none.
    let meminfo = std::fs::read_to_string(root.path("/proc/meminfo")).expect("meminfo");
    let tight: String = meminfo
        .lines()
        .map(|l| {
            if l.starts_with("MemAvailable:") {
                "MemAvailable:     524288 kB".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(root.path("/proc/meminfo"), tight + "\n").expect("meminfo");
    let host = Host::scan(&root);
    let d = Draft::new(&host, initial_selection(&host));
    assert_eq!(d.hugepages, HugepageMode::Off);
    let spec = d.spec(&host).expect("spec");
    assert!(!spec.hugepages && !spec.session.hugepages);
    assert!(
        d.hugepages_why(&host).contains("MiB"),
        "{}",
        d.hugepages_why(&host)
    );
}

#[test]
fn without_host_setup_the_pre_flight_says_the_hook_that_reserves_them_is_missing() {
    let dir = lay_down(passage_fixtures::DEMO);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    let (_, dom) = default_vm(&root, &host);
    let found = check(&dom, &host, &root, &running_nat());
    assert!(
        found.iter().any(|f| f.cause == Cause::SessionHookMissing),
        "{found:#?}"
    );
}

#[test]
fn hugepages_at_boot_are_host_setups_kernel_arguments() {
    let dir = lay_down(passage_fixtures::DEMO);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    let mut d = Draft::new(&host, initial_selection(&host));
    d.set_text(&host, "hugepages", "boot").expect("choice");
    assert_eq!(d.hugepages, HugepageMode::AtBoot);
    let spec = d.spec(&host).expect("spec");
    assert!(spec.hugepages && !spec.session.hugepages);
    let pages = d.memory_gib * 1024 / 2;
    assert_eq!(
        d.boot_intent(),
        Some(plan::Intent::KernelArguments {
            add: vec![format!("hugepages={pages}")],
            remove: vec![]
        })
    );
    // The old words still work (passagectl scripts): on is "at start", off is off.
    d.set_text(&host, "hugepages", "on").expect("choice");
    assert_eq!(d.hugepages, HugepageMode::AtStart);
    assert_eq!(d.boot_intent(), None);
    d.set_text(&host, "hugepages", "off").expect("choice");
    assert_eq!(d.hugepages, HugepageMode::Off);
}

#[test]
fn host_setups_preview_with_hugepages_at_boot_is_the_host_after_both_changes() {
    let dir = lay_down(passage_fixtures::DEMO);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    let mut d = Draft::new(&host, initial_selection(&host));
    d.set_text(&host, "hugepages", "boot").expect("choice");
    let gpu = d.gpu.as_ref().expect("card").gpu;
    let extra: Vec<plan::Intent> = d.boot_intent().into_iter().collect();
    let helper = plan::hook::DEFAULT_HELPER;
    let preview =
        plan::for_gpu_mode_with(&root, &host, gpu, d.gpu_mode, helper, &extra).expect("preview");
    let pages = format!("hugepages={}", d.memory_gib * 1024 / 2);
    assert!(preview.diff().contains(&pages), "{}", preview.diff());
    // What the app applies: the card's change, then the arguments as a change of their own.
    apply_host_setup(&root, &host, &d);
    let between = Host::scan(&root);
    let second = plan::plan(&root, &between, &extra[0]).expect("arguments");
    for c in second.changes {
        let path = root.path(&c.path);
        std::fs::write(&path, c.after.expect("edited")).expect("write");
    }
    for c in &preview.changes {
        let now = std::fs::read(root.path(&c.path)).ok();
        assert_eq!(now, c.after, "{} differs from its preview", c.path);
    }
}

#[test]
fn on_the_demos_own_vms_the_defaults_pass_without_the_hook_the_test_driver_never_calls() {
    let dir = lay_down(passage_fixtures::DEMO);
    let root = Root::new(dir.path()).expect("root");
    let host = Host::scan(&root);
    let (_, dom) = default_vm(&root, &host);
    // The demo opens its VMs on libvirt's test driver, which runs no hooks and starts nothing.
    let demo = passage_fixtures::demo::libvirt_uri(dir.path());
    let nets = Some(vec![("default".into(), true)]);
    let found = check(&dom, &host, &root, &Facts::of(&demo, nets.clone()));
    assert!(found.is_empty(), "{found:#?}");
    // On QEMU, local or remote, the hook is still needed.
    for uri in [
        "qemu:///system",
        "qemu+ssh://host/system",
        "QEMU:///session",
    ] {
        let found = check(&dom, &host, &root, &Facts::of(uri, nets.clone()));
        assert!(
            found.iter().any(|f| f.cause == Cause::SessionHookMissing),
            "{uri}: {found:#?}"
        );
    }
    assert!(!passage_core::vm::preflight::runs_hooks(
        "test+unix:///default"
    ));
}
