//! A VM's page: its state kept current (libvirt asked once a second while the page shows),
//! what it has, the last start's result, and its actions — Start (after the pre-flight), Shut
//! Down (gracefully, with the time it has taken, and Force Off offered after the timeout),
//! Force Off (asked first), Open Display, Add to / Remove from App Menu, Edit Devices, Authorize
//! its session (what libvirt's hook may take while it runs), Delete.
//! Nothing depends on the window staying open: libvirt runs the VM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::preflight::{self, Facts, Finding, Remedy};
use passage_core::vm::Domain;
use passage_virt::{GuestAgent, VmState};
use relm4::adw::prelude::*;
use relm4::gtk::glib;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use super::confirm::{confirm, confirm_force_off};
use super::problem::Problem;
use super::{clear, row};
use crate::host_source::Loaded;
use crate::workers::libvirt::{Details, Polled, Request};

#[derive(Debug)]
pub enum Input {
    Show(Box<Details>, Option<Arc<Loaded>>),
    /// The host read (again); a start asked for before it was read runs now.
    Host(Arc<Loaded>),
    State(Result<Polled, String>),
    /// An action failed: it shows on the page until dismissed or the next attempt.
    Failed(Problem),
    /// The user dismissed the problem shown.
    Dismiss,
    Tick,
    Start,
    /// Start, the only-GPU question answered (the desktop stops while the VM runs).
    StartConfirmed,
    ShutDown,
    ForceOff,
    OpenDisplay,
    /// Starts the Looking Glass client on the VM's shared memory.
    OpenLookingGlass,
    ToggleLauncher,
    /// Asks an administrator to authorize what the VM's session takes (the page's button, and
    /// right after the wizard made it).
    Authorize,
    /// Authorize, then Start once it is authorized (the express VM on a libvirt that runs
    /// hooks: the hook refuses a VM nobody authorized).
    AuthorizeThenStart,
    /// The VM was deleted: what was authorized for it goes.
    Revoke,
    Delete,
    Leave,
    /// A finding's button (see vm_remedy.rs).
    Remedy(Remedy),
    /// The image chosen for this drive (a missing image's remedy).
    ImageChosen(String, std::path::PathBuf),
    /// *Edit…*: the settings view for this VM.
    EditSettings,
    /// The edit was saved: what applies now and what from the next start, shown until
    /// dismissed or another VM's page.
    Edited(Box<passage_core::vm::settings::Edited>),
    DismissEdited,
    /// *Check Again* (and the agent coming up): ask the guest what it sees (vm_guest.rs).
    CheckGuest,
    GuestAnswered(super::vm_guest::Answer),
    /// The serial console's Connect / Disconnect.
    SerialConnect,
    Serial(crate::console::serial::Event),
    /// The display's Connect / Disconnect.
    DisplayConnect,
    /// A display session ended (its number; why, when it failed).
    DisplayEnded(u64, Option<String>),
}

#[derive(Debug)]
pub enum Cmd {
    /// The helper's words (`None`: the session takes nothing), or why it failed.
    Authorized(Result<Option<String>, String>),
    Revoked(Result<String, String>),
    /// The cards' own ROMs were read before a start: the verdicts, the warnings, and the start
    /// to go on with (the VM's name, the networks to start first).
    RomsChecked(
        super::vm_rom::Read,
        Vec<super::vm_rom::RomNote>,
        String,
        Vec<String>,
    ),
}

#[derive(Debug)]
pub enum Output {
    Worker(Request),
    Toast(String),
    Back,
    EditDevices(String),
    EditSettings(Box<super::vm_edit::Open>),
    /// Reserve hugepages through the helper; the host is read again after.
    Reserve {
        size_kib: u64,
        count: u64,
    },
    OpenSetup,
}

/// What the helper said about a VM's revoked authorization, for a toast (the VM's page is
/// gone; `None`: nothing to say).
fn revoked(r: Result<String, String>) -> Option<String> {
    r.err().map(|e| {
        tr_f(
            "What was authorized for the deleted VM is still recorded: {why}",
            &[("why", &e)],
        )
    })
}

