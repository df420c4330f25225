//! The express VM's dialog (“Create a Gaming VM…” / “Create an ML VM…”): the name, the
//! installer ISO (the app's file chooser) and the disk size; everything else is core's
//! recommendation for this host and card (`vm::express`), summed up in a line with its details
//! below. *Create* defines the VM and the window then starts it through its page's pre-flight;
//! *Customize…* opens the wizard on the same draft.

use std::sync::Arc;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::devices::Selection;
use passage_core::vm::draft::Draft;
use passage_core::vm::express::{self, Context, Express, Request};
use passage_core::vm::installer::read_volume_label;
use passage_core::vm::unattended::{valid_login, virtio_win, Account, Locale, Secret};
use passage_core::vm::Purpose;
use relm4::adw::prelude::*;
use relm4::{adw, Component, ComponentParts, ComponentSender};

use crate::host_source::Loaded;
use crate::pages::chooser;
use crate::pages::wizard::rows;
use crate::workers::libvirt::{NewVolume, Taken};
use crate::workers::unattended::Job;

mod auto;
mod view;

pub struct Init {
    pub parent: adw::ApplicationWindow,
    pub loaded: Arc<Loaded>,
    pub selection: Selection,
    pub purpose: Purpose,
    /// Host setup's GPU mode and the host's Hyper-V support; libvirt's names come as `Taken`.
    pub context: Context,
}

#[derive(Debug)]
pub enum Input {
    Name(String),
    Iso(String),
    Disk(u64),
    /// Looking Glass for this monitor, or none.
    LookingGlass(Option<passage_core::vm::looking_glass::Monitor>),
    /// What libvirt holds: names taken, the pool's free space.
    Taken(Taken),
    Create,
    Customize,
    /// libvirt refused the Create: said in the dialog, which stays open.
    Failed(String),
    /// “Install automatically”, its account name and password.
    Unattended(bool),
    Login(String),
    Password(Secret),
    VirtioWin(String),
}

#[derive(Debug)]
pub enum Output {
    Create {
        name: String,
        xml: String,
        volume: Option<NewVolume>,
        unattended: Option<Box<Job>>,
    },
    Customize(Box<Draft>),
}

pub struct ExpressDialog {
    loaded: Arc<Loaded>,
    selection: Selection,
    req: Request,
    ctx: Context,
    made: Result<Express, String>,
    creating: bool,
    /// Why the last Create was refused; cleared when the name, ISO, disk or libvirt's names
    /// change, so Create can be tried again.
    failed: Option<String>,
    /// Looking Glass's monitor, set on the recommended draft.
    looking_glass: Option<passage_core::vm::looking_glass::Monitor>,
    /// The unattended install's account, when it is switched on.
    auto: Option<(String, Secret)>,
    login: String,
    /// The virtio-win ISO: found where distributions put it, or chosen.
    virtio_win: String,
    view: view::View,
}

impl Component for ExpressDialog {
    type Init = Init;
    type Input = Input;
    type Output = Output;
    /// The ISO and the volume label read from it (off the main loop).
    type CommandOutput = (String, Option<String>);
    type Root = adw::Window;
    type Widgets = ();

    fn init_root() -> Self::Root {
        adw::Window::builder().modal(true).build()
    }

