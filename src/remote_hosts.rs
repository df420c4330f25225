//! Remote hosts: "Connect to Remote Host…" in the main menu (a dialog taking user@host or a
//! qemu+ssh URI, checked by core's `connection` rules), the hosts remembered in GSettings
//! offered in the menu with "This Computer" to switch back, and the header saying whose VMs
//! are shown. The VM pages then run against that libvirt (the worker's `--connect`).

use passage_core::connection;
use passage_core::i18n::{tr, tr_f};
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk::{self, gio};
use relm4::ComponentSender;

use crate::app::{App, Msg};

/// The menu section listing the hosts: this computer, then each remembered one.
pub fn fill_menu(section: &gio::Menu, remembered: &[String]) {
    section.remove_all();
    if let Some(r) = crate::workers::libvirt::remote() {
        section.append(
            Some(&tr_f("Host Setup on {host}…", &[("host", &r.name)])),
            Some("app.remote-setup"),
        );
    }
    section.append(Some(&tr("This _Computer")), Some("app.connection::"));
    for uri in remembered {
        let name = connection::remote(uri).map_or_else(|| uri.clone(), |r| r.name);
        let item = gio::MenuItem::new(Some(&name), None);
        item.set_action_and_target_value(Some("app.connection"), Some(&uri.to_variant()));
        section.append_item(&item);
    }
    section.append(
        Some(&tr("Connect to _Remote Host…")),
        Some("app.connect-remote"),
    );
}

/// The header's subtitle: whose VMs are shown (empty for this computer).
pub fn subtitle(uri: Option<&str>) -> String {
    uri.and_then(connection::remote)
        .map(|r| tr_f("VMs on {host}", &[("host", &r.name)]))
        .unwrap_or_default()
}

/// "Connect to Remote Host…": Connect is offered once the text is a host Passage can reach;
/// until then the dialog says what is wrong with it.
pub fn ask(window: &adw::ApplicationWindow, sender: &ComponentSender<App>) {
    let d = adw::MessageDialog::new(
        Some(window),
        Some(&tr("Connect to Remote Host")),
        Some(&tr("Passage shows and runs the VMs of another computer through libvirt over SSH, as virt-manager does. ssh must log in there without a password prompt (a key, or ssh-agent); the host needs libvirt, and Passage for its checks and Host setup.")),
    );
    let entry = gtk::Entry::new();
    entry.set_placeholder_text(Some("user@host"));
    entry.set_widget_name("remote-host-entry");
    crate::a11y::name(&entry, &tr("Remote host"));
    let why = gtk::Label::new(None);
    why.set_wrap(true);
    why.set_xalign(0.0);
    why.add_css_class("dim-label");
    why.add_css_class("caption");
    let bx = gtk::Box::new(gtk::Orientation::Vertical, 6);
    bx.append(&entry);
    bx.append(&why);
    d.set_extra_child(Some(&bx));
    d.add_response("cancel", &tr("_Cancel"));
    d.set_close_response("cancel");
    d.add_response("connect", &tr("C_onnect"));
    d.set_response_appearance("connect", adw::ResponseAppearance::Suggested);
    d.set_response_enabled("connect", false);
    d.set_default_response(Some("connect"));
    let dd = d.clone();
    entry.connect_changed(move |e| {
        let checked = connection::from_user_input(&e.text());
        dd.set_response_enabled("connect", checked.is_ok());
        match checked {
            Err(connection::BadRemote::Empty) | Ok(_) => why.set_label(""),
            Err(bad) => why.set_label(&bad.to_string()),
        }
    });
    // Enter is Connect (the default response), once Connect is offered.
    entry.set_activates_default(true);
    let s = sender.clone();
    let e = entry.clone();
    d.connect_response(None, move |_, r| {
        if r == "connect" {
            if let Ok(uri) = connection::from_user_input(&e.text()) {
                s.input(Msg::Connect(Some(uri)));
            }
        }
    });
    d.present();
    entry.grab_focus();
}

/// A VM's devices come from the host it runs on, and the devices Passage shows are this
/// computer's: on a remote host, the wizard's Create and the Devices editor say where to do it.
pub fn devices_are_made_there(window: &adw::ApplicationWindow, r: &connection::RemoteHost) {
    let d = adw::MessageDialog::new(
        Some(window),
        Some(&tr("Choose Devices on the Remote Host")),
        Some(&tr_f(
            "The devices Passage shows are this computer's, not {host}'s, and a VM's devices must be that host's. Make or change the VM there, in a terminal: {command}",
            &[
                ("host", &r.name),
                (
                    "command",
                    &r.terminal_command(&[
                        "passagectl",
                        "vm",
                        "new",
                        "--gpu",
                        "ADDRESS",
                        "--set",
                        "name=NAME",
                        "--create",
                    ]),
                ),
            ],
        )),
    );
    d.add_response("ok", &tr("_OK"));
    d.present();
}

