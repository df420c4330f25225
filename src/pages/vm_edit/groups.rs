//! The Edit… view's groups: memory and CPUs (with hugepages and why), disks, the install and
//! driver discs, firmware, boot order and display.

use passage_core::host::Host;
use passage_core::i18n::{tr, tr_f};
use passage_core::vm::hugepages::{self, HugepageMode};
use passage_core::vm::Domain;
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk;

use super::form::{Field, Form};
use super::rows::{button, combo, group, iso, spin, switch, when, with_when, Sender};
use super::Input;
use crate::pages::row;

/// What the rows need: the form, the domain, the host and whether the VM runs.
pub struct Cx<'a> {
    pub form: &'a Form,
    pub domain: &'a Domain,
    pub host: &'a Host,
    pub running: bool,
    pub s: &'a Sender,
}

const MODES: [HugepageMode; 3] = [
    HugepageMode::AtStart,
    HugepageMode::AtBoot,
    HugepageMode::Off,
];

pub fn resources(cx: &Cx) -> adw::PreferencesGroup {
    let (f, host, later) = (cx.form, cx.host, when(cx.running, false));
    let g = group(&tr("Memory and CPUs"), "");
    let total = host.memory.total_kib / 1024 / 1024;
    let cpus = host.cpu.logical_cpus.len() as u64;
    let has = tr_f("This computer has {n} GiB.", &[("n", &total.to_string())]);
    g.add(&spin(
        cx.s,
        (&tr("Memory (GiB)"), &with_when(&has, &later), "edit-memory"),
        (f.memory_gib, 1, 4096),
        Field::MemoryGib,
    ));
    let has = tr_f(
        "This computer has {n} logical CPUs ({cores} cores).",
        &[
            ("n", &cpus.to_string()),
            ("cores", &host.cpu.cores.to_string()),
        ],
    );
    g.add(&spin(
        cx.s,
        (&tr("CPUs"), &with_when(&has, &later), "edit-vcpus"),
        (u64::from(f.vcpus), 1, 1024),
        |n| Field::Vcpus(u32::try_from(n).unwrap_or(u32::MAX)),
    ));
    g.add(&switch(
        cx.s,
        (
            &tr("Pin to Whole Cores"),
            &with_when(
                &tr("Each vCPU on a core of its own, away from the host's first core."),
                &later,
            ),
            "edit-pin",
        ),
        f.pin,
        Field::Pin,
    ));
    let words = [tr("At start"), tr("At boot"), tr("Off")];
    let at = MODES.iter().position(|m| *m == f.hugepages).unwrap_or(2) as u32;
    g.add(&combo(
        cx.s,
        (&tr("Hugepages"), &hugepages_why(cx), "edit-hugepages"),
        &words,
        at,
        |i| Field::Hugepages(MODES.get(i as usize).copied().unwrap_or(HugepageMode::Off)),
    ));
    if f.hugepages == HugepageMode::AtBoot {
        let r = row(
            &tr("Host setup will reserve them"),
            &tr("Its plan adds the kernel argument that reserves them at every boot; apply it there after saving."),
        );
        r.set_widget_name("edit-host-setup");
        r.add_suffix(&button(
            cx.s,
            &tr("Open Host Setup"),
            "edit-open-setup",
            || Input::OpenSetup,
        ));
        g.add(&r);
    }
    g
}

/// Under the hugepage choice: who reserves them for the memory set now, or why they are off.
pub fn hugepages_why(cx: &Cx) -> String {
    let why = hugepages::why(cx.host, cx.form.hugepages, cx.form.memory_gib);
    with_when(&why, &when(cx.running, false))
}

pub fn disks(cx: &Cx) -> adw::PreferencesGroup {
    let g = group(&tr("Disks"), &when(cx.running, false));
    for d in &cx.domain.disks {
        let Some(target) = d.target.clone() else {
            continue;
        };
        let gone = cx.form.remove.contains(&target);
        let sub = if gone {
            tr("Taken out when you save; its image is kept.")
        } else {
            target.clone()
        };
        let r = row(d.source.as_deref().unwrap_or(&target), &sub);
        let t = gtk::ToggleButton::with_label(&tr("Remove"));
        t.set_active(gone);
        t.set_valign(gtk::Align::Center);
        t.set_widget_name(&format!("edit-remove-{target}"));
        crate::a11y::name(
            &t,
            &tr_f("Remove the disk {target}", &[("target", &target)]),
        );
        let s = cx.s.clone();
        t.connect_toggled(move |t| {
            s.input(Input::Set(Field::RemoveDisk(target.clone(), t.is_active())))
        });
        r.add_suffix(&t);
        g.add(&r);
    }
    for (i, n) in cx.form.add.iter().enumerate() {
        let r = spin(
            cx.s,
            (
                &tr("New Disk Image (GiB)"),
                &tr("Made in libvirt's pool when you save."),
                &format!("edit-new-disk-{i}"),
            ),
            (n.gib, 1, 65536),
            move |gib| Field::NewDiskGib(i, gib),
        );
        let drop = button(
            cx.s,
            &tr("Remove"),
            &format!("edit-drop-disk-{i}"),
            move || Input::Set(Field::DropNewDisk(i)),
        );
        r.add_suffix(&drop);
        g.add(&r);
    }
    let add = button(cx.s, &tr("Add a Disk Image"), "edit-add-disk", || {
        Input::Set(Field::AddDisk(64))
    });
    add.add_css_class("flat");
    g.set_header_suffix(Some(&add));
    g
}

