//! Across a restart: asking to restart after an Apply (logind), remembering what System
//! check said before it, and saying what changed after it.

use passage_core::check::Report;
use passage_core::i18n::{tr, tr_f};
use relm4::adw;
use relm4::adw::prelude::*;

use crate::host_source::Loaded;
use crate::logic::{self, Snapshot};
use crate::settings::Settings;

/// "Restart to Finish": Later, or Restart Now (which calls `restart`).
pub fn ask(window: &adw::ApplicationWindow, restart: impl Fn() + 'static) {
    let d = adw::MessageDialog::new(
            Some(window),
            Some(&tr("Restart to Finish")),
            Some(&tr("The changes take effect after a restart. When Passage opens again it checks this computer and tells you what changed.")),
        );
    d.add_response("later", &tr("_Later"));
    d.set_close_response("later");
    d.add_response("restart", &tr("_Restart Now"));
    d.set_response_appearance("restart", adw::ResponseAppearance::Suggested);
    d.connect_response(None, move |_, r| {
        if r == "restart" {
            restart();
        }
    });
    d.present();
}

/// Asks logind to restart (it asks for a password itself when other users are logged in).
pub async fn reboot() -> Result<(), String> {
    let conn = passage_helper_api::system_bus()
        .await
        .map_err(|e| e.to_string())?;
    conn.call_method(
        Some("org.freedesktop.login1"),
        "/org/freedesktop/login1",
        Some("org.freedesktop.login1.Manager"),
        "Reboot",
        &(true,),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        tr_f(
            "The computer could not be restarted: {why}. Restart it from the system menu.",
            &[("why", &e.to_string())],
        )
    })
}

/// Remembers what the check said, to tell the user what changed after the restart.
pub fn remember(st: &Settings, l: &Loaded, r: &Report) {
    st.save_snapshot(&Snapshot::of(&boot_id(l), r));
}

/// What changed since the snapshot taken before a restart (once: the snapshot is cleared).
pub fn what_changed(st: &Settings, l: &Loaded, now: &Report) -> Vec<String> {
    if !l.can_change() {
        return vec![];
    }
    let Some(before) = st.snapshot() else {
        return vec![];
    };
    let id = boot_id(l);
    if before.boot_id == id {
        return vec![];
    }
    st.clear_snapshot();
    logic::what_changed(&before, &id, now)
}

fn boot_id(l: &Loaded) -> String {
    std::fs::read_to_string(l.root.path("/proc/sys/kernel/random/boot_id"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
