//! Passage's libvirt layer: the few things the app and passagectl do with VMs, behind a small
//! trait so front ends can hold any implementation (and tests a `test:///default` one), and
//! implemented with the `virt` crate. Calls block: the GTK app makes them from one worker
//! thread, never the main loop.

mod agent;
pub mod console;
pub mod edit;
pub mod fdpass;
mod graphics;
pub mod remote;
pub mod unattended;
mod upload;

pub use passage_core::vm::domain::GuestAgent;
pub use passage_core::vm::verify::{CannotCheck, GuestView};
use serde::{Deserialize, Serialize};
use virt::connect::Connect;
use virt::domain::{Domain, DomainState};

/// What to check when libvirt at `uri` cannot be reached: this computer's libvirtd, or on a
/// remote host the SSH login and libvirtd there.
fn connect_hint(uri: &str) -> String {
    use passage_core::i18n::tr;
    if passage_core::connection::remote(uri).is_some() {
        tr("Check that ssh logs in to that host without a password prompt (a key, or ssh-agent), that libvirtd runs there and that you are in its libvirt group there.")
    } else {
        tr("Is libvirtd running (and are you in the libvirt group)?")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VirtError {
    #[error("cannot connect to libvirt at {uri}: {why}. {}", connect_hint(.uri))]
    Connect { uri: String, why: String },
    #[error("there is no VM named {0:?}; `passagectl vm list` shows them")]
    NoSuchVm(String),
    #[error("libvirt refused: {0}")]
    Libvirt(String),
    /// What the libvirt worker process said, already in words (`remote`).
    #[error("{0}")]
    Worker(String),
}

pub(crate) fn lv(e: virt::error::Error) -> VirtError {
    VirtError::Libvirt(e.message().to_string())
}

/// What a VM list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmInfo {
    pub name: String,
    pub uuid: String,
    pub running: bool,
    /// `gaming`, `ml` or `other` when Passage created it (from its metadata), else `None`.
    pub passage_purpose: Option<String>,
}

/// How a new disk image is laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeFormat {
    /// Grows as the guest writes (snapshots, small on disk).
    Qcow2,
    /// Every byte written up front (steadiest performance, no surprises when the disk fills).
    RawPreallocated,
    /// A qcow2 overlay on a base image (the base is only read; changes go to the overlay).
    Qcow2Backing { base: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolInfo {
    pub name: String,
    pub active: bool,
    pub capacity: u64,
    pub available: u64,
}

/// A VM's state as libvirt reports it, in the words the VM page uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VmState {
    Off,
    Running,
    Paused,
    /// Shutting down after the power button (or the guest agent).
    ShuttingDown,
    /// QEMU died, or the guest crashed.
    Crashed,
    /// Starting, suspended to disk, or a state libvirt adds later.
    Other,
}

/// The operations Passage needs from a hypervisor.
pub trait Hypervisor {
    fn list(&self) -> Result<Vec<VmInfo>, VirtError>;
    /// Defines (or redefines) a VM from domain XML; returns its name.
    fn define(&self, xml: &str) -> Result<String, VirtError>;
    /// Removes a VM's definition and its NVRAM (never its disks).
    fn undefine(&self, name: &str) -> Result<(), VirtError>;
    fn start(&self, name: &str) -> Result<(), VirtError>;
    /// Stops a VM at once (pulls the plug).
    fn destroy(&self, name: &str) -> Result<(), VirtError>;
    /// Asks the guest to shut down: its guest agent when it has one, else the ACPI power
    /// button. Returns at once; [`Hypervisor::state`] says when it is off.
    fn shutdown(&self, name: &str) -> Result<(), VirtError>;
    fn state(&self, name: &str) -> Result<VmState, VirtError>;
    /// libvirt's networks and whether each is active.
    fn networks(&self) -> Result<Vec<(String, bool)>, VirtError>;
    /// Starts a defined network (the VM's NAT network before the VM).
    fn start_network(&self, name: &str) -> Result<(), VirtError>;
    /// The domain XML as libvirt holds it (inactive definition).
    fn xml(&self, name: &str) -> Result<String, VirtError>;
    /// The domain XML as the VM runs (its definition when it is off): what libvirt reports
    /// live, such as the guest agent channel's `state`. Reading it runs nothing in the guest.
    fn live_xml(&self, name: &str) -> Result<String, VirtError>;
    /// The QEMU guest agent as libvirt reports it now: the running VM's channel `state`
    /// (answering or not), else whether its definition has the channel. Only the XML is read:
    /// no agent command runs (libvirt marks a domain that ran one tainted).
    fn guest_agent(&self, name: &str) -> Result<GuestAgent, VirtError> {
        let xml = self.live_xml(name)?;
        passage_core::vm::Domain::read(&xml)
            .map(|d| d.guest_agent)
            .map_err(|e| VirtError::Libvirt(e.to_string()))
    }
    /// Asks the running VM's guest, through the QEMU guest agent, which PCI devices it sees and
    /// with which drivers (read-only queries, each with a timeout; libvirt then marks the
    /// domain tainted, custom-ga-command). Why it cannot be asked is the inner error.
    fn look_in_guest(&self, name: &str) -> Result<Result<GuestView, CannotCheck>, VirtError>;
    /// libvirt's domain capabilities for q35 (firmware, features).
    fn capabilities(&self) -> Result<String, VirtError>;
    fn pools(&self) -> Result<Vec<PoolInfo>, VirtError>;
    /// The names of a pool's volumes, read again from its directory; none when there is no
    /// such pool.
    fn volumes(&self, pool: &str) -> Result<Vec<String>, VirtError>;
    /// A directory pool `name` at `path`, defined, built and started if it is not.
    fn ensure_pool(&self, name: &str, path: &str) -> Result<(), VirtError>;
    /// Creates a disk image in `pool`; `progress(bytes_written, total)` as libvirt writes it.
    /// Returns its path.
    fn create_volume(
        &self,
        pool: &str,
        name: &str,
        bytes: u64,
        format: VolumeFormat,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<String, VirtError>;
    fn delete_volume(&self, pool: &str, name: &str) -> Result<(), VirtError>;
    /// Deletes a disk image by its path, when it is a volume of one of libvirt's pools (files
    /// elsewhere are not libvirt's to delete).
    fn delete_image(&self, path: &str) -> Result<(), VirtError>;
    /// Gives a running VM a device's new element (a CD-ROM's media: libvirt finds the drive by
    /// its `<target dev>`), without touching its definition (`define` does that).
    fn update_live_device(&self, name: &str, element: &str) -> Result<(), VirtError>;
    /// Copies the file at `src` (on the computer libvirt runs on) into `pool` as a new raw
    /// volume `name`, written by libvirt; its path in the pool.
    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &std::path::Path,
    ) -> Result<String, VirtError>;
}

/// A libvirt connection (`qemu:///system` normally; `test:///default` in unit tests).
pub struct Libvirt {
    conn: Connect,
    uri: String,
}

impl Libvirt {
    pub fn open(uri: &str) -> Result<Self, VirtError> {
        // libvirt prints every error to stderr by default; Passage says what failed itself.
        virt::error::clear_error_callback();
        Connect::open(Some(uri))
            .map(|conn| Self {
                conn,
                uri: uri.to_string(),
            })
            .map_err(|e| VirtError::Connect {
                uri: uri.to_string(),
                why: e.message().to_string(),
            })
    }

    pub(crate) fn domain(&self, name: &str) -> Result<Domain, VirtError> {
        self.conn
            .lookup_domain_by_name(name)
            .map_err(|_| VirtError::NoSuchVm(name.to_string()))
    }
}

fn vm_state(s: virt::enumutil::Enum<DomainState, virt::sys::virDomainState>) -> VmState {
    match s {
        virt::enumutil::Enum::Known(DomainState::Shutoff) => VmState::Off,
        // Blocked: running, waiting on I/O.
        virt::enumutil::Enum::Known(DomainState::Running | DomainState::Blocked) => {
            VmState::Running
        }
        virt::enumutil::Enum::Known(DomainState::Paused) => VmState::Paused,
        virt::enumutil::Enum::Known(DomainState::Shutdown) => VmState::ShuttingDown,
        virt::enumutil::Enum::Known(DomainState::Crashed) => VmState::Crashed,
        _ => VmState::Other,
    }
}

/// Passage's purpose tag in a domain's metadata, if present.
fn purpose(xml: &str) -> Option<String> {
    let start = xml.find("<passage:purpose>")? + "<passage:purpose>".len();
    let end = xml[start..].find("</passage:purpose>")? + start;
    Some(xml[start..end].to_string())
}

impl Hypervisor for Libvirt {
    fn look_in_guest(&self, name: &str) -> Result<Result<GuestView, CannotCheck>, VirtError> {
        agent::look(self, name)
    }

    fn update_live_device(&self, name: &str, element: &str) -> Result<(), VirtError> {
        self.domain(name)?
            .update_device_flags(element, virt::sys::VIR_DOMAIN_AFFECT_LIVE)
            .map_err(lv)
    }

    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &std::path::Path,
    ) -> Result<String, VirtError> {
        self.upload_file(pool, name, src)
    }

    fn list(&self) -> Result<Vec<VmInfo>, VirtError> {
        let flags = virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE
            | virt::sys::VIR_CONNECT_LIST_DOMAINS_INACTIVE;
        let mut out = Vec::new();
        for d in self.conn.list_all_domains(flags).map_err(lv)? {
            let xml = d.xml_desc(0).map_err(lv)?;
            out.push(VmInfo {
                name: d.name().map_err(lv)?,
                uuid: d.uuid_string().map_err(lv)?,
                running: d.is_active().map_err(lv)?,
                passage_purpose: purpose(&xml),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn define(&self, xml: &str) -> Result<String, VirtError> {
        self.conn
            .define_domain_xml(xml)
            .and_then(|d| d.name())
            .map_err(lv)
    }

    fn undefine(&self, name: &str) -> Result<(), VirtError> {
        let d = self.domain(name)?;
        // NVRAM goes with the VM; the test driver has none and refuses the flag.
        d.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM)
            .or_else(|_| d.undefine())
            .map_err(lv)
    }

    fn start(&self, name: &str) -> Result<(), VirtError> {
        self.domain(name)?.create().map_err(lv)
    }

    fn destroy(&self, name: &str) -> Result<(), VirtError> {
        let d = self.domain(name)?;
        let (state, _) = d.state().map_err(lv)?;
        if state.is(DomainState::Shutoff) {
            return Ok(());
        }
        d.destroy().map_err(lv)
    }

    fn shutdown(&self, name: &str) -> Result<(), VirtError> {
        let d = self.domain(name)?;
        let flags = virt::sys::VIR_DOMAIN_SHUTDOWN_GUEST_AGENT
            | virt::sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN;
        // The test driver knows no methods; libvirt's default there is the same button.
        d.shutdown_flags(flags)
            .or_else(|_| d.shutdown())
            .map_err(lv)
    }

    fn state(&self, name: &str) -> Result<VmState, VirtError> {
        let (state, _) = self.domain(name)?.state().map_err(lv)?;
        Ok(vm_state(state))
    }

    fn networks(&self) -> Result<Vec<(String, bool)>, VirtError> {
        let mut out = vec![];
        for n in self.conn.list_all_networks(0).map_err(lv)? {
            out.push((n.name().map_err(lv)?, n.is_active().map_err(lv)?));
        }
        out.sort();
        Ok(out)
    }

    fn start_network(&self, name: &str) -> Result<(), VirtError> {
        word(name, "network")?;
        let n = self.conn.lookup_network_by_name(name).map_err(lv)?;
        if n.is_active().map_err(lv)? {
            return Ok(());
        }
        n.create().map_err(lv)
    }

    fn xml(&self, name: &str) -> Result<String, VirtError> {
        self.domain(name)?
            .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
            .map_err(lv)
    }

    fn live_xml(&self, name: &str) -> Result<String, VirtError> {
        self.domain(name)?.xml_desc(0).map_err(lv)
    }

    fn capabilities(&self) -> Result<String, VirtError> {
        self.conn
            .domain_capabilities(None, Some("x86_64"), Some("q35"), None, 0)
            .map_err(lv)
    }

    fn pools(&self) -> Result<Vec<PoolInfo>, VirtError> {
        let mut out = Vec::new();
        for p in self.conn.list_all_storage_pools(0).map_err(lv)? {
            let info = p.info().map_err(lv)?;
            out.push(PoolInfo {
                name: p.name().map_err(lv)?,
                active: p.is_active().map_err(lv)?,
                capacity: info.capacity,
                available: info.available,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn volumes(&self, pool: &str) -> Result<Vec<String>, VirtError> {
        let Ok(p) = self.conn.lookup_storage_pool_by_name(pool) else {
            return Ok(vec![]);
        };
        if !p.is_active().map_err(lv)? {
            return Ok(vec![]);
        }
        // Files copied into the pool's directory since libvirt last looked count too.
        let _ = p.refresh(0);
        let mut v = p.list_volumes().map_err(lv)?;
        v.sort();
        Ok(v)
    }

    fn ensure_pool(&self, name: &str, path: &str) -> Result<(), VirtError> {
        word(name, "pool")?;
        if !path.starts_with('/') || path.chars().any(char::is_control) || path.contains("..") {
            return Err(VirtError::Libvirt(format!(
                "{path:?} is not an absolute, plain path for a storage pool"
            )));
        }
        let pool = match self.conn.lookup_storage_pool_by_name(name) {
            Ok(p) => p,
            Err(_) => {
                let xml = format!(
                    "<pool type='dir'><name>{name}</name><target><path>{}</path></target></pool>",
                    esc(path)
                );
                let p = self.conn.define_storage_pool_xml(&xml, 0).map_err(lv)?;
                p.build(0).map_err(lv)?;
                let _ = p.set_autostart(true);
                p
            }
        };
        if !pool.is_active().map_err(lv)? {
            pool.create(0).map_err(lv)?;
        }
        Ok(())
    }

    fn create_volume(
        &self,
        pool: &str,
        name: &str,
        bytes: u64,
        format: VolumeFormat,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<String, VirtError> {
        word(name, "volume")?;
        if bytes == 0 {
            return Err(VirtError::Libvirt(
                "a disk of 0 bytes holds nothing; give a size".into(),
            ));
        }
        let p = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .map_err(|_| VirtError::Libvirt(format!("there is no storage pool {pool:?}")))?;
        let avail = p.info().map_err(lv)?.available;
        let needs = match format {
            VolumeFormat::Qcow2 | VolumeFormat::Qcow2Backing { .. } => 0,
            VolumeFormat::RawPreallocated => bytes,
        };
        if needs > avail {
            return Err(VirtError::Libvirt(format!(
                "a {} GiB disk does not fit: pool {pool} has {} GiB free",
                bytes >> 30,
                avail >> 30
            )));
        }
        let (fmt, alloc) = match format {
            VolumeFormat::Qcow2 | VolumeFormat::Qcow2Backing { .. } => ("qcow2", 0),
            VolumeFormat::RawPreallocated => ("raw", bytes),
        };
        let backing = match &format {
            VolumeFormat::Qcow2Backing { base } => {
                if !base.starts_with('/')
                    || base.chars().any(char::is_control)
                    || base.contains("..")
                {
                    return Err(VirtError::Libvirt(format!(
                        "{base:?} is not an absolute, plain path for a base image"
                    )));
                }
                // The image's own magic says its format (only the first four bytes are read).
                let mut magic = [0u8; 4];
                let is_qcow2 = std::fs::File::open(base)
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                    .is_ok()
                    && &magic == b"QFI\xfb";
                let base_fmt = if is_qcow2 { "qcow2" } else { "raw" };
                format!(
                    "<backingStore><path>{}</path><format type='{base_fmt}'/></backingStore>",
                    esc(base)
                )
            }
            _ => String::new(),
        };
        let xml = format!("<volume><name>{name}</name><capacity unit='bytes'>{bytes}</capacity><allocation unit='bytes'>{alloc}</allocation><target><format type='{fmt}'/></target>{backing}</volume>");
        // libvirt writes in this thread; a second connection watches the allocation grow.
        let done = std::sync::atomic::AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::channel::<(u64, u64)>();
        let result = std::thread::scope(|s| {
            let uri = self.uri.clone();
            let (pool_name, vol_name, done) = (pool.to_string(), name.to_string(), &done);
            s.spawn(move || {
                let Ok(c) = Connect::open(Some(&uri)) else {
                    return;
                };
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(info) = c
                        .lookup_storage_pool_by_name(&pool_name)
                        .and_then(|p| p.lookup_storage_vol_by_name(&vol_name))
                        .and_then(|v| v.info())
                    {
                        let _ = tx.send((info.allocation.min(bytes), bytes));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
            let r = virt::storage_vol::StorageVol::create_xml(&p, &xml, 0);
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        });
        for (a, b) in rx.try_iter() {
            progress(a, b);
        }
        let vol = result.map_err(lv)?;
        progress(bytes, bytes);
        vol.path().map_err(lv)
    }

    fn delete_volume(&self, pool: &str, name: &str) -> Result<(), VirtError> {
        let p = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .map_err(|_| VirtError::Libvirt(format!("there is no storage pool {pool:?}")))?;
        let v = p
            .lookup_storage_vol_by_name(name)
            .map_err(|_| VirtError::Libvirt(format!("there is no disk {name:?} in pool {pool}")))?;
        v.delete(0).map_err(lv)
    }

    fn delete_image(&self, path: &str) -> Result<(), VirtError> {
        if !path.starts_with('/') || path.chars().any(char::is_control) {
            return Err(VirtError::Libvirt(format!(
                "{path:?} is not an absolute path"
            )));
        }
        let v = self.conn.lookup_storage_vol_by_path(path).map_err(|_| {
            VirtError::Libvirt(format!(
                "{path} is in none of libvirt's storage pools, so Passage leaves it; delete it yourself if you want it gone"
            ))
        })?;
        v.delete(0).map_err(lv)
    }
}

pub(crate) fn word(s: &str, what: &str) -> Result<(), VirtError> {
    if !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !s.starts_with('.')
    {
        Ok(())
    } else {
        Err(VirtError::Libvirt(format!(
            "{:?} is not a {what} name (letters, digits, dots, dashes, underscores)",
            s.chars().take(40).collect::<String>()
        )))
    }
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "<domain type='test'><name>passage-t</name><metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'><passage:purpose>ml</passage:purpose></passage:vm></metadata><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";

    #[test]
    fn the_test_driver_defines_lists_starts_and_undefines() {
        let _one_at_a_time = TEST_DRIVER.lock();
        let h = Libvirt::open("test:///default").expect("test driver");
        assert_eq!(h.define(MINIMAL).expect("define"), "passage-t");
        let vm = h
            .list()
            .expect("list")
            .into_iter()
            .find(|v| v.name == "passage-t")
            .expect("listed");
        assert_eq!(vm.passage_purpose.as_deref(), Some("ml"));
        assert!(!vm.running);
        h.start("passage-t").expect("start");
        assert!(h
            .list()
            .expect("list")
            .iter()
            .any(|v| v.name == "passage-t" && v.running));
        h.destroy("passage-t").expect("destroy");
        h.destroy("passage-t")
            .expect("destroying a stopped VM is fine");
        assert!(h
            .xml("passage-t")
            .expect("xml")
            .contains("<passage:purpose>ml</passage:purpose>"));
        h.undefine("passage-t").expect("undefine");
        let e = h.start("passage-t").expect_err("gone").to_string();
        assert!(e.contains("no VM named \"passage-t\""), "{e}");
        assert!(h
            .define("<domain>")
            .expect_err("bad xml")
            .to_string()
            .starts_with("libvirt refused"));
    }

    #[test]
    fn a_bad_uri_says_what_to_check() {
        let e = Libvirt::open("qemu:///system?socket=/nonexistent/libvirt-sock")
            .err()
            .expect("no daemon")
            .to_string();
        assert!(
            e.contains("/nonexistent/libvirt-sock") && e.contains("Is libvirtd running"),
            "{e}"
        );
    }
}

/// libvirt's test:///default is one state per process: tests that change it take turns.
#[cfg(test)]
pub(crate) static TEST_DRIVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A VM's lifecycle change, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmEvent {
    Defined(String),
    Undefined(String),
    Started(String),
    Stopped(String),
}

/// The changes between two VM lists. The `virt` crate has no safe binding for libvirt's domain
/// event callbacks, so the app's libvirt worker polls `list()` and reports these.
pub fn diff(before: &[VmInfo], after: &[VmInfo]) -> Vec<VmEvent> {
    let mut out = Vec::new();
    for a in after {
        match before.iter().find(|b| b.uuid == a.uuid) {
            None => {
                out.push(VmEvent::Defined(a.name.clone()));
                if a.running {
                    out.push(VmEvent::Started(a.name.clone()));
                }
            }
            Some(b) if !b.running && a.running => out.push(VmEvent::Started(a.name.clone())),
            Some(b) if b.running && !a.running => out.push(VmEvent::Stopped(a.name.clone())),
            Some(_) => {}
        }
    }
    for b in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.uuid == b.uuid))
    {
        out.push(VmEvent::Undefined(b.name.clone()));
    }
    out
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn lifecycle_changes_are_seen_between_two_lists() {
        let _one_at_a_time = TEST_DRIVER.lock();
        let h = Libvirt::open("test:///default").expect("test driver");
        let t0 = h.list().expect("list");
        h.define("<domain type='test'><name>ev</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>").expect("define");
        let t1 = h.list().expect("list");
        assert_eq!(diff(&t0, &t1), [VmEvent::Defined("ev".into())]);
        h.start("ev").expect("start");
        h.destroy("test").expect("stop the driver's own VM");
        let t2 = h.list().expect("list");
        let mut ev = diff(&t1, &t2);
        ev.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            ev,
            [
                VmEvent::Started("ev".into()),
                VmEvent::Stopped("test".into())
            ]
        );
        h.destroy("ev").expect("stop");
        h.undefine("ev").expect("undefine");
        assert_eq!(
            diff(&t2, &h.list().expect("list")),
            [VmEvent::Undefined("ev".into())]
        );
        assert!(diff(&t2, &t2).is_empty());
    }
}
