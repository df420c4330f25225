//! The one libvirt connection, in its own thread: every call blocks, so none runs on the
//! GTK main loop. The connection itself lives in a worker process (`passagectl-vm serve`, the
//! program `passagectl vm …` runs), so the app never loads libvirt's client library
//! (passage_virt::remote says why).

use std::sync::{Mutex, OnceLock};

use passage_core::i18n::tr_f;
use passage_core::programs;
use passage_virt::remote::Remote;
use passage_virt::{GuestAgent, Hypervisor, VmInfo, VmState};
use relm4::{ComponentSender, Worker};

/// `passage --connect URI`.
static CONNECT: OnceLock<String> = OnceLock::new();
/// The demo host's VMs (libvirt's test driver), while the demo host is shown.
static DEMO: Mutex<Option<String>> = Mutex::new(None);
/// The remote host chosen in "Connect to Remote Host…" (`None`: this computer).
static CHOSEN: Mutex<Option<String>> = Mutex::new(None);

/// VMs live at `uri` (a remote host's), or on this computer again (`None`). The worker
/// connects again at its next request.
pub fn choose(uri: Option<String>) {
    if let Ok(mut c) = CHOSEN.lock() {
        *c = uri;
    }
}

/// The remote host as read there over SSH (`passagectl scan --json`), for the pre-flight of
/// its VMs; `None` until read, or when it could not be.
static REMOTE_HOST: Mutex<Option<(String, std::sync::Arc<passage_core::Host>)>> = Mutex::new(None);

/// Keeps the host read at `uri` (it is used only while `uri` is the one shown).
pub fn set_remote_host(uri: String, host: Option<passage_core::Host>) {
    if let Ok(mut h) = REMOTE_HOST.lock() {
        *h = host.map(|host| (uri, std::sync::Arc::new(host)));
    }
}

/// The remote host shown, as read there; `None` when not read (or this computer is shown).
pub fn remote_host() -> Option<std::sync::Arc<passage_core::Host>> {
    let uri = uri();
    REMOTE_HOST
        .lock()
        .ok()?
        .as_ref()
        .filter(|(u, _)| *u == uri)
        .map(|(_, h)| h.clone())
}

/// The remote host whose VMs are shown (`None`: this computer's, or the demo's).
pub fn remote() -> Option<passage_core::connection::RemoteHost> {
    passage_core::connection::remote(&uri())
}

/// VMs live at `uri`, whatever host is shown (`passage --connect URI`).
pub fn connect_to(uri: String) {
    let _ = CONNECT.set(uri);
}

/// The demo host's VMs, used while it is shown and no URI was given (`None` otherwise).
pub fn use_demo(uri: Option<String>) {
    if let Ok(mut d) = DEMO.lock() {
        *d = uri;
    }
}

/// The URI the user gave: `--connect`, else `PASSAGE_LIBVIRT_URI`.
pub fn given_uri() -> Option<String> {
    CONNECT.get().cloned().or_else(|| {
        std::env::var("PASSAGE_LIBVIRT_URI")
            .ok()
            .filter(|u| !u.is_empty())
    })
}

/// Where VMs live: the URI given, else the demo host's test driver while the demo host is
/// shown, else the system instance (the one hostdevs need).
pub fn uri() -> String {
    given_uri()
        .or_else(|| CHOSEN.lock().ok().and_then(|c| c.clone()))
        .or_else(|| DEMO.lock().ok().and_then(|d| d.clone()))
        .unwrap_or_else(|| "qemu:///system".into())
}

/// A disk image to create before defining a VM.
#[derive(Debug, Clone)]
pub struct NewVolume {
    pub pool: String,
    /// The pool's directory, if Passage has to create the pool.
    pub path: String,
    pub name: String,
    pub bytes: u64,
    pub raw: bool,
}

