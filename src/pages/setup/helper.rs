//! The helper calls Host setup makes: apply a target, list the history, undo a change; and a
//! VM page's: authorize what its session takes, revoke it when the VM is deleted. Each goes
//! through the process's one system bus connection.

use passage_core::i18n::tr_f;
use passage_core::vm::session::GpuMode;
use passage_helper_api::{self as api, Helper1Proxy, HistoryRow};

use super::{Cmd, Target};

#[derive(Debug)]
pub struct HelperError {
    pub unreachable: bool,
    /// The system bus answered (the helper, not the bus, is what is missing).
    pub bus: bool,
    pub text: String,
}

impl HelperError {
    pub fn of(e: &zbus::Error) -> Self {
        let e = api::HelperError::of(e);
        HelperError {
            unreachable: matches!(e, api::HelperError::Unreachable(_)),
            bus: true,
            text: e.to_string(),
        }
    }
}

async fn proxy() -> Result<(zbus::Connection, Helper1Proxy<'static>), HelperError> {
    let conn = api::system_bus().await.map_err(|e| HelperError {
        unreachable: true,
        bus: false,
        text: tr_f(
            "Cannot reach the system bus ({why}); is D-Bus running?",
            &[("why", &e.to_string())],
        ),
    })?;
    let p = Helper1Proxy::new(&conn)
        .await
        .map_err(|e| HelperError::of(&e))?;
    Ok((conn, p))
}

/// A card's option ROM, read by the helper (ReadRom; polkit asks).
pub async fn read_rom(gpu: passage_core::host::PciAddress) -> Result<Vec<u8>, HelperError> {
    let (_conn, p) = proxy().await?;
    p.read_rom(&gpu.to_string())
        .await
        .map_err(|e| HelperError::of(&e))
}

/// A ROM file's bytes placed for QEMU by the helper (PlaceRom; polkit asks): the change's id
/// and summary.
pub async fn place_rom(name: &str, bytes: &[u8]) -> Result<(String, String), HelperError> {
    let (_conn, p) = proxy().await?;
    p.place_rom(name, bytes)
        .await
        .map_err(|e| HelperError::of(&e))
}

/// Looking Glass's host files for this user (ConfigureLookingGlass; polkit asks): the
/// change's id and summary.
pub async fn configure_looking_glass() -> Result<(String, String), HelperError> {
    let (_conn, p) = proxy().await?;
    p.configure_looking_glass()
        .await
        .map_err(|e| HelperError::of(&e))
}

/// Applies the target with one helper call: a card's whole setup is one change (one password
/// prompt, one Undo). Echoes the helper's progress lines; on a failure the helper has rolled
/// the change back.
pub async fn apply(
    target: &Target,
    mode: GpuMode,
    extras: &[passage_core::plan::Intent],
    out: &relm4::Sender<Cmd>,
) -> Result<String, String> {
    let mut done = apply_one(target, mode, out).await?;
    if matches!(target, Target::Gpu(_)) {
        for i in extras {
            let more = apply_one(&Target::Intent(i.clone()), mode, out).await?;
            done = format!("{done}\n{more}");
        }
    }
    Ok(done)
}

/// One helper call: one change, one Undo.
async fn apply_one(
    target: &Target,
    mode: GpuMode,
    out: &relm4::Sender<Cmd>,
) -> Result<String, String> {
    let (_conn, p) = proxy().await.map_err(|e| e.text)?;
    let call = async {
        match target {
            // Lent while a VM runs, or only GPU (the helper plans the host's only card so).
            Target::Gpu(s) if mode.lends() => p.configure_gpu_sessions(&s.gpu.to_string()).await,
            Target::Gpu(s) => p.configure_gpu(&s.gpu.to_string()).await,
            Target::Intent(i) => api::apply_intent(&p, i).await,
        }
    };
    let (id, summary) = api::with_progress(&p, call, |line| {
        let _ = out.send(Cmd::Progress(line.to_string()));
    })
    .await
    .map_err(|e| api::error_text(&e))?;
    Ok(if id.is_empty() {
        summary
    } else {
        tr_f(
            "{summary} (change {id})",
            &[("summary", &summary), ("id", &id)],
        )
    })
}

pub async fn history() -> Result<Vec<HistoryRow>, HelperError> {
    let (_conn, p) = proxy().await?;
    p.history().await.map_err(|e| HelperError::of(&e))
}

pub async fn undo(id: &str) -> Result<String, String> {
    let (_conn, p) = proxy().await.map_err(|e| e.text)?;
    p.undo(id).await.map_err(|e| api::error_text(&e))
}

/// Authorizes what the VM in `xml` (as libvirt has it, with its UUID) takes from the host while
/// it runs, so that libvirt's hook takes it. `Ok(None)`: its session takes nothing.
pub async fn authorize_vm(xml: &str) -> Result<Option<String>, String> {
    use passage_core::vm::session::SessionRequest;
    let d = passage_core::vm::Domain::read(xml).map_err(|e| e.to_string())?;
    let Some(req) = SessionRequest::of(&d).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let uuid = req.uuid.clone().ok_or_else(|| {
        tr_f(
            "{vm} has no UUID in libvirt; Passage cannot authorize its session",
            &[("vm", &d.name)],
        )
    })?;
    let (devices, hugepages_kib, cpus) = req.authorization();
    let devices: Vec<String> = devices.iter().map(ToString::to_string).collect();
    let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
    let (_conn, p) = proxy().await.map_err(|e| e.text)?;
    let (_, summary) = p
        .authorize_vm(&uuid, &req.vm, &devices, hugepages_kib, &cpus)
        .await
        .map_err(|e| api::error_text(&e))?;
    Ok(Some(summary))
}

/// Removes what was authorized for a deleted VM (no prompt when there was nothing).
pub async fn revoke_vm(uuid: &str) -> Result<String, String> {
    let (_conn, p) = proxy().await.map_err(|e| e.text)?;
    p.revoke_vm(uuid)
        .await
        .map(|(_, summary)| summary)
        .map_err(|e| api::error_text(&e))
}

/// Reserves `count` hugepages of `size_kib` now (the helper's ReserveHugepages; polkit asks).
pub async fn reserve_hugepages(size_kib: u64, count: u64) -> Result<String, String> {
    let (_conn, p) = proxy().await.map_err(|e| e.text)?;
    p.reserve_hugepages(size_kib, count)
        .await
        .map(|(_, summary)| summary)
        .map_err(|e| api::error_text(&e))
}