/// What the pre-flight knows of libvirt for the VM in `d`: its networks, and whether the
/// connection's driver runs libvirt's hook.
pub(super) fn facts(d: &Details) -> Facts {
    Facts::of(&crate::workers::libvirt::uri(), Some(d.networks.clone()))
}

/// The pre-flight of `dom`: against this computer's host, or on a remote host against that
/// host as read there over SSH (its devices and memory) and libvirt's networks: this
/// computer's devices, memory and files are not the remote's (a toast says what is checked).
pub(super) fn preflight_of(dom: &Domain, l: &Loaded, d: &Details) -> Vec<Finding> {
    if crate::workers::libvirt::remote().is_some() {
        let host = crate::workers::libvirt::remote_host();
        preflight::check_remote(dom, host.as_deref(), &facts(d))
    } else {
        preflight::check(dom, &l.host, &l.root, &facts(d))
    }
}

/// What the last attempt said: the pre-flight's findings, or libvirt's refusal.
pub(super) enum LastStart {
    Refused(Vec<Finding>),
    /// A remedy's recheck found nothing.
    Passes,
    Failed(Problem),
}

pub struct VmDetail {
    pub(super) details: Option<Details>,
    pub(super) domain: Option<Domain>,
    pub(super) loaded: Option<Arc<Loaded>>,
    state: Option<VmState>,
    /// Its guest agent, as libvirt's live XML says.
    pub(super) agent: GuestAgent,
    shutdown_since: Option<Instant>,
    pub(super) last: Option<LastStart>,
    /// A remedy ran: check again when libvirt's details or the host come back.
    pub(super) recheck: bool,
    timer: Option<glib::SourceId>,
    groups: Vec<adw::PreferencesGroup>,
    /// Start was asked for before the host was read (an app-menu launcher opens the window).
    start_pending: bool,
    /// Start once the authorization asked for is given.
    start_when_authorized: bool,
    /// The last edit saved on this VM.
    edited: Option<passage_core::vm::settings::Edited>,
    /// What the guest said of the cards passed to it.
    pub(super) guest: super::vm_guest::GuestCheck,
    /// The cards' own ROMs read for a start, and what the last start said of them.
    roms: super::vm_rom::Read,
    rom_notes: Vec<super::vm_rom::RomNote>,
    serial: crate::console::serial::Serial,
    display: crate::console::display::Display,
}

fn state_words(s: Option<VmState>, shutting: Option<Instant>) -> String {
    match (s, shutting) {
        (Some(VmState::Running | VmState::ShuttingDown), Some(t)) => tr_f(
            "Shutting down… ({s} s)",
            &[("s", &t.elapsed().as_secs().to_string())],
        ),
        (Some(VmState::Off), _) => tr("Off"),
        (Some(VmState::Running), _) => tr("Running"),
        (Some(VmState::Paused), _) => tr("Paused"),
        (Some(VmState::ShuttingDown), _) => tr("Shutting down…"),
        (Some(VmState::Crashed), _) => tr("Crashed"),
        (Some(VmState::Other), _) => tr("Starting…"),
        (None, _) => tr("Unknown"),
    }
}

/// Whether a VM in state `s` has consoles to show.
fn running(s: Option<VmState>) -> bool {
    matches!(
        s,
        Some(VmState::Running | VmState::Paused | VmState::ShuttingDown)
    )
}

/// How long Shut Down waits before it offers Force Off (a setting; 2 minutes by default).
fn shutdown_timeout() -> Duration {
    Duration::from_secs(
        crate::settings::Settings::open()
            .map(|s| s.shutdown_timeout())
            .unwrap_or(120),
    )
}

