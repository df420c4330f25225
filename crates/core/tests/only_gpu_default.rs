//! The host's only graphics card as the app and passagectl choose it: the one rule that gives
//! such a card the only-GPU mode by default, the selection with its whole group, the draft
//! (the wizard's and the express VM's) with its own keyboard and mouse or a refusal naming what
//! to add, and Host setup's plan, which never binds the card at boot.

use passage_core::host::PciAddress;
use passage_core::plan::{self, PlanError};
use passage_core::vm::devices::{choose, choose_card};
use passage_core::vm::draft::{Choice, Draft};
use passage_core::vm::express::{self, Context, Request};
use passage_core::vm::session::GpuMode;
use passage_core::vm::Purpose;
use passage_core::{Host, Root};

const CARD: &str = "0000:0c:00.0";
const KBD: &str = "/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd";
const MOUSE: &str = "/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse";

fn a(s: &str) -> PciAddress {
    s.parse().expect("address")
}

fn scan(name: &str) -> (tempfile::TempDir, Root, Host) {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build(name, d.path()).expect("fixture");
    let root = Root::new(d.path()).expect("root");
    let host = Host::scan(&root);
    (d, root, host)
}

#[test]
fn the_only_card_showing_the_screen_defaults_to_only_gpu_and_every_other_card_to_at_boot() {
    let (_d, _r, host) = scan("single-gpu");
    assert_eq!(GpuMode::default_for(&host, a(CARD)), GpuMode::OnlyGpu);
    // Whatever mode is wanted, the only card goes in the only one that can take it.
    for wanted in [GpuMode::AtBoot, GpuMode::WhileRunning, GpuMode::OnlyGpu] {
        assert_eq!(
            GpuMode::for_card(&host, a(CARD), wanted),
            GpuMode::OnlyGpu,
            "{wanted:?}"
        );
    }
    let (_d2, _r2, two) = scan("x570-tutorial");
    let card = a("0000:0a:00.0");
    assert_eq!(GpuMode::default_for(&two, card), GpuMode::AtBoot);
    assert_eq!(
        GpuMode::for_card(&two, card, GpuMode::WhileRunning),
        GpuMode::WhileRunning
    );
    assert_eq!(
        GpuMode::for_card(&two, card, GpuMode::OnlyGpu),
        GpuMode::AtBoot,
        "only GPU is not offered beside a second card"
    );
}

#[test]
fn choosing_the_only_card_takes_its_whole_group_where_the_at_boot_rule_refuses_it() {
    let (_d, _r, host) = scan("single-gpu");
    let e = choose(&host, a(CARD)).expect_err("the at-boot rule");
    assert!(e.contains("screen"), "{e}");
    let s = choose_card(&host, a(CARD)).expect("only GPU");
    let group = host.group_of(a(CARD)).expect("group");
    assert_eq!((s.gpu, s.group), (a(CARD), group.id));
    assert_eq!(s.devices, host.endpoints(&group.devices));
    // Another card is chosen as before.
    let (_d2, _r2, two) = scan("x570-tutorial");
    assert_eq!(
        choose_card(&two, a("0000:0a:00.0")),
        choose(&two, a("0000:0a:00.0"))
    );
}

#[test]
fn the_wizards_draft_gets_only_gpu_and_the_first_keyboard_and_mouse_by_evdev() {
    let (_d, _r, host) = scan("single-gpu");
    let s = choose_card(&host, a(CARD)).expect("only GPU");
    let mut d = Draft::new(&host, Some(s));
    assert_eq!(d.gpu_mode, GpuMode::OnlyGpu);
    assert_eq!(d.evdev, [KBD, MOUSE]);
    let spec = d.spec(&host).expect("spec");
    assert_eq!(spec.session.gpu_mode, GpuMode::OnlyGpu);
    assert_eq!(spec.evdev, [KBD, MOUSE]);
    assert!(spec.pci.iter().any(|p| p.address == a(CARD)));
    // From boot on cannot take the screen's card: refused with the reason, nothing changes.
    let e = d
        .set(&host, Choice::GpuMode(GpuMode::AtBoot))
        .expect_err("at boot");
    assert!(e.to_string().contains("screen"), "{e}");
    assert_eq!(d.gpu_mode, GpuMode::OnlyGpu);
    // Without a keyboard and mouse of its own the VM is not made, and the words say what to add.
    for dev in [KBD, MOUSE] {
        d.set(&host, Choice::RemoveEvdev(dev.into()))
            .expect("remove");
    }
    let e = d.spec(&host).expect_err("no input");
    assert_eq!(e.field, "evdev");
    assert!(
        e.to_string().contains("needs its own keyboard and mouse")
            && e.to_string().contains("USB Devices"),
        "{e}"
    );
    // A USB device of its own is enough.
    d.set(&host, Choice::AddUsb(0x046d, 0xc539)).expect("usb");
    assert!(d.spec(&host).is_ok());
}

