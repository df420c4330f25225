//! The window: a sidebar of steps and the page beside it (an AdwLeaflet, so it folds into one
//! column on a narrow screen), the demo banner, toasts, and the app's actions.

use std::sync::Arc;

use passage_core::check::{self, Finding, FixAction, Report};
use passage_core::i18n::{tr, tr_f};
use passage_core::plan::Intent;
use relm4::adw::prelude::*;
use relm4::gtk::{gio, glib};
use relm4::{
    adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller,
};

use crate::config;
use crate::host_source::{self, Loaded, Wanted};
use crate::logic::{self, Selection, Snapshot};
use crate::pages::setup::Target;
use crate::pages::wizard as wizard_page;
use crate::pages::{check as check_page, devices, setup, vms};
use crate::settings::Settings;
use crate::wizard::{Draft, Step};

/// The steps in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Check,
    Devices,
    Setup,
    Vms,
    /// A page of the new-VM wizard.
    Vm(Step),
}

impl Page {
    pub const MAIN: [Page; 4] = [Page::Check, Page::Devices, Page::Setup, Page::Vms];
    /// Every page, in the sidebar's order.
    pub fn all() -> Vec<Page> {
        Page::MAIN
            .into_iter()
            .chain(Step::ALL.into_iter().map(Page::Vm))
            .collect()
    }
    pub fn id(self) -> &'static str {
        match self {
            Page::Check => "check",
            Page::Devices => "devices",
            Page::Setup => "setup",
            Page::Vms => "vms",
            Page::Vm(s) => s.id(),
        }
    }
    pub fn title(self) -> String {
        match self {
            Page::Check => tr("System Check"),
            Page::Devices => tr("Devices"),
            Page::Setup => tr("Host Setup"),
            Page::Vms => tr("Virtual Machines"),
            Page::Vm(s) => s.title(),
        }
    }
    /// The sidebar's icon; the wizard's steps show their number instead.
    fn icon(self) -> Option<&'static str> {
        match self {
            Page::Check => Some("emblem-ok-symbolic"),
            Page::Devices => Some("video-display-symbolic"),
            Page::Setup => Some("emblem-system-symbolic"),
            Page::Vms => Some("computer-symbolic"),
            Page::Vm(_) => None,
        }
    }
    pub fn from_id(id: &str) -> Option<Page> {
        Page::all().into_iter().find(|p| p.id() == id)
    }
}

#[derive(Debug)]
pub enum Msg {
    Navigate(Page),
    Rescan,
    Chose(Selection),
    ChooseGpu(String),
    Refused(String),
    Fix(Finding),
    Toast(String),
    Apply,
    Undo(String),
    UndoAll,
    Applied,
    Undone,
    About,
    Started(String),
    StartLastVm,
    /// A wizard choice, `field` = `value` (from a page, or the `app.wizard-set` action).
    WizardSet(String, String),
    WizardCreate,
    /// Edit an existing VM's devices: fetch its XML, then open the dialog.
    EditDevices(String),
    EditOpen(String, String),
    EditSet(String, String),
    EditSave,
    CreateProgress(f64),
    Created(String),
    Dump(String),
}

/// What the app was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    pub wanted: Wanted,
    /// `--start-last-vm` (the desktop file's action): start the VM last started from Passage.
    pub start_last_vm: bool,
}

#[derive(Debug)]
pub enum Cmd {
    Loaded(Result<Arc<Loaded>, String>, Option<Arc<Report>>),
    Rebooted(Result<(), String>),
}

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
    wizard: Vec<(Step, Controller<wizard_page::StepPage>)>,
    sender: ComponentSender<App>,
    /// The VM the wizard is making.
    draft: Option<Draft>,
    /// An existing VM's devices being edited, and the dialog.
    edit: Option<(crate::wizard::PassthroughEdit, adw::Window)>,
}

pub struct Widgets {
    window: adw::ApplicationWindow,
    toasts: adw::ToastOverlay,
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

