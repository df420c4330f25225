//! Virtual machines: the VMs libvirt holds, with Start (on the VM's page, through its
//! pre-flight and diagnosis, as the launchers start), Shut Down and Force Off (asked first);
//! a clear page when libvirt cannot be reached.

use passage_core::i18n::{tr, tr_f};
use passage_virt::VmInfo;
use relm4::adw::prelude::*;
use relm4::{
    adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller,
    WorkerController,
};

use super::{problem, vm_detail, vm_edit};

mod editing;
mod row;

pub use crate::workers::libvirt::NewVolume;
pub use crate::workers::libvirt::Taken;
use crate::workers::libvirt::{self, LibvirtWorker, Reply, Request};

#[derive(Debug)]
pub enum Input {
    Refresh,
    /// Another host's VMs are shown (a remote host chosen, or this computer again): the list,
    /// not the page of a VM of the host before.
    Reconnected,
    /// Start a VM the one way every start goes: its page, its pre-flight, then libvirt.
    Start(String),
    /// Ask the guest to shut down (guest agent, else the power button).
    ShutDown(String),
    /// Force a VM off, once the user confirmed it.
    ForceOff(String),
    /// The timer of `refresh_while_shutting`.
    RefreshDue,
    /// The user confirmed Force Off.
    Forced(String),
    Create {
        xml: String,
        volume: Option<NewVolume>,
        unattended: Option<Box<crate::workers::unattended::Job>>,
    },
    FetchXml(String),
    Define(String),
    Worker(Reply),
    /// The host read (again): the VM page's pre-flight needs it.
    Host(std::sync::Arc<crate::host_source::Loaded>),
    /// Show this VM's page.
    Open(String),
    /// The names a new VM must not take (the wizard asks), with the volumes of this pool.
    Taken(String),
    /// The user dismissed the list's problem.
    DismissProblem,
    /// Start the VM with this UUID (the app-menu launcher): its page, then Start.
    StartUuid(String),
    /// From the VM's page.
    Detail(vm_detail::Output),
    /// To the VM whose page shows (the app's `vm-…` actions).
    Shown(vm_detail::Input),
    /// The card chosen on Devices, named (the empty list says a VM can be made for it).
    Card(Option<String>),
    /// From the Edit… view.
    Edit(vm_edit::Output),
    /// To the Edit… view (the app's `vm-edit-…` actions).
    ToEdit(vm_edit::Input),
}

#[derive(Debug)]
pub enum Output {
    /// A success, said for five seconds (failures stay on their page).
    Toast(String),
    /// Create failed: the wizard shows it.
    CreateFailed(problem::Problem),
    Taken(Taken),
    Started(String),
    Progress(f64),
    Created(String),
    EditDevices(String),
    Xml(String, String),
    Hyperv(Option<Vec<passage_core::vm::tuning::Hv>>),
    /// New VM: the wizard.
    NewVm,
    Reserve {
        size_kib: u64,
        count: u64,
    },
    OpenSetup,
}

pub struct VmsPage {
    worker: WorkerController<LibvirtWorker>,
    list: adw::PreferencesGroup,
    rows: Vec<gtk::Widget>,
    /// A failed action on a VM whose page is not shown, until dismissed or the next success.
    problem: problem::Slot,
    status: adw::StatusPage,
    detail: Controller<vm_detail::VmDetail>,
    edit: Controller<vm_edit::VmEdit>,
    /// The Edit… view shows (the VM's details coming back do not replace it).
    editing: bool,
    loaded: Option<std::sync::Arc<crate::host_source::Loaded>>,
    /// The VM whose page shows, and whether to start it when its details come (a launcher).
    open: Option<(String, bool)>,
    /// A launcher's VM, started once the list says which VM it is.
    pending_uuid: Option<String>,
    /// The VM the wizard just made: its session is authorized once its page shows.
    authorize_pending: Option<String>,
    vms: Vec<VmInfo>,
    card: Option<String>,
    /// VMs asked to shut down from the list, until libvirt says they are off.
    shutting: Vec<String>,
    /// What the rows show: the VMs and which of them shut down.
    rows_show: Option<(Vec<VmInfo>, Vec<String>)>,
    /// A refresh is due (while a VM shuts down, the list is read every two seconds).
    refresh_due: bool,
}

