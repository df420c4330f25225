//! The Display group of a VM's page: the guest's screen (spice.rs or vnc.rs) scaled to fit
//! with its aspect kept, Connect / Disconnect, the keyboard's grab state (the screen has the
//! keyboard while it has the focus: a click takes it, Ctrl+Alt gives it back) and a menu of
//! the keys the desktop would take for itself (Ctrl+Alt+Del, Ctrl+Alt+F1…F12).

use std::cell::RefCell;
use std::rc::Rc;

use passage_core::i18n::{tr, tr_f};
use passage_core::keymap::{send, xt_scancode};
use relm4::adw::prelude::*;
use relm4::gtk::glib::translate::IntoGlib;
use relm4::{adw, gtk};

use super::screen::Screen;
pub use super::screen::{choose, Protocol};

/// Where the VM stands for its display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Can {
    /// No SPICE or VNC `<graphics>`: nothing Passage draws.
    NoDisplay,
    NotRunning,
    /// Connect to the domain's `<graphics>` at this index, which speaks this protocol.
    Connect(u8, Protocol),
}

pub(super) type Shared = Rc<RefCell<Option<Screen>>>;

pub struct Display {
    group: adw::PreferencesGroup,
    picture: gtk::Picture,
    button: gtk::Button,
    keys: gtk::MenuButton,
    grab: gtk::Label,
    screen: Shared,
    /// Sessions started: the last is the one shown.
    sessions: u64,
    vm: String,
    can: Can,
    failed: Option<String>,
}

impl Display {
    /// The group, with `connect` called by its button.
    pub fn new(connect: impl Fn() + 'static) -> Self {
        let group = adw::PreferencesGroup::new();
        group.set_title(&tr("Display"));
        group.set_widget_name("display-console");
        let button = gtk::Button::with_label(&tr("Connect"));
        button.set_widget_name("display-connect");
        button.connect_clicked(move |_| connect());
        button.set_valign(gtk::Align::Center);
        group.set_header_suffix(Some(&button));
        let keys = gtk::MenuButton::new();
        keys.set_label(&tr("Send Key"));
        keys.set_widget_name("display-keys");
        keys.set_valign(gtk::Align::Center);
        crate::a11y::name(&keys, &tr("Send a Key Combination to the VM"));
        let picture = gtk::Picture::new();
        picture.set_widget_name("display-screen");
        picture.set_can_shrink(true);
        picture.set_content_fit(gtk::ContentFit::Contain);
        picture.set_focusable(true);
        picture.set_size_request(-1, 360);
        let grab = gtk::Label::new(None);
        grab.set_widget_name("display-grab");
        grab.add_css_class("dim-label");
        grab.set_wrap(true);
        grab.set_hexpand(true);
        grab.set_xalign(0.0);
        // Under the screen: the grab state, and the keys the desktop would take (beside
        // Disconnect in the header, the group would not fit 360 px).
        let foot = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        foot.append(&grab);
        foot.append(&keys);
        let bx = gtk::Box::new(gtk::Orientation::Vertical, 6);
        let frame = gtk::Frame::new(None);
        frame.set_child(Some(&picture));
        bx.append(&frame);
        bx.append(&foot);
        bx.set_visible(false);
        group.add(&bx);
        let screen: Shared = Rc::default();
        keys.set_popover(Some(&keys_menu(&screen)));
        input(&picture, &screen, &grab);
        follow_size(&picture, &screen);
        Display {
            group,
            picture,
            button,
            keys,
            grab,
            screen,
            sessions: 0,
            vm: String::new(),
            can: Can::NotRunning,
            failed: None,
        }
    }

    pub fn group(&self) -> &adw::PreferencesGroup {
        &self.group
    }

    /// The page shows `vm`, which `can` be shown; a session of another VM, or of one that
    /// stopped, ends.
    pub fn show(&mut self, vm: &str, can: Can) {
        if self.vm != vm {
            self.end();
            self.failed = None;
        }
        if !matches!(can, Can::Connect(..)) {
            self.end();
        }
        self.vm = vm.to_string();
        self.can = can;
        self.describe();
    }

    pub fn leave(&mut self) {
        self.end();
        self.describe();
    }

    /// Connects, or with a session running ends it. `ended` reports the session's end with
    /// its number (a session already left may report after the next one started).
    pub fn toggle(&mut self, uri: &str, ended: impl Fn(u64, Option<String>) + Clone + 'static) {
        if self.screen.borrow().is_some() {
            self.leave();
            return;
        }
        let Can::Connect(index, protocol) = self.can else {
            return;
        };
        self.failed = None;
        self.sessions += 1;
        let id = self.sessions;
        let ended = move |why| ended(id, why);
        match Screen::connect(protocol, (&self.vm, uri, index), &self.picture, ended) {
            Ok(s) => {
                *self.screen.borrow_mut() = Some(s);
                if let Some(bx) = self.picture.parent().and_then(|f| f.parent()) {
                    bx.set_visible(true);
                }
                self.picture.grab_focus();
            }
            Err(e) => self.failed = Some(e),
        }
        self.describe();
    }

    /// Session `id` ended (`why` when it failed); an earlier one's end is not this one's.
    pub fn ended(&mut self, id: u64, why: Option<String>) {
        if id != self.sessions {
            return;
        }
        self.end();
        self.failed = why;
        self.describe();
    }

    fn end(&mut self) {
        self.screen.borrow_mut().take();
    }

