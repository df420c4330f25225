//! passagectl: Passage for headless hosts.
//!
//! Exit codes: 0 success (for `check`: nothing blocks passthrough; for `rom`: the ROM has an x64
//! UEFI image), 1 `check` found a blocker (`rom`: no x64 UEFI image), 2 bad usage, an
//! unreadable root or ROM, or output that could not be written.

#[macro_use]
extern crate passagectl;

mod remote_change;
mod render;
mod rom;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use passage_core::check;
use passage_core::host::PciAddress;
use passage_core::plan::{self, Intent};
use passage_core::vm::session::GpuMode;
use passagectl::{capture, fail, helper, open_root, print_json, scan_root, RootArg};

#[derive(Parser)]
#[command(
    name = "passagectl",
    version,
    about = "Inspect a host for GPU passthrough (the command-line side of Passage)"
)]
struct Cli {
    /// The libvirt the VM commands use, e.g. qemu+ssh://user@host/system for a remote host
    /// (`passagectl --connect URI vm list`); host commands run on the host itself
    #[arg(long, value_name = "URI")]
    connect: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show devices, IOMMU groups and the host's virtualization setup
    Scan {
        #[command(flatten)]
        root: RootArg,
        /// Print JSON (the stable contract other tools read)
        #[arg(long)]
        json: bool,
    },
    /// Say what stands between this host and a VM with its GPU passed through
    Check {
        #[command(flatten)]
        root: RootArg,
        /// The GPU to check (PCI address, e.g. 0000:01:00.0); default: the likeliest one
        #[arg(long, value_name = "ADDRESS")]
        gpu: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Preview the changes that set this host up (diffs and commands); nothing is written
    Plan {
        #[command(flatten)]
        root: RootArg,
        #[command(flatten)]
        change: ChangeArgs,
        #[arg(long)]
        json: bool,
    },
    /// Apply a change through Passage's helper (polkit asks for authorization)
    Apply {
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Hand a whole IOMMU group to vfio-pci now, through the helper
    Bind {
        /// The devices (every function of the group)
        #[arg(required = true, value_name = "ADDRESS")]
        devices: Vec<String>,
        /// Take a group the host needs (its screen's GPU…); asks for authorization again
        #[arg(long)]
        override_host: bool,
    },
    /// VMs holding what their session took (the card, hugepages, CPUs), and what will be given
    /// back when each stops
    Sessions {
        #[arg(long)]
        json: bool,
    },
    /// Give devices back to their own drivers, through the helper
    Restore {
        #[arg(required = true, value_name = "ADDRESS")]
        devices: Vec<String>,
    },
    /// Reserve hugepages for VM memory, or give them back, through the helper
    Hugepages {
        /// How many pages to reserve
        #[arg(value_name = "COUNT", required_unless_present = "release")]
        count: Option<u64>,
        /// Page size: 2M or 1G
        #[arg(long, default_value = "2M")]
        size: String,
        /// Give back what Passage reserved of this size
        #[arg(long, conflicts_with = "count")]
        release: bool,
    },
    /// Undo a change the helper made (see `history`)
    Undo {
        /// The change id (six digits or more, as `passagectl history` shows it)
        id: String,
    },
    /// The changes the helper made, newest first
    History {
        #[arg(long)]
        json: bool,
    },
    /// VM descriptions: a starting spec for this host, its libvirt XML, its QEMU command line
    /// (`passagectl vm --help` lists them)
    #[command(disable_help_flag = true)]
    Vm {
        /// The VM command and its arguments, run by passagectl-vm
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        args: Vec<OsString>,
    },
    /// Whether a card's option ROM has the x64 UEFI image a UEFI VM needs to show the card at
    /// boot (exit 0: it has; 1: it has not; 2: it could not be read)
    Rom {
        /// A ROM file (any user), or the card's PCI address (read from sysfs: root only, never
        /// the card showing the host's screen)
        #[arg(value_name = "ADDRESS|FILE")]
        what: String,
        #[command(flatten)]
        root: RootArg,
        #[arg(long)]
        json: bool,
        /// Read the card's ROM through Passage's helper, as any user (polkit asks)
        #[arg(long, conflicts_with = "root")]
        helper: bool,
        /// Copy the ROM FILE where libvirt's QEMU may read it (/var/lib/libvirt/vbios/, with
        /// AppArmor's read rule) through Passage's helper, as one change `undo` takes back
        #[arg(long, conflicts_with_all = ["root", "helper"])]
        place: bool,
    },
    /// Write the part of /sys, /proc and /etc that scan reads to a .tar.gz for a bug report
    Capture {
        /// The archive to write (must not exist)
        out: PathBuf,
        /// Capture the host below DIR instead of /
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
    },
}

/// What to change on the host: the same words for `plan` (preview) and `apply`.
#[derive(clap::Args)]
struct ChangeArgs {
    /// Everything to give this GPU's IOMMU group to VMs from boot on
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["add", "remove", "vfio", "host_display"])]
    gpu: Option<String>,
    /// A kernel argument to add or replace (repeatable), e.g. intel_iommu=on
    #[arg(long, value_name = "ARG")]
    add: Vec<String>,
    /// A kernel argument to remove, by key (repeatable), e.g. pcie_acs_override
    #[arg(long, value_name = "KEY")]
    remove: Vec<String>,
    /// Bind these devices to vfio-pci at boot (repeatable; a whole IOMMU group)
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["add", "remove", "host_display"])]
    vfio: Vec<String>,
    /// Keep the host's desktop on this GPU
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["add", "remove"])]
    host_display: Option<String>,
    /// Looking Glass's host files for you: the shared memory yours (tmpfiles.d), AppArmor's
    /// override for libvirt's QEMU, and with the kvmfr module libvirt's cgroup device list
    #[arg(long, conflicts_with_all = ["gpu", "add", "remove", "vfio", "host_display"])]
    looking_glass: bool,
    /// With --gpu: `boot` (on vfio-pci from boot on), `running` (lent to VMs while they run,
    /// through libvirt's hook) or `only-gpu` (the host's only card: the desktop stops while
    /// the VM runs; nothing is bound at boot). The default: `only-gpu` for the host's only card
    /// showing the screen, else `boot`
    #[arg(long, value_name = "MODE", value_parser = ["boot", "running", "only-gpu"], requires = "gpu")]
    gpu_mode: Option<String>,
    /// Let vendor-reset reset this card with the AMD reset bug (a udev rule sets its
    /// reset_method to device_specific; vendor-reset must be installed)
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["gpu", "add", "remove", "vfio", "host_display"])]
    vendor_reset: Option<String>,
    /// Keep the cards vfio-pci holds out of D3 while no VM uses them (vfio-pci's
    /// disable_idle_d3), for cards that do not wake from D3cold
    #[arg(long, conflicts_with_all = ["gpu", "add", "remove", "vfio", "host_display", "vendor_reset"])]
    idle_d3_off: bool,
}

