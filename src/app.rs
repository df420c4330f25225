//! The window: a sidebar of steps and the page beside it (an AdwLeaflet, so it folds into one
//! column on a narrow screen), the demo banner, toasts, and the app's actions.

use std::sync::Arc;

use passage_core::check::{self, Finding, FixAction, Report};
use passage_core::i18n::{tr, tr_f, tr_n};
use passage_core::plan::Intent;
use relm4::adw::prelude::*;
use relm4::gtk::glib;
use relm4::{
    adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller,
};

use crate::config;
use crate::host_source::{self, Loaded, Wanted};
use crate::logic::{self, Selection};
use crate::pages::setup::Target;
use crate::pages::wizard as wizard_page;
use crate::pages::{check as check_page, devices, setup, vms};
use crate::settings::Settings;
use crate::wizard::Step;

pub use crate::window::Page;

pub use crate::messages::{Cmd, Init, Msg};

pub struct App {
    wanted: Wanted,
    loaded: Option<Arc<Loaded>>,
    report: Option<Arc<Report>>,
    selection: Option<Selection>,
    target: Option<Target>,
    page: Page,
    /// Pages whose content is older than the host or the choice: rebuilt when next shown, so
    /// opening the window builds only the first page.
    stale: Vec<Page>,
    /// What changed across a restart (System check shows it).
    changed: Vec<String>,
    settings: Option<Settings>,
    check: Controller<check_page::CheckPage>,
    devices: Controller<devices::DevicesPage>,
    setup: Controller<setup::SetupPage>,
    vms: Controller<vms::VmsPage>,
    /// The wizard's pages, each built when first shown.
    wizard: Controller<wizard_page::Wizard>,
    /// An existing VM's devices being edited, and the dialog.
    edit: Option<Controller<crate::components::passthrough::DevicesDialog>>,
}

pub struct Widgets {
    window: adw::ApplicationWindow,
    toasts: crate::toasts::Toasts,
    leaflet: adw::Leaflet,
    content: gtk::Box,
    sidebar: gtk::ListBox,
    stack: gtk::Stack,
    title: adw::WindowTitle,
    banner: gtk::Revealer,
    banner_label: gtk::Label,
    badge: gtk::Label,
    error: adw::StatusPage,
}

impl Component for App {
    type Init = Init;
    type Input = Msg;
    type Output = ();
    type CommandOutput = Cmd;
    type Root = adw::ApplicationWindow;
    type Widgets = Widgets;

    fn init_root() -> Self::Root {
        // No window icon: the shell takes it from the desktop file (by app id); loading the SVG
        // for X11's window icon pulled in librsvg at start-up, 6.5 MB and several ms.
        adw::ApplicationWindow::builder()
            .title(tr("Passage"))
            .width_request(360)
            .height_request(294)
            .build()
    }

