//! `passagectl vm show` and `vm edit` in words.

use std::fmt::Write as _;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::domain::{Domain, GuestAddress};
use passage_core::vm::edit::{Changes, UsbRef};

fn guest(g: &GuestAddress) -> String {
    match g {
        GuestAddress::Pci(p) => format!(
            "{:04x}:{:02x}:{:02x}.{:x}",
            p.domain, p.bus, p.slot, p.function
        ),
        GuestAddress::Unassigned => tr("not plugged in (unassigned)"),
        GuestAddress::Auto => tr("placed by libvirt"),
        GuestAddress::Other { r#type } => r#type.clone(),
    }
}

/// A domain as Passage reads it.
pub fn domain(d: &Domain) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", d.name);
    let line = |o: &mut String, k: String, v: String| {
        let _ = writeln!(o, "  {k:<16} {v}");
    };
    if let Some(m) = &d.machine {
        line(&mut o, tr("Machine"), m.clone());
    }
    if let Some(m) = d.memory_mib {
        let huge = if d.hugepages {
            tr(", backed by hugepages")
        } else {
            String::new()
        };
        line(&mut o, tr("Memory"), format!("{m} MiB{huge}"));
    }
    if let Some(v) = d.vcpus {
        let pins = if d.vcpu_pins.is_empty() {
            String::new()
        } else {
            tr_f(", {n} pinned", &[("n", &d.vcpu_pins.len().to_string())])
        };
        line(&mut o, tr("vCPUs"), format!("{v}{pins}"));
    }
    let sb = if d.firmware.secure_boot {
        tr(", Secure Boot")
    } else {
        String::new()
    };
    line(&mut o, tr("Firmware"), format!("{}{sb}", d.firmware.kind));
    for h in &d.hostdevs {
        let host = h
            .host
            .map(|a| a.to_string())
            .unwrap_or_else(|| tr("unreadable address"));
        let mut extra = vec![];
        if let Some(f) = h.rom.as_ref().and_then(|r| r.file.as_deref()) {
            extra.push(tr_f("ROM {file}", &[("file", f)]));
        }
        if let Some(b) = h.boot_order {
            extra.push(tr_f("boot {n}", &[("n", &b.to_string())]));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(" ({})", extra.join(", "))
        };
        line(
            &mut o,
            tr("PCI device"),
            format!("{host} → {}{extra}", guest(&h.guest)),
        );
    }
    for u in &d.usb {
        let what = match (u.id(), u.bus, u.device) {
            (Some((v, p)), _, _) => format!("{v:04x}:{p:04x}"),
            (None, Some(b), Some(n)) => tr_f(
                "bus {b} device {n}",
                &[("b", &b.to_string()), ("n", &n.to_string())],
            ),
            _ => tr("unreadable"),
        };
        line(&mut o, tr("USB device"), what);
    }
    for disk in d.disks.iter().chain(&d.cdroms) {
        let src = disk.source.clone().unwrap_or_else(|| tr("empty"));
        line(
            &mut o,
            tr("Disk"),
            format!("{src} ({})", disk.target.as_deref().unwrap_or("?")),
        );
    }
    if !d.graphics.is_empty() {
        line(&mut o, tr("Display"), d.graphics.join(", "));
    }
    let add = format!("passagectl vm edit {} --guest-agent on", d.name);
    line(&mut o, tr("Guest agent"), d.guest_agent.words(&add));
    let lg = d.looking_glass.map_or_else(
        || {
            tr_f(
                "off (passagectl vm edit {vm} --looking-glass WIDTHxHEIGHT adds it)",
                &[("vm", &d.name)],
            )
        },
        |l| l.words(),
    );
    line(&mut o, tr("Looking Glass"), lg);
    if d.looking_glass.is_some() {
        let path = std::env::var("PATH").unwrap_or_default();
        line(
            &mut o,
            tr("LG client"),
            passage_core::vm::looking_glass::client_words(&path),
        );
    }
    if let Some(p) = d.meta("purpose") {
        line(&mut o, tr("Passage"), p.to_string());
    }
    o
}

/// What an edit changes.
pub fn changes(name: &str, c: &Changes) -> String {
    let mut o = tr_f("VM {vm}:", &[("vm", name)]);
    o.push('\n');
    for a in &c.add_pci {
        let _ = writeln!(o, "  + {a}");
    }
    for a in &c.remove_pci {
        let _ = writeln!(o, "  - {a}");
    }
    for (v, p) in &c.add_usb {
        let _ = writeln!(o, "  + USB {v:04x}:{p:04x}");
    }
    for u in &c.remove_usb {
        let _ = match u {
            UsbRef::Id(v, p) => writeln!(o, "  - USB {v:04x}:{p:04x}"),
            UsbRef::Port(b, n) => writeln!(o, "  - USB {b}.{n}"),
        };
    }
    if c.is_empty() {
        o.push_str(&tr("  nothing to change"));
        o.push('\n');
    }
    o
}