    fn init(init: Init, w: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        w.set_transient_for(Some(&init.parent));
        // As wide as the window it belongs to, within what a dialog needs.
        w.set_default_size(init.parent.width().clamp(360, 520), 620);
        w.set_widget_name("express");
        let req = Request {
            purpose: init.purpose,
            iso: String::new(),
            label: None,
            name: None,
            disk_gib: None,
        };
        let card = init
            .loaded
            .host
            .device(init.selection.gpu)
            .map(|d| d.display_name())
            .unwrap_or_default();
        let backing = passage_core::vm::looking_glass::Backing::of(&init.loaded.root);
        let login = std::env::var("USER").unwrap_or_default();
        let virtio_win = virtio_win::find(None, std::path::Path::new("/"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let view = view::View::new(
            &w,
            init.purpose,
            &card,
            backing,
            (&login, &virtio_win),
            &sender,
        );
        crate::a11y::close_on_escape(w.upcast_ref());
        let mut model = ExpressDialog {
            loaded: init.loaded,
            selection: init.selection,
            req,
            ctx: init.context,
            made: Err(String::new()),
            creating: false,
            failed: None,
            looking_glass: None,
            auto: None,
            login,
            virtio_win,
            view,
        };
        model.refresh();
        w.present();
        ComponentParts { model, widgets: () }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, w: &Self::Root) {
        match msg {
            Input::Name(n) => {
                if self.made.as_ref().is_ok_and(|e| e.draft.name == n) {
                    return;
                }
                self.req.name = Some(n);
                self.failed = None;
            }
            Input::Iso(path) => {
                if path == self.req.iso {
                    return;
                }
                self.req.iso = path.clone();
                self.req.label = None;
                self.failed = None;
                if !path.is_empty() {
                    sender.spawn_oneshot_command(move || {
                        let label = read_volume_label(std::path::Path::new(&path));
                        (path, label)
                    });
                }
            }
            Input::Disk(g) => {
                if self.disk_gib() == Some(g) {
                    return;
                }
                self.req.disk_gib = Some(g);
                self.failed = None;
            }
            Input::LookingGlass(m) => {
                if m == self.looking_glass {
                    return;
                }
                self.looking_glass = m;
            }
            Input::Taken(t) => {
                let keep = (self.ctx.gpu_mode, self.ctx.hyperv_supported.take());
                self.ctx = t.context();
                (self.ctx.gpu_mode, self.ctx.hyperv_supported) = keep;
                self.failed = None;
            }
            Input::Create => return self.create(&sender),
            Input::Customize => {
                if let Ok(e) = &self.made {
                    let _ = sender.output(Output::Customize(Box::new(e.draft.clone())));
                    w.close();
                }
                return;
            }
            Input::Failed(why) => {
                self.creating = false;
                self.failed = Some(why);
            }
            Input::Unattended(on) => {
                self.auto = on.then(|| (self.login.clone(), Secret::default()));
            }
            Input::Login(l) => {
                self.login = l.clone();
                if let Some(a) = &mut self.auto {
                    a.0 = l;
                }
            }
            Input::Password(p) => {
                if let Some(a) = &mut self.auto {
                    a.1 = p;
                }
            }
            Input::VirtioWin(p) => self.virtio_win = p,
        }
        self.refresh();
    }

    fn update_cmd(
        &mut self,
        (iso, label): (String, Option<String>),
        _sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        if iso == self.req.iso {
            self.req.label = label;
            self.refresh();
        }
    }
}

impl ExpressDialog {
    fn disk_gib(&self) -> Option<u64> {
        match self.made.as_ref().ok()?.draft.storage {
            passage_core::vm::draft::Storage::New { gib, .. } => Some(gib),
            _ => None,
        }
    }

    /// The recommendation for what the dialog holds now, and the dialog showing it.
    fn refresh(&mut self) {
        let host = &self.loaded.host;
        self.made = express::recommend(host, self.selection.clone(), &self.req, &self.ctx)
            .map_err(|e| e.to_string());
        if let Ok(e) = &mut self.made {
            e.draft.looking_glass = self.looking_glass;
            e.draft.lg_backing = passage_core::vm::looking_glass::Backing::of(&self.loaded.root);
        }
        let problem = self.problem();
        self.view
            .show(host, &self.made, problem.as_deref(), self.creating);
    }

    /// Why Create cannot go yet, in words; `None` when it can.
    fn problem(&self) -> Option<String> {
        if let Some(f) = &self.failed {
            return Some(f.clone());
        }
        if self.req.iso.is_empty() {
            return Some(tr("Choose the installer's disc image (ISO)."));
        }
        if !std::path::Path::new(&self.req.iso).is_file() {
            return Some(tr_f(
                "{iso} is not a file on this computer.",
                &[("iso", &self.req.iso)],
            ));
        }
        let e = match &self.made {
            Ok(e) => e,
            Err(why) => return Some(why.clone()),
        };
        if let Some(c) = express::clashes(&e.draft, &self.ctx).into_iter().next() {
            return Some(c);
        }
        if let Some((login, password)) = &self.auto {
            if !valid_login(login) {
                return Some(tr("The account name is lower-case letters, digits, _ and -, starting with a letter."));
            }
            if password.expose().is_empty() {
                return Some(tr("Give the account's password to install automatically."));
            }
            // Windows Setup needs the virtio drivers; Passage cannot tell Linux from the
            // name alone, so only an ISO read as Windows asks for them here.
            if e.installer.is_windows() && !std::path::Path::new(&self.virtio_win).is_file() {
                return Some(virtio_win::missing());
            }
        }
        e.draft.spec(&self.loaded.host).err().map(|e| e.to_string())
    }

    fn create(&mut self, sender: &ComponentSender<Self>) {
        if self.creating || self.problem().is_some() {
            return;
        }
        let Ok(e) = &self.made else { return };
        let xml = match e.draft.domain_xml(&self.loaded.host) {
            Ok(x) => x,
            Err(err) => {
                self.failed = Some(err.to_string());
                return self.refresh();
            }
        };
        let unattended = match (&self.auto, e.draft.spec(&self.loaded.host)) {
            (Some((login, password)), Ok(spec)) => Some(Box::new(Job {
                spec,
                iso: self.req.iso.clone().into(),
                account: Account {
                    login: login.clone(),
                    realname: login.clone(),
                    password: password.clone(),
                },
                locale: Locale::of_this_desktop(),
                virtio_win: Some(self.virtio_win.clone().into())
                    .filter(|p: &std::path::PathBuf| p.is_file()),
            })),
            _ => None,
        };
        let _ = sender.output(Output::Create {
            name: e.draft.name.clone(),
            xml,
            volume: crate::wizard::new_volume(&e.draft),
            unattended,
        });
        self.creating = true;
        self.refresh();
    }
}

/// The ISO row's title, which titles its chooser too.
fn iso_title() -> String {
    tr("Installation disc image (ISO)")
}

/// The ISO entry with the button that opens the app's chooser for disc images.
fn iso_row(sender: &ComponentSender<ExpressDialog>) -> adw::EntryRow {
    let e = adw::EntryRow::new();
    let title = iso_title();
    e.set_title(&title);
    e.set_widget_name("express-iso");
    crate::a11y::hide_decorations(e.upcast_ref());
    let s = sender.clone();
    e.connect_changed(move |e| s.input(Input::Iso(e.text().trim().to_string())));
    e.add_suffix(&rows::choose_button(
        &e,
        &title,
        "express-iso",
        chooser::Kind::Iso,
    ));
    e
}

/// Opens the dialog for `purpose` on the card of `selection`.
pub fn open(
    init: Init,
    sender: &ComponentSender<crate::app::App>,
) -> relm4::Controller<ExpressDialog> {
    ExpressDialog::builder()
        .launch(init)
        .forward(sender.input_sender(), |o| match o {
            Output::Create {
                name,
                xml,
                volume,
                unattended,
            } => crate::messages::Msg::ExpressCreate {
                name,
                xml,
                volume,
                unattended,
            },
            Output::Customize(d) => crate::messages::Msg::ExpressCustomize(d),
        })
}
