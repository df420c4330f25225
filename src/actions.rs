//! The app's actions and their keyboard shortcuts. Every page can be reached by an action,
//! which is also how the GUI test drives the app (org.gtk.Actions on the session bus).

use relm4::adw;
use relm4::gtk::prelude::*;
use relm4::gtk::{self, gio, glib};
use relm4::ComponentSender;

use crate::app::{App, Msg, Page};

/// Every accelerator the app sets, by action. The shortcuts window (data/resources/
/// shortcuts.ui) lists each; a unit test holds the two together.
pub const ACCELS: [(&str, &str); 8] = [
    ("app.rescan", "<Primary>r"),
    ("app.shortcuts", "<Primary>question"),
    ("app.quit", "<Primary>q"),
    ("window.close", "<Primary>w"),
    ("app.show-page::check", "<Alt>1"),
    ("app.show-page::devices", "<Alt>2"),
    ("app.show-page::setup", "<Alt>3"),
    ("app.show-page::vms", "<Alt>4"),
];

pub fn install(window: &adw::ApplicationWindow, sender: &ComponentSender<App>) {
    // The window joins the application only after init; the app object is already there.
    let app = relm4::main_application();
    let string = Some(glib::VariantTy::STRING);

    let show = gio::SimpleAction::new("show-page", string);
    let s = sender.clone();
    show.connect_activate(move |_, p| {
        if let Some(page) = p.and_then(|v| v.str()).and_then(Page::from_id) {
            s.input(Msg::Navigate(page));
        }
    });
    app.add_action(&show);
    for (action, accel) in ACCELS {
        app.set_accels_for_action(action, &[accel]);
    }

    let choose = gio::SimpleAction::new("choose-gpu", string);
    let s = sender.clone();
    choose.connect_activate(move |_, p| {
        if let Some(a) = p.and_then(|v| v.str()) {
            s.input(Msg::ChooseGpu(a.to_string()));
        }
    });
    app.add_action(&choose);

    // A wizard choice as `field=value` (what the wizard's widgets send too).
    let wset = gio::SimpleAction::new("wizard-set", string);
    let s = sender.clone();
    wset.connect_activate(move |_, p| {
        if let Some(kv) = p.and_then(|v| v.str()) {
            s.input(match parse_kv(kv, crate::wizard::Choice::parse) {
                Ok(c) => Msg::WizardSet(c),
                Err(e) => Msg::Toast(e),
            });
        }
    });
    app.add_action(&wset);

    for (name, msg) in [
        (
            "show-vm",
            (|v: &str| Msg::ShowVm(v.to_string())) as fn(&str) -> Msg,
        ),
        ("edit-devices", |v: &str| Msg::EditDevices(v.to_string())),
        // A setting in the Edit… view as `field=value` (vm_edit::Field::parse).
        (
            "vm-edit-set",
            |kv: &str| match crate::pages::vm_edit::Field::parse(kv) {
                Some(f) => Msg::VmEdit(crate::pages::vm_edit::Input::Set(f)),
                None => Msg::Toast(format!("{kv}: not a setting of the Edit… view")),
            },
        ),
        (
            "setup-mode",
            |v: &str| match passage_core::vm::session::GpuMode::from_word(v) {
                Some(m) => Msg::SetupMode(m),
                None => Msg::Toast(format!("{v}: boot, running or only-gpu")),
            },
        ),
        ("edit-set", |kv: &str| {
            match parse_kv(kv, passage_core::vm::devices::DeviceChoice::parse) {
                Ok(c) => Msg::EditSet(c),
                Err(e) => Msg::Toast(e),
            }
        }),
    ] {
        let a = gio::SimpleAction::new(name, string);
        let s = sender.clone();
        a.connect_activate(move |_, p| {
            if let Some(v) = p.and_then(|v| v.str()) {
                s.input(msg(v));
            }
        });
        app.add_action(&a);
    }

    let undo = gio::SimpleAction::new("undo", string);
    let s = sender.clone();
    undo.connect_activate(move |_, p| {
        if let Some(id) = p.and_then(|v| v.str()) {
            s.input(Msg::Undo(id.to_string()));
        }
    });
    app.add_action(&undo);

    // The host whose VMs are shown: a remembered URI, or "" for this computer.
    let conn = gio::SimpleAction::new("connection", string);
    let s = sender.clone();
    conn.connect_activate(move |_, p| {
        if let Some(uri) = p.and_then(|v| v.str()) {
            s.input(Msg::Connect(
                Some(uri.to_string()).filter(|u| !u.is_empty()),
            ));
        }
    });
    app.add_action(&conn);

    let keep = gio::SimpleAction::new("keep-boot", string);
    let s = sender.clone();
    keep.connect_activate(move |_, p| {
        if let Some(id) = p.and_then(|v| v.str()) {
            s.input(Msg::KeepBoot(id.to_string()));
        }
    });
    app.add_action(&keep);

    let simple = |name: &str, msg: fn() -> Msg| {
        let a = gio::SimpleAction::new(name, None);
        let s = sender.clone();
        a.connect_activate(move |_, _| s.input(msg()));
        app.add_action(&a);
    };
    simple("rescan", || Msg::Rescan);
    simple("connect-remote", || Msg::ConnectRemote);
    simple("remote-setup", || Msg::RemoteSetup);
    simple("apply", || Msg::Apply);
    simple("undo-all", || Msg::UndoAll);
    simple("wizard-create", || Msg::WizardCreate);
    simple("edit-save", || Msg::EditSave);
    simple("vm-start", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::Start)
    });
    simple("vm-shut-down", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::ShutDown)
    });
    simple("vm-launcher", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::ToggleLauncher)
    });
    simple("vm-force-off", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::ForceOff)
    });
    simple("vm-edit", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::EditSettings)
    });
    simple("vm-edit-save", || {
        Msg::VmEdit(crate::pages::vm_edit::Input::Save)
    });
    simple("vm-delete", || {
        Msg::ShownVm(crate::pages::vm_detail::Input::Delete)
    });
    simple("about", || Msg::About);

    // The shortcuts window is built when asked for, not with the main window (GTK builds
    // gtk/help-overlay.ui at start-up, which measured 6–10 ms).
    let shortcuts = gio::SimpleAction::new("shortcuts", None);
    let w = window.clone();
    shortcuts.connect_activate(move |_, _| {
        let b =
            gtk::Builder::from_resource(&format!("{}/shortcuts.ui", crate::config::RESOURCE_BASE));
        if let Some(sw) = b.object::<gtk::ShortcutsWindow>("help_overlay") {
            // The window's help overlay: only then do its shortcuts find their keys among
            // the application's accelerators (a free-standing one shows none).
            w.set_help_overlay(Some(&sw));
            sw.present();
        }
    });
    app.add_action(&shortcuts);

    let quit = gio::SimpleAction::new("quit", None);
    let w = window.clone();
    quit.connect_activate(move |_, _| w.close());
    app.add_action(&quit);

    // Test and debugging aid: writes what is on screen (PASSAGE_DEBUG=1 only).
    if std::env::var_os("PASSAGE_DEBUG").is_some_and(|v| v == "1") {
        let dump = gio::SimpleAction::new("dump-widgets", string);
        let s = sender.clone();
        dump.connect_activate(move |_, p| {
            if let Some(path) = p.and_then(|v| v.str()) {
                s.input(Msg::Dump(path.to_string()));
            }
        });
        app.add_action(&dump);
    }
}

/// An action's `field=value` parameter, parsed once where it comes in.
fn parse_kv<T>(
    kv: &str,
    parse: fn(&str, &str) -> Result<T, passage_core::vm::VmError>,
) -> Result<T, String> {
    let (k, v) = kv
        .split_once('=')
        .ok_or_else(|| format!("{kv}: expected field=value"))?;
    parse(k, v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::ACCELS;

    /// The shortcuts window shows every accelerator the app sets: by action name (GTK looks
    /// the keys up) or by the same accelerator written out.
    #[test]
    fn the_shortcuts_window_lists_every_accelerator() {
        let ui = include_str!("../data/resources/shortcuts.ui");
        for (action, accel) in ACCELS {
            let by_action = ui.contains(&format!(
                "<property name=\"action-name\">{action}</property>"
            ));
            let by_accel = ui.contains(&format!(
                "<property name=\"accelerator\">{}</property>",
                accel.replace('<', "&lt;").replace('>', "&gt;")
            ));
            assert!(
                by_action || by_accel,
                "{action} ({accel}) is not in the shortcuts window"
            );
        }
        // And the leaflet's own: Alt+Left goes back in a narrow window.
        assert!(ui.contains("&lt;Alt&gt;Left"));
    }
}