#[test]
fn the_express_vm_of_the_only_card_is_only_gpu_with_evdev_whatever_host_setup_says() {
    let (_d, _r, host) = scan("single-gpu");
    let s = choose_card(&host, a(CARD)).expect("only GPU");
    let req = Request {
        purpose: Purpose::Gaming,
        iso: "/var/lib/libvirt/images/Win11_23H2_English_x64.iso".into(),
        label: None,
        name: None,
        disk_gib: None,
    };
    let ctx = Context {
        gpu_mode: GpuMode::AtBoot,
        ..Context::default()
    };
    let x = express::recommend(&host, s, &req, &ctx).expect("express");
    assert_eq!(x.draft.gpu_mode, GpuMode::OnlyGpu);
    assert_eq!(x.draft.evdev, [KBD, MOUSE]);
    assert!(x.draft.spec(&host).is_ok());
}

#[test]
fn host_setup_plans_only_the_iommu_and_the_hook_for_the_only_card_and_says_why() {
    let (_d, root, host) = scan("single-gpu");
    let helper = plan::hook::DEFAULT_HELPER;
    let p = plan::for_gpu_mode(&root, &host, a(CARD), GpuMode::OnlyGpu, helper).expect("plan");
    let text: String = p
        .changes
        .iter()
        .map(|c| format!("{}\n{}\n", c.path, c.diff))
        .collect();
    assert!(text.contains("amd_iommu=on"), "{text}");
    assert!(text.contains("/etc/libvirt/hooks"), "{text}");
    for never in [
        "vfio-pci.ids",
        "softdep",
        "modprobe.d",
        "/etc/mkinitcpio.conf",
    ] {
        assert!(!text.contains(never), "{never} planned:\n{text}");
    }
    assert!(
        p.notes.iter().any(
            |n| n.contains("not bound to vfio-pci at boot") && n.contains("only graphics card")
        ),
        "{:?}",
        p.notes
    );
    // The other modes would leave the host with no display: refused with the way that works.
    for mode in [GpuMode::AtBoot, GpuMode::WhileRunning] {
        match plan::for_gpu_mode(&root, &host, a(CARD), mode, helper) {
            Err(PlanError::Device(why)) => {
                assert!(
                    why.contains("no display") && why.contains("only-GPU mode"),
                    "{why}"
                )
            }
            other => panic!("{mode:?}: {other:?}"),
        }
    }
    // And the only-GPU mode is for the only card alone.
    let (_d2, root2, two) = scan("x570-tutorial");
    let e = plan::for_gpu_mode(&root2, &two, a("0000:0a:00.0"), GpuMode::OnlyGpu, helper);
    assert!(matches!(e, Err(PlanError::Device(_))), "{e:?}");
}

#[test]
fn the_only_card_can_have_the_only_gpu_mode_alone_and_other_cards_the_other_two() {
    let (_d, _r, host) = scan("single-gpu");
    assert_eq!(GpuMode::usable(&host, a(CARD)), [GpuMode::OnlyGpu]);
    let (_d2, _r2, two) = scan("x570-tutorial");
    assert_eq!(
        GpuMode::usable(&two, a("0000:0a:00.0")),
        [GpuMode::AtBoot, GpuMode::WhileRunning]
    );
}
