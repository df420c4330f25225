//! *Edit…* on a VM's page: its settings after creation (memory, vCPUs and pinning, hugepages,
//! disks, the install and driver ISOs, Secure Boot, the TPM, boot order, the SPICE display),
//! prefilled from core's `Settings::of`, checked by the wizard's rules (`settings::check`)
//! while the user changes them, and saved as ONE typed request: the worker applies it through
//! `passage_virt::edit`, as `passagectl vm edit` does. A refused value says why on the page;
//! a failure of libvirt stays on the page (`problem`).

mod form;
mod groups;
mod rows;

use std::sync::Arc;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::settings::{self, Changes};
use passage_core::vm::Domain;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

pub use form::Field;
use form::Form;

use super::problem::Problem;
use crate::host_source::Loaded;

/// The VM to edit, as its page has it.
#[derive(Debug)]
pub struct Open {
    pub name: String,
    pub xml: String,
    pub running: bool,
    pub loaded: Option<Arc<Loaded>>,
}

#[derive(Debug)]
pub enum Input {
    Open(Box<Open>),
    /// A widget's new value: the form changes, the widgets stay.
    Changed(Field),
    /// A value set from outside the widgets (the `vm-edit-set` action, a disk added): the
    /// view is built again to show it.
    Set(Field),
    Save,
    Cancel,
    /// Saving failed: it stays on this view.
    Failed(Problem),
    Dismiss,
    OpenSetup,
}

#[derive(Debug)]
pub enum Output {
    Save { name: String, changes: Box<Changes> },
    Cancel,
    OpenSetup,
}

pub struct VmEdit {
    open: Option<(Open, Domain)>,
    was: Option<Form>,
    form: Option<Form>,
    problem: Option<Problem>,
    refusal: adw::ActionRow,
    /// The refusal's group, hidden while there is none.
    refusal_group: adw::PreferencesGroup,
    groups: Vec<adw::PreferencesGroup>,
}

impl Component for VmEdit {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = Placed;
    type Root = adw::PreferencesPage;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let p = adw::PreferencesPage::new();
        p.set_widget_name("vm-edit");
        p
    }

    fn init(_: (), _root: Self::Root, _s: ComponentSender<Self>) -> ComponentParts<Self> {
        let refusal = super::row("", "");
        refusal.set_widget_name("edit-refused");
        refusal.add_prefix(&crate::a11y::status_icon(
            "dialog-warning-symbolic",
            &tr("Not allowed"),
        ));
        let refusal_group = adw::PreferencesGroup::new();
        refusal_group.add(&refusal);
        refusal_group.set_visible(false);
        let model = VmEdit {
            open: None,
            was: None,
            form: None,
            problem: None,
            refusal,
            refusal_group,
            groups: vec![],
        };
        ComponentParts { model, widgets: () }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Open(o) => {
                let Ok(d) = Domain::read(&o.xml) else { return };
                let f = match &o.loaded {
                    Some(l) => {
                        let mut f = Form::of(&d).with_rom(&d, &l.host);
                        if d.looking_glass.is_none() {
                            f.lg_backing = passage_core::vm::looking_glass::Backing::of(&l.root);
                        }
                        f
                    }
                    None => Form::of(&d),
                };
                self.was = Some(f.clone());
                self.form = Some(f);
                self.open = Some((*o, d));
                self.problem = None;
                self.refuse(None);
            }
            Input::Changed(f) => {
                // The hugepages' why and Host setup's row follow the choice.
                let rebuild = matches!(f, Field::Hugepages(_));
                let memory = matches!(f, Field::MemoryGib(_));
                if let Some(form) = &mut self.form {
                    form.set(f);
                }
                self.refuse(self.checked().err());
                if memory {
                    self.hugepages_follow(root, &sender);
                }
                if !rebuild {
                    return;
                }
            }
            Input::Set(f) => {
                if let Some(form) = &mut self.form {
                    form.set(f);
                }
                self.refuse(self.checked().err());
            }
            Input::Save => {
                match self.checked() {
                    Ok((name, changes)) => {
                        self.problem = None;
                        // A new ROM file is placed for QEMU first (the helper; polkit asks).
                        let place = self.rom_to_place();
                        let lg = matches!(changes.looking_glass, Some(Some(_)));
                        sender.oneshot_command(async move {
                            if let Err(why) = crate::pages::vm_rom::place(place).await {
                                return Placed::Refused(why);
                            }
                            // Looking Glass's host files, as a new VM gets them (what is left
                            // undone the pre-flight says at its start).
                            if lg {
                                crate::pages::lg_rows::host_files().await;
                            }
                            Placed::Done(name, Box::new(changes))
                        });
                    }
                    Err(why) => self.refuse(Some(why)),
                }
                return;
            }
            Input::Cancel => {
                let _ = sender.output(Output::Cancel);
                return;
            }
            Input::OpenSetup => {
                let _ = sender.output(Output::OpenSetup);
                return;
            }
            Input::Failed(p) => self.problem = Some(p),
            Input::Dismiss => self.problem = None,
        }
        self.build(root, &sender);
    }

    fn update_cmd(&mut self, p: Placed, sender: ComponentSender<Self>, _: &Self::Root) {
        match p {
            Placed::Done(name, changes) => {
                let _ = sender.output(Output::Save { name, changes });
            }
            Placed::Refused(why) => self.refuse(Some(why)),
        }
    }
}

