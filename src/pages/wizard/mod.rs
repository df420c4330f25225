//! The VM wizard as one component: it owns the draft (core's `vm::draft`), its ten step pages
//! (each built when first shown, one file per step), which of them show an older draft, and
//! the creation; it emits `Create` with the domain XML and the disk image to make.

mod boot;
mod cpu;
mod firmware;
mod media;
mod name;
mod pci;
mod resources;
mod review;
pub(crate) mod rows;
mod step;
mod storage;
mod usb;

use std::sync::Arc;

use passage_core::vm::devices::Selection;
use passage_core::vm::tuning::Hv;
use relm4::gtk::prelude::*;
use relm4::{gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller};

use crate::host_source::Loaded;
use crate::pages::problem::Problem;
use crate::pages::vms::{NewVolume, Taken};
use crate::wizard::{step_of, Choice, Draft, Step};

#[derive(Debug)]
pub enum Input {
    /// The host was read (again), with the card chosen for the VM.
    Host(Arc<Loaded>, Option<Selection>),
    /// Another card was chosen on Devices.
    Card(Selection),
    /// A whole draft to go on from (the express dialog's Customize…).
    Draft(Box<Draft>),
    Show(Step),
    Set(Choice),
    /// What the host's libvirt says about Hyper-V.
    Hyperv(Option<Vec<Hv>>),
    Create,
    /// Creating the disk image, 0.0–1.0.
    Progress(f64),
    /// The names libvirt holds (asked for whenever Name or Review shows).
    Taken(Taken),
    /// libvirt refused the Create: it shows on Review until dismissed or the next Create.
    CreateFailed(Problem),
    /// The VM was created: the wizard's error, if any, goes.
    Created,
    /// The user dismissed the error.
    Dismiss,
    /// From a step page.
    Go(Step),
    Devices,
}

#[derive(Debug)]
pub enum Output {
    Toast(String),
    /// Show this step (the window keeps the sidebar and the title in step).
    Go(Step),
    Devices,
    Create {
        xml: String,
        volume: Option<NewVolume>,
    },
    /// Ask libvirt which names are taken (the answer comes as `Input::Taken`).
    NeedTaken,
    /// The GPU mode was changed here: Host setup's mode follows.
    Mode(passage_core::vm::session::GpuMode),
    /// What Host setup plans besides the card for this VM (hugepages reserved at boot).
    BootExtras(Vec<passage_core::plan::Intent>),
}

/// The ROM file placed (or none to place): the VM is made; or why it was not.
#[derive(Debug)]
pub enum Placed {
    Done {
        xml: String,
        volume: Option<NewVolume>,
    },
    Refused(String),
}

pub struct Wizard {
    loaded: Option<Arc<Loaded>>,
    draft: Option<Draft>,
    hyperv: Option<Vec<Hv>>,
    steps: Vec<(Step, Controller<step::StepPage>)>,
    /// Steps whose page shows an older draft: rebuilt when next shown.
    stale: Vec<Step>,
    shown: Option<Step>,
    taken: Taken,
    problem: Option<Problem>,
}

impl Component for Wizard {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = Placed;
    type Root = gtk::Stack;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let s = gtk::Stack::new();
        s.set_widget_name("wizard");
        s.set_hhomogeneous(false);
        s.set_vhomogeneous(false);
        crate::a11y::follow_stack(&s);
        s
    }

    fn init(_: (), _root: Self::Root, _sender: ComponentSender<Self>) -> ComponentParts<Self> {
        ComponentParts {
            model: Wizard {
                loaded: None,
                draft: None,
                hyperv: None,
                steps: vec![],
                stale: vec![],
                shown: None,
                taken: Taken::default(),
                problem: None,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Host(loaded, selection) => {
                match &mut self.draft {
                    Some(d) => d.gpu = selection,
                    None => {
                        let mut d = Draft::new(&loaded.host, selection);
                        d.hyperv_supported = self.hyperv.clone();
                        self.draft = Some(d);
                    }
                }
                if let Some(d) = &mut self.draft {
                    d.lg_backing = passage_core::vm::looking_glass::Backing::of(&loaded.root);
                }
                self.loaded = Some(loaded);
                self.all_stale(None);
            }
            Input::Card(s) => {
                if let Some(d) = &mut self.draft {
                    d.gpu = Some(s);
                }
                self.all_stale(None);
            }
            Input::Draft(d) => {
                let mut d = *d;
                d.hyperv_supported = self.hyperv.clone();
                self.draft = Some(d);
                self.all_stale(None);
                let _ = sender.output(Output::NeedTaken);
            }
            Input::Hyperv(hv) => {
                if let Some(d) = &mut self.draft {
                    d.hyperv_supported = hv.clone();
                }
                self.hyperv = hv;
                self.all_stale(None);
            }
            Input::Show(step) => self.show(step, root, &sender),
            Input::Set(c) => self.set(c, root, &sender),
            Input::Create => self.create(&sender),
            Input::Progress(f) => {
                if let Some((_, c)) = self.steps.iter().find(|(s, _)| *s == Step::Review) {
                    c.emit(step::Input::Progress(f));
                }
            }
            Input::Taken(t) => {
                if t != self.taken {
                    self.taken = t;
                    self.all_stale(self.shown);
                    self.to_step(Step::Name, step::Input::Clashes(self.clashes()));
                    if self.shown == Some(Step::Review) {
                        self.show(Step::Review, root, &sender);
                    }
                }
            }
            Input::CreateFailed(p) => {
                self.problem = Some(p.clone());
                self.to_step(Step::Review, step::Input::Problem(Some(p)));
            }
            Input::Created | Input::Dismiss => {
                self.problem = None;
                self.to_step(Step::Review, step::Input::Problem(None));
            }
            Input::Go(to) => {
                let _ = sender.output(Output::Go(to));
            }
            Input::Devices => {
                let _ = sender.output(Output::Devices);
            }
        }
    }

    fn update_cmd(&mut self, p: Placed, sender: ComponentSender<Self>, _: &Self::Root) {
        self.placed(p, &sender);
    }
}