impl Component for VmDetail {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = Cmd;
    type Root = adw::PreferencesPage;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let p = adw::PreferencesPage::new();
        p.set_widget_name("vm-page");
        p
    }

    fn init(_: (), _root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let s = sender.clone();
        let serial = crate::console::serial::Serial::new(move || s.input(Input::SerialConnect));
        let s = sender.clone();
        let display = crate::console::display::Display::new(move || s.input(Input::DisplayConnect));
        ComponentParts {
            model: VmDetail {
                details: None,
                domain: None,
                loaded: None,
                state: None,
                agent: GuestAgent::NoChannel,
                shutdown_since: None,
                last: None,
                timer: None,
                groups: vec![],
                start_pending: false,
                start_when_authorized: false,
                recheck: false,
                edited: None,
                guest: Default::default(),
                roms: Default::default(),
                rom_notes: vec![],
                serial,
                display,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Show(d, loaded) => {
                let new_vm = self.details.as_ref().is_none_or(|x| x.name != d.name);
                if new_vm {
                    self.edited = None;
                    self.rom_notes.clear();
                }
                self.domain = Domain::read(&d.xml).ok();
                self.state = Some(d.state);
                self.agent = d.agent;
                self.details = Some(*d);
                self.loaded = loaded;
                self.shutdown_since = None;
                self.last = None;
                self.start_pending = false;
                self.checked_again();
                self.poll(&sender);
                self.guest_shown(new_vm, &sender);
                self.serial_shown();
            }
            Input::Host(l) => {
                self.loaded = Some(l);
                self.checked_again();
                if std::mem::take(&mut self.start_pending) {
                    self.start(&sender);
                }
            }
            Input::State(Ok(Polled { state: s, agent })) => {
                if s == VmState::Off {
                    self.shutdown_since = None;
                }
                let changed = self.state != Some(s) || self.agent != agent;
                self.guest_polled(s, agent, &sender);
                self.state = Some(s);
                self.agent = agent;
                if changed {
                    self.serial_shown();
                }
                if !changed && self.shutdown_since.is_none() {
                    return;
                }
            }
            Input::State(Err(e)) => {
                // Polled once a second: shown once, and never over a failure the user has not
                // dismissed (a Delete whose image failed leaves no VM to ask about).
                if matches!(&self.last, Some(LastStart::Failed(_))) {
                    return;
                }
                self.last = Some(LastStart::Failed(super::problem::refused(e)));
            }
            Input::Failed(p) => self.last = Some(LastStart::Failed(p)),
            Input::Dismiss => self.last = None,
            Input::Tick => {
                if let Some(d) = &self.details {
                    let _ = sender.output(Output::Worker(Request::State(d.name.clone())));
                }
                return;
            }
            Input::Start if self.only_gpu() => self.confirm_only_gpu(root, &sender),
            Input::Start | Input::StartConfirmed => self.start(&sender),
            Input::ShutDown => {
                if let Some(d) = &self.details {
                    self.last = None;
                    self.shutdown_since = Some(Instant::now());
                    let _ = sender.output(Output::Worker(Request::Shutdown(d.name.clone())));
                }
            }
            Input::ForceOff => self.confirm_force_off(root, &sender),
            Input::OpenDisplay => self.open_display(root, &sender),
            Input::OpenLookingGlass => {
                if let Some(lg) = self.domain.as_ref().and_then(|d| d.looking_glass) {
                    if let Err(why) = super::vm_lg::open(&lg) {
                        let _ = sender.output(Output::Toast(why));
                    }
                }
                return;
            }
            Input::ToggleLauncher => self.toggle_launcher(&sender),
            Input::AuthorizeThenStart | Input::Authorize => {
                self.start_when_authorized = matches!(msg, Input::AuthorizeThenStart);
                if let Some(d) = &self.details {
                    let xml = d.xml.clone();
                    sender.oneshot_command(async move {
                        Cmd::Authorized(crate::pages::setup::helper::authorize_vm(&xml).await)
                    });
                }
                return;
            }
            Input::Revoke => {
                if let Some(d) = &self.details {
                    let uuid = d.uuid.clone();
                    sender.oneshot_command(async move {
                        Cmd::Revoked(crate::pages::setup::helper::revoke_vm(&uuid).await)
                    });
                }
                return;
            }
            Input::Delete => self.confirm_delete(root, &sender),
            Input::Remedy(r) => self.remedy(r, &sender),
            Input::ImageChosen(target, path) => self.image_chosen(&target, &path, &sender),
            Input::EditSettings => {
                if let Some(d) = &self.details {
                    let _ = sender.output(Output::EditSettings(Box::new(super::vm_edit::Open {
                        name: d.name.clone(),
                        xml: d.xml.clone(),
                        running: self.state == Some(VmState::Running),
                        loaded: self.loaded.clone(),
                    })));
                }
                return;
            }
            Input::Edited(e) => self.edited = Some(*e),
            Input::DismissEdited => self.edited = None,
            Input::CheckGuest => self.ask_guest(&sender),
            Input::GuestAnswered(a) => self.guest_answered(a),
            Input::SerialConnect => {
                let s = sender.clone();
                let uri = crate::workers::libvirt::uri();
                self.serial.toggle(&uri, move |e| s.input(Input::Serial(e)));
                return;
            }
            Input::Serial(e) => {
                self.serial.event(e);
                return;
            }
            Input::DisplayConnect => {
                let s = sender.clone();
                let uri = crate::workers::libvirt::uri();
                self.display
                    .toggle(&uri, move |id, why| s.input(Input::DisplayEnded(id, why)));
                return;
            }
            Input::DisplayEnded(id, why) => {
                self.display.ended(id, why);
                return;
            }
            Input::Leave => {
                if let Some(t) = self.timer.take() {
                    t.remove();
                }
                self.serial.leave();
                self.display.leave();
                return;
            }
        }
        self.build(root, &sender);
    }

    fn update_cmd(&mut self, cmd: Cmd, sender: ComponentSender<Self>, root: &Self::Root) {
        let words = match cmd {
            Cmd::Authorized(Ok(words)) => {
                if std::mem::take(&mut self.start_when_authorized) {
                    self.start(&sender);
                    self.build(root, &sender);
                }
                words
            }
            // A refusal stays on the page, with what to do, until the user acts.
            Cmd::Authorized(Err(e)) => {
                self.start_when_authorized = false;
                let vm = self.details.as_ref().map_or("", |d| d.name.as_str());
                self.last = Some(LastStart::Failed(super::problem::not_authorized(vm, e)));
                self.build(root, &sender);
                None
            }
            Cmd::Revoked(r) => revoked(r),
            Cmd::RomsChecked(read, notes, name, networks) => {
                self.roms = read;
                self.rom_notes = notes;
                let _ = sender.output(Output::Worker(Request::StartChecked { name, networks }));
                self.build(root, &sender);
                None
            }
        };
        if let Some(words) = words {
            let _ = sender.output(Output::Toast(words));
        }
    }
}

