//! The VM wizard's pages: one component per step (the step is its init), each showing the
//! draft and sending `field=value` changes to the window, which keeps the one draft.

use std::sync::Arc;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::{Network, Purpose};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::host_source::Loaded;
use crate::wizard::{self, BootItem, Draft, Step, Storage};

#[derive(Debug)]
pub enum Input {
    Show(Arc<Loaded>, Box<Draft>),
    /// Review: creating the disk image, 0.0–1.0.
    Progress(f64),
}

#[derive(Debug)]
pub enum Output {
    Set(String, String),
    Go(Step),
    Devices,
    Create,
}

#[derive(Debug)]
pub enum Cmd {
    Validated(Result<String, String>),
}

pub struct StepPage {
    step: Step,
    groups: Vec<adw::PreferencesGroup>,
    progress: Option<gtk::ProgressBar>,
    validation: Option<adw::ActionRow>,
}

fn set(sender: &ComponentSender<StepPage>, field: &str, value: impl Into<String>) {
    let _ = sender.output(Output::Set(field.to_string(), value.into()));
}

fn switch_row(
    sender: &ComponentSender<StepPage>,
    title: &str,
    subtitle: &str,
    field: &'static str,
    on: bool,
) -> adw::ActionRow {
    let r = super::row(title, subtitle);
    let sw = gtk::Switch::new();
    sw.set_active(on);
    sw.set_valign(gtk::Align::Center);
    sw.set_widget_name(field);
    let s = sender.clone();
    sw.connect_state_set(move |_, v| {
        set(&s, field, if v { "on" } else { "off" });
        relm4::gtk::glib::Propagation::Proceed
    });
    r.add_suffix(&sw);
    r.set_activatable_widget(Some(&sw));
    r
}

fn check_row(
    sender: &ComponentSender<StepPage>,
    title: &str,
    subtitle: &str,
    add: &'static str,
    remove: &'static str,
    value: String,
    on: bool,
) -> adw::ActionRow {
    let r = super::row(title, subtitle);
    let c = gtk::CheckButton::new();
    c.set_active(on);
    let s = sender.clone();
    c.connect_toggled(move |c| set(&s, if c.is_active() { add } else { remove }, value.clone()));
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    r
}

/// One choice of several (radio buttons in `group`): choosing it sets `field` to what `value`
/// gives at that moment.
fn radio_row(
    sender: &ComponentSender<StepPage>,
    group: Option<&gtk::CheckButton>,
    (title, subtitle): (&str, &str),
    field: &'static str,
    on: bool,
    value: impl Fn() -> String + 'static,
) -> (adw::ActionRow, gtk::CheckButton) {
    let c = gtk::CheckButton::new();
    c.set_group(group);
    c.set_active(on);
    let r = super::row(title, subtitle);
    r.add_prefix(&c);
    r.set_activatable_widget(Some(&c));
    let s = sender.clone();
    c.connect_toggled(move |c| {
        if c.is_active() {
            set(&s, field, value());
        }
    });
    (r, c)
}

fn entry_row(
    sender: &ComponentSender<StepPage>,
    title: &str,
    field: &'static str,
    text: &str,
) -> adw::EntryRow {
    let e = adw::EntryRow::new();
    e.set_title(title);
    e.set_text(text);
    e.set_widget_name(field);
    let s = sender.clone();
    e.connect_changed(move |e| set(&s, field, e.text().to_string()));
    e
}

