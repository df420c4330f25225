//! Intentions → previewable, reversible changes.
//!
//! A [`Plan`] is a list of file [`Change`]s (exact bytes before and after, and a unified diff to
//! show) plus the [`Step`]s that make them take effect (regenerate grub.cfg, rebuild the
//! initramfs). Planning reads the host through a [`Root`]; it never writes. Planning again on
//! the result yields an empty plan, and [`Plan::undo`] is the exact way back.

pub mod apparmor;
pub mod args;
pub mod booster;
pub mod bootloader;
pub mod display;
pub mod fallback;
pub mod grubenv;
pub mod guard;
pub mod hook;
pub mod hugepages;
pub mod looking_glass;
pub(crate) mod mkinitcpio;
pub mod regen;
pub mod reset;
pub mod rom;
pub mod vfio;

use serde::{Deserialize, Serialize};

use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::root::Root;
use crate::vm::session::GpuMode;

pub use args::Arg;

/// Why a plan cannot be made. Every message names what was wrong and what to do, in the
/// user's language (the app plans in its own process; the helper's are English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    UnknownKey(String),
    BadArgument(String, String),
    NoBootLoader,
    NoInitramfs,
    Unreadable {
        path: String,
        why: String,
    },
    Unparsable {
        path: String,
        why: String,
    },
    /// Already in words (translated where it was made).
    Device(String),
    /// Nothing on the host can make a change take effect (already in words).
    Regenerate(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            PlanError::UnknownKey(k) => tr_f("{key} is not a kernel argument Passage sets; it manages: intel_iommu, amd_iommu, iommu, vfio-pci.ids, pcie_acs_override, video, rd.driver.pre, nouveau.modeset, hugepages and the isolcpus family", &[("key", k)]),
            PlanError::BadArgument(a, why) => tr_f("{arg} cannot be used: {why}", &[("arg", a), ("why", why)]),
            PlanError::NoBootLoader => tr("Passage cannot tell which boot loader this host uses (no /etc/default/grub, /etc/kernel/cmdline, loader entries, kernelstub or rEFInd configuration found); add the arguments by hand"),
            PlanError::NoInitramfs => tr("Passage cannot tell which initramfs generator this host uses (initramfs-tools, dracut, mkinitcpio or booster); install one or add the vfio modules by hand"),
            PlanError::Unreadable { path, why } => tr_f("{path} cannot be read ({why}); nothing was planned", &[("path", path), ("why", why)]),
            PlanError::Unparsable { path, why } => tr_f("{path} is not in a form Passage can edit safely ({why}); nothing was planned", &[("path", path), ("why", why)]),
            PlanError::Device(s) | PlanError::Regenerate(s) => s.clone(),
        };
        f.write_str(&s)
    }
}

impl std::error::Error for PlanError {}

/// One file, before and after. `None` means the file does not exist (before) or is removed
/// (after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Host path, e.g. `/etc/default/grub`.
    pub path: String,
    #[serde(with = "opt_text")]
    pub before: Option<Vec<u8>>,
    #[serde(with = "opt_text")]
    pub after: Option<Vec<u8>>,
    /// Mode for a file that does not exist yet (an existing file keeps its own).
    pub mode: u32,
    /// What this change does, in a line.
    pub summary: String,
    /// Unified diff, `--- a/PATH` / `+++ b/PATH`.
    pub diff: String,
}

/// Something to run after the files are written, so they take effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The program and its arguments (never through a shell).
    pub argv: Vec<String>,
    /// What it does, in words.
    pub summary: String,
    /// What to run when undoing, when it is not the same command (a mode switch back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Vec<String>>,
}