impl ChangeArgs {
    /// The card fixes, which go to the helper as intents of their own.
    fn card_fix(&self) -> Option<Result<Intent, String>> {
        if self.idle_d3_off {
            return Some(Ok(Intent::IdleD3Off));
        }
        let a = self.vendor_reset.as_deref()?;
        Some(
            a.parse::<PciAddress>()
                .map(|gpu| Intent::VendorReset { gpu })
                .map_err(|e| e.to_string()),
        )
    }
}

/// `passagectl vm …`: the VM commands are passagectl-vm's, the one program that links libvirt, so
/// that the host commands start without loading it; this process becomes that one.
fn vm_commands(connect: Option<&str>, args: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let program = passage_core::programs::vm_commands();
    let mut cmd = std::process::Command::new(&program);
    if let Some(uri) = connect {
        cmd.args(["--connect", uri]);
    }
    let e = cmd.args(args).exec();
    fail(format!(
        "cannot run the VM commands' program {}: {e}. Reinstall Passage (the package or `meson install` puts it there).",
        program.display()
    ))
}

/// `--connect` with a host command: the host commands read and change the host they run on.
/// On a remote host reached over SSH, the ones that only read (scan, check, plan, history,
/// sessions) run there through ssh as libvirt reaches it; the ones that change it run there
/// through `ssh -t` when this is a terminal, after showing what they will do and asking
/// (src/remote_change.rs), and are otherwise refused with the command to type (its helper's
/// polkit asks through the terminal of that session).
fn host_command_elsewhere(r: &passage_core::connection::RemoteHost, reads_only: bool) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let mut words: Vec<String> = vec![];
    let mut args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--connect" => {
                args.next();
            }
            _ if a.starts_with("--connect=") => {}
            _ => words.push(a),
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let at_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    match r.passagectl(&words) {
        Some(mut c) if reads_only => {
            let e = c.exec();
            fail(format!("cannot run ssh: {e}"))
        }
        Some(_) if at_terminal => remote_change::run(r, &words),
        _ => {
            let line: Vec<&str> = std::iter::once("passagectl")
                .chain(words.iter().copied())
                .collect();
            fail(passage_core::i18n::tr_f(
                "--connect names {host}, and this command changes the host it runs on: run it there, in a terminal (its helper asks for authorization there): {command}",
                &[("host", &r.name), ("command", &r.terminal_command(&line))],
            ))
        }
    }
}

