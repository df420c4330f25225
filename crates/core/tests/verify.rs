//! Verify the card in the guest: the guest agent's replies and the guest's programs' output
//! (tests/data/guest-agent, sources in its README) judged against a VM's passed devices on the
//! Intel tutorial host (a GeForce RTX 2080 Ti, 10de:1e07, and its HD audio, 10de:10f7).

use std::collections::VecDeque;

use passage_core::host::Host;
use passage_core::vm::verify::agent::{self, Agent, Program};
use passage_core::vm::verify::{guest_text, CannotCheck, GuestOs, GuestView, Seen, Target};
use passage_core::Root;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/guest-agent/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn host() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().expect("tempdir");
    passage_fixtures::build("intel-tutorial", dir.path()).expect("fixture host");
    let h = Host::scan(&Root::new(dir.path()).expect("root"));
    (dir, h)
}

/// A domain passing the card's video and audio functions; `features` inside `<features>`.
fn domain(features: &str) -> String {
    format!(
        "<domain type='kvm'><name>win11</name><memory unit='GiB'>16</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/>{features}</features>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>
  </devices></domain>"
    )
}

const MASKED: &str = "<hyperv mode='custom'><relaxed state='on'/><vendor_id state='on' value='passage'/></hyperv><kvm><hidden state='on'/></kvm>";

fn windows(pnp: &str) -> GuestView {
    let mut devices = guest_text::pnp_entities(&data(pnp)).expect("pnp json");
    let versions = agent::devices(&data("win-get-devices.json")).expect("devices");
    for d in &mut devices {
        if let Some(v) = versions
            .iter()
            .find(|v| (v.vendor, v.device) == (d.vendor, d.device))
        {
            d.version.clone_from(&v.version);
        }
    }
    GuestView {
        os: GuestOs::Windows,
        name: Some("Windows 11 Pro".into()),
        devices,
        drivers_only: false,
    }
}

fn linux(lspci: &str) -> GuestView {
    GuestView {
        os: GuestOs::Linux,
        name: None,
        devices: guest_text::lspci_nnk(&data(lspci)),
        drivers_only: false,
    }
}

#[test]
fn a_working_card_in_windows_names_nvidias_release() {
    let (_d, h) = host();
    let t = Target::read(&domain(MASKED), &h).expect("target");
    assert_eq!(t.passed.len(), 2);
    let v = t.judge(&windows("win-pnp-working.json"));
    assert!(v.all_working(), "{v:?}");
    let lines = v.lines();
    assert_eq!(
        lines[0],
        "GeForce RTX 2080 Ti Rev. A (10de:1e07): working in Windows, NVIDIA 551.23"
    );
    assert!(
        lines[1].starts_with("NVIDIA Corporation TU102 High Definition Audio Controller"),
        "{lines:?}"
    );
    assert!(lines[1].contains("(10de:10f7): working in Windows, NVIDIA 1.4.0.1"));
    assert_eq!(lines.len(), 2, "no fixes for working devices: {lines:?}");
}

#[test]
fn code_43_is_named_with_what_fixes_it_and_what_this_vm_has() {
    let (_d, h) = host();
    let view = windows("win-pnp-code43.json");
    let masked = Target::read(&domain(MASKED), &h)
        .expect("target")
        .judge(&view);
    assert_eq!(masked.devices[0].seen, Seen::Problem { code: 43 });
    assert!(matches!(masked.devices[1].seen, Seen::Working { .. }));
    let text = masked.lines().join("\n");
    assert!(
        text.contains("(10de:1e07): Code 43: Windows stopped the device"),
        "{text}"
    );
    assert!(
        text.contains("vendor ID is set (passage): not the cause"),
        "{text}"
    );
    assert!(text.contains("KVM is hidden from the guest"), "{text}");
    assert!(text.contains("passagectl rom 0000:01:00.0"), "{text}");
    assert!(text.contains("reset between starts"), "{text}");

    let bare = Target::read(&domain(""), &h).expect("target").judge(&view);
    let text = bare.lines().join("\n");
    assert!(text.contains("Set a Hyper-V vendor ID"), "{text}");
    assert!(text.contains("Hide KVM from the guest"), "{text}");
    assert!(!text.contains("not the cause"), "{text}");
}

