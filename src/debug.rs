//! A text dump of what a window shows: each mapped widget with its type and its text. The GUI
//! test asserts on it; it lists only what is on screen (mapped), so hidden pages don't count.

use std::fmt::Write as _;

use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk;

fn text_of(w: &gtk::Widget) -> Vec<String> {
    let mut t = vec![];
    if let Some(l) = w.downcast_ref::<gtk::Label>() {
        t.push(l.text().to_string());
    } else if let Some(r) = w.downcast_ref::<adw::PreferencesGroup>() {
        t.push(r.title().to_string());
    } else if let Some(r) = w.downcast_ref::<adw::WindowTitle>() {
        t.push(r.title().to_string());
    } else if let Some(s) = w.downcast_ref::<adw::StatusPage>() {
        t.push(s.title().to_string());
    } else if let Some(b) = w.downcast_ref::<gtk::CheckButton>() {
        t.push(if b.is_active() {
            "[x]".into()
        } else {
            "[ ]".into()
        });
    }
    if !w.is_sensitive() {
        t.push("(insensitive)".into());
    }
    let name = w.widget_name();
    if !name.is_empty() && !name.starts_with("Gtk") && !name.starts_with("Adw") {
        t.push(format!("#{name}"));
    }
    t
}

fn walk(w: &gtk::Widget, depth: usize, out: &mut String) {
    if !w.is_mapped() {
        return;
    }
    let _ = writeln!(
        out,
        "{}{} {}",
        "  ".repeat(depth),
        w.type_().name(),
        text_of(w).join(" | ")
    );
    let mut c = w.first_child();
    while let Some(child) = c {
        walk(&child, depth + 1, out);
        c = child.next_sibling();
    }
}

/// Writes the dump of every toplevel (dialogs included), the main window's size first.
pub fn dump(window: &gtk::Window, path: &str) -> std::io::Result<()> {
    let mut out = String::new();
    // The window's size (as asked and kept), then what its content was given.
    let _ = writeln!(
        out,
        "size {}x{}",
        window.default_width(),
        window.default_height()
    );
    let _ = writeln!(out, "alloc {}x{}", window.width(), window.height());
    let _ = writeln!(out, "dark {}", adw::StyleManager::default().is_dark());
    // Every toplevel: dialogs and the About window are not all the application's windows.
    for w in gtk::Window::list_toplevels() {
        walk(&w, 0, &mut out);
    }
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, out)?;
    std::fs::rename(tmp, path)
}
