//! Memory and CPUs.

use passage_core::i18n::{tr, tr_f, tr_n};
use relm4::adw;
use relm4::adw::prelude::*;

use super::rows::{group, spin_row};
use super::step::Cx;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    let total = host.memory.total_kib / 1024 / 1024;
    let cpus = host.cpu.logical_cpus.len();
    let g = group(
        &tr("Memory and CPUs"),
        &tr("What the VM gets while it runs. Leave the host enough to run its desktop."),
    );
    g.add(&spin_row(
        cx.sender,
        (
            &tr("Memory (GiB)"),
            &tr_f("This computer has {n} GiB.", &[("n", &total.to_string())]),
        ),
        "memory-gib",
        (d.memory_gib as f64, 1.0, total as f64),
        Choice::MemoryGib,
    ));
    g.add(&spin_row(
        cx.sender,
        (
            &tr("CPUs"),
            &tr_n(
                "This computer has {n} logical CPU ({cores}).",
                "This computer has {n} logical CPUs ({cores}).",
                cpus as u64,
                &[(
                    "cores",
                    &tr_n("{n} core", "{n} cores", host.cpu.cores as u64, &[]),
                )],
            ),
        ),
        "vcpus",
        (d.vcpus as f64, 1.0, cpus as f64),
        Choice::Vcpus,
    ));
    vec![g]
}
