//! An error that stays on its page until the user acts (Dismiss, or the next attempt that
//! succeeds): what failed, the diagnosis in words, and libvirt's (or the helper's) full text,
//! wrapped so it reads whole at 360 px, selectable, with a Copy button. Toasts are for
//! successes only.

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::diagnose::Diagnosis;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::workers::libvirt::VmAction;

/// What failed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What failed ("The Last Start Failed").
    pub heading: String,
    /// The diagnosis: what it means, and what to do.
    pub title: String,
    pub fix: String,
    /// libvirt's own text, whole.
    pub raw: String,
}

impl Problem {
    /// A failure read by the diagnosis (core's `vm::diagnose`).
    pub fn diagnosed(heading: String, d: &Diagnosis, raw: String) -> Problem {
        Problem {
            heading,
            title: d.title.clone(),
            fix: d.fix.clone(),
            raw,
        }
    }
}

/// The problem as a group of its page; `dismiss` runs when the user dismisses it.
pub fn group(p: &Problem, dismiss: impl Fn() + 'static) -> adw::PreferencesGroup {
    let g = adw::PreferencesGroup::new();
    g.set_widget_name("problem");
    fill(&g, p, dismiss);
    g
}

fn fill(g: &adw::PreferencesGroup, p: &Problem, dismiss: impl Fn() + 'static) -> Vec<gtk::Widget> {
    g.set_title(&super::glib_escape(&p.heading));
    g.set_header_suffix(Some(&dismiss_button(&tr("Dismiss this error"), dismiss)));
    let r = super::row(&p.title, &p.fix);
    r.add_prefix(&crate::a11y::status_icon(
        "dialog-error-symbolic",
        &tr("Error"),
    ));
    g.add(&r);
    let text = raw_text(&p.raw);
    g.add(&text);
    vec![r.upcast(), text.upcast()]
}

/// libvirt's text: monospace, wrapped anywhere (paths and sockets have no spaces), selectable,
/// and a Copy button beside it.
fn raw_text(raw: &str) -> gtk::Box {
    let bx = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    bx.add_css_class("card");
    bx.set_margin_top(12);
    let l = super::wrapping(raw);
    l.add_css_class("monospace");
    l.set_selectable(true);
    l.set_hexpand(true);
    l.set_margin_top(8);
    l.set_margin_bottom(8);
    l.set_margin_start(12);
    let copy = copy_button(raw, &tr("Copy what libvirt said"));
    copy.set_valign(gtk::Align::Start);
    copy.set_margin_top(4);
    copy.set_margin_end(4);
    bx.append(&l);
    bx.append(&copy);
    bx
}

/// A group's flat Dismiss button (a cross); `says` is its name for screen readers.
pub fn dismiss_button(says: &str, dismiss: impl Fn() + 'static) -> gtk::Button {
    let close = gtk::Button::from_icon_name("window-close-symbolic");
    close.add_css_class("flat");
    close.set_valign(gtk::Align::Center);
    close.set_tooltip_text(Some(&tr("Dismiss")));
    crate::a11y::name(&close, says);
    close.connect_clicked(move |_| dismiss());
    close
}

/// A flat Copy button that puts `text` on the clipboard; `says` is its name for screen readers.
pub fn copy_button(text: &str, says: &str) -> gtk::Button {
    let copy = gtk::Button::from_icon_name("edit-copy-symbolic");
    copy.add_css_class("flat");
    copy.set_tooltip_text(Some(&tr("Copy")));
    crate::a11y::name(&copy, says);
    let text = text.to_string();
    copy.connect_clicked(move |b| b.clipboard().set_text(&text));
    copy
}

/// A page's place for its problem: a group that is hidden while there is none.
pub struct Slot {
    group: adw::PreferencesGroup,
    children: Vec<gtk::Widget>,
    shown: Option<Problem>,
}

impl Slot {
    pub fn new() -> Slot {
        let group = adw::PreferencesGroup::new();
        group.set_widget_name("problem");
        group.set_visible(false);
        Slot {
            group,
            children: vec![],
            shown: None,
        }
    }

