//! passagectl's VM commands share the app's draft and device editor: `vm new` makes what the
//! wizard makes, `vm show` reads domains as libvirt does, `vm edit` moves whole groups by
//! libvirt's placement rules; bad input exits 2 and a refusal 1, and neither defines anything.

mod common;
use common::*;

use std::path::PathBuf;

use passage_core::vm::devices::initial_selection;
use passage_core::vm::draft::Draft;
use passage_core::{Host, Root};

fn libvirt_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data/libvirt")
        .join(name)
}

const SETS: &[(&str, &str)] = &[
    (
        "install-iso",
        "/var/lib/libvirt/images/Win10_22H2_English_x64.iso",
    ),
    ("virtio-iso", "/var/lib/libvirt/images/virtio-win.iso"),
    ("name", "win10"),
    ("memory-gib", "16"),
    ("vcpus", "12"),
    ("pci-add", "0000:04:00.0"),
    ("usb-add", "1b1c:1b2d"),
];

#[test]
fn vm_new_makes_the_vm_the_wizard_makes() {
    // The wizard's draft on the demo host, as the app starts it.
    let d = fixture("x570-tutorial");
    let host = Host::scan(&Root::new(d.path()).expect("root"));
    let sel = initial_selection(&host).expect("the demo's card");
    let mut draft = Draft::new(&host, Some(sel.clone()));
    for (k, v) in SETS {
        draft.set_text(&host, k, v).expect("choice");
    }
    let wizard_xml = draft.spec(&host).expect("spec").to_xml().expect("xml");

    let mut args = vec!["vm", "new", "--demo", "--gpu"];
    let gpu = sel.gpu.to_string();
    args.push(&gpu);
    let sets: Vec<String> = SETS.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for s in &sets {
        args.extend(["--set", s]);
    }
    args.push("--print-xml");
    let o = passagectl(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), wizard_xml);
    passage_testkit::valid_domain(&wizard_xml);

    // The defaults alone agree too, and `vm suggest` is `vm new --print-spec`.
    let o = passagectl(&["vm", "new", "--demo", "--gpu", &gpu, "--print-spec"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let defaults = Draft::new(&host, Some(sel)).spec(&host).expect("defaults");
    assert_eq!(json(&o), serde_json::to_value(&defaults).expect("json"));
    let o = passagectl(&["vm", "suggest", "--demo", "--gpu", &gpu, "--name", "win10"]);
    assert_eq!(json(&o), serde_json::to_value(&defaults).expect("json"));
}

#[test]
fn vm_new_refuses_bad_input_with_2_and_the_hosts_refusals_with_1() {
    for (args, code, says) in [
        (
            vec![
                "--gpu",
                "0000:0a:00.0",
                "--set",
                "frobnicate=1",
                "--print-xml",
            ],
            2,
            "no VM setting called frobnicate",
        ),
        (
            vec![
                "--gpu",
                "0000:0a:00.0",
                "--set",
                "memory-gib",
                "--print-xml",
            ],
            2,
            "FIELD=VALUE",
        ),
        (
            vec!["--gpu", "0a:00", "--print-xml"],
            2,
            "not a PCI address",
        ),
        (
            vec![
                "--gpu",
                "0000:0a:00.0",
                "--set",
                "name=bad name",
                "--print-xml",
            ],
            2,
            "name:",
        ),
        (
            vec!["--gpu", "0000:0a:00.0"],
            2,
            "--print-xml, --print-spec or --create",
        ),
        (vec!["--gpu", "0000:0d:00.0", "--print-xml"], 1, "screen"),
        (
            vec![
                "--gpu",
                "0000:0a:00.0",
                "--set",
                "pci-add=0000:0d:00.0",
                "--print-xml",
            ],
            2,
            "cannot go to the VM",
        ),
    ] {
        let mut all = vec!["vm", "new", "--demo"];
        all.extend(args.iter());
        let o = passagectl(&all);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn vm_show_reads_a_domain_as_libvirt_does() {
    let f = libvirt_data("hostdev-vfio-multidomain.xml");
    let o = passagectl(&["vm", "show", "--xml", f.to_str().expect("utf8"), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["name"], "QEMUGuest2");
    assert_eq!(
        v["hostdevs"][0]["host"], "0021:de:1f.1",
        "decimal bus 222, slot 31"
    );
    assert_eq!(v["hostdevs"][0]["guest"]["kind"], "auto");
    let f = libvirt_data("pci-rom.xml");
    let v = json(&passagectl(&[
        "vm",
        "show",
        "--xml",
        f.to_str().expect("utf8"),
        "--json",
    ]));
    assert_eq!(v["hostdevs"][1]["rom"]["file"], "/etc/fake/bootrom.bin");
    assert_eq!(v["hostdevs"][0]["guest"]["slot"], 4);
    assert_eq!(v["memory_mib"], 213, "219100 KiB");
    assert_eq!(v["machine"], "pc");
    for key in [
        "uuid", "firmware", "usb", "disks", "cdroms", "graphics", "passage", "vcpus",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    // In words too.
    let o = passagectl(&["vm", "show", "--xml", f.to_str().expect("utf8")]);
    assert!(
        stdout(&o).contains("0000:06:12.6 → 0000:00:05.0 (ROM /etc/fake/bootrom.bin)"),
        "{}",
        stdout(&o)
    );
    // Not a domain: 2.
    let dir = tempfile::tempdir().expect("tmp");
    let junk = dir.path().join("x.xml");
    std::fs::write(&junk, "<network><name>n</name></network>").expect("write");
    let o = passagectl(&["vm", "show", "--xml", junk.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a <domain>"), "{}", stderr(&o));
}

#[test]
fn vm_edit_moves_whole_groups_on_a_domain_file_and_writes_nothing() {
    let f = libvirt_data("q35-virt-manager-basic.x86_64-latest.xml");
    let path = f.to_str().expect("utf8");
    let before = std::fs::read(&f).expect("read");
    let card = [
        "0000:0a:00.0",
        "0000:0a:00.1",
        "0000:0a:00.2",
        "0000:0a:00.3",
    ];
    let mut args = vec!["vm", "edit", "--xml", path, "--demo", "--print"];
    for a in &card {
        args.extend(["--add", a]);
    }
    let o = passagectl(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = stdout(&o);
    passage_testkit::valid_domain(&xml);
    let v = {
        let t = tempfile::Builder::new()
            .suffix(".xml")
            .tempfile()
            .expect("tmp");
        std::fs::write(t.path(), &xml).expect("write");
        json(&passagectl(&[
            "vm",
            "show",
            "--xml",
            t.path().to_str().expect("utf8"),
            "--json",
        ]))
    };
    let guests: Vec<(u64, u64, u64)> = v["hostdevs"]
        .as_array()
        .expect("hostdevs")
        .iter()
        .map(|h| {
            let g = &h["guest"];
            (
                g["bus"].as_u64().unwrap_or(99),
                g["slot"].as_u64().unwrap_or(99),
                g["function"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(
        guests,
        vec![(6, 0, 0), (6, 0, 1), (6, 0, 2), (6, 0, 3)],
        "one slot on the empty port"
    );

    // Without --print, a file edit says what would change and writes nothing.
    args.retain(|a| *a != "--print");
    let o = passagectl(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("+ 0000:0a:00.3") && stdout(&o).contains("nothing written"),
        "{}",
        stdout(&o)
    );
    assert_eq!(std::fs::read(&f).expect("read"), before);

    for (extra, code, says) in [
        (vec!["--add", "0000:0a:00.0"], 1, "group 28"),
        (
            vec!["--add", "0000:0d:00.0", "--add", "0000:0d:00.1"],
            1,
            "screen",
        ),
        (vec!["--add", "0a:00"], 2, "not a PCI address"),
        (vec!["--add-usb", "046d"], 2, "not a USB vendor:product"),
    ] {
        let mut a = vec!["vm", "edit", "--xml", path, "--demo", "--print"];
        a.extend(extra.iter());
        let o = passagectl(&a);
        assert_eq!(o.status.code(), Some(code), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn vm_edit_defines_through_libvirt() {
    // libvirt's test driver: its "test" VM (i686, a PCI machine).
    let o = passagectl(&[
        "vm",
        "edit",
        "test",
        "--connect",
        "test:///default",
        "--demo",
        "--add",
        "0000:04:00.0",
        "--add-usb",
        "046d:c52b",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("+ 0000:04:00.0") && stdout(&o).contains("+ USB 046d:c52b"),
        "{}",
        stdout(&o)
    );
    let o = passagectl(&[
        "vm",
        "edit",
        "nosuch",
        "--connect",
        "test:///default",
        "--demo",
        "--add",
        "0000:04:00.0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no VM named"), "{}", stderr(&o));
}

#[test]
fn vm_set_writes_the_session_settings_the_hook_reads() {
    use passage_core::vm::session::{session_request, GpuMode, SessionSettings};
    use passage_core::vm::Domain;
    // A domain virt-install made (no Passage metadata, no memoryBacking).
    let file = libvirt_data("virt-install-kvm-win10.xml");
    let path = file.to_str().expect("path");
    let before = std::fs::read_to_string(&file).expect("read");
    let o = passagectl(&[
        "vm",
        "set",
        "--xml",
        path,
        "--gpu-mode",
        "running",
        "--hugepages",
        "on",
        "--print",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let edited = stdout(&o);
    passage_testkit::valid_domain(&edited);
    let d = Domain::read(&edited).expect("domain");
    assert_eq!(SessionSettings::of(&d).gpu_mode, GpuMode::WhileRunning);
    assert!(d.hugepages && SessionSettings::of(&d).hugepages);
    let req = session_request(&d.name, edited.as_bytes())
        .expect("read")
        .expect("session");
    assert_eq!(req.devices, d.host_pci());
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        before,
        "the file is not written"
    );
    // CPU isolation needs pinned vCPUs: refused with why, exit 2.
    let o = passagectl(&["vm", "set", "--xml", path, "--isolate-cpus", "on"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("not pinned"), "{}", stderr(&o));
    let o = passagectl(&["vm", "set", "--xml", path, "--gpu-mode", "sometimes"]);
    assert_eq!(o.status.code(), Some(2));
    // The only-GPU mode: the hook lends the VM's devices and stops the desktop first.
    let o = passagectl(&[
        "vm",
        "set",
        "--xml",
        path,
        "--gpu-mode",
        "only-gpu",
        "--print",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let edited = stdout(&o);
    passage_testkit::valid_domain(&edited);
    let d = Domain::read(&edited).expect("domain");
    assert_eq!(SessionSettings::of(&d).gpu_mode, GpuMode::OnlyGpu);
    let req = session_request(&d.name, edited.as_bytes())
        .expect("read")
        .expect("session");
    assert_eq!(req.devices, d.host_pci());
}

#[test]
fn vm_set_defines_through_libvirt() {
    let o = passagectl(&[
        "vm",
        "set",
        "test",
        "--connect",
        "test:///default",
        "--gpu-mode",
        "running",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("while the VM runs"), "{}", stdout(&o));
    // No helper here: defined, and it says how the session gets authorized.
    assert!(
        stderr(&o).contains("passagectl vm authorize test"),
        "{}",
        stderr(&o)
    );
}

/// A small software-emulated VM with an install ISO in an IDE CD-ROM drive.
fn cd_domain(name: &str, iso: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n  <features>\n    <acpi/>\n  </features>\n  <devices>\n    <disk type='file' device='cdrom'>\n      <source file='{iso}'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n    <graphics type='vnc' autoport='yes'/>\n  </devices>\n</domain>\n"
    )
}

#[test]
fn vm_edit_changes_memory_and_the_cd_of_a_defined_vm_and_refuses_what_the_host_cannot_give() {
    use passage_core::vm::settings::Settings;
    use passage_core::vm::Domain;
    use passage_virt::{Hypervisor, Libvirt};
    let d = passage_testkit::libvirtd::PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let iso = |n: &str| {
        let p = d.dir.path().join(n);
        std::fs::write(&p, "iso").expect("iso");
        p.to_str().expect("utf8").to_string()
    };
    let (first, second) = (iso("first.iso"), iso("second.iso"));
    h.define(&cd_domain("edit-me", &first)).expect("define");
    let settings = || Settings::of(&Domain::read(&h.xml("edit-me").expect("xml")).expect("d"));
    let edit = |more: &[&str]| {
        let mut a = vec!["vm", "edit", "edit-me", "--connect", &uri, "--demo"];
        a.extend(more);
        passagectl(&a)
    };

    let o = edit(&["--memory", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("memory from its next start"),
        "{}",
        stdout(&o)
    );
    assert_eq!(settings().memory_mib, Some(1024));

    // vCPUs pinned by the wizard's plan for the demo host.
    let o = edit(&["--vcpus", "4", "--pin", "on"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(settings().vcpus, Some(4));
    assert_eq!(settings().vcpu_pins.len(), 4);
    // Unpinned again (the demo host's CPUs are not this machine's, and the VM starts below).
    let o = edit(&["--vcpus", "1", "--pin", "off"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(settings().vcpu_pins.is_empty());

    // A dry run prints the diff and defines nothing.
    let before = h.xml("edit-me").expect("xml");
    let o = edit(&["--cdrom", &second, "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("+      <source file='{second}'/>")),
        "{}",
        stdout(&o)
    );
    assert_eq!(h.xml("edit-me").expect("xml"), before);

    let o = edit(&["--cdrom", &second]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(settings().install_iso.as_deref(), Some(second.as_str()));
    let o = edit(&["--eject"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(settings().install_iso, None);

    // More memory than the host has: the wizard's words, exit 2, nothing defined.
    let before = h.xml("edit-me").expect("xml");
    let o = edit(&["--memory", "100000"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("100000 GiB is not between 1 GiB and this host's"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.xml("edit-me").expect("xml"), before);
    let o = edit(&["--vcpus", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("CPUs: 0 is not between"),
        "{}",
        stderr(&o)
    );

    // A new disk image is made in libvirt's pool and the VM gets it; taken out, the image stays.
    let o = edit(&["--add-disk", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("New disk image edit-me-vda.qcow2"),
        "{}",
        stdout(&o)
    );
    assert_eq!(settings().disks.len(), 1);
    let o = edit(&["--remove-disk", "vda"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(settings().disks.is_empty());
    assert!(h
        .pools()
        .expect("pools")
        .iter()
        .any(|p| p.name == "default"));

    // While it runs: the CD changes at once, memory waits for the next start.
    let o = edit(&["--cdrom", &first]);
    assert!(o.status.success(), "{}", stderr(&o));
    h.start("edit-me").expect("start");
    let o = edit(&["--cdrom", &second, "--memory", "2"]);
    let live = std::process::Command::new("virsh")
        .args(["-c", &uri, "dumpxml", "edit-me"])
        .output()
        .expect("virsh");
    let _ = h.destroy("edit-me");
    let live = Domain::read(&String::from_utf8_lossy(&live.stdout)).expect("live xml");
    assert_eq!(
        live.cdroms[0].source.as_deref(),
        Some(second.as_str()),
        "the running VM's CD"
    );
    assert_eq!(
        live.memory_mib,
        Some(1024),
        "memory waits for the next start"
    );
    assert_eq!(settings().memory_mib, Some(2048));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("install ISO changed now") && out.contains("memory from its next start"),
        "{out}"
    );
}

/// `vm show` on a running VM reads the guest agent from libvirt's live XML (the channel's
/// state; no agent command runs): a TCG guest with the channel and no agent is "not
/// answering"; one without the channel says how to add it, and `vm edit --guest-agent on` does.
#[test]
fn vm_show_says_whether_the_guest_agent_answers_and_vm_edit_adds_its_channel() {
    use passage_virt::{Hypervisor, Libvirt};
    let d = passage_testkit::libvirtd::PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    let channel = "<channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n    <graphics";
    let iso = d.dir.path().join("empty.iso");
    std::fs::write(&iso, "iso").expect("iso");
    let iso = iso.to_str().expect("utf8");
    h.define(&cd_domain("agent", iso).replace("<graphics", channel))
        .expect("define agent");
    h.define(&cd_domain("bare", iso)).expect("define bare");
    let show = |vm: &str, json: bool| {
        let mut a = vec!["vm", "show", vm, "--connect", &uri];
        if json {
            a.push("--json");
        }
        passagectl(&a)
    };
    // Off: the definition has the channel, and no state yet.
    assert_eq!(json(&show("agent", true))["guest_agent"], "unknown");
    h.start("agent").expect("start agent");
    let o = show("agent", false);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Guest agent      not answering (install the QEMU guest agent in the guest: virtio-win guest tools on Windows, qemu-guest-agent on Linux)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(json(&show("agent", true))["guest_agent"], "not-answering");
    h.destroy("agent").expect("destroy");

    let o = show("bare", false);
    assert!(
        stdout(&o).contains("no channel (passagectl vm edit bare --guest-agent on adds it)"),
        "{}",
        stdout(&o)
    );
    let o = passagectl(&[
        "vm",
        "edit",
        "bare",
        "--connect",
        &uri,
        "--demo",
        "--guest-agent",
        "on",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&show("bare", true))["guest_agent"], "unknown");
}

/// `vm edit --looking-glass` sizes the shared memory from the monitor named and puts it on
/// /dev/shm, or on the kvmfr module's device where the root has it loaded; `vm show` says it;
/// a resolution that is not one is bad input (2) and nothing is printed.
#[test]
fn vm_edit_adds_looking_glass_sized_for_the_monitor_and_vm_show_says_it() {
    let f = libvirt_data("q35-virt-manager-basic.x86_64-latest.xml");
    let path = f.to_str().expect("utf8");
    let edit = |more: &[&str]| {
        let mut a = vec!["vm", "edit", "--xml", path, "--print"];
        a.extend(more);
        passagectl(&a)
    };
    let o = edit(&["--demo", "--looking-glass", "2560x1440"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = stdout(&o);
    assert!(
        xml.contains("<shmem name='looking-glass'>") && xml.contains("<size unit='M'>64</size>"),
        "{xml}"
    );
    passage_testkit::valid_domain(&xml);
    // Without --print: what it did and the host's side to set up.
    let o = passagectl(&[
        "vm",
        "edit",
        "--xml",
        path,
        "--demo",
        "--dry-run",
        "--looking-glass",
        "2560x1440",
    ]);
    assert!(
        stdout(&o).contains(
            "Looking Glass: 64 MiB shared memory at /dev/shm/looking-glass. The host's side"
        ) && stdout(&o).contains("passagectl apply --looking-glass"),
        "{}",
        stdout(&o)
    );
    let dir = tempfile::tempdir().expect("tmp");
    let shown = dir.path().join("lg.xml");
    std::fs::write(&shown, &xml).expect("write");
    let o = passagectl(&["vm", "show", "--xml", shown.to_str().expect("utf8")]);
    assert!(
        stdout(&o).contains("64 MiB shared memory at /dev/shm/looking-glass"),
        "{}",
        stdout(&o)
    );
    // Debian has no client: where to get it.
    assert!(
        stdout(&o).contains("looking-glass.io/downloads"),
        "{}",
        stdout(&o)
    );
    let o = passagectl(&["vm", "show", "--xml", path]);
    assert!(
        stdout(&o).contains("off (passagectl vm edit"),
        "{}",
        stdout(&o)
    );

    // kvmfr loaded on the root: QEMU's arguments on /dev/kvmfr0, 4K HDR = 256 MiB.
    let host = tempfile::tempdir().expect("tmp");
    passage_fixtures::demo::lay_down_at(host.path()).expect("demo");
    std::fs::create_dir_all(host.path().join("sys/module/kvmfr")).expect("mkdir");
    std::fs::create_dir_all(host.path().join("dev")).expect("mkdir");
    std::fs::write(host.path().join("dev/kvmfr0"), "").expect("dev");
    let root = host.path().to_str().expect("utf8");
    let o = edit(&["--root", root, "--looking-glass", "3840x2160:hdr"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = stdout(&o);
    assert!(
        xml.contains(r#""mem-path":"/dev/kvmfr0","size":268435456"#) && !xml.contains("<shmem"),
        "{xml}"
    );
    passage_testkit::valid_domain(&xml);

    for bad in ["1920", "1920x1080:sdr", "onx1"] {
        let o = edit(&["--demo", "--looking-glass", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("WIDTHxHEIGHT"), "{bad}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{bad}");
    }
}

/// On a host with one graphics card, `vm new` gives a VM that card only in the only-GPU mode
/// (the desktop stops while it runs), which is the card's default (core's rule, as in the
/// app): the domain has the card's group, the mode the hook reads and the host's keyboard and
/// mouse by evdev, and is valid by libvirt's schema; from boot on the card is refused as the
/// host's screen (exit 1).
#[test]
fn vm_new_gives_the_hosts_only_card_only_in_the_only_gpu_mode() {
    let d = fixture("single-gpu");
    let root = d.path().display().to_string();
    let base = ["vm", "new", "--root", root.as_str(), "--gpu", "0c:00.0"];
    for mode in [&[][..], &["--set", "gpu-mode=only-gpu"][..]] {
        let o = passagectl(&[&base[..], mode, &["--print-xml"]].concat());
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        let xml = stdout(&o);
        assert!(
            xml.contains("<passage:gpu-mode>only-gpu</passage:gpu-mode>"),
            "{xml}"
        );
        assert!(
            xml.contains("usb-Logitech_USB_Receiver-event-kbd")
                && xml.contains("usb-Logitech_USB_Receiver-if01-event-mouse"),
            "{xml}"
        );
    }
    let o = passagectl(&[&base[..], &["--set", "gpu-mode=only-gpu", "--print-xml"]].concat());
    let xml = stdout(&o);
    assert!(
        xml.contains("<address domain='0x0000' bus='0x0c' slot='0x00' function='0x0'/>"),
        "{xml}"
    );
    passage_testkit::valid_domain(&xml);

    // The mode from boot on does not take the host's screen.
    let o = passagectl(&[&base[..], &["--set", "gpu-mode=boot", "--print-xml"]].concat());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("shows this computer's screen"),
        "{}",
        stderr(&o)
    );
    // Without a keyboard and mouse of its own the VM is not made; the words say what to add.
    let o = passagectl(
        &[
            &base[..],
            &[
                "--set",
                "evdev-remove=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd",
                "--set",
                "evdev-remove=/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse",
                "--print-xml",
            ],
        ]
        .concat(),
    );
    assert_ne!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("needs its own keyboard and mouse"),
        "{}",
        stderr(&o)
    );
}

/// `plan --gpu` for the host's only card plans the only-GPU mode by default: the IOMMU's
/// kernel arguments and libvirt's hook, no vfio-pci binding at boot, and a note saying why;
/// `--gpu-mode boot` is refused with the way that works.
#[test]
fn plan_for_the_hosts_only_card_binds_nothing_at_boot_and_says_why() {
    let d = fixture("single-gpu");
    let root = d.path().display().to_string();
    for mode in [&[][..], &["--gpu-mode", "only-gpu"][..]] {
        let o = passagectl(
            &[
                &["plan", "--root", root.as_str(), "--gpu", "0c:00.0"][..],
                mode,
            ]
            .concat(),
        );
        assert!(o.status.success(), "{mode:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("amd_iommu=on"), "{out}");
        assert!(out.contains("not bound to vfio-pci at boot"), "{out}");
        assert!(
            !out.contains("vfio-pci.ids") && !out.contains("modprobe.d"),
            "{out}"
        );
    }
    let o = passagectl(&[
        "plan",
        "--root",
        root.as_str(),
        "--gpu",
        "0c:00.0",
        "--gpu-mode",
        "boot",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("--gpu-mode only-gpu"), "{}", stderr(&o));
}
