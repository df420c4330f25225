//! `passagectl vm …`: the same draft, device editor and domain reading as the app (core's
//! `vm::draft`, `vm::devices`, `vm::Domain`), and libvirt through passage-virt.
//!
//! Exit codes: 0 done, 1 refused by the host's rules or by libvirt, 2 bad input (an unknown
//! field, a malformed address, a file that is not a domain); nothing is defined on 1 or 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use passage_core::host::PciAddress;
use passage_core::vm::devices::{choose_in, parse_usb, DeviceChoice, PassthroughEdit};
use passage_core::vm::draft::{Draft, Storage, POOL, POOL_PATH};
use passage_core::vm::session::{GpuMode, SessionSettings};
use passage_core::vm::{Domain, VmSpec};
use passage_core::Host;
use passage_virt::Hypervisor;

use crate::{shell_lines, with_libvirt, ConnectArg};
use passagectl::{fail, print_json, RootArg};

#[derive(Subcommand)]
pub enum VmCmd {
    /// Make a VM with the wizard's defaults and choices: print its domain XML or spec, or
    /// define it in libvirt (with its new disk image)
    New {
        #[command(flatten)]
        root: RootArg,
        /// The graphics card; its whole IOMMU group goes to the VM (with --express, the card
        /// Passage proposes when left out)
        #[arg(long, value_name = "ADDRESS", required_unless_present = "express")]
        gpu: Option<String>,
        /// A wizard choice (repeatable), e.g. name=win10, memory-gib=16, install-iso=/srv/Win10.iso,
        /// disk=new:128, network=bridge:br0, pci-add=0000:04:00.0, usb-add=046d:c52b
        #[arg(long = "set", value_name = "FIELD=VALUE", conflicts_with = "express")]
        set: Vec<String>,
        /// Recommend the whole VM from this host and the card, as the app's “Create a Gaming
        /// VM…” does: print what was chosen, define it and start it booting the ISO
        #[arg(long, requires = "iso", conflicts_with = "create")]
        express: bool,
        #[command(flatten)]
        express_args: crate::vm_express::ExpressArgs,
        /// Print the domain XML and define nothing
        #[arg(long, group = "what")]
        print_xml: bool,
        /// Print the VM spec (JSON) and define nothing
        #[arg(long, group = "what")]
        print_spec: bool,
        /// Make the disk image and define the VM in libvirt
        #[arg(long, group = "what")]
        create: bool,
    },
    /// Print a starting VM spec (JSON): `vm new --print-spec` with the name, vCPUs and memory
    Suggest {
        #[command(flatten)]
        root: RootArg,
        #[arg(long, value_name = "ADDRESS")]
        gpu: String,
        #[arg(long, default_value = "passage-vm")]
        name: String,
        #[arg(long)]
        vcpus: Option<u32>,
        /// Memory in MiB (whole GiB)
        #[arg(long)]
        memory: Option<u64>,
    },
    /// A VM as Passage reads it: devices, memory, firmware, Passage's metadata
    Show {
        /// The VM's name in libvirt
        #[arg(required_unless_present = "xml", conflicts_with = "xml")]
        name: Option<String>,
        /// Read a domain XML file instead of asking libvirt
        #[arg(long, value_name = "FILE")]
        xml: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the running VM's guest (through the QEMU guest agent, read-only queries) whether it
    /// sees each passed PCI device, with which driver, and on Windows its problem code. libvirt
    /// marks the domain "tainted" (custom-ga-command) once an agent command ran. Exit 0 all
    /// work, 1 cannot check, 3 a device does not work
    Verify {
        /// The VM's name in libvirt
        name: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        root: RootArg,
    },
    /// Change a VM's passed-through devices by libvirt's rules (whole IOMMU groups), or its
    /// settings (memory, vCPUs, hugepages, ISOs, Secure Boot, TPM, SPICE, boot order) by the
    /// wizard's; everything else in its definition stays byte for byte
    Edit {
        /// The VM's name in libvirt
        #[arg(required_unless_present = "xml", conflicts_with = "xml")]
        name: Option<String>,
        /// Edit a domain XML file: the result is printed, nothing is written
        #[arg(long, value_name = "FILE")]
        xml: Option<PathBuf>,
        #[command(flatten)]
        root: RootArg,
        /// A PCI device to pass through (repeatable; its whole group must go)
        #[arg(long, value_name = "ADDRESS")]
        add: Vec<String>,
        /// A PCI device to take out (repeatable; its whole group must leave)
        #[arg(long, value_name = "ADDRESS")]
        remove: Vec<String>,
        /// A USB device to pass through by vendor:product (repeatable)
        #[arg(long, value_name = "VVVV:PPPP")]
        add_usb: Vec<String>,
        /// A USB device to take out by vendor:product (repeatable)
        #[arg(long, value_name = "VVVV:PPPP")]
        remove_usb: Vec<String>,
        #[command(flatten)]
        settings: Box<crate::vm_edit::SettingsArgs>,
        /// Print the edited XML and define nothing
        #[arg(long)]
        print: bool,
    },
    /// Set what happens on the host while a VM runs (kept in Passage's metadata, read by
    /// libvirt's hook); takes effect at its next start
    Set {
        /// The VM's name in libvirt
        #[arg(required_unless_present = "xml", conflicts_with = "xml")]
        name: Option<String>,
        /// Edit a domain XML file: the result is printed, nothing is written
        #[arg(long, value_name = "FILE")]
        xml: Option<PathBuf>,
        /// `boot`: the card is on vfio-pci from boot on; `running`: lent to the VM while it runs;
        /// `only-gpu`: the host's only card, the desktop stopped while the VM runs
        #[arg(long, value_name = "MODE", value_parser = ["boot", "running", "only-gpu"])]
        gpu_mode: Option<String>,
        /// Reserve the VM's hugepages when it starts and free them when it stops (on), or back
        /// its memory with ordinary pages (off)
        #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
        hugepages: Option<String>,
        /// Keep the host's processes off the VM's pinned CPUs while it runs (systemd hosts)
        #[arg(long, value_name = "on|off", value_parser = ["on", "off"])]
        isolate_cpus: Option<String>,
        /// Print the edited XML and define nothing
        #[arg(long)]
        print: bool,
    },
    /// Authorize what a VM's session takes from the host while it runs (its cards' IOMMU
    /// groups, its hugepages, the CPUs the host is kept off): libvirt's hook takes nothing an
    /// administrator did not authorize. `vm set` and `vm new --create` ask for it themselves
    Authorize {
        /// The VM's name in libvirt
        #[arg(required_unless_present = "xml", conflicts_with = "xml")]
        name: Option<String>,
        /// Authorize the domain in this XML file (as libvirt has it, with its UUID)
        #[arg(long, value_name = "FILE")]
        xml: Option<PathBuf>,
    },
    /// Define a VM in libvirt from a spec
    Create {
        #[arg(long, value_name = "SPEC.json")]
        from: PathBuf,
    },
    /// The VMs libvirt knows (Passage's marked with their purpose)
    List,
    /// Start a VM after a pre-flight check (devices still there and free, memory, firmware,
    /// images QEMU may read, its network); a failure is explained
    Start {
        name: String,
        /// Return once libvirt reports it running
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        root: RootArg,
    },
    /// Shut a VM down gracefully (guest agent or power button), waiting for it
    Shutdown {
        name: String,
        /// Seconds to wait for the guest
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Force it off after the timeout (unsaved work in it is lost)
        #[arg(long)]
        force: bool,
    },
    /// Explain a start error read on standard input: its cause, in words, and the fix
    Explain {
        #[arg(long)]
        json: bool,
    },
    /// Force a VM off at once (as pulling the plug; unsaved work in it is lost)
    Stop { name: String },
    /// The running VM's serial console on this terminal (Ctrl+] leaves it), or on standard
    /// input and output
    Console { name: String },
    /// Answer the app's requests for sockets to the VM's displays, on standard input (a Unix
    /// socket): libvirt's virDomainOpenGraphicsFD, passed on with SCM_RIGHTS
    #[command(hide = true)]
    GraphicsFds { name: String },
    /// Answer libvirt requests as JSON lines on stdin/stdout (the app's libvirt worker)
    #[command(hide = true)]
    Serve,
    /// Remove a VM's definition and NVRAM (its disks stay)
    Remove { name: String },
    /// Print the libvirt domain XML of a VM spec
    Xml {
        /// The spec (JSON), `-` for standard input
        #[arg(long, value_name = "SPEC.json")]
        from: PathBuf,
    },
    /// Print the bare QEMU command line of a VM spec
    QemuCmdline {
        #[arg(long, value_name = "SPEC.json")]
        from: PathBuf,
        #[command(flatten)]
        root: RootArg,
    },
}

/// A failure with its exit code: 1 refused, 2 bad input.
pub(crate) struct Failed(u8, String);

impl Failed {
    pub(crate) fn exit(self) -> ExitCode {
        eprintln!("passagectl: {}", self.1);
        ExitCode::from(self.0)
    }
}

pub(crate) fn bad(e: impl std::fmt::Display) -> Failed {
    Failed(2, e.to_string())
}

pub(crate) fn refused(e: impl std::fmt::Display) -> Failed {
    Failed(1, e.to_string())
}

fn read_spec(from: &Path) -> Result<VmSpec, String> {
    let text = read_text(from)?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a VM spec: {e}", from.display()))
}

fn read_text(from: &Path) -> Result<String, String> {
    if from == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
        Ok(s)
    } else {
        std::fs::read_to_string(from).map_err(|e| format!("cannot read {}: {e}", from.display()))
    }
}