impl Component for VmsPage {
    type Init = ();
    type Input = Input;
    type Output = Output;
    /// Looking Glass's host files set up (the helper's words, or why not), then the VM made.
    type CommandOutput = (
        String,
        String,
        Option<NewVolume>,
        Option<Box<crate::workers::unattended::Job>>,
    );
    type Root = gtk::Stack;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let s = gtk::Stack::new();
        s.set_widget_name("page-vms");
        crate::a11y::follow_stack(&s);
        s
    }

    fn init(_: (), root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let worker = LibvirtWorker::builder()
            .detach_worker(libvirt::uri())
            .forward(sender.input_sender(), Input::Worker);
        let page = adw::PreferencesPage::new();
        let list = adw::PreferencesGroup::new();
        list.set_title(&tr("Virtual machines"));
        let refresh = gtk::Button::from_icon_name("view-refresh-symbolic");
        refresh.add_css_class("flat");
        refresh.set_tooltip_text(Some(&tr("Refresh")));
        crate::a11y::name(&refresh, &tr("Refresh the list of virtual machines"));
        let s = sender.clone();
        refresh.connect_clicked(move |_| s.input(Input::Refresh));
        let new = gtk::Button::with_label(&tr("New VM"));
        new.set_widget_name("new-vm");
        new.add_css_class("suggested-action");
        let s = sender.clone();
        new.connect_clicked(move |_| {
            let _ = s.output(Output::NewVm);
        });
        let suffix = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        suffix.append(&new);
        suffix.append(&refresh);
        list.set_header_suffix(Some(&suffix));
        let problem = problem::Slot::new();
        page.add(problem.widget());
        page.add(&list);

        let status = adw::StatusPage::new();
        status.set_title(&tr("libvirt cannot be reached"));
        let retry = gtk::Button::with_label(&tr("Try Again"));
        retry.add_css_class("pill");
        retry.set_halign(gtk::Align::Center);
        let s = sender.clone();
        retry.connect_clicked(move |_| s.input(Input::Refresh));
        status.set_child(Some(&retry));

        // Until libvirt answers: an empty page (a spinner's icon would load librsvg at start-up;
        // the list comes within a fraction of a second).
        root.add_named(
            &gtk::Box::new(gtk::Orientation::Vertical, 0),
            Some("loading"),
        );
        root.add_named(&page, Some("list"));
        root.add_named(&status, Some("unreachable"));
        let detail = vm_detail::VmDetail::builder()
            .launch(())
            .forward(sender.input_sender(), Input::Detail);
        root.add_named(detail.widget(), Some("detail"));
        let edit = vm_edit::VmEdit::builder()
            .launch(())
            .forward(sender.input_sender(), Input::Edit);
        root.add_named(edit.widget(), Some("edit"));
        // libvirt is asked when the page is first shown (the window sends Refresh), not while
        // the window opens.
        root.set_visible_child_name("loading");
        ComponentParts {
            model: VmsPage {
                worker,
                list,
                rows: vec![],
                problem,
                status,
                detail,
                edit,
                editing: false,
                loaded: None,
                open: None,
                pending_uuid: None,
                authorize_pending: None,
                vms: vec![],
                card: None,
                shutting: vec![],
                refresh_due: false,
                rows_show: None,
            },
            widgets: (),
        }
    }

    fn update_cmd(
        &mut self,
        (said, xml, volume, unattended): Self::CommandOutput,
        sender: ComponentSender<Self>,
        _: &Self::Root,
    ) {
        let _ = sender.output(Output::Toast(said));
        self.worker.emit(Request::Create {
            xml,
            volume,
            unattended,
        });
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Refresh => self.worker.emit(Request::List),
            Input::RefreshDue => {
                self.refresh_due = false;
                self.worker.emit(Request::List);
            }
            Input::Start(name) => self.start_on_page(name),
            Input::ShutDown(name) => self.worker.emit(Request::Shutdown(name)),
            Input::ForceOff(name) => {
                let s = sender.clone();
                let vm = name.clone();
                super::confirm::confirm_force_off(root, &name, move || {
                    s.input(Input::Forced(vm.clone()));
                });
            }
            Input::Forced(name) => {
                self.shutting.retain(|n| *n != name);
                self.worker.emit(Request::Stop(name));
            }
            Input::Create {
                xml,
                volume,
                unattended,
            } => {
                // A VM with Looking Glass gets its host files first (the helper; polkit asks),
                // as `passagectl apply --looking-glass` sets them up.
                let lg = libvirt::remote().is_none()
                    && passage_core::vm::Domain::read(&xml)
                        .is_ok_and(|d| d.looking_glass.is_some());
                if lg {
                    sender.oneshot_command(async move {
                        (super::lg_rows::host_files().await, xml, volume, unattended)
                    });
                } else {
                    self.worker.emit(Request::Create {
                        xml,
                        volume,
                        unattended,
                    });
                }
            }
            Input::FetchXml(name) => self.worker.emit(Request::Xml(name)),
            Input::Define(xml) => self.worker.emit(Request::Define(xml)),
            Input::Worker(Reply::Xml(name, xml)) => {
                let _ = sender.output(Output::Xml(name, xml));
            }
            Input::Worker(Reply::Hyperv(hv)) => {
                let _ = sender.output(Output::Hyperv(hv));
            }
            Input::Worker(Reply::Progress(f)) => {
                let _ = sender.output(Output::Progress(f));
            }
            Input::Worker(Reply::Created(name)) => {
                // What its session takes is authorized once its page shows (libvirt gave it
                // its UUID); the app opens that page.
                self.authorize_pending = Some(name.clone());
                let _ = sender.output(Output::Created(name));
            }
            Input::Worker(Reply::Vms(vms)) => {
                self.shutting
                    .retain(|n| vms.iter().any(|v| v.running && v.name == *n));
                self.refresh_while_shutting(&sender);
                // Rows are rebuilt only when they would change: a click (or the focus) on a
                // row must not land on a row being replaced while a VM shuts down.
                let rows = (vms.clone(), self.shutting.clone());
                if self.rows_show.as_ref() != Some(&rows) {
                    self.show(&vms, &sender);
                    self.rows_show = Some(rows);
                }
                self.vms = vms;
                self.open_by_uuid(&sender);
                if self.open.is_none() {
                    root.set_visible_child_name("list");
                }
            }
            Input::Card(c) => {
                self.card = c;
                let vms = std::mem::take(&mut self.vms);
                self.show(&vms, &sender);
                self.vms = vms;
            }
            Input::Host(l) => {
                self.detail.emit(vm_detail::Input::Host(l.clone()));
                self.loaded = Some(l);
            }
            Input::Open(name) => {
                self.open = Some((name.clone(), false));
                self.worker.emit(Request::Details(name));
            }
            Input::StartUuid(uuid) => {
                self.pending_uuid = Some(uuid);
                self.worker.emit(Request::List);
            }
            Input::Worker(Reply::Details(d)) => {
                let start = self.open.as_ref().is_some_and(|(_, s)| *s);
                self.open = Some((d.name.clone(), false));
                let created = self.authorize_pending.as_deref() == Some(d.name.as_str());
                self.detail
                    .emit(vm_detail::Input::Show(d, self.loaded.clone()));
                // The new VM's page, then what its session takes authorized (a refusal stays
                // on that page), before a start; libvirt's test driver runs no hook.
                let hooks = created && passage_core::vm::preflight::runs_hooks(&libvirt::uri());
                self.authorize_pending = self.authorize_pending.take().filter(|_| !created);
                match (hooks, start) {
                    (true, true) => self.detail.emit(vm_detail::Input::AuthorizeThenStart),
                    (true, false) => self.detail.emit(vm_detail::Input::Authorize),
                    (false, true) => self.detail.emit(vm_detail::Input::Start),
                    (false, false) => {}
                }
                if !self.editing {
                    root.set_visible_child_name("detail");
                }
            }
            Input::Worker(Reply::State(name, r)) => {
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.detail.emit(vm_detail::Input::State(r));
                }
            }
            Input::Worker(Reply::Guest(name, a)) => {
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.detail.emit(vm_detail::Input::GuestAnswered(a));
                }
            }
            Input::Worker(Reply::Failed(name, action, text)) => {
                let p = problem::of_vm(action, &name, text);
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.detail.emit(vm_detail::Input::Failed(p));
                } else {
                    self.show_problem(Some(p), &sender);
                }
            }
            Input::Worker(Reply::CreateFailed(text)) => {
                let _ = sender.output(Output::CreateFailed(problem::create_failed(text)));
            }
            Input::Worker(Reply::Taken(t)) => {
                let _ = sender.output(Output::Taken(t));
            }
            Input::Taken(pool) => self.worker.emit(Request::Taken(pool)),
            Input::DismissProblem => self.show_problem(None, &sender),
            Input::Worker(Reply::Deleted(name)) => {
                let _ = sender.output(Output::Toast(tr_f(
                    "{vm} is deleted; its disks are kept",
                    &[("vm", &name)],
                )));
                self.open = None;
                self.detail.emit(vm_detail::Input::Revoke);
                self.detail.emit(vm_detail::Input::Leave);
                root.set_visible_child_name("list");
            }
            Input::Detail(vm_detail::Output::Worker(r)) => self.worker.emit(r),
            Input::Shown(i) => self.detail.emit(i),
            Input::Detail(vm_detail::Output::Toast(t)) => {
                let _ = sender.output(Output::Toast(t));
            }
            Input::Detail(vm_detail::Output::EditDevices(name)) => {
                let _ = sender.output(Output::EditDevices(name));
            }
            Input::Detail(vm_detail::Output::EditSettings(o)) => self.open_edit(o, root),
            Input::ToEdit(i) => self.edit.emit(i),
            Input::Edit(out) => self.edit_asked(out, root, &sender),
            Input::Worker(Reply::Edited(e)) => self.edit_done(Ok(e), root),
            Input::Worker(Reply::EditFailed(f)) => self.edit_done(Err(f), root),
            Input::Detail(vm_detail::Output::Reserve { size_kib, count }) => {
                let _ = sender.output(Output::Reserve { size_kib, count });
            }
            Input::Detail(vm_detail::Output::OpenSetup) => {
                let _ = sender.output(Output::OpenSetup);
            }
            Input::Reconnected => {
                self.open = None;
                self.shutting.clear();
                self.show_problem(None, &sender);
                self.worker.emit(Request::List);
                root.set_visible_child_name("list");
            }
            Input::Detail(vm_detail::Output::Back) => {
                self.open = None;
                self.worker.emit(Request::List);
                root.set_visible_child_name("list");
            }
            Input::Worker(Reply::Unreachable(why)) => {
                self.status
                    .set_description(Some(&super::glib_escape(&unreachable_text(&why))));
                self.status.set_icon_name(Some("computer-symbolic"));
                root.set_visible_child_name("unreachable");
            }
            Input::Worker(Reply::ShutdownAsked(name)) => {
                self.show_problem(None, &sender);
                if !self.shutting.contains(&name) {
                    self.shutting.push(name);
                }
                self.worker.emit(Request::List);
            }
            Input::Worker(Reply::Started(name)) => {
                self.show_problem(None, &sender);
                let _ = sender.output(Output::Started(name));
            }
            Input::Worker(Reply::Done(Ok(said))) => {
                self.show_problem(None, &sender);
                let _ = sender.output(Output::Toast(said));
            }
            Input::Worker(Reply::Done(Err(e))) => {
                let p = problem::refused(e);
                if self.editing {
                    self.edit.emit(vm_edit::Input::Failed(p));
                } else if root.visible_child_name().as_deref() == Some("detail") {
                    self.detail.emit(vm_detail::Input::Failed(p));
                } else {
                    // A page that never opened (Start the Last VM of a VM since deleted).
                    self.open = None;
                    self.show_problem(Some(p), &sender);
                    self.worker.emit(Request::List);
                }
            }
        }
    }
}

