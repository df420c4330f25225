//! The *only GPU* session's plan: what stops so that the host's only graphics card can go to a
//! VM, in order, and its exact reverse. Read from the root (systemd's display-manager alias,
//! logind's session files, sysfs), so the helper, the app and the tests see the same steps.
//!
//! The order is the one the public single-GPU guides converged on after their trackers'
//! failures (joeknock90, QaidVoid, risingprismtv): the display manager and the graphical
//! sessions first (they hold the DRM nodes), then the consoles bound to a frame buffer, then
//! the firmware's frame buffer (efifb, or simpledrm on kernels where sysfb gives it the
//! console), then whoever still holds the card is named, then the driver stack from the top
//! (`nvidia_drm` before `nvidia_modeset` before `nvidia_uvm` before `nvidia`), then the group
//! goes to vfio-pci. Giving back runs the same steps backwards.

use serde::{Deserialize, Serialize};

use super::holders;
use super::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;

/// systemd's alias for the display manager (`systemctl enable gdm` links it).
pub const DM_ALIAS: &str = "/etc/systemd/system/display-manager.service";
/// logind's state file per session (`TYPE=wayland`, `CLASS=user`…).
pub const SESSIONS_DIR: &str = "/run/systemd/sessions";
const VTCONSOLES: &str = "/sys/class/vtconsole";
const PLATFORM_DRIVERS: &str = "/sys/bus/platform/drivers";
/// The platform drivers of the firmware's frame buffer: efifb, simpledrm (whose driver is
/// named simple-framebuffer) and vesafb.
const FRAMEBUFFER_DRIVERS: [&str; 3] =
    ["efi-framebuffer", "simple-framebuffer", "vesa-framebuffer"];

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum DesktopStep {
    /// `systemctl stop UNIT` (the display manager); given back by `systemctl start UNIT`.
    StopUnit { unit: String },
    /// `loginctl terminate-session ID`, a user's X11 or Wayland session; nothing to give
    /// back (the display manager's login screen comes back with it).
    EndSession { id: String, user: String },
    /// `0` into `/sys/class/vtconsole/vtconN/bind` (a console drawn on a frame buffer).
    UnbindConsole { vtcon: String },
    /// The firmware's frame buffer device unbound from its platform driver.
    UnbindFramebuffer { driver: String, device: String },
    /// Refuses, naming them, while processes hold these device nodes.
    NameHolders { nodes: Vec<String> },
    /// `modprobe -r MODULE`; given back by `modprobe MODULE`.
    UnloadModule { module: String },
    /// The card's IOMMU group to vfio-pci (the session's device step), and back.
    BindGroup { devices: Vec<PciAddress> },
}

/// How a step is carried out: a command, a sysfs write, a check, or the session's device step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopAct {
    Run(Vec<String>),
    Write { path: String, value: String },
    NameHolders(Vec<String>),
    BindGroup(Vec<PciAddress>),
}

fn argv(words: &[&str]) -> DesktopAct {
    DesktopAct::Run(words.iter().map(|w| w.to_string()).collect())
}

impl DesktopStep {
    /// What taking the step does.
    pub fn take(&self) -> DesktopAct {
        match self {
            DesktopStep::StopUnit { unit } => argv(&["systemctl", "stop", unit]),
            DesktopStep::EndSession { id, .. } => argv(&["loginctl", "terminate-session", id]),
            DesktopStep::UnbindConsole { vtcon } => DesktopAct::Write {
                path: format!("{VTCONSOLES}/{vtcon}/bind"),
                value: "0".into(),
            },
            DesktopStep::UnbindFramebuffer { driver, device } => DesktopAct::Write {
                path: format!("{PLATFORM_DRIVERS}/{driver}/unbind"),
                value: device.clone(),
            },
            DesktopStep::NameHolders { nodes } => DesktopAct::NameHolders(nodes.clone()),
            DesktopStep::UnloadModule { module } => argv(&["modprobe", "-r", module]),
            DesktopStep::BindGroup { devices } => DesktopAct::BindGroup(devices.clone()),
        }
    }

    /// What giving the step back does; `None` where there is nothing to undo.
    pub fn give(&self) -> Option<DesktopAct> {
        match self {
            DesktopStep::StopUnit { unit } => Some(argv(&["systemctl", "start", unit])),
            DesktopStep::EndSession { .. } | DesktopStep::NameHolders { .. } => None,
            DesktopStep::UnbindConsole { vtcon } => Some(DesktopAct::Write {
                path: format!("{VTCONSOLES}/{vtcon}/bind"),
                value: "1".into(),
            }),
            DesktopStep::UnbindFramebuffer { driver, device } => Some(DesktopAct::Write {
                path: format!("{PLATFORM_DRIVERS}/{driver}/bind"),
                value: device.clone(),
            }),
            DesktopStep::UnloadModule { module } => Some(argv(&["modprobe", module])),
            DesktopStep::BindGroup { devices } => Some(DesktopAct::BindGroup(devices.clone())),
        }
    }

