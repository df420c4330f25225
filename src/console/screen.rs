//! The display session the screen shows, whichever protocol the VM's `<graphics>` speaks: what
//! the widget does (keys, the pointer, the frame, the guest's size) said once for both.

use std::cell::RefCell;
use std::rc::Rc;

use relm4::gtk;

use super::frame::Frame;
use super::sockets::Worker;
use super::spice::Spice;
use super::vnc::Vnc;

/// The protocols Passage draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Spice,
    Vnc,
}

impl Protocol {
    /// The protocol of a domain's `<graphics type=...>`, where Passage draws it.
    pub fn of(graphics_type: &str) -> Option<Protocol> {
        match graphics_type {
            "spice" => Some(Protocol::Spice),
            "vnc" => Some(Protocol::Vnc),
            _ => None,
        }
    }
}

/// The display Passage shows of a domain whose `<graphics>` are `types`, in order: its index
/// and protocol, SPICE first (its agent resizes the guest), else VNC.
pub fn choose(types: &[String]) -> Option<(u8, Protocol)> {
    [Protocol::Spice, Protocol::Vnc]
        .into_iter()
        .find_map(|want| {
            let i = types.iter().position(|t| Protocol::of(t) == Some(want))?;
            Some((u8::try_from(i).ok()?, want))
        })
}

/// A display session and the program that gave its sockets.
pub struct Screen {
    session: Session,
    /// Dropped after the session (fields drop in order), which ends the program.
    _worker: Worker,
}

enum Session {
    Spice(Spice),
    Vnc(Vnc),
}

impl Screen {
    /// Connects to display `index` (of `protocol`) of running VM `vm` at `uri`, drawing into
    /// `picture`; `ended` is called when the session closes, with why when it failed.
    pub fn connect(
        protocol: Protocol,
        (vm, uri, index): (&str, &str, u8),
        picture: &gtk::Picture,
        ended: impl Fn(Option<String>) + Clone + 'static,
    ) -> Result<Screen, String> {
        let (worker, socket) = Worker::start(vm, uri)?;
        let session = match protocol {
            Protocol::Spice => Session::Spice(Spice::connect((socket, index), picture, ended)?),
            Protocol::Vnc => Session::Vnc(Vnc::connect((socket, index), picture, ended)),
        };
        Ok(Screen {
            session,
            _worker: worker,
        })
    }

    pub fn frame(&self) -> &Rc<RefCell<Frame>> {
        match &self.session {
            Session::Spice(s) => &s.frame,
            Session::Vnc(v) => &v.frame,
        }
    }

    /// A key pressed (`down`) or released: its PC scan code (SPICE's key) and its X keysym
    /// (VNC sends both).
    pub fn key(&self, scancode: u32, keysym: u32, down: bool) {
        match &self.session {
            Session::Spice(s) => s.key(scancode, down),
            Session::Vnc(v) => v.key(scancode, keysym, down),
        }
    }

    /// Whether the guest takes the pointer's position rather than its motion.
    pub fn absolute(&self) -> bool {
        match &self.session {
            Session::Spice(s) => s.client_mouse(),
            Session::Vnc(v) => v.absolute(),
        }
    }

    /// The pointer at `(x, y)` of the guest's screen, with `buttons` (the held mask: left 1,
    /// middle 2, right 4).
    pub fn position(&self, x: i32, y: i32, buttons: i32) {
        match &self.session {
            Session::Spice(s) => s.position(x, y, buttons),
            Session::Vnc(v) => v.position(x, y, buttons),
        }
    }

    /// The pointer moved by `(dx, dy)`.
    pub fn motion(&self, dx: i32, dy: i32, buttons: i32) {
        match &self.session {
            Session::Spice(s) => s.motion(dx, dy, buttons),
            Session::Vnc(v) => v.motion(dx, dy, buttons),
        }
    }

    /// Button `button` (1 left, 2 middle, 3 right, 4/5 the wheel) pressed or released.
    pub fn button(&self, button: i32, down: bool, buttons: i32) {
        match &self.session {
            Session::Spice(s) => s.button(button, down, buttons),
            Session::Vnc(v) => v.button(button, down, buttons),
        }
    }

    /// The guest's screen the size of `picture`, where the guest can follow (SPICE's agent).
    pub fn resize(&self, picture: &gtk::Picture) {
        if let Session::Spice(s) = &self.session {
            s.resize(picture);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{choose, Protocol};

    #[test]
    fn spice_and_vnc_are_drawn_and_nothing_else() {
        assert_eq!(Protocol::of("spice"), Some(Protocol::Spice));
        assert_eq!(Protocol::of("vnc"), Some(Protocol::Vnc));
        assert_eq!(Protocol::of("rdp"), None);
        assert_eq!(Protocol::of("egl-headless"), None);
    }

    #[test]
    fn spice_is_shown_before_vnc_at_its_own_index() {
        let types = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            choose(&types(&["vnc", "spice"])),
            Some((1, Protocol::Spice))
        );
        assert_eq!(
            choose(&types(&["egl-headless", "vnc"])),
            Some((1, Protocol::Vnc))
        );
        assert_eq!(choose(&types(&["egl-headless"])), None);
        assert_eq!(choose(&[]), None);
    }
}
