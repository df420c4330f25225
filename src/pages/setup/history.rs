//! Host setup's History: every change with its state, Undo for each and Undo All, and the
//! After the Restart card, which reads the same rows.

use passage_core::i18n::{tr, tr_f};
use passage_helper_api::{HistoryRow, State};
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{Input, SetupPage};
use crate::logic;

impl SetupPage {
    pub(super) fn show_history(
        &mut self,
        rows: Result<Vec<HistoryRow>, String>,
        sender: &ComponentSender<Self>,
    ) {
        for w in self.history_rows.drain(..) {
            self.history_group.remove(&w);
        }
        self.applied = match &rows {
            Ok(rows) => rows
                .iter()
                .filter(|r| r.state == State::Applied)
                // A VM's session ends when the VM stops; Undo All leaves running VMs alone.
                .filter(|r| r.verb != "vm-session")
                .map(|r| r.id.clone())
                .collect(),
            Err(_) => vec![],
        };
        self.show_boot_check(rows.as_ref().ok().map(Vec::as_slice), sender);
        self.undo_all.set_visible(self.applied.len() > 1);
        self.undo_all.set_sensitive(!self.busy);
        let add = |me: &mut Self, w: gtk::Widget| {
            me.history_group.add(&w);
            me.history_rows.push(w);
        };
        match rows {
            Err(e) => add(self, crate::pages::row(&e, "").upcast()),
            Ok(rows) if rows.is_empty() => add(
                self,
                crate::pages::row(&tr("Passage has made no changes to this host."), "").upcast(),
            ),
            Ok(rows) => {
                for HistoryRow {
                    id,
                    created,
                    summary,
                    state,
                    ..
                } in rows
                {
                    let when = relm4::gtk::glib::DateTime::from_unix_local(created as i64)
                        .and_then(|d| d.format("%x %X"))
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let r =
                        crate::pages::row(&summary, &format!("{when} · {}", state_words(state)));
                    r.set_widget_name(&format!("change-{id}"));
                    r.set_tooltip_text(Some(&tr_f("Change {id}", &[("id", &id)])));
                    if state == State::Applied {
                        let b = gtk::Button::with_label(&tr("Undo"));
                        b.set_valign(gtk::Align::Center);
                        let s = sender.clone();
                        let id2 = id.clone();
                        b.connect_clicked(move |b| {
                            b.set_sensitive(false);
                            s.input(Input::Undo(id2.clone()));
                        });
                        r.add_suffix(&b);
                    }
                    add(self, r.upcast());
                }
            }
        }
    }

    /// After the Restart: the boot-time change this restart followed, if not kept yet.
    fn show_boot_check(&mut self, rows: Option<&[HistoryRow]>, sender: &ComponentSender<Self>) {
        let pending = (|| {
            let loaded = self.loaded.as_ref().filter(|l| l.can_change())?;
            let rows: Vec<(String, u64, String, bool)> = rows?
                .iter()
                .map(|r| {
                    (
                        r.id.clone(),
                        r.created,
                        r.verb.clone(),
                        r.state == State::Applied,
                    )
                })
                .collect();
            let kept = crate::settings::Settings::open()
                .map(|s| s.boot_checked())
                .unwrap_or_default();
            let boot_time = passage_core::boot_check::boot_time(&loaded.root);
            let id = logic::pending_boot_change(&rows, boot_time, &kept)?;
            let check = passage_core::boot_check::boot_check(&loaded.root, &loaded.host)?;
            Some((id, check))
        })();
        self.boot.show(pending, sender);
    }
}

/// The journal's state of a change, in words.
fn state_words(state: State) -> String {
    match state {
        State::Applied => tr("applied"),
        State::Undone => tr("undone"),
        State::RolledBack => tr("not applied: every file was put back"),
        State::Applying | State::Undoing => {
            tr("interrupted: the helper finishes it when it starts again")
        }
    }
}
