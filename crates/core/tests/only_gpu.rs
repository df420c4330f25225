//! The *only GPU* mode: offered where the host has one display card, the card allowed to go
//! by the group rule in that mode only, and the ordered plan that stops the desktop (and its
//! exact reverse) for each vendor's driver stack, read from fixture roots.

use std::path::Path;

use passage_core::host::desktop::{self, DesktopAct, DesktopStep};
use passage_core::host::{Allow, PciAddress, Refusal};
use passage_core::vm::session::GpuMode;
use passage_core::{Host, Root};
use passage_fixtures::HostSpec;

const CARD: &str = "0000:0c:00.0";

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// What a desktop host shows beside its card: logind's files for a Wayland user session, a
/// greeter and a text login (systemd's `session_save` format), a dummy console and one drawn
/// on the frame buffer (`/sys/class/vtconsole` as Linux 6.x shows them), and the frame buffer
/// device `fb` under its platform driver.
fn desktop(root: &Path, fb: Option<(&str, &str)>) {
    write(
        root,
        "/run/systemd/sessions/2",
        "# This is private data. Do not parse.\nUID=1000\nUSER=alex\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\nTYPE=wayland\nCLASS=user\nSCOPE=session-2.scope\nSEAT=seat0\nVTNR=2\n",
    );
    write(
        root,
        "/run/systemd/sessions/c1",
        "UID=119\nUSER=sddm\nACTIVE=0\nTYPE=x11\nCLASS=greeter\nSEAT=seat0\nVTNR=1\n",
    );
    write(
        root,
        "/run/systemd/sessions/5",
        "UID=1000\nUSER=alex\nTYPE=tty\nCLASS=user\nVTNR=3\n",
    );
    write(
        root,
        "/sys/class/vtconsole/vtcon0/name",
        "(S) dummy device\n",
    );
    write(root, "/sys/class/vtconsole/vtcon0/bind", "0\n");
    write(
        root,
        "/sys/class/vtconsole/vtcon1/name",
        "(M) frame buffer device\n",
    );
    write(root, "/sys/class/vtconsole/vtcon1/bind", "1\n");
    if let Some((driver, device)) = fb {
        let d = format!("/sys/bus/platform/drivers/{driver}");
        write(root, &format!("{d}/{device}/uevent"), "");
        write(root, &format!("{d}/bind"), "");
        write(root, &format!("{d}/unbind"), "");
        write(root, &format!("{d}/uevent"), "");
    }
}

/// The single-GPU fixture with its card on `driver` (vendor `vendor`) and `modules` loaded.
fn host_with(
    driver: &str,
    vendor: u16,
    modules: &[&str],
    fb: Option<(&str, &str)>,
) -> (tempfile::TempDir, Host) {
    let mut spec: HostSpec = passage_fixtures::spec("single-gpu").expect("fixture");
    for p in spec.pci.iter_mut().filter(|p| p.addr == CARD) {
        p.driver = Some(driver.into());
        p.vendor = vendor;
    }
    spec.modules.retain(|m| m != "amdgpu");
    spec.modules.extend(modules.iter().map(|m| m.to_string()));
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build_spec(&spec, d.path()).expect("build");
    desktop(d.path(), fb);
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    (d, host)
}

fn plan_of(d: &tempfile::TempDir, host: &Host) -> Vec<DesktopStep> {
    let root = Root::new(d.path()).expect("root");
    desktop::plan(&root, host, a(CARD), &[a(CARD)])
}

