//! Looking Glass's device in users' own domains (the shared corpus,
//! /work/shared/corpora/user-domains): on /dev/shm as libvirt's `<shmem>`, on the kvmfr
//! module's device as QEMU arguments with libvirt's QEMU namespace, each in Looking Glass's
//! documented form, byte-for-byte beside it, valid by libvirt's schema, and taken out again to
//! the bytes the domain had.

mod common;

use passage_core::vm::looking_glass::{Backing, LookingGlass, Monitor, QEMU_NS};
use passage_core::vm::settings::{edit, Changes};
use passage_core::vm::Domain;

fn corpus() -> Vec<(String, String)> {
    common::user_domains()
}

/// The change for a monitor of `res` on `backing` (`None`: off).
fn lg(want: Option<(&str, Backing)>) -> Changes {
    Changes {
        looking_glass: Some(want.map(|(r, b)| (Monitor::parse(r).expect("monitor"), b))),
        ..Changes::default()
    }
}

fn without_lg(xml: &str) -> String {
    common::without_elements(xml, |n| {
        n.has_tag_name("shmem")
            || n.has_tag_name("metadata")
            || n.tag_name().namespace() == Some(QEMU_NS)
    })
    .replace(&format!(" xmlns:qemu='{QEMU_NS}'"), "")
}

/// The domains without a Looking Glass device or QEMU arguments of their own.
fn plain() -> Vec<(String, String)> {
    corpus()
        .into_iter()
        .filter(|(_, x)| !x.contains("shmem") && !x.contains("qemu:commandline"))
        .collect()
}

#[test]
fn shmem_is_looking_glass_s_form_and_off_gives_back_every_byte() {
    let mut n = 0;
    for (name, xml) in plain() {
        let e = edit(&xml, &lg(Some(("1920x1080", Backing::Shm))), false).expect(&name);
        assert!(
            e.xml.contains("<shmem name='looking-glass'>")
                && e.xml.contains("<model type='ivshmem-plain'/>")
                && e.xml.contains("<size unit='M'>32</size>"),
            "{name}: {}",
            e.xml
        );
        assert_eq!(without_lg(&xml), without_lg(&e.xml), "{name}");
        if common::validates(&xml) {
            common::valid(&e.xml);
            n += 1;
        }
        let off = edit(&e.xml, &lg(None), false).expect("off");
        assert_eq!(off.xml, xml, "{name}: off is not the domain it was");
        // The same again changes nothing.
        assert_eq!(
            edit(&e.xml, &lg(Some(("1920x1080", Backing::Shm))), false)
                .expect("again")
                .xml,
            e.xml
        );
    }
    assert!(n >= 20, "validated {n} domains");
}

#[test]
fn kvmfr_is_qemu_arguments_with_the_namespace_and_off_gives_back_every_byte() {
    let mut n = 0;
    for (name, xml) in plain() {
        let e = edit(&xml, &lg(Some(("3840x2160", Backing::Kvmfr))), false).expect(&name);
        for want in [
            "xmlns:qemu=",
            "<qemu:arg value='-device'/>",
            r#"<qemu:arg value='{"driver":"ivshmem-plain","id":"shmem-lg","memdev":"looking-glass"}'/>"#,
            "<qemu:arg value='-object'/>",
            r#"<qemu:arg value='{"qom-type":"memory-backend-file","id":"looking-glass","mem-path":"/dev/kvmfr0","size":134217728,"share":true}'/>"#,
        ] {
            assert!(e.xml.contains(want), "{name}: no {want}\n{}", e.xml);
        }
        assert_eq!(without_lg(&xml), without_lg(&e.xml), "{name}");
        let d = Domain::read(&e.xml).expect("reads");
        assert_eq!(
            d.looking_glass,
            Some(LookingGlass {
                mib: Some(128),
                backing: Backing::Kvmfr,
                monitor: Some(Monitor::parse("3840x2160").expect("m")),
            })
        );
        if common::validates(&xml) {
            common::valid(&e.xml);
            n += 1;
        }
        // Off takes the arguments and their command line; the namespace declaration stays.
        let off = edit(&e.xml, &lg(None), false).expect("off");
        assert_eq!(without_lg(&off.xml), without_lg(&xml), "{name}");
        assert!(!off.xml.contains("qemu:commandline"), "{name}");
        // From kvmfr to /dev/shm: one device, never both.
        let shm = edit(&e.xml, &lg(Some(("3840x2160", Backing::Shm))), false).expect("shm");
        assert!(
            !shm.xml.contains("kvmfr") && shm.xml.contains("<shmem"),
            "{name}"
        );
    }
    assert!(n >= 20, "validated {n} domains");
}

#[test]
fn a_command_line_of_the_user_s_own_keeps_its_other_arguments() {
    let (name, xml) = plain().into_iter().next().expect("a domain");
    let own = xml.replacen("<domain ", &format!("<domain xmlns:qemu='{QEMU_NS}' "), 1);
    let own = own.replace(
        "</domain>",
        "  <qemu:commandline>\n    <qemu:arg value='-smbios'/>\n    <qemu:arg value='type=2'/>\n  </qemu:commandline>\n</domain>",
    );
    let e = edit(&own, &lg(Some(("2560x1440", Backing::Kvmfr))), false).expect(&name);
    assert_eq!(e.xml.matches("<qemu:commandline>").count(), 1, "{}", e.xml);
    assert_eq!(e.xml.matches("xmlns:qemu=").count(), 1, "{}", e.xml);
    assert!(
        e.xml
            .contains("    <qemu:arg value='type=2'/>\n    <qemu:arg value='-device'/>\n"),
        "{}",
        e.xml
    );
    common::valid(&e.xml);
    let off = edit(&e.xml, &lg(None), false).expect("off");
    assert_eq!(off.xml, own);
}

#[test]
fn kvmfr_is_chosen_where_the_module_and_its_device_are_on_the_root() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = passage_core::Root::new(dir.path()).expect("root");
    assert_eq!(Backing::of(&root), Backing::Shm);
    std::fs::create_dir_all(dir.path().join("sys/module/kvmfr")).expect("mkdir");
    assert_eq!(Backing::of(&root), Backing::Shm, "no /dev/kvmfr0 yet");
    std::fs::create_dir_all(dir.path().join("dev")).expect("mkdir");
    std::fs::write(dir.path().join("dev/kvmfr0"), "").expect("dev");
    assert_eq!(Backing::of(&root), Backing::Kvmfr);
}
