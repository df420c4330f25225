//! The whole unattended preparation: the ISO identified, the script generated, the answer
//! media built in the VM's storage directory; or the reason the install is a normal one.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::detect::{self, Os};
use super::{media, script, virtio_win, Account, Locale, UnattendedError, Unsupported};

/// The command file osinfo's `windows.cmd` runs from the answer media in Setup's specialize
/// pass (it runs every `*.cmd` beside it): the guest tools installer is copied to the new
/// system and run at the first logon, from the RunOnce key. `%~d0` is the media's drive.
pub const GUEST_TOOLS_CMD: &str = "guesttools.cmd";
const GUEST_TOOLS_SCRIPT: &str = "copy /Y \"%~d0\\virtio-win-guest-tools.exe\" \"C:\\Windows\\Temp\\virtio-win-guest-tools.exe\"\r\n\
reg add \"HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce\" /v PassageGuestTools /t REG_SZ /d \"C:\\Windows\\Temp\\virtio-win-guest-tools.exe /install /quiet /norestart\" /f\r\n";

/// What the caller gives.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub iso: &'a Path,
    pub vm_name: &'a str,
    pub account: &'a Account,
    pub locale: &'a Locale,
    /// The virtio-win ISO (Windows only): found or chosen ([`virtio_win::find`]).
    pub virtio_win: Option<&'a Path>,
    /// The VM's storage directory, where the answer ISO goes.
    pub storage_dir: &'a Path,
}

/// The answer media made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub os: Os,
    /// The answer ISO, to attach as the CD-ROM right after the installer's.
    pub media: PathBuf,
}

/// The answer ISO's path for a VM.
pub fn media_path(storage_dir: &Path, vm_name: &str) -> PathBuf {
    storage_dir.join(format!("{vm_name}-unattended.iso"))
}

/// Identifies the ISO and builds its answer media; `Ok(Err(_))`: a normal install, and why.
pub fn prepare(req: &Request) -> Result<Result<Prepared, Unsupported>, UnattendedError> {
    let os = match detect::identify(req.iso)? {
        Ok(os) => os,
        Err(why) => return Ok(Err(why)),
    };
    let profile = match script::profile_for(&os)? {
        Ok(p) => p,
        Err(why) => return Ok(Err(why)),
    };
    if !profile.injection.iter().any(|m| m == "cdrom") {
        return Ok(Err(Unsupported::Injection {
            os: os.name.clone(),
            methods: profile.injection.clone(),
        }));
    }
    let staging = req.storage_dir.join(format!(".{}-unattended", req.vm_name));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|e| UnattendedError::io(&staging, e))?;
    let built = build(req, &os, &profile, &staging);
    let cleaned = std::fs::remove_dir_all(&staging).map_err(|e| UnattendedError::io(&staging, e));
    let media = built?;
    cleaned?;
    Ok(Ok(Prepared { os, media }))
}

fn build(
    req: &Request,
    os: &Os,
    profile: &script::Profile,
    staging: &Path,
) -> Result<PathBuf, UnattendedError> {
    let answer = staging.join("media");
    let accepted = script::params_for(os, profile)?;
    let params = script::config(os, req.account, req.locale, req.vm_name, &accepted);
    script::generate(os, profile, &params, staging, &answer)?;
    if os.is_windows() {
        add_windows_drivers(req, os, &answer)?;
    }
    media::build_iso(
        &answer,
        &media_path(req.storage_dir, req.vm_name),
        media::LABEL,
    )
}

/// The virtio drivers Setup loads (`\drivers\viostor`, `\drivers\NetKVM`, the folders of this
/// Windows version) and the guest tools installer with the command that runs it.
fn add_windows_drivers(req: &Request, os: &Os, answer: &Path) -> Result<(), UnattendedError> {
    let iso = req
        .virtio_win
        .ok_or_else(|| UnattendedError::Refused(virtio_win::missing()))?;
    let paths = virtio_win::driver_paths(&os.short_id)
        .ok_or_else(|| UnattendedError::Refused(Unsupported::NoScript(os.name.clone()).words()))?;
    for (driver, inner) in virtio_win::SETUP_DRIVERS.iter().zip(&paths) {
        media::extract(iso, inner, &answer.join("drivers").join(driver)).map_err(|_| {
            UnattendedError::Refused(virtio_win::incomplete(std::slice::from_ref(inner)))
        })?;
    }
    let tools = format!("/{}", virtio_win::GUEST_TOOLS);
    media::extract(iso, &tools, &answer.join(virtio_win::GUEST_TOOLS)).map_err(|_| {
        UnattendedError::Refused(virtio_win::incomplete(std::slice::from_ref(&tools)))
    })?;
    script::write_private(&answer.join(GUEST_TOOLS_CMD), GUEST_TOOLS_SCRIPT.as_bytes())
}

/// Deletes the answer media after the install; a missing one is already gone.
pub fn remove_media(storage_dir: &Path, vm_name: &str) -> Result<(), UnattendedError> {
    let p = media_path(storage_dir, vm_name);
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(UnattendedError::io(p, e)),
        _ => Ok(()),
    }
}

/// Attaches the answer media as the CD-ROM right after the installer's (osinfo's scripts
/// read a CD-injected script from the second CD-ROM, drive E: on Windows); only its path goes
/// into the VM's XML.
pub fn attach(spec: &mut crate::vm::VmSpec, media: &Path) {
    let iso = media.display().to_string();
    if !spec.cdroms.iter().any(|c| c.iso == iso) {
        let at = spec.cdroms.len().min(1);
        spec.cdroms.insert(
            at,
            crate::vm::Cdrom {
                iso,
                boot_order: None,
            },
        );
    }
}
