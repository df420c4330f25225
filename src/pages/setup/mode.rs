//! Host setup's "When the Card Goes to VMs": from boot on, or only while a VM runs. Each
//! radio sends [`Input::Mode`], and the page plans again for that mode.

use passage_core::i18n::tr;
use passage_core::vm::session::GpuMode;
use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentSender};

use super::{Input, SetupPage};

/// "When the card goes to VMs": two radios, each sending [`Input::Mode`].
pub fn group(
    sender: &ComponentSender<SetupPage>,
) -> (adw::PreferencesGroup, [gtk::CheckButton; 2]) {
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
    let boot = choice(
        &tr("From boot on"),
        &tr("The card is bound to vfio-pci at every start of this computer, with a boot menu entry without it for a day you need the card."),
        "setup-mode-boot",
        GpuMode::AtBoot,
        None,
    );
    boot.set_active(true);
    let running = choice(
        &tr("Only while a VM runs"),
        &tr("This computer keeps the card and lends it to a VM that asks for it, through libvirt's hook; the desktop is kept off it. Nothing changes at boot but the IOMMU."),
        "setup-mode-running",
        GpuMode::WhileRunning,
        Some(&boot),
    );
    g.set_visible(false);
    (g, [boot, running])
}
