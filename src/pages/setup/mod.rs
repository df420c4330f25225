//! Host setup: the plan for the chosen GPU as a list of changes, each with its diff; Apply
//! (one polkit prompt through the helper) with the rebuild's progress; History with Undo.

use std::sync::Arc;

use passage_core::i18n::{tr, tr_f};
use passage_core::plan::{Intent, Plan};
use passage_helper_api::HistoryRow;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

mod boot_check;
pub mod helper;
mod history;
mod missing;
mod mode;
mod planning;

use crate::host_source::Loaded;
use crate::logic::{self, Selection};
use helper::{apply, history, undo, HelperError};
use passage_core::vm::session::GpuMode;

/// What the page plans for.
#[derive(Debug, Clone)]
pub enum Target {
    /// Everything one GPU needs (from Devices).
    Gpu(Selection),
    /// One change a finding's Fix asked for (kernel arguments).
    Intent(Intent),
}

#[derive(Debug)]
pub enum Input {
    Show(Arc<Loaded>, Option<Target>),
    Apply,
    RefreshHistory,
    Undo(String),
    /// Undoes every change still applied, newest first (the GPU setup is several changes).
    UndoAll,
    /// The user keeps a boot-time change after its restart: not asked about again.
    KeepBoot(String),
    /// When the card goes to VMs: the plan is made again for that mode.
    Mode(GpuMode),
    /// Changes planned with the card's, for the wizard's VM (hugepages reserved at boot).
    Extras(Vec<Intent>),
    /// Looks for the helper again (Try Again, or Apply while it is missing).
    CheckHelper,
}

#[derive(Debug)]
pub enum Output {
    Toast(String),
    /// The mode was changed here: the wizard's GPU mode follows.
    Mode(GpuMode),
    /// Changes were applied; they take effect after a restart.
    Applied,
    /// A change was undone: the host should be scanned again.
    Undone,
    /// Next: the new VM.
    Next,
}

#[derive(Debug)]
pub enum Cmd {
    Planned(Result<Plan, String>),
    Progress(String),
    Applied(Result<String, String>),
    History(Result<Vec<HistoryRow>, HelperError>),
    Undone(Result<String, String>),
}

/// A failed helper call: its words, and whether the helper is there at all.
pub struct SetupPage {
    page: adw::PreferencesPage,
    /// Below Apply when the helper is not installed: what was found, how to install it.
    missing: missing::MissingHelper,
    helper_missing: bool,
    /// The user asked to look for the helper again.
    rechecking: bool,
    loaded: Option<Arc<Loaded>>,
    /// What Apply applies, once its plan is computed.
    target: Option<Target>,
    /// For a card: kept for VMs from boot on, or lent while they run.
    mode: GpuMode,
    /// Planned and applied after the card's setup, each its own change (one Undo each).
    extras: Vec<Intent>,
    mode_group: adw::PreferencesGroup,
    mode_radios: [gtk::CheckButton; 3],
    planned: bool,
    busy: bool,
    groups: Vec<adw::PreferencesGroup>,
    history_group: adw::PreferencesGroup,
    history_rows: Vec<gtk::Widget>,
    /// "After the Restart", first on the page when a boot-time change awaits Keep or Undo.
    boot: boot_check::BootCard,
    /// The changes still applied, newest first, and the button that undoes them all.
    applied: Vec<String>,
    undo_all: gtk::Button,
    apply: gtk::Button,
    apply_group: adw::PreferencesGroup,
    apply_note: gtk::Label,
    next: adw::PreferencesGroup,
    progress_group: adw::PreferencesGroup,
    spinner: gtk::Spinner,
    log: gtk::Label,
}

