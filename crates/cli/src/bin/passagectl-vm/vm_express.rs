//! `passagectl vm new --express --iso FILE`: the whole VM recommended from this host and the
//! card (core's `vm::express`, as the app's “Create a Gaming VM…”), printed, defined with its
//! disk image, then started through the pre-flight, booting the ISO.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::devices::{choose_card, initial_selection};
use passage_core::vm::draft::POOL;
use passage_core::vm::express::{recommend, Context, Express, Request};
use passage_core::vm::installer::read_volume_label;
use passage_core::vm::session::GpuMode;
use passage_core::vm::Purpose;
use passage_core::Host;
use passage_virt::Hypervisor;

use crate::vm::{authorize_defined, bad, define_new, hyperv_of, made, refused, Failed, Made};
use crate::ConnectArg;
use passagectl::RootArg;

#[derive(clap::Args)]
pub struct ExpressArgs {
    /// The installer ISO the VM boots (with --express)
    #[arg(long, value_name = "FILE", requires = "express")]
    iso: Option<PathBuf>,
    /// The VM's name (with --express; default: one no VM in libvirt has)
    #[arg(long, requires = "express")]
    name: Option<String>,
    /// gaming (Windows) or ml (Linux)
    #[arg(long, value_parser = ["gaming", "ml"], default_value = "gaming", requires = "express")]
    kind: String,
    /// The new disk's size (with --express; default: from the free space where it goes)
    #[arg(long, value_name = "GiB", requires = "express")]
    disk_size: Option<u64>,
    /// When the card goes to vfio-pci, as chosen on Host setup (default: from boot on; the
    /// host's only card showing the screen is always only-gpu: the desktop stops while the VM
    /// runs)
    #[arg(long, value_name = "MODE", value_parser = ["boot", "running", "only-gpu"], requires = "express")]
    gpu_mode: Option<String>,
    #[command(flatten)]
    unattended: crate::vm_unattended::UnattendedArgs,
}