    fn init(init: Init, window: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let settings = Settings::open();
        let (w, h, max) = settings
            .as_ref()
            .map(Settings::window)
            .unwrap_or((960, 680, false));
        window.set_default_size(w, h);
        if max {
            window.maximize();
        }
        if config::is_devel() {
            window.add_css_class("devel");
        }

        let side = crate::window::Side::new(&sender);
        let c = crate::window::Content::new();
        let check = check_page::CheckPage::builder().launch(()).forward(
            sender.input_sender(),
            |o| match o {
                check_page::Output::Fix(f) => Msg::Fix(f),
                check_page::Output::Next => Msg::Navigate(Page::Devices),
            },
        );
        let devices = devices::DevicesPage::builder().launch(()).forward(
            sender.input_sender(),
            |o| match o {
                devices::Output::Chose(s) => Msg::Chose(s),
                devices::Output::Refused(why) => Msg::Refused(why),
                devices::Output::Next => Msg::Navigate(Page::Setup),
            },
        );
        let setup = setup::SetupPage::builder()
            .launch(())
            .forward(sender.input_sender(), |o| match o {
                setup::Output::Toast(t) => Msg::Toast(t),
                setup::Output::Mode(m) => Msg::WizardSet(crate::wizard::Choice::GpuMode(m)),
                setup::Output::Applied => Msg::Applied,
                setup::Output::Undone => Msg::Undone,
                setup::Output::Next => Msg::Navigate(Page::Vm(Step::ALL[0])),
            });
        let vms = vms::VmsPage::builder()
            .launch(())
            .forward(sender.input_sender(), |o| match o {
                vms::Output::Toast(t) => Msg::Toast(t),
                vms::Output::CreateFailed(p) => Msg::CreateFailed(p),
                vms::Output::Taken(t) => Msg::Taken(t),
                vms::Output::Started(name) => Msg::Started(name),
                vms::Output::Progress(f) => Msg::CreateProgress(f),
                vms::Output::Created(name) => Msg::Created(name),
                vms::Output::EditDevices(name) => Msg::EditDevices(name),
                vms::Output::Xml(name, xml) => Msg::EditOpen(name, xml),
                vms::Output::Hyperv(hv) => Msg::HostHyperv(hv),
                vms::Output::NewVm => Msg::Navigate(Page::Vm(Step::ALL[0])),
                vms::Output::Reserve { size_kib, count } => Msg::Reserve { size_kib, count },
                vms::Output::OpenSetup => Msg::Navigate(Page::Setup),
            });
        c.stack.add_named(check.widget(), Some(Page::Check.id()));
        c.stack
            .add_named(devices.widget(), Some(Page::Devices.id()));
        c.stack.add_named(setup.widget(), Some(Page::Setup.id()));
        c.stack.add_named(vms.widget(), Some(Page::Vms.id()));
        let wizard =
            wizard_page::Wizard::builder()
                .launch(())
                .forward(sender.input_sender(), |o| match o {
                    wizard_page::Output::Toast(t) => Msg::Toast(t),
                    wizard_page::Output::Go(to) => Msg::Navigate(Page::Vm(to)),
                    wizard_page::Output::Devices => Msg::Navigate(Page::Devices),
                    wizard_page::Output::Create { xml, volume } => Msg::CreateVm { xml, volume },
                    wizard_page::Output::Mode(m) => Msg::SetupMode(m),
                    wizard_page::Output::BootExtras(i) => Msg::SetupExtras(i),
                    wizard_page::Output::NeedTaken => Msg::NeedTaken,
                });
        c.stack.add_named(wizard.widget(), Some("wizard"));
        c.stack.set_visible_child_name("loading");
        crate::a11y::follow_stack(&c.stack);

        let (leaflet, content) = crate::window::leaflet(&side, &c);
        crate::a11y::follow_leaflet(&leaflet);

        let toasts = crate::toasts::Toasts::new(&leaflet);
        window.set_content(Some(toasts.widget()));

        let widgets = Widgets {
            window: window.clone(),
            toasts,
            leaflet,
            content,
            sidebar: side.list,
            stack: c.stack,
            title: c.title,
            banner: c.banner,
            banner_label: c.banner_label,
            badge: side.badge,
            error: c.error,
        };
        crate::actions::install(&window, &sender);
        if let Some(st) = &settings {
            let st = st.clone();
            window.connect_close_request(move |w| {
                st.save_window(w.default_width(), w.default_height(), w.is_maximized());
                glib::Propagation::Proceed
            });
        }

        let model = App {
            wanted: init.wanted,
            loaded: None,
            report: None,
            selection: None,
            target: None,
            page: Page::Check,
            stale: vec![],
            changed: vec![],
            settings,
            check,
            devices,
            setup,
            vms,
            wizard,
            edit: None,
        };
        // The host is read once the first frame is on screen: on a small machine the scan (and
        // laying down the demo host) would otherwise compete with drawing the window.
        let s = sender.clone();
        let started = std::cell::Cell::new(false);
        window.connect_realize(move |w| {
            if let Some(clock) = w.frame_clock() {
                let s = s.clone();
                let started = started.clone();
                clock.connect_after_paint(move |_| {
                    if !started.replace(true) {
                        s.input(Msg::Rescan);
                    }
                });
            }
        });
        if init.start_last_vm {
            sender.input(Msg::StartLastVm);
        }
        if let Some(uuid) = init.start_vm {
            sender.input(Msg::Navigate(Page::Vms));
            model.vms.emit(vms::Input::StartUuid(uuid));
        }
        ComponentParts { model, widgets }
    }

