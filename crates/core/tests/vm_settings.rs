//! The settings editor (`vm::settings`) over every domain of the shared corpus of users' own
//! passthrough domains (/work/shared/corpora/user-domains, 80 published definitions): each edit
//! is there afterwards, every byte outside the edited elements is unchanged, and libvirt's
//! schema still holds; where a domain cannot take an edit it is refused with words.

mod common;

use passage_core::vm::domain::GuestAgent;
use passage_core::vm::draft::BootItem;
use passage_core::vm::hugepages::HugepageMode;
use passage_core::vm::looking_glass::{Backing, LookingGlass, Monitor};
use passage_core::vm::settings::{edit, Changes, Media, NewDisk, Settings};
use passage_core::vm::Domain;

fn corpus() -> Vec<(String, String)> {
    common::user_domains()
}

/// Whether libvirt's schema takes the domain as published (some users' files never were
/// valid; their edits are checked for bytes, not for the schema).
fn schema_ok(xml: &str) -> bool {
    common::validates(xml)
}

/// The document without the elements named in `tags` (each with its line).
fn without(xml: &str, tags: &[&str]) -> String {
    common::without_elements(xml, |n| tags.contains(&n.tag_name().name()))
}

fn monitor(s: &str) -> Monitor {
    Monitor::parse(s).expect("monitor")
}

struct Case {
    name: &'static str,
    changes: Changes,
    touched: &'static [&'static str],
    holds: fn(&Settings) -> bool,
}

fn cases() -> Vec<Case> {
    let c = Changes::default;
    vec![
        Case {
            name: "memory 6 GiB",
            changes: Changes {
                memory_gib: Some(6),
                ..c()
            },
            touched: &["memory", "currentMemory"],
            holds: |s| s.memory_mib == Some(6144),
        },
        Case {
            name: "4 vCPUs",
            changes: Changes {
                vcpus: Some(4),
                ..c()
            },
            touched: &["vcpu", "vcpupin", "topology"],
            holds: |s| s.vcpus == Some(4),
        },
        Case {
            name: "hugepages at start",
            changes: Changes {
                hugepages: Some(HugepageMode::AtStart),
                ..c()
            },
            touched: &["memoryBacking", "metadata"],
            holds: |s| s.hugepages == HugepageMode::AtStart,
        },
        Case {
            name: "hugepages off",
            changes: Changes {
                hugepages: Some(HugepageMode::Off),
                ..c()
            },
            touched: &["memoryBacking", "metadata"],
            holds: |s| s.hugepages == HugepageMode::Off,
        },
        Case {
            name: "install ISO",
            changes: Changes {
                install_iso: Some(Media::Insert("/srv/iso/Win11 & more.iso".into())),
                ..c()
            },
            touched: &["disk"],
            holds: |s| s.install_iso.as_deref() == Some("/srv/iso/Win11 & more.iso"),
        },
        Case {
            name: "eject",
            changes: Changes {
                install_iso: Some(Media::Eject),
                ..c()
            },
            touched: &["disk"],
            holds: |s| s.install_iso.is_none(),
        },
        Case {
            name: "driver ISO",
            changes: Changes {
                virtio_iso: Some(Media::Insert("/srv/iso/virtio-win.iso".into())),
                ..c()
            },
            touched: &["disk"],
            holds: |s| s.virtio_iso.as_deref() == Some("/srv/iso/virtio-win.iso"),
        },
        Case {
            name: "Secure Boot on",
            changes: Changes {
                secure_boot: Some(true),
                ..c()
            },
            touched: &["os", "features"],
            holds: |s| s.secure_boot,
        },
        Case {
            name: "Secure Boot off",
            changes: Changes {
                secure_boot: Some(false),
                ..c()
            },
            touched: &["os", "features"],
            holds: |s| !s.secure_boot,
        },
        Case {
            name: "TPM on",
            changes: Changes {
                tpm: Some(true),
                ..c()
            },
            touched: &["tpm"],
            holds: |s| s.tpm,
        },
        Case {
            name: "TPM off",
            changes: Changes {
                tpm: Some(false),
                ..c()
            },
            touched: &["tpm"],
            holds: |s| !s.tpm,
        },
        Case {
            name: "SPICE on",
            changes: Changes {
                spice: Some(true),
                ..c()
            },
            touched: &["graphics", "channel", "video", "redirdev", "audio"],
            holds: |s| s.spice,
        },
        Case {
            name: "SPICE off",
            changes: Changes {
                spice: Some(false),
                ..c()
            },
            touched: &["graphics", "channel", "video", "redirdev", "audio"],
            holds: |s| !s.spice,
        },
        Case {
            name: "guest agent channel on",
            changes: Changes {
                guest_agent: Some(true),
                ..c()
            },
            touched: &["channel"],
            holds: |s| s.guest_agent,
        },
        Case {
            name: "guest agent channel off",
            changes: Changes {
                guest_agent: Some(false),
                ..c()
            },
            touched: &["channel"],
            holds: |s| !s.guest_agent,
        },
        Case {
            name: "Looking Glass on /dev/shm, 64 MiB",
            changes: Changes {
                looking_glass: Some(Some((monitor("2560x1440"), Backing::Shm))),
                ..c()
            },
            touched: &["shmem", "commandline", "metadata"],
            holds: |s| {
                s.looking_glass
                    == Some(LookingGlass {
                        mib: Some(64),
                        backing: Backing::Shm,
                        monitor: Some(monitor("2560x1440")),
                    })
            },
        },
        Case {
            name: "Looking Glass off",
            changes: Changes {
                looking_glass: Some(None),
                ..c()
            },
            touched: &["shmem", "commandline", "arg", "metadata"],
            holds: |s| s.looking_glass.is_none(),
        },
        Case {
            name: "a new disk",
            changes: Changes {
                add_disks: vec![NewDisk {
                    gib: 64,
                    raw: false,
                }],
                ..c()
            },
            touched: &["disk"],
            holds: |s| {
                s.disks.iter().any(|d| {
                    d.r#type == "volume"
                        && d.source
                            .as_deref()
                            .is_some_and(|v| v.starts_with("default/") && v.ends_with(".qcow2"))
                })
            },
        },
        Case {
            name: "boot disk",
            changes: Changes {
                boot: Some(vec![BootItem::Disk]),
                ..c()
            },
            touched: &["os", "disk"],
            holds: |s| s.disks.iter().any(|d| d.boot_order == Some(1)),
        },
        Case {
            name: "boot iso, disk",
            changes: Changes {
                boot: Some(vec![BootItem::InstallIso, BootItem::Disk]),
                ..c()
            },
            touched: &["os", "disk"],
            holds: |s| s.disks.iter().any(|d| d.boot_order == Some(2)),
        },
    ]
}

