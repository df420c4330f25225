//! The express dialog's unattended install, in the libvirt worker: the answer media built by
//! core (`vm::unattended`) in a private temporary folder, copied into libvirt's pool by
//! libvirt, attached and recorded in the definition it returns. Where libosinfo cannot answer
//! the installer, the definition is the one given and the reason is said.

use std::path::PathBuf;

use passage_core::vm::draft::{POOL, POOL_PATH};
use passage_core::vm::unattended::prepare::{attach, prepare, Request};
use passage_core::vm::unattended::{finish, virtio_win, Account, Locale};
use passage_core::vm::VmSpec;
use passage_virt::Hypervisor;

/// What the dialog gives for an unattended install.
#[derive(Debug, Clone)]
pub struct Job {
    /// The VM as the dialog made it, to attach the media to.
    pub spec: VmSpec,
    pub iso: PathBuf,
    pub account: Account,
    pub locale: Locale,
    /// The virtio-win ISO chosen in the dialog; else where distributions put it.
    pub virtio_win: Option<PathBuf>,
}

/// What came of it: the definition to make, the pool volume made (to delete when libvirt
/// refuses the definition) and what to tell the user.
pub struct Prepared {
    pub xml: Option<String>,
    pub volume: Option<String>,
    pub note: Option<String>,
}

/// The pool volume name of a VM's answer media.
pub fn volume_name(vm: &str) -> String {
    format!("{vm}-unattended.iso")
}

/// Builds, uploads and attaches the answer media for `job`.
pub fn media(c: &dyn Hypervisor, job: &Job) -> Result<Prepared, String> {
    let staging = tempfile::Builder::new()
        .prefix("passage-unattended-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let vw = virtio_win::find(job.virtio_win.as_deref(), std::path::Path::new("/")).ok();
    let req = Request {
        iso: &job.iso,
        vm_name: &job.spec.name,
        account: &job.account,
        locale: &job.locale,
        virtio_win: vw.as_deref(),
        storage_dir: staging.path(),
    };
    let made = match prepare(&req).map_err(|e| e.to_string())? {
        Ok(p) => p,
        Err(why) => {
            return Ok(Prepared {
                xml: None,
                volume: None,
                note: Some(why.words()),
            })
        }
    };
    let e = |e: passage_virt::VirtError| e.to_string();
    c.ensure_pool(POOL, POOL_PATH).map_err(e)?;
    let name = volume_name(&job.spec.name);
    let path = c.upload_volume(POOL, &name, &made.media).map_err(e)?;
    let mut spec = job.spec.clone();
    attach(&mut spec, std::path::Path::new(&path));
    let xml = spec
        .to_xml()
        .and_then(|x| finish::record(&x, &path))
        .map_err(|err| {
            let _ = c.delete_volume(POOL, &name);
            err.to_string()
        })?;
    Ok(Prepared {
        xml: Some(xml),
        volume: Some(name),
        note: None,
    })
}