/// An entry for a file, with a button that opens the file chooser.
fn file_row(
    sender: &ComponentSender<StepPage>,
    title: &str,
    field: &'static str,
    text: &str,
    root: &adw::PreferencesPage,
) -> adw::EntryRow {
    let e = entry_row(sender, title, field, text);
    let b = gtk::Button::from_icon_name("document-open-symbolic");
    b.add_css_class("flat");
    b.set_valign(gtk::Align::Center);
    b.set_tooltip_text(Some(&tr("Choose a File")));
    let (entry, page) = (e.clone(), root.clone());
    b.connect_clicked(move |_| {
        let window = page.root().and_then(|r| r.downcast::<gtk::Window>().ok());
        let chooser = gtk::FileChooserNative::new(
            Some(&tr("Choose a Disc Image")),
            window.as_ref(),
            gtk::FileChooserAction::Open,
            Some(&tr("_Open")),
            Some(&tr("_Cancel")),
        );
        let filter = gtk::FileFilter::new();
        filter.set_name(Some(&tr("Disc images")));
        filter.add_pattern("*.iso");
        filter.add_pattern("*.ISO");
        chooser.add_filter(&filter);
        let entry = entry.clone();
        chooser.connect_response(move |c, r| {
            if r == gtk::ResponseType::Accept {
                if let Some(p) = c.file().and_then(|f| f.path()) {
                    entry.set_text(&p.display().to_string());
                }
            }
        });
        chooser.show();
    });
    e.add_suffix(&b);
    e
}

fn spin_row(
    sender: &ComponentSender<StepPage>,
    title: &str,
    subtitle: &str,
    field: &'static str,
    (value, min, max): (f64, f64, f64),
) -> adw::ActionRow {
    let r = super::row(title, subtitle);
    let sp = gtk::SpinButton::with_range(min, max.max(min), 1.0);
    sp.set_value(value);
    sp.set_valign(gtk::Align::Center);
    sp.set_widget_name(field);
    let s = sender.clone();
    sp.connect_value_changed(move |sp| set(&s, field, (sp.value() as u64).to_string()));
    r.add_suffix(&sp);
    r
}

fn group(title: &str, description: &str) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    if !title.is_empty() {
        g.set_title(title);
    }
    if !description.is_empty() {
        g.set_description(Some(description));
    }
    g
}

