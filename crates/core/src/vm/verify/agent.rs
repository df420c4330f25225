//! The QEMU guest agent's side of the check: the commands sent (qemu's `qga/qapi-schema.json`)
//! and their replies read. Only read-only queries run: `guest-get-osinfo`, `guest-get-devices`
//! (Windows), and `guest-exec` of `lspci -nnk` (Linux) or of a PowerShell query of
//! `Win32_PnPEntity` (Windows), whose output `guest-exec-status` returns. libvirt marks a domain
//! that ran an agent command through its API "tainted" (custom-ga-command); the front ends say so.

use serde::Deserialize;
use serde_json::{json, Value};

use super::guest_text::{self, Listed};
use super::{CannotCheck, GuestOs, GuestView};

/// Sends one agent command (its JSON) and returns the agent's reply, or what went wrong in
/// words (libvirt's error: the agent did not answer in time, is not connected…).
pub trait Agent {
    fn command(&mut self, json: &str) -> Result<String, String>;
    /// Waits a moment before asking again whether a program the agent started has exited.
    fn pause(&mut self);
}

/// How many times `guest-exec-status` is asked before the program is given up on.
pub const EXEC_POLLS: u32 = 100;

pub const OSINFO: &str = r#"{"execute":"guest-get-osinfo"}"#;
pub const GET_DEVICES: &str = r#"{"execute":"guest-get-devices"}"#;

/// PowerShell's read-only query of the guest's PCI devices with their Device Manager problem
/// code, as JSON (an array even for one device).
pub const PNP_QUERY: &str = "$ErrorActionPreference='Stop'; [Console]::OutputEncoding=[Text.Encoding]::UTF8; ConvertTo-Json -Compress -InputObject @(Get-CimInstance -ClassName Win32_PnPEntity | Where-Object { $_.PNPDeviceID -like 'PCI\\*' } | Select-Object Name,PNPDeviceID,ConfigManagerErrorCode,Service)";

/// The programs Passage runs in a guest: read-only listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Lspci,
    PnpQuery,
}

impl Program {
    /// The `guest-exec` command that starts it with its output captured.
    pub fn exec(self) -> String {
        let (path, args): (&str, Vec<&str>) = match self {
            Program::Lspci => ("lspci", vec!["-nnk"]),
            Program::PnpQuery => (
                "powershell.exe",
                vec!["-NoProfile", "-NonInteractive", "-Command", PNP_QUERY],
            ),
        };
        json!({"execute": "guest-exec",
               "arguments": {"path": path, "arg": args, "capture-output": true}})
        .to_string()
    }

    fn shown(self) -> &'static str {
        match self {
            Program::Lspci => "lspci -nnk",
            Program::PnpQuery => "PowerShell (Win32_PnPEntity)",
        }
    }
}

pub fn exec_status(pid: i64) -> String {
    json!({"execute": "guest-exec-status", "arguments": {"pid": pid}}).to_string()
}

/// The `return` of an agent reply; an `error` reply gives its `desc`.
fn ret(reply: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(reply).map_err(|e| format!("{e}: {reply}"))?;
    if let Some(r) = v.get("return") {
        return Ok(r.clone());
    }
    Err(v
        .pointer("/error/desc")
        .and_then(Value::as_str)
        .map_or_else(|| reply.to_string(), str::to_string))
}

/// The guest's system from `guest-get-osinfo`: Windows when its `id` is `mswindows` (qemu-ga's
/// Windows build says so), else a POSIX system (`id` from os-release, or none at all).
pub fn os(reply: &str) -> Result<(GuestOs, Option<String>), String> {
    let r = ret(reply)?;
    let id = r.get("id").and_then(Value::as_str);
    let os = if id == Some("mswindows") {
        GuestOs::Windows
    } else {
        GuestOs::Linux
    };
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
    // A guest without os-release says only its kernel.
    let pretty = text("pretty-name")
        .or_else(|| text("name"))
        .or_else(|| text("kernel-release").map(|k| format!("{} {k}", os.words())));
    Ok((os, pretty))
}

/// `guest-get-devices` (QEMU ≥ 5.2, Windows): `{"driver-name", "driver-date",
/// "driver-version", "id": {"type": "pci", "vendor-id", "device-id"}}`. The patch's first form
/// (`"address": {"type": "pci", "data": {…}}`) is read too.
pub fn devices(reply: &str) -> Result<Vec<Listed>, String> {
    #[derive(Deserialize)]
    struct Id {
        #[serde(rename = "vendor-id")]
        vendor: u16,
        #[serde(rename = "device-id")]
        device: u16,
    }
    #[derive(Deserialize)]
    struct Address {
        data: Id,
    }
    #[derive(Deserialize)]
    struct Device {
        #[serde(rename = "driver-name")]
        name: Option<String>,
        #[serde(rename = "driver-version")]
        version: Option<String>,
        id: Option<Id>,
        address: Option<Address>,
    }
    let all: Vec<Device> = serde_json::from_value(ret(reply)?).map_err(|e| e.to_string())?;
    Ok(all
        .into_iter()
        .filter_map(|d| {
            let id = d.id.or(d.address.map(|a| a.data))?;
            Some(Listed {
                vendor: id.vendor,
                device: id.device,
                name: d.name,
                driver: None,
                modules: Vec::new(),
                version: d.version,
                problem: None,
            })
        })
        .collect())
}