    pub fn widget(&self) -> &adw::PreferencesGroup {
        &self.group
    }

    /// Shows `p` (replacing what was shown), or nothing.
    pub fn set(&mut self, p: Option<Problem>, dismiss: impl Fn() + 'static) {
        if p == self.shown {
            return;
        }
        for w in self.children.drain(..) {
            self.group.remove(&w);
        }
        if let Some(p) = &p {
            self.children = fill(&self.group, p, dismiss);
        }
        self.group.set_visible(p.is_some());
        self.shown = p;
    }
}

/// A failed action on a VM, in words: a start read by the diagnosis, the others said plainly.
pub fn of_vm(action: VmAction, vm: &str, raw: String) -> Problem {
    let vars = [("vm", vm)];
    let (heading, title, fix) = match action {
        VmAction::Start => {
            let d = passage_core::vm::diagnose::explain(&raw);
            return Problem::diagnosed(tr("The Last Start Failed"), &d, raw);
        }
        VmAction::ShutDown => (
            tr("Shut Down Failed"),
            tr_f("{vm} was not asked to shut down", &vars),
            tr("libvirt's text below says why. If the guest is stuck, Force Off is still there, behind a question."),
        ),
        VmAction::ForceOff => (
            tr("Force Off Failed"),
            tr_f("{vm} was not forced off", &vars),
            tr("libvirt's text below says why."),
        ),
        VmAction::Delete => (
            tr("Delete Failed"),
            tr_f("{vm} or one of its disk images was not deleted", &vars),
            tr("libvirt's text below names what failed; what it names is still there."),
        ),
    };
    Problem {
        heading,
        title,
        fix,
        raw,
    }
}

/// Any other request libvirt refused (reading a VM, saving its devices).
pub fn refused(raw: String) -> Problem {
    Problem {
        heading: tr("libvirt Refused"),
        title: tr("libvirt did not do what was asked"),
        fix: tr("Its text below says why."),
        raw,
    }
}

/// A Create that failed: nothing of it is left in libvirt.
pub fn create_failed(raw: String) -> Problem {
    Problem {
        heading: tr("Not Created"),
        title: tr("libvirt did not create the VM"),
        fix: tr("Nothing was kept: a disk image made for it was deleted again. libvirt's text below says why; change what it names and create again."),
        raw,
    }
}

/// An edit of a VM's settings that was not saved: nothing of it is kept.
pub fn edit_failed(f: &passage_virt::edit::EditFailed) -> Problem {
    use passage_virt::edit::EditFailed as F;
    let (title, fix) = match f {
        F::Read(_) => (
            tr("libvirt could not say what the VM is now"),
            tr("Nothing was changed. libvirt's text below says why."),
        ),
        F::Refused(_) => (
            tr("The VM cannot take this change"),
            tr("Nothing was changed. Change what the text below names, then save again."),
        ),
        F::Volume { .. } => (
            tr("A new disk image could not be made"),
            tr("Nothing was changed: images made for this edit were deleted again. libvirt's text below says why."),
        ),
        F::Define(_) => (
            tr("libvirt refused the new definition"),
            tr("Nothing was changed: images made for this edit were deleted again. libvirt's text below names what it refused."),
        ),
        F::Media(_) => (
            tr("The running VM did not take the new disc"),
            tr("Nothing was changed: its definition is as it was. libvirt's text below says why; shut the VM down and save again to change it from its next start."),
        ),
    };
    Problem {
        heading: tr("Not Saved"),
        title,
        fix,
        raw: f.to_string(),
    }
}

/// An authorization the helper refused or could not make (the VM was just created, or its
/// page's Authorize…): the VM cannot start until it is made.
pub fn not_authorized(vm: &str, raw: String) -> Problem {
    Problem {
        heading: tr("Not Authorized"),
        title: tr_f(
            "{vm} cannot start until its session is authorized",
            &[("vm", vm)],
        ),
        fix: tr("What it takes while it runs (its card, hugepages, CPUs) is authorized through Passage's helper, which did not do it: its text below says why. Install the helper as Host setup says, then press Authorize… on this page."),
        raw,
    }
}
