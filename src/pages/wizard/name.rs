//! Name and Network: the VM's name, NAT / a host bridge / no network, the SPICE display.

use passage_core::i18n::tr;
use passage_core::vm::Network;
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk;

use super::rows::{entry_row, group, radio_row, set, switch_row};
use super::step::Cx;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    let name = group(&tr("Name"), &tr("The name libvirt and the app menu know the VM by: letters, digits, dots, dashes and underscores."));
    name.add(&entry_row(
        cx.sender,
        &tr("Name"),
        "name",
        &d.name,
        Choice::Name,
    ));

    let display = group(&tr("Display"), "");
    let spice = switch_row(
        cx.sender,
        (
            &tr("SPICE display"),
            &if host.spice_module_missing {
                tr("QEMU's SPICE module is missing on this host; System check says how to install it.")
            } else {
                tr("A window on this computer, for installing the system and for when the card's monitor is off. The card's own outputs work either way.")
            },
        ),
        "spice",
        d.spice,
        Choice::Spice,
    );
    spice.set_sensitive(!host.spice_module_missing);
    display.add(&spice);
    let s = cx.sender.clone();
    for r in crate::pages::lg_rows::rows("wizard", d.looking_glass, d.lg_backing, move |m| {
        super::rows::set(&s, Choice::LookingGlass(m))
    }) {
        display.add(&r);
    }
    vec![name, network(cx), display]
}

fn bridge_choice(entry: &adw::EntryRow) -> Choice {
    Choice::Network(Some(Network::Bridge {
        bridge: entry.text().trim().to_string(),
    }))
}

fn network(cx: &Cx) -> adw::PreferencesGroup {
    let d = cx.d;
    let g = group(&tr("Network"), "");
    let bridge_name = match &d.network {
        Some(Network::Bridge { bridge }) => bridge.clone(),
        _ => String::new(),
    };
    let bridge = adw::EntryRow::new();
    bridge.set_title(&tr("Bridge name, for example br0"));
    bridge.set_text(&bridge_name);
    bridge.set_widget_name("bridge");
    crate::a11y::hide_decorations(bridge.upcast_ref());
    let choices = [
        ("nat", tr("NAT"), tr("Through libvirt's “default” network: the VM reaches the internet through this computer, and other computers cannot reach the VM."), matches!(d.network, Some(Network::Nat { .. }))),
        ("bridge", tr("A bridge on this computer"), tr("The VM is on your network like another computer. The bridge must exist already (NetworkManager or systemd-networkd make one)."), matches!(d.network, Some(Network::Bridge { .. }))),
        ("none", tr("No network"), tr("No network card in the VM."), d.network.is_none()),
    ];
    let mut first: Option<gtk::CheckButton> = None;
    for (id, title, subtitle, on) in choices {
        let entry = bridge.clone();
        let (r, c) = radio_row(
            cx.sender,
            first.as_ref(),
            (&title, &subtitle),
            on,
            move || match id {
                "bridge" => bridge_choice(&entry),
                "nat" => Choice::Network(Some(Network::default_nat())),
                _ => Choice::Network(None),
            },
        );
        c.set_widget_name(&format!("network-{id}"));
        g.add(&r);
        if id == "bridge" {
            g.add(&bridge);
            let (s, c) = (cx.sender.clone(), c.clone());
            bridge.connect_changed(move |e| {
                if c.is_active() {
                    set(&s, bridge_choice(e));
                } else {
                    // Typing a bridge's name chooses the bridge.
                    c.set_active(true);
                }
            });
        }
        first.get_or_insert(c);
    }
    g
}