#[test]
fn every_edit_on_every_users_domain_is_there_keeps_every_other_byte_and_validates() {
    let domains = corpus();
    let mut report = vec![];
    let mut invalid_before = 0;
    for case in cases() {
        let (mut applied, mut refused) = (0, 0);
        for (name, xml) in &domains {
            let schema_before = schema_ok(xml);
            match edit(xml, &case.changes, false) {
                Ok(e) => {
                    applied += 1;
                    let s = Settings::of(&Domain::read(&e.xml).expect("reads"));
                    assert!((case.holds)(&s), "{name}, {}: not there: {s:?}", case.name);
                    assert_eq!(
                        without(xml, case.touched),
                        without(&e.xml, case.touched),
                        "{name}, {}: bytes outside {:?} changed",
                        case.name,
                        case.touched
                    );
                    if schema_before {
                        common::valid(&e.xml);
                    } else {
                        invalid_before += 1;
                    }
                    assert!(
                        e.now.is_empty(),
                        "a VM that is off takes everything at its next start"
                    );
                }
                Err(e) => {
                    refused += 1;
                    assert!(
                        e.why.len() > 20,
                        "{name}, {}: refused without words: {e}",
                        case.name
                    );
                }
            }
        }
        report.push(format!(
            "{}: {applied} applied, {refused} refused",
            case.name
        ));
        assert!(applied > 0, "{}: applied to no domain", case.name);
    }
    eprintln!(
        "{}\n(edits on domains libvirt's schema rejected before: {invalid_before})",
        report.join("\n")
    );
}

#[test]
fn secure_boot_is_refused_on_i440fx_and_bios_domains_with_words() {
    let domains = corpus();
    for (name, xml) in &domains {
        let d = Domain::read(xml).expect("reads");
        let q35 = d.machine.as_deref().is_some_and(|m| m.contains("q35"));
        if !q35 || d.firmware.kind != "efi" {
            let e = edit(
                xml,
                &Changes {
                    secure_boot: Some(true),
                    ..Changes::default()
                },
                false,
            )
            .expect_err(name);
            assert!(e.why.contains("Secure Boot"), "{name}: {e}");
        }
    }
}

