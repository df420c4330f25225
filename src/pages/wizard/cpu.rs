//! CPU: pinning from the L3 layout, hugepages, the hidden hypervisor, Hyper-V.

use passage_core::i18n::{tr, tr_f};
use relm4::adw;
use relm4::adw::prelude::*;

use super::rows::{group, switch_row};
use super::step::Cx;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d, s) = (cx.host, cx.d, cx.sender);
    let pins = match passage_core::vm::suggest_cpus(host, d.vcpus) {
        Some(p) => tr_f(
            "{s} socket × {c} cores × {t} threads, pinned to host CPUs that share an L3 cache; QEMU's own threads on {emu}.",
            &[("s", &p.topology.sockets.to_string()), ("c", &p.topology.cores.to_string()), ("t", &p.topology.threads.to_string()), ("emu", &p.emulator_cpuset)],
        ),
        None => tr("No pinning fits this many CPUs on this host; the VM's CPUs float."),
    };
    let g = group(&tr("CPU"), &tr("The VM sees this computer's CPU model (host-passthrough), with a topology that matches its cores and threads."));
    g.add(&switch_row(
        s,
        (&tr("Pin the VM's CPUs"), &pins),
        "pin-cpus",
        d.pin_cpus,
        Choice::PinCpus,
    ));
    g.add(&switch_row(
        s,
        (
            &tr("Hugepages for the VM's memory"),
            &tr("Faster memory access. With the card lent while the VM runs, the pages are reserved when it starts and freed when it stops; with the card kept from boot on, Host setup reserves them at boot."),
        ),
        "hugepages",
        d.hugepages,
        Choice::Hugepages,
    ));
    let iso = switch_row(
        s,
        (
            &tr("Keep this computer off the VM's CPUs"),
            &tr("While the VM runs, this computer's own programs use only the CPUs the VM is not pinned to (on systemd hosts)."),
        ),
        "isolate-cpus",
        d.isolate_cpus && d.pin_cpus,
        Choice::IsolateCpus,
    );
    iso.set_sensitive(d.pin_cpus);
    g.add(&iso);
    let win = group(&tr("For Windows and GPU drivers"), "");
    win.add(&switch_row(
        s,
        (
            &tr("Hide the hypervisor"),
            &tr("Older NVIDIA drivers refuse to run in a VM that says it is one."),
        ),
        "kvm-hidden",
        d.kvm_hidden,
        Choice::KvmHidden,
    ));
    win.add(&switch_row(
        s,
        (&tr("Hyper-V enlightenments"), &tr("Windows runs faster when it knows it is a guest: every enlightenment this computer's QEMU supports.")),
        "hyperv",
        d.hyperv,
        Choice::Hyperv,
    ));
    vec![g, win]
}
