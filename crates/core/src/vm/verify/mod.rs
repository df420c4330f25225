//! Whether the guest sees the cards passed to it, with which driver, and (Windows) the
//! problem code Device Manager shows. The guest is asked through the QEMU guest agent
//! ([`agent`]: read-only queries only); what it says is judged here against the domain's
//! `<hostdev>`s and the host's IDs for them, so the app and `passagectl vm verify` agree.

pub mod agent;
pub mod guest_text;
mod words;

pub use words::taint_note;

use serde::{Deserialize, Serialize};

use self::guest_text::Listed;
use super::domain::{child, parse, Domain, GuestAddress};
use super::VmError;
use crate::host::{Host, PciAddress};

/// The guest's system, as the agent says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestOs {
    Windows,
    Linux,
}

/// What the guest said: its system and the PCI devices it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestView {
    pub os: GuestOs,
    /// Its name (`Windows 11 Pro`, `Debian GNU/Linux 12 (bookworm)`), when the agent says.
    pub name: Option<String>,
    pub devices: Vec<Listed>,
    /// The listing has only devices with a driver (Windows' `guest-get-devices` alone, when
    /// PowerShell's query failed): one not in it may be there without a driver.
    #[serde(default)]
    pub drivers_only: bool,
}

/// Why the guest could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum CannotCheck {
    /// The VM is not running.
    NotRunning,
    /// The domain has no guest agent channel.
    NoChannel,
    /// The channel is there but no agent has it open.
    NotAnswering,
    /// The agent refused or failed a command (`what`), in its or libvirt's words.
    Agent { what: String, why: String },
    /// A program run in the guest failed.
    Failed {
        what: String,
        code: Option<i64>,
        err: String,
    },
    /// A program run in the guest did not finish in time.
    TimedOut { what: String },
    /// libvirt failed before the guest was asked.
    Libvirt { why: String },
    /// The VM's definition could not be read (the devices to look for).
    Unreadable { why: String },
}

impl CannotCheck {
    /// Whether no agent command ran (so libvirt did not mark the domain tainted).
    pub fn ran_nothing(&self) -> bool {
        matches!(
            self,
            CannotCheck::NotRunning | CannotCheck::NoChannel | CannotCheck::NotAnswering
        )
    }
}

/// A PCI function passed to the VM, with the host's IDs and name for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Passed {
    pub address: PciAddress,
    /// `vendor:device` in hex, as lspci -nn prints it.
    pub id: String,
    #[serde(skip)]
    pub vendor: u16,
    #[serde(skip)]
    pub device: u16,
    pub name: String,
    /// Whether it is a display controller (class 03).
    pub gpu: bool,
    /// The `<rom file>` the VM gives it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rom_file: Option<String>,
    /// That file walked ([`Target::walk_roms`]), when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rom: Option<crate::host::rom::Verdict>,
}

/// The settings that hide the hypervisor from a GPU driver, as the domain has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Masking {
    /// `<hyperv><vendor_id state='on' value=…/>`.
    pub vendor_id: Option<String>,
    /// `<kvm><hidden state='on'/>`.
    pub kvm_hidden: bool,
}

impl Masking {
    pub fn read(xml: &str) -> Result<Masking, VmError> {
        let doc = parse(xml)?;
        let features = child(doc.root_element(), "features");
        let on = |n: roxmltree::Node| n.attribute("state") == Some("on");
        let vendor_id = features
            .and_then(|f| child(f, "hyperv"))
            .and_then(|h| child(h, "vendor_id"))
            .filter(|v| on(*v))
            .and_then(|v| v.attribute("value"))
            .map(str::to_string);
        let kvm_hidden = features
            .and_then(|f| child(f, "kvm"))
            .and_then(|k| child(k, "hidden"))
            .is_some_and(on);
        Ok(Masking {
            vendor_id,
            kvm_hidden,
        })
    }
}

/// What the guest shows of one passed device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Seen {
    /// Listed, with a driver and no problem.
    Working {
        driver: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// Listed without a driver (or with Windows' basic display driver); `modules` are the
    /// Linux modules that could take it.
    NoDriver {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        modules: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        basic: Option<String>,
    },
    /// Windows stopped it with this Device Manager code (43: the driver reported a problem).
    Problem { code: u32 },
    /// The guest does not list it.
    Missing,
    /// Not among the devices with a driver, and the guest's full list could not be read: it
    /// is missing or has no driver, and Passage cannot tell which.
    NoDriverOrMissing,
}

