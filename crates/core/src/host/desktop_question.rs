//! The question the app asks before an *only GPU* VM starts: what stops on this host (the
//! display manager, the users' graphical sessions by user), read the way the hook's plan reads
//! it ([`super::desktop`]), and a warning about unsaved work.

use super::desktop::{display_manager_unit, graphical_sessions, DesktopStep};
use crate::i18n::{tr, tr_f};
use crate::root::Root;

/// What an only-GPU start stops here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatStops {
    /// The display manager's unit (`gdm3.service`), when systemd's alias names one.
    pub display_manager: Option<String>,
    /// The users' X11 and Wayland sessions: (session id, user).
    pub sessions: Vec<(String, String)>,
}

impl WhatStops {
    pub fn of(root: &Root) -> WhatStops {
        let sessions = graphical_sessions(root)
            .into_iter()
            .filter_map(|s| match s {
                DesktopStep::EndSession { id, user } => Some((id, user)),
                _ => None,
            })
            .collect();
        WhatStops {
            display_manager: display_manager_unit(root),
            sessions,
        }
    }
}

/// The heading, the body and the answer that starts the VM.
pub fn question(vm: &str, w: &WhatStops) -> (String, String, String) {
    let heading = tr_f("Stop the Desktop to Start “{vm}”?", &[("vm", vm)]);
    let dm = match &w.display_manager {
        Some(unit) => tr_f("The display manager ({unit}) stops", &[("unit", unit)]),
        None => tr("The display manager stops"),
    };
    let sessions = if w.sessions.is_empty() {
        tr("every graphical session ends")
    } else {
        let names: Vec<String> = w
            .sessions
            .iter()
            .map(|(id, user)| tr_f("{user}'s (session {id})", &[("user", user), ("id", id)]))
            .collect();
        tr_f("these sessions end: {list}", &[("list", &names.join(", "))])
    };
    let body = tr_f(
        "{dm} and {sessions}. Programs in them close without saving: save your work first. The screen stays dark while the VM runs and the desktop comes back when it stops; the VM needs its own keyboard and mouse.",
        &[("dm", &dm), ("sessions", &sessions)],
    );
    (heading, body, tr("_Stop the Desktop and Start"))
}