/// The wizard's draft for `gpu` on `host` with `sets` applied in order.
fn draft(host: &Host, gpu: &str, sets: &[String]) -> Result<Draft, Failed> {
    let gpu: PciAddress = gpu.parse().map_err(bad)?;
    // The only-GPU mode may take the host's only card: the mode is known before the card is
    // (the card's default, core's rule, when --set names none).
    let mode = sets
        .iter()
        .rev()
        .find_map(|kv| kv.strip_prefix("gpu-mode="))
        .and_then(GpuMode::from_word)
        .unwrap_or_else(|| GpuMode::default_for(host, gpu));
    let selection = choose_in(host, gpu, mode).map_err(refused)?;
    let mut d = Draft::new(host, Some(selection));
    for kv in sets {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| bad(format!("--set {kv}: expected FIELD=VALUE")))?;
        d.set_text(host, k, v).map_err(bad)?;
    }
    Ok(d)
}

pub fn run(cmd: VmCmd, conn: &ConnectArg) -> ExitCode {
    match cmd {
        VmCmd::New {
            root,
            gpu,
            set,
            print_xml,
            print_spec,
            create,
            express,
            express_args,
        } => match (express, gpu) {
            (true, gpu) => crate::vm_express::run(
                &root,
                gpu.as_deref(),
                &express_args,
                (print_xml, print_spec),
                conn,
            ),
            (false, Some(gpu)) => new(&root, &gpu, &set, (print_xml, print_spec, create), conn),
            (false, None) => Err(bad("name the card with --gpu ADDRESS")),
        }
        .unwrap_or_else(Failed::exit),
        VmCmd::Suggest {
            root,
            gpu,
            name,
            vcpus,
            memory,
        } => suggest(&root, &gpu, &name, vcpus, memory, conn).unwrap_or_else(Failed::exit),
        VmCmd::Show { name, xml, json } => {
            show(name.as_deref(), xml.as_deref(), json, conn).unwrap_or_else(Failed::exit)
        }
        VmCmd::Verify { name, json, root } => {
            crate::vm_verify::run(&name, json, &root, conn).unwrap_or_else(Failed::exit)
        }
        VmCmd::Edit {
            name,
            xml,
            root,
            add,
            remove,
            add_usb,
            remove_usb,
            settings,
            print,
        } => {
            if settings.any() {
                if !(add.is_empty()
                    && remove.is_empty()
                    && add_usb.is_empty()
                    && remove_usb.is_empty())
                {
                    return bad("change devices and settings in two `vm edit` commands").exit();
                }
                return crate::vm_edit::run(
                    name.as_deref(),
                    xml.as_deref(),
                    &root,
                    &settings,
                    print,
                    conn,
                )
                .unwrap_or_else(Failed::exit);
            }
            let choices = match edit_choices(&add, &remove, &add_usb, &remove_usb) {
                Ok(c) => c,
                Err(f) => return f.exit(),
            };
            edit(
                name.as_deref(),
                xml.as_deref(),
                &root,
                &choices,
                print,
                conn,
            )
            .unwrap_or_else(Failed::exit)
        }
        VmCmd::Set {
            name,
            xml,
            gpu_mode,
            hugepages,
            isolate_cpus,
            print,
        } => {
            let on = |v: &Option<String>| v.as_deref().map(|v| v == "on");
            let want = SessionChoice {
                gpu_mode: gpu_mode.as_deref().and_then(GpuMode::from_word),
                hugepages: on(&hugepages),
                isolate_cpus: on(&isolate_cpus),
            };
            set_session(name.as_deref(), xml.as_deref(), want, print, conn)
                .unwrap_or_else(Failed::exit)
        }
        VmCmd::Authorize { name, xml } => {
            if let Some(r) = conn.remote() {
                let what = name.as_deref().unwrap_or("NAME");
                let cmd = ["passagectl", "vm", "authorize", what];
                return refused(crate::vm_remote::helper_there(&r, &cmd)).exit();
            }
            match domain_xml(name.as_deref(), xml.as_deref(), conn) {
                Ok((x, _)) => match passagectl::helper::authorize_vm(&x) {
                    Ok(_) => ExitCode::SUCCESS,
                    Err(c) => c,
                },
                Err(f) => f.exit(),
            }
        }
        VmCmd::Serve => {
            let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
            match passage_virt::remote::serve_uri(&conn.uri, stdin.lock(), stdout.lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        VmCmd::Create { from } => {
            let xml = match read_spec(&from).and_then(|s| s.to_xml().map_err(|e| e.to_string())) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            with_libvirt(conn, |h| {
                h.define(&xml).map(|name| {
                    format!("VM {name} defined. Start it with: passagectl vm start {name}\n")
                })
            })
        }
        VmCmd::List => with_libvirt(conn, |h| {
            let mut out = String::new();
            for v in h.list()? {
                let state = if v.running { "running" } else { "shut off" };
                out.push_str(&format!(
                    "{:<24} {state:<9} {}\n",
                    v.name,
                    v.passage_purpose
                        .map(|p| format!("passage: {p}"))
                        .unwrap_or_default()
                ));
            }
            Ok(out)
        }),
        VmCmd::Start { name, wait, root } => crate::vm_session::start(&name, wait, &root, conn),
        VmCmd::Shutdown {
            name,
            timeout,
            force,
        } => crate::vm_session::shutdown(&name, timeout, force, conn),
        VmCmd::Explain { json } => crate::vm_session::explain_stdin(json),
        VmCmd::Stop { name } => with_libvirt(conn, |h| {
            h.destroy(&name).map(|()| format!("VM {name} stopped.\n"))
        }),
        VmCmd::Remove { name } => remove(&name, conn).unwrap_or_else(Failed::exit),
        VmCmd::GraphicsFds { name } => with_libvirt(conn, |h| {
            passage_virt::fdpass::serve(std::io::stdin(), |i| {
                h.graphics_fd(&name, i).map_err(|e| e.to_string())
            })
            .map(|()| String::new())
            .map_err(|e| passage_virt::VirtError::Worker(e.to_string()))
        }),
        VmCmd::Console { name } => crate::vm_console::run(&name, conn).unwrap_or_else(Failed::exit),
        VmCmd::Xml { from } => {
            match read_spec(&from).and_then(|s| s.to_xml().map_err(|e| e.to_string())) {
                Ok(xml) => {
                    out!("{xml}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        VmCmd::QemuCmdline { from, root } => qemu_cmdline(&from, &root, conn),
    }
}

fn new(
    root: &RootArg,
    gpu: &str,
    sets: &[String],
    (print_xml, print_spec, create): (bool, bool, bool),
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    if !(print_xml || print_spec || create) {
        return Err(bad("say --print-xml, --print-spec or --create"));
    }
    let host = crate::vm_remote::host_of(root, conn).map_err(bad)?;
    let mut d = draft(&host, gpu, sets)?;
    // Defining asks libvirt which Hyper-V enlightenments the host has; printing assumes the
    // Proxmox set (the README says so).
    let libvirt = if create {
        let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
        d.hyperv_supported = hyperv_of(&h);
        Some(h)
    } else {
        None
    };
    let xml = match made(&d, &host, (print_xml, print_spec))? {
        Made::Printed(code) => return Ok(code),
        Made::Xml(xml) => xml,
    };
    let Some(h) = libvirt else {
        return Err(bad("say --print-xml, --print-spec or --create"));
    };
    let name = define_new(&h, &d, &xml)?;
    outln!("VM {name} defined. Start it with: passagectl vm start {name}");
    authorize_defined(&h, &name, conn)
}

/// A draft's VM: printed as its spec or XML when asked (then nothing is defined), else its XML.
pub(crate) enum Made {
    Printed(ExitCode),
    Xml(String),
}

pub(crate) fn made(d: &Draft, host: &Host, (xml, spec): (bool, bool)) -> Result<Made, Failed> {
    let s = d.spec(host).map_err(bad)?;
    if spec {
        return Ok(Made::Printed(
            print_json(&s).err().unwrap_or(ExitCode::SUCCESS),
        ));
    }
    let text = s.to_xml().map_err(bad)?;
    if xml {
        out!("{text}");
        return Ok(Made::Printed(ExitCode::SUCCESS));
    }
    Ok(Made::Xml(text))
}

/// The Hyper-V enlightenments the host's libvirt and QEMU have (domain capabilities).
pub(crate) fn hyperv_of(h: &passage_virt::Libvirt) -> Option<Vec<passage_core::vm::tuning::Hv>> {
    h.capabilities()
        .ok()
        .and_then(|c| passage_core::vm::tuning::supported_from_domcaps(&c))
}

/// Makes the draft's new disk image, if it has one, then defines its domain; the VM's name.
pub(crate) fn define_new(
    h: &passage_virt::Libvirt,
    d: &Draft,
    xml: &str,
) -> Result<String, Failed> {
    if let Storage::New { gib, raw } = d.storage {
        let format = if raw {
            passage_virt::VolumeFormat::RawPreallocated
        } else {
            passage_virt::VolumeFormat::Qcow2
        };
        h.ensure_pool(POOL, POOL_PATH).map_err(refused)?;
        h.create_volume(POOL, &d.volume_name(), gib << 30, format, &mut |_, _| {})
            .map_err(refused)?;
    }
    // A definition libvirt refuses leaves no image behind (the app's worker does the same).
    h.define(xml).map_err(|why| {
        if matches!(d.storage, Storage::New { .. }) {
            let _ = h.delete_volume(POOL, &d.volume_name());
        }
        refused(why)
    })
}

/// After a VM's session settings were defined: what its session takes is authorized (as
/// libvirt now has it, with its UUID), or the way to do it later is said. The definition
/// stands either way, so the exit status is 0 (1 and 2 mean nothing was defined).
pub(crate) fn authorize_defined(
    h: &passage_virt::Libvirt,
    name: &str,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    if let Some(r) = conn.remote() {
        let cmd = ["passagectl", "vm", "authorize", name];
        eprintln!("passagectl: VM {name} is defined, but its session is not authorized: libvirt's hook on {} refuses to start it until then. {}", r.name, crate::vm_remote::helper_there(&r, &cmd));
        return Ok(ExitCode::SUCCESS);
    }
    let xml = h.xml(name).map_err(refused)?;
    if passagectl::helper::authorize_vm(&xml).is_err() {
        eprintln!("passagectl: VM {name} is defined, but its session is not authorized: libvirt's hook refuses to start it until an administrator runs `passagectl vm authorize {name}`");
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes a VM's definition, then what was authorized for it.
fn remove(name: &str, conn: &ConnectArg) -> Result<ExitCode, Failed> {
    if let Some(r) = conn.remote() {
        // Removing also revokes what was authorized for the VM, which only that host's
        // helper does: refused whole rather than half done.
        let cmd = ["passagectl", "vm", "remove", name];
        return Err(refused(format!(
            "removing {name} also takes back what was authorized for it. {}",
            crate::vm_remote::helper_there(&r, &cmd)
        )));
    }
    let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
    let xml = h.xml(name).map_err(|e| match e {
        passage_virt::VirtError::NoSuchVm(_) => bad(e),
        e => refused(e),
    })?;
    let uuid = Domain::read(&xml)
        .ok()
        .and_then(|d| d.uuid)
        .and_then(|u| passage_core::verb_args::uuid(&u));
    h.undefine(name).map_err(refused)?;
    outln!("VM {name} removed (its disks were kept).");
    // The unattended install's answer media holds the account's password: it goes too.
    match passage_virt::unattended::remove_own_media(&h, name, &xml) {
        Ok(Some(media)) => outln!("Its answer media {media} (with the account's password) was deleted."),
        Ok(None) => {}
        Err(e) => eprintln!(
            "passagectl: its answer media could not be deleted: {e}. It holds the account's password: delete it with virsh vol-delete."
        ),
    }

    match uuid.map(|u| passagectl::helper::revoke_vm(&u)) {
        Some(Err(code)) => Ok(code),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn suggest(
    root: &RootArg,
    gpu: &str,
    name: &str,
    vcpus: Option<u32>,
    memory: Option<u64>,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let mut sets = vec![format!("name={name}")];
    if let Some(v) = vcpus {
        sets.push(format!("vcpus={v}"));
    }
    if let Some(m) = memory {
        if m == 0 || !m.is_multiple_of(1024) {
            return Err(bad(format!(
                "--memory {m}: give whole GiB in MiB, such as 16384"
            )));
        }
        sets.push(format!("memory-gib={}", m / 1024));
    }
    new(root, gpu, &sets, (false, true, false), conn)
}

/// A domain's XML from a file or from libvirt, and the connection when it came from libvirt.
pub(crate) fn domain_xml(
    name: Option<&str>,
    file: Option<&Path>,
    conn: &ConnectArg,
) -> Result<(String, Option<passage_virt::Libvirt>), Failed> {
    match (name, file) {
        (_, Some(f)) => Ok((read_text(f).map_err(bad)?, None)),
        (Some(n), None) => {
            let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
            let xml = h.xml(n).map_err(|e| match e {
                passage_virt::VirtError::NoSuchVm(_) => bad(e),
                e => refused(e),
            })?;
            Ok((xml, Some(h)))
        }
        (None, None) => Err(bad("name a VM or give --xml FILE")),
    }
}

fn show(
    name: Option<&str>,
    file: Option<&Path>,
    json: bool,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let (xml, libvirt) = domain_xml(name, file, conn)?;
    let mut d = Domain::read(&xml).map_err(bad)?;
    let state = libvirt.as_ref().and_then(|h| h.state(&d.name).ok());
    if let Some(a) = libvirt.as_ref().and_then(|h| h.guest_agent(&d.name).ok()) {
        d.guest_agent = a;
    }
    if json {
        let mut v = serde_json::to_value(&d).map_err(bad)?;
        if let Some(s) = state {
            v["state"] = serde_json::to_value(s).map_err(bad)?;
        }
        return Ok(print_json(&v).err().unwrap_or(ExitCode::SUCCESS));
    }
    out!("{}", crate::vm_render::domain(&d));
    Ok(ExitCode::SUCCESS)
}

fn edit_choices(
    add: &[String],
    remove: &[String],
    add_usb: &[String],
    remove_usb: &[String],
) -> Result<Vec<DeviceChoice>, Failed> {
    let pci = |s: &String| s.parse::<PciAddress>().map_err(bad);
    let usb = |s: &String| {
        parse_usb(s).ok_or_else(|| {
            bad(format!(
                "{s:?} is not a USB vendor:product such as 046d:c52b"
            ))
        })
    };
    let mut out = vec![];
    for a in remove {
        out.push(DeviceChoice::RemovePci(pci(a)?));
    }
    for a in add {
        out.push(DeviceChoice::AddPci(pci(a)?));
    }
    for u in remove_usb {
        let (v, p) = usb(u)?;
        out.push(DeviceChoice::RemoveUsb(v, p));
    }
    for u in add_usb {
        let (v, p) = usb(u)?;
        out.push(DeviceChoice::AddUsb(v, p));
    }
    Ok(out)
}

fn edit(
    name: Option<&str>,
    file: Option<&Path>,
    root: &RootArg,
    choices: &[DeviceChoice],
    print: bool,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let (xml, libvirt) = domain_xml(name, file, conn)?;
    let mut e = PassthroughEdit::from_xml(&xml).map_err(bad)?;
    let host = crate::vm_remote::host_of(root, conn).map_err(bad)?;
    for c in choices {
        e.set(&host, *c).map_err(refused)?;
    }
    let changes = e.changes(&host).map_err(refused)?;
    let edited = e.edited_xml(&host).map_err(refused)?;
    if print {
        out!("{edited}");
        return Ok(ExitCode::SUCCESS);
    }
    let summary = crate::vm_render::changes(&e.name, &changes);
    match libvirt {
        Some(h) if !changes.is_empty() => {
            h.define(&edited).map_err(refused)?;
            out!("{summary}");
        }
        Some(_) => outln!("VM {}: nothing to change.", e.name),
        None => out!("{summary}(from a file: nothing written; --print shows the edited XML)\n"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What `vm set` changes (`None`: as it is).
struct SessionChoice {
    gpu_mode: Option<GpuMode>,
    hugepages: Option<bool>,
    isolate_cpus: Option<bool>,
}

fn set_session(
    name: Option<&str>,
    file: Option<&Path>,
    want: SessionChoice,
    print: bool,
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    let (xml, libvirt) = domain_xml(name, file, conn)?;
    let d = passage_core::vm::Domain::read(&xml).map_err(bad)?;
    let mut s = SessionSettings::of(&d);
    if let Some(m) = want.gpu_mode {
        s.gpu_mode = m;
    }
    if let Some(h) = want.hugepages {
        s.hugepages = h;
    }
    if let Some(i) = want.isolate_cpus {
        s.isolate_cpus = i;
    }
    if s.isolate_cpus && d.vcpu_pins.is_empty() {
        return Err(bad(format!("VM {}: CPU isolation keeps the host off the VM's pinned CPUs, but its vCPUs are not pinned; pin them first (virt-manager, or a new VM from Passage)", d.name)));
    }
    let edited =
        passage_core::vm::session_edit::set_session(&xml, &s, want.hugepages).map_err(bad)?;
    if print {
        out!("{edited}");
        return Ok(ExitCode::SUCCESS);
    }
    let words = format!(
        "GPU mode {}, hugepages {}, CPU isolation {}",
        match s.gpu_mode {
            GpuMode::AtBoot => "at boot",
            GpuMode::WhileRunning => "while the VM runs",
            GpuMode::OnlyGpu => "only GPU (the desktop stops while the VM runs)",
        },
        if s.hugepages {
            "reserved at start"
        } else {
            "not reserved at start"
        },
        if s.isolate_cpus { "on" } else { "off" }
    );
    match libvirt {
        Some(h) if edited != xml => {
            h.define(&edited).map_err(refused)?;
            outln!("VM {}: {words}; from its next start.", d.name);
            if s.gpu_mode == GpuMode::WhileRunning {
                outln!("The card is lent through libvirt's hook: set the host up with `passagectl apply --gpu ADDRESS --gpu-mode running` if it is not yet.");
            }
            if s.gpu_mode == GpuMode::OnlyGpu {
                outln!("When it starts, the display manager and every graphical session on this host end (save your work first); the desktop comes back when it shuts down. Give it its own keyboard and mouse (evdev or USB).");
            }
            return authorize_defined(&h, &d.name, conn);
        }
        Some(_) => outln!("VM {}: nothing to change ({words}).", d.name),
        None => outln!(
            "VM {}: {words} (from a file: nothing written; --print shows the edited XML)",
            d.name
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn qemu_cmdline(from: &Path, root: &RootArg, conn: &ConnectArg) -> ExitCode {
    let spec = match read_spec(from) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let host = match crate::vm_remote::host_of(root, conn) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let fw = host
        .ovmf()
        .and_then(|f| Some((f.executable.clone()?, f.nvram_template.clone()?)));
    match spec.qemu_args(fw.as_ref().map(|(c, v)| (c.as_str(), v.as_str()))) {
        Ok(args) => {
            out!("{}", shell_lines(&args));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