/// What to install or start when libvirt does not answer.
pub fn unreachable_text(why: &str) -> String {
    if let Some(r) = crate::workers::libvirt::remote() {
        return tr_f(
            "Passage could not reach libvirt on {host}: {why}\n\nCheck that “ssh {host}” logs in without a password prompt (a key, or ssh-agent), that libvirt runs there and that you are in its libvirt group there. “This Computer” in the main menu shows this computer's VMs again.",
            &[("host", &r.name), ("why", why)],
        );
    }
    tr_f(
        "Passage keeps VMs in libvirt, which did not answer: {why}\n\nInstall libvirt (Debian, Ubuntu: libvirt-daemon-system; Fedora: libvirt-daemon-kvm; Arch: libvirt), start it with “systemctl enable --now libvirtd”, and add yourself to the libvirt group.",
        &[("why", why)],
    )
}

impl VmsPage {
    fn show_problem(&mut self, p: Option<problem::Problem>, sender: &ComponentSender<Self>) {
        let s = sender.clone();
        self.problem.set(p, move || s.input(Input::DismissProblem));
    }

    /// The VM's page, then its Start: the pre-flight, the networks it needs, libvirt's start
    /// and the diagnosis of a failure (`vm_detail`). The list's Start, *Start the Last VM* and
    /// the app-menu launchers all come here.
    fn start_on_page(&mut self, name: String) {
        self.open = Some((name.clone(), true));
        self.worker.emit(Request::Details(name));
    }