#[test]
fn windows_basic_display_driver_is_no_driver() {
    let (_d, h) = host();
    let v = Target::read(&domain(MASKED), &h)
        .expect("target")
        .judge(&windows("win-pnp-basic.json"));
    assert!(matches!(
        v.devices[0].seen,
        Seen::NoDriver { basic: Some(_), .. }
    ));
    assert!(
        v.lines()[0].contains("Microsoft Basic Display Adapter"),
        "{:?}",
        v.lines()
    );
    assert!(!v.all_working());
}

#[test]
fn a_device_the_guest_does_not_list_is_missing() {
    let (_d, h) = host();
    let t = Target::read(&domain(MASKED), &h).expect("target");
    let mut view = windows("win-pnp-working.json");
    view.devices.retain(|d| d.device != 0x1e07);
    let v = t.judge(&view);
    assert_eq!(v.devices[0].seen, Seen::Missing);
    assert!(v.lines()[0].ends_with("not seen by Windows: the guest lists no device with these IDs"));

    let v = t.judge(&linux("lspci-nnk-nvidia.txt"));
    assert!(v.all_working());
    let mut gone = linux("lspci-nnk-nvidia.txt");
    gone.devices.retain(|d| d.vendor != 0x10de);
    assert!(t
        .judge(&gone)
        .devices
        .iter()
        .all(|d| d.seen == Seen::Missing));
}

#[test]
fn linux_lspci_with_and_without_a_driver() {
    let (_d, h) = host();
    let t = Target::read(&domain(""), &h).expect("target");
    let v = t.judge(&linux("lspci-nnk-nvidia.txt"));
    assert_eq!(
        v.lines()[0],
        "GeForce RTX 2080 Ti Rev. A (10de:1e07): working in Linux, driver nvidia"
    );
    let v = t.judge(&linux("lspci-nnk-nodriver.txt"));
    assert_eq!(
        v.devices[0].seen,
        Seen::NoDriver {
            modules: vec![
                "nvidiafb".into(),
                "nouveau".into(),
                "nvidia_drm".into(),
                "nvidia".into()
            ],
            basic: None
        }
    );
    assert!(
        v.lines()[0].contains("without a driver (modules that could take it: nvidiafb, nouveau")
    );
    assert!(
        matches!(v.devices[1].seen, Seen::Working { .. }),
        "the audio keeps snd_hda_intel"
    );
}

#[test]
fn lspci_reads_ids_not_the_subsystems() {
    let l = guest_text::lspci_nnk(&data("lspci-nnk-nvidia.txt"));
    let ids: Vec<(u16, u16)> = l.iter().map(|d| (d.vendor, d.device)).collect();
    assert_eq!(
        ids,
        [
            (0x1234, 0x1111),
            (0x8086, 0x2918),
            (0x10de, 0x1e07),
            (0x10de, 0x10f7),
            (0x1af4, 0x1048)
        ]
    );
    assert_eq!(l[0].driver.as_deref(), Some("bochs-drm"));
    assert_eq!(l[0].name.as_deref(), Some("Device"));
}

#[test]
fn get_devices_in_both_forms_and_osinfo() {
    let v = agent::devices(&data("win-get-devices.json")).expect("5.2 form");
    assert_eq!(v.len(), 3);
    assert_eq!((v[1].vendor, v[1].device), (0x10de, 0x1e07));
    assert_eq!(v[1].version.as_deref(), Some("31.0.15.5123"));
    let v1 = agent::devices(&data("win-get-devices-v1.json")).expect("patch form");
    assert_eq!((v1[0].vendor, v1[0].device), (0x1af4, 0x1042));
    let (os, name) = agent::os(&data("win11-osinfo.json")).expect("osinfo");
    assert_eq!(
        (os, name.as_deref()),
        (GuestOs::Windows, Some("Windows 11 Pro"))
    );
    let (os, _) = agent::os(&data("debian12-osinfo.json")).expect("osinfo");
    assert_eq!(os, GuestOs::Linux);
    assert_eq!(
        agent::devices(
            r#"{"error": {"class": "GenericError", "desc": "Command guest-get-devices has been disabled"}}"#
        ),
        Err("Command guest-get-devices has been disabled".into())
    );
}

