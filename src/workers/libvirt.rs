//! The one libvirt connection, in its own thread: every call blocks, so none runs on the
//! GTK main loop. The connection itself lives in a worker process (`passagectl vm serve`), so
//! the app never loads libvirt's client library (passage_virt::remote says why).

use std::path::PathBuf;

use passage_core::i18n::tr_f;
use passage_virt::remote::Remote;
use passage_virt::{Hypervisor, VmInfo, VmState};
use relm4::{ComponentSender, Worker};

/// Where VMs live: `PASSAGE_LIBVIRT_URI`, else the system instance (the one hostdevs need).
pub fn uri() -> String {
    std::env::var("PASSAGE_LIBVIRT_URI")
        .ok()
        .filter(|u| !u.is_empty())
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
    },
    Xml(String),
    /// Redefines a VM (its devices edited).
    Define(String),
    Start(String),
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
    /// Removes the VM's definition, and these disk images when the user ticked them: libvirt
    /// volumes (`pool/volume`) or paths of volumes.
    Delete {
        name: String,
        disks: Vec<String>,
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
    State(String, Result<VmState, String>),
    /// A start failed: libvirt's text, for the diagnosis.
    StartFailed(String, String),
    Deleted(String),
}

/// What a VM's page shows.
#[derive(Debug)]
pub struct Details {
    pub name: String,
    pub uuid: String,
    pub xml: String,
    pub state: VmState,
    pub networks: Vec<(String, bool)>,
}

/// passagectl beside this binary (as installed, and in a cargo target dir), else on PATH.
fn passagectl() -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|e| e.with_file_name("passagectl"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("passagectl"))
}

pub struct LibvirtWorker {
    uri: String,
    conn: Option<Remote>,
    asked_caps: bool,
}

impl LibvirtWorker {
    fn conn(&mut self) -> Result<&Remote, String> {
        if self.conn.is_none() {
            let r = Remote::spawn(&passagectl(), &["vm", "serve", "--connect", &self.uri])
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
                networks: c.networks().unwrap_or_default(),
            })
        });
        let _ = sender.output(match r {
            Ok(d) => Reply::Details(Box::new(d)),
            Err(e) => Reply::Done(Err(e)),
        });
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
                let _ = sender.output(Reply::StartFailed(name.to_string(), e));
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
            Request::Create { xml, volume } => {
                let s = sender.clone();
                let r = self.conn().and_then(|c| {
                    if let Some(v) = &volume {
                        let format = if v.raw {
                            passage_virt::VolumeFormat::RawPreallocated
                        } else {
                            passage_virt::VolumeFormat::Qcow2
                        };
                        c.ensure_pool(&v.pool, &v.path).map_err(|e| e.to_string())?;
                        c.create_volume(&v.pool, &v.name, v.bytes, format, &mut |a, b| {
                            let _ = s.output(Reply::Progress(a as f64 / b.max(1) as f64));
                        })
                        .map_err(|e| e.to_string())?;
                    }
                    c.define(&xml).map_err(|e| e.to_string())
                });
                let _ = sender.output(match r {
                    Ok(name) => Reply::Created(name),
                    Err(e) => Reply::Done(Err(e)),
                });
                self.list(&sender);
            }
            Request::Start(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.start(&name).map_err(|e| e.to_string()));
                if r.is_ok() {
                    let _ = sender.output(Reply::Started(name.clone()));
                }
                let _ = sender.output(Reply::Done(
                    r.map(|()| tr_f("{vm} is starting", &[("vm", &name)])),
                ));
                self.list(&sender);
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
                let r = self
                    .conn()
                    .and_then(|c| c.state(&name).map_err(|e| e.to_string()));
                let _ = sender.output(Reply::State(name, r));
            }
            Request::StartChecked { name, networks } => {
                self.start_checked(&name, &networks, &sender)
            }
            Request::Shutdown(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.shutdown(&name).map_err(|e| e.to_string()));
                if let Err(e) = r {
                    let _ = sender.output(Reply::Done(Err(e)));
                }
            }
            Request::Delete { name, disks } => {
                let r = self.conn().and_then(|c| {
                    c.undefine(&name).map_err(|e| e.to_string())?;
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
                    Err(e) => Reply::Done(Err(e)),
                });
                self.list(&sender);
            }
            Request::Stop(name) => {
                let r = self
                    .conn()
                    .and_then(|c| c.destroy(&name).map_err(|e| e.to_string()));
                let _ = sender.output(Reply::Done(
                    r.map(|()| tr_f("{vm} was stopped", &[("vm", &name)])),
                ));
                self.list(&sender);
            }
        }
    }
}
