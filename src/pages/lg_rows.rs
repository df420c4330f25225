//! Looking Glass's rows, shared by the wizard, the express dialog and Edit…: the monitor the
//! guest draws for (Off, 1080p, 1440p, 4K, or a custom WIDTHxHEIGHT), HDR, and the shared
//! memory core sizes for it on this host's backing, said as it changes. Each change gives the
//! monitor (`None`: no Looking Glass) to the page's own message.

use std::cell::RefCell;
use std::rc::Rc;

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::looking_glass::{Backing, Monitor, PRESETS};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

/// What the rows hold: the combo's index, the custom size's text, HDR.
#[derive(Debug, Clone, Default)]
struct State {
    at: u32,
    custom: String,
    hdr: bool,
}

impl State {
    fn of(m: Option<Monitor>) -> State {
        let Some(m) = m else {
            return State::default();
        };
        let at = PRESETS
            .iter()
            .position(|(_, w, h)| *w == m.width && *h == m.height)
            .map_or(PRESETS.len() as u32 + 1, |i| i as u32 + 1);
        State {
            at,
            custom: format!("{}x{}", m.width, m.height),
            hdr: m.hdr,
        }
    }

    /// The monitor chosen; `None` for Off, or a custom size that is not one yet.
    fn monitor(&self) -> Option<Monitor> {
        let hdr = self.hdr;
        match self.at as usize {
            0 => None,
            i if i <= PRESETS.len() => {
                let (_, width, height) = PRESETS[i - 1];
                Some(Monitor { width, height, hdr })
            }
            _ => Monitor::parse(self.custom.trim())
                .ok()
                .map(|m| Monitor { hdr, ..m }),
        }
    }
}

/// What the memory is, in words.
fn memory_words(m: Option<Monitor>, backing: Backing) -> String {
    match m {
        None => tr("Off: the guest's screen is on the card's own outputs only."),
        Some(m) => tr_f(
            "{mib} MiB of shared memory on {path} for {monitor} (the Looking Glass client shows the guest's screen in a window here)",
            &[
                ("mib", &m.shm_mib().to_string()),
                ("path", backing.path()),
                ("monitor", &m.to_string()),
            ],
        ),
    }
}

/// The rows for `current` on `backing`, named `{prefix}-looking-glass`, `-lg-size`, `-lg-hdr`;
/// `changed` gets the monitor whenever the choice makes one (or Off).
pub fn rows(
    prefix: &str,
    current: Option<Monitor>,
    backing: Backing,
    changed: impl Fn(Option<Monitor>) + 'static,
) -> Vec<gtk::Widget> {
    let state = Rc::new(RefCell::new(State::of(current)));
    let combo = adw::ComboRow::new();
    combo.set_title(&tr("Looking Glass"));
    combo.set_subtitle(&memory_words(current, backing));
    combo.set_subtitle_lines(0);
    combo.set_widget_name(&format!("{prefix}-looking-glass"));
    let words = [
        tr("Off"),
        "1080p".into(),
        "1440p".into(),
        "4K".into(),
        tr("Custom"),
    ];
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    combo.set_model(Some(&gtk::StringList::new(&words)));
    combo.set_selected(state.borrow().at);
    crate::a11y::hide_decorations(combo.upcast_ref());
    let size = adw::EntryRow::new();
    size.set_title(&tr("Custom size (WIDTHxHEIGHT)"));
    size.set_text(&state.borrow().custom);
    size.set_widget_name(&format!("{prefix}-lg-size"));
    crate::a11y::hide_decorations(size.upcast_ref());
    let hdr = gtk::Switch::new();
    hdr.set_active(state.borrow().hdr);
    hdr.set_valign(gtk::Align::Center);
    hdr.set_widget_name(&format!("{prefix}-lg-hdr"));
    let hdr_row = crate::pages::row(&tr("HDR Monitor"), &tr("Twice the memory a pixel."));
    hdr_row.add_suffix(&hdr);
    hdr_row.set_activatable_widget(Some(&hdr));
    let changed = Rc::new(changed);
    let tell = {
        let (state, combo, changed) = (state.clone(), combo.clone(), changed.clone());
        Rc::new(move || {
            let m = state.borrow().monitor();
            combo.set_subtitle(&memory_words(m, backing));
            if state.borrow().at as usize <= PRESETS.len() || m.is_some() {
                changed(m);
            }
        })
    };
    let (st, t) = (state.clone(), tell.clone());
    combo.connect_selected_notify(move |c| {
        st.borrow_mut().at = c.selected();
        t();
    });
    let (st, t, c) = (state.clone(), tell.clone(), combo.clone());
    size.connect_changed(move |e| {
        st.borrow_mut().custom = e.text().to_string();
        // A size typed is the custom choice (the combo's handler then tells).
        let custom = PRESETS.len() as u32 + 1;
        if c.selected() == custom {
            t();
        } else {
            c.set_selected(custom);
        }
    });
    let (st, t) = (state, tell);
    hdr.connect_state_set(move |_, v| {
        st.borrow_mut().hdr = v;
        t();
        relm4::gtk::glib::Propagation::Proceed
    });
    vec![combo.upcast(), size.upcast(), hdr_row.upcast()]
}

/// Looking Glass's host files for this user through the helper (ConfigureLookingGlass; polkit
/// asks): the helper's summary, or what was not done and where the pre-flight says so.
pub async fn host_files() -> String {
    match crate::pages::setup::helper::configure_looking_glass().await {
        Ok((_, summary)) => tr_f("Looking Glass: {summary}", &[("summary", &summary)]),
        Err(e) => tr_f(
            "Looking Glass's host files were not set up ({why}); the VM's pre-flight says what is missing",
            &[("why", &e.text)],
        ),
    }
}
