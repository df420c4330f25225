//! The window's pages as child components, each one's outputs turned into the app's messages,
//! added to the stack under their page ids.

use relm4::gtk;
use relm4::{Component, ComponentController, ComponentSender, Controller};

use super::{App, Msg, Page};
use crate::pages::wizard as wizard_page;
use crate::pages::{check as check_page, devices, setup, vms};
use crate::wizard::Step;

pub(super) struct Pages {
    pub check: Controller<check_page::CheckPage>,
    pub devices: Controller<devices::DevicesPage>,
    pub setup: Controller<setup::SetupPage>,
    pub vms: Controller<vms::VmsPage>,
    pub wizard: Controller<wizard_page::Wizard>,
}

/// Launches every page and adds it to `stack`.
pub(super) fn launch(sender: &ComponentSender<App>, stack: &gtk::Stack) -> Pages {
    let check = check_page::CheckPage::builder()
        .launch(())
        .forward(sender.input_sender(), |o| match o {
            check_page::Output::Fix(f) => Msg::Fix(f),
            check_page::Output::Express(p, gpu) => Msg::Express(p, gpu),
            check_page::Output::Next => Msg::Navigate(Page::Devices),
        });
    let devices = devices::DevicesPage::builder()
        .launch(())
        .forward(sender.input_sender(), |o| match o {
            devices::Output::Chose(s) => Msg::Chose(s),
            devices::Output::Refused(why) => Msg::Refused(why),
            devices::Output::Express(p, gpu) => Msg::Express(p, gpu),
            devices::Output::Next => Msg::Navigate(Page::Setup),
        });
    let setup =
        setup::SetupPage::builder()
            .launch(())
            .forward(sender.input_sender(), |o| match o {
                setup::Output::Toast(t) => Msg::Toast(t),
                setup::Output::Mode(m) => Msg::WizardSet(crate::wizard::Choice::GpuMode(m)),
                setup::Output::Applied => Msg::Applied,
                setup::Output::Undone => Msg::Undone,
                setup::Output::Next => Msg::Navigate(Page::Vm(Step::ALL[0])),
            });
    let vms = vms::VmsPage::builder()
        .launch(())
        .forward(sender.input_sender(), |o| match o {
            vms::Output::Toast(t) => Msg::Toast(t),
            vms::Output::CreateFailed(p) => Msg::CreateFailed(p),
            vms::Output::Taken(t) => Msg::Taken(t),
            vms::Output::Started(name) => Msg::Started(name),
            vms::Output::Progress(f) => Msg::CreateProgress(f),
            vms::Output::Created(name) => Msg::Created(name),
            vms::Output::EditDevices(name) => Msg::EditDevices(name),
            vms::Output::Xml(name, xml) => Msg::EditOpen(name, xml),
            vms::Output::Hyperv(hv) => Msg::HostHyperv(hv),
            vms::Output::NewVm => Msg::Navigate(Page::Vm(Step::ALL[0])),
            vms::Output::Reserve { size_kib, count } => Msg::Reserve { size_kib, count },
            vms::Output::OpenSetup => Msg::Navigate(Page::Setup),
        });
    stack.add_named(check.widget(), Some(Page::Check.id()));
    stack.add_named(devices.widget(), Some(Page::Devices.id()));
    stack.add_named(setup.widget(), Some(Page::Setup.id()));
    stack.add_named(vms.widget(), Some(Page::Vms.id()));
    let wizard = wizard_page::Wizard::builder()
        .launch(())
        .forward(sender.input_sender(), |o| match o {
            wizard_page::Output::Toast(t) => Msg::Toast(t),
            wizard_page::Output::Go(to) => Msg::Navigate(Page::Vm(to)),
            wizard_page::Output::Devices => Msg::Navigate(Page::Devices),
            wizard_page::Output::Create { xml, volume } => Msg::CreateVm { xml, volume },
            wizard_page::Output::Mode(m) => Msg::SetupMode(m),
            wizard_page::Output::BootExtras(i) => Msg::SetupExtras(i),
            wizard_page::Output::NeedTaken => Msg::NeedTaken,
        });
    stack.add_named(wizard.widget(), Some("wizard"));
    Pages {
        check,
        devices,
        setup,
        vms,
        wizard,
    }
}
