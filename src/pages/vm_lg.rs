//! The VM page's Looking Glass group, for a VM that has it: its shared memory in words and
//! *Open Looking Glass*, which starts the client on this VM's memory when the client is on
//! PATH; else where to get it (Debian 12 does not package it; its version must match the host
//! application in the guest).

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::looking_glass::{client_words, find_client, Backing, LookingGlass};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::row;
use super::vm_detail::{Input, VmDetail};

fn path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// The group for `lg`; on a remote host the client runs there, not here: said so.
pub fn group(lg: &LookingGlass, sender: &ComponentSender<VmDetail>) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Looking Glass"));
    g.set_widget_name("vm-looking-glass");
    let remote = crate::workers::libvirt::remote().is_some();
    let client = (!remote).then(|| find_client(&path())).flatten();
    let about = match (&client, remote) {
        (_, true) => tr("The client runs on the VM's own host, beside its shared memory."),
        (Some(_), false) => tr("The guest's screen in a window here, through the shared memory (the host application must run in the guest)."),
        (None, false) => tr_f("The client: {where}", &[("where", &client_words(&path()))]),
    };
    let r = row(
        &tr_f("Looking Glass: {what}", &[("what", &lg.words())]),
        &about,
    );
    r.set_widget_name("vm-lg-row");
    if client.is_some() {
        let b = gtk::Button::with_label(&tr("Open Looking Glass"));
        b.set_widget_name("open-looking-glass");
        b.set_valign(gtk::Align::Center);
        let s = sender.clone();
        b.connect_clicked(move |_| s.input(Input::OpenLookingGlass));
        r.add_suffix(&b);
    }
    g.add(&r);
    g
}

/// Starts the client on `lg`'s memory (`-f` the file or the kvmfr device); why it could not.
pub fn open(lg: &LookingGlass) -> Result<(), String> {
    let client = find_client(&path()).ok_or_else(|| client_words(&path()))?;
    let file = match lg.backing {
        Backing::Shm => passage_core::vm::looking_glass::SHM_PATH,
        Backing::Kvmfr => passage_core::vm::looking_glass::KVMFR_DEV,
    };
    std::process::Command::new(client)
        .args(["-f", file])
        .stdin(std::process::Stdio::null())
        .spawn()
        // Reaped when it exits, so no zombie is left until the app quits.
        .map(|mut child| drop(std::thread::spawn(move || child.wait())))
        .map_err(|e| {
            tr_f(
                "Looking Glass's client did not start: {why}",
                &[("why", &e.to_string())],
            )
        })
}
