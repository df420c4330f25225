//! One wizard step as a page: it shows the wizard's draft and sends typed choices up.

use std::sync::Arc;

use passage_core::i18n::tr;
use passage_core::Host;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use super::rows::group;
use super::{boot, cpu, firmware, media, name, pci, resources, review, storage, usb};
use crate::host_source::Loaded;
use crate::pages::problem::{Problem, Slot};
use crate::wizard::{Choice, Draft, Step};
use crate::workers::libvirt::Taken;

#[derive(Debug)]
pub enum Input {
    Show(Arc<Loaded>, Box<Draft>, Taken),
    /// Review: creating the disk image, 0.0–1.0.
    Progress(f64),
    /// A failed Create, shown at the top of the page until dismissed or the next Create.
    Problem(Option<Problem>),
    /// Name: what clashes with libvirt's names (updated while the user types).
    Clashes(Vec<String>),
}

#[derive(Debug)]
pub enum Output {
    Set(Choice),
    Go(Step),
    Devices,
    Create,
    Dismiss,
}

#[derive(Debug)]
pub enum Cmd {
    Validated(Result<String, String>),
}

/// What a step's builder reads.
pub struct Cx<'a> {
    pub sender: &'a ComponentSender<StepPage>,
    pub loaded: &'a Loaded,
    pub host: &'a Host,
    pub d: &'a Draft,
    /// The names libvirt holds already.
    pub taken: &'a Taken,
}

pub struct StepPage {
    step: Step,
    groups: Vec<adw::PreferencesGroup>,
    progress: Option<gtk::ProgressBar>,
    validation: Option<adw::ActionRow>,
    problem: Slot,
    /// Name: the rows saying what clashes with libvirt's names.
    clashes: adw::PreferencesGroup,
    clash_rows: Vec<adw::ActionRow>,
}

impl Component for StepPage {
    type Init = Step;
    type Input = Input;
    type Output = Output;
    type CommandOutput = Cmd;
    type Root = adw::PreferencesPage;
    type Widgets = ();

    fn init_root() -> Self::Root {
        adw::PreferencesPage::new()
    }

    fn init(step: Step, root: Self::Root, _sender: ComponentSender<Self>) -> ComponentParts<Self> {
        root.set_widget_name(&format!("page-{}", step.id()));
        // First on the page, above the groups each Show rebuilds.
        let problem = Slot::new();
        root.add(problem.widget());
        let clashes = adw::PreferencesGroup::new();
        clashes.set_visible(false);
        root.add(&clashes);
        ComponentParts {
            model: StepPage {
                step,
                groups: vec![],
                progress: None,
                validation: None,
                problem,
                clashes,
                clash_rows: vec![],
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Show(loaded, draft, taken) => {
                self.build(root, &loaded, &draft, &taken, &sender);
                self.show_clashes(crate::wizard::clashes(&draft, &taken));
            }
            Input::Problem(p) => {
                if let (Some(bar), true) = (&self.progress, p.is_some()) {
                    bar.set_visible(false);
                }
                let s = sender.clone();
                self.problem.set(p, move || {
                    let _ = s.output(Output::Dismiss);
                });
            }
            Input::Clashes(c) => self.show_clashes(c),
            Input::Progress(f) => {
                if let Some(p) = &self.progress {
                    p.set_visible(true);
                    p.set_fraction(f);
                }
            }
        }
    }

    fn update_cmd(&mut self, msg: Cmd, _sender: ComponentSender<Self>, _root: &Self::Root) {
        let Cmd::Validated(r) = msg;
        self.validated(r);
    }
}

impl StepPage {
    /// On the Name step: each clash with libvirt's names, with a warning icon.
    fn show_clashes(&mut self, found: Vec<String>) {
        if self.step != Step::Name {
            return;
        }
        for r in self.clash_rows.drain(..) {
            self.clashes.remove(&r);
        }
        for (i, why) in found.iter().enumerate() {
            let r = crate::pages::row(why, "");
            r.set_widget_name(&format!("clash-{i}"));
            r.add_prefix(&crate::a11y::status_icon(
                "dialog-warning-symbolic",
                &tr("Stops Create"),
            ));
            self.clashes.add(&r);
            self.clash_rows.push(r);
        }
        self.clashes.set_visible(!found.is_empty());
    }

    fn validated(&self, r: Result<String, String>) {
        let Some(row) = &self.validation else { return };
        let esc = crate::pages::glib_escape;
        match r {
            Ok(msg) => {
                row.set_title(&esc(&tr("The XML is valid")));
                row.set_subtitle(&esc(&msg));
            }
            Err(e) => {
                row.set_title(&esc(&tr("libvirt's schema does not accept this XML")));
                row.set_subtitle(&esc(&e));
            }
        }
    }

    fn build(
        &mut self,
        root: &adw::PreferencesPage,
        loaded: &Loaded,
        d: &Draft,
        taken: &Taken,
        sender: &ComponentSender<Self>,
    ) {
        crate::pages::clear(root, &mut self.groups);
        self.progress = None;
        self.validation = None;
        let cx = Cx {
            sender,
            loaded,
            host: &loaded.host,
            d,
            taken,
        };
        let groups = match self.step {
            Step::Media => media::build(&cx),
            Step::Resources => resources::build(&cx),
            Step::Storage => storage::build(&cx),
            Step::Name => name::build(&cx),
            Step::Firmware => firmware::build(&cx),
            Step::Cpu => cpu::build(&cx),
            Step::Pci => pci::build(&cx),
            Step::Usb => usb::build(&cx),
            Step::Boot => boot::build(&cx),
            Step::Review => {
                let r = review::build(&cx);
                self.progress = r.progress;
                self.validation = r.validation;
                if let Some(xml) = r.xml {
                    sender.spawn_oneshot_command(move || Cmd::Validated(review::validate(&xml)));
                }
                r.groups
            }
        };
        for g in groups.into_iter().chain([self.nav(sender)]) {
            root.add(&g);
            self.groups.push(g);
        }
    }

    /// Back and Next.
    fn nav(&self, sender: &ComponentSender<Self>) -> adw::PreferencesGroup {
        let g = group("", "");
        let bx = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        bx.set_homogeneous(true);
        for (label, to) in [
            (tr("Back"), self.step.prev()),
            (tr("Next"), self.step.next()),
        ] {
            let b = gtk::Button::with_label(&label);
            b.set_sensitive(to.is_some());
            b.add_css_class("pill");
            if let Some(to) = to {
                let s = sender.clone();
                b.connect_clicked(move |_| {
                    let _ = s.output(Output::Go(to));
                });
            }
            bx.append(&b);
        }
        g.add(&bx);
        g
    }
}