    /// The step in a sentence, for the journal, the console and the app.
    pub fn words(&self) -> String {
        match self {
            DesktopStep::StopUnit { unit } => {
                tr_f("stop the display manager ({unit})", &[("unit", unit)])
            }
            DesktopStep::EndSession { id, user } => tr_f(
                "end {user}'s graphical session ({id})",
                &[("user", user), ("id", id)],
            ),
            DesktopStep::UnbindConsole { vtcon } => tr_f(
                "take the text console off the frame buffer ({vtcon})",
                &[("vtcon", vtcon)],
            ),
            DesktopStep::UnbindFramebuffer { driver, device } => tr_f(
                "free the firmware's frame buffer ({device} from {driver})",
                &[("device", device), ("driver", driver)],
            ),
            DesktopStep::NameHolders { .. } => tr("check that no program still holds the card"),
            DesktopStep::UnloadModule { module } => {
                tr_f("unload the driver module {module}", &[("module", module)])
            }
            DesktopStep::BindGroup { devices } => tr_f(
                "give {devices} to vfio-pci",
                &[(
                    "devices",
                    &devices
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                )],
            ),
        }
    }
}

/// The driver modules to unload for a card on `driver`, top first: each is only unloadable
/// once the ones above it are gone. Other drivers stay loaded; the group's device step
/// unbinds the card from them.
pub fn driver_stack(driver: &str) -> &'static [&'static str] {
    match driver {
        "nvidia" => &["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"],
        "nouveau" => &["nouveau"],
        "amdgpu" => &["amdgpu"],
        "radeon" => &["radeon"],
        "i915" => &["i915"],
        "xe" => &["xe"],
        _ => &[],
    }
}

/// The plan to lend `gpu`, the host's only graphics card, whose group's endpoints are
/// `devices`; its reverse is [`reverse`].
pub fn plan(root: &Root, host: &Host, gpu: PciAddress, devices: &[PciAddress]) -> Vec<DesktopStep> {
    let mut out = Vec::new();
    if let Some(unit) = display_manager_unit(root) {
        out.push(DesktopStep::StopUnit { unit });
    }
    out.extend(graphical_sessions(root));
    out.extend(framebuffer_consoles(root));
    out.extend(firmware_framebuffers(root));
    let mut nodes: Vec<String> = devices
        .iter()
        .flat_map(|a| holders::device_nodes(root, host, *a))
        .collect();
    nodes.sort();
    nodes.dedup();
    out.push(DesktopStep::NameHolders { nodes });
    let driver = host
        .device(gpu)
        .and_then(|d| d.driver.clone())
        .unwrap_or_default();
    for m in driver_stack(&driver) {
        if host.kernel.modules.iter().any(|l| l == m) {
            out.push(DesktopStep::UnloadModule {
                module: m.to_string(),
            });
        }
    }
    out.push(DesktopStep::BindGroup {
        devices: devices.to_vec(),
    });
    out
}

/// The steps that give back, newest first: the plan backwards, each step's give-back act.
pub fn reverse(steps: &[DesktopStep]) -> Vec<DesktopAct> {
    steps.iter().rev().filter_map(DesktopStep::give).collect()
}

/// The unit systemd's `display-manager.service` alias points at (`gdm3.service`), when it is
/// a unit name.
pub fn display_manager_unit(root: &Root) -> Option<String> {
    root.link_name(DM_ALIAS).filter(|u| is_unit_name(u))
}

fn is_unit_name(u: &str) -> bool {
    u.ends_with(".service")
        && !u.starts_with('-')
        && u.len() <= 256
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@:\\".contains(&b))
}

/// A logind session file's fields.
fn session_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// Users' X11 and Wayland sessions (logind's `CLASS=user`; the greeter's ends with the
/// display manager), by id.
pub fn graphical_sessions(root: &Root) -> Vec<DesktopStep> {
    root.list(SESSIONS_DIR)
        .into_iter()
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .filter_map(|id| {
            let text = root.read_string(&format!("{SESSIONS_DIR}/{id}"))?;
            let graphical = matches!(
                session_field(&text, "TYPE"),
                Some("x11" | "wayland" | "mir")
            );
            let user = session_field(&text, "CLASS") == Some("user");
            (graphical && user).then(|| DesktopStep::EndSession {
                user: session_field(&text, "USER").unwrap_or("?").to_string(),
                id,
            })
        })
        .collect()
}

/// Virtual-terminal consoles bound now and drawn on a frame buffer (`(M) frame buffer
/// device`); the dummy console stays.
pub fn framebuffer_consoles(root: &Root) -> Vec<DesktopStep> {
    root.list(VTCONSOLES)
        .into_iter()
        .filter(|v| v.starts_with("vtcon"))
        .filter(|v| {
            root.read_attr(&format!("{VTCONSOLES}/{v}/name"))
                .is_some_and(|n| n.contains("frame buffer"))
                && root.read_attr(&format!("{VTCONSOLES}/{v}/bind")).as_deref() == Some("1")
        })
        .map(|vtcon| DesktopStep::UnbindConsole { vtcon })
        .collect()
}

/// The firmware frame buffer's platform devices bound now (`efi-framebuffer.0` under
/// efi-framebuffer, `simple-framebuffer.0` under simpledrm).
pub fn firmware_framebuffers(root: &Root) -> Vec<DesktopStep> {
    let mut out = Vec::new();
    for driver in FRAMEBUFFER_DRIVERS {
        for device in root.list(&format!("{PLATFORM_DRIVERS}/{driver}")) {
            let numbered = device
                .rsplit_once('.')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if numbered {
                out.push(DesktopStep::UnbindFramebuffer {
                    driver: driver.to_string(),
                    device,
                });
            }
        }
    }
    out
}
