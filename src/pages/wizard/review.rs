//! Review: a summary, the network and display, the domain XML checked by libvirt's
//! `virt-xml-validate`, and Create (with the disk image's progress).

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::{Network, VmSpec};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::rows::group;
use super::step::{Cx, Output};
use crate::pages::{code_view, row};
use crate::wizard::{step_of, Step};

/// What Review shows, and the parts the page updates later.
pub struct Review {
    pub groups: Vec<adw::PreferencesGroup>,
    pub progress: Option<gtk::ProgressBar>,
    pub validation: Option<adw::ActionRow>,
    /// The XML to validate, when the draft makes a VM.
    pub xml: Option<String>,
}

pub fn build(cx: &Cx) -> Review {
    let g = group(&tr("Review"), "");
    let create = gtk::Button::with_label(&tr("Create"));
    create.add_css_class("suggested-action");
    create.set_widget_name("create");
    create.set_valign(gtk::Align::Center);
    let s = cx.sender.clone();
    create.connect_clicked(move |_| {
        let _ = s.output(Output::Create);
    });
    match cx.d.spec(cx.host) {
        Err(e) => {
            let step = step_of(&e.field);
            create.set_sensitive(false);
            g.add(&not_ready(cx, &e.to_string(), step));
            Review {
                groups: vec![g],
                progress: None,
                validation: None,
                xml: None,
            }
        }
        Ok(spec) => {
            // Before Create, not after: a name or an image libvirt holds already.
            for why in crate::wizard::clashes(cx.d, cx.taken) {
                create.set_sensitive(false);
                g.add(&not_ready(cx, &why, Step::Name));
            }
            // The ROM file is walked again: it may have changed since it was chosen.
            if let Err(e) = cx.d.rom() {
                create.set_sensitive(false);
                g.add(&not_ready(cx, &e.why, Step::Pci));
            }
            // Create does not wait: a disk that holds a system already needs no disc.
            if spec.cdroms.is_empty() {
                g.add(&warning(
                    cx,
                    (&tr("No installation disc"), &tr("Warning")),
                    &tr("Unless its disk holds a system already, the VM has nothing to install from: choose an ISO on Install Media."),
                    Step::Media,
                ));
            }
            ready(cx, g, &create, &spec)
        }
    }
}

/// Why Create waits, with the step that changes it.
fn not_ready(cx: &Cx, why: &str, step: Step) -> adw::ActionRow {
    warning(cx, (&tr("Not ready yet"), &tr("Not ready")), why, step)
}

/// What Create does not wait for but the user should know, with the step that changes it.
/// `title` is the row's and its icon's (what a screen reader reads for it).
fn warning(cx: &Cx, title: (&str, &str), why: &str, step: Step) -> adw::ActionRow {
    let r = row(title.0, why);
    r.add_prefix(&crate::a11y::status_icon(
        "dialog-warning-symbolic",
        title.1,
    ));
    let go = gtk::Button::with_label(&step.title());
    go.set_valign(gtk::Align::Center);
    let s = cx.sender.clone();
    go.connect_clicked(move |_| {
        let _ = s.output(Output::Go(step));
    });
    r.add_suffix(&go);
    r
}

fn ready(cx: &Cx, g: adw::PreferencesGroup, create: &gtk::Button, spec: &VmSpec) -> Review {
    // With the card's <rom> as chosen (core's settings editor on the spec's XML).
    let xml =
        cx.d.domain_xml(cx.host)
            .or_else(|_| spec.to_xml())
            .unwrap_or_default();
    let summary = spec.summary();
    let r = row(
        &summary,
        &if cx.loaded.can_change() {
            String::new()
        } else if crate::workers::libvirt::uri().starts_with("test:") {
            tr("On the demo host the VM is made on libvirt's test driver: it starts and stops there as a real one would, but no guest runs.")
        } else {
            tr("On the demo host the VM is defined in this computer's libvirt, but its devices belong to the demo board: it will not start here.")
        },
    );
    r.add_suffix(create);
    g.add(&r);
    let network = match &spec.network {
        Some(Network::Nat { network }) => {
            tr_f("NAT through libvirt's “{net}” network", &[("net", network)])
        }
        Some(Network::Bridge { bridge }) => tr_f("Bridge {br} on this computer", &[("br", bridge)]),
        None => tr("No network"),
    };
    let display = if spec.spice {
        tr("SPICE display on")
    } else {
        tr("No SPICE display: the card's own outputs only")
    };
    g.add(&row(&network, &display));
    g.add(&row(&spec.session.gpu_mode.title(), &own_input(spec)));
    let v = row(&tr("Checking the XML…"), "");
    g.add(&v);
    let p = gtk::ProgressBar::new();
    p.set_visible(false);
    p.set_show_text(true);
    p.set_text(Some(&tr("Creating the disk image")));
    g.add(&p);
    let code = group(&tr("Domain XML"), &tr("What Passage gives libvirt."));
    let sw = code_view(&xml);
    sw.add_css_class("card");
    code.add(&sw);
    Review {
        groups: vec![g, code],
        progress: Some(p),
        validation: Some(v),
        xml: Some(xml),
    }
}

/// The VM's own keyboard and mouse (evdev, then USB devices), under its GPU mode's title:
/// what reaches it while the only-GPU mode has the host's desktop stopped.
fn own_input(spec: &VmSpec) -> String {
    let mut names: Vec<String> = spec
        .evdev
        .iter()
        .map(|p| passage_core::vm::labels::input_name(p))
        .collect();
    names.extend(spec.usb.iter().map(|u| {
        tr_f(
            "USB {id}",
            &[("id", &format!("{:04x}:{:04x}", u.vendor, u.product))],
        )
    }));
    if names.is_empty() {
        return tr("No keyboard or mouse of its own: the VM uses the SPICE window's");
    }
    tr_f(
        "Its own keyboard and mouse: {devices}",
        &[("devices", &names.join(", "))],
    )
}

/// Runs libvirt's own `virt-xml-validate` on the XML.
pub fn validate(xml: &str) -> Result<String, String> {
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
