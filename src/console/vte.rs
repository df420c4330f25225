//! VTE's terminal widget for GTK 4, through vte4-sys: the vte4 crate's `Terminal` needs
//! gtk4-rs's `v4_10` feature (GtkAccessible), whose build script demands GTK 4.10, and Debian
//! 12 has 4.8 (see src/a11y/ffi.rs for the same limit). Three calls are made here: a new
//! terminal, feeding it bytes to show, and reading its text back (the widget dump). Everything
//! else goes through GObject's properties and signals, which glib binds safely.
#![allow(unsafe_code)]

use relm4::gtk;
use relm4::gtk::glib::{self, prelude::*, translate::*};

fn terminal_type() -> glib::Type {
    // SAFETY: a plain getter of VteTerminal's GType (registering it on first use).
    unsafe { from_glib(vte_sys::vte_terminal_get_type()) }
}

/// A new VTE terminal.
pub fn new() -> gtk::Widget {
    // SAFETY: vte_terminal_new returns a new floating GtkWidget; from_glib_none sinks it.
    unsafe { from_glib_none(vte_sys::vte_terminal_new() as *mut gtk::ffi::GtkWidget) }
}

/// Whether `w` is a VTE terminal.
pub fn is_terminal(w: &gtk::Widget) -> bool {
    w.type_().is_a(terminal_type())
}

/// Shows `bytes` (the guest's output, escape sequences and all) in terminal `w`; does
/// nothing to a widget that is not one.
pub fn feed(w: &gtk::Widget, bytes: &[u8]) {
    if !is_terminal(w) || bytes.is_empty() {
        return;
    }
    let len = isize::try_from(bytes.len()).unwrap_or(isize::MAX);
    let t: *mut gtk::ffi::GtkWidget = w.to_glib_none().0;
    // SAFETY: `w` is a VteTerminal (checked) alive for the call; VTE copies `len` bytes
    // from `bytes`, which outlives the call.
    unsafe { vte_sys::vte_terminal_feed(t as *mut vte_sys::VteTerminal, bytes.as_ptr(), len) }
}

/// The text terminal `w` shows (its screen and scrollback); `None` for a widget that is not a
/// terminal.
pub fn text(w: &gtk::Widget) -> Option<String> {
    if !is_terminal(w) {
        return None;
    }
    let t: *mut gtk::ffi::GtkWidget = w.to_glib_none().0;
    // SAFETY: `w` is a VteTerminal (checked); with no selection function or attributes
    // vte_terminal_get_text returns a newly allocated string, which from_glib_full frees.
    let s: Option<glib::GString> = unsafe {
        from_glib_full(vte_sys::vte_terminal_get_text(
            t as *mut vte_sys::VteTerminal,
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        ))
    };
    s.map(|s| s.to_string())
}