#[derive(Debug)]
pub enum Request {
    List,
    /// Creates the disk image (if any), then defines the VM.
    Create {
        xml: String,
        volume: Option<NewVolume>,
        /// The express dialog's unattended install: its answer media made and attached first.
        unattended: Option<Box<super::unattended::Job>>,
    },
    Xml(String),
    /// Redefines a VM (its devices edited).
    Define(String),
    /// Forces the VM off (libvirt's destroy): only after the user confirmed it.
    Stop(String),
    /// A VM's definition, state and libvirt's networks, for its page.
    Details(String),
    /// A VM's state (the page polls it, at most once a second).
    State(String),
    /// Starts these networks, then the VM (after the app's pre-flight).
    StartChecked {
        name: String,
        networks: Vec<String>,
    },
    /// The names a new VM must not take, with the volumes of this pool.
    Taken(String),
    /// A remedy's domain edit: redefines the VM, then its details again (the page rechecks).
    Redefine {
        name: String,
        xml: String,
    },
    /// Starts a VM's network, then its details again (the page rechecks).
    StartNetwork {
        vm: String,
        network: String,
    },
    /// Asks the guest to shut down (guest agent, else the power button).
    Shutdown(String),
    /// Asks the running guest, through its agent, which PCI devices it sees (read-only).
    Verify(String),
    /// Removes the VM's definition, and these disk images when the user ticked them: libvirt
    /// volumes (`pool/volume`) or paths of volumes.
    Delete {
        name: String,
        disks: Vec<String>,
    },
    /// The Edit… view's Save: the changes applied by `passage_virt::edit` (images, definition,
    /// a running VM's media), then the VM's details again.
    EditSettings {
        name: String,
        changes: Box<passage_core::vm::settings::Changes>,
    },
}

#[derive(Debug)]
pub enum Reply {
    Vms(Vec<VmInfo>),
    Unreachable(String),
    Done(Result<String, String>),
    /// A VM started (the one-click start remembers it).
    Started(String),
    /// Creating a disk image, 0.0–1.0.
    Progress(f64),
    Created(String),
    Xml(String, String),
    /// The host's Hyper-V enlightenments, from libvirt's domain capabilities (asked once).
    Hyperv(Option<Vec<passage_core::vm::tuning::Hv>>),
    Details(Box<Details>),
    /// A VM's state and its guest agent (the page polls them).
    State(String, Result<Polled, String>),
    /// The guest was asked to shut down.
    ShutdownAsked(String),
    /// What the guest said of its PCI devices (`Request::Verify`).
    Guest(String, crate::pages::vm_guest::Answer),
    /// An action on a VM failed: libvirt's text (for a start, read by the diagnosis).
    Failed(String, VmAction, String),
    /// Create failed: libvirt's text. Nothing it made is left behind.
    CreateFailed(String),
    /// The VMs libvirt holds and the volumes of the wizard's pool: the names a new VM and its
    /// disk image must not take.
    Taken(Taken),
    Deleted(String),
    /// The edit is saved: what applies now and what from the next start.
    Edited(Box<passage_core::vm::settings::Edited>),
    /// The edit failed; nothing of it is kept.
    EditFailed(passage_virt::edit::EditFailed),
}

/// What was asked of a VM when libvirt said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmAction {
    Start,
    ShutDown,
    ForceOff,
    Delete,
}

/// Names already in use in libvirt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    pub vms: Vec<String>,
    pub volumes: Vec<String>,
    /// Bytes free in the pool (where a new disk goes), when it is there.
    pub free: Option<u64>,
}

impl Taken {
    /// What the express VM's recommendation needs of it.
    pub fn context(&self) -> passage_core::vm::express::Context {
        passage_core::vm::express::Context {
            free_bytes: self.free,
            taken_vms: self.vms.clone(),
            taken_volumes: self.volumes.clone(),
            ..Default::default()
        }
    }
}

/// What a VM's page polls: its state, and whether its guest agent answers (libvirt's live
/// XML; no agent command runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    pub state: VmState,
    pub agent: GuestAgent,
}