/// What `guest-exec-status` says: still running, or exited with its code and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecStatus {
    Running,
    Exited {
        code: Option<i64>,
        out: String,
        err: String,
    },
}

pub fn pid(reply: &str) -> Result<i64, String> {
    ret(reply)?
        .get("pid")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("no pid in {reply}"))
}

pub fn status(reply: &str) -> Result<ExecStatus, String> {
    let r = ret(reply)?;
    if !r.get("exited").and_then(Value::as_bool).unwrap_or(false) {
        return Ok(ExecStatus::Running);
    }
    let text = |k: &str| -> Result<String, String> {
        match r.get(k).and_then(Value::as_str) {
            None => Ok(String::new()),
            Some(b) => guest_text::base64(b)
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .ok_or_else(|| format!("{k} is not base64")),
        }
    };
    Ok(ExecStatus::Exited {
        code: r.get("exitcode").and_then(Value::as_i64),
        out: text("out-data")?,
        err: text("err-data")?,
    })
}

/// Runs `p` in the guest and returns its standard output once it exited with 0.
pub fn run(agent: &mut dyn Agent, p: Program) -> Result<String, CannotCheck> {
    let agent_err = |why: String| CannotCheck::Agent {
        what: p.shown().to_string(),
        why,
    };
    let pid = agent
        .command(&p.exec())
        .and_then(|r| pid(&r))
        .map_err(agent_err)?;
    for _ in 0..EXEC_POLLS {
        match agent
            .command(&exec_status(pid))
            .and_then(|r| status(&r))
            .map_err(agent_err)?
        {
            ExecStatus::Running => agent.pause(),
            ExecStatus::Exited {
                code: Some(0), out, ..
            } => return Ok(out),
            ExecStatus::Exited { code, err, .. } => {
                return Err(CannotCheck::Failed {
                    what: p.shown().to_string(),
                    code,
                    err: err.trim().to_string(),
                })
            }
        }
    }
    Err(CannotCheck::TimedOut {
        what: p.shown().to_string(),
    })
}

/// Asks the guest what it sees: its system, then its PCI devices by that system's tools.
pub fn look(agent: &mut dyn Agent) -> Result<GuestView, CannotCheck> {
    let (os, name) = agent
        .command(OSINFO)
        .and_then(|r| self::os(&r))
        .map_err(|why| CannotCheck::Agent {
            what: "guest-get-osinfo".into(),
            why,
        })?;
    let (devices, drivers_only) = match os {
        GuestOs::Linux => (guest_text::lspci_nnk(&run(agent, Program::Lspci)?), false),
        GuestOs::Windows => windows(agent)?,
    };
    Ok(GuestView {
        os,
        name,
        devices,
        drivers_only,
    })
}

/// Windows: the problem codes from PowerShell, the driver versions from `guest-get-devices`.
/// Either alone still says something; neither is a failure. `true` with `guest-get-devices`
/// alone, which lists only devices with a driver.
fn windows(agent: &mut dyn Agent) -> Result<(Vec<Listed>, bool), CannotCheck> {
    let pnp = run(agent, Program::PnpQuery).and_then(|out| {
        guest_text::pnp_entities(&out).ok_or_else(|| CannotCheck::Agent {
            what: Program::PnpQuery.shown().into(),
            why: out.chars().take(200).collect(),
        })
    });
    let versions = agent.command(GET_DEVICES).and_then(|r| devices(&r));
    match (pnp, versions) {
        (Err(e), Err(_)) => Err(e),
        (Ok(mut pnp), Ok(versions)) => {
            for l in &mut pnp {
                if let Some(v) = versions
                    .iter()
                    .find(|v| (v.vendor, v.device) == (l.vendor, l.device))
                {
                    l.version.clone_from(&v.version);
                    if l.name.is_none() {
                        l.name.clone_from(&v.name);
                    }
                }
            }
            Ok((pnp, false))
        }
        (Ok(pnp), Err(_)) => Ok((pnp, false)),
        // Without PowerShell: a device guest-get-devices lists has a driver; its problem code
        // is not known.
        (Err(_), Ok(versions)) => Ok((
            versions
                .into_iter()
                .map(|v| Listed {
                    driver: v.name.clone(),
                    ..v
                })
                .collect(),
            true,
        )),
    }
}
