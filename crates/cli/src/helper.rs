//! `apply`, `undo`, `history`: the same authorized path the app uses, through the helper on
//! the system bus (`DBUS_SYSTEM_BUS_ADDRESS` is honoured).

use std::process::ExitCode;

use std::future::Future;

use passage_helper_api::{Helper1Proxy, HelperError, State};
use zbus::block_on;

/// The bus connection, and polkit's text agent where the caller sits at a terminal without
/// one (kept while the calls run).
pub struct Link {
    _conn: zbus::Connection,
    _agent: Option<crate::tty_agent::TtyAgent>,
}

fn connect() -> Result<(Link, Helper1Proxy<'static>), String> {
    let (conn, proxy) = block_on(async {
        let conn = passage_helper_api::system_bus()
            .await
            .map_err(|e| format!("cannot reach the system bus ({e}); is D-Bus running?"))?;
        let proxy = Helper1Proxy::new(&conn).await.map_err(|e| {
            format!("cannot reach Passage's helper ({e}); is the passage package installed?")
        })?;
        Ok::<_, String>((conn, proxy))
    })?;
    let link = Link {
        _conn: conn,
        _agent: crate::tty_agent::start(),
    };
    Ok((link, proxy))
}

/// Prints the helper's words for a failed call; 1 refused or failed, 2 bad input.
fn report(e: zbus::Error) -> ExitCode {
    let e = HelperError::from(e);
    eprintln!("passagectl: {e}");
    ExitCode::from(if e.is_invalid() { 2 } else { 1 })
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Runs a helper call and echoes its progress lines while it runs (none is lost; see
/// `api::with_progress`).
fn with_progress<T>(proxy: &Helper1Proxy<'static>, call: impl Future<Output = T>) -> T {
    block_on(passage_helper_api::with_progress(proxy, call, |line| {
        outln!("  | {line}")
    }))
}

fn done(r: zbus::Result<(String, String)>) -> Result<(), ExitCode> {
    match r {
        Ok((id, summary)) if id.is_empty() => {
            outln!("{summary}");
            Ok(())
        }
        Ok((id, summary)) => {
            outln!("Change {id} applied: {summary}\nUndo it with: passagectl undo {id}");
            Ok(())
        }
        Err(e) => Err(report(e)),
    }
}

pub fn apply(
    gpu: Option<String>,
    running: bool,
    add: Vec<String>,
    remove: Vec<String>,
    vfio: Vec<String>,
    host_display: Option<String>,
) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    let result = if let Some(g) = gpu {
        // The whole host setup for one GPU: one change, one authorization, one undo. The
        // helper checks the card on the host it serves, and names what is wrong.
        if running {
            done(with_progress(&proxy, proxy.configure_gpu_sessions(&g)))
        } else {
            done(with_progress(&proxy, proxy.configure_gpu(&g)))
        }
    } else if !vfio.is_empty() {
        done(with_progress(&proxy, proxy.configure_vfio(&strs(&vfio))))
    } else if let Some(h) = host_display {
        done(with_progress(&proxy, proxy.configure_host_display(&h)))
    } else if !add.is_empty() || !remove.is_empty() {
        done(with_progress(
            &proxy,
            proxy.set_kernel_arguments(&strs(&add), &strs(&remove)),
        ))
    } else {
        eprintln!("passagectl: say what to apply: --gpu ADDRESS, --add ARG / --remove KEY, --vfio ADDRESS…, --host-display ADDRESS, --vendor-reset ADDRESS or --idle-d3-off");
        return ExitCode::from(2);
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

/// A card fix (vendor-reset, disable_idle_d3): the intent to the verb that applies it.
pub fn apply_intent(intent: &passage_core::plan::Intent) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match done(with_progress(
        &proxy,
        passage_helper_api::apply_intent(&proxy, intent),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

/// Looking Glass's host files for the caller, through the helper.
pub fn looking_glass() -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match done(with_progress(&proxy, proxy.configure_looking_glass())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

/// A card's ROM through the helper (ReadRom, polkit asks): the bytes, or the helper's words
/// (exit 2: the ROM could not be read, whatever stopped it).
pub fn read_rom(addr: &str) -> Result<Vec<u8>, String> {
    let (_conn, proxy) = connect()?;
    with_progress(&proxy, proxy.read_rom(addr)).map_err(|e| HelperError::from(e).to_string())
}

/// A ROM file placed for QEMU by the helper (PlaceRom, polkit asks): the path it has there,
/// and the change's words (with how to undo it), or the helper's words.
pub fn place_rom(name: &str, bytes: &[u8]) -> Result<(String, String), String> {
    let (_conn, proxy) = connect()?;
    let (id, summary) = with_progress(&proxy, proxy.place_rom(name, bytes))
        .map_err(|e| HelperError::from(e).to_string())?;
    let path = passage_core::plan::rom::placed_path(name, bytes);
    let said = if id.is_empty() {
        summary
    } else {
        format!("Change {id} applied: {summary}\nUndo it with: passagectl undo {id}")
    };
    Ok((path, said))
}

pub fn undo(id: &str) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match with_progress(&proxy, proxy.undo(id)) {
        Ok(msg) => {
            outln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => report(e),
    }
}

pub fn history(json: bool) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match block_on(proxy.history()) {
        Ok(rows) if json => {
            let v: Vec<_> = rows
                .iter()
                .map(|r| serde_json::json!({"id": r.id, "created": r.created, "uid": r.uid, "verb": r.verb, "summary": r.summary, "state": r.state.name()}))
                .collect();
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(rows) => {
            if rows.is_empty() {
                outln!("Passage has made no changes to this host.");
            }
            for r in rows {
                let (id, state, verb, uid) = (&r.id, r.state.name(), &r.verb, r.uid);
                outln!("{id}  {state:<11} {verb:<24} uid {uid:<6} {}", r.summary);
            }
            ExitCode::SUCCESS
        }
        Err(e) => report(e),
    }
}

/// Sessions open now: history entries of libvirt's hook that hold something.
pub fn sessions(json: bool) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    let rows = match block_on(proxy.history()) {
        Ok(rows) => rows,
        Err(e) => return report(e),
    };
    let open: Vec<_> = rows
        .into_iter()
        .filter(|r| r.verb == "vm-session")
        .filter(|r| matches!(r.state, State::Applying | State::Applied | State::Undoing))
        .collect();
    if json {
        let v: Vec<_> = open
            .iter()
            .map(|r| serde_json::json!({"id": r.id, "created": r.created, "summary": r.summary, "state": r.state.name()}))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if open.is_empty() {
        outln!("No VM holds anything of the host now.");
    }
    for r in open {
        outln!("{}  {:<9} {}", r.id, r.state.name(), r.summary);
        outln!(
            "        given back when the VM stops (or `passagectl undo {}` once it is off)",
            r.id
        );
    }
    ExitCode::SUCCESS
}

fn simple(call: impl FnOnce(&Helper1Proxy<'static>) -> zbus::Result<String>) -> ExitCode {
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match call(&proxy) {
        Ok(msg) => {
            outln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => report(e),
    }
}

pub fn bind(devices: &[String], override_host: bool) -> ExitCode {
    simple(|p| block_on(p.bind_to_vfio(&strs(devices), override_host)))
}

pub fn restore(devices: &[String]) -> ExitCode {
    simple(|p| block_on(p.restore_drivers(&strs(devices))))
}

pub fn hugepages(count: Option<u64>, size: &str, release: bool) -> ExitCode {
    let size_kib = match size.to_ascii_uppercase().as_str() {
        "2M" | "2048K" => 2048,
        "1G" | "1048576K" => 1_048_576,
        other => {
            eprintln!("passagectl: {other} is not a hugepage size; use 2M or 1G");
            return ExitCode::from(2);
        }
    };
    if release {
        return simple(|p| block_on(p.release_hugepages(size_kib)));
    }
    let (_conn, proxy) = match connect() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match done(block_on(
        proxy.reserve_hugepages(size_kib, count.unwrap_or(0)),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

/// Asks the helper to authorize what `xml`'s session takes while the VM runs (its groups,
/// hugepages, CPU isolation), so that libvirt's hook takes it. `Ok(false)`: the VM asks for no
/// session, nothing to authorize.
pub fn authorize_vm(xml: &str) -> Result<bool, ExitCode> {
    use passage_core::vm::session::SessionRequest;
    let d = passage_core::vm::Domain::read(xml).map_err(|e| {
        eprintln!("passagectl: {e}");
        ExitCode::from(2)
    })?;
    let Some(req) = SessionRequest::of(&d).map_err(|e| {
        eprintln!("passagectl: {e}");
        ExitCode::from(2)
    })?
    else {
        outln!(
            "VM {}: its session takes nothing from the host (GPU mode at boot, no hugepages reserved at start, no CPU isolation); nothing to authorize.",
            d.name
        );
        return Ok(false);
    };
    let Some(uuid) = req.uuid.clone() else {
        eprintln!("passagectl: VM {}: the domain has no UUID (libvirt gives one when it is defined); define it first", d.name);
        return Err(ExitCode::from(2));
    };
    let (devices, hugepages_kib, cpus) = req.authorization();
    let devices: Vec<String> = devices.iter().map(ToString::to_string).collect();
    let (_conn, proxy) = connect().map_err(|e| {
        eprintln!("passagectl: {e}");
        ExitCode::from(1)
    })?;
    done(block_on(proxy.authorize_vm(
        &uuid,
        &req.vm,
        &strs(&devices),
        hugepages_kib,
        &cpus,
    )))?;
    Ok(true)
}

/// Removes what was authorized for the VM with this UUID (it was deleted).
pub fn revoke_vm(uuid: &str) -> Result<(), ExitCode> {
    let (_conn, proxy) = connect().map_err(|e| {
        eprintln!("passagectl: {e}");
        ExitCode::from(1)
    })?;
    done(block_on(proxy.revoke_vm(uuid)))
}
