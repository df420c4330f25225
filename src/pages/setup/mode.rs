//! Host setup's "When the Card Goes to VMs": from boot on, only while a VM runs, or — for
//! the host's only card — only GPU (the desktop stops while the VM runs). Each radio sends
//! [`Input::Mode`], and the page plans again for that mode.

use passage_core::i18n::tr;
use passage_core::vm::session::GpuMode;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::{Input, SetupPage};

/// Every mode, in the order the page lists them: [`GpuMode::CHOICES`], then only GPU (shown
/// only for the card it is offered for, [`show_offered`]).
pub const ALL: [GpuMode; 3] = [GpuMode::AtBoot, GpuMode::WhileRunning, GpuMode::OnlyGpu];

/// "When the card goes to VMs": a radio per mode in [`ALL`]'s order, each sending
/// [`Input::Mode`].
pub fn group(
    sender: &ComponentSender<SetupPage>,
) -> (adw::PreferencesGroup, [gtk::CheckButton; 3]) {
    let g = adw::PreferencesGroup::new();
    g.set_title(&tr("When the Card Goes to VMs"));
    let choice =
        |title: &str, sub: &str, name: &str, mode: GpuMode, group: Option<&gtk::CheckButton>| {
            let c = crate::a11y::radio();
            c.set_group(group);
            c.set_widget_name(name);
            let r = crate::pages::row(title, sub);
            r.add_prefix(&c);
            r.set_activatable_widget(Some(&c));
            let s = sender.clone();
            c.connect_toggled(move |c| {
                if c.is_active() {
                    s.input(Input::Mode(mode));
                }
            });
            g.add(&r);
            c
        };
    let mut first: Option<gtk::CheckButton> = None;
    let radios = ALL.map(|mode| {
        let (sub, name) = match mode {
            GpuMode::AtBoot => (
                tr("The card is bound to vfio-pci at every start of this computer. On a day you need it on the host, choose the boot menu's entry that leaves it to its own driver."),
                "setup-mode-boot",
            ),
            GpuMode::WhileRunning => (
                tr("This computer keeps the card and lends it to a VM that asks for it, through libvirt's hook; the desktop is kept off it. Nothing changes at boot but the IOMMU."),
                "setup-mode-running",
            ),
            GpuMode::OnlyGpu => (tr("This computer's only graphics card goes to the VM while it runs: the display manager and every graphical session end when the VM starts (save your work first) and the desktop comes back when it shuts down. The VM needs its own keyboard and mouse (evdev or USB)."), "setup-mode-only"),
        };
        let c = choice(&mode.title(), &sub, name, mode, first.as_ref());
        c.set_active(mode == GpuMode::default());
        first.get_or_insert_with(|| c.clone());
        c
    });
    g.set_visible(false);
    (g, radios)
}

/// Shows the rows of the modes `offered` for the card (core's [`GpuMode::usable`]), the
/// others hidden.
pub fn show_offered(radios: &[gtk::CheckButton; 3], offered: &[GpuMode]) {
    for (mode, r) in ALL.iter().zip(radios) {
        if let Some(row) = r.ancestor(adw::ActionRow::static_type()) {
            row.set_visible(offered.contains(mode));
        }
    }
}