impl Wizard {
    fn placed(&mut self, p: Placed, sender: &ComponentSender<Self>) {
        match p {
            Placed::Done { xml, volume } => {
                let _ = sender.output(Output::Create { xml, volume });
            }
            Placed::Refused(why) => {
                let _ = sender.output(Output::Toast(why));
            }
        }
    }

    /// Every step shows an older draft, but `keep` (the page being edited keeps its widgets,
    /// and the focus in an entry).
    fn all_stale(&mut self, keep: Option<Step>) {
        self.stale = Step::ALL.into_iter().filter(|s| Some(*s) != keep).collect();
    }

    fn set(&mut self, c: Choice, root: &gtk::Stack, sender: &ComponentSender<Self>) {
        let (Some(l), Some(d)) = (&self.loaded, &mut self.draft) else {
            return;
        };
        let mode = match &c {
            Choice::GpuMode(m) if *m != d.gpu_mode => Some(*m),
            _ => None,
        };
        let extras = d.boot_intent();
        // The ROM file's walk shows below its row the next time the step shows (not while
        // its path is typed).
        let rom = matches!(c, Choice::RomFile(_));
        if let Err(e) = d.set(&l.host, c) {
            let _ = sender.output(Output::Toast(e.to_string()));
            return;
        }
        if let Some(m) = mode {
            let _ = sender.output(Output::Mode(m));
        }
        if d.boot_intent() != extras {
            let _ = sender.output(Output::BootExtras(d.boot_intent().into_iter().collect()));
        }
        self.to_step(Step::Name, step::Input::Clashes(self.clashes()));
        // Lists that show the choice itself are redrawn at once.
        let redraw_now = matches!(self.shown, Some(Step::Boot | Step::Review));
        self.all_stale(if redraw_now { None } else { self.shown });
        if rom {
            self.stale.push(Step::Pci);
        }
        if let (true, Some(s)) = (redraw_now, self.shown) {
            self.show(s, root, sender);
        }
    }

    fn show(&mut self, step: Step, root: &gtk::Stack, sender: &ComponentSender<Self>) {
        self.shown = Some(step);
        if !self.steps.iter().any(|(s, _)| *s == step) {
            let c = step::StepPage::builder()
                .launch(step)
                .forward(sender.input_sender(), |o| match o {
                    step::Output::Set(c) => Input::Set(c),
                    step::Output::Go(to) => Input::Go(to),
                    step::Output::Devices => Input::Devices,
                    step::Output::Create => Input::Create,
                    step::Output::Dismiss => Input::Dismiss,
                });
            root.add_named(c.widget(), Some(step.id()));
            self.steps.push((step, c));
            self.stale.retain(|s| *s != step);
            self.stale.push(step);
        }
        if let (Some(l), Some(d), true) = (&self.loaded, &self.draft, self.stale.contains(&step)) {
            self.stale.retain(|s| *s != step);
            if let Some((_, c)) = self.steps.iter().find(|(s, _)| *s == step) {
                c.emit(step::Input::Show(
                    l.clone(),
                    Box::new(d.clone()),
                    self.taken.clone(),
                ));
            }
        }
        root.set_visible_child_name(step.id());
        if matches!(step, Step::Name | Step::Review) {
            let _ = sender.output(Output::NeedTaken);
        }
    }

    /// What the draft's name and image clash with in libvirt.
    fn clashes(&self) -> Vec<String> {
        self.draft
            .as_ref()
            .map(|d| crate::wizard::clashes(d, &self.taken))
            .unwrap_or_default()
    }

    /// Tells a step's page, if it was built.
    fn to_step(&self, step: Step, msg: step::Input) {
        if let Some((_, c)) = self.steps.iter().find(|(s, _)| *s == step) {
            c.emit(msg);
        }
    }

    fn create(&mut self, sender: &ComponentSender<Self>) {
        let (Some(l), Some(d)) = (&self.loaded, &self.draft) else {
            return;
        };
        if !crate::wizard::clashes(d, &self.taken).is_empty() {
            let _ = sender.output(Output::Go(Step::Name));
            return;
        }
        let made = d
            .domain_xml(&l.host)
            .and_then(|xml| d.rom().map(|rom| (xml, rom)));
        match made {
            Err(e) => {
                let _ = sender.output(Output::Toast(e.to_string()));
                let _ = sender.output(Output::Go(step_of(&e.field)));
            }
            Ok((xml, rom)) => {
                let volume = crate::wizard::new_volume(d);
                // The ROM file is placed for QEMU first (the helper; polkit asks).
                sender.oneshot_command(async move {
                    match crate::pages::vm_rom::place(rom).await {
                        Ok(()) => Placed::Done { xml, volume },
                        Err(why) => Placed::Refused(why),
                    }
                });
            }
        }
    }
}
