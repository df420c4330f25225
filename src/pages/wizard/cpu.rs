//! CPU: pinning from the L3 layout, hugepages, the hidden hypervisor, Hyper-V.

use passage_core::i18n::{tr, tr_f};
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk;

use super::rows::{group, radio_row, switch_row};
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
    vec![g, hugepages(cx), win]
}

/// Who reserves the VM's hugepages: at its start (the default where there is room), at boot
/// (Host setup), or none; the group says which and why.
fn hugepages(cx: &Cx) -> adw::PreferencesGroup {
    use passage_core::vm::draft::HugepageMode;
    let g = group(
        &tr("Hugepages for the VM's memory"),
        &cx.d.hugepages_why(cx.host),
    );
    g.set_widget_name("hugepages-why");
    let mut first: Option<gtk::CheckButton> = None;
    let modes = [
        (
            HugepageMode::AtStart,
            tr("When the VM starts"),
            tr("Reserved as it starts and given back when it stops (faster memory access)."),
        ),
        (
            HugepageMode::AtBoot,
            tr("At boot"),
            tr("Host setup reserves them at every start of this computer: surest on hosts whose memory fills up, but the memory stays the VM's."),
        ),
        (HugepageMode::Off, tr("Off"), tr("Ordinary memory.")),
    ];
    for (mode, title, sub) in modes {
        let (row, radio) = radio_row(
            cx.sender,
            first.as_ref(),
            (&title, &sub),
            cx.d.hugepages == mode,
            move || Choice::Hugepages(mode),
        );
        radio.set_widget_name(&format!("hugepages-{}", mode.word()));
        first.get_or_insert(radio);
        g.add(&row);
    }
    g
}