#[test]
fn a_single_pnp_object_and_garbage() {
    let one = r#"{"Name":"NVIDIA GeForce RTX 2080 Ti","PNPDeviceID":"PCI\\VEN_10DE&DEV_1E07\\4&1","ConfigManagerErrorCode":43,"Service":"nvlddmkm"}"#;
    let l = guest_text::pnp_entities(one).expect("one object");
    assert_eq!((l[0].vendor, l[0].problem), (0x10de, Some(43)));
    assert_eq!(guest_text::pnp_entities("\u{feff}[]"), Some(vec![]));
    assert_eq!(
        guest_text::pnp_entities("Get-CimInstance : Access denied"),
        None
    );
}

/// Plays the agent: each command must be the one expected, and gets its reply.
struct Script(VecDeque<(String, Result<String, String>)>, u32);

impl Agent for Script {
    fn command(&mut self, json: &str) -> Result<String, String> {
        let (want, reply) = self.0.pop_front().expect("no more commands expected");
        assert_eq!(json, want);
        reply
    }
    fn pause(&mut self) {
        self.1 += 1;
    }
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

fn ok(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

#[test]
fn the_linux_probe_runs_lspci_and_waits_for_it() {
    let out = data("lspci-nnk-nvidia.txt");
    let exited = format!(
        r#"{{"return": {{"exitcode": 0, "out-data": "{}", "exited": true}}}}"#,
        b64(out.as_bytes())
    );
    let mut s = Script(
        VecDeque::from([
            (agent::OSINFO.into(), ok(&data("debian12-osinfo.json"))),
            (Program::Lspci.exec(), ok(r#"{"return": {"pid": 1207}}"#)),
            (
                agent::exec_status(1207),
                ok(r#"{"return": {"exited": false}}"#),
            ),
            (agent::exec_status(1207), Ok(exited)),
        ]),
        0,
    );
    let view = agent::look(&mut s).expect("view");
    assert_eq!(s.1, 1, "one pause while lspci ran");
    assert_eq!(view.os, GuestOs::Linux);
    assert_eq!(view.name.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(view.devices, guest_text::lspci_nnk(&out));
    assert!(Program::Lspci.exec().contains(r#""path":"lspci""#));
}

#[test]
fn windows_without_powershell_still_reads_guest_get_devices() {
    let failed = format!(
        r#"{{"return": {{"exitcode": 1, "err-data": "{}", "exited": true}}}}"#,
        b64(b"Access is denied.")
    );
    let mut s = Script(
        VecDeque::from([
            (agent::OSINFO.into(), ok(&data("win11-osinfo.json"))),
            (Program::PnpQuery.exec(), ok(r#"{"return": {"pid": 4}}"#)),
            (agent::exec_status(4), Ok(failed)),
            (agent::GET_DEVICES.into(), ok(&data("win-get-devices.json"))),
        ]),
        0,
    );
    let mut view = agent::look(&mut s).expect("view");
    assert!(view.drivers_only);
    let (_d, h) = host();
    let t = Target::read(&domain(MASKED), &h).expect("target");
    let v = t.judge(&view);
    assert_eq!(
        v.lines()[0],
        "GeForce RTX 2080 Ti Rev. A (10de:1e07): working in Windows, NVIDIA 551.23"
    );
    // guest-get-devices lists only devices with a driver: one not in it is not called missing.
    view.devices.retain(|d| d.device != 0x1e07);
    let v = t.judge(&view);
    assert_eq!(v.devices[0].seen, Seen::NoDriverOrMissing);
    assert!(
        v.lines()[0].contains("missing or has no driver"),
        "{:?}",
        v.lines()
    );
}

#[test]
fn an_agent_that_fails_gives_cannot_check() {
    let mut s = Script(
        VecDeque::from([(
            agent::OSINFO.to_string(),
            Err("Guest agent is not responding: QEMU guest agent is not connected".to_string()),
        )]),
        0,
    );
    let e = agent::look(&mut s).expect_err("no agent");
    assert!(matches!(e, CannotCheck::Agent { .. }));
    assert!(
        e.words("x")
            .starts_with("cannot check: the guest agent did not answer guest-get-osinfo"),
        "{}",
        e.words("x")
    );
    // A program that never exits is given up on after EXEC_POLLS questions.
    let mut replies = VecDeque::from([(Program::Lspci.exec(), ok(r#"{"return": {"pid": 9}}"#))]);
    for _ in 0..agent::EXEC_POLLS {
        replies.push_back((
            agent::exec_status(9),
            ok(r#"{"return": {"exited": false}}"#),
        ));
    }
    let mut s = Script(replies, 0);
    assert_eq!(
        agent::run(&mut s, Program::Lspci),
        Err(CannotCheck::TimedOut {
            what: "lspci -nnk".into()
        })
    );
    assert!(CannotCheck::NoChannel
        .words("passagectl vm edit w --guest-agent on")
        .contains("passagectl vm edit w --guest-agent on"));
}

#[test]
fn only_read_only_programs_run() {
    // Passage runs these and nothing else in a guest: listings, no writes.
    assert!(Program::Lspci.exec().contains(r#""arg":["-nnk"]"#));
    let ps = Program::PnpQuery.exec();
    for verb in [
        "Set-", "Remove-", "New-", "Invoke-", "Start-", "Stop-", "Disable-", "Enable-",
    ] {
        assert!(
            !agent::PNP_QUERY.contains(verb),
            "{verb} in the PowerShell query"
        );
    }
    assert!(ps.contains("Get-CimInstance -ClassName Win32_PnPEntity"));
}

#[test]
fn the_test_beds_real_guest_output() {
    // No pci.ids in that guest: `Class [0300]: Device [1234:1111]`.
    let l = guest_text::lspci_nnk(&data("lspci-nnk-testbed.txt"));
    let vga = l.iter().find(|d| (d.vendor, d.device) == (0x1234, 0x1111));
    assert_eq!(vga.and_then(|d| d.driver.as_deref()), Some("bochs-drm"));
    let hda = l.iter().find(|d| (d.vendor, d.device) == (0x8086, 0x293e));
    assert_eq!(hda.and_then(|d| d.driver.as_deref()), Some("snd_hda_intel"));
    assert_eq!(l.len(), 7);
    let (os, name) = agent::os(&data("testbed-osinfo.json")).expect("osinfo");
    assert_eq!(
        (os, name.as_deref()),
        (GuestOs::Linux, Some("Linux 6.1.0-50-amd64"))
    );
}

#[test]
fn code_43_walks_the_rom_file_the_vm_gives_the_card() {
    let (dir, h) = host();
    let roms = dir.path().join("roms");
    std::fs::create_dir_all(&roms).expect("mkdir");
    std::fs::write(
        roms.join("legacy.rom"),
        passage_fixtures::rom::legacy_only(),
    )
    .expect("rom");
    std::fs::write(
        roms.join("uefi.rom"),
        passage_fixtures::rom::legacy_and_uefi(),
    )
    .expect("rom");
    let root = Root::new(dir.path()).expect("root");
    let view = windows("win-pnp-code43.json");
    let with = |file: &str| {
        let xml = domain(MASKED).replacen(
            "</source></hostdev>",
            &format!("</source><rom file='{file}'/></hostdev>"),
            1,
        );
        let mut t = Target::read(&xml, &h).expect("target");
        t.walk_roms(&root);
        t.judge(&view).lines().join("\n")
    };
    let text = with("/roms/legacy.rom");
    assert!(
        text.contains(
            "The card's ROM file /roms/legacy.rom: It has no UEFI image, only legacy x86 code"
        ),
        "{text}"
    );
    let text = with("/roms/uefi.rom");
    assert!(
        text.contains(
            "The card's ROM file /roms/uefi.rom has an x64 UEFI (GOP) image: not the cause."
        ),
        "{text}"
    );
    let text = with("/roms/gone.rom");
    assert!(
        text.contains("check that it has a UEFI (GOP) image with passagectl rom /roms/gone.rom"),
        "{text}"
    );
}
