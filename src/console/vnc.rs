//! A VM's VNC display drawn by Passage: gtk-vnc's GTK-free client (gvnc) on the socket libvirt
//! opens to QEMU (virDomainOpenGraphicsFD with SKIPAUTH, from `passagectl-vm graphics-fds`,
//! passed on with SCM_RIGHTS: no listening port, no password, no libvirt in the app). The
//! server's pixels are decoded into a framebuffer in Passage's format (vnc_fb.rs), copied into
//! the picture's texture when the server says a rectangle changed (nothing polls), and the next
//! incremental update is asked for then. Keys go as QEMU's extended key events (the scan code,
//! with the keysym), the mouse as positions (absolute mode: a tablet) or as motion around
//! 0x7FFF (relative mode, after the server's pointer type change).

use std::cell::{Cell, RefCell};
use std::os::fd::IntoRawFd;
use std::rc::Rc;

use gvnc::glib::{prelude::*, translate::IntoGlib};
use gvnc::prelude::FramebufferExt;
use gvnc::{Connection, ConnectionAuth, ConnectionEncoding as E, FramebufferManualExt};
use passage_core::i18n::tr_f;
use relm4::gtk;

use super::frame::{show_soon, Frame, Source};
use super::sockets::Asker;

/// The encodings Passage asks for, the server's first choice first: lossless compressed ones,
/// then the pseudo-encodings for QEMU's key events, the screen's size and format, and the
/// pointer's mode. No cursor encoding: the server leaves the guest's pointer in the picture.
const ENCODINGS: [E; 12] = [
    E::Tight,
    E::Zrle,
    E::Hextile,
    E::ExtKeyEvent,
    E::DesktopResize,
    E::Wmvi,
    E::LastRect,
    E::PointerChange,
    E::LedState,
    E::Rre,
    E::CopyRect,
    E::Raw,
];

/// A connected VNC display.
pub struct Vnc {
    conn: Connection,
    pub frame: Rc<RefCell<Frame>>,
    /// Where the pointer last was on the guest's screen (VNC sends buttons with a position).
    at: Cell<(u16, u16)>,
}

impl Drop for Vnc {
    fn drop(&mut self) {
        self.conn.shutdown();
    }
}

impl Vnc {
    /// Connects to display `index`, its socket from `socket`, drawing into `picture`; `ended`
    /// is called (on the main loop) when the connection closes or fails.
    pub fn connect(
        (socket, index): (Asker, u8),
        picture: &gtk::Picture,
        ended: impl Fn(Option<String>) + Clone + 'static,
    ) -> Vnc {
        let conn = Connection::new();
        // Shared: a viewer already open on the VM (virt-viewer) stays connected.
        let _ = conn.set_shared(true);
        let frame = Rc::default();
        watch(&conn, &frame, picture, ended.clone());
        let weak = conn.downgrade();
        socket.ask(index, move |got| {
            // A display left before its socket came takes nothing (the socket closes).
            let Some(conn) = weak.upgrade() else { return };
            let opened = got.and_then(|fd| {
                conn.open_fd(fd.into_raw_fd())
                    .map_err(|e| e.message.to_string())
            });
            if let Err(why) = opened {
                ended(Some(why));
            }
        });
        Vnc {
            conn,
            frame,
            at: Cell::new((0, 0)),
        }
    }

    /// A key pressed (`down`) or released: its PC scan code, and its X keysym.
    pub fn key(&self, scancode: u32, keysym: u32, down: bool) {
        let code = passage_core::keymap::qnum(scancode);
        let _ = self.conn.key_event(down, keysym, code);
    }

    /// Whether the server takes the pointer's position (a tablet) rather than its motion.
    pub fn absolute(&self) -> bool {
        self.conn.is_abs_pointer()
    }

    /// The pointer at `(x, y)` of the guest's screen (absolute mode), with `buttons` held.
    pub fn position(&self, x: i32, y: i32, buttons: i32) {
        let at = (clamp16(x), clamp16(y));
        self.at.set(at);
        let _ = self.conn.pointer_event(buttons_mask(buttons), at.0, at.1);
    }

    /// The pointer moved by `(dx, dy)` (relative mode: sent around 0x7FFF).
    pub fn motion(&self, dx: i32, dy: i32, buttons: i32) {
        let (x, y) = (clamp16(0x7fff + dx), clamp16(0x7fff + dy));
        let _ = self.conn.pointer_event(buttons_mask(buttons), x, y);
    }

    /// Button `button` (1 left, 2 middle, 3 right, 4/5 the wheel) pressed or released, with
    /// `buttons` (the held mask) after it.
    pub fn button(&self, button: i32, down: bool, buttons: i32) {
        let mut mask = buttons_mask(buttons);
        if down && (4..=5).contains(&button) {
            mask |= 1 << (button - 1);
        }
        let (x, y) = if self.absolute() {
            self.at.get()
        } else {
            (0x7fff, 0x7fff)
        };
        let _ = self.conn.pointer_event(mask, x, y);
    }
}