    fn update_with_view(
        &mut self,
        w: &mut Widgets,
        msg: Msg,
        sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        match msg {
            Msg::Navigate(p) => {
                self.page = p;
                if p == Page::Vms {
                    self.vms.emit(vms::Input::Refresh);
                }
                if self.loaded.is_some() {
                    self.show_page(w);
                }
                w.leaflet.set_visible_child(&w.content);
                crate::window::focus_page(&w.stack);
            }
            Msg::Rescan => {
                w.stack.set_visible_child_name("loading");
                self.load(&sender);
            }
            Msg::Chose(s) => {
                self.selection = Some(s.clone());
                self.target = Some(Target::Gpu(s.clone()));
                self.wizard.emit(wizard_page::Input::Card(s.clone()));
                self.name_card();
                self.stale(&[Page::Setup]);
                let name = self
                    .loaded
                    .as_ref()
                    .and_then(|l| l.host.device(s.gpu))
                    .map(|d| d.display_name())
                    .unwrap_or_default();
                toast(
                    w,
                    &tr_n(
                        "{gpu} (group {group}, {n} device) is chosen for the VM",
                        "{gpu} (group {group}, {n} devices) is chosen for the VM",
                        s.devices.len() as u64,
                        &[("gpu", &name), ("group", &s.group.to_string())],
                    ),
                );
            }
            Msg::ChooseGpu(a) => match a.parse() {
                Ok(addr) => self.devices.emit(devices::Input::Choose(addr)),
                Err(e) => toast(w, &format!("{e}")),
            },
            Msg::Refused(why) => {
                let d = adw::MessageDialog::new(
                    Some(&w.window),
                    Some(&tr("This Card Stays With the Host")),
                    Some(&why),
                );
                d.add_response("ok", &tr("_OK"));
                d.present();
            }
            Msg::Fix(f) => self.fix(w, f, &sender),
            Msg::Reserve { size_kib, count } => {
                sender.oneshot_command(async move {
                    Cmd::Reserved(setup::helper::reserve_hugepages(size_kib, count).await)
                });
            }
            Msg::Toast(t) => toast(w, &t),
            Msg::Apply => self.setup.emit(setup::Input::Apply),
            Msg::Undo(id) => self.setup.emit(setup::Input::Undo(id)),
            Msg::UndoAll => self.setup.emit(setup::Input::UndoAll),
            Msg::KeepBoot(id) => self.setup.emit(setup::Input::KeepBoot(id)),
            Msg::SetupMode(m) => self.setup.emit(setup::Input::Mode(m)),
            Msg::SetupExtras(i) => self.setup.emit(setup::Input::Extras(i)),
            Msg::Applied => {
                if let (Some(st), Some(r), Some(l)) = (&self.settings, &self.report, &self.loaded) {
                    crate::restart::remember(st, l, r);
                }
                // Read the files again: the plan now shows what is left (nothing, normally).
                self.load(&sender);
                let s = sender.clone();
                crate::restart::ask(&w.window, move || {
                    s.oneshot_command(async { Cmd::Rebooted(crate::restart::reboot().await) });
                });
            }
            Msg::Undone => self.load(&sender),
            Msg::About => crate::about::show(&w.window),
            Msg::Started(name) => {
                if let Some(st) = &self.settings {
                    st.set_last_vm(&name);
                }
            }
            Msg::ShowVm(name) => {
                self.page = Page::Vms;
                self.show_page(w);
                self.vms.emit(vms::Input::Open(name));
            }
            Msg::ShownVm(i) => self.vms.emit(vms::Input::Shown(i)),
            Msg::StartLastVm => {
                self.page = Page::Vms;
                if self.loaded.is_some() {
                    self.show_page(w);
                }
                match self.settings.as_ref().and_then(Settings::last_vm) {
                    // The VM's page, its pre-flight, then the start: as the list starts it.
                    Some(name) => self.vms.emit(vms::Input::Start(name)),
                    None => toast(w, &tr("No VM has been started from Passage yet: start one here, and the launcher's “Start the Last VM” will start it next time.")),
                }
            }
            Msg::WizardSet(choice) => self.wizard.emit(wizard_page::Input::Set(choice)),
            Msg::WizardCreate => self.wizard.emit(wizard_page::Input::Create),
            Msg::CreateVm { xml, volume } => self.vms.emit(vms::Input::Create { xml, volume }),
            Msg::CreateProgress(f) => self.wizard.emit(wizard_page::Input::Progress(f)),
            Msg::CreateFailed(p) => self.wizard.emit(wizard_page::Input::CreateFailed(p)),
            Msg::NeedTaken => self
                .vms
                .emit(vms::Input::Taken(crate::wizard::POOL.to_string())),
            Msg::Taken(t) => self.wizard.emit(wizard_page::Input::Taken(t)),
            Msg::Created(name) => {
                self.wizard.emit(wizard_page::Input::Created);
                toast(w, &tr_f("{vm} is defined in libvirt", &[("vm", &name)]));
                // The new VM's page (the VMs page kept showing the last VM opened before).
                self.page = Page::Vms;
                self.show_page(w);
                self.vms.emit(vms::Input::Open(name));
            }
            Msg::EditDevices(name) => self.vms.emit(vms::Input::FetchXml(name)),
            Msg::HostHyperv(hv) => self.wizard.emit(wizard_page::Input::Hyperv(hv)),
            Msg::EditOpen(name, xml) => {
                let Some(l) = &self.loaded else { return };
                match crate::components::passthrough::open(&w.window, l, &xml, &sender) {
                    Ok(c) => self.edit = Some(c),
                    Err(e) => toast(w, &tr_f("{vm}: {why}", &[("vm", &name), ("why", &e)])),
                }
            }
            Msg::EditSet(choice) => {
                if let Some(c) = &self.edit {
                    c.emit(crate::components::passthrough::Input::Set(choice));
                }
            }
            Msg::EditSave => {
                if let Some(c) = &self.edit {
                    c.emit(crate::components::passthrough::Input::Save);
                }
            }
            Msg::EditSaved(xml) => {
                self.edit = None;
                self.vms.emit(vms::Input::Define(xml));
            }
            Msg::Dump(path) => {
                if let Err(e) = crate::debug::dump(w.window.upcast_ref(), &path) {
                    eprintln!("passage: cannot write the widget dump {path}: {e}");
                }
            }
        }
    }

