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
    } else if let Some(e) = w.downcast_ref::<gtk::Text>() {
        t.push(format!("text={}", e.text()));
    } else if let Some(b) = w.downcast_ref::<gtk::CheckButton>() {
        t.push(if b.is_active() {
            "[x]".into()
        } else {
            "[ ]".into()
        });
    }
    if let Some(text) = crate::console::terminal_text(w) {
        // A terminal's screen, its lines joined with ⏎ (one line of the dump).
        t.push(format!("terminal={}", text.trim_end().replace('\n', "⏎")));
    }
    t.extend(crate::console::screen_summary(w));
    if let Some(v) = w.downcast_ref::<gtk::TreeView>() {
        // The file chooser's list in GTK 4.8: rows are cells, not widgets.
        t.extend(tree_rows(v));
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

/// The text columns of a tree view's rows, each row as `row=a,b`.
#[allow(deprecated)]
fn tree_rows(v: &gtk::TreeView) -> Vec<String> {
    let Some(m) = v.model() else { return vec![] };
    let mut rows = vec![];
    let Some(mut it) = m.iter_first() else {
        return rows;
    };
    loop {
        let cells: Vec<String> = (0..m.n_columns())
            .filter_map(|c| m.get_value(&it, c).get::<String>().ok())
            .collect();
        rows.push(format!("row={}", cells.join(",")));
        if !m.iter_next(&mut it) {
            return rows;
        }
    }
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

/// Where the keyboard focus is: GTK 4.8 leaves the focused state set on nodes that lost focus
/// in the accessibility tree, so the keyboard test reads it here. The focused widget's type,
/// the title of the row it is in, the nearest widget name and the page it is on.
fn focus_line(window: &gtk::Window) -> String {
    let Some(f) = gtk::prelude::GtkWindowExt::focus(window) else {
        return "focus none".into();
    };
    let mut title = String::new();
    let mut name = String::new();
    let mut page = String::new();
    let mut w = Some(f.clone());
    while let Some(x) = w {
        if title.is_empty() {
            if let Some(r) = x.downcast_ref::<adw::PreferencesRow>() {
                title = r.title().to_string();
            }
        }
        let n = x.widget_name();
        if name.is_empty() && !n.starts_with("Gtk") && !n.starts_with("Adw") && !n.is_empty() {
            name = n.to_string();
        }
        if page.is_empty() && n.starts_with("page-") {
            page = n.to_string();
        }
        w = x.parent();
    }
    format!(
        "focus {} | {title} | name={name} | {page}",
        f.type_().name()
    )
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
    let _ = writeln!(out, "{}", focus_line(window));
    // Every toplevel: dialogs and the About window are not all the application's windows.
    for w in gtk::Window::list_toplevels() {
        walk(&w, 0, &mut out);
    }
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, out)?;
    std::fs::rename(tmp, path)
}
