//! The window's messages: what pages, dialogs, actions and the wizard tell it.

use std::sync::Arc;

use passage_core::check::{Finding, Report};

use crate::host_source::{Loaded, Wanted};
use crate::logic::Selection;
use crate::pages::vms;
use crate::window::Page;

#[derive(Debug)]
pub enum Msg {
    Navigate(Page),
    Rescan,
    /// "Connect to Remote Host…" from the main menu: the dialog.
    ConnectRemote,
    /// Host setup of the remote host shown: its plan, made there over SSH.
    RemoteSetup,
    /// Show the VMs of this libvirt URI (a remote host's), or this computer's (`None`).
    Connect(Option<String>),
    Chose(Selection),
    ChooseGpu(String),
    Refused(String),
    Fix(Finding),
    /// Reserve hugepages now through the helper (System Check, a VM's pre-flight), then scan.
    Reserve {
        size_kib: u64,
        count: u64,
    },
    Toast(String),
    Apply,
    Undo(String),
    UndoAll,
    /// Keep a boot-time change after its restart (Host setup's After the Restart).
    KeepBoot(String),
    /// Host setup's GPU mode (boot, running or only GPU).
    SetupMode(passage_core::vm::session::GpuMode),
    /// What Host setup plans besides the card, for the wizard's VM (hugepages at boot).
    SetupExtras(Vec<passage_core::plan::Intent>),
    Applied,
    Undone,
    About,
    Started(String),
    StartLastVm,
    /// Show a VM's page (the `app.show-vm` action, by name).
    ShowVm(String),
    /// An action on the VM whose page shows (`app.vm-start`, `app.vm-shut-down`,
    /// `app.vm-launcher`).
    ShownVm(crate::pages::vm_detail::Input),
    /// To the Edit… view of the VM shown (`vm-edit-set`, `vm-edit-save`).
    VmEdit(crate::pages::vm_edit::Input),
    /// A wizard choice, `field` = `value` (from a page, or the `app.wizard-set` action).
    WizardSet(crate::wizard::Choice),
    WizardCreate,
    /// The wizard made a VM's XML: make its disk image, then define it.
    CreateVm {
        xml: String,
        volume: Option<vms::NewVolume>,
    },
    /// Edit an existing VM's devices: fetch its XML, then open the dialog.
    EditDevices(String),
    EditOpen(String, String),
    EditSet(passage_core::vm::devices::DeviceChoice),
    /// What the host's libvirt says about Hyper-V (the wizard's Windows VMs get what it has).
    HostHyperv(Option<Vec<passage_core::vm::tuning::Hv>>),
    EditSave,
    /// The dialog's edited domain, to define.
    EditSaved(String),
    CreateProgress(f64),
    Created(String),
    /// libvirt refused the wizard's Create.
    CreateFailed(crate::pages::problem::Problem),
    /// The wizard asks which names libvirt holds.
    NeedTaken,
    Taken(vms::Taken),
    Dump(String),
    /// “Create a Gaming VM…” / “Create an ML VM…” for this card: the express dialog.
    Express(passage_core::vm::Purpose, passage_core::host::PciAddress),
    /// The express dialog's Create: make the disk image, define the VM, then start it.
    ExpressCreate {
        name: String,
        xml: String,
        volume: Option<vms::NewVolume>,
        unattended: Option<Box<crate::workers::unattended::Job>>,
    },
    /// The express dialog's Customize…: the wizard on its draft.
    ExpressCustomize(Box<crate::wizard::Draft>),
}

/// What the app was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    pub wanted: Wanted,
    /// `--start-last-vm` (the desktop file's action): start the VM last started from Passage.
    pub start_last_vm: bool,
    /// `--start-vm UUID` (an app-menu launcher): start that VM, on its page.
    pub start_vm: Option<String>,
    /// `--connect URI`: the VMs of this libvirt.
    pub connect: Option<String>,
}

#[derive(Debug)]
pub enum Cmd {
    Loaded(Result<Arc<Loaded>, String>, Option<Arc<Report>>),
    Rebooted(Result<(), String>),
    /// What the helper said to a hugepage reservation.
    Reserved(Result<String, String>),
    /// The remote host at this URI as read there over SSH (for its VMs' pre-flight).
    RemoteHost(String, Result<Box<passage_core::Host>, String>),
    /// Host setup of the remote host: the plan made there.
    RemotePlan(Result<crate::remote_hosts::RemotePlan, String>),
}