    fn update_cmd_with_view(
        &mut self,
        w: &mut Widgets,
        msg: Cmd,
        sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        match msg {
            Cmd::Reserved(Ok(summary)) => {
                toast(w, &summary);
                // Read the host again: System Check and the VM's pre-flight check anew.
                self.load(&sender);
            }
            Cmd::Reserved(Err(e)) => {
                let d = adw::MessageDialog::new(
                    Some(&w.window),
                    Some(&tr("The Hugepages Were Not Reserved")),
                    Some(&e),
                );
                d.add_response("ok", &tr("_OK"));
                d.present();
            }
            Cmd::Loaded(Err(e), _) => {
                w.error.set_description(Some(&e));
                w.error.set_icon_name(Some("dialog-error-symbolic"));
                w.stack.set_visible_child_name("error");
            }
            Cmd::Loaded(Ok(loaded), report) => {
                // On the demo host, its own VMs (libvirt's test driver) unless a URI was given.
                let demo_vms = (loaded.kind == host_source::Kind::Demo
                    && crate::workers::libvirt::given_uri().is_none())
                .then(|| passage_fixtures::demo::libvirt_uri(loaded.root.base()));
                crate::workers::libvirt::use_demo(demo_vms.clone());
                let banner = loaded.banner().map(|b| match demo_vms {
                    Some(_) => tr_f(
                        "{banner} Its VMs are demo VMs on libvirt's test driver: starting one runs nothing.",
                        &[("banner", &b)],
                    ),
                    None => b,
                });
                w.banner.set_reveal_child(banner.is_some());
                w.banner_label
                    .set_text(banner.as_deref().unwrap_or_default());
                w.badge.set_visible(banner.is_some());
                w.badge.set_text(&match loaded.kind {
                    host_source::Kind::Demo => tr("Demo host"),
                    host_source::Kind::Captured => tr("Captured host"),
                    host_source::Kind::Live => String::new(),
                });
                // Keep the user's choice across a rescan when it still holds.
                let selection = self
                    .selection
                    .as_ref()
                    .and_then(|s| logic::choose(&loaded.host, s.gpu).ok())
                    .or_else(|| logic::initial_selection(&loaded.host));
                if !matches!(self.target, Some(Target::Intent(_))) {
                    self.target = selection.clone().map(Target::Gpu);
                }
                self.selection = selection.clone();
                self.changed = match (&self.settings, report.as_deref()) {
                    (Some(st), Some(r)) => crate::restart::what_changed(st, &loaded, r),
                    _ => vec![],
                };
                self.report = report;
                self.wizard
                    .emit(wizard_page::Input::Host(loaded.clone(), selection.clone()));
                self.vms.emit(vms::Input::Host(loaded.clone()));
                self.loaded = Some(loaded);
                self.name_card();
                self.stale(&[Page::Check, Page::Devices, Page::Setup]);
                self.show_page(w);
            }
            Cmd::Rebooted(Ok(())) => {}
            Cmd::Rebooted(Err(e)) => toast(w, &e),
        }
    }
}