/// What the VM pages check on a remote host, said once it was read (`unread`: why it could
/// not be).
pub fn what_is_checked(host: &str, unread: Option<&str>) -> String {
    match unread {
        None => tr_f(
            "Showing the VMs on {host}. Before a start Passage checks its devices and memory (read there over SSH) and libvirt's networks; its files are not checked from here (libvirt there refuses what cannot start, and Passage explains it).",
            &[("host", host)],
        ),
        Some(why) => tr_f(
            "Showing the VMs on {host}, which Passage could not read: {why} Before a start only libvirt's networks are checked; the host's devices, memory and files are not checked from here.",
            &[("host", host), ("why", why)],
        ),
    }
}

/// A plan made on a remote host, for its card: shown before anything is applied there.
#[derive(Debug)]
pub struct RemotePlan {
    pub host: connection::RemoteHost,
    pub gpu: String,
    pub text: String,
}

/// Host setup of a remote host, read-only: `passagectl check --json` there picks the card as
/// on this computer, then `passagectl plan --gpu CARD` there (blocking: run off the main loop).
pub fn plan_there(r: &connection::RemoteHost) -> Result<RemotePlan, String> {
    let run = |words: &[&str]| -> Result<std::process::Output, String> {
        r.passagectl(words)
            .ok_or_else(|| {
                tr_f(
                    "{host} is not reached over SSH: Passage cannot run its Host setup there.",
                    &[("host", &r.name)],
                )
            })?
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| e.to_string())
    };
    // ssh exits 255 on its own errors; anything else is what passagectl there said.
    let failed = |o: &std::process::Output| {
        let why = String::from_utf8_lossy(&o.stderr).trim().to_string();
        if o.status.code() == Some(255) {
            tr_f(
                "Passage could not reach {host} over SSH: {why} ssh must log in there without a password prompt (a key, or ssh-agent), and Passage must be installed there.",
                &[("host", &r.name), ("why", &why)],
            )
        } else {
            tr_f(
                "Passage on {host} made no plan: {why}",
                &[("host", &r.name), ("why", &why)],
            )
        }
    };
    let check = run(&["check", "--json"])?;
    let report: serde_json::Value =
        serde_json::from_slice(&check.stdout).map_err(|_| failed(&check))?;
    // The card as the remote names it, taken only as a PCI address: it goes into a command
    // the user runs.
    let Some(gpu) = report["gpu"]
        .as_str()
        .and_then(|g| g.parse::<passage_core::host::PciAddress>().ok())
        .map(|a| a.to_string())
    else {
        return Err(tr_f(
            "{host} has no graphics card that can go to a VM; “passagectl check” there says why.",
            &[("host", &r.name)],
        ));
    };
    let plan = run(&["plan", "--gpu", &gpu])?;
    if !plan.status.success() {
        return Err(failed(&plan));
    }
    Ok(RemotePlan {
        host: r.clone(),
        gpu,
        text: String::from_utf8_lossy(&plan.stdout).into_owned(),
    })
}

/// The remote plan in a dialog: its text, and the command that applies it there (the app has
/// no terminal for the remote helper's polkit to ask in, so it is run in one).
pub fn show_plan(window: &adw::ApplicationWindow, p: &RemotePlan) {
    let command = p
        .host
        .terminal_command(&["passagectl", "apply", "--gpu", &p.gpu]);
    let d = adw::MessageDialog::new(
        Some(window),
        Some(&tr_f("Host Setup on {host}", &[("host", &p.host.name)])),
        Some(&tr_f(
            "Passage made this plan on {host} for its card {gpu}; nothing has been changed there. Apply There runs Passage on {host} in a terminal, where that host's helper asks for authorization; or run this in a terminal of your own:\n{command}",
            &[("host", &p.host.name), ("gpu", &p.gpu), ("command", &command)],
        )),
    );
    d.set_body_use_markup(false);
    let text = gtk::Label::new(Some(&p.text));
    text.set_selectable(true);
    text.set_xalign(0.0);
    text.set_yalign(0.0);
    text.add_css_class("monospace");
    text.set_widget_name("remote-plan");
    let scroll = gtk::ScrolledWindow::new();
    scroll.set_min_content_height(240);
    scroll.set_child(Some(&text));
    d.set_extra_child(Some(&scroll));
    d.add_response("close", &tr("_Close"));
    d.add_response("copy", &tr("_Copy Command"));
    d.add_response("apply", &tr("_Apply There…"));
    d.set_response_appearance("apply", adw::ResponseAppearance::Suggested);
    d.connect_response(Some("copy"), move |d, _| d.clipboard().set_text(&command));
    let (w, host, gpu) = (window.clone(), p.host.clone(), p.gpu.clone());
    d.connect_response(Some("apply"), move |_, _| {
        crate::remote_apply::open(&w, &host, &gpu)
    });
    d.present();
}
