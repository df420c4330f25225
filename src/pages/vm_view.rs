//! The groups a VM's page is made of: its state and actions, the last start's findings, what
//! it has, and how to manage it (a failure shows through `problem`).

use passage_core::host::Host;
use passage_core::i18n::{tr, tr_f, tr_n};
use passage_core::vm::domain::{Domain, GuestAddress, GuestAgent};
use passage_core::vm::preflight::Finding;
use passage_virt::VmState;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::row;
use super::vm_detail::{Input, Output, VmDetail};
use crate::workers::libvirt::Details;

type Sender = ComponentSender<VmDetail>;

fn button(label: &str, name: &str, sender: &Sender, msg: fn() -> Input) -> gtk::Button {
    let b = gtk::Button::with_label(label);
    b.set_widget_name(name);
    let s = sender.clone();
    b.connect_clicked(move |_| s.input(msg()));
    b
}

/// The VM's name, state and the actions its state allows (Open Display only for a VM with a
/// display a viewer can show).
pub fn state_group(
    d: &Details,
    (words, state, display): (&str, Option<VmState>, bool),
    sender: &Sender,
) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&d.name);
    g.set_description(Some(words));
    let back = gtk::Button::from_icon_name("go-previous-symbolic");
    back.add_css_class("flat");
    back.set_tooltip_text(Some(&tr("All Virtual Machines")));
    crate::a11y::name(&back, &tr("Back to all virtual machines"));
    let s = sender.clone();
    back.connect_clicked(move |_| {
        s.input(Input::Leave);
        let _ = s.output(Output::Back);
    });
    g.set_header_suffix(Some(&back));
    let bx = gtk::FlowBox::new();
    bx.set_selection_mode(gtk::SelectionMode::None);
    bx.set_column_spacing(6);
    bx.set_row_spacing(6);
    bx.set_homogeneous(true);
    bx.set_max_children_per_line(4);
    let running = matches!(
        state,
        Some(VmState::Running | VmState::ShuttingDown | VmState::Paused)
    );
    if running {
        let stop = button(&tr("Shut Down"), "shut-down", sender, || Input::ShutDown);
        stop.add_css_class("suggested-action");
        bx.insert(&stop, -1);
        let force = button(&tr("Force Off"), "force-off", sender, || Input::ForceOff);
        force.add_css_class("destructive-action");
        bx.insert(&force, -1);
        if display {
            bx.insert(
                &button(&tr("Open Display"), "open-display", sender, || {
                    Input::OpenDisplay
                }),
                -1,
            );
        }
    } else if state != Some(VmState::Other) {
        let start = button(&tr("Start"), "start", sender, || Input::Start);
        start.add_css_class("suggested-action");
        bx.insert(&start, -1);
    }
    g.add(&bx);
    g
}

/// Why the pre-flight did not start the VM.
pub fn refused(found: &[Finding], sender: &Sender) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Not Started"));
    g.set_description(Some(&tr(
        "Passage checked the VM before starting it and found what would stop it:",
    )));
    for f in found {
        let fix = match &f.remedy {
            Some(passage_core::vm::preflight::Remedy::ReserveHugepages { size_kib, count }) => {
                format!(
                    "{}\n{}",
                    f.fix,
                    crate::logic::reserve_pages(*size_kib, *count)
                )
            }
            _ => f.fix.clone(),
        };
        let r = row(&f.title, &fix);
        r.add_prefix(&crate::a11y::status_icon(
            "dialog-warning-symbolic",
            &tr("Stops the start"),
        ));
        r.set_widget_name(&format!("finding-{}", f.cause.id()));
        if let Some(remedy) = &f.remedy {
            r.add_suffix(&super::vm_remedy::button(remedy, sender));
        }
        g.add(&r);
    }
    g
}

/// After a remedy, the pre-flight again: nothing stops the VM now.
pub fn passes() -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    let r = row(
        &tr("The check passes"),
        &tr("Nothing Passage checks stops the VM from starting now."),
    );
    r.set_widget_name("preflight-passes");
    r.add_prefix(&crate::a11y::status_icon(
        "emblem-ok-symbolic",
        &tr("Ready"),
    ));
    g.add(&r);
    g
}