#[test]
fn a_running_vm_takes_a_cd_change_now_and_the_rest_at_its_next_start() {
    let (name, xml) = corpus()
        .into_iter()
        .find(|(_, x)| {
            Settings::of(&Domain::read(x).expect("d"))
                .install_iso
                .is_some()
        })
        .expect("a domain with an install ISO");
    let c = Changes {
        memory_gib: Some(8),
        install_iso: Some(Media::Insert("/srv/iso/new.iso".into())),
        ..Changes::default()
    };
    let e = edit(&xml, &c, true).unwrap_or_else(|e| panic!("{name}: {e}"));
    use passage_core::vm::settings::Change;
    assert_eq!(e.now, vec![Change::InstallIso]);
    assert_eq!(e.at_next_start, vec![Change::Memory]);
    assert_eq!(e.live_media.len(), 1);
    let m = &e.live_media[0];
    let el = roxmltree::Document::parse(&m.element).expect("an element");
    assert!(el.root_element().has_tag_name("disk"));
    assert_eq!(el.root_element().attribute("device"), Some("cdrom"));
    assert!(
        m.element.contains("<source file='/srv/iso/new.iso'/>"),
        "{}",
        m.element
    );
    assert!(e.xml.contains(&m.element));
}

#[test]
fn the_checker_sees_a_byte_changed_outside_the_edited_elements() {
    let (_, xml) = corpus().remove(0);
    let changed = xml.replacen("<name>", "<name>x", 1);
    assert_ne!(without(&xml, &["memory"]), without(&changed, &["memory"]));
    assert_eq!(without(&xml, &["name"]), without(&changed, &["name"]));
}

