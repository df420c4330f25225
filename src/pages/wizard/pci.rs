//! PCI devices: the Devices page's card with its whole group, plus NVMe drives and USB
//! controllers whose group can go.

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::devices::extra_candidates;
use passage_core::vm::labels::{extra_about, extra_sub};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::rows::{check_row, file_row, group, radio_row, switch_row};
use super::step::{Cx, Output};
use crate::pages::chooser::Kind;
use crate::pages::row;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    // The card, named under the heading (a group's title does not wrap at 360 px).
    let whole = tr("A VM gets a whole IOMMU group: the card and the devices that share its group.");
    let about = match &d.gpu {
        Some(sel) => format!(
            "{}\n{whole}",
            tr_f(
                "For {card}, chosen on Devices.",
                &[("card", &host.card_label(sel.gpu))],
            )
        ),
        None => whole,
    };
    let g = group(&tr("The graphics card"), &about);
    match &d.gpu {
        Some(sel) => {
            for a in &sel.devices {
                let name = host
                    .device(*a)
                    .map(|x| x.display_name())
                    .unwrap_or_default();
                let r = row(
                    &name,
                    &tr_f(
                        "{addr} · group {g}",
                        &[("addr", &a.to_string()), ("g", &sel.group.to_string())],
                    ),
                );
                r.add_prefix(&crate::a11y::status_icon(
                    "emblem-ok-symbolic",
                    &tr("Goes to the VM with the card"),
                ));
                g.add(&r);
            }
        }
        None => g.add(&row(
            &tr("No graphics card chosen"),
            &tr("Choose one on the Devices page."),
        )),
    }
    let change = gtk::Button::with_label(&tr("Devices…"));
    change.add_css_class("flat");
    let s = cx.sender.clone();
    change.connect_clicked(move |_| {
        let _ = s.output(Output::Devices);
    });
    g.set_header_suffix(Some(&change));
    let extra = extra_candidates(host, d.gpu.as_ref().map(|s| s.group));
    let more = group(&tr("More devices"), &extra_about());
    if extra.is_empty() {
        more.add(&row(&tr("None on this computer"), ""));
    }
    for (a, name) in extra {
        more.add(&check_row(
            cx.sender,
            (&name, &extra_sub(host, a)),
            d.extra_pci.contains(&a),
            Choice::AddPci(a),
            Choice::RemovePci(a),
        ));
    }
    let mut out = vec![g, gpu_mode(cx)];
    if d.gpu.is_some() {
        out.push(rom(cx));
    }
    out.push(more);
    out
}

/// The card's ROM: its own, a ROM file (walked as it is given; the helper places it for QEMU
/// when the VM is made), or none shown to the guest.
fn rom(cx: &Cx) -> adw::PreferencesGroup {
    let d = cx.d;
    let g = group(
        &tr("The card's ROM"),
        &tr("A UEFI VM shows the card's screen at boot only with an x64 UEFI image in its ROM. Give a ROM file when the card's own has none, or for a card that needs a clean one."),
    );
    g.set_widget_name("wizard-rom");
    g.add(&file_row(
        cx.sender,
        (&tr("ROM file (empty: the card's own)"), "rom-file"),
        Kind::Rom,
        &d.rom_file,
        Choice::RomFile,
    ));
    if let Some(note) = crate::pages::vm_rom::file_note(&d.rom_file) {
        let r = row(&note, "");
        r.set_widget_name("rom-file-note");
        g.add(&r);
    }
    g.add(&switch_row(
        cx.sender,
        (
            &tr("Show the Guest a ROM"),
            &tr("Off: the guest sees no ROM of the card's (the ROM BAR off), for cards whose ROM stops the VM."),
        ),
        "rom-bar",
        !d.rom_bar_off,
        Choice::RomBar,
    ));
    g
}

/// When the card goes to the VM: from boot on, or lent while the VM runs.
fn gpu_mode(cx: &Cx) -> adw::PreferencesGroup {
    use passage_core::vm::session::GpuMode;
    let g = group(
        &tr("When the card goes to the VM"),
        &tr("Either way, the VM gets the whole card while it runs."),
    );
    let mut first: Option<gtk::CheckButton> = None;
    // The only-GPU mode where the card is the host's one display card.
    let offered = match cx.d.gpu.as_ref() {
        Some(s) => GpuMode::usable(cx.host, s.gpu),
        None => GpuMode::CHOICES.to_vec(),
    };
    for mode in offered {
        let (sub, name) = match mode {
            GpuMode::AtBoot => (
                tr("The card is kept for VMs at every start of this computer (Host setup binds it to vfio-pci). The surest way for cards that do not reset well."),
                "gpu-mode-boot",
            ),
            GpuMode::WhileRunning => {
                let sub = tr("This computer keeps the card (a second screen, CUDA) and lends it to the VM when it starts; it comes back when the VM shuts down. Programs using the card must be closed first.");
                let caution = cx.d.gpu.as_ref().and_then(|s| {
                    passage_core::host::reset::while_running_caution(cx.host, s.gpu)
                });
                let sub = match caution {
                    Some(c) => format!("{c}\n{sub}"),
                    None => sub,
                };
                (sub, "gpu-mode-running")
            }
            GpuMode::OnlyGpu => (tr("This computer's only graphics card goes to the VM while it runs: the display manager and every graphical session end when the VM starts (save your work first) and the desktop comes back when it shuts down. The VM needs its own keyboard and mouse (evdev or USB)."), "gpu-mode-only"),
        };
        let (r, c) = radio_row(
            cx.sender,
            first.as_ref(),
            (&mode.title(), &sub),
            cx.d.gpu_mode == mode,
            move || Choice::GpuMode(mode),
        );
        c.set_widget_name(name);
        first.get_or_insert(c);
        g.add(&r);
    }
    g
}