/// What a VM's page shows.
#[derive(Debug)]
pub struct Details {
    pub name: String,
    pub uuid: String,
    pub xml: String,
    pub state: VmState,
    pub agent: GuestAgent,
    pub networks: Vec<(String, bool)>,
}

pub struct LibvirtWorker {
    uri: String,
    conn: Option<Remote>,
    asked_caps: bool,
    /// The VMs whose unattended install was seen done (their agent answered).
    finished: std::collections::HashSet<String>,
}

impl LibvirtWorker {
    fn conn(&mut self) -> Result<&Remote, String> {
        // The demo host's VMs are known once the host is read: connect again when it changes.
        let want = uri();
        if want != self.uri {
            self.uri = want;
            self.conn = None;
            self.asked_caps = false;
        }
        if self.conn.is_none() {
            let r = Remote::spawn(&programs::vm_commands(), &["serve", "--connect", &self.uri])
                .map_err(|e| e.to_string())?;
            self.conn = Some(r);
        }
        self.conn.as_ref().ok_or_else(String::new)
    }

    fn list(&mut self, sender: &ComponentSender<Self>) {
        let r = self
            .conn()
            .and_then(|c| c.list().map_err(|e| e.to_string()));
        let ok = r.is_ok();
        let _ = sender.output(match r {
            Ok(v) => Reply::Vms(v),
            Err(why) => {
                self.conn = None;
                Reply::Unreachable(why)
            }
        });
        if ok && !self.asked_caps {
            self.asked_caps = true;
            let caps = self
                .conn()
                .and_then(|c| c.capabilities().map_err(|e| e.to_string()));
            let hv = caps
                .ok()
                .and_then(|x| passage_core::vm::tuning::supported_from_domcaps(&x));
            let _ = sender.output(Reply::Hyperv(hv));
        }
    }
}

impl LibvirtWorker {
    fn details(&mut self, name: &str, sender: &ComponentSender<Self>) {
        let r = self.conn().and_then(|c| {
            let e = |e: passage_virt::VirtError| e.to_string();
            let uuid = c
                .list()
                .map_err(e)?
                .into_iter()
                .find(|v| v.name == name)
                .map(|v| v.uuid)
                .unwrap_or_default();
            Ok(Details {
                name: name.to_string(),
                uuid,
                xml: c.xml(name).map_err(e)?,
                state: c.state(name).map_err(e)?,
                agent: c.guest_agent(name).map_err(e)?,
                networks: c.networks().unwrap_or_default(),
            })
        });
        let _ = sender.output(match r {
            Ok(d) => Reply::Details(Box::new(d)),
            Err(e) => Reply::Done(Err(e)),
        });
    }

    /// Makes the disk image (if any), then defines the VM; when the definition fails, the
    /// image it just made is deleted again, so a failed Create leaves nothing behind.
    fn create(
        &mut self,
        xml: &str,
        volume: Option<&NewVolume>,
        unattended: Option<&super::unattended::Job>,
        sender: &ComponentSender<Self>,
    ) -> Result<String, String> {
        let c = self.conn()?;
        let e = |e: passage_virt::VirtError| e.to_string();
        let media = match unattended {
            Some(job) => Some(super::unattended::media(c, job)?),
            None => None,
        };
        if let Some(note) = media.as_ref().and_then(|m| m.note.clone()) {
            let _ = sender.output(Reply::Done(Ok(note)));
        }
        let media_volume = media.as_ref().and_then(|m| m.volume.clone());
        let xml = media.and_then(|m| m.xml).unwrap_or_else(|| xml.to_string());
        let xml = xml.as_str();
        if let Some(v) = volume {
            let format = if v.raw {
                passage_virt::VolumeFormat::RawPreallocated
            } else {
                passage_virt::VolumeFormat::Qcow2
            };
            c.ensure_pool(&v.pool, &v.path).map_err(e)?;
            let s = sender.clone();
            c.create_volume(&v.pool, &v.name, v.bytes, format, &mut |a, b| {
                let _ = s.output(Reply::Progress(a as f64 / b.max(1) as f64));
            })
            .map_err(|why| {
                // The answer media made for this VM goes with its refused disk.
                if let Some(m) = &media_volume {
                    let _ = c.delete_volume(passage_core::vm::draft::POOL, m);
                }
                e(why)
            })?;
        }
        c.define(xml).map_err(|why| {
            if let Some(v) = volume {
                let _ = c.delete_volume(&v.pool, &v.name);
            }
            if let Some(m) = &media_volume {
                let _ = c.delete_volume(passage_core::vm::draft::POOL, m);
            }
            why.to_string()
        })
    }