        // Sidebar.
        let sidebar = gtk::ListBox::new();
        sidebar.add_css_class("navigation-sidebar");
        for p in Page::all() {
            if p == Page::Vm(Step::Media) {
                // The wizard's steps under their own heading.
                let l = gtk::Label::new(Some(&tr("New Virtual Machine")));
                l.add_css_class("heading");
                l.add_css_class("dim-label");
                l.set_xalign(0.0);
                l.set_margin_top(12);
                l.set_margin_start(6);
                let row = gtk::ListBoxRow::new();
                row.set_child(Some(&l));
                row.set_activatable(false);
                row.set_selectable(false);
                sidebar.append(&row);
            }
            let bx = gtk::Box::new(gtk::Orientation::Horizontal, 12);
            match (p.icon(), p) {
                (Some(icon), _) => bx.append(&gtk::Image::from_icon_name(icon)),
                // The wizard's steps are numbered: it is a sequence, and ten more icons to load
                // would slow the window's start.
                (None, Page::Vm(step)) => {
                    let n = Step::ALL.iter().position(|s| *s == step).unwrap_or(0) + 1;
                    let l = gtk::Label::new(Some(&n.to_string()));
                    l.add_css_class("dim-label");
                    l.add_css_class("numeric");
                    l.set_width_chars(2);
                    bx.append(&l);
                }
                (None, _) => {}
            }
            let l = gtk::Label::new(Some(&p.title()));
            l.set_xalign(0.0);
            l.set_ellipsize(gtk::pango::EllipsizeMode::End);
            bx.append(&l);
            let row = gtk::ListBoxRow::new();
            row.set_child(Some(&bx));
            row.set_widget_name(&format!("nav-{}", p.id()));
            sidebar.append(&row);
        }
        let s = sender.clone();
        sidebar.connect_row_activated(move |_, row| {
            if let Some(p) = Page::from_id(row.widget_name().trim_start_matches("nav-")) {
                s.input(Msg::Navigate(p));
            }
        });
        let badge = gtk::Label::new(None);
        badge.add_css_class("demo-badge");
        badge.set_wrap(true);
        badge.set_margin_start(12);
        badge.set_margin_end(12);
        badge.set_margin_bottom(12);
        badge.set_visible(false);
        let side_header = adw::HeaderBar::new();
        side_header.set_title_widget(Some(&adw::WindowTitle::new(&tr("Passage"), "")));
        let menu = gio::Menu::new();
        menu.append(Some(&tr("_Scan Again")), Some("app.rescan"));
        menu.append(Some(&tr("_Keyboard Shortcuts")), Some("app.shortcuts"));
        menu.append(Some(&tr("_About Passage")), Some("app.about"));
        let menu_button = gtk::MenuButton::new();
        menu_button.set_icon_name("open-menu-symbolic");
        menu_button.set_menu_model(Some(&menu));
        menu_button.set_tooltip_text(Some(&tr("Main Menu")));
        menu_button.set_primary(true);
        side_header.pack_end(&menu_button);
        let side_scroll = gtk::ScrolledWindow::new();
        side_scroll.set_vexpand(true);
        side_scroll.set_hscrollbar_policy(gtk::PolicyType::Never);
        side_scroll.set_child(Some(&sidebar));
        let side = gtk::Box::new(gtk::Orientation::Vertical, 0);
        side.set_width_request(220);
        side.set_hexpand(false);
        side.add_css_class("background");
        side.append(&side_header);
        side.append(&side_scroll);
        side.append(&badge);

        // Content.
        let title = adw::WindowTitle::new("", "");
        let content_header = adw::HeaderBar::new();
        content_header.set_title_widget(Some(&title));
        let back = gtk::Button::from_icon_name("go-previous-symbolic");
        back.set_tooltip_text(Some(&tr("Back")));
        back.set_widget_name("back");
        content_header.pack_start(&back);
        let banner_label = gtk::Label::new(None);
        banner_label.set_wrap(true);
        banner_label.set_xalign(0.0);
        banner_label.set_hexpand(true);
        let banner_box = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        banner_box.add_css_class("demo-banner");
        let banner_icon = gtk::Image::from_icon_name("dialog-information-symbolic");
        banner_icon.set_valign(gtk::Align::Start);
        banner_box.append(&banner_icon);
        banner_box.append(&banner_label);
        let banner = gtk::Revealer::new();
        banner.set_transition_type(gtk::RevealerTransitionType::None);
        banner.set_child(Some(&banner_box));
        banner.set_widget_name("banner");