/// What the VM has: its passed-through devices by name, memory, CPUs, USB devices, disks.
pub fn contents(d: &Domain, host: &Host, agent: GuestAgent) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("What It Has"));
    let mut has_display = d.has_viewer_display();
    let mut has_card = false;
    for h in &d.hostdevs {
        let Some(a) = h.host else { continue };
        let dev = host.device(a);
        let name = dev
            .map(|x| x.display_name())
            .unwrap_or_else(|| tr("not on this computer"));
        let group = host
            .group_of(a)
            .map(|x| x.id.to_string())
            .unwrap_or_default();
        let mut sub = if group.is_empty() {
            a.to_string()
        } else {
            tr_f(
                "{addr} · group {g}",
                &[("addr", &a.to_string()), ("g", &group)],
            )
        };
        if h.guest == GuestAddress::Unassigned {
            sub.push_str(&tr(" · not plugged in"));
        }
        g.add(&row(&name, &sub));
        has_card |= dev.is_some_and(|x| x.is_gpu());
        if dev.is_some_and(|x| x.is_gpu()) && d.graphics.is_empty() {
            g.add(&row(
                &tr("Its screen is the card"),
                &tr_f(
                    "Look at the monitor plugged into {card}.",
                    &[("card", &name)],
                ),
            ));
            has_display = true;
        }
    }
    if let Some(r) = session_row(d, has_card) {
        g.add(&r);
    }
    // In GiB where whole, as the wizard and Edit… say it.
    let mem = match d.memory_mib {
        Some(m) if m >= 1024 && m % 1024 == 0 => {
            tr_f("{gib} GiB of memory", &[("gib", &(m / 1024).to_string())])
        }
        Some(m) => tr_f("{mib} MiB of memory", &[("mib", &m.to_string())]),
        None => tr("Memory as libvirt's default"),
    };
    let session = passage_core::vm::session::SessionSettings::of(d);
    let mem_sub = match (d.hugepages, session.hugepages) {
        (true, true) => tr("backed by hugepages, reserved when it starts"),
        (true, false) => tr("backed by hugepages"),
        _ => String::new(),
    };
    g.add(&row(&mem, &mem_sub));
    // libvirt gives a domain without <vcpu> one.
    let cpus = d.vcpus.unwrap_or(1);
    let pins = if d.vcpu_pins.is_empty() {
        tr("not pinned")
    } else {
        tr("pinned to host CPUs")
    };
    g.add(&row(
        &tr_n("{n} virtual CPU", "{n} virtual CPUs", cpus.into(), &[]),
        &pins,
    ));
    for u in &d.usb {
        let what = u
            .id()
            .map(|(v, p)| format!("{v:04x}:{p:04x}"))
            .unwrap_or_else(|| format!("{}.{}", u.bus.unwrap_or(0), u.device.unwrap_or(0)));
        g.add(&row(&tr("USB device"), &what));
    }
    for disk in d.disks.iter().chain(&d.cdroms) {
        g.add(&row(
            &tr("Disk"),
            disk.source.as_deref().unwrap_or_default(),
        ));
    }
    g.add(&agent_row(agent));
    if !has_display {
        g.add(&row(
            &tr("No display"),
            &tr("It has no SPICE or VNC display and no graphics card."),
        ));
    }
    g
}

/// Whether the guest agent answers (libvirt's live channel state), or how to get it.
fn agent_row(agent: GuestAgent) -> adw::ActionRow {
    let r = row(&tr("Guest agent"), &agent.words(&tr("Edit…")));
    r.set_widget_name("vm-guest-agent");
    r
}

/// The launcher, device editing and deleting.
pub fn manage(d: &Details, sender: &Sender) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Manage"));
    let in_menu = crate::launcher::exists(&d.uuid);
    let r = row(
        &if in_menu {
            tr("In the App Menu")
        } else {
            tr("App Menu")
        },
        &tr("A launcher that starts this VM with one click."),
    );
    let b = button(
        &if in_menu { tr("Remove") } else { tr("Add") },
        "launcher",
        sender,
        || Input::ToggleLauncher,
    );
    b.set_valign(gtk::Align::Center);
    r.add_suffix(&b);
    g.add(&r);
    let r = row(
        &tr("Settings"),
        &tr("Memory, CPUs, hugepages, disks, install and driver ISOs, firmware, boot order, display."),
    );
    let b = button(&tr("Edit…"), "edit-settings", sender, || {
        Input::EditSettings
    });
    b.set_valign(gtk::Align::Center);
    crate::a11y::name(&b, &tr("Edit the VM's settings…"));
    r.add_suffix(&b);
    g.add(&r);
    let r = row(
        &tr("Passed-Through Devices"),
        &tr("Cards by whole IOMMU group, drives, USB."),
    );
    let edit = gtk::Button::with_label(&tr("Edit…"));
    edit.set_valign(gtk::Align::Center);
    let (s, name) = (sender.clone(), d.name.clone());
    edit.connect_clicked(move |_| {
        let _ = s.output(Output::EditDevices(name.clone()));
    });
    r.add_suffix(&edit);
    g.add(&r);
    let session = passage_core::vm::Domain::read(&d.xml)
        .map(|dom| passage_core::vm::session::SessionSettings::of(&dom).active())
        .unwrap_or(false);
    if session {
        let r = row(
            &tr("Session on This Computer"),
            &tr("What it takes while it runs (its card's group, hugepages, CPUs) needs an administrator's authorization; after a change to them, authorize again."),
        );
        let b = button(&tr("Authorize…"), "authorize", sender, || {
            Input::Authorize
        });
        b.set_valign(gtk::Align::Center);
        r.add_suffix(&b);
        g.add(&r);
    }
    let r = row(&tr("Delete"), &tr("Its disk images are kept."));
    let del = button(&tr("Delete…"), "delete", sender, || Input::Delete);
    del.add_css_class("destructive-action");
    del.set_valign(gtk::Align::Center);
    r.add_suffix(&del);
    g.add(&r);
    g
}

/// When the card goes to the VM, as its metadata says (the hook reads the same); for a VM
/// without a card, only whether its CPUs are kept free.
fn session_row(d: &passage_core::vm::Domain, has_card: bool) -> Option<adw::ActionRow> {
    use passage_core::vm::session::{GpuMode, SessionSettings};
    let s = SessionSettings::of(d);
    let cpus = tr("This computer keeps off the VM's CPUs while it runs.");
    if !has_card {
        return s
            .isolate_cpus
            .then(|| row(&tr("Its CPUs are kept free"), &cpus));
    }
    let (title, sub) = match s.gpu_mode {
        GpuMode::WhileRunning => (
            tr("The card is lent while the VM runs"),
            tr("This computer has it the rest of the time; close programs that use it before starting the VM."),
        ),
        GpuMode::AtBoot => (
            tr("The card is kept for VMs from boot on"),
            tr("Host setup binds it to vfio-pci at every start of this computer."),
        ),
        GpuMode::OnlyGpu => (
            tr("The desktop stops while the VM runs"),
            tr("This computer's only graphics card goes to the VM; the display manager starts again when the VM shuts down."),
        ),
    };
    let sub = if s.isolate_cpus {
        format!("{sub} {cpus}")
    } else {
        sub
    };
    Some(row(&title, &sub))
}
