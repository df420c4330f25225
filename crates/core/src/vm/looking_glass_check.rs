//! The pre-flight's look at a VM with Looking Glass, at what users get wrong (Looking Glass's
//! documentation, looking-glass.io/docs/B7 install.rst): the shared-memory file not the user's,
//! AppArmor without the override where it confines libvirt's QEMU, the memory too small for the
//! monitor it was sized for, the kvmfr device gone, a tablet input or a memory balloon left in,
//! and a passed-through card with outputs none of which has a monitor or dummy plug.

use std::os::unix::fs::MetadataExt;

use super::diagnose::Cause;
use super::domain::Domain;
use super::looking_glass::{Backing, LookingGlass, KVMFR_DEV, SHM_PATH};
use super::preflight::{finding, Finding};
use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::plan::looking_glass::{apparmor_rule, APPARMOR_ABSTRACTION, APPARMOR_LOCAL};
use crate::root::Root;

/// What to run to set the host side up.
const SETUP: &str = "passagectl apply --looking-glass";

pub(super) fn check(
    d: &Domain,
    host: &Host,
    root: &Root,
    user: Option<u32>,
    out: &mut Vec<Finding>,
) {
    let Some(lg) = d.looking_glass else { return };
    let f = |title: String, fix: String| finding(Cause::LookingGlass, title, fix);
    if let (Some(m), Some(mib)) = (lg.monitor, lg.mib) {
        if mib < m.shm_mib() {
            out.push(f(
                tr_f(
                    "Looking Glass's {have} MiB are too small for {monitor}",
                    &[("have", &mib.to_string()), ("monitor", &m.to_string())],
                ),
                tr_f(
                    "A {monitor} monitor needs {need} MiB (two frames and Looking Glass's own 10 MiB, to a power of two); with less the bottom of the picture is cut off. Run passagectl vm edit {vm} --looking-glass {monitor}.",
                    &[("monitor", &m.to_string()), ("need", &m.shm_mib().to_string()), ("vm", &d.name)],
                ),
            ));
        }
    }
    memory_file(&lg, root, user, out);
    if apparmor_confines(root) && !has_rule(root, &apparmor_rule(lg.backing)) {
        out.push(f(
            tr("AppArmor does not let QEMU map Looking Glass's memory"),
            tr_f(
                "AppArmor confines libvirt's QEMU here and its local override has no “{rule}”: the VM does not start. Run {setup}.",
                &[("rule", &apparmor_rule(lg.backing)), ("setup", SETUP)],
            ),
        ));
    }
    if d.tablet {
        out.push(f(
            tr("The VM still has a USB tablet"),
            tr("Looking Glass sends the mouse through SPICE: the tablet input makes the pointer jump in the guest. Remove <input type='tablet' bus='usb'/> (virsh edit)."),
        ));
    }
    if let Some(model) = &d.memballoon {
        out.push(f(
            tr_f("The VM still has a memory balloon ({model})", &[("model", model)]),
            tr("A memory balloon slows a VM with a passed-through card and Looking Glass down: set <memballoon model='none'/> (virsh edit)."),
        ));
    }
    for a in dark_cards(d, host) {
        out.push(f(
            tr_f("No monitor or dummy plug on {card}", &[("card", &host.card_label(a))]),
            tr("The card's outputs are all disconnected: without a monitor or a dummy plug the guest draws no screen for Looking Glass to copy. Plug one in."),
        ));
    }
}

/// The shared-memory file is the user's (or the tmpfiles.d rule will make it so); the kvmfr
/// device is there.
fn memory_file(lg: &LookingGlass, root: &Root, user: Option<u32>, out: &mut Vec<Finding>) {
    let f = |title: String, fix: String| finding(Cause::LookingGlass, title, fix);
    if lg.backing == Backing::Kvmfr {
        kvmfr(lg, root, out);
        return;
    }
    match std::fs::metadata(root.path(SHM_PATH)) {
        Ok(m) if user.is_some_and(|u| m.uid() != u) => out.push(f(
            tr_f("{path} is not yours", &[("path", SHM_PATH)]),
            tr_f(
                "It belongs to user id {owner}, so the Looking Glass client cannot open it. Run {setup}, which makes it yours from now on.",
                &[("owner", &m.uid().to_string()), ("setup", SETUP)],
            ),
        )),
        Ok(_) => {}
        Err(_) if !has_tmpfiles_rule(root) => out.push(f(
            tr("Nothing makes Looking Glass's memory yours"),
            tr_f(
                "Without a tmpfiles.d rule QEMU creates {path} as its own user and the client cannot open it. Run {setup}.",
                &[("path", SHM_PATH), ("setup", SETUP)],
            ),
        )),
        Err(_) => {}
    }
}

