//! The express dialog's widgets: the three things asked (name, ISO, disk size), the summary of
//! what is recommended with its details and notes, why Create waits, and the buttons.

use std::cell::Cell;
use std::rc::Rc;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::draft::Storage;
use passage_core::vm::express::Express;
use passage_core::vm::Purpose;
use passage_core::Host;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::{ExpressDialog, Input};
use crate::pages::{glib_escape, row};

pub struct View {
    pub name: adw::EntryRow,
    /// Set while the view itself writes the name or the size: those are no user's changes.
    quiet: Rc<Cell<bool>>,
    disk: gtk::SpinButton,
    create: gtk::Button,
    customize: gtk::Button,
    summary: adw::ActionRow,
    details: adw::ExpanderRow,
    detail_rows: Vec<adw::ActionRow>,
    notes: adw::PreferencesGroup,
    note_rows: Vec<adw::ActionRow>,
    problem: adw::ActionRow,
}

/// The dialog's title: what it makes.
pub fn title(purpose: Purpose) -> String {
    match purpose {
        Purpose::Ml => tr("Create an ML VM"),
        _ => tr("Create a Gaming VM"),
    }
}

impl View {
    pub fn new(
        w: &adw::Window,
        purpose: Purpose,
        card: &str,
        backing: passage_core::vm::looking_glass::Backing,
        (login, virtio_win): (&str, &str),
        sender: &ComponentSender<ExpressDialog>,
    ) -> View {
        let title = title(purpose);
        w.set_title(Some(&title));
        let header = adw::HeaderBar::new();
        header.set_show_end_title_buttons(false);
        header.set_show_start_title_buttons(false);
        let wt = adw::WindowTitle::new(&title, card);
        header.set_title_widget(Some(&wt));
        let cancel = gtk::Button::with_label(&tr("Cancel"));
        let create = gtk::Button::with_label(&tr("Create"));
        create.add_css_class("suggested-action");
        create.set_widget_name("express-create");
        header.pack_start(&cancel);
        header.pack_end(&create);
        let ww = w.clone();
        cancel.connect_clicked(move |_| ww.close());
        let s = sender.clone();
        create.connect_clicked(move |_| s.input(Input::Create));

        let page = adw::PreferencesPage::new();
        page.set_vexpand(true);
        let asked = adw::PreferencesGroup::new();
        asked.set_description(Some(&match purpose {
            Purpose::Ml => tr_f("A Linux VM for machine learning with {card}. Everything else is recommended from this host; Customize… changes any of it.", &[("card", card)]),
            _ => tr_f("A Windows VM for games with {card}. Everything else is recommended from this host; Customize… changes any of it.", &[("card", card)]),
        }));
        let name = adw::EntryRow::new();
        name.set_title(&tr("Name"));
        name.set_widget_name("express-name");
        crate::a11y::hide_decorations(name.upcast_ref());
        let quiet: Rc<Cell<bool>> = Rc::default();
        let (s, q) = (sender.clone(), quiet.clone());
        name.connect_changed(move |e| {
            if !q.get() {
                s.input(Input::Name(e.text().trim().to_string()))
            }
        });
        asked.add(&name);
        asked.add(&super::iso_row(sender));
        let disk_row = row(&tr("Disk size (GiB)"), &tr("Grows as the guest writes"));
        let disk = gtk::SpinButton::with_range(16.0, 65536.0, 1.0);
        disk.set_valign(gtk::Align::Center);
        disk.set_widget_name("express-disk");
        crate::a11y::name(&disk, &tr("Disk size (GiB)"));
        let (s, q) = (sender.clone(), quiet.clone());
        disk.connect_value_changed(move |sp| {
            if !q.get() {
                s.input(Input::Disk(sp.value() as u64))
            }
        });
        disk_row.add_suffix(&disk);
        asked.add(&disk_row);
        page.add(&asked);
        page.add(&super::auto::group(login, virtio_win, sender));
        // Looking Glass: the guest's screen in a window here (this host's backing).
        let lg = adw::PreferencesGroup::new();
        let s = sender.clone();
        for r in crate::pages::lg_rows::rows("express", None, backing, move |m| {
            s.input(Input::LookingGlass(m))
        }) {
            lg.add(&r);
        }
        page.add(&lg);

        let rec = adw::PreferencesGroup::new();
        rec.set_title(&tr("Recommended"));
        let summary = row("", "");
        summary.set_widget_name("express-summary");
        rec.add(&summary);
        let details = crate::pages::expander(&tr("What Passage chose"), "");
        details.set_widget_name("express-details");
        rec.add(&details);
        let problem = row("", "");
        problem.set_widget_name("express-problem");
        problem.add_css_class("error");
        problem.add_prefix(&crate::a11y::decorative_icon("dialog-information-symbolic"));
        rec.add(&problem);
        page.add(&rec);
        let notes = adw::PreferencesGroup::new();
        page.add(&notes);

        let foot = adw::PreferencesGroup::new();
        let customize = gtk::Button::with_label(&tr("Customize…"));
        customize.set_widget_name("express-customize");
        customize.add_css_class("pill");
        customize.set_halign(gtk::Align::Center);
        crate::a11y::name(&customize, &tr("Customize in the VM wizard"));
        let s = sender.clone();
        customize.connect_clicked(move |_| s.input(Input::Customize));
        foot.add(&customize);
        page.add(&foot);

        let bx = gtk::Box::new(gtk::Orientation::Vertical, 0);
        bx.append(&header);
        bx.append(&page);
        w.set_content(Some(&bx));
        View {
            name,
            quiet,
            disk,
            create,
            customize,
            summary,
            details,
            detail_rows: vec![],
            notes,
            note_rows: vec![],
            problem,
        }
    }

