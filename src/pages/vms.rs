//! Virtual machines: the VMs libvirt holds, with Start and Stop; a clear page when libvirt
//! cannot be reached. (The wizard that creates them comes with the VM issue.)

use passage_core::i18n::{tr, tr_f};
use passage_virt::VmInfo;
use relm4::adw::prelude::*;
use relm4::{
    adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller,
    WorkerController,
};

use super::vm_detail;

pub use crate::workers::libvirt::NewVolume;
use crate::workers::libvirt::{self, LibvirtWorker, Reply, Request};

#[derive(Debug)]
pub enum Input {
    Refresh,
    Start(String),
    Stop(String),
    Create {
        xml: String,
        volume: Option<NewVolume>,
    },
    FetchXml(String),
    Define(String),
    Worker(Reply),
    /// The host read (again): the VM page's pre-flight needs it.
    Host(std::sync::Arc<crate::host_source::Loaded>),
    /// Show this VM's page.
    Open(String),
    /// Start the VM with this UUID (the app-menu launcher): its page, then Start.
    StartUuid(String),
    /// From the VM's page.
    Detail(vm_detail::Output),
    /// To the VM whose page shows (the app's `vm-…` actions).
    Shown(vm_detail::Input),
}

#[derive(Debug)]
pub enum Output {
    Toast(String),
    Started(String),
    Progress(f64),
    Created(String),
    EditDevices(String),
    Xml(String, String),
    Hyperv(Option<Vec<passage_core::vm::tuning::Hv>>),
    Reserve { size_kib: u64, count: u64 },
    OpenSetup,
}

pub struct VmsPage {
    worker: WorkerController<LibvirtWorker>,
    list: adw::PreferencesGroup,
    rows: Vec<gtk::Widget>,
    status: adw::StatusPage,
    detail: Controller<vm_detail::VmDetail>,
    loaded: Option<std::sync::Arc<crate::host_source::Loaded>>,
    /// The VM whose page shows, and whether to start it when its details come (a launcher).
    open: Option<(String, bool)>,
    /// A launcher's VM, started once the list says which VM it is.
    pending_uuid: Option<String>,
    vms: Vec<VmInfo>,
}

impl Component for VmsPage {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = ();
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
        list.set_header_suffix(Some(&refresh));
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
        // libvirt is asked when the page is first shown (the window sends Refresh), not while
        // the window opens.
        root.set_visible_child_name("loading");
        ComponentParts {
            model: VmsPage {
                worker,
                list,
                rows: vec![],
                status,
                detail,
                loaded: None,
                open: None,
                pending_uuid: None,
                vms: vec![],
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Refresh => self.worker.emit(Request::List),
            Input::Start(n) => self.worker.emit(Request::Start(n)),
            Input::Stop(n) => self.worker.emit(Request::Stop(n)),
            Input::Create { xml, volume } => self.worker.emit(Request::Create { xml, volume }),
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
                let _ = sender.output(Output::Created(name));
            }
            Input::Worker(Reply::Vms(vms)) => {
                self.show(&vms, &sender);
                self.vms = vms;
                self.open_by_uuid(&sender);
                if self.open.is_none() {
                    root.set_visible_child_name("list");
                }
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
                self.detail
                    .emit(vm_detail::Input::Show(d, self.loaded.clone()));
                if start {
                    self.detail.emit(vm_detail::Input::Start);
                }
                root.set_visible_child_name("detail");
            }
            Input::Worker(Reply::State(name, r)) => {
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.detail.emit(vm_detail::Input::State(r));
                }
            }
            Input::Worker(Reply::StartFailed(name, text)) => {
                if self.open.as_ref().is_some_and(|(n, _)| *n == name) {
                    self.detail.emit(vm_detail::Input::StartFailed(text));
                } else {
                    let d = passage_core::vm::diagnose::explain(&text);
                    let _ = sender.output(Output::Toast(format!("{}: {}", d.title, d.fix)));
                }
            }
            Input::Worker(Reply::Deleted(name)) => {
                let _ = sender.output(Output::Toast(tr_f(
                    "{vm} is deleted; its disks are kept",
                    &[("vm", &name)],
                )));
                self.open = None;
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
            Input::Detail(vm_detail::Output::Reserve { size_kib, count }) => {
                let _ = sender.output(Output::Reserve { size_kib, count });
            }
            Input::Detail(vm_detail::Output::OpenSetup) => {
                let _ = sender.output(Output::OpenSetup);
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
            Input::Worker(Reply::Started(name)) => {
                let _ = sender.output(Output::Started(name));
            }
            Input::Worker(Reply::Done(r)) => {
                let _ = sender.output(Output::Toast(r.unwrap_or_else(|e| e)));
            }
        }
    }
}

/// What to install or start when libvirt does not answer.
pub fn unreachable_text(why: &str) -> String {
    tr_f(
        "Passage keeps VMs in libvirt, which did not answer: {why}\n\nInstall libvirt (Debian, Ubuntu: libvirt-daemon-system; Fedora: libvirt-daemon-kvm; Arch: libvirt), start it with “systemctl enable --now libvirtd”, and add yourself to the libvirt group.",
        &[("why", why)],
    )
}

impl VmsPage {
    /// A launcher's UUID: once the list is there, the VM's page, then Start.
    fn open_by_uuid(&mut self, sender: &ComponentSender<Self>) {
        let Some(uuid) = self.pending_uuid.take() else {
            return;
        };
        if let Some(vm) = self.vms.iter().find(|v| v.uuid.eq_ignore_ascii_case(&uuid)) {
            self.open = Some((vm.name.clone(), true));
            self.worker.emit(Request::Details(vm.name.clone()));
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
                &tr("libvirt holds no VMs on this connection."),
            );
            self.list.add(&r);
            self.rows.push(r.upcast());
        }
        for vm in vms {
            let state = if vm.running { tr("Running") } else { tr("Off") };
            let sub = match &vm.passage_purpose {
                Some(p) => tr_f(
                    "{state} · made by Passage ({purpose})",
                    &[("state", &state), ("purpose", p)],
                ),
                None => state,
            };
            let r = super::row(&vm.name, &sub);
            r.add_prefix(&crate::a11y::decorative_icon("computer-symbolic"));
            let (label, msg) = if vm.running {
                (tr("Stop"), Input::Stop as fn(String) -> Input)
            } else {
                (tr("Start"), Input::Start as fn(String) -> Input)
            };
            let b = gtk::Button::with_label(&label);
            let says = if vm.running {
                tr_f("Stop {vm}", &[("vm", &vm.name)])
            } else {
                tr_f("Start {vm}", &[("vm", &vm.name)])
            };
            crate::a11y::name(&b, &says);
            b.set_valign(gtk::Align::Center);
            let s = sender.clone();
            let name = vm.name.clone();
            b.connect_clicked(move |_| s.input(msg(name.clone())));
            r.add_suffix(&b);
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
