//! System check: core's findings, most urgent first, with a Fix button where Passage can act.

use std::sync::Arc;

use passage_core::check::{Finding, FixAction, Report, Severity};
use passage_core::i18n::tr;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::logic;

#[derive(Debug)]
pub enum Input {
    /// A new report (after a scan); `changed` says what changed across a restart.
    Show(Arc<Report>, Vec<String>),
    /// The cards a VM can have (shown with the express rows once the host is ready).
    Cards(Vec<(passage_core::host::PciAddress, String)>),
}

#[derive(Debug)]
pub enum Output {
    Fix(Finding),
    /// “Create a Gaming VM…” or “Create an ML VM…” for this card.
    Express(passage_core::vm::Purpose, passage_core::host::PciAddress),
    /// Next: Devices.
    Next,
}

pub struct CheckPage {
    groups: Vec<adw::PreferencesGroup>,
    cards: Vec<(passage_core::host::PciAddress, String)>,
    next: adw::PreferencesGroup,
}

impl Component for CheckPage {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = ();
    type Root = adw::PreferencesPage;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let p = adw::PreferencesPage::new();
        p.set_widget_name("page-check");
        p
    }

    fn init(_: (), _root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let next = super::next_group(&tr("Devices"), move || {
            let _ = sender.output(Output::Next);
        });
        ComponentParts {
            model: CheckPage {
                groups: vec![],
                cards: vec![],
                next,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        let (report, changed) = match msg {
            Input::Show(r, c) => (r, c),
            Input::Cards(c) => {
                self.cards = c;
                return;
            }
        };
        super::clear(root, &mut self.groups);

        let (line, sev) = logic::headline(&report);
        let head = adw::PreferencesGroup::new();
        let status = super::row(&line, "");
        status.add_css_class("headline");
        let i = icon(sev);
        i.set_valign(gtk::Align::Center);
        i.set_margin_top(0);
        status.add_prefix(&i);
        head.add(&status);
        root.add(&head);
        self.groups.push(head);
        // Ready: a VM in one step, right under the headline.
        let s = sender.clone();
        let express = (sev != Severity::Blocker)
            .then(|| {
                super::express_rows::group(&self.cards, move |p, gpu| {
                    let _ = s.output(Output::Express(p, gpu));
                })
            })
            .flatten();
        if let Some(g) = express {
            root.add(&g);
            self.groups.push(g);
        }

        if !changed.is_empty() {
            let g = adw::PreferencesGroup::new();
            g.set_title(&tr("Since the restart"));
            for c in &changed {
                g.add(&super::row(c, ""));
            }
            root.add(&g);
            self.groups.push(g);
        }

        let sections = [
            (
                tr("Needs attention"),
                &[Severity::Blocker, Severity::Warning][..],
            ),
            (tr("Good to know"), &[Severity::Info][..]),
            (tr("Ready"), &[Severity::Ok][..]),
        ];
        let ordered = logic::ordered(&report);
        for (title, sevs) in sections {
            let items: Vec<&Finding> = ordered
                .iter()
                .filter(|f| sevs.contains(&f.severity))
                .collect();
            if items.is_empty() {
                continue;
            }
            let g = adw::PreferencesGroup::new();
            g.set_title(&title);
            for f in items {
                g.add(&finding_row(f, &sender));
            }
            root.add(&g);
            self.groups.push(g);
        }
        super::keep_last(root, &self.next);
    }
}

fn icon(sev: Severity) -> gtk::Image {
    let (name, class) = logic::severity_icon(sev);
    let i = crate::a11y::status_icon(name, &logic::severity_name(sev));
    i.add_css_class(class);
    i.set_valign(gtk::Align::Center);
    i
}

fn finding_row(f: &Finding, sender: &ComponentSender<CheckPage>) -> gtk::Widget {
    let mut detail = f.detail.clone();
    if let Some(fix) = &f.fix {
        if !detail.is_empty() {
            detail.push_str("\n\n");
        }
        detail.push_str(fix);
    }
    let sub = match f.action {
        Some(FixAction::ReserveHugepages { size_kib, count }) => {
            logic::reserve_pages(size_kib, count)
        }
        _ => String::new(),
    };
    let row = super::expander(&f.title, &sub);
    row.set_widget_name(&format!("finding-{}", f.id));
    row.add_prefix(&icon(f.severity));
    if let Some(action) = &f.action {
        let b = gtk::Button::with_label(&logic::fix_label(action));
        b.set_valign(gtk::Align::Center);
        if f.severity == Severity::Blocker {
            b.add_css_class("suggested-action");
        }
        let s = sender.clone();
        let finding = f.clone();
        b.connect_clicked(move |_| {
            let _ = s.output(Output::Fix(finding.clone()));
        });
        row.add_action(&b);
    }
    if detail.is_empty() {
        row.set_enable_expansion(false);
    } else {
        let l = super::wrapping(&detail);
        l.set_margin_top(12);
        l.set_margin_bottom(12);
        l.set_margin_start(12);
        l.set_margin_end(12);
        l.set_selectable(true);
        row.add_row(&l);
    }
    row.upcast()
}