/// The ROM file placed (or none to place): Save goes on; or why it was not.
#[derive(Debug)]
pub enum Placed {
    Done(String, Box<Changes>),
    Refused(String),
}

impl VmEdit {
    /// The changes, checked against the host by the wizard's rules and against the domain by
    /// core's editor; or why they cannot be.
    fn checked(&self) -> Result<(String, Changes), String> {
        let (Some((o, _)), Some(was), Some(form)) = (&self.open, &self.was, &self.form) else {
            return Err(String::new());
        };
        let Some(l) = &o.loaded else {
            return Err(tr(
                "This computer is still being read; try again in a moment.",
            ));
        };
        let c = form.changes(was, &l.host).map_err(|e| e.why)?;
        settings::check(&l.host, &c).map_err(|e| e.why)?;
        // What this domain cannot take (a topology the vCPUs do not fit, Secure Boot without
        // the firmware libvirt chooses) is said here too, before Save.
        settings::edit(&o.xml, &c, o.running).map_err(|e| e.why)?;
        Ok((o.name.clone(), c))
    }

    /// The ROM file the helper places before Save, if the user gave a new one.
    fn rom_to_place(&self) -> Option<passage_core::vm::settings::RomFile> {
        let (Some(was), Some(form)) = (&self.was, &self.form) else {
            return None;
        };
        form.rom_change(was).ok().and_then(|(_, f)| f)
    }

    fn refuse(&self, why: Option<String>) {
        let why = why.filter(|w| !w.is_empty());
        self.refusal_group.set_visible(why.is_some());
        if let Some(w) = why {
            self.refusal.set_title(&super::glib_escape(&tr_f(
                "Cannot be saved: {why}",
                &[("why", &w)],
            )));
        }
    }

    /// What the rows are built from, once the VM and the host are there.
    fn cx<'a>(&'a self, sender: &'a ComponentSender<Self>) -> Option<groups::Cx<'a>> {
        let ((o, d), form) = (self.open.as_ref()?, self.form.as_ref()?);
        Some(groups::Cx {
            form,
            domain: d,
            host: &o.loaded.as_ref()?.host,
            running: o.running,
            s: sender,
        })
    }

    /// The hugepages' why follows the memory as it is typed (the rows stay, with the focus).
    fn hugepages_follow(&self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        if let (Some(cx), Some(row)) = (
            self.cx(sender),
            find_combo(root.upcast_ref(), "edit-hugepages"),
        ) {
            row.set_subtitle(&groups::hugepages_why(&cx));
        }
    }

    fn build(&mut self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        super::clear(root, &mut self.groups);
        let Some((o, _)) = &self.open else { return };
        let mut out = vec![self.head(o, sender), self.refusal_group.clone()];
        if let Some(p) = &self.problem {
            let s = sender.clone();
            out.push(super::problem::group(p, move || s.input(Input::Dismiss)));
        }
        if let Some(cx) = self.cx(sender) {
            out.extend([
                groups::resources(&cx),
                groups::disks(&cx),
                groups::discs(&cx),
                groups::firmware(&cx),
            ]);
            if cx.form.rom_card.is_some() {
                out.push(groups::rom(&cx));
            }
        }
        for g in out {
            root.add(&g);
            self.groups.push(g);
        }
    }

    /// The title, what applies when, Cancel and Save.
    fn head(&self, o: &Open, sender: &ComponentSender<Self>) -> adw::PreferencesGroup {
        let words = if o.running {
            tr("It is running: a new install or driver ISO goes in now; everything else is saved in its definition and applies from its next start.")
        } else {
            tr("Saved in libvirt's definition of the VM; everything else in it stays as it is.")
        };
        let g = rows::group(&tr_f("Edit {vm}", &[("vm", &o.name)]), &words);
        let bx = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        bx.append(&rows::button(sender, &tr("Cancel"), "edit-cancel", || {
            Input::Cancel
        }));
        let save = rows::button(sender, &tr("Save"), "edit-save", || Input::Save);
        save.add_css_class("suggested-action");
        bx.append(&save);
        g.set_header_suffix(Some(&bx));
        g
    }
}

/// The combo row named `name` below `w`.
fn find_combo(w: &gtk::Widget, name: &str) -> Option<adw::ComboRow> {
    if let Some(c) = w.downcast_ref::<adw::ComboRow>() {
        if c.widget_name() == name {
            return Some(c.clone());
        }
    }
    let mut c = w.first_child();
    while let Some(ch) = c {
        if let Some(found) = find_combo(&ch, name) {
            return Some(found);
        }
        c = ch.next_sibling();
    }
    None
}