impl VmDetail {
    /// libvirt is asked for the state once a second while the page shows.
    fn poll(&mut self, sender: &ComponentSender<Self>) {
        if self.timer.is_none() {
            let s = sender.clone();
            self.timer = Some(glib::timeout_add_seconds_local(1, move || {
                s.input(Input::Tick);
                glib::ControlFlow::Continue
            }));
        }
    }

    /// The pre-flight, then the start (with the networks Passage may start first).
    fn start(&mut self, sender: &ComponentSender<Self>) {
        let (Some(d), Some(dom)) = (&self.details, &self.domain) else {
            return;
        };
        let Some(l) = &self.loaded else {
            self.start_pending = true;
            return;
        };
        let found = preflight_of(dom, l, d);
        // A stopped network does not stop the start (Passage starts it first); shown with
        // its button beside what does.
        if found
            .iter()
            .any(|f| !matches!(f.remedy, Some(Remedy::StartNetwork { .. })))
        {
            self.last = Some(LastStart::Refused(found));
            return;
        }
        let nets = found;
        self.last = None;
        let networks = nets
            .iter()
            .filter_map(|f| match &f.remedy {
                Some(Remedy::StartNetwork { network }) => Some(network.clone()),
                _ => None,
            })
            .collect();
        self.state = Some(VmState::Other);
        self.rom_notes.clear();
        let cards = if crate::workers::libvirt::remote().is_some() {
            vec![]
        } else {
            passage_core::vm::rom_check::cards_to_read(dom, &l.host)
        };
        let name = d.name.clone();
        if cards.is_empty() {
            let _ = sender.output(Output::Worker(Request::StartChecked { name, networks }));
            return;
        }
        // Read before QEMU holds the card: the helper does not switch on a ROM in use.
        let (known, l) = (self.roms.clone(), l.clone());
        sender.oneshot_command(async move {
            let (read, notes) = super::vm_rom::check(cards, known, &l.host).await;
            Cmd::RomsChecked(read, notes, name, networks)
        });
    }

