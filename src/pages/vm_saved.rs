//! After *Edit…*'s Save, on the VM's page until dismissed: what changed now (a running VM's
//! discs), what applies from its next start, the disk images made, and Host setup's part when
//! hugepages are reserved at boot.

use passage_core::i18n::{tr, tr_f};
use passage_core::plan::Intent;
use passage_core::vm::settings::{Change, Edited};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::row;
use super::vm_detail::{Output, VmDetail};

fn words(list: &[Change]) -> String {
    list.iter()
        .map(|c| c.words())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn group(
    e: &Edited,
    sender: &ComponentSender<VmDetail>,
    dismiss: impl Fn() + 'static,
) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_widget_name("edit-summary");
    g.set_title(&tr("Settings Saved"));
    g.set_header_suffix(Some(&super::problem::dismiss_button(
        &tr("Dismiss this summary"),
        dismiss,
    )));
    if e.now.is_empty() && e.at_next_start.is_empty() {
        g.add(&row(&tr("Nothing changed"), ""));
    }
    if !e.now.is_empty() {
        let r = row(
            &tr_f("Changed now: {what}", &[("what", &words(&e.now))]),
            &tr("The running VM has it, and so does its definition."),
        );
        r.set_widget_name("edit-now");
        g.add(&r);
    }
    if !e.at_next_start.is_empty() {
        let r = row(
            &tr_f(
                "From the next start: {what}",
                &[("what", &words(&e.at_next_start))],
            ),
            &tr("libvirt keeps the new definition; a running VM goes on as it is until it stops."),
        );
        r.set_widget_name("edit-next-start");
        g.add(&r);
    }
    for v in &e.new_volumes {
        g.add(&row(
            &tr_f(
                "New disk image {volume} ({gib} GiB)",
                &[("volume", &v.volume), ("gib", &v.gib.to_string())],
            ),
            &tr_f("In libvirt's pool {pool}.", &[("pool", &v.pool)]),
        ));
    }
    if let Some(Intent::KernelArguments { add, .. }) = &e.host_setup {
        let r = row(
            &tr("Host setup reserves the hugepages at boot"),
            &tr_f(
                "Its plan adds {arg}: apply it on Host setup, then restart this computer.",
                &[("arg", &add.join(" "))],
            ),
        );
        let b = gtk::Button::with_label(&tr("Open Host Setup"));
        b.set_widget_name("saved-open-setup");
        b.set_valign(gtk::Align::Center);
        let s = sender.clone();
        b.connect_clicked(move |_| {
            let _ = s.output(Output::OpenSetup);
        });
        r.add_suffix(&b);
        g.add(&r);
    }
    g
}
