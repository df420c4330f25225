//! Storage: a new image in libvirt's default pool, an existing image, or none.

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::rows::{choose_button, group, set};
use super::step::Cx;
use crate::pages::chooser::Kind;
use crate::pages::row;
use crate::wizard::{Choice, Storage, POOL, POOL_PATH};

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let d = cx.d;
    let g = group(
        &tr("The VM's disk"),
        &tr_f(
            "New images go to libvirt's “{pool}” pool ({path}).",
            &[("pool", POOL), ("path", POOL_PATH)],
        ),
    );
    let new = crate::a11y::radio();
    let existing = crate::a11y::radio();
    existing.set_group(Some(&new));
    let none = crate::a11y::radio();
    none.set_group(Some(&new));
    let r = row(&tr("Create a new disk image"), &tr("qcow2 grows as the VM writes; raw takes all its space at once, for the steadiest speed."));
    r.add_prefix(&new);
    r.set_activatable_widget(Some(&new));
    g.add(&r);
    let (size, fmt) = new_image_rows(&g, &new, &d.storage);
    let path = match &d.storage {
        Storage::Existing { path } => path.clone(),
        _ => String::new(),
    };
    let e = adw::EntryRow::new();
    e.set_title(&tr("Use an existing disk image"));
    e.set_text(&path);
    e.add_prefix(&existing);
    e.set_widget_name("existing-image");
    e.add_suffix(&choose_button(
        &e,
        &tr("Use an existing disk image"),
        "existing-image",
        Kind::DiskImage,
    ));
    crate::a11y::name(&existing, &tr("Use an existing disk image"));
    crate::a11y::hide_decorations(e.upcast_ref());
    g.add(&e);
    let r = row(
        &tr("No disk"),
        &tr("For a VM that boots from a passed-through NVMe drive."),
    );
    r.add_prefix(&none);
    r.set_activatable_widget(Some(&none));
    g.add(&r);
    match d.storage {
        Storage::New { .. } => new.set_active(true),
        Storage::Existing { .. } => existing.set_active(true),
        Storage::None => none.set_active(true),
    }
    let send_new = {
        let (s, size, fmt, new) = (cx.sender.clone(), size.clone(), fmt.clone(), new.clone());
        move || {
            if new.is_active() {
                let gib = size.value() as u64;
                set(
                    &s,
                    Choice::Disk(Storage::New {
                        gib,
                        raw: fmt.selected() == 1,
                    }),
                );
            }
        }
    };
    let f1 = send_new.clone();
    new.connect_toggled(move |_| f1());
    let f2 = send_new.clone();
    size.connect_value_changed(move |_| f2());
    fmt.connect_selected_notify(move |_| send_new());
    let s = cx.sender.clone();
    let (e2, ex2) = (e.clone(), existing.clone());
    let send_existing = move || {
        let path = e2.text().to_string();
        if ex2.is_active() && !path.is_empty() {
            // A path is chosen as typed; Review says when it is not a full path.
            set(&s, Choice::Disk(Storage::Existing { path }));
        }
    };
    let f3 = send_existing.clone();
    existing.connect_toggled(move |_| f3());
    // Typing a path chooses it, as the bridge field does on Name and Network: the radio
    // itself is not a Tab stop while another one in its group is on.
    let ex3 = existing.clone();
    e.connect_changed(move |e| {
        if !e.text().is_empty() && !ex3.is_active() {
            ex3.set_active(true);
        } else {
            send_existing();
        }
    });
    let s = cx.sender.clone();
    none.connect_toggled(move |c| {
        if c.is_active() {
            set(&s, Choice::Disk(Storage::None));
        }
    });
    vec![g]
}

/// Size and format of a new image, on rows of their own (beside the title they would squeeze
/// it at 360 px), usable while "new" is chosen.
fn new_image_rows(
    g: &adw::PreferencesGroup,
    new: &gtk::CheckButton,
    storage: &Storage,
) -> (gtk::SpinButton, gtk::DropDown) {
    let (gib, raw) = match storage {
        Storage::New { gib, raw } => (*gib, *raw),
        _ => (128, false),
    };
    let size = gtk::SpinButton::with_range(1.0, 65536.0, 1.0);
    size.set_value(gib as f64);
    size.set_valign(gtk::Align::Center);
    size.set_widget_name("disk-size");
    crate::a11y::name(&size, &tr("Size of the new disk image in GiB"));
    let sr = row(&tr("Size (GiB)"), "");
    sr.add_suffix(&size);
    g.add(&sr);
    let fmt = gtk::DropDown::from_strings(&["qcow2", "raw"]);
    fmt.set_selected(u32::from(raw));
    fmt.set_valign(gtk::Align::Center);
    fmt.set_widget_name("disk-format");
    crate::a11y::name_control(fmt.upcast_ref(), &tr("Format of the new disk image"));
    let fr = row(&tr("Format"), "");
    fr.add_suffix(&fmt);
    g.add(&fr);
    new.bind_property("active", &sr, "sensitive")
        .sync_create()
        .build();
    new.bind_property("active", &fr, "sensitive")
        .sync_create()
        .build();
    (size, fmt)
}
