//! The mouse on the guest's screen: where the pointer is on the scaled picture, in the
//! guest's pixels; in absolute mode (SPICE's client mode, VNC's absolute pointer) sent as
//! positions (the guest's agent or tablet puts its pointer there), else as motion; buttons and
//! the wheel as SPICE's buttons (screen.rs says them in VNC's mask).

use std::cell::Cell;
use std::rc::Rc;

use relm4::gtk::{self, prelude::*};

use super::display_fit::to_guest;

use super::display::Shared;

/// SPICE's button mask bits (spice-protocol: left 1, middle 2, right 4).
fn mask_of(button: u32) -> i32 {
    match button {
        1 => 1,
        2 => 2,
        3 => 4,
        _ => 0,
    }
}

pub fn attach(picture: &gtk::Picture, screen: &Shared) {
    let held = Rc::new(Cell::new(0i32));
    let last: Rc<Cell<Option<(i32, i32)>>> = Rc::default();
    let motion = gtk::EventControllerMotion::new();
    let (s, p, h, l) = (screen.clone(), picture.clone(), held.clone(), last.clone());
    motion.connect_motion(move |_, x, y| {
        let s = s.borrow();
        let Some(screen) = s.as_ref() else { return };
        let frame = screen.frame().borrow();
        let Some((gx, gy)) = to_guest(&p, (frame.width, frame.height), (x, y)) else {
            return;
        };
        drop(frame);
        if screen.absolute() {
            screen.position(gx, gy, h.get());
        } else if let Some((lx, ly)) = l.replace(Some((gx, gy))) {
            screen.motion(gx - lx, gy - ly, h.get());
        }
    });
    picture.add_controller(motion);
    let click = gtk::GestureClick::new();
    click.set_button(0);
    let (s, p, h) = (screen.clone(), picture.clone(), held.clone());
    click.connect_pressed(move |g, _, _, _| {
        p.grab_focus();
        let b = g.current_button();
        h.set(h.get() | mask_of(b));
        if let Some(screen) = s.borrow().as_ref() {
            screen.button(b as i32, true, h.get());
        }
    });
    let (s, h) = (screen.clone(), held.clone());
    click.connect_released(move |g, _, _, _| {
        let b = g.current_button();
        h.set(h.get() & !mask_of(b));
        if let Some(screen) = s.borrow().as_ref() {
            screen.button(b as i32, false, h.get());
        }
    });
    picture.add_controller(click);
    let scroll = gtk::EventControllerScroll::new(gtk::EventControllerScrollFlags::VERTICAL);
    let (s, h) = (screen.clone(), held);
    scroll.connect_scroll(move |_, _, dy| {
        if let Some(screen) = s.borrow().as_ref() {
            // The wheel: button 4 up, 5 down, pressed and released.
            let b = if dy < 0.0 { 4 } else { 5 };
            screen.button(b, true, h.get());
            screen.button(b, false, h.get());
        }
        gtk::glib::Propagation::Stop
    });
    picture.add_controller(scroll);
}