    /// The guest agent answers, so an unattended install is done (the guest tools come at the
    /// first logon): its answer media is detached and deleted, once per VM and run of the app.
    fn finish_unattended(&mut self, name: &str, sender: &ComponentSender<Self>) {
        if !self.finished.insert(name.to_string()) {
            return;
        }
        let Ok(c) = self.conn() else { return };
        let said = match passage_virt::unattended::finish_unattended(c, name) {
            Ok(Some(media)) => Ok(tr_f(
                "The unattended install of {vm} is done: its answer media {path} was detached and deleted.",
                &[("vm", name), ("path", &media)],
            )),
            Ok(None) => return,
            Err(e) => Err(tr_f(
                "The unattended install of {vm} is done, but its answer media could not be removed: {why}. It holds the account's password: delete it with virsh vol-delete.",
                &[("vm", name), ("why", &e.to_string())],
            )),
        };
        let _ = sender.output(Reply::Done(said));
    }

    /// After a remedy: its error, else the VM's details (its page checks again).
    fn then_details(&mut self, name: &str, r: Result<(), String>, sender: &ComponentSender<Self>) {
        match r {
            Ok(()) => self.details(name, sender),
            Err(e) => {
                let _ = sender.output(Reply::Done(Err(e)));
            }
        }
    }

    fn start_checked(&mut self, name: &str, networks: &[String], sender: &ComponentSender<Self>) {
        let r = self.conn().and_then(|c| {
            for n in networks {
                c.start_network(n).map_err(|e| e.to_string())?;
            }
            c.start(name).map_err(|e| e.to_string())
        });
        match r {
            Ok(()) => {
                let _ = sender.output(Reply::Started(name.to_string()));
            }
            Err(e) => {
                let _ = sender.output(Reply::Failed(name.to_string(), VmAction::Start, e));
            }
        }
        self.list(sender);
    }
}

impl Worker for LibvirtWorker {
    type Init = String;
    type Input = Request;
    type Output = Reply;

    fn init(uri: String, _sender: ComponentSender<Self>) -> Self {
        LibvirtWorker {
            uri,
            conn: None,
            asked_caps: false,
            finished: Default::default(),
        }
    }