    /// The VM takes the host's only card: its start stops the desktop.
    fn only_gpu(&self) -> bool {
        self.domain.as_ref().is_some_and(|d| {
            passage_core::vm::session::SessionSettings::of(d).gpu_mode
                == passage_core::vm::session::GpuMode::OnlyGpu
        })
    }

    /// Asks before an only-GPU start, naming what stops on this host (on a remote host, in
    /// general words: its sessions are not read from here) and warning about unsaved work.
    fn confirm_only_gpu(&self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        use passage_core::host::desktop_question::{question, WhatStops};
        let Some(d) = &self.details else { return };
        let what = match &self.loaded {
            Some(l) if crate::workers::libvirt::remote().is_none() => WhatStops::of(&l.root),
            _ => WhatStops::default(),
        };
        let (heading, body, yes) = question(&d.name, &what);
        let s = sender.clone();
        let _ = confirm(root, (&heading, &body, &yes), move || {
            s.input(Input::StartConfirmed)
        });
    }

    fn confirm_force_off(&self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        let Some(d) = &self.details else { return };
        let (s, name) = (sender.clone(), d.name.clone());
        confirm_force_off(root, &d.name, move || {
            let _ = s.output(Output::Worker(Request::Stop(name.clone())));
        });
    }

    fn confirm_delete(&self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        let Some(d) = &self.details else { return };
        let disks: Vec<String> = self
            .domain
            .iter()
            .flat_map(|dom| &dom.disks)
            .filter_map(|x| x.source.clone())
            .collect();
        let tick = gtk::CheckButton::with_label(&tr("Also delete its disk images"));
        tick.set_widget_name("delete-disks");
        tick.set_sensitive(!disks.is_empty());
        let (s, name, uuid, t) = (sender.clone(), d.name.clone(), d.uuid.clone(), tick.clone());
        let dialog = confirm(
            root,
            (
                &tr_f("Delete {vm}?", &[("vm", &d.name)]),
                &tr("Its definition and UEFI variables are removed from libvirt, and its launcher from the app menu. Its disk images are kept unless you tick them below."),
                &tr("_Delete"),
            ),
            move || {
                let _ = crate::launcher::remove(&uuid);
                let disks = if t.is_active() { disks.clone() } else { vec![] };
                let _ = s.output(Output::Worker(Request::Delete {
                    name: name.clone(),
                    disks,
                }));
            },
        );
        dialog.set_extra_child(Some(&tick));
    }

    fn open_display(&self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        let Some(d) = &self.details else { return };
        let mut viewer = std::process::Command::new("virt-viewer");
        // --attach takes the display from libvirt as a file descriptor, which cannot cross
        // to a remote host: there virt-viewer reaches the display through the URI's SSH.
        if crate::workers::libvirt::remote().is_none() {
            viewer.arg("--attach");
        }
        let spawned = viewer
            .args(["--connect", &crate::workers::libvirt::uri(), &d.name])
            .stdin(std::process::Stdio::null())
            .spawn();
        if spawned.is_err() {
            super::vm_remedy::install_dialog(root, "virt-viewer", sender);
        }
    }

