//! The window: a sidebar of steps and the page beside it (an AdwLeaflet, so it folds into one
//! column on a narrow screen), the demo banner, toasts, and the app's actions. The pages are
//! launched in `pages`, shown in `nav`; what comes back from work off the main thread is
//! handled in `loaded`, the VMs' messages in `vm`.

use std::sync::Arc;

use passage_core::check::Report;
use passage_core::i18n::{tr, tr_f, tr_n};
use relm4::adw::prelude::*;
use relm4::gtk::glib;
use relm4::{
    adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller,
};

use crate::config;
use crate::host_source::{Loaded, Wanted};
use crate::logic::Selection;
use crate::pages::setup::Target;
use crate::pages::wizard as wizard_page;
use crate::pages::{check as check_page, devices, setup, vms};
use crate::settings::Settings;

mod express;
mod loaded;
mod nav;
mod pages;
mod vm;

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
    /// The express VM's dialog, and the VM it made, to start once libvirt defined it.
    express: Option<Controller<crate::components::express::ExpressDialog>>,
    express_start: Option<String>,
    /// Host setup's GPU mode (the wizard's draft follows it too).
    gpu_mode: passage_core::vm::session::GpuMode,
    /// The host's Hyper-V support, once libvirt said.
    hyperv: Option<Vec<passage_core::vm::tuning::Hv>>,
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
    side_title: adw::WindowTitle,
    hosts: gtk::gio::Menu,
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
        let pages::Pages {
            check,
            devices,
            setup,
            vms,
            wizard,
        } = pages::launch(&sender, &c.stack);
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
            side_title: side.title,
            hosts: side.hosts,
        };
        // The host shown last time: a remote one is checked as a typed one is, and read over
        // SSH as on Connect, so its pre-flight checks that host and says what it does not.
        if let Some(uri) = settings.as_ref().and_then(Settings::connection) {
            if passage_core::connection::from_user_input(&uri).is_ok() {
                crate::workers::libvirt::choose(Some(uri.clone()));
                if let Some(r) = crate::workers::libvirt::remote() {
                    sender.spawn_oneshot_command(move || {
                        Cmd::RemoteHost(uri, r.scan().map(Box::new))
                    });
                }
            }
        }
        crate::remote_hosts::fill_menu(
            &widgets.hosts,
            &settings
                .as_ref()
                .map(Settings::remote_hosts)
                .unwrap_or_default(),
        );
        widgets
            .side_title
            .set_subtitle(&crate::remote_hosts::subtitle(Some(
                &crate::workers::libvirt::uri(),
            )));
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
            express: None,
            express_start: None,
            gpu_mode: Default::default(),
            hyperv: None,
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
            Msg::ConnectRemote => crate::remote_hosts::ask(&w.window, &sender),
            Msg::RemoteSetup => {
                if let Some(r) = crate::workers::libvirt::remote() {
                    toast(w, &tr_f("Making the plan on {host}…", &[("host", &r.name)]));
                    sender.spawn_oneshot_command(move || {
                        Cmd::RemotePlan(crate::remote_hosts::plan_there(&r))
                    });
                }
            }
            Msg::Connect(uri) => {
                crate::workers::libvirt::choose(uri.clone());
                if let Some(st) = &self.settings {
                    if let Some(u) = &uri {
                        st.add_remote_host(u);
                    }
                    st.set_connection(uri.as_deref());
                    crate::remote_hosts::fill_menu(&w.hosts, &st.remote_hosts());
                } else if let Some(u) = &uri {
                    crate::remote_hosts::fill_menu(&w.hosts, std::slice::from_ref(u));
                }
                w.side_title
                    .set_subtitle(&crate::remote_hosts::subtitle(Some(
                        &crate::workers::libvirt::uri(),
                    )));
                if let (Some(r), Some(u)) = (crate::workers::libvirt::remote(), uri.clone()) {
                    toast(w, &tr_f("Reading {host} over SSH…", &[("host", &r.name)]));
                    sender
                        .spawn_oneshot_command(move || Cmd::RemoteHost(u, r.scan().map(Box::new)));
                }
                self.vms.emit(vms::Input::Reconnected);
                // The banner says whose VMs the demo host shows: read again.
                sender.input(Msg::Rescan);
                sender.input(Msg::Navigate(Page::Vms));
            }
            Msg::Chose(s) => {
                self.selection = Some(s.clone());
                self.target = Some(Target::Gpu(s.clone()));
                self.wizard.emit(wizard_page::Input::Card(s.clone()));
                // The card's mode: the host's only card showing the screen goes in the only-GPU
                // mode (core's rule), a card with the reset bug from boot on.
                if let Some(m) = self
                    .loaded
                    .as_ref()
                    .and_then(|l| card_mode(&l.host, s.gpu, self.gpu_mode))
                {
                    sender.input(Msg::WizardSet(crate::wizard::Choice::GpuMode(m)));
                    sender.input(Msg::SetupMode(m));
                }
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
                tell(w, &tr("This Card Stays With the Host"), Some(&why));
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
            Msg::SetupMode(m) => {
                self.gpu_mode = m;
                self.setup.emit(setup::Input::Mode(m));
            }
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
            msg @ (Msg::Started(_)
            | Msg::ShowVm(_)
            | Msg::ShownVm(_)
            | Msg::VmEdit(_)
            | Msg::StartLastVm
            | Msg::WizardSet(_)
            | Msg::WizardCreate
            | Msg::CreateVm { .. }
            | Msg::CreateProgress(_)
            | Msg::CreateFailed(_)
            | Msg::NeedTaken
            | Msg::Taken(_)
            | Msg::Created(_)
            | Msg::EditDevices(_)
            | Msg::HostHyperv(_)
            | Msg::EditOpen(..)
            | Msg::EditSet(_)
            | Msg::EditSave
            | Msg::EditSaved(_)) => self.on_vm(w, msg, &sender),
            msg @ (Msg::Express(..) | Msg::ExpressCreate { .. } | Msg::ExpressCustomize(_)) => {
                self.on_express(w, msg, &sender)
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
        self.on_cmd(w, msg, &sender);
    }
}

fn toast(w: &Widgets, text: &str) {
    w.toasts.show(text);
}

/// A message the user must read, with OK.
fn tell(w: &Widgets, heading: &str, body: Option<&str>) {
    let d = adw::MessageDialog::new(Some(&w.window), Some(heading), body);
    d.add_response("ok", &tr("_OK"));
    d.present();
}

/// The GPU mode to switch to when `gpu` is chosen, `None` to keep `current`: the card's own
/// mode where `current` cannot take it (core's rule: the host's only card showing the screen
/// goes in the only-GPU mode, which is for that card alone), from boot on for a card with the
/// reset bug.
fn card_mode(
    host: &passage_core::Host,
    gpu: passage_core::host::PciAddress,
    current: passage_core::vm::session::GpuMode,
) -> Option<passage_core::vm::session::GpuMode> {
    use passage_core::vm::session::GpuMode;
    let wanted = passage_core::host::reset::mode_for(host, gpu);
    let m = GpuMode::for_card(host, gpu, wanted.unwrap_or(current));
    (m != current || wanted.is_some()).then_some(m)
}