fn exists_note(path: &str) -> String {
    if path.is_empty() || std::path::Path::new(path).exists() {
        String::new()
    } else {
        tr("Not found on this computer: check the path before starting the VM.")
    }
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
        ComponentParts {
            model: StepPage {
                step,
                groups: vec![],
                progress: None,
                validation: None,
            },
            widgets: (),
        }
    }

    fn update(&mut self, msg: Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Input::Show(loaded, draft) => self.build(root, &loaded, &draft, &sender),
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
    fn validated(&self, r: Result<String, String>) {
        if let Some(row) = &self.validation {
            match r {
                Ok(msg) => {
                    row.set_title(&super::glib_escape(&tr("The XML is valid")));
                    row.set_subtitle(&super::glib_escape(&msg));
                }
                Err(e) => {
                    row.set_title(&super::glib_escape(&tr(
                        "libvirt's schema does not accept this XML",
                    )));
                    row.set_subtitle(&super::glib_escape(&e));
                }
            }
        }
    }

    fn add(&mut self, root: &adw::PreferencesPage, g: adw::PreferencesGroup) {
        root.add(&g);
        self.groups.push(g);
    }

    fn build(
        &mut self,
        root: &adw::PreferencesPage,
        loaded: &Loaded,
        d: &Draft,
        sender: &ComponentSender<Self>,
    ) {
        super::clear(root, &mut self.groups);
        self.progress = None;
        self.validation = None;
        let host = &loaded.host;
        match self.step {
            Step::Media => {
                let g = group(&tr("What the VM is for"), "");
                let purpose = adw::ComboRow::new();
                purpose.set_title(&tr("Purpose"));
                let model = gtk::StringList::new(&[
                    &tr("Gaming (Windows)"),
                    &tr("Machine learning (Linux)"),
                    &tr("Other"),
                ]);
                purpose.set_model(Some(&model));
                purpose.set_selected(match d.purpose {
                    Purpose::Gaming => 0,
                    Purpose::Ml => 1,
                    Purpose::Other => 2,
                });
                let s = sender.clone();
                purpose.connect_selected_notify(move |c| {
                    set(
                        &s,
                        "purpose",
                        ["gaming", "ml", "other"][(c.selected() as usize).min(2)],
                    );
                });
                g.add(&purpose);
                self.add(root, g);
                let g = group(
                    &tr("Install media"),
                    &tr("The operating system's disc image, and for Windows the virtio-win drivers disc (its installer needs them to see the virtio disk)."),
                );
                g.add(&file_row(
                    sender,
                    &tr("Installation disc image (ISO)"),
                    "install-iso",
                    &d.install_iso,
                    root,
                ));
                g.add(&file_row(
                    sender,
                    &tr("Drivers disc image (virtio-win ISO)"),
                    "virtio-iso",
                    &d.virtio_iso,
                    root,
                ));
                for note in [exists_note(&d.install_iso), exists_note(&d.virtio_iso)] {
                    if !note.is_empty() {
                        g.add(&super::row(&note, ""));
                        break;
                    }
                }
                self.add(root, g);
            }
            Step::Resources => {
                let total = host.memory.total_kib / 1024 / 1024;
                let cpus = host.cpu.logical_cpus.len();
                let g = group(
                    &tr("Memory and CPUs"),
                    &tr(
                        "What the VM gets while it runs. Leave the host enough to run its desktop.",
                    ),
                );
                g.add(&spin_row(
                    sender,
                    &tr("Memory (GiB)"),
                    &tr_f("This computer has {n} GiB.", &[("n", &total.to_string())]),
                    "memory-gib",
                    (d.memory_gib as f64, 1.0, total as f64),
                ));
                g.add(&spin_row(
                    sender,
                    &tr("CPUs"),
                    &tr_f(
                        "This computer has {n} logical CPUs ({cores} cores).",
                        &[
                            ("n", &cpus.to_string()),
                            ("cores", &host.cpu.cores.to_string()),
                        ],
                    ),
                    "vcpus",
                    (d.vcpus as f64, 1.0, cpus as f64),
                ));
                self.add(root, g);
            }
            Step::Storage => {
                let g = group(
                    &tr("The VM's disk"),
                    &tr_f(
                        "New images go to libvirt's “{pool}” pool ({path}).",
                        &[("pool", wizard::POOL), ("path", wizard::POOL_PATH)],
                    ),
                );
                let new = gtk::CheckButton::new();
                let existing = gtk::CheckButton::new();
                existing.set_group(Some(&new));
                let none = gtk::CheckButton::new();
                none.set_group(Some(&new));
                let (gib, raw) = match d.storage {
                    Storage::New { gib, raw } => (gib, raw),
                    _ => (128, false),
                };
                let r = super::row(&tr("Create a new disk image"), &tr("qcow2 grows as the VM writes; raw takes all its space at once, for the steadiest speed."));
                r.add_prefix(&new);
                r.set_activatable_widget(Some(&new));
                g.add(&r);
                // Size and format on rows of their own: beside the title they would squeeze
                // it at 360 px.
                let size = gtk::SpinButton::with_range(1.0, 65536.0, 1.0);
                size.set_value(gib as f64);
                size.set_valign(gtk::Align::Center);
                let sr = super::row(&tr("Size (GiB)"), "");
                sr.add_suffix(&size);
                g.add(&sr);
                let fmt = gtk::DropDown::from_strings(&["qcow2", "raw"]);
                fmt.set_selected(u32::from(raw));
                fmt.set_valign(gtk::Align::Center);
                let fr = super::row(&tr("Format"), "");
                fr.add_suffix(&fmt);
                g.add(&fr);
                new.bind_property("active", &sr, "sensitive")
                    .sync_create()
                    .build();
                new.bind_property("active", &fr, "sensitive")
                    .sync_create()
                    .build();
                let path = match &d.storage {
                    Storage::Existing { path } => path.clone(),
                    _ => String::new(),
                };
                let e = adw::EntryRow::new();
                e.set_title(&tr("Use an existing disk image"));
                e.set_text(&path);
                e.add_prefix(&existing);
                g.add(&e);
                let r = super::row(
                    &tr("No disk"),
                    &tr("For a VM that boots from a passed-through NVMe drive."),
                );
                r.add_prefix(&none);
                r.set_activatable_widget(Some(&none));
                g.add(&r);
                match d.storage {
                    Storage::New { .. } => new.set_active(true),
                    Storage::Existing { .. } => existing.set_active(true),
                    Storage::None => none.set_active(true),
                }
                let send_new = {
                    let (s, size, fmt, new) =
                        (sender.clone(), size.clone(), fmt.clone(), new.clone());
                    move || {
                        if new.is_active() {
                            let f = if fmt.selected() == 1 { "raw" } else { "qcow2" };
                            set(&s, "disk", format!("new:{}:{f}", size.value() as u64));
                        }
                    }
                };
                let f1 = send_new.clone();
                new.connect_toggled(move |_| f1());
                let f2 = send_new.clone();
                size.connect_value_changed(move |_| f2());
                fmt.connect_selected_notify(move |_| send_new());
                let s = sender.clone();
                let (e2, ex2) = (e.clone(), existing.clone());
                let send_existing = move || {
                    if ex2.is_active() && !e2.text().is_empty() {
                        set(&s, "disk", format!("file:{}", e2.text()));
                    }
                };
                let f3 = send_existing.clone();
                existing.connect_toggled(move |_| f3());
                e.connect_changed(move |_| send_existing());
                let s = sender.clone();
                none.connect_toggled(move |c| {
                    if c.is_active() {
                        set(&s, "disk", "none");
                    }
                });
                self.add(root, g);
            }
            Step::Name => {
                let g = group(&tr("Name"), &tr("How libvirt and the launcher call the VM: letters, digits, dots, dashes and underscores."));
                g.add(&entry_row(sender, &tr("Name"), "name", &d.name));
                self.add(root, g);

                let g = group(&tr("Network"), "");
                let bridge_name = match &d.network {
                    Some(Network::Bridge { bridge }) => bridge.clone(),
                    _ => String::new(),
                };
                let bridge = adw::EntryRow::new();
                bridge.set_title(&tr("Bridge name, for example br0"));
                bridge.set_text(&bridge_name);
                bridge.set_widget_name("bridge");
                let choices = [
                    ("nat", tr("NAT"), tr("Through libvirt's “default” network: the VM reaches the internet through this computer, and other computers cannot reach the VM."), matches!(d.network, Some(Network::Nat { .. }))),
                    ("bridge", tr("A bridge on this computer"), tr("The VM is on your network like another computer. The bridge must exist already (NetworkManager or systemd-networkd make one)."), matches!(d.network, Some(Network::Bridge { .. }))),
                    ("none", tr("No network"), tr("No network card in the VM."), d.network.is_none()),
                ];
                let mut first: Option<gtk::CheckButton> = None;
                for (id, title, subtitle, on) in choices {
                    let entry = bridge.clone();
                    let (r, c) = radio_row(
                        sender,
                        first.as_ref(),
                        (&title, &subtitle),
                        "network",
                        on,
                        move || match id {
                            "bridge" => format!("bridge:{}", entry.text()),
                            other => other.to_string(),
                        },
                    );
                    c.set_widget_name(&format!("network-{id}"));
                    g.add(&r);
                    if id == "bridge" {
                        g.add(&bridge);
                        let (s, c) = (sender.clone(), c.clone());
                        bridge.connect_changed(move |e| {
                            if c.is_active() {
                                set(&s, "network", format!("bridge:{}", e.text()));
                            } else {
                                // Typing a bridge's name chooses the bridge.
                                c.set_active(true);
                            }
                        });
                    }
                    first.get_or_insert(c);
                }
                self.add(root, g);

                let g = group(&tr("Display"), "");
                let spice = switch_row(
                    sender,
                    &tr("SPICE display"),
                    &if host.spice_module_missing {
                        tr("QEMU's SPICE module is missing on this host; System check says how to install it.")
                    } else {
                        tr("A window on this computer, for installing the system and for when the card's monitor is off. The card's own outputs work either way.")
                    },
                    "spice",
                    d.spice,
                );
                spice.set_sensitive(!host.spice_module_missing);
                g.add(&spice);
                self.add(root, g);
            }
            Step::Firmware => {
                let g = group(&tr("UEFI firmware"), &tr("GPU passthrough needs UEFI (OVMF). libvirt can choose the firmware, or Passage uses the one you pick."));
                let (r, auto) = radio_row(
                    sender,
                    None,
                    (&tr("Let libvirt choose"), &tr("Recommended: libvirt picks a firmware that matches the features below.")),
                    "firmware",
                    d.firmware.is_none(),
                    || "auto".into(),
                );
                g.add(&r);
                for (i, f) in host
                    .firmware
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.is_x86_64_uefi() && f.installed)
                {
                    let (r, _) = radio_row(
                        sender,
                        Some(&auto),
                        (&f.description, f.executable.as_deref().unwrap_or_default()),
                        "firmware",
                        d.firmware == Some(i),
                        move || i.to_string(),
                    );
                    g.add(&r);
                }
                self.add(root, g);
                let g = group(&tr("Security"), "");
                g.add(&switch_row(
                    sender,
                    &tr("Secure Boot"),
                    &tr("Windows 11 wants it; Microsoft's keys are enrolled."),
                    "secure-boot",
                    d.secure_boot,
                ));
                let tpm = switch_row(
                    sender,
                    &tr("TPM 2.0"),
                    &if host.swtpm {
                        tr("An emulated TPM (swtpm), which Windows 11 requires.")
                    } else {
                        tr("Needs swtpm on this computer (package swtpm).")
                    },
                    "tpm",
                    d.tpm,
                );
                tpm.set_sensitive(host.swtpm);
                g.add(&tpm);
                self.add(root, g);
            }
            Step::Cpu => {
                let plan = passage_core::vm::suggest_cpus(host, d.vcpus);
                let pins = match &plan {
                    Some(p) => tr_f(
                        "{s} socket × {c} cores × {t} threads, pinned to host CPUs that share an L3 cache; QEMU's own threads on {emu}.",
                        &[("s", &p.topology.sockets.to_string()), ("c", &p.topology.cores.to_string()), ("t", &p.topology.threads.to_string()), ("emu", &p.emulator_cpuset)],
                    ),
                    None => tr("No pinning fits this many CPUs on this host; the VM's CPUs float."),
                };
                let g = group(&tr("CPU"), &tr("The VM sees this computer's CPU model (host-passthrough), with a topology that matches its cores and threads."));
                g.add(&switch_row(
                    sender,
                    &tr("Pin the VM's CPUs"),
                    &pins,
                    "pin-cpus",
                    d.pin_cpus,
                ));
                g.add(&switch_row(
                    sender,
                    &tr("Hugepages for the VM's memory"),
                    &tr("Faster memory access; the pages are reserved when the VM starts."),
                    "hugepages",
                    d.hugepages,
                ));
                self.add(root, g);
                let g = group(&tr("For Windows and GPU drivers"), "");
                g.add(&switch_row(
                    sender,
                    &tr("Hide the hypervisor"),
                    &tr("Older NVIDIA drivers refuse to run in a VM that says it is one."),
                    "kvm-hidden",
                    d.kvm_hidden,
                ));
                g.add(&switch_row(
                    sender,
                    &tr("Hyper-V enlightenments"),
                    &tr("Windows runs faster when it knows it is a guest."),
                    "hyperv",
                    d.hyperv,
                ));
                self.add(root, g);
            }
            Step::Pci => {
                let g = group(&tr("The graphics card"), &tr("A VM gets a whole IOMMU group: the card and the devices that share its group."));
                match &d.gpu {
                    Some(sel) => {
                        for a in &sel.devices {
                            let name = host
                                .device(*a)
                                .map(|x| x.display_name())
                                .unwrap_or_default();
                            let r = super::row(
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
                    None => g.add(&super::row(
                        &tr("No graphics card chosen"),
                        &tr("Choose one on the Devices page."),
                    )),
                }
                let change = gtk::Button::with_label(&tr("Devices…"));
                change.add_css_class("flat");
                let s = sender.clone();
                change.connect_clicked(move |_| {
                    let _ = s.output(Output::Devices);
                });
                g.set_header_suffix(Some(&change));
                self.add(root, g);
                let extra = wizard::extra_candidates(host, d.gpu.as_ref());
                let g = group(&tr("More devices"), &tr("NVMe drives and USB controllers whose group can go to the VM too. A passed-through NVMe drive runs at full speed."));
                if extra.is_empty() {
                    g.add(&super::row(&tr("None on this computer"), ""));
                }
                for (a, name) in extra {
                    g.add(&check_row(
                        sender,
                        &name,
                        &a.to_string(),
                        "pci-add",
                        "pci-remove",
                        a.to_string(),
                        d.extra_pci.contains(&a),
                    ));
                }
                self.add(root, g);
            }
            Step::Usb => {
                let g = group(&tr("Keyboard and mouse"), &tr("Shared with the VM by evdev: press both Ctrl keys to switch them between the host and the VM."));
                if host.input_devices.is_empty() {
                    g.add(&super::row(&tr("No keyboard or mouse found"), ""));
                }
                for dev in &host.input_devices {
                    let name = dev.rsplit('/').next().unwrap_or(dev).to_string();
                    g.add(&check_row(
                        sender,
                        &name,
                        dev,
                        "evdev-add",
                        "evdev-remove",
                        dev.clone(),
                        d.evdev.contains(dev),
                    ));
                }
                self.add(root, g);
                let g = group(&tr("USB devices"), &tr("Given to the VM while it runs (a controller, game pad, headset…); the VM still starts when one is unplugged."));
                let usb = wizard::usb_candidates(host);
                if usb.is_empty() {
                    g.add(&super::row(&tr("No USB devices"), ""));
                }
                for ((v, p), name) in usb {
                    let id = format!("{v:04x}:{p:04x}");
                    g.add(&check_row(
                        sender,
                        &name,
                        &id,
                        "usb-add",
                        "usb-remove",
                        id.clone(),
                        d.usb.contains(&(v, p)),
                    ));
                }
                self.add(root, g);
            }
            Step::Boot => {
                let g = group(&tr("Boot order"), &tr("The VM tries these in order. Install from the disc first; afterwards the disk comes first."));
                let n = d.boot.len();
                for (i, b) in d.boot.iter().enumerate() {
                    let (title, sub) = match b {
                        BootItem::InstallIso => (tr("Installation disc"), d.install_iso.clone()),
                        BootItem::Disk => (
                            tr("Disk"),
                            match &d.storage {
                                Storage::New { gib, .. } => tr_f(
                                    "new {n} GiB image {vol}",
                                    &[("n", &gib.to_string()), ("vol", &d.volume_name())],
                                ),
                                Storage::Existing { path } => path.clone(),
                                Storage::None => String::new(),
                            },
                        ),
                        BootItem::Pci(a) => (
                            host.device(*a)
                                .map(|x| x.display_name())
                                .unwrap_or_default(),
                            a.to_string(),
                        ),
                    };
                    let r = super::row(&format!("{}. {title}", i + 1), &sub);
                    r.set_widget_name(&format!("boot-{}", b.id()));
                    for (icon, field, enabled) in [
                        ("go-up-symbolic", "boot-up", i > 0),
                        ("go-down-symbolic", "boot-down", i + 1 < n),
                    ] {
                        let bt = gtk::Button::from_icon_name(icon);
                        bt.add_css_class("flat");
                        bt.set_valign(gtk::Align::Center);
                        bt.set_sensitive(enabled);
                        bt.set_tooltip_text(Some(&if field == "boot-up" {
                            tr("Earlier")
                        } else {
                            tr("Later")
                        }));
                        let (s, id) = (sender.clone(), b.id());
                        bt.connect_clicked(move |_| set(&s, field, id.clone()));
                        r.add_suffix(&bt);
                    }
                    g.add(&r);
                }
                if n == 0 {
                    g.add(&super::row(
                        &tr("Nothing to boot from yet"),
                        &tr("Give the VM a disc image or a disk."),
                    ));
                }
                self.add(root, g);
                let g = group("", "");
                g.add(&switch_row(
                    sender,
                    &tr("Boot menu"),
                    &tr("Press Esc while the VM starts to choose."),
                    "boot-menu",
                    d.boot_menu,
                ));
                self.add(root, g);
            }
            Step::Review => {
                let g = group(&tr("Review"), "");
                let create = gtk::Button::with_label(&tr("Create"));
                create.add_css_class("suggested-action");
                create.set_widget_name("create");
                create.set_valign(gtk::Align::Center);
                let s = sender.clone();
                create.connect_clicked(move |_| {
                    let _ = s.output(Output::Create);
                });
                match d.spec(host) {
                    Err((step, e)) => {
                        create.set_sensitive(false);
                        let r = super::row(&tr("Not ready yet"), &e);
                        r.add_prefix(&gtk::Image::from_icon_name("dialog-warning-symbolic"));
                        let go = gtk::Button::with_label(&step.title());
                        go.set_valign(gtk::Align::Center);
                        let s = sender.clone();
                        go.connect_clicked(move |_| {
                            let _ = s.output(Output::Go(step));
                        });
                        r.add_suffix(&go);
                        g.add(&r);
                        self.add(root, g);
                    }
                    Ok(spec) => {
                        let xml = spec.to_xml().unwrap_or_default();
                        let summary = tr_f(
                            "{name}: {mem} GiB, {cpus} CPUs, {pci} PCI device(s), {usb} USB device(s), {cd} disc(s)",
                            &[("name", &spec.name), ("mem", &(spec.memory_mib / 1024).to_string()), ("cpus", &spec.vcpus.to_string()), ("pci", &spec.pci.len().to_string()), ("usb", &(spec.usb.len() + spec.evdev.len()).to_string()), ("cd", &spec.cdroms.len().to_string())],
                        );
                        let r = super::row(
                            &summary,
                            &if loaded.can_change() {
                                String::new()
                            } else {
                                tr("On the demo host the VM is defined in this computer's libvirt, but its devices belong to the demo board: it will not start here.")
                            },
                        );
                        r.add_suffix(&create);
                        g.add(&r);
                        let network = match &spec.network {
                            Some(Network::Nat { network }) => {
                                tr_f("NAT through libvirt's “{net}” network", &[("net", network)])
                            }
                            Some(Network::Bridge { bridge }) => {
                                tr_f("Bridge {br} on this computer", &[("br", bridge)])
                            }
                            None => tr("No network"),
                        };
                        let display = if spec.spice {
                            tr("SPICE display on")
                        } else {
                            tr("No SPICE display: the card's own outputs only")
                        };
                        g.add(&super::row(&network, &display));
                        let v = super::row(&tr("Checking the XML…"), "");
                        self.validation = Some(v.clone());
                        g.add(&v);
                        let p = gtk::ProgressBar::new();
                        p.set_visible(false);
                        p.set_show_text(true);
                        p.set_text(Some(&tr("Creating the disk image")));
                        self.progress = Some(p.clone());
                        g.add(&p);
                        self.add(root, g);
                        let g = group(&tr("Domain XML"), &tr("What Passage gives libvirt."));
                        let sw = super::code_view(&xml);
                        sw.add_css_class("card");
                        g.add(&sw);
                        self.add(root, g);
                        sender.spawn_oneshot_command(move || Cmd::Validated(validate(&xml)));
                    }
                }
            }
        }
        // Back and Next.
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
        self.add(root, g);
    }
}

/// Runs libvirt's own `virt-xml-validate` on the XML.
fn validate(xml: &str) -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("passage-xml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let f = dir.join("domain.xml");
    std::fs::write(&f, xml).map_err(|e| e.to_string())?;
    let o = std::process::Command::new("virt-xml-validate")
        .arg(&f)
        .arg("domain")
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match o {
        Ok(o) if o.status.success() => Ok(tr("virt-xml-validate accepts it against libvirt's domain schema.")),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).lines().take(3).collect::<Vec<_>>().join(" ")),
        Err(_) => Ok(tr("Passage checked every field; virt-xml-validate (libvirt-clients) is not installed to check the schema too.")),
    }
}