    fn describe(&self) {
        let connected = self.screen.borrow().is_some();
        let text = match (connected, self.can, &self.failed) {
            (true, ..) => {
                tr("Click the screen to type in the VM; Ctrl+Alt gives the keyboard back.")
            }
            (false, Can::NoDisplay, _) => {
                tr("This VM has no SPICE or VNC display for Passage to show.")
            }
            (false, Can::NotRunning, _) => tr("Start the VM to see its screen here."),
            (false, Can::Connect(..), Some(why)) => {
                tr_f("The display closed: {why}", &[("why", why)])
            }
            (false, Can::Connect(..), None) => {
                tr("The VM's screen, here on its page, through libvirt (no port is opened).")
            }
        };
        self.group.set_description(Some(&text));
        super::session_button(
            &self.button,
            connected,
            matches!(self.can, Can::Connect(..)),
            (
                &tr("Connect to the Screen"),
                &tr("Disconnect from the Screen"),
            ),
        );
        self.keys.set_visible(connected);
        crate::a11y::name(&self.picture, &tr_f("Screen of {vm}", &[("vm", &self.vm)]));
        crate::a11y::describe(
            &self.picture,
            &tr("Click or focus it to type in the VM; press Ctrl+Alt to release the keyboard."),
        );
        grab_words(&self.grab, self.picture.has_focus());
    }
}

fn grab_words(grab: &gtk::Label, grabbed: bool) {
    grab.set_text(&if grabbed {
        tr("The VM has the keyboard: press Ctrl+Alt to release it.")
    } else {
        tr("Click the screen to give the VM the keyboard.")
    });
}

/// Keys and focus: while the screen has the focus every key goes to the guest as its scan
/// code (Tab too); Ctrl+Alt releases it.
fn input(picture: &gtk::Picture, screen: &Shared, grab: &gtk::Label) {
    let keys = gtk::EventControllerKey::new();
    let (s, p) = (screen.clone(), picture.clone());
    keys.connect_key_pressed(move |_, key, code, state| {
        use gtk::gdk::{Key, ModifierType};
        let ctrl = matches!(key, Key::Control_L | Key::Control_R);
        let alt = matches!(key, Key::Alt_L | Key::Alt_R);
        let releasing = (ctrl && state.contains(ModifierType::ALT_MASK))
            || (alt && state.contains(ModifierType::CONTROL_MASK));
        if let Some(screen) = s.borrow().as_ref() {
            if releasing {
                for k in [send::CTRL, send::ALT] {
                    screen.key(k, send::keysym(k), false);
                }
                release(&p);
                return gtk::glib::Propagation::Stop;
            }
            if let Some(sc) = code.checked_sub(8).and_then(xt_scancode) {
                screen.key(sc, key.into_glib(), true);
            }
            return gtk::glib::Propagation::Stop;
        }
        gtk::glib::Propagation::Proceed
    });
    let s = screen.clone();
    keys.connect_key_released(move |_, key, code, _| {
        if let (Some(screen), Some(sc)) = (
            s.borrow().as_ref(),
            code.checked_sub(8).and_then(xt_scancode),
        ) {
            screen.key(sc, key.into_glib(), false);
        }
    });
    picture.add_controller(keys);
    let focus = gtk::EventControllerFocus::new();
    let g = grab.clone();
    focus.connect_enter(move |_| grab_words(&g, true));
    let g = grab.clone();
    focus.connect_leave(move |_| grab_words(&g, false));
    picture.add_controller(focus);
    super::pointer::attach(picture, screen);
}

/// When the window is resized, the guest's screen follows the picture's size (with SPICE's
/// agent; spice.rs also asks when the agent comes up).
fn follow_size(picture: &gtk::Picture, screen: &Shared) {
    let hooked = Rc::new(std::cell::Cell::new(false));
    let s = screen.clone();
    picture.connect_map(move |p| {
        let Some(window) = p.root().and_downcast::<gtk::Window>() else {
            return;
        };
        if hooked.replace(true) {
            return;
        }
        for prop in ["default-width", "default-height"] {
            let (s, p) = (s.clone(), p.clone());
            window.connect_notify_local(Some(prop), move |_, _| {
                if let Some(screen) = s.borrow().as_ref() {
                    screen.resize(&p);
                }
            });
        }
    });
}

/// Gives the keyboard back: the focus goes to the next control outside the screen.
fn release(picture: &gtk::Picture) {
    if let Some(root) = picture.root() {
        let _ = root.child_focus(gtk::DirectionType::TabForward);
        if picture.has_focus() {
            gtk::prelude::RootExt::set_focus(&root, None::<&gtk::Widget>);
        }
    }
}

/// The Send Key menu: Ctrl+Alt+Del and Ctrl+Alt+F1…F12, pressed and released in order.
fn keys_menu(screen: &Shared) -> gtk::Popover {
    let pop = gtk::Popover::new();
    let bx = gtk::Box::new(gtk::Orientation::Vertical, 2);
    let mut combos: Vec<(String, Vec<u32>)> = vec![(
        tr("Ctrl+Alt+Del"),
        vec![send::CTRL, send::ALT, send::DELETE],
    )];
    for (n, f) in send::F.iter().enumerate() {
        combos.push((
            tr_f("Ctrl+Alt+F{n}", &[("n", &(n + 1).to_string())]),
            vec![send::CTRL, send::ALT, *f],
        ));
    }
    for (label, codes) in combos {
        let b = gtk::Button::with_label(&label);
        b.add_css_class("flat");
        let (s, p) = (screen.clone(), pop.clone());
        b.connect_clicked(move |_| {
            if let Some(screen) = s.borrow().as_ref() {
                let key = |c: &u32, down| screen.key(*c, send::keysym(*c), down);
                codes.iter().for_each(|c| key(c, true));
                codes.iter().rev().for_each(|c| key(c, false));
            }
            p.popdown();
        });
        bx.append(&b);
    }
    pop.set_child(Some(&bx));
    pop
}