    fn update(&mut self, msg: Request, sender: ComponentSender<Self>) {
        match msg {
            Request::List => self.list(&sender),
            Request::Xml(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.xml(&name).map_err(|e| e.to_string()));
                let _ = sender.output(match r {
                    Ok(xml) => Reply::Xml(name, xml),
                    Err(e) => Reply::Done(Err(e)),
                });
            }
            Request::Define(xml) => {
                let r = self
                    .conn()
                    .and_then(|c| c.define(&xml).map_err(|e| e.to_string()));
                let _ = sender.output(Reply::Done(
                    r.map(|vm| tr_f("The devices of {vm} are saved", &[("vm", &vm)])),
                ));
                self.list(&sender);
            }
            Request::Create {
                xml,
                volume,
                unattended,
            } => {
                let r = self.create(&xml, volume.as_ref(), unattended.as_deref(), &sender);
                let _ = sender.output(match r {
                    Ok(name) => Reply::Created(name),
                    Err(e) => Reply::CreateFailed(e),
                });
                self.list(&sender);
            }
            Request::Taken(pool) => {
                let r = self.conn().map(|c| Taken {
                    vms: c
                        .list()
                        .map(|v| v.into_iter().map(|x| x.name).collect())
                        .unwrap_or_default(),
                    volumes: c.volumes(&pool).unwrap_or_default(),
                    free: c
                        .pools()
                        .ok()
                        .and_then(|p| p.into_iter().find(|p| p.name == pool && p.active))
                        .map(|p| p.available),
                });
                if let Ok(t) = r {
                    let _ = sender.output(Reply::Taken(t));
                }
            }
            Request::Details(name) => self.details(&name, &sender),
            Request::Redefine { name, xml } => {
                let r = self
                    .conn()
                    .and_then(|c| c.define(&xml).map_err(|e| e.to_string()));
                self.then_details(&name, r.map(|_| ()), &sender);
            }
            Request::StartNetwork { vm, network } => {
                let r = self
                    .conn()
                    .and_then(|c| c.start_network(&network).map_err(|e| e.to_string()));
                self.then_details(&vm, r, &sender);
            }
            Request::State(name) => {
                let r = self.conn().and_then(|c| {
                    let e = |e: passage_virt::VirtError| e.to_string();
                    Ok(Polled {
                        state: c.state(&name).map_err(e)?,
                        agent: c.guest_agent(&name).map_err(e)?,
                    })
                });
                if matches!(&r, Ok(p) if p.agent == GuestAgent::Answering) {
                    self.finish_unattended(&name, &sender);
                }
                let _ = sender.output(Reply::State(name, r));
            }
            Request::Verify(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.look_in_guest(&name).map_err(|e| e.to_string()));
                let _ = sender.output(Reply::Guest(name, r));
            }
            Request::StartChecked { name, networks } => {
                self.start_checked(&name, &networks, &sender)
            }
            Request::Shutdown(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.shutdown(&name).map_err(|e| e.to_string()));
                let _ = sender.output(match r {
                    Ok(()) => Reply::ShutdownAsked(name),
                    Err(e) => Reply::Failed(name, VmAction::ShutDown, e),
                });
            }
            Request::Delete { name, disks } => {
                let r = self.conn().and_then(|c| {
                    let xml = c.xml(&name).ok();
                    c.undefine(&name).map_err(|e| e.to_string())?;
                    // The unattended install's answer media (the password on it) goes too.
                    if let Some(xml) = &xml {
                        passage_virt::unattended::remove_own_media(c, &name, xml)
                            .map_err(|e| e.to_string())?;
                    }
                    for d in &disks {
                        let gone = match d.split_once('/') {
                            Some((pool, vol)) if !d.starts_with('/') => c.delete_volume(pool, vol),
                            _ => c.delete_image(d),
                        };
                        gone.map_err(|e| e.to_string())?;
                    }
                    Ok(())
                });
                let _ = sender.output(match r {
                    Ok(()) => Reply::Deleted(name),
                    Err(e) => Reply::Failed(name, VmAction::Delete, e),
                });
                self.list(&sender);
            }
            Request::EditSettings { name, changes } => {
                let r = self
                    .conn()
                    .map_err(|e| {
                        passage_virt::edit::EditFailed::Read(passage_virt::VirtError::Worker(e))
                    })
                    .and_then(|c| passage_virt::edit::edit(c, &name, &changes));
                let _ = sender.output(match r {
                    Ok((_, e)) => Reply::Edited(Box::new(e)),
                    Err(e) => Reply::EditFailed(e),
                });
                self.details(&name, &sender);
            }
            Request::Stop(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.destroy(&name).map_err(|e| e.to_string()));
                let _ = sender.output(match r {
                    Ok(()) => Reply::Done(Ok(tr_f("{vm} was forced off", &[("vm", &name)]))),
                    Err(e) => Reply::Failed(name, VmAction::ForceOff, e),
                });
                self.list(&sender);
            }
        }
    }
}