/// The kvmfr device is there, and as large as the VM maps: QEMU cannot map more than the
/// module made (`static_size_mb`, its first value for kvmfr0, as modprobe.d or the kernel
/// command line give it). A module loaded by hand with no option there: Passage cannot tell.
fn kvmfr(lg: &LookingGlass, root: &Root, out: &mut Vec<Finding>) {
    let f = |title: String, fix: String| finding(Cause::LookingGlass, title, fix);
    let need = lg.mib.map_or_else(|| "…".to_string(), |m| m.to_string());
    if !root.exists(KVMFR_DEV) {
        out.push(f(
            tr_f("{dev} is not there", &[("dev", KVMFR_DEV)]),
            tr_f(
                "The VM maps the kvmfr module's device, and the module is not loaded: load it with the size the VM gives (modprobe kvmfr static_size_mb={need}), or switch the VM to /dev/shm (passagectl vm edit NAME --looking-glass off, then on again).",
                &[("need", &need)],
            ),
        ));
        return;
    }
    let have = crate::host::module_options::value(root, "kvmfr", "static_size_mb").and_then(|v| {
        v.split(',')
            .next()
            .and_then(|n| n.trim().parse::<u64>().ok())
    });
    if let (Some(have), Some(mib)) = (have, lg.mib) {
        if have < mib {
            out.push(f(
                tr_f(
                    "{dev} holds {have} MiB and the VM maps {need} MiB",
                    &[("dev", KVMFR_DEV), ("have", &have.to_string()), ("need", &need)],
                ),
                tr_f(
                    "The kvmfr module is set to make {dev} with static_size_mb={have}, and QEMU cannot map more than that: the VM does not start. Set options kvmfr static_size_mb={need} in /etc/modprobe.d, then, with no VM running, unload and load kvmfr (modprobe -r kvmfr; modprobe kvmfr).",
                    &[("dev", KVMFR_DEV), ("have", &have.to_string()), ("need", &need)],
                ),
            ));
        }
    }
}

fn has_tmpfiles_rule(root: &Root) -> bool {
    ["/etc/tmpfiles.d", "/usr/lib/tmpfiles.d", "/run/tmpfiles.d"]
        .iter()
        .flat_map(|dir| {
            root.list(dir)
                .into_iter()
                .map(move |n| format!("{dir}/{n}"))
        })
        .filter(|p| p.ends_with(".conf"))
        .filter_map(|p| root.read_string(&p))
        .any(|t| {
            t.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(SHM_PATH) && !l.starts_with('#'))
        })
}

/// Whether AppArmor is on and confines libvirt's QEMU through the abstraction.
fn apparmor_confines(root: &Root) -> bool {
    root.read_attr("/sys/module/apparmor/parameters/enabled")
        .is_some_and(|v| v.starts_with('Y'))
        && root.exists(APPARMOR_ABSTRACTION)
}

fn has_rule(root: &Root, rule: &str) -> bool {
    root.read_string(APPARMOR_LOCAL)
        .is_some_and(|t| t.lines().any(|l| l.trim() == rule))
}

/// The VM's cards whose outputs the host sees, all disconnected. A card on vfio-pci shows the
/// host no outputs: Passage cannot tell, and says nothing ([`cannot_tell`] names them).
fn dark_cards(d: &Domain, host: &Host) -> Vec<PciAddress> {
    d.host_pci()
        .into_iter()
        .filter(|a| {
            let outs: Vec<_> = host
                .display
                .connectors
                .iter()
                .filter(|c| c.gpu == Some(*a))
                .collect();
            !outs.is_empty() && outs.iter().all(|c| !c.connected)
        })
        .collect()
}

/// The VM's graphics cards whose outputs the host cannot see (on vfio-pci, no DRM): whether a
/// monitor or dummy plug is on them Passage cannot tell.
pub fn cannot_tell(d: &Domain, host: &Host) -> Vec<PciAddress> {
    d.host_pci()
        .into_iter()
        .filter(|a| host.device(*a).is_some_and(|dev| dev.is_gpu()))
        .filter(|a| !host.display.connectors.iter().any(|c| c.gpu == Some(*a)))
        .collect()
}
