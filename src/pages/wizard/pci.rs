//! PCI devices: the Devices page's card with its whole group, plus NVMe drives and USB
//! controllers whose group can go.

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::devices::extra_candidates;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::rows::{check_row, group};
use super::step::{Cx, Output};
use crate::pages::row;
use crate::wizard::Choice;

pub fn build(cx: &Cx) -> Vec<adw::PreferencesGroup> {
    let (host, d) = (cx.host, cx.d);
    let g = group(
        &tr("The graphics card"),
        &tr("A VM gets a whole IOMMU group: the card and the devices that share its group."),
    );
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
                r.add_prefix(&gtk::Image::from_icon_name("emblem-ok-symbolic"));
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
    let more = group(&tr("More devices"), &tr("NVMe drives and USB controllers whose group can go to the VM too. A passed-through NVMe drive runs at full speed."));
    if extra.is_empty() {
        more.add(&row(&tr("None on this computer"), ""));
    }
    for (a, name) in extra {
        more.add(&check_row(
            cx.sender,
            (&name, &a.to_string()),
            d.extra_pci.contains(&a),
            Choice::AddPci(a),
            Choice::RemovePci(a),
        ));
    }
    vec![g, more]
}
