//! A VM's SPICE display drawn by Passage: spice-client-glib's session, each channel's socket
//! from libvirt (virDomainOpenGraphicsFD, asked of `passagectl-vm graphics-fds` and passed on
//! with SCM_RIGHTS: no listening port, no password, no libvirt in the app), the display
//! channel's primary surface copied into a texture when the channel says a region changed
//! (display-invalidate; nothing polls), keys sent as PC scan codes, the mouse as positions
//! (client mode, with the guest's agent or a tablet) or as motion (server mode).

use std::cell::RefCell;
use std::os::fd::IntoRawFd;
use std::rc::Rc;

use relm4::gtk::{self, prelude::WidgetExt};
use spice_client_glib as spice;
use spice_client_glib::prelude::*;

use super::frame::{show_now, show_soon, Frame, Source};
use super::sockets::Asker;

/// A connected SPICE display.
pub struct Spice {
    session: spice::Session,
    inputs: Rc<RefCell<Option<spice::InputsChannel>>>,
    main: Rc<RefCell<Option<spice::MainChannel>>>,
    pub frame: Rc<RefCell<Frame>>,
}

impl Drop for Spice {
    fn drop(&mut self) {
        self.session.disconnect();
    }
}

impl Spice {
    /// Connects to display `index`, each channel's socket from `socket`, drawing into
    /// `picture`; `ended` is called (on the main loop) when the session closes or fails.
    pub fn connect(
        (socket, index): (Asker, u8),
        picture: &gtk::Picture,
        ended: impl Fn(Option<String>) + Clone + 'static,
    ) -> Result<Spice, String> {
        let session = spice::Session::new();
        let me = Spice {
            session: session.clone(),
            inputs: Rc::default(),
            main: Rc::default(),
            frame: Rc::default(),
        };
        let (inputs, main, frame) = (me.inputs.clone(), me.main.clone(), me.frame.clone());
        let picture = picture.clone();
        session.connect_channel_new(move |_, channel| {
            give_sockets(channel, socket.clone(), index, ended.clone());
            // The session connects its main channel; the app connects the others it wants
            // (each then asks for its socket), as spice-gtk's clients do.
            let wanted = channel.is::<spice::DisplayChannel>()
                || channel.is::<spice::InputsChannel>()
                || channel.is::<spice::CursorChannel>();
            if wanted {
                ChannelExt::connect(channel);
            }
            if let Some(d) = channel.downcast_ref::<spice::DisplayChannel>() {
                draw(d, &frame, &picture);
            } else if let Some(i) = channel.downcast_ref::<spice::InputsChannel>() {
                *inputs.borrow_mut() = Some(i.clone());
            } else if let Some(m) = channel.downcast_ref::<spice::MainChannel>() {
                *main.borrow_mut() = Some(m.clone());
                let p = picture.clone();
                m.connect_main_agent_update(move |m| resize(m, &p));
                let ended = ended.clone();
                m.connect_channel_event(move |_, event| {
                    if matches!(
                        event,
                        spice::ChannelEvent::Closed
                            | spice::ChannelEvent::ErrorConnect
                            | spice::ChannelEvent::ErrorIo
                            | spice::ChannelEvent::ErrorLink
                            | spice::ChannelEvent::ErrorAuth
                    ) {
                        ended((event != spice::ChannelEvent::Closed).then(|| format!("{event:?}")));
                    }
                });
            }
        });
        if !session.open_fd(-1) {
            return Err("SPICE refused the session".into());
        }
        Ok(me)
    }

    /// A key pressed (`down`) or released, by its PC scan code.
    pub fn key(&self, scancode: u32, down: bool) {
        if let Some(i) = self.inputs.borrow().as_ref() {
            if down {
                i.key_press(scancode);
            } else {
                i.key_release(scancode);
            }
        }
    }