/// One passed device and what the guest shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCheck {
    #[serde(flatten)]
    pub passed: Passed,
    pub seen: Seen,
}

/// The guest's answer for every device passed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub os: GuestOs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    pub devices: Vec<DeviceCheck>,
    pub masking: Masking,
}

/// The VM's side: its passed PCI devices with the host's IDs, and its masking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub passed: Vec<Passed>,
    pub masking: Masking,
}

impl Target {
    /// From the domain XML and the host: each `<hostdev>` plugged into the guest, named by the
    /// host's IDs (or the IDs Passage recorded when it made the VM, for a device the host no
    /// longer lists). A device known by neither cannot be looked for and is left out.
    pub fn read(xml: &str, host: &Host) -> Result<Target, VmError> {
        let d = Domain::read(xml)?;
        let passed = d
            .hostdevs
            .iter()
            .filter(|h| h.guest != GuestAddress::Unassigned)
            .filter_map(|h| {
                let a = h.host?;
                let rom_file = h.rom.as_ref().and_then(|r| r.file.clone());
                if let Some(dev) = host.device(a) {
                    return Some(Passed {
                        address: a,
                        id: format!("{:04x}:{:04x}", dev.vendor_id, dev.device_id),
                        vendor: dev.vendor_id,
                        device: dev.device_id,
                        name: dev.model_name(),
                        gpu: dev.class >> 16 == 0x03,
                        rom_file,
                        rom: None,
                    });
                }
                let seen = d.devices_seen.iter().find(|s| s.address == a)?;
                let (vendor, device) = crate::host::pci::parse_id_pair(&seen.id)?;
                Some(Passed {
                    address: a,
                    id: format!("{vendor:04x}:{device:04x}"),
                    vendor,
                    device,
                    name: a.to_string(),
                    gpu: false,
                    rom_file,
                    rom: None,
                })
            })
            .collect();
        Ok(Target {
            passed,
            masking: Masking::read(xml)?,
        })
    }

    /// Walks each `<rom file>` the VM gives a device (read through `root`; a file the user
    /// may not read is left unsaid), so Code 43's fixes can say whether it has a UEFI image.
    pub fn walk_roms(&mut self, root: &crate::Root) {
        for p in &mut self.passed {
            p.rom = p
                .rom_file
                .as_deref()
                .and_then(|f| root.read_bytes(f))
                .map(|b| crate::host::rom::walk(&b).verdict);
        }
    }

    /// Judges what the guest said. Two passed devices with the same IDs take the guest's
    /// listings of those IDs in order (the guest does not say which host device each is).
    pub fn judge(&self, view: &GuestView) -> Verification {
        let mut taken = vec![false; view.devices.len()];
        let devices =
            self.passed
                .iter()
                .map(|p| {
                    let found =
                        view.devices.iter().enumerate().find(|(i, l)| {
                            !taken[*i] && (l.vendor, l.device) == (p.vendor, p.device)
                        });
                    let seen = match found {
                        None if view.drivers_only => Seen::NoDriverOrMissing,
                        None => Seen::Missing,
                        Some((i, l)) => {
                            taken[i] = true;
                            seen(view.os, l)
                        }
                    };
                    DeviceCheck {
                        passed: p.clone(),
                        seen,
                    }
                })
                .collect();
        Verification {
            os: view.os,
            os_name: view.name.clone(),
            devices,
            masking: self.masking.clone(),
        }
    }
}

/// Windows' fallback display driver: the card is listed, but its maker's driver is not in.
const BASIC_DISPLAY: &str = "BasicDisplay";

fn seen(os: GuestOs, l: &Listed) -> Seen {
    match l.problem {
        // 28: no driver installed for it.
        Some(28) => {
            return Seen::NoDriver {
                modules: Vec::new(),
                basic: None,
            }
        }
        Some(code) if code != 0 => return Seen::Problem { code },
        _ => {}
    }
    match &l.driver {
        Some(d) if os == GuestOs::Windows && d.eq_ignore_ascii_case(BASIC_DISPLAY) => {
            Seen::NoDriver {
                modules: Vec::new(),
                basic: l.name.clone(),
            }
        }
        Some(d) => Seen::Working {
            driver: d.clone(),
            version: l.version.clone(),
        },
        None => Seen::NoDriver {
            modules: l.modules.clone(),
            basic: None,
        },
    }
}

impl Verification {
    /// Whether every passed device works in the guest.
    pub fn all_working(&self) -> bool {
        self.devices
            .iter()
            .all(|d| matches!(d.seen, Seen::Working { .. }))
    }
}
