//! GtkAccessible's update functions, which GTK has had since 4.0 but gtk4-rs binds only from
//! its `v4_10` feature (and that feature's build script demands GTK 4.10). This is the one
//! place Passage calls C itself: each call checks that the object is a GtkAccessible, passes
//! one property or state with a GValue of the type GTK documents for it, and borrows the
//! value only for the call.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_void};

use relm4::gtk::ffi::{GtkAccessibleProperty, GtkAccessibleState};
use relm4::gtk::glib::{self, gobject_ffi, prelude::*, translate::*};

extern "C" {
    fn gtk_accessible_get_type() -> glib::ffi::GType;
    fn gtk_accessible_update_property_value(
        accessible: *mut c_void,
        n_properties: c_int,
        properties: *mut GtkAccessibleProperty,
        values: *const gobject_ffi::GValue,
    );
    fn gtk_accessible_update_state_value(
        accessible: *mut c_void,
        n_states: c_int,
        states: *mut GtkAccessibleState,
        values: *const gobject_ffi::GValue,
    );
}

fn is_accessible(obj: &glib::Object) -> bool {
    // SAFETY: a plain getter of a registered GType.
    let t: glib::Type = unsafe { from_glib(gtk_accessible_get_type()) };
    obj.type_().is_a(t)
}

/// Sets one accessible property; does nothing to an object that is not accessible.
pub fn property(obj: &glib::Object, mut prop: GtkAccessibleProperty, value: &glib::Value) {
    if !is_accessible(obj) {
        return;
    }
    // SAFETY: `obj` implements GtkAccessible (checked above) and stays alive for the call; one
    // property and one initialised GValue, which GTK copies.
    unsafe {
        gtk_accessible_update_property_value(
            obj.as_ptr().cast(),
            1,
            &mut prop,
            value.to_glib_none().0,
        );
    }
}

/// Sets one accessible state; does nothing to an object that is not accessible.
pub fn state(obj: &glib::Object, mut st: GtkAccessibleState, value: &glib::Value) {
    if !is_accessible(obj) {
        return;
    }
    // SAFETY: as in `property`.
    unsafe {
        gtk_accessible_update_state_value(obj.as_ptr().cast(), 1, &mut st, value.to_glib_none().0);
    }
}