    /// While a VM asked to shut down still runs, the list is read again every two seconds.
    fn refresh_while_shutting(&mut self, sender: &ComponentSender<Self>) {
        if self.shutting.is_empty() || self.refresh_due {
            return;
        }
        self.refresh_due = true;
        let s = sender.clone();
        gtk::glib::timeout_add_seconds_local_once(2, move || s.input(Input::RefreshDue));
    }

    /// A launcher's UUID: once the list is there, the VM's page, then Start.
    fn open_by_uuid(&mut self, sender: &ComponentSender<Self>) {
        let Some(uuid) = self.pending_uuid.take() else {
            return;
        };
        if let Some(vm) = self.vms.iter().find(|v| v.uuid.eq_ignore_ascii_case(&uuid)) {
            self.start_on_page(vm.name.clone());
        } else {
            let _ = crate::launcher::remove(&uuid);
            let _ = sender.output(Output::Toast(tr(
                "The launcher's VM is no longer in libvirt, so its launcher was removed from the app menu.",
            )));
        }
    }

    fn show(&mut self, vms: &[VmInfo], sender: &ComponentSender<Self>) {
        for w in self.rows.drain(..) {
            self.list.remove(&w);
        }
        if vms.is_empty() {
            let r = super::row(
                &tr("No virtual machines yet"),
                &match &self.card {
                    Some(card) => tr_f("Make one for {card} with New VM.", &[("card", card)]),
                    None => tr("libvirt holds no VMs on this connection."),
                },
            );
            self.list.add(&r);
            self.rows.push(r.upcast());
        }
        for vm in vms {
            let state = if self.shutting.contains(&vm.name) {
                tr("Shutting down…")
            } else if vm.running {
                tr("Running")
            } else {
                tr("Off")
            };
            let sub = match &vm.passage_purpose {
                Some(p) => tr_f(
                    "{state} · made by Passage ({purpose})",
                    &[
                        ("state", &state),
                        ("purpose", &passage_core::vm::Purpose::words_of(p)),
                    ],
                ),
                None => state,
            };
            let r = super::row(&vm.name, &sub);
            r.add_prefix(&crate::a11y::decorative_icon("computer-symbolic"));
            for b in row::actions(vm, sender) {
                r.add_suffix(&b);
            }
            let edit = gtk::Button::from_icon_name("document-edit-symbolic");
            edit.set_valign(gtk::Align::Center);
            edit.add_css_class("flat");
            edit.set_tooltip_text(Some(&tr("Passed-Through Devices")));
            crate::a11y::name(
                &edit,
                &tr_f("Passed-through devices of {vm}", &[("vm", &vm.name)]),
            );
            edit.set_widget_name(&format!("edit-{}", vm.name));
            let (s, name) = (sender.clone(), vm.name.clone());
            edit.connect_clicked(move |_| {
                let _ = s.output(Output::EditDevices(name.clone()));
            });
            r.add_suffix(&edit);
            let open = gtk::Button::from_icon_name("go-next-symbolic");
            open.set_valign(gtk::Align::Center);
            open.add_css_class("flat");
            open.set_tooltip_text(Some(&tr("Open")));
            crate::a11y::name(&open, &tr_f("Open {vm}", &[("vm", &vm.name)]));
            open.set_widget_name(&format!("open-{}", vm.name));
            let (s, name) = (sender.clone(), vm.name.clone());
            open.connect_clicked(move |_| s.input(Input::Open(name.clone())));
            r.add_suffix(&open);
            self.list.add(&r);
            self.rows.push(r.upcast());
        }
    }
}