fn toast(w: &Widgets, text: &str) {
    w.toasts.show(text);
}

impl App {
    fn load(&self, sender: &ComponentSender<Self>) {
        let wanted = self.wanted.clone();
        sender.spawn_oneshot_command(move || {
            match host_source::load(&wanted, &host_source::live_root()) {
                Ok(l) => {
                    let report = check::evaluate(&l.host, None).ok().map(Arc::new);
                    Cmd::Loaded(Ok(Arc::new(l)), report)
                }
                Err(e) => Cmd::Loaded(Err(e), None),
            }
        });
    }

    /// Tells the VM list which card is chosen, by name.
    fn name_card(&self) {
        let card = self
            .loaded
            .as_ref()
            .zip(self.selection.as_ref())
            .map(|(l, s)| l.host.card_label(s.gpu));
        self.vms.emit(vms::Input::Card(card));
    }

    /// These pages show something older than the host or the choice now.
    fn stale(&mut self, pages: &[Page]) {
        for p in pages {
            if !self.stale.contains(p) {
                self.stale.push(*p);
            }
        }
    }

    /// Shows the current page, rebuilding it first if it is stale.
    fn show_page(&mut self, w: &Widgets) {
        if let (Some(l), true) = (&self.loaded, self.stale.contains(&self.page)) {
            self.stale.retain(|p| *p != self.page);
            match self.page {
                Page::Check => {
                    if let Some(r) = &self.report {
                        self.check
                            .emit(check_page::Input::Show(r.clone(), self.changed.clone()));
                    }
                }
                Page::Devices => self
                    .devices
                    .emit(devices::Input::Show(l.clone(), self.selection.clone())),
                Page::Setup => self
                    .setup
                    .emit(setup::Input::Show(l.clone(), self.target.clone())),
                Page::Vms => {}
                Page::Vm(_) => {}
            }
        }
        match self.page {
            Page::Vm(step) => {
                self.wizard.emit(wizard_page::Input::Show(step));
                w.stack.set_visible_child_name("wizard");
            }
            p => w.stack.set_visible_child_name(p.id()),
        }
        w.title.set_title(&self.page.title());
        crate::window::mark_current(&w.sidebar, self.page);
    }

    fn fix(&mut self, w: &Widgets, f: Finding, sender: &ComponentSender<Self>) {
        if let Some(FixAction::ReserveHugepages { size_kib, count }) = f.action {
            sender.input(Msg::Reserve { size_kib, count });
            return;
        }
        let intent = match &f.action {
            Some(FixAction::KernelArguments { add, remove }) => Some(Intent::KernelArguments {
                add: add.clone(),
                remove: remove.clone(),
            }),
            Some(FixAction::BindByAddress { devices }) => Some(Intent::VfioAtBoot {
                devices: devices.clone(),
            }),
            _ => None,
        };
        match intent {
            Some(i) => {
                self.target = Some(Target::Intent(i));
                self.stale(&[Page::Setup]);
                self.page = Page::Setup;
                self.show_page(w);
                w.leaflet.set_visible_child(&w.content);
            }
            None => {
                let d = adw::MessageDialog::new(Some(&w.window), Some(&f.title), f.fix.as_deref());
                d.add_response("ok", &tr("_OK"));
                d.present();
            }
        }
    }
}
