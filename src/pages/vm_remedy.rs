//! The pre-flight's remedies on a VM's page: the button each finding carries, and what it does.
//! After the action the VM's page checks again (libvirt's details, or the host read anew).

use std::path::Path;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::preflight::Remedy;
use passage_core::vm::remedy_edit;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::vm_detail::{Input, LastStart, Output, VmDetail};
use crate::workers::libvirt::Request;

type Sender = ComponentSender<VmDetail>;

/// The button's label: what it does, with the amount, the network or the package named.
pub fn label(r: &Remedy) -> String {
    match r {
        Remedy::StartNetwork { network } => tr_f("Start the Network “{net}”", &[("net", network)]),
        Remedy::ReserveHugepages { size_kib, count } => {
            crate::logic::reserve_label(*size_kib, *count)
        }
        Remedy::TurnHugepagesOff => tr("Turn Hugepages Off for This VM"),
        Remedy::ChooseImage { .. } => tr("Choose a Disk Image…"),
        Remedy::InstallPackage { name } => {
            tr_f("Copy the Command to Install {pkg}", &[("pkg", name)])
        }
        Remedy::OpenHostSetup => tr("Open Host Setup"),
        Remedy::EditDevices => tr("Choose the Devices…"),
        Remedy::RomBarOn { .. } => tr("Turn the Card's ROM On"),
    }
}

pub fn button(r: &Remedy, sender: &Sender) -> gtk::Button {
    let b = gtk::Button::with_label(&label(r));
    b.set_valign(gtk::Align::Center);
    b.set_widget_name("remedy");
    let (s, r) = (sender.clone(), r.clone());
    b.connect_clicked(move |b| match &r {
        Remedy::ChooseImage { target } => choose_image(b, target, &s),
        r => s.input(Input::Remedy(r.clone())),
    });
    b
}

/// The distribution's command that installs `pkg` (Passage installs no packages itself).
pub fn install_command(pkg: &str) -> String {
    let has = |p: &str| Path::new(p).exists();
    if has("/usr/bin/apt") {
        format!("sudo apt install {pkg}")
    } else if has("/usr/bin/dnf") {
        format!("sudo dnf install {pkg}")
    } else if has("/usr/bin/pacman") {
        format!("sudo pacman -S {pkg}")
    } else {
        format!("sudo zypper install {pkg}")
    }
}

/// A package Passage needs and does not install itself (virt-viewer for Open Display): the
/// package named, and its install command to copy.
pub fn install_dialog(from: &impl IsA<gtk::Widget>, pkg: &str, sender: &Sender) {
    let window = from.root().and_then(|r| r.downcast::<gtk::Window>().ok());
    let d = adw::MessageDialog::new(
        window.as_ref(),
        Some(&tr_f("{pkg} Is Not Installed", &[("pkg", pkg)])),
        Some(&tr_f(
            "Passage shows the VM's screen with {pkg} (package {pkg}). Passage installs no packages itself: copy the command and run it in a terminal.",
            &[("pkg", pkg)],
        )),
    );
    d.set_widget_name("install-package");
    d.add_response("close", &tr("_Close"));
    d.add_response("copy", &label(&Remedy::InstallPackage { name: pkg.into() }));
    d.set_response_appearance("copy", adw::ResponseAppearance::Suggested);
    let (s, pkg) = (sender.clone(), pkg.to_string());
    d.connect_response(Some("copy"), move |_, _| {
        s.input(Input::Remedy(Remedy::InstallPackage { name: pkg.clone() }))
    });
    d.present();
}

fn choose_image(from: &gtk::Button, target: &str, sender: &Sender) {
    let (s, target) = (sender.clone(), target.to_string());
    super::chooser::open(from, (super::chooser::Kind::AnyImage, ""), "", move |p| {
        s.input(Input::ImageChosen(target.clone(), p))
    });
}

impl VmDetail {
    /// What a remedy's button does.
    pub(super) fn remedy(&mut self, r: Remedy, sender: &Sender) {
        let Some(d) = &self.details else { return };
        let name = d.name.clone();
        self.recheck = true;
        let out = match r {
            Remedy::StartNetwork { network } => {
                Output::Worker(Request::StartNetwork { vm: name, network })
            }
            Remedy::ReserveHugepages { size_kib, count } => Output::Reserve { size_kib, count },
            Remedy::TurnHugepagesOff => match remedy_edit::hugepages_off(&d.xml) {
                Ok(xml) => Output::Worker(Request::Redefine { name, xml }),
                Err(e) => Output::Toast(e.to_string()),
            },
            Remedy::RomBarOn { card } => match remedy_edit::rom_bar_on(&d.xml, card) {
                Ok(xml) => Output::Worker(Request::Redefine { name, xml }),
                Err(e) => Output::Toast(e.to_string()),
            },
            Remedy::ChooseImage { .. } => return,
            Remedy::InstallPackage { name: pkg } => {
                let cmd = install_command(&pkg);
                if let Some(display) = gtk::gdk::Display::default() {
                    display.clipboard().set_text(&cmd);
                }
                self.recheck = false;
                Output::Toast(tr_f(
                    "Copied “{cmd}”: run it in a terminal",
                    &[("cmd", &cmd)],
                ))
            }
            Remedy::OpenHostSetup => {
                self.recheck = false;
                Output::OpenSetup
            }
            Remedy::EditDevices => {
                self.recheck = false;
                Output::EditDevices(name)
            }
        };
        let _ = sender.output(out);
    }

    /// The chosen file in the drive `target`, and the VM redefined.
    pub(super) fn image_chosen(&mut self, target: &str, path: &Path, sender: &Sender) {
        let Some(d) = &self.details else { return };
        let out = match remedy_edit::set_image(&d.xml, target, &path.display().to_string()) {
            Ok(xml) => {
                self.recheck = true;
                Output::Worker(Request::Redefine {
                    name: d.name.clone(),
                    xml,
                })
            }
            Err(e) => Output::Toast(e.to_string()),
        };
        let _ = sender.output(out);
    }

    /// After a remedy: the pre-flight again, and its result on the page.
    pub(super) fn checked_again(&mut self) {
        let (Some(d), Some(dom), Some(l)) = (&self.details, &self.domain, &self.loaded) else {
            return;
        };
        if !std::mem::take(&mut self.recheck) {
            return;
        }
        let found = super::vm_detail::preflight_of(dom, l, d);
        self.last = Some(if found.is_empty() {
            LastStart::Passes
        } else {
            LastStart::Refused(found)
        });
    }
}