    /// Whether the guest takes the pointer's position (client mode) rather than its motion.
    pub fn client_mouse(&self) -> bool {
        self.main
            .borrow()
            .as_ref()
            .is_some_and(|m| m.mouse_mode() == MOUSE_MODE_CLIENT)
    }

    /// The pointer at `(x, y)` of the guest's screen (client mode), with `buttons` held.
    pub fn position(&self, x: i32, y: i32, buttons: i32) {
        if let Some(i) = self.inputs.borrow().as_ref() {
            i.position(x, y, 0, buttons);
        }
    }

    /// The pointer moved by `(dx, dy)` (server mode).
    pub fn motion(&self, dx: i32, dy: i32, buttons: i32) {
        if let Some(i) = self.inputs.borrow().as_ref() {
            i.motion(dx, dy, buttons);
        }
    }

    /// Button `button` (SPICE's: 1 left, 2 middle, 3 right, 4/5 the wheel) pressed or released.
    pub fn button(&self, button: i32, down: bool, buttons: i32) {
        if let Some(i) = self.inputs.borrow().as_ref() {
            if down {
                i.button_press(button, buttons);
            } else {
                i.button_release(button, buttons);
            }
        }
    }

    /// Asks the guest (through its SPICE agent, where it runs) for a screen the size of
    /// `picture`.
    pub fn resize(&self, picture: &gtk::Picture) {
        if let Some(m) = self.main.borrow().as_ref() {
            resize(m, picture);
        }
    }
}

/// The guest's screen the size of `picture`, where its SPICE agent runs (spice-gtk sends the
/// monitor configuration a moment later, once for a burst of calls).
fn resize(m: &spice::MainChannel, picture: &gtk::Picture) {
    let (width, height) = (picture.width(), picture.height());
    if m.is_agent_connected() && width > 0 && height > 0 {
        m.update_display_enabled(0, true, false);
        m.update_display(0, 0, 0, width, height, true);
    }
}

/// SPICE_MOUSE_MODE_CLIENT (spice-protocol's enums.h).
const MOUSE_MODE_CLIENT: i32 = 2;

/// Each channel asks for its socket (open-fd): libvirt's, from the worker program, fetched
/// off the main loop and handed to the channel on it.
fn give_sockets(
    channel: &spice::Channel,
    socket: Asker,
    index: u8,
    ended: impl Fn(Option<String>) + Clone + 'static,
) {
    channel.connect_open_fd(move |channel, _tls| {
        let (channel, ended) = (channel.clone(), ended.clone());
        socket.ask(index, move |got| match got {
            Ok(fd) => {
                channel.open_fd(fd.into_raw_fd());
            }
            Err(why) => ended(Some(why)),
        });
    });
}

/// The display channel's surface into `frame`, shown in `picture` once a turn of the main
/// loop after the regions the channel invalidated.
fn draw(d: &spice::DisplayChannel, frame: &Rc<RefCell<Frame>>, picture: &gtk::Picture) {
    let (f, p) = (frame.clone(), picture.clone());
    d.connect_display_invalidate(move |d, x, y, w, h| {
        let Some(primary) = d.primary(0) else { return };
        let rect = [x, y, w, h].map(|v| usize::try_from(v).unwrap_or(0));
        f.borrow_mut()
            .copy(&source(&primary), (rect[0], rect[1], rect[2], rect[3]));
        show_soon(&f, &p);
    });
    let (f, p) = (frame.clone(), picture.clone());
    d.connect_display_primary_create(move |d| {
        if let Some(primary) = d.primary(0) {
            let (w, h) = (primary.width(), primary.height());
            f.borrow_mut().copy(&source(&primary), (0, 0, w, h));
            show_now(&f, &p);
        }
    });
}

/// SPICE's primary surface: 32-bit xRGB.
fn source(primary: &spice::DisplayPrimary) -> Source<'_> {
    Source {
        data: primary.data(),
        width: primary.width(),
        height: primary.height(),
        stride: primary.stride(),
    }
}
