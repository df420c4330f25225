//! “Create a Gaming VM…” and “Create an ML VM…” for each card that can go to a VM: on the
//! Devices page and on System Check once the host is ready. Each opens the express dialog.

use std::rc::Rc;

use passage_core::host::{Host, PciAddress};
use passage_core::i18n::{tr, tr_f};
use passage_core::vm::Purpose;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

/// The cards a VM can have, each named by its model and address (not its group's title,
/// which reads "Group 28: …").
pub fn cards(host: &Host) -> Vec<(PciAddress, String)> {
    crate::logic::groups(host)
        .into_iter()
        .filter(|g| g.viable || g.only_gpu)
        .filter_map(|g| g.gpu)
        .map(|gpu| (gpu, host.card_label(gpu)))
        .collect()
}

/// The group of rows, or `None` when no card can go; `open` gets the kind and the card.
pub fn group(
    cards: &[(PciAddress, String)],
    open: impl Fn(Purpose, PciAddress) + 'static,
) -> Option<adw::PreferencesGroup> {
    if cards.is_empty() {
        return None;
    }
    let open = Rc::new(open);
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("Make a VM in One Step"));
    g.set_description(Some(&tr(
        "Choose the installer; everything else is recommended from this host.",
    )));
    for (gpu, card) in cards {
        for purpose in [Purpose::Gaming, Purpose::Ml] {
            let (title, sub, word, named) = match purpose {
                Purpose::Ml => (
                    tr("Create an ML VM…"),
                    tr("Linux, for CUDA or ROCm"),
                    "ml",
                    tr_f("Create an ML VM… with {card}", &[("card", card)]),
                ),
                _ => (
                    tr("Create a Gaming VM…"),
                    tr("Windows, for games"),
                    "gaming",
                    tr_f("Create a Gaming VM… with {card}", &[("card", card)]),
                ),
            };
            let r = crate::pages::row(
                &title,
                &tr_f("{card} · {what}", &[("card", card), ("what", &sub)]),
            );
            let b = gtk::Button::from_icon_name("go-next-symbolic");
            b.add_css_class("flat");
            b.set_valign(gtk::Align::Center);
            b.set_widget_name(&format!("express-{word}-{gpu}"));
            crate::a11y::name(&b, &named);
            let (open, gpu) = (open.clone(), *gpu);
            b.connect_clicked(move |_| open(purpose, gpu));
            r.add_suffix(&b);
            r.set_activatable_widget(Some(&b));
            g.add(&r);
        }
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> (Host, tempfile::TempDir) {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build(name, d.path()).expect("fixture");
        let root = passage_core::Root::new(d.path()).expect("root");
        (Host::scan(&root), d)
    }

    fn addr(s: &str) -> PciAddress {
        s.parse().expect("address")
    }

    #[test]
    fn the_hosts_only_card_is_offered_for_the_only_gpu_mode_and_no_other_display_card_is() {
        let (h, _d) = host("single-gpu");
        let g = crate::logic::groups(&h);
        let card = g
            .iter()
            .find(|r| r.gpu == Some(addr("0000:0c:00.0")))
            .expect("the card's group");
        assert!(
            card.host_display && !card.viable && card.only_gpu,
            "{card:?}"
        );
        assert!(g.iter().filter(|r| r.gpu.is_none()).all(|r| !r.only_gpu));
        let s = crate::logic::choose_card(&h, addr("0000:0c:00.0")).expect("only GPU");
        assert_eq!(s.group, card.id);
        assert_eq!(
            cards(&h).iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            [addr("0000:0c:00.0")],
            "the express VM is offered for it"
        );
        let (h, _d) = host("x570-tutorial");
        assert!(crate::logic::groups(&h).iter().all(|r| !r.only_gpu));
    }
}