pub fn discs(cx: &Cx) -> adw::PreferencesGroup {
    let g = group(&tr("Install and Driver Discs"), &when(cx.running, true));
    let now = when(cx.running, true);
    g.add(&iso(
        cx.s,
        (&tr("Install ISO"), "edit-install-iso"),
        &cx.form.install_iso,
        &now,
        Field::InstallIso,
    ));
    g.add(&iso(
        cx.s,
        (&tr("Driver ISO"), "edit-virtio-iso"),
        &cx.form.virtio_iso,
        &now,
        Field::VirtioIso,
    ));
    g
}

pub fn firmware(cx: &Cx) -> adw::PreferencesGroup {
    let (f, later) = (cx.form, when(cx.running, false));
    let g = group(&tr("Firmware, Start and Display"), "");
    let uefi = cx.domain.firmware.kind == "efi";
    let sb = switch(
        cx.s,
        (
            &tr("Secure Boot"),
            &with_when(
                &if uefi {
                    tr("Windows 11 asks for it.")
                } else {
                    tr("Only with UEFI firmware, which this VM does not have.")
                },
                &later,
            ),
            "edit-secure-boot",
        ),
        f.secure_boot,
        Field::SecureBoot,
    );
    sb.set_sensitive(uefi);
    g.add(&sb);
    g.add(&switch(
        cx.s,
        (
            &tr("TPM 2.0"),
            &with_when(&tr("An emulated TPM (swtpm)."), &later),
            "edit-tpm",
        ),
        f.tpm,
        Field::Tpm,
    ));
    g.add(&combo(
        cx.s,
        (&tr("Starts From"), &later, "edit-boot"),
        &[
            tr("The disk, then the install ISO"),
            tr("The install ISO, then the disk"),
        ],
        u32::from(f.iso_first),
        |i| Field::IsoFirst(i == 1),
    ));
    g.add(&switch(
        cx.s,
        (
            &tr("SPICE Display"),
            &with_when(&tr("A window on this computer (Open Display)."), &later),
            "edit-spice",
        ),
        f.spice,
        Field::Spice,
    ));
    g.add(&switch(
        cx.s,
        (
            &tr("Guest Agent Channel"),
            &with_when(
                &tr("The QEMU guest agent's port: the VM page shows whether the agent answers."),
                &later,
            ),
            "edit-guest-agent",
        ),
        f.guest_agent,
        Field::GuestAgent,
    ));
    let s = cx.s.clone();
    for r in crate::pages::lg_rows::rows("edit", f.looking_glass, f.lg_backing, move |m| {
        s.input(Input::Changed(Field::LookingGlass(m)))
    }) {
        g.add(&r);
    }
    g
}

/// The graphics card's ROM: its own, a ROM file (walked as it is given; the helper places it
/// for QEMU when the edit is saved), or none shown to the guest.
pub fn rom(cx: &Cx) -> adw::PreferencesGroup {
    let (f, later) = (cx.form, when(cx.running, false));
    let card = f
        .rom_card
        .map(|a| cx.host.card_label(a))
        .unwrap_or_default();
    let g = group(
        &tr("The Card's ROM"),
        &tr_f(
            "{card}: a UEFI VM shows its screen at boot only with an x64 UEFI image in its ROM.",
            &[("card", &card)],
        ),
    );
    g.set_widget_name("edit-rom");
    g.add(&super::rows::file_entry(
        cx.s,
        (
            &tr("ROM file (empty: the card's own)"),
            "edit-rom-file",
            crate::pages::chooser::Kind::Rom,
        ),
        &f.rom_file,
        &later,
        Field::RomFile,
    ));
    if let Some(note) = crate::pages::vm_rom::file_note(&f.rom_file) {
        g.add(&row(&note, ""));
    }
    g.add(&switch(
        cx.s,
        (
            &tr("Show the Guest a ROM"),
            &with_when(
                &tr("Off: the guest sees no ROM of the card's (the ROM BAR off)."),
                &later,
            ),
            "edit-rom-bar",
        ),
        f.rom_bar,
        Field::RomBar,
    ));
    g
}