        let stack = gtk::Stack::new();
        stack.set_vexpand(true);
        // Pages change at once, as AdwViewStack's do. A crossfade (and the banner's slide) made
        // the GL renderer keep offscreen textures: 9 MB more with llvmpipe, measured.
        // Only the page on screen is measured (the others may be large and are often unbuilt).
        stack.set_hhomogeneous(false);
        stack.set_vhomogeneous(false);
        let loading = gtk::Box::new(gtk::Orientation::Vertical, 12);
        loading.set_valign(gtk::Align::Center);
        loading.append(&gtk::Label::new(Some(&tr("Reading this computer…"))));
        // No spinner: reading takes a fraction of a second, and the spinner's icon exists only as
        // SVG, so drawing it would load librsvg (6.5 MB, and time) at every start.
        stack.add_named(&loading, Some("loading"));
        // Status pages get their (SVG-only, large) icons when they are shown.
        let error = adw::StatusPage::new();
        error.set_title(&tr("Passage cannot read this host"));
        stack.add_named(&error, Some("error"));

        let check = check_page::CheckPage::builder().launch(()).forward(
            sender.input_sender(),
            |o| match o {
                check_page::Output::Fix(f) => Msg::Fix(f),
            },
        );
        let devices = devices::DevicesPage::builder().launch(()).forward(
            sender.input_sender(),
            |o| match o {
                devices::Output::Chose(s) => Msg::Chose(s),
                devices::Output::Refused(why) => Msg::Refused(why),
            },
        );
        let setup = setup::SetupPage::builder()
            .launch(())
            .forward(sender.input_sender(), |o| match o {
                setup::Output::Toast(t) => Msg::Toast(t),
                setup::Output::Applied => Msg::Applied,
                setup::Output::Undone => Msg::Undone,
            });
        let vms = vms::VmsPage::builder()
            .launch(())
            .forward(sender.input_sender(), |o| match o {
                vms::Output::Toast(t) => Msg::Toast(t),
                vms::Output::Started(name) => Msg::Started(name),
                vms::Output::Progress(f) => Msg::CreateProgress(f),
                vms::Output::Created(name) => Msg::Created(name),
                vms::Output::EditDevices(name) => Msg::EditDevices(name),
                vms::Output::Xml(name, xml) => Msg::EditOpen(name, xml),
            });
        stack.add_named(check.widget(), Some(Page::Check.id()));
        stack.add_named(devices.widget(), Some(Page::Devices.id()));
        stack.add_named(setup.widget(), Some(Page::Setup.id()));
        stack.add_named(vms.widget(), Some(Page::Vms.id()));
        stack.set_visible_child_name("loading");

        let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
        content.set_hexpand(true);
        content.add_css_class("background");
        content.append(&content_header);
        content.append(&banner);
        content.append(&stack);

        let leaflet = adw::Leaflet::new();
        leaflet.set_can_navigate_back(true);
        leaflet.append(&side);
        let sep = leaflet.append(&gtk::Separator::new(gtk::Orientation::Vertical));
        sep.set_navigatable(false);
        leaflet.append(&content);
        leaflet.set_visible_child(&content);
        leaflet
            .bind_property("folded", &side_header, "show-end-title-buttons")
            .sync_create()
            .build();
        leaflet
            .bind_property("folded", &content_header, "show-start-title-buttons")
            .sync_create()
            .build();
        leaflet
            .bind_property("folded", &back, "visible")
            .sync_create()
            .build();
        let l = leaflet.clone();
        back.connect_clicked(move |_| {
            l.navigate(adw::NavigationDirection::Back);
        });

        let toasts = adw::ToastOverlay::new();
        toasts.set_child(Some(&leaflet));
        window.set_content(Some(&toasts));