impl Step {
    pub fn new(argv: &[&str], summary: &str) -> Self {
        Self {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            summary: summary.to_string(),
            undo: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub steps: Vec<Step>,
    /// What the user should know (a restart is needed, a limitation applies).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The exact way back: every file to its bytes before, the same steps again.
    pub fn undo(&self) -> Plan {
        Plan {
            changes: self
                .changes
                .iter()
                .rev()
                .map(|c| Change {
                    path: c.path.clone(),
                    before: c.after.clone(),
                    after: c.before.clone(),
                    mode: c.mode,
                    summary: tr_f("undo: {summary}", &[("summary", &c.summary)]),
                    diff: unified_diff(&c.path, c.after.as_deref(), c.before.as_deref()),
                })
                .collect(),
            steps: self
                .steps
                .iter()
                .map(|s| match &s.undo {
                    Some(u) => Step {
                        argv: u.clone(),
                        summary: tr_f("undo: {summary}", &[("summary", &s.summary)]),
                        undo: Some(s.argv.clone()),
                    },
                    None => s.clone(),
                })
                .collect(),
            notes: Vec::new(),
        }
    }

    /// Adds another plan's changes and steps (steps once each, in order).
    pub fn merge(&mut self, other: Plan) {
        for c in other.changes {
            match self.changes.iter_mut().find(|x| x.path == c.path) {
                // Two edits of one file compose: keep the first "before", take the last "after".
                Some(x) => {
                    x.after = c.after;
                    x.summary = format!("{}; {}", x.summary, c.summary);
                    x.diff = unified_diff(&x.path, x.before.as_deref(), x.after.as_deref());
                }
                None => self.changes.push(c),
            }
        }
        for s in other.steps {
            if !self.steps.contains(&s) {
                self.steps.push(s);
            }
        }
        self.notes.extend(other.notes);
    }

    /// The same plan as the combined diff a user reads.
    pub fn diff(&self) -> String {
        self.changes.iter().map(|c| c.diff.as_str()).collect()
    }
}

/// A change from `before` to `after` of `path`, or `None` when they are equal.
pub fn change(
    path: &str,
    before: Option<&[u8]>,
    after: Option<Vec<u8>>,
    summary: String,
) -> Option<Change> {
    if before == after.as_deref() {
        return None;
    }
    Some(Change {
        path: path.to_string(),
        diff: unified_diff(path, before, after.as_deref()),
        before: before.map(<[u8]>::to_vec),
        after,
        mode: 0o644,
        summary,
    })
}

/// `diff -u`-style text between two versions of a file.
/// A file that is not text (a card's ROM) is said in one line, by its sizes, as `diff` does.
pub fn unified_diff(path: &str, before: Option<&[u8]>, after: Option<&[u8]>) -> String {
    let binary = |b: Option<&[u8]>| b.is_some_and(|b| std::str::from_utf8(b).is_err());
    if binary(before) || binary(after) {
        let size =
            |b: Option<&[u8]>| b.map_or("none".to_string(), |b| format!("{} bytes", b.len()));
        return format!(
            "Binary file {path} differs ({} before, {} after)\n",
            size(before),
            size(after)
        );
    }
    let a = before.map(String::from_utf8_lossy).unwrap_or_default();
    let b = after.map(String::from_utf8_lossy).unwrap_or_default();
    let old = if before.is_some() {
        format!("a{path}")
    } else {
        "/dev/null".to_string()
    };
    let new = if after.is_some() {
        format!("b{path}")
    } else {
        "/dev/null".to_string()
    };
    let d = similar::TextDiff::from_lines(a.as_ref(), b.as_ref());
    let mut out = d
        .unified_diff()
        .context_radius(3)
        .header(&old, &new)
        .to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Appends `line` to a config file's text on a line of its own: an unterminated last line is
/// ended first.
pub(crate) fn push_line(out: &mut String, line: &str) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
}

/// What the user wants changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Intent {
    /// Add (or replace) and remove kernel arguments, with the boot loader this host uses.
    KernelArguments {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Bind these devices to vfio-pci at boot (by ID, or by address where the host keeps an
    /// identical device).
    VfioAtBoot { devices: Vec<PciAddress> },
    /// Keep the host's desktop on this GPU (X11 BusID), away from the passed-through one.
    HostDisplay { gpu: PciAddress },
    /// Keep GNOME's Wayland compositor off this card's group (the card stays with the host).
    DesktopOff { gpu: PciAddress },
    /// libvirt's hook, which lends cards to VMs while they run ([`hook::DEFAULT_HELPER`]).
    SessionHook,
    /// vendor-reset resets this card with the AMD reset bug (a udev rule sets its
    /// `reset_method`).
    VendorReset { gpu: PciAddress },
    /// vfio-pci keeps idle cards out of D3 (`disable_idle_d3`), for cards that do not wake
    /// from D3cold.
    IdleD3Off,
    /// Looking Glass's host files for `user` (who runs the client), on the kvmfr device or
    /// /dev/shm.
    LookingGlass {
        user: String,
        backing: crate::vm::looking_glass::Backing,
    },
}

/// Plans `intent` on the host below `root`.
pub fn plan(root: &Root, host: &Host, intent: &Intent) -> Result<Plan, PlanError> {
    match intent {
        Intent::KernelArguments { add, remove } => {
            let add: Vec<Arg> = add
                .iter()
                .map(|a| args::parse_allowed(a))
                .collect::<Result<_, _>>()?;
            let remove: Vec<String> = remove
                .iter()
                .map(|k| args::parse_removable(k))
                .collect::<Result<_, _>>()?;
            guard::check_arguments(root, host, &add)?;
            bootloader::plan(root, host, &add, &remove)
        }
        Intent::VfioAtBoot { devices } => vfio::plan(root, host, devices),
        Intent::HostDisplay { gpu } => display::plan(root, host, *gpu),
        Intent::DesktopOff { gpu } => hook::desktop_plan(root, host, *gpu),
        Intent::SessionHook => hook::plan(root, hook::DEFAULT_HELPER),
        Intent::VendorReset { gpu } => reset::vendor_reset_plan(root, host, *gpu),
        Intent::IdleD3Off => reset::idle_d3_plan(root, host),
        Intent::LookingGlass { user, backing } => looking_glass::plan(root, user, *backing),
    }
}

/// What the host needs to hand `gpu`'s IOMMU group to VMs from boot on, as intents in the
/// order they apply: the IOMMU on, the group's devices on vfio-pci, and the host's desktop kept
/// on another GPU where it needs telling. Front ends send each one to the helper's matching verb.
pub fn gpu_intents(host: &Host, gpu: PciAddress) -> Result<Vec<Intent>, PlanError> {
    gpu_intents_for(host, gpu, GpuMode::AtBoot)
}

/// [`gpu_intents`] for a GPU mode: *while the VM runs* plans no boot-time binding but keeps
/// the desktop off the card and installs libvirt's hook, which lends it to VMs.
pub fn gpu_intents_for(
    host: &Host,
    gpu: PciAddress,
    mode: GpuMode,
) -> Result<Vec<Intent>, PlanError> {
    let group = host
        .group_for(gpu)
        .map_err(|r| PlanError::Device(r.words(host)))?;
    only_gpu_rule(host, gpu, mode)?;
    let mut out = vec![Intent::KernelArguments {
        add: crate::check::iommu_arguments(host.cpu.vendor_kind),
        remove: vec![],
    }];
    match mode {
        GpuMode::AtBoot => out.push(Intent::VfioAtBoot {
            devices: host.endpoints(&group.devices),
        }),
        GpuMode::WhileRunning => out.push(Intent::DesktopOff { gpu }),
        // The desktop stays on the card; each session stops it and brings it back.
        GpuMode::OnlyGpu => {}
    }
    // libvirt's hook serves every session, not only a lent card: a VM's hugepages reserved
    // when it starts (the wizard's default) and its CPUs kept free need it in both modes.
    out.push(Intent::SessionHook);
    // The desktop stays on another GPU when there is one.
    if let Some(other) = host
        .gpus()
        .find(|g| g.address != gpu && !group.devices.contains(&g.address))
    {
        if host
            .display
            .x11_configs
            .iter()
            .any(|c| c.drivers.iter().any(|d| d == "nvidia"))
            || host.is_host_display(other.address)
        {
            out.push(Intent::HostDisplay { gpu: other.address });
        }
    }
    Ok(out)
}

/// The host's only graphics card showing the screen is never bound to vfio-pci at boot nor
/// kept off the desktop (either would leave the host with no display): it is planned in the
/// only-GPU mode alone, and that mode is for that card alone.
fn only_gpu_rule(host: &Host, gpu: PciAddress, mode: GpuMode) -> Result<(), PlanError> {
    let default = GpuMode::default_for(host, gpu);
    if default == GpuMode::OnlyGpu && mode != GpuMode::OnlyGpu {
        return Err(PlanError::Device(tr_f(
            "{gpu} is this computer's only graphics card and shows its screen: bound to vfio-pci at boot, or kept off the desktop, it would leave this computer with no display. Give it to a VM in the only-GPU mode instead (the desktop stops while the VM runs; passagectl: --gpu-mode only-gpu).",
            &[("gpu", &gpu.to_string())],
        )));
    }
    if mode == GpuMode::OnlyGpu && !GpuMode::offered(host, gpu).contains(&mode) {
        return Err(PlanError::Device(tr_f(
            "The only-GPU mode is for a host's only graphics card; {gpu} is not: choose from boot on or only while a VM runs.",
            &[("gpu", &gpu.to_string())],
        )));
    }
    Ok(())
}

/// Everything the host needs to hand `gpu`'s IOMMU group to VMs from boot on: the plans of
/// [`gpu_intents`], merged.
pub fn for_gpu(root: &Root, host: &Host, gpu: PciAddress) -> Result<Plan, PlanError> {
    for_gpu_mode(root, host, gpu, GpuMode::AtBoot, hook::DEFAULT_HELPER)
}

/// [`for_gpu`] for a GPU mode; `helper` is the program libvirt's hook runs (the helper passes
/// its own path).
pub fn for_gpu_mode(
    root: &Root,
    host: &Host,
    gpu: PciAddress,
    mode: GpuMode,
    helper: &str,
) -> Result<Plan, PlanError> {
    for_gpu_mode_with(root, host, gpu, mode, helper, &[])
}

/// [`for_gpu_mode`] with more kernel arguments (a VM's hugepages reserved at boot), as the
/// host will be once the card's change and then `extra`'s are applied: the arguments are
/// planned with the card's, so one edit of the boot configuration shows both.
pub fn for_gpu_mode_with(
    root: &Root,
    host: &Host,
    gpu: PciAddress,
    mode: GpuMode,
    helper: &str,
    extra: &[Intent],
) -> Result<Plan, PlanError> {
    let mut out = Plan::default();
    let mut boot_changed = false;
    let mut intents = gpu_intents_for(host, gpu, mode)?;
    for e in extra {
        match (intents.first_mut(), e) {
            (
                Some(Intent::KernelArguments { add, remove }),
                Intent::KernelArguments { add: a, remove: r },
            ) => {
                add.extend(a.iter().cloned());
                remove.extend(r.iter().cloned());
            }
            _ => intents.push(e.clone()),
        }
    }
    // Where binding at boot edits the command line too (booster), the IOMMU's arguments go
    // into the same edit.
    let mut held: Vec<Arg> = Vec::new();
    for intent in intents {
        let p = match intent {
            Intent::SessionHook => hook::plan(root, helper)?,
            Intent::DesktopOff { .. } => plan(root, host, &intent)?,
            Intent::KernelArguments { add, remove }
                if mode == GpuMode::AtBoot
                    && remove.is_empty()
                    && vfio::binds_on_command_line(host) =>
            {
                held = add
                    .iter()
                    .map(|a| args::parse_allowed(a))
                    .collect::<Result<_, _>>()?;
                guard::check_arguments(root, host, &held)?;
                continue;
            }
            Intent::VfioAtBoot { devices } if !held.is_empty() => {
                let p = vfio::plan_with_args(root, host, &devices, &held)?;
                boot_changed |= !p.is_empty();
                p
            }
            other => {
                let p = plan(root, host, &other)?;
                boot_changed |= !p.is_empty();
                p
            }
        };
        out.merge(p);
    }
    if mode == GpuMode::OnlyGpu {
        out.notes.push(tr("The card is not bound to vfio-pci at boot: it is this computer's only graphics card and shows its screen. Each time its VM starts, the desktop stops and the card goes to the VM; when the VM stops, the card and the desktop come back."));
    }
    if boot_changed {
        out.notes
            .push(tr("Restart the computer for these changes to take effect."));
    }
    Ok(out)
}

/// Reads a host file for planning: `None` when absent, an error when unreadable.
pub(crate) fn read(root: &Root, path: &str) -> Result<Option<Vec<u8>>, PlanError> {
    match std::fs::read(root.path(path)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PlanError::Unreadable {
            path: path.to_string(),
            why: e.to_string(),
        }),
    }
}

/// Reads a host file that must be UTF-8 text.
pub(crate) fn read_text(root: &Root, path: &str) -> Result<Option<(Vec<u8>, String)>, PlanError> {
    match read(root, path)? {
        None => Ok(None),
        Some(b) => match String::from_utf8(b.clone()) {
            Ok(s) => Ok(Some((b, s))),
            Err(_) => Err(PlanError::Unparsable {
                path: path.to_string(),
                why: tr("it is not UTF-8 text"),
            }),
        },
    }
}

/// A file as read for planning: host path, bytes, text.
pub(crate) type Source = (String, Vec<u8>, String);

/// A main configuration file, then the drop-ins its tool sources after it (`dir/*suffix`, in
/// the glob's order, hidden names left out as the shell leaves them). `None` when the main file
/// is missing.
pub(crate) fn with_drop_ins(
    root: &Root,
    main: &str,
    dir: &str,
    suffix: &str,
) -> Result<Option<Vec<Source>>, PlanError> {
    let Some((bytes, text)) = read_text(root, main)? else {
        return Ok(None);
    };
    let mut out = vec![(main.to_string(), bytes, text)];
    for name in root.list(dir) {
        if !name.ends_with(suffix) || name.starts_with('.') {
            continue;
        }
        let path = format!("{dir}/{name}");
        if let Some((bytes, text)) = read_text(root, &path)? {
            out.push((path, bytes, text));
        }
    }
    Ok(Some(out))
}

mod opt_text {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&String::from_utf8_lossy(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(String::into_bytes))
    }
}