impl Component for SetupPage {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = Cmd;
    type Root = gtk::Stack;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let s = gtk::Stack::new();
        s.set_widget_name("page-setup");
        crate::a11y::follow_stack(&s);
        s
    }

    fn init(_: (), stack: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let root = adw::PreferencesPage::new();
        stack.add_named(&root, Some("plan"));
        let apply = gtk::Button::with_label(&tr("Apply"));
        apply.set_widget_name("apply");
        apply.add_css_class("suggested-action");
        apply.add_css_class("pill");
        apply.set_halign(gtk::Align::Center);
        apply.set_sensitive(false);
        let s = sender.clone();
        apply.connect_clicked(move |_| s.input(Input::Apply));
        let apply_note = super::wrapping("");
        apply_note.add_css_class("dim-label");
        apply_note.set_justify(gtk::Justification::Center);
        apply_note.set_xalign(0.5);
        let bx = gtk::Box::new(gtk::Orientation::Vertical, 12);
        bx.append(&apply);
        bx.append(&apply_note);
        let missing = missing::MissingHelper::new(&sender);
        bx.append(&missing.widget);
        let apply_group = adw::PreferencesGroup::new();
        apply_group.add(&bx);

        let spinner = gtk::Spinner::new();
        let log = super::wrapping("");
        log.add_css_class("monospace");
        log.set_selectable(true);
        let progress_group = adw::PreferencesGroup::new();
        progress_group.set_title(&tr("Applying"));
        // The spinner joins the group at the first Apply: its icon is SVG-only, and loading it
        // (librsvg) while the window opens costs time and memory for nothing.
        progress_group.add(&log);
        progress_group.set_visible(false);

        let history_group = adw::PreferencesGroup::new();
        history_group.set_title(&tr("History"));
        history_group.set_description(Some(&tr(
            "Every change Passage made, newest first. Undo puts each file back byte for byte.",
        )));
        let refresh = gtk::Button::from_icon_name("view-refresh-symbolic");
        refresh.add_css_class("flat");
        refresh.set_tooltip_text(Some(&tr("Refresh History")));
        crate::a11y::name(&refresh, &tr("Refresh History"));
        let s = sender.clone();
        refresh.connect_clicked(move |_| s.input(Input::RefreshHistory));
        let undo_all = gtk::Button::with_label(&tr("Undo All"));
        undo_all.set_widget_name("undo-all");
        undo_all.set_tooltip_text(Some(&tr("Put every file back as it was before Passage")));
        undo_all.set_visible(false);
        let s = sender.clone();
        undo_all.connect_clicked(move |_| s.input(Input::UndoAll));
        let suffix = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        suffix.append(&undo_all);
        suffix.append(&refresh);
        history_group.set_header_suffix(Some(&suffix));

        let s = sender.clone();
        let next = super::next_group(&tr("New Virtual Machine"), move || {
            let _ = s.output(Output::Next);
        });
        let (mode_group, mode_radios) = mode::group(&sender);
        let boot = boot_check::BootCard::new();
        root.add(&boot.group);
        root.add(&mode_group);
        root.add(&apply_group);
        root.add(&progress_group);
        root.add(&history_group);
        root.add(&next);
        ComponentParts {
            model: SetupPage {
                page: root,
                missing,
                helper_missing: false,
                rechecking: false,
                loaded: None,
                target: None,
                mode: GpuMode::AtBoot,
                extras: vec![],
                mode_group,
                mode_radios,
                planned: false,
                busy: false,
                groups: vec![],
                history_group,
                history_rows: vec![],
                boot,
                applied: vec![],
                undo_all,
                apply,
                apply_group,
                apply_note,
                next,
                progress_group,
                spinner,
                log,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, _stack: &Self::Root) {
        let root = &self.page.clone();
        match msg {
            Input::Show(loaded, target) => {
                self.loaded = Some(loaded);
                self.target = target;
                if self.target.is_none() {
                    self.planned = false;
                    self.apply.set_sensitive(false);
                    self.show_plan(
                        root,
                        Err(tr("Choose a graphics card on the Devices page first.")),
                    );
                    return;
                }
                self.replan(&sender);
                sender.input(Input::RefreshHistory);
            }
            Input::Mode(m) => {
                if m == self.mode || self.busy {
                    return;
                }
                self.mode = m;
                if let Some(i) = mode::ALL.iter().position(|c| *c == m) {
                    self.mode_radios[i].set_active(true);
                }
                let _ = sender.output(Output::Mode(m));
                self.replan(&sender);
            }
            Input::Extras(extras) => {
                if extras == self.extras || self.busy {
                    return;
                }
                self.extras = extras;
                self.replan(&sender);
            }
            Input::CheckHelper => {
                self.rechecking = true;
                sender.input(Input::RefreshHistory);
            }
            Input::Apply if self.helper_missing => sender.input(Input::CheckHelper),
            Input::Apply => {
                let Some(loaded) = &self.loaded else { return };
                if !loaded.can_change() {
                    let _ = sender.output(Output::Toast(tr(
                        "Applying is disabled on the demo host: it would change this computer, not the one shown.",
                    )));
                    return;
                }
                let (false, true, Some(target)) = (self.busy, self.planned, self.target.clone())
                else {
                    return;
                };
                self.busy = true;
                self.apply.set_sensitive(false);
                self.log.set_text("");
                self.progress_group.set_visible(true);
                self.progress_group.set_title(&tr("Applying"));
                self.progress_group.set_header_suffix(Some(&self.spinner));
                self.spinner.start();
                let (mode, extras) = (self.mode, self.extras.clone());
                sender.command(move |out, shutdown| {
                    shutdown
                        .register(async move {
                            let r = apply(&target, mode, &extras, &out).await;
                            let _ = out.send(Cmd::Applied(r));
                        })
                        .drop_on_shutdown()
                });
            }
            Input::RefreshHistory => {
                let Some(loaded) = &self.loaded else { return };
                if !loaded.can_change() {
                    self.show_history(
                        Err(tr("The demo host has no history: Passage keeps it with the helper on the computer it changes.")),
                        &sender,
                    );
                    return;
                }
                sender.oneshot_command(async { Cmd::History(history().await) });
            }
            Input::Undo(id) => {
                if self.busy {
                    return;
                }
                self.busy = true;
                sender.oneshot_command(async move { Cmd::Undone(undo(&id).await) });
            }
            Input::KeepBoot(id) => {
                if let Some(st) = crate::settings::Settings::open() {
                    st.add_boot_checked(&id);
                }
                self.boot.show(None, &sender);
                let _ = sender.output(Output::Toast(tr(
                    "Kept. The boot menu entry without GPU passthrough stays, for a day you need it.",
                )));
            }
            Input::UndoAll => {
                if self.busy || self.applied.is_empty() {
                    return;
                }
                self.busy = true;
                let ids = self.applied.clone();
                sender.oneshot_command(async move {
                    let mut said = vec![];
                    for id in &ids {
                        match undo(id).await {
                            Ok(m) => said.push(m),
                            Err(e) => return Cmd::Undone(Err(e)),
                        }
                    }
                    Cmd::Undone(Ok(said.join("\n")))
                });
            }
        }
    }

    fn update_cmd(&mut self, msg: Cmd, sender: ComponentSender<Self>, _: &Self::Root) {
        let root = &self.page.clone();
        match msg {
            Cmd::Planned(r) => {
                self.planned = r.is_ok();
                self.show_plan(root, r);
            }
            Cmd::Progress(line) => {
                let mut t = self.log.text().to_string();
                if !t.is_empty() {
                    t.push('\n');
                }
                t.push_str(&line);
                self.log.set_text(&t);
            }
            Cmd::Applied(r) => {
                self.busy = false;
                self.spinner.stop();
                match r {
                    Ok(done) => {
                        // The rebuild's lines stay; what was done goes below them.
                        let mut t = self.log.text().to_string();
                        if !t.is_empty() {
                            t.push('\n');
                        }
                        t.push_str(&done);
                        self.log.set_text(&t);
                        self.progress_group.set_title(&tr("Applied"));
                        let _ = sender.output(Output::Applied);
                    }
                    Err(e) => {
                        self.failed(&tr("Not applied"), &e);
                        self.apply.set_sensitive(true);
                    }
                }
                sender.input(Input::RefreshHistory);
            }
            Cmd::History(r) => {
                // The helper answers History without a password: this is how the page
                // learns whether it is installed at all.
                let missing = r.as_ref().err().filter(|e| e.unreachable);
                self.missing.show(missing, self.rechecking);
                if self.helper_missing && missing.is_none() {
                    let _ = sender.output(Output::Toast(tr(
                        "Passage's helper is installed: Apply is ready.",
                    )));
                }
                self.helper_missing = missing.is_some();
                self.rechecking = false;
                self.show_history(
                    r.map_err(|e| tr_f("History is not available: {why}", &[("why", &e.text)])),
                    &sender,
                );
            }
            Cmd::Undone(r) => {
                self.busy = false;
                match r {
                    Ok(msg) => {
                        let _ = sender.output(Output::Toast(msg));
                        let _ = sender.output(Output::Undone);
                    }
                    Err(e) => {
                        self.failed(&tr("Not undone"), &e);
                    }
                }
                sender.input(Input::RefreshHistory);
            }
        }
    }
}

impl SetupPage {
    /// A failed Apply or Undo stays on the page, whole and selectable with Copy, until the
    /// next one.
    fn failed(&self, title: &str, e: &str) {
        self.progress_group.set_visible(true);
        self.progress_group.set_title(title);
        let copy = super::problem::copy_button(e, &tr("Copy what the helper said"));
        copy.set_valign(gtk::Align::Center);
        copy.set_widget_name("copy-failure");
        self.progress_group.set_header_suffix(Some(&copy));
        self.log.set_text(e);
        // The failure is at the page's foot, under the plan: the focus takes the page there,
        // and a screen reader reads it. Only once the group is laid out (a frame or two after
        // it shows): before, the page is not yet long enough to scroll down to it.
        gtk::glib::timeout_add_local_once(std::time::Duration::from_millis(250), move || {
            copy.grab_focus();
            // The page's foot, so the helper's text below the heading shows too.
            if let Some(sw) = copy
                .ancestor(gtk::ScrolledWindow::static_type())
                .and_then(|w| w.downcast::<gtk::ScrolledWindow>().ok())
            {
                let v = sw.vadjustment();
                v.set_value(v.upper() - v.page_size());
            }
        });
    }

    fn show_plan(&mut self, root: &adw::PreferencesPage, plan: Result<Plan, String>) {
        super::clear(root, &mut self.groups);
        let g = adw::PreferencesGroup::new();
        g.set_title(&tr("Changes"));
        let can_change = self.loaded.as_ref().is_some_and(|l| l.can_change());
        match &plan {
            Err(e) => {
                g.add(&super::row(e, ""));
                self.apply_note.set_text("");
            }
            Ok(p) if p.is_empty() => {
                g.add(&super::row(
                    &tr("Nothing to change: this host is already set up for this card."),
                    "",
                ));
                self.apply_note.set_text("");
            }
            Ok(p) => {
                g.set_description(Some(&tr(
                    "Passage writes these files through its helper, keeping the originals so that Undo restores them exactly.",
                )));
                for r in logic::plan_rows(p) {
                    if r.diff.is_empty() {
                        // A command that runs after the files are written: nothing to expand.
                        let row = super::row(&r.title, &r.subtitle);
                        row.add_prefix(&crate::a11y::status_icon(
                            "system-run-symbolic",
                            &tr("Command"),
                        ));
                        g.add(&row);
                        continue;
                    }
                    let row = super::expander(&r.title, &r.subtitle);
                    {
                        row.add_prefix(&crate::a11y::status_icon(
                            "text-x-generic-symbolic",
                            &tr("File"),
                        ));
                        row.add_row(&super::code_view(&r.diff));
                    }
                    g.add(&row);
                }
                for n in &p.notes {
                    g.add(&super::row(n, ""));
                }
                self.apply.set_sensitive(can_change && !self.busy);
                self.apply_note.set_text(&if can_change {
                    tr("Applying asks for your password once. The changes take effect after a restart.")
                } else {
                    tr("Applying is disabled here: this is not the computer Passage runs on, so nothing may change it.")
                });
            }
        }
        // AdwPreferencesPage only appends: After the Restart, the plan, then Apply, progress,
        // History.
        root.remove(&self.boot.group);
        root.add(&self.boot.group);
        root.remove(&self.mode_group);
        root.add(&self.mode_group);
        self.mode_group
            .set_visible(matches!(self.target, Some(Target::Gpu(_))));
        // The card this plan is for, named under the page's first heading.
        if let (Some(Target::Gpu(s)), Some(l)) = (&self.target, &self.loaded) {
            self.mode_group.set_description(Some(&tr_f(
                "For {card}, chosen on Devices.",
                &[("card", &l.host.card_label(s.gpu))],
            )));
            mode::show_offered(&self.mode_radios, &GpuMode::usable(&l.host, s.gpu));
        }
        root.add(&g);
        for fixed in [
            &self.apply_group,
            &self.progress_group,
            &self.history_group,
            &self.next,
        ] {
            root.remove(fixed);
            root.add(fixed);
        }
        self.groups.push(g);
    }
}
