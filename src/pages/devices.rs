//! Devices: the IOMMU groups. Choosing a GPU chooses its whole group; a group that cannot go
//! (the host's display GPU, storage the host uses…) says why and is refused.

use std::collections::HashMap;
use std::sync::Arc;

use passage_core::host::rom::{self, Verdict};
use passage_core::host::PciAddress;
use passage_core::i18n::{tr, tr_f, tr_n};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::host_source::Loaded;
use crate::logic::{self, GroupRow, Selection};

#[derive(Debug)]
pub enum Input {
    Show(Arc<Loaded>, Option<Selection>),
    /// The user picked this GPU's group (a radio button, or the `app.choose-gpu` action).
    Choose(PciAddress),
    /// Read the card's ROM through the helper.
    ReadRom(PciAddress),
}

/// A card's ROM as the helper read it and core walked it.
#[derive(Debug)]
pub struct RomRead(PciAddress, Result<Verdict, String>);

#[derive(Debug)]
pub enum Output {
    Chose(Selection),
    Refused(String),
    /// “Create a Gaming VM…” or “Create an ML VM…” for this card.
    Express(passage_core::vm::Purpose, PciAddress),
    /// Next: Host setup.
    Next,
}

pub struct DevicesPage {
    loaded: Option<Arc<Loaded>>,
    selection: Option<Selection>,
    groups: Vec<adw::PreferencesGroup>,
    radios: Vec<(PciAddress, gtk::CheckButton)>,
    /// What each card's ROM read gave (kept across rescans: the ROM does not change).
    roms: HashMap<PciAddress, Result<Verdict, String>>,
    next: adw::PreferencesGroup,
}

impl Component for DevicesPage {
    type Init = ();
    type Input = Input;
    type Output = Output;
    type CommandOutput = RomRead;
    type Root = adw::PreferencesPage;
    type Widgets = ();

    fn init_root() -> Self::Root {
        let p = adw::PreferencesPage::new();
        p.set_widget_name("page-devices");
        p
    }

    fn init(_: (), _root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let next = super::next_group(&tr("Host Setup"), move || {
            let _ = sender.output(Output::Next);
        });
        ComponentParts {
            model: DevicesPage {
                loaded: None,
                selection: None,
                groups: vec![],
                radios: vec![],
                roms: HashMap::new(),
                next,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Show(loaded, selection) => {
                self.loaded = Some(loaded);
                self.selection = selection;
                self.rebuild(root, &sender);
            }
            Input::Choose(gpu) => {
                let Some(loaded) = &self.loaded else { return };
                if self.selection.as_ref().is_some_and(|s| s.gpu == gpu) {
                    return;
                }
                match logic::choose_card(&loaded.host, gpu) {
                    Ok(s) => {
                        self.selection = Some(s.clone());
                        let _ = sender.output(Output::Chose(s));
                    }
                    Err(why) => {
                        let _ = sender.output(Output::Refused(why));
                    }
                }
                self.sync_radios();
            }
            Input::ReadRom(gpu) => sender.oneshot_command(async move {
                let got = super::setup::helper::read_rom(gpu)
                    .await
                    .map(|bytes| rom::walk(&bytes).verdict)
                    .map_err(|e| e.text);
                RomRead(gpu, got)
            }),
        }
    }

    fn update_cmd(&mut self, r: RomRead, sender: ComponentSender<Self>, root: &Self::Root) {
        self.roms.insert(r.0, r.1);
        self.rebuild(root, &sender);
    }
}

impl DevicesPage {
    /// Puts the radio buttons back on the current selection (a refused choice springs back).
    fn sync_radios(&self) {
        for (addr, r) in &self.radios {
            let on = self.selection.as_ref().is_some_and(|s| s.gpu == *addr);
            if r.is_active() != on {
                r.set_active(on);
            }
        }
    }