fn module_steps(steps: &[DesktopStep]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| match s {
            DesktopStep::UnloadModule { module } => Some(module.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn only_gpu_is_offered_for_the_hosts_one_card_and_nowhere_else() {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("single-gpu", d.path()).expect("fixture");
    let host = Host::scan(&Root::new(d.path()).expect("root"));
    assert_eq!(host.only_gpu(), Some(a(CARD)));
    assert_eq!(
        GpuMode::offered(&host, a(CARD)),
        [GpuMode::AtBoot, GpuMode::WhileRunning, GpuMode::OnlyGpu]
    );
    assert_eq!(GpuMode::from_word("only-gpu"), Some(GpuMode::OnlyGpu));
    assert_eq!(GpuMode::OnlyGpu.word(), "only-gpu");
    assert!(GpuMode::OnlyGpu.lends());

    let two = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", two.path()).expect("fixture");
    let host2 = Host::scan(&Root::new(two.path()).expect("root"));
    assert_eq!(host2.only_gpu(), None);
    let card2 = host2.gpus().next().expect("gpu").address;
    assert!(!GpuMode::offered(&host2, card2).contains(&GpuMode::OnlyGpu));
}

#[test]
fn the_group_rule_lends_the_only_card_in_only_gpu_mode_and_nothing_else() {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("single-gpu", d.path()).expect("fixture");
    let host = Host::scan(&Root::new(d.path()).expect("root"));
    assert_eq!(
        host.may_take(&[a(CARD)], Allow::Groups),
        Err(Refusal::HostDisplay(a(CARD)))
    );
    let t = host.may_take(&[a(CARD)], Allow::OnlyGpu).expect("lent");
    assert_eq!(t.devices, [a(CARD)]);
    // The mode covers the screen only: the NVMe disk the host runs on still stays.
    assert!(matches!(
        host.may_take(&[a("0000:01:00.0")], Allow::OnlyGpu),
        Err(Refusal::GroupNotViable(_))
    ));
}

#[test]
fn amdgpu_plan_stops_the_desktop_in_order_and_gives_it_back_in_reverse() {
    let (d, host) = host_with(
        "amdgpu",
        0x1002,
        &["amdgpu"],
        Some(("simple-framebuffer", "simple-framebuffer.0")),
    );
    let steps = plan_of(&d, &host);
    assert_eq!(
        steps,
        [
            DesktopStep::StopUnit {
                unit: "sddm.service".into()
            },
            DesktopStep::EndSession {
                id: "2".into(),
                user: "alex".into()
            },
            DesktopStep::UnbindConsole {
                vtcon: "vtcon1".into()
            },
            DesktopStep::UnbindFramebuffer {
                driver: "simple-framebuffer".into(),
                device: "simple-framebuffer.0".into()
            },
            DesktopStep::NameHolders {
                nodes: vec!["/dev/dri/card0".into()]
            },
            DesktopStep::UnloadModule {
                module: "amdgpu".into()
            },
            DesktopStep::BindGroup {
                devices: vec![a(CARD)]
            },
        ]
    );
    let s = |v: &[&str]| DesktopAct::Run(v.iter().map(|w| w.to_string()).collect());
    assert_eq!(
        desktop::reverse(&steps),
        [
            DesktopAct::BindGroup(vec![a(CARD)]),
            s(&["modprobe", "amdgpu"]),
            DesktopAct::Write {
                path: "/sys/bus/platform/drivers/simple-framebuffer/bind".into(),
                value: "simple-framebuffer.0".into()
            },
            DesktopAct::Write {
                path: "/sys/class/vtconsole/vtcon1/bind".into(),
                value: "1".into()
            },
            s(&["systemctl", "start", "sddm.service"]),
        ]
    );
    assert_eq!(steps[0].take(), s(&["systemctl", "stop", "sddm.service"]));
    assert_eq!(steps[1].take(), s(&["loginctl", "terminate-session", "2"]));
    assert_eq!(steps[5].take(), s(&["modprobe", "-r", "amdgpu"]));
}

#[test]
fn nvidia_unloads_drm_modeset_uvm_then_nvidia_and_loads_them_back_the_other_way() {
    // nvidia_uvm not loaded (no CUDA program ran): it is not in the plan.
    let (d, host) = host_with(
        "nvidia",
        0x10de,
        &["nvidia", "nvidia_modeset", "nvidia_drm"],
        Some(("efi-framebuffer", "efi-framebuffer.0")),
    );
    let steps = plan_of(&d, &host);
    assert_eq!(
        module_steps(&steps),
        ["nvidia_drm", "nvidia_modeset", "nvidia"]
    );
    let holders = steps
        .iter()
        .find_map(|s| match s {
            DesktopStep::NameHolders { nodes } => Some(nodes.clone()),
            _ => None,
        })
        .expect("holder check");
    assert!(
        holders.contains(&"/dev/nvidiactl".to_string()),
        "{holders:?}"
    );
    assert!(steps.contains(&DesktopStep::UnbindFramebuffer {
        driver: "efi-framebuffer".into(),
        device: "efi-framebuffer.0".into()
    }));
    let loads: Vec<String> = desktop::reverse(&steps)
        .into_iter()
        .filter_map(|act| match act {
            DesktopAct::Run(v) if v[0] == "modprobe" => Some(v[1].clone()),
            _ => None,
        })
        .collect();
    assert_eq!(loads, ["nvidia", "nvidia_modeset", "nvidia_drm"]);

    let (d, host) = host_with(
        "nvidia",
        0x10de,
        &["nvidia", "nvidia_modeset", "nvidia_drm", "nvidia_uvm"],
        None,
    );
    assert_eq!(
        module_steps(&plan_of(&d, &host)),
        ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"]
    );
}

#[test]
fn an_intel_only_card_unloads_i915_or_xe_and_an_unknown_driver_is_only_unbound() {
    for drv in ["i915", "xe"] {
        let (d, host) = host_with(drv, 0x8086, &[drv], None);
        let steps = plan_of(&d, &host);
        assert_eq!(module_steps(&steps), [drv]);
        assert!(!steps
            .iter()
            .any(|s| matches!(s, DesktopStep::UnbindFramebuffer { .. })));
    }
    // QEMU's standard VGA on bochs-drm: nothing to unload, the device step unbinds it.
    let (d, host) = host_with("bochs-drm", 0x1234, &["bochs"], None);
    let steps = plan_of(&d, &host);
    assert!(module_steps(&steps).is_empty());
    assert!(matches!(steps.last(), Some(DesktopStep::BindGroup { .. })));
}

#[test]
fn a_host_without_a_display_manager_or_sessions_plans_only_the_card() {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("single-gpu", d.path()).expect("fixture");
    std::fs::remove_file(d.path().join("etc/systemd/system/display-manager.service"))
        .expect("unlink");
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    let steps = desktop::plan(&root, &host, a(CARD), &[a(CARD)]);
    assert!(
        matches!(steps[0], DesktopStep::NameHolders { .. }),
        "{steps:?}"
    );
    assert_eq!(module_steps(&steps), ["amdgpu"]);
    // A link to something that is not a unit's name is not taken for the display manager.
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/-rf .service",
        d.path().join("etc/systemd/system/display-manager.service"),
    )
    .expect("link");
    assert_eq!(desktop::display_manager_unit(&root), None);
}

fn preflight_causes(meta: &str, devices: &str) -> Vec<passage_core::vm::diagnose::Cause> {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("single-gpu", d.path()).expect("fixture");
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    let xml = format!(
        "<domain type='kvm'><name>game</name><metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'>{meta}</passage:vm></metadata>\
         <memory unit='MiB'>1024</memory><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>\
         <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0x0c' slot='0' function='0'/></source></hostdev>{devices}</devices></domain>"
    );
    let dom = passage_core::vm::Domain::read(&xml).expect("domain");
    passage_core::vm::preflight::check(&dom, &host, &root, &Default::default())
        .into_iter()
        .map(|f| f.cause)
        .collect()
}

#[test]
fn an_only_gpu_vm_may_take_the_card_but_needs_its_own_keyboard_and_mouse() {
    use passage_core::vm::diagnose::Cause;
    let only = "<passage:gpu-mode>only-gpu</passage:gpu-mode>";
    let causes = preflight_causes(only, "");
    assert!(causes.contains(&Cause::OnlyGpuInput), "{causes:?}");
    assert!(!causes.contains(&Cause::GroupNotViable), "{causes:?}");
    let evdev = "<input type='evdev'><source dev='/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd' grab='all' repeat='on'/></input>";
    assert!(!preflight_causes(only, evdev).contains(&Cause::OnlyGpuInput));
    let usb = "<hostdev mode='subsystem' type='usb' managed='yes'><source><vendor id='0x046d'/><product id='0xc539'/></source></hostdev>";
    assert!(!preflight_causes(only, usb).contains(&Cause::OnlyGpuInput));
    // The same card lent while the VM runs is the host's screen: refused.
    let running = preflight_causes("<passage:gpu-mode>running</passage:gpu-mode>", "");
    assert!(running.contains(&Cause::GroupNotViable), "{running:?}");
    assert!(!running.contains(&Cause::OnlyGpuInput), "{running:?}");
}

/// The question asked before an only-GPU start names what stops here: the display manager's
/// unit and each user's graphical session (not the greeter's, not a text login), and warns
/// about unsaved work; a host with neither says so in general words.
#[test]
fn the_start_question_names_the_display_manager_and_the_sessions_that_end() {
    use passage_core::host::desktop_question::{question, WhatStops};
    let (d, _) = host_with("amdgpu", 0x1002, &["amdgpu"], None);
    let root = Root::new(d.path()).expect("root");
    let what = WhatStops::of(&root);
    assert_eq!(
        what.display_manager.as_deref(),
        Some("sddm.service"),
        "{what:?}"
    );
    assert_eq!(what.sessions, vec![("2".to_string(), "alex".to_string())]);
    let (heading, body, yes) = question("win11", &what);
    assert_eq!(heading, "Stop the Desktop to Start “win11”?");
    assert!(
        body.contains("The display manager (sddm.service) stops"),
        "{body}"
    );
    assert!(
        body.contains("these sessions end: alex's (session 2)"),
        "{body}"
    );
    assert!(body.contains("save your work first"), "{body}");
    assert!(yes.contains("Stop the Desktop"), "{yes}");

    let (_, body, _) = question("win11", &WhatStops::default());
    assert!(
        body.starts_with("The display manager stops and every graphical session ends."),
        "{body}"
    );
}

/// A keyboard and mouse of the VM's own come in three forms the guides use: libvirt's
/// `<input type='evdev'>`, virtio-input-host (`<input type='passthrough'>`) and QEMU's
/// `input-linux` object on the command line (plain or JSON); each counts for the only-GPU
/// mode's input check (review finding: the last two were refused).
#[test]
fn every_form_of_an_evdev_keyboard_counts_as_the_vms_own() {
    use passage_core::vm::Domain;
    let kbd = "/dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd";
    let with = |devices: &str, extra: &str| {
        format!(
            "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>g</name><memory unit='MiB'>1024</memory>\
             <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>{devices}</devices>{extra}</domain>"
        )
    };
    let evdev = |xml: &str| Domain::read(xml).expect("domain").evdev;
    assert!(!evdev(&with("", "")));
    assert!(evdev(&with(
        &format!("<input type='evdev'><source dev='{kbd}'/></input>"),
        ""
    )));
    assert!(evdev(&with(
        &format!("<input type='passthrough' bus='virtio'><source evdev='{kbd}'/></input>"),
        ""
    )));
    let line = |v: &str| {
        format!("<qemu:commandline><qemu:arg value='-object'/><qemu:arg value='{v}'/></qemu:commandline>")
    };
    assert!(evdev(&with(
        "",
        &line(&format!(
            "input-linux,id=kbd1,evdev={kbd},grab_all=on,repeat=on"
        ))
    )));
    assert!(evdev(&with(
        "",
        &line(&format!(
            "{{\"qom-type\":\"input-linux\",\"id\":\"kbd1\",\"evdev\":\"{kbd}\"}}"
        ))
    )));
    assert!(!evdev(&with(
        "",
        &line("memory-backend-file,id=lg,mem-path=/dev/kvmfr0")
    )));
}