pub fn run(
    root: &RootArg,
    gpu: Option<&str>,
    args: &ExpressArgs,
    (print_xml, print_spec): (bool, bool),
    conn: &ConnectArg,
) -> Result<ExitCode, Failed> {
    // The ISO and the card are the VM's host's files and devices: made there.
    if let Some(r) = conn.remote() {
        return Err(refused(tr_f(
            "The express VM is made on its own host, where its ISO and card are: run there: {command}",
            &[(
                "command",
                &r.terminal_command(&["passagectl", "vm", "new", "--express", "--iso", "ISO"]),
            )],
        )));
    }
    let iso = iso_path(args.iso.as_deref())?;
    let host = crate::vm_remote::host_of(root, conn).map_err(bad)?;
    let selection = match gpu {
        Some(g) => choose_card(&host, g.parse().map_err(bad)?).map_err(refused)?,
        None => initial_selection(&host).ok_or_else(|| {
            refused(tr("No graphics card of this host can go to a VM (passagectl check says why); name one with --gpu ADDRESS."))
        })?,
    };
    let h = passage_virt::Libvirt::open(&conn.uri).map_err(refused)?;
    let ctx = context(&h, args);
    let req = Request {
        purpose: if args.kind == "ml" {
            Purpose::Ml
        } else {
            Purpose::Gaming
        },
        label: read_volume_label(&iso),
        iso: iso.display().to_string(),
        name: args.name.clone(),
        disk_gib: args.disk_size,
    };
    let e = recommend(&host, selection, &req, &ctx).map_err(bad)?;
    let mut xml = match made(&e.draft, &host, (print_xml, print_spec))? {
        Made::Printed(code) => return Ok(code),
        Made::Xml(xml) => xml,
    };
    say(&host, &e);
    let clashes = passage_core::vm::express::clashes(&e.draft, &ctx);
    if let Some(c) = clashes.first() {
        return Err(bad(c));
    }
    let media = match args.unattended.wanted() {
        true => crate::vm_unattended::media(&h, &args.unattended, &iso, &e.draft.name)?,
        false => None,
    };
    if let Some(m) = &media {
        let mut spec = e.draft.spec(&host).map_err(bad)?;
        passage_core::vm::unattended::prepare::attach(&mut spec, Path::new(m));
        xml = passage_core::vm::unattended::finish::record(&spec.to_xml().map_err(bad)?, m)
            .map_err(bad)?;
    }
    let name = define_new(&h, &e.draft, &xml).inspect_err(|_| {
        // A refused definition leaves no answer media either.
        if media.is_some() {
            let _ = h.delete_volume(POOL, &crate::vm_unattended::volume_name(&e.draft.name));
        }
    })?;
    outln!("{}", tr_f("VM {vm} defined.", &[("vm", &name)]));
    // libvirt's test driver runs no hook: nothing to authorize.
    if passage_core::vm::preflight::runs_hooks(&conn.uri) {
        authorize_defined(&h, &name, conn)?;
    }
    if let Err(code) = crate::vm_session::start_on(&h, &name, root, &conn.uri) {
        eprintln!(
            "passagectl: {}",
            tr_f(
                "VM {vm} is defined but did not start; start it with: passagectl vm start {vm}",
                &[("vm", &name)]
            )
        );
        return Ok(code);
    }
    // What libvirt says now, not what was asked.
    if h.state(&name).ok() != Some(passage_virt::VmState::Running) {
        return Err(refused(tr_f(
            "VM {vm} was started, but libvirt does not report it running; passagectl vm show {vm} says how it is.",
            &[("vm", &name)],
        )));
    }
    outln!(
        "{}",
        tr_f(
            "VM {vm} is running: it boots the installer. Its screen: passage, or virt-viewer {vm}.",
            &[("vm", &name)]
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The ISO as an absolute path to a file that is there.
fn iso_path(iso: Option<&Path>) -> Result<PathBuf, Failed> {
    let iso = iso.ok_or_else(|| bad(tr("--express needs the installer: --iso FILE")))?;
    let abs = std::fs::canonicalize(iso).map_err(|e| {
        bad(tr_f(
            "--iso {iso}: {why}; give the installer ISO's path",
            &[("iso", &iso.display().to_string()), ("why", &e.to_string())],
        ))
    })?;
    if !abs.is_file() {
        return Err(bad(tr_f(
            "--iso {iso} is not a file; give the installer ISO's path",
            &[("iso", &iso.display().to_string())],
        )));
    }
    Ok(abs)
}

/// What libvirt says: the names it holds, the free space in the pool, Hyper-V support.
fn context(h: &passage_virt::Libvirt, args: &ExpressArgs) -> Context {
    Context {
        gpu_mode: args
            .gpu_mode
            .as_deref()
            .and_then(GpuMode::from_word)
            .unwrap_or_default(),
        free_bytes: h
            .pools()
            .ok()
            .and_then(|p| p.into_iter().find(|p| p.name == POOL && p.active))
            .map(|p| p.available),
        taken_vms: h
            .list()
            .map(|v| v.into_iter().map(|x| x.name).collect())
            .unwrap_or_default(),
        taken_volumes: h.volumes(POOL).unwrap_or_default(),
        hyperv_supported: hyperv_of(h),
    }
}

fn say(host: &Host, e: &Express) {
    let card = e
        .draft
        .gpu
        .as_ref()
        .and_then(|s| host.device(s.gpu))
        .map(|d| format!("{} ({})", d.display_name(), d.address))
        .unwrap_or_default();
    outln!(
        "{}",
        tr_f(
            "Express VM {vm} for {card}:",
            &[("vm", &e.draft.name), ("card", &card)]
        )
    );
    for (label, value) in e.lines(host) {
        outln!("  {label:<20} {value}");
    }
    for n in &e.notes {
        outln!("  {} {n}", tr("Note:"));
    }
}