    fn rebuild(&mut self, root: &adw::PreferencesPage, sender: &ComponentSender<Self>) {
        super::clear(root, &mut self.groups);
        self.radios.clear();
        let Some(loaded) = self.loaded.clone() else {
            return;
        };
        let rows = logic::groups(&loaded.host);

        let gpus = adw::PreferencesGroup::new();
        gpus.set_title(&tr("Graphics cards"));
        gpus.set_description(Some(&tr(
            "A VM gets a whole IOMMU group. Choose the card for the VM; the devices that share its group go with it.",
        )));
        let mut first_radio: Option<gtk::CheckButton> = None;
        let mut others: Vec<GroupRow> = vec![];
        for g in rows.iter() {
            if g.gpu.is_some() {
                let (r, radio) = group_row(g, &mut first_radio, sender);
                if let Some(gpu) = g.gpu {
                    rom_line(&r, g, self.roms.get(&gpu), sender);
                }
                gpus.add(&r);
                self.radios.extend(radio);
            } else {
                others.push(g.clone());
            }
        }
        if rows.is_empty() {
            gpus.add(&super::row(
                &tr("No IOMMU groups"),
                &tr("The IOMMU is off, so the kernel shows no groups. System check says how to turn it on."),
            ));
        }
        root.add(&gpus);
        self.groups.push(gpus);
        let s = sender.clone();
        let express =
            super::express_rows::group(&super::express_rows::cards(&loaded.host), move |p, gpu| {
                let _ = s.output(Output::Express(p, gpu));
            });
        if let Some(g) = express {
            root.add(&g);
            self.groups.push(g);
        }
        if !others.is_empty() {
            // The rest is listed on request: a board has dozens of groups the VM rarely needs,
            // and building them all would slow the page down for nothing.
            let g = adw::PreferencesGroup::new();
            g.set_title(&tr("Other IOMMU groups"));
            g.set_description(Some(&tr_f(
                "{n} groups without a graphics card: USB controllers, disks and network cards can go to a VM too when their group can.",
                &[("n", &others.len().to_string())],
            )));
            let show = gtk::Button::with_label(&tr("Show"));
            show.add_css_class("flat");
            show.set_widget_name("show-other-groups");
            let (group, sender2) = (g.clone(), sender.clone());
            show.connect_clicked(move |b| {
                b.set_visible(false);
                let mut none = None;
                for o in &others {
                    group.add(&group_row(o, &mut none, &sender2).0);
                }
                // The button is gone: focus goes to the first group shown, not to the page.
                group.child_focus(gtk::DirectionType::TabForward);
            });
            g.set_header_suffix(Some(&show));
            root.add(&g);
            self.groups.push(g);
        }
        super::keep_last(root, &self.next);
        self.sync_radios();
    }
}

/// The card's ROM line under its group, with Read ROM where the helper may read it (never on
/// the card showing the host's screen).
fn rom_line(
    row: &adw::ExpanderRow,
    g: &GroupRow,
    read: Option<&Result<Verdict, String>>,
    sender: &ComponentSender<DevicesPage>,
) {
    let Some(gpu) = g.gpu else { return };
    let line = if g.host_display {
        tr("UEFI boot image: not read (the card shows this computer's screen)")
    } else {
        rom::boot_image_line(read)
    };
    let sub = row.subtitle();
    row.set_subtitle(&format!("{sub}\n{}", super::glib_escape(&line)));
    if g.host_display {
        return;
    }
    let b = gtk::Button::with_label(&tr("Read ROM"));
    b.add_css_class("flat");
    b.set_valign(gtk::Align::Center);
    b.set_widget_name(&format!("read-rom-{}", g.id));
    b.set_tooltip_text(Some(&tr("Read the card's ROM to see whether it has a UEFI boot image (the administrator's password is asked)")));
    let s = sender.clone();
    b.connect_clicked(move |_| s.input(Input::ReadRom(gpu)));
    row.add_action(&b);
}

/// One group: a radio button when it has a GPU (returned, to keep the choice in sync), its
/// status, and its devices (built when first opened).
fn group_row(
    g: &GroupRow,
    first_radio: &mut Option<gtk::CheckButton>,
    sender: &ComponentSender<DevicesPage>,
) -> (adw::ExpanderRow, Option<(PciAddress, gtk::CheckButton)>) {
    let mut out_radio = None;
    let status = if g.only_gpu {
        tr("This computer's only graphics card: it can go to a VM in the only-GPU mode — the desktop stops while the VM runs")
    } else if g.host_display {
        tr("Shows this computer's screen: it stays with the host")
    } else if g.viable {
        tr_n(
            "Can go to a VM · {n} device",
            "Can go to a VM · {n} devices",
            g.devices.len() as u64,
            &[],
        )
    } else {
        tr_f(
            "Stays with the host: {why}",
            &[("why", &g.why_not.join("; "))],
        )
    };
    let status = std::iter::once(status)
        .chain(g.card_notes.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    let row = super::expander(&g.title, &status);
    row.set_widget_name(&format!("group-{}", g.id));
    if let Some(gpu) = g.gpu {
        let radio = crate::a11y::radio();
        radio.set_valign(gtk::Align::Center);
        radio.set_tooltip_text(Some(&tr("Use this card for the VM")));
        match first_radio {
            Some(f) => radio.set_group(Some(f)),
            None => *first_radio = Some(radio.clone()),
        }
        let s = sender.clone();
        radio.connect_toggled(move |r| {
            if r.is_active() {
                s.input(Input::Choose(gpu));
            }
        });
        row.add_prefix(&radio);
        // Space or Enter on the row chooses the card (and opens its devices): the radio of a
        // card not chosen is no Tab stop, as in every radio group.
        if let Some(header) = super::expander_header(&row) {
            header.set_activatable_widget(Some(&radio));
        }
        out_radio = Some((gpu, radio));
    }
    let badge = gtk::Image::from_icon_name(if g.only_gpu {
        "emblem-ok-symbolic"
    } else if g.host_display {
        "video-display-symbolic"
    } else if g.viable {
        "emblem-ok-symbolic"
    } else {
        "action-unavailable-symbolic"
    });
    badge.add_css_class(if g.viable || g.only_gpu {
        "success"
    } else {
        "dim-label"
    });
    let says = if g.only_gpu {
        tr("Can go to a VM: the desktop stops while it runs")
    } else if g.host_display {
        tr("Shows this computer's screen")
    } else if g.viable {
        tr("Can go to a VM")
    } else {
        tr("Stays with the host")
    };
    badge.set_tooltip_text(Some(&says));
    crate::a11y::name(&badge, &says);
    row.add_action(&badge);
    // The devices are built when the group is first opened: most groups are never
    // opened, and a page of forty groups' rows costs start-up time and memory.
    let devices = std::cell::RefCell::new(Some(g.devices.clone()));
    row.connect_expanded_notify(move |row| {
        if let Some(devices) = devices.take() {
            for d in &devices {
                let r = super::row(&d.name, &d.detail);
                if d.host_display {
                    r.add_suffix(&crate::a11y::status_icon(
                        "video-display-symbolic",
                        &tr("Shows this computer's screen"),
                    ));
                }
                row.add_row(&r);
            }
        }
    });
    (row, out_radio)
}