    /// Shows the recommendation, why Create waits (`problem`), and whether it is creating.
    pub fn show(
        &mut self,
        host: &Host,
        made: &Result<Express, String>,
        problem: Option<&str>,
        creating: bool,
    ) {
        self.problem.set_visible(problem.is_some());
        self.problem
            .set_title(&glib_escape(problem.unwrap_or_default()));
        self.create.set_sensitive(problem.is_none() && !creating);
        self.create.set_label(&if creating {
            tr("Creating…")
        } else {
            tr("Create")
        });
        self.customize.set_sensitive(made.is_ok() && !creating);
        for r in self.detail_rows.drain(..) {
            self.details.remove(&r);
        }
        for r in self.note_rows.drain(..) {
            self.notes.remove(&r);
        }
        let Ok(e) = made else { return };
        let d = &e.draft;
        // The name and the size as recommended, until the user gives their own.
        self.quiet.set(true);
        if self.name.text().trim() != d.name {
            self.name.set_text(&d.name);
        }
        if let Storage::New { gib, .. } = d.storage {
            if self.disk.value() as u64 != gib {
                self.disk.set_value(gib as f64);
            }
        }
        self.quiet.set(false);
        match d.spec(host) {
            Ok(s) => self.summary.set_title(&glib_escape(&s.summary())),
            Err(_) => self.summary.set_title(&glib_escape(&d.name)),
        }
        self.summary.set_subtitle(&if d.install_iso.is_empty() {
            String::new()
        } else {
            glib_escape(&e.installer.words())
        });
        for (label, value) in e.lines(host) {
            let r = row(&label, &value);
            r.add_css_class("property");
            self.details.add_row(&r);
            self.detail_rows.push(r);
        }
        for n in &e.notes {
            let r = row(n, "");
            r.add_prefix(&crate::a11y::status_icon(
                "dialog-warning-symbolic",
                &tr("Note"),
            ));
            self.notes.add(&r);
            self.note_rows.push(r);
        }
    }
}