#[test]
fn a_disk_taken_out_leaves_every_other_byte_and_its_image_is_not_the_editors_to_delete() {
    let mut taken = 0;
    for (name, xml) in corpus() {
        let before = Settings::of(&Domain::read(&xml).expect("d"));
        let Some(t) = before.disks.iter().find_map(|d| d.target.clone()) else {
            continue;
        };
        let c = Changes {
            remove_disks: vec![t.clone()],
            ..Changes::default()
        };
        let e = edit(&xml, &c, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = Settings::of(&Domain::read(&e.xml).expect("d"));
        assert_eq!(after.disks.len() + 1, before.disks.len(), "{name}");
        assert!(!after
            .disks
            .iter()
            .any(|d| d.target.as_deref() == Some(t.as_str())));
        assert_eq!(
            without(&xml, &["disk"]),
            without(&e.xml, &["disk"]),
            "{name}"
        );
        assert!(e.new_volumes.is_empty());
        if schema_ok(&xml) {
            common::valid(&e.xml);
        }
        taken += 1;
    }
    assert!(taken > 60, "only {taken} domains had a disk");
    let (_, xml) = corpus().remove(0);
    let e = edit(
        &xml,
        &Changes {
            remove_disks: vec!["vdz".into()],
            ..Changes::default()
        },
        false,
    )
    .expect_err("no such disk");
    assert!(e.why.contains("no disk vdz"), "{e}");
}

#[test]
fn a_new_disk_names_the_image_to_create_and_its_size_is_the_wizards_rule() {
    let (_, xml) = corpus().remove(0);
    let d = Domain::read(&xml).expect("d");
    let c = Changes {
        add_disks: vec![NewDisk { gib: 64, raw: true }],
        ..Changes::default()
    };
    let e = edit(&xml, &c, true).expect("edit");
    assert_eq!(e.new_volumes.len(), 1);
    let v = &e.new_volumes[0];
    assert_eq!((v.pool.as_str(), v.gib, v.raw), ("default", 64, true));
    assert!(
        v.volume.starts_with(&format!("{}-vd", d.name)) && v.volume.ends_with(".img"),
        "{}",
        v.volume
    );
    assert!(e.now.is_empty(), "a disk waits for the next start");
    let dir = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", dir.path()).expect("fixture");
    let host = passage_core::Host::scan(&passage_core::Root::new(dir.path()).expect("root"));
    let too_big = Changes {
        add_disks: vec![NewDisk {
            gib: 100_000,
            raw: false,
        }],
        ..Changes::default()
    };
    let e = passage_core::vm::settings::check(&host, &too_big).expect_err("too big");
    assert!(e.why.contains("between 1 GiB and 64 TiB"), "{e}");
}

#[test]
fn pinning_by_the_wizards_plan_or_none_keeps_every_other_byte() {
    use passage_core::vm::settings::Pinning;
    let dir = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", dir.path()).expect("fixture");
    let host = passage_core::Host::scan(&passage_core::Root::new(dir.path()).expect("root"));
    let plan = Pinning::suggest(&host, 4).expect("the X570 can spare 4");
    let Pinning::To(p) = &plan else {
        panic!("a plan")
    };
    let (mut pinned, mut refused) = (0, 0);
    for (name, xml) in corpus() {
        let c = Changes {
            vcpus: Some(4),
            pinning: Some(plan.clone()),
            ..Changes::default()
        };
        match edit(&xml, &c, false) {
            Ok(e) => {
                let s = Settings::of(&Domain::read(&e.xml).expect("d"));
                let want: Vec<(u32, String)> = p
                    .vcpu_pins
                    .iter()
                    .map(|(v, c)| (*v, c.to_string()))
                    .collect();
                assert_eq!(s.vcpu_pins, want, "{name}");
                assert!(e
                    .xml
                    .contains(&format!("<emulatorpin cpuset='{}'/>", p.emulator_cpuset)));
                let cut = ["vcpu", "cputune", "topology"];
                assert_eq!(without(&xml, &cut), without(&e.xml, &cut), "{name}");
                if schema_ok(&xml) {
                    common::valid(&e.xml);
                }
                let off = Changes {
                    pinning: Some(Pinning::Off),
                    ..Changes::default()
                };
                let e = edit(&e.xml, &off, false).expect("unpin");
                assert!(Settings::of(&Domain::read(&e.xml).expect("d"))
                    .vcpu_pins
                    .is_empty());
                pinned += 1;
            }
            Err(e) => {
                assert!(e.why.len() > 20, "{name}: {e}");
                refused += 1;
            }
        }
    }
    eprintln!("pinning: {pinned} pinned, {refused} refused");
    assert!(pinned > 60);
    assert!(Pinning::suggest(&host, 1000).is_err());
}

/// libvirt's live XML of a running domain with the agent's channel (libvirt's test data, see
/// tests/data/libvirt/README.md): the target's `state` says whether the guest's agent has the
/// port open; a definition has no state, and a domain without the channel says so.
#[test]
fn the_guest_agent_is_read_from_the_channels_state_libvirt_writes() {
    let live = include_str!("data/libvirt/status-modern-guest-agent.xml");
    let read = |xml: &str| Domain::read(xml).expect("reads").guest_agent;
    assert_eq!(read(live), GuestAgent::NotAnswering);
    let target = "name='org.qemu.guest_agent.0' state='disconnected'";
    assert!(live.contains(target));
    let connected = live.replace(target, "name='org.qemu.guest_agent.0' state='connected'");
    assert_eq!(read(&connected), GuestAgent::Answering);
    let defined = live.replace(target, "name='org.qemu.guest_agent.0'");
    assert_eq!(read(&defined), GuestAgent::Unknown);
    // SPICE's channel has a state too, and is not the agent's.
    let spice_only = common::without_elements(live, |n| {
        n.has_tag_name("channel") && n.attribute("type") == Some("unix")
    });
    assert!(spice_only.contains("com.redhat.spice.0' state='disconnected'"));
    assert_eq!(read(&spice_only), GuestAgent::NoChannel);
}

#[test]
fn the_agent_channel_added_is_libvirts_form_and_a_second_edit_changes_nothing() {
    let live = include_str!("data/libvirt/status-modern-guest-agent.xml");
    let none = common::without_elements(live, |n| {
        n.has_tag_name("channel") && n.attribute("type") == Some("unix")
    });
    let on = Changes {
        guest_agent: Some(true),
        ..Changes::default()
    };
    let e = edit(&none, &on, false).expect("adds");
    assert!(
        e.xml.contains("    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n  </devices>"),
        "{}",
        e.xml
    );
    assert_eq!(
        Domain::read(&e.xml).expect("reads").guest_agent,
        GuestAgent::Unknown
    );
    // One already there (libvirt's, with its socket and state) is kept as it is.
    assert_eq!(edit(live, &on, false).expect("kept").xml, live);
}