/// The buttons held, as VNC's mask (bit 0 left, 1 middle, 2 right: the SPICE mask's bits).
fn buttons_mask(buttons: i32) -> u8 {
    (buttons & 0b111) as u8
}

fn clamp16(v: i32) -> u16 {
    v.clamp(0, i32::from(u16::MAX)) as u16
}

/// The connection's signals: authentication (none: libvirt's socket is this client's), the
/// first screen, its size and format, and each changed rectangle.
fn watch(
    conn: &Connection,
    frame: &Rc<RefCell<Frame>>,
    picture: &gtk::Picture,
    ended: impl Fn(Option<String>) + Clone + 'static,
) {
    let error: Rc<RefCell<Option<String>>> = Rc::default();
    let e = error.clone();
    conn.connect_vnc_auth_choose_type(move |c, types| {
        let offered: Vec<ConnectionAuth> = types.iter().filter_map(|t| t.get().ok()).collect();
        let none = offered.contains(&ConnectionAuth::None);
        let chosen = none
            && c.set_auth_type(ConnectionAuth::None.into_glib() as u32)
                .is_ok();
        if !chosen {
            // Anything else wants a password or a certificate of Passage's own.
            let kinds: Vec<String> = offered.iter().map(|a| a.into_glib().to_string()).collect();
            *e.borrow_mut() = Some(unsupported(&kinds.join(", ")));
            c.shutdown();
        }
    });
    conn.connect_vnc_initialized(|c| {
        let ok = c.set_pixel_format(&super::vnc_fb::local_format()).is_ok()
            && c.set_encodings(&ENCODINGS.map(|e| e.into_glib())).is_ok();
        if ok {
            new_framebuffer(c, c.width(), c.height());
        } else {
            c.shutdown();
        }
    });
    conn.connect_vnc_desktop_resize(new_framebuffer);
    conn.connect_vnc_pixel_format_changed(|c, _| new_framebuffer(c, c.width(), c.height()));
    let (f, p) = (frame.clone(), picture.clone());
    conn.connect_vnc_framebuffer_update(move |c, x, y, w, h| {
        if let Some(fb) = c.framebuffer() {
            let rect = [x, y, w, h].map(|v| usize::try_from(v).unwrap_or(0));
            f.borrow_mut()
                .copy(&source(&fb), (rect[0], rect[1], rect[2], rect[3]));
            show_soon(&f, &p);
        }
        request(c, true);
    });
    let e = error.clone();
    conn.connect_vnc_error(move |_, why| *e.borrow_mut() = Some(why.to_string()));
    let e = error.clone();
    conn.connect_vnc_auth_failure(move |_, why| *e.borrow_mut() = Some(why.to_string()));
    let e = error.clone();
    conn.connect_vnc_auth_unsupported(move |_, kind| {
        *e.borrow_mut() = Some(unsupported(&kind.to_string()));
    });
    conn.connect_vnc_disconnected(move |_| ended(error.borrow_mut().take()));
}

/// Why the session ended when the server wants authentication of kinds `kinds` (RFB's
/// numbers): libvirt's socket skips VNC's password, so this is a server that asks for more.
fn unsupported(kinds: &str) -> String {
    tr_f(
        "the VNC server asks for an authentication Passage does not support (type {kind})",
        &[("kind", kinds)],
    )
}

/// A framebuffer for a `w`×`h` screen in the server's current pixel format, and the whole
/// screen asked for.
fn new_framebuffer(c: &Connection, w: i32, h: i32) {
    let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else {
        c.shutdown();
        return;
    };
    let Some(remote) = c.pixel_format() else {
        return;
    };
    let fb = super::vnc_fb::new(w, h, &remote);
    if c.set_framebuffer(&fb).is_err() {
        c.shutdown();
        return;
    }
    request(c, false);
}

/// Asks for the screen's changes (`incremental`) or all of it.
fn request(c: &Connection, incremental: bool) {
    let (w, h) = (clamp16(c.width()), clamp16(c.height()));
    let _ = c.framebuffer_update_request(incremental, 0, 0, w, h);
}

/// gvnc's framebuffer: 32-bit xRGB after vnc_fb.rs's local format.
fn source(fb: &gvnc::Framebuffer) -> Source<'_> {
    Source {
        data: fb.buffer(),
        width: usize::from(fb.width()),
        height: usize::from(fb.height()),
        stride: usize::try_from(fb.rowstride()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::{buttons_mask, clamp16};

    #[test]
    fn buttons_and_positions_fit_vnc() {
        // Left and right held: bits 0 and 2; nothing beyond the three buttons.
        assert_eq!(buttons_mask(0b101), 0b101);
        assert_eq!(buttons_mask(0b1111_1010), 0b010);
        assert_eq!(clamp16(-5), 0);
        assert_eq!(clamp16(70_000), u16::MAX);
        assert_eq!(clamp16(0x7fff + 3), 0x8002);
    }
}