        let widgets = Widgets {
            window: window.clone(),
            toasts,
            leaflet,
            content,
            sidebar,
            stack,
            title,
            banner,
            banner_label,
            badge,
            error,
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
            wizard: vec![],
            sender: sender.clone(),
            draft: None,
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
            }
            Msg::Rescan => {
                w.stack.set_visible_child_name("loading");
                self.load(&sender);
            }
            Msg::Chose(s) => {
                self.selection = Some(s.clone());
                self.target = Some(Target::Gpu(s.clone()));
                if let Some(d) = &mut self.draft {
                    d.gpu = Some(s.clone());
                }
                self.stale(&[Page::Setup]);
                self.stale_wizard(None);
                let name = self
                    .loaded
                    .as_ref()
                    .and_then(|l| l.host.device(s.gpu))
                    .map(|d| d.display_name())
                    .unwrap_or_default();
                toast(
                    w,
                    &tr_f(
                        "{gpu} and the {n} device(s) of group {group} are chosen for the VM",
                        &[
                            ("gpu", &name),
                            ("n", &s.devices.len().to_string()),
                            ("group", &s.group.to_string()),
                        ],
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
            Msg::Fix(f) => self.fix(w, f),
            Msg::Toast(t) => toast(w, &t),
            Msg::Apply => self.setup.emit(setup::Input::Apply),
            Msg::Undo(id) => self.setup.emit(setup::Input::Undo(id)),
            Msg::UndoAll => self.setup.emit(setup::Input::UndoAll),
            Msg::Applied => {
                self.remember_for_restart();
                // Read the files again: the plan now shows what is left (nothing, normally).
                self.load(&sender);
                let d = adw::MessageDialog::new(
                    Some(&w.window),
                    Some(&tr("Restart to Finish")),
                    Some(&tr("The changes take effect after a restart. When Passage opens again it checks this computer and tells you what changed.")),
                );
                d.add_response("later", &tr("_Later"));
                d.set_close_response("later");
                d.add_response("restart", &tr("_Restart Now"));
                d.set_response_appearance("restart", adw::ResponseAppearance::Suggested);
                let s = sender.clone();
                d.connect_response(None, move |_, r| {
                    if r == "restart" {
                        s.oneshot_command(async { Cmd::Rebooted(reboot().await) });
                    }
                });
                d.present();
            }
            Msg::Undone => self.load(&sender),
            Msg::About => crate::about::show(&w.window),
            Msg::Started(name) => {
                if let Some(st) = &self.settings {
                    st.set_last_vm(&name);
                }
            }
            Msg::StartLastVm => {
                self.page = Page::Vms;
                match self.settings.as_ref().and_then(Settings::last_vm) {
                    Some(name) => self.vms.emit(vms::Input::Start(name)),
                    None => toast(w, &tr("No VM has been started from Passage yet: start one here, and the launcher's “Start the Last VM” will start it next time.")),
                }
            }
            Msg::WizardSet(field, value) => {
                let (Some(l), Some(d)) = (&self.loaded, &mut self.draft) else {
                    return;
                };
                match d.set(&l.host, &field, &value) {
                    Err(e) => toast(w, &e),
                    Ok(()) => {
                        // The page being edited keeps its widgets (and the focus in an entry);
                        // lists that show the choice itself are redrawn at once.
                        let redraw_now = matches!(self.page, Page::Vm(Step::Boot | Step::Review));
                        let keep = match self.page {
                            Page::Vm(s) if !redraw_now => Some(s),
                            _ => None,
                        };
                        self.stale_wizard(keep);
                        if redraw_now {
                            self.show_page(w);
                        }
                    }
                }
            }
            Msg::WizardCreate => {
                let (Some(l), Some(d)) = (&self.loaded, &self.draft) else {
                    return;
                };
                match d.spec(&l.host) {
                    Err((step, e)) => {
                        toast(w, &e);
                        self.page = Page::Vm(step);
                        self.show_page(w);
                    }
                    Ok(spec) => match spec.to_xml() {
                        Err(e) => toast(w, &e.to_string()),
                        Ok(xml) => {
                            let volume = match d.storage {
                                crate::wizard::Storage::New { gib, raw } => Some(vms::NewVolume {
                                    pool: crate::wizard::POOL.into(),
                                    path: crate::wizard::POOL_PATH.into(),
                                    name: d.volume_name(),
                                    bytes: gib * 1024 * 1024 * 1024,
                                    raw,
                                }),
                                _ => None,
                            };
                            self.vms.emit(vms::Input::Create { xml, volume });
                        }
                    },
                }
            }
            Msg::CreateProgress(f) => {
                if let Some((_, c)) = self.wizard.iter().find(|(s, _)| *s == Step::Review) {
                    c.emit(wizard_page::Input::Progress(f));
                }
            }
            Msg::Created(name) => {
                toast(w, &tr_f("{vm} is defined in libvirt", &[("vm", &name)]));
                self.page = Page::Vms;
                self.vms.emit(vms::Input::Refresh);
                self.show_page(w);
            }
            Msg::EditDevices(name) => self.vms.emit(vms::Input::FetchXml(name)),
            Msg::EditOpen(name, xml) => {
                let Some(l) = &self.loaded else { return };
                match crate::wizard::PassthroughEdit::from_xml(&name, &xml) {
                    Err(e) => toast(w, &e),
                    Ok(edit) => {
                        let dialog = crate::components::passthrough::open(
                            &w.window, &l.host, &edit, &sender,
                        );
                        self.edit = Some((edit, dialog));
                    }
                }
            }
            Msg::EditSet(k, v) => {
                if let (Some(l), Some((edit, _))) = (&self.loaded, &mut self.edit) {
                    if let Err(e) = edit.set(&l.host, &k, &v) {
                        toast(w, &e);
                    }
                }
            }
            Msg::EditSave => {
                if let Some((edit, dialog)) = self.edit.take() {
                    match edit.edited_xml() {
                        Ok(xml) => {
                            self.vms.emit(vms::Input::Define(xml));
                            dialog.close();
                        }
                        Err(e) => {
                            toast(w, &e);
                            self.edit = Some((edit, dialog));
                        }
                    }
                }
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
        _sender: ComponentSender<Self>,
        _root: &Self::Root,
    ) {
        match msg {
            Cmd::Loaded(Err(e), _) => {
                w.error.set_description(Some(&e));
                w.error.set_icon_name(Some("dialog-error-symbolic"));
                w.stack.set_visible_child_name("error");
            }
            Cmd::Loaded(Ok(loaded), report) => {
                let banner = loaded.banner();
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
                self.changed = self.what_changed(&loaded, report.as_deref());
                self.report = report;
                match &mut self.draft {
                    Some(d) => d.gpu = selection.clone(),
                    None => self.draft = Some(Draft::new(&loaded.host, selection.clone())),
                }
                self.loaded = Some(loaded);
                self.stale(&[Page::Check, Page::Devices, Page::Setup]);
                self.stale_wizard(None);
                self.show_page(w);
            }
            Cmd::Rebooted(Ok(())) => {}
            Cmd::Rebooted(Err(e)) => toast(w, &e),
        }
    }
}

fn toast(w: &Widgets, text: &str) {
    let t = adw::Toast::new(&glib::markup_escape_text(text));
    t.set_timeout(5);
    w.toasts.add_toast(t);
}

/// Asks logind to restart (it asks for a password itself when other users are logged in).
async fn reboot() -> Result<(), String> {
    let conn = zbus::Connection::system()
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

    /// These pages show something older than the host or the choice now.
    fn stale(&mut self, pages: &[Page]) {
        for p in pages {
            if !self.stale.contains(p) {
                self.stale.push(*p);
            }
        }
    }

    /// The wizard's pages show an older draft, but `keep` (the page being edited).
    fn stale_wizard(&mut self, keep: Option<Step>) {
        let pages: Vec<Page> = Step::ALL
            .into_iter()
            .filter(|s| Some(*s) != keep)
            .map(Page::Vm)
            .collect();
        self.stale(&pages);
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
                Page::Vm(step) => {
                    if !self.wizard.iter().any(|(s, _)| *s == step) {
                        let c = wizard_page::StepPage::builder().launch(step).forward(
                            self.sender.input_sender(),
                            |o| match o {
                                wizard_page::Output::Set(k, v) => Msg::WizardSet(k, v),
                                wizard_page::Output::Go(to) => Msg::Navigate(Page::Vm(to)),
                                wizard_page::Output::Devices => Msg::Navigate(Page::Devices),
                                wizard_page::Output::Create => Msg::WizardCreate,
                            },
                        );
                        w.stack.add_named(c.widget(), Some(step.id()));
                        self.wizard.push((step, c));
                    }
                    if let (Some(d), Some((_, c))) =
                        (&self.draft, self.wizard.iter().find(|(s, _)| *s == step))
                    {
                        c.emit(wizard_page::Input::Show(l.clone(), Box::new(d.clone())));
                    }
                }
            }
        }
        w.stack.set_visible_child_name(self.page.id());
        w.title.set_title(&self.page.title());
        let name = format!("nav-{}", self.page.id());
        let mut row = w.sidebar.first_child();
        while let Some(r) = row {
            if r.widget_name() == name {
                if let Some(r) = r.downcast_ref::<gtk::ListBoxRow>() {
                    w.sidebar.select_row(Some(r));
                }
            }
            row = r.next_sibling();
        }
    }

    fn fix(&mut self, w: &Widgets, f: Finding) {
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

    /// Remembers what the check said, to tell the user what changed after the restart.
    fn remember_for_restart(&self) {
        if let (Some(st), Some(r), Some(l)) = (&self.settings, &self.report, &self.loaded) {
            st.save_snapshot(&Snapshot::of(&boot_id(l), r));
        }
    }

    fn what_changed(&self, l: &Loaded, now: Option<&Report>) -> Vec<String> {
        let (Some(st), Some(now)) = (&self.settings, now) else {
            return vec![];
        };
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
}

fn boot_id(l: &Loaded) -> String {
    std::fs::read_to_string(l.root.path("/proc/sys/kernel/random/boot_id"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