    fn toggle_launcher(&self, sender: &ComponentSender<Self>) {
        let Some(d) = &self.details else { return };
        let r = if crate::launcher::exists(&d.uuid) {
            crate::launcher::remove(&d.uuid)
                .map(|()| tr_f("{vm} is no longer in the app menu", &[("vm", &d.name)]))
        } else {
            crate::launcher::add(&d.name, &d.uuid).map(|_| {
                tr_f(
                    "{vm} is in the app menu: one click starts it",
                    &[("vm", &d.name)],
                )
            })
        };
        let _ = sender.output(Output::Toast(r.unwrap_or_else(|e| e.to_string())));
    }

    fn build(&mut self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        clear(root, &mut self.groups);
        let Some(d) = &self.details else { return };
        let display = self.domain.as_ref().is_some_and(Domain::has_viewer_display);
        let mut groups = vec![super::vm_view::state_group(
            d,
            (
                &state_words(self.state, self.shutdown_since),
                self.state,
                display,
            ),
            sender,
        )];
        if let Some(g) = self.overdue() {
            groups.push(g);
        }
        groups.push(self.display.group().clone());
        groups.push(self.serial.group().clone());
        match &self.last {
            Some(LastStart::Refused(f)) => groups.push(super::vm_view::refused(f, sender)),
            Some(LastStart::Passes) => groups.push(super::vm_view::passes()),
            Some(LastStart::Failed(p)) => {
                let s = sender.clone();
                groups.push(super::problem::group(p, move || s.input(Input::Dismiss)));
            }
            None => {}
        }
        if !self.rom_notes.is_empty() {
            groups.push(super::vm_rom::group(&self.rom_notes));
        }
        if let Some(e) = &self.edited {
            let s = sender.clone();
            groups.push(super::vm_saved::group(e, sender, move || {
                s.input(Input::DismissEdited)
            }));
        }
        if let (Some(dom), Some(l)) = (&self.domain, &self.loaded) {
            groups.push(super::vm_view::contents(dom, &l.host, self.agent));
        }
        if let Some(lg) = self.domain.as_ref().and_then(|d| d.looking_glass) {
            groups.push(super::vm_lg::group(&lg, sender));
        }
        if let Some(g) = self
            .domain
            .as_ref()
            .and_then(|dom| super::vm_install::group(dom, self.state, self.agent))
        {
            groups.push(g);
        }
        groups.push(self.guest.group((self.state, self.agent), sender));
        groups.push(super::vm_view::manage(d, sender));
        for g in groups {
            root.add(&g);
            self.groups.push(g);
        }
    }

    /// The serial console follows the VM shown and its state.
    fn serial_shown(&mut self) {
        use crate::console::serial::Can;
        let Some(d) = &self.details else { return };
        let can = if !self.domain.as_ref().is_some_and(|d| d.serial_console) {
            Can::NoPort
        } else if running(self.state) {
            Can::Connect
        } else {
            Can::NotRunning
        };
        self.serial.show(&d.name, can);
        use crate::console::display::{choose, Can as Shows};
        let shown = self.domain.as_ref().and_then(|d| choose(&d.graphics));
        let shows = match (shown, can) {
            (None, _) => Shows::NoDisplay,
            (Some(_), Can::NotRunning) => Shows::NotRunning,
            (Some((i, protocol)), _) if running(self.state) => Shows::Connect(i, protocol),
            (Some(_), _) => Shows::NotRunning,
        };
        self.display.show(&d.name, shows);
    }

    /// After the timeout, Shut Down offers Force Off.
    fn overdue(&self) -> Option<adw::PreferencesGroup> {
        let since = self.shutdown_since?;
        if since.elapsed() < shutdown_timeout() {
            return None;
        }
        let g = adw::PreferencesGroup::new();
        let r = row(
            &tr("The guest has not shut down"),
            &tr("It may be asking something on its screen, or saving work. Force it off only if it is stuck: unsaved work is lost."),
        );
        r.set_widget_name("overdue");
        g.add(&r);
        Some(g)
    }
}