fn main() -> ExitCode {
    passage_core::i18n::init(&passage_core::i18n::localedir());
    let cli = Cli::parse();
    if let Some(r) = cli
        .connect
        .as_deref()
        .filter(|_| !matches!(cli.cmd, Cmd::Vm { .. }))
        .and_then(passage_core::connection::remote)
    {
        let reads_only = matches!(
            cli.cmd,
            Cmd::Scan { .. }
                | Cmd::Check { .. }
                | Cmd::Plan { .. }
                | Cmd::History { .. }
                | Cmd::Sessions { .. }
        );
        return host_command_elsewhere(&r, reads_only);
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match cli.cmd {
        Cmd::Rom { what, place, .. } if place => rom::place(&what),
        Cmd::Rom {
            what, json, helper, ..
        } if helper => rom::run_through_helper(&what, json),
        Cmd::Rom {
            what, root, json, ..
        } => match open_root(&root) {
            Ok(opened) => rom::run(&what, &opened.root, json),
            Err(e) => fail(e),
        },
        Cmd::Scan { root, json } => {
            let (_root, host) = match scan_root(&root) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            if json {
                print_json(&host).err().unwrap_or(ExitCode::SUCCESS)
            } else {
                out!("{}", render::scan(&host, color));
                ExitCode::SUCCESS
            }
        }
        Cmd::Check { root, gpu, json } => {
            let gpu: Option<PciAddress> = match gpu.as_deref().map(str::parse).transpose() {
                Ok(g) => g,
                Err(e) => return fail(e),
            };
            let (_root, host) = match scan_root(&root) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let report = match check::evaluate(&host, gpu) {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let code = if report.blocked() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
            if json {
                let out = serde_json::json!({ "gpu": report.gpu, "findings": report.findings });
                if let Err(c) = print_json(&out) {
                    return c;
                }
            } else {
                out!("{}", render::check(&host, &report, color));
            }
            code
        }
        Cmd::Plan { root, change, json } => {
            let card_fix = change.card_fix();
            let ChangeArgs {
                gpu,
                add,
                remove,
                vfio,
                host_display,
                gpu_mode,
                looking_glass,
                ..
            } = change;
            let mode = gpu_mode.as_deref().and_then(GpuMode::from_word);
            let addr = |s: &str| s.parse::<PciAddress>();
            let (opened, host) = match scan_root(&root) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let result = if let Some(fix) = card_fix {
                match fix {
                    Ok(intent) => plan::plan(&opened.root, &host, &intent),
                    Err(e) => return fail(e),
                }
            } else if let Some(g) = gpu {
                match addr(&g) {
                    Ok(a) => {
                        let mode = mode.unwrap_or_else(|| GpuMode::default_for(&host, a));
                        plan::for_gpu_mode(&opened.root, &host, a, mode, plan::hook::DEFAULT_HELPER)
                    }
                    Err(e) => return fail(e),
                }
            } else {
                let intent = if !vfio.is_empty() {
                    match vfio.iter().map(|v| addr(v)).collect::<Result<Vec<_>, _>>() {
                        Ok(devices) => Intent::VfioAtBoot { devices },
                        Err(e) => return fail(e),
                    }
                } else if let Some(h) = host_display {
                    match addr(&h) {
                        Ok(gpu) => Intent::HostDisplay { gpu },
                        Err(e) => return fail(e),
                    }
                } else if !add.is_empty() || !remove.is_empty() {
                    Intent::KernelArguments { add, remove }
                } else if looking_glass {
                    use std::os::unix::fs::MetadataExt;
                    let uid = match std::fs::metadata("/proc/self") {
                        Ok(m) => m.uid(),
                        Err(e) => return fail(e),
                    };
                    match plan::looking_glass::user_of(&opened.root, uid) {
                        Ok(user) => Intent::LookingGlass {
                            user,
                            backing: passage_core::vm::looking_glass::Backing::of(&opened.root),
                        },
                        Err(e) => return fail(e),
                    }
                } else {
                    return fail("say what to plan: --gpu ADDRESS, --add ARG / --remove KEY, --vfio ADDRESS…, --host-display ADDRESS, --vendor-reset ADDRESS, --idle-d3-off or --looking-glass");
                };
                plan::plan(&opened.root, &host, &intent)
            };
            match result {
                Ok(p) if json => print_json(&p).err().unwrap_or(ExitCode::SUCCESS),
                Ok(p) => {
                    out!("{}", render::plan(&p, color));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Cmd::Apply { change } => {
            if let Some(fix) = change.card_fix() {
                return match fix {
                    Ok(intent) => helper::apply_intent(&intent),
                    Err(e) => fail(e),
                };
            }
            let ChangeArgs {
                gpu,
                add,
                remove,
                vfio,
                host_display,
                gpu_mode,
                looking_glass,
                ..
            } = change;
            // Lent while a VM runs, or only GPU: the helper's ConfigureGpuSessions plans the
            // host's only card in the only-GPU mode (no boot-time binding).
            let running = matches!(gpu_mode.as_deref(), Some("running" | "only-gpu"));
            if looking_glass {
                return helper::looking_glass();
            }
            helper::apply(gpu, running, add, remove, vfio, host_display)
        }
        Cmd::Sessions { json } => helper::sessions(json),
        Cmd::Undo { id } => helper::undo(&id),
        Cmd::Hugepages {
            count,
            size,
            release,
        } => helper::hugepages(count, &size, release),
        Cmd::Bind {
            devices,
            override_host,
        } => helper::bind(&devices, override_host),
        Cmd::Restore { devices } => helper::restore(&devices),
        Cmd::History { json } => helper::history(json),
        Cmd::Vm { args } => vm_commands(cli.connect.as_deref(), &args),
        Cmd::Capture { out, root } => {
            let source = root.unwrap_or_else(|| PathBuf::from("/"));
            match capture::capture(&source, &out) {
                Ok((n, host)) => {
                    outln!(
                        "Wrote {} ({n} entries: {} PCI devices, {} IOMMU groups). Attach it to your report; `passagectl scan --root {}` replays it.",
                        out.display(),
                        host.pci_devices.len(),
                        host.iommu_groups.len(),
                        Path::new(&out).display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}
