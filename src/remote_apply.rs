//! Host setup applied on a remote host from the app: `passagectl apply --gpu CARD` runs there
//! through `ssh -tt` (a terminal on that host, where its helper's polkit asks: passagectl there
//! starts polkit's text agent), shown in a VTE terminal in a window of its own. ssh's output is
//! fed to the terminal as it comes; what the user types there (a password for polkit) is
//! written to ssh's input, and the terminal on that host echoes it or not, as it would in any
//! SSH session. Closing the window while it runs ends the ssh this window started.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};

use passage_core::connection::RemoteHost;
use passage_core::i18n::{tr, tr_f};
use relm4::adw;
use relm4::adw::prelude::*;
use relm4::gtk::{self, gio, glib};

/// Opens the window and starts `passagectl apply --gpu GPU` on `host`.
pub fn open(parent: &adw::ApplicationWindow, host: &RemoteHost, gpu: &str) {
    let window = adw::Window::new();
    window.set_transient_for(Some(parent));
    window.set_modal(true);
    window.set_default_size(720, 480);
    window.set_title(Some(&tr_f("Host Setup on {host}", &[("host", &host.name)])));
    let status = gtk::Label::new(None);
    status.set_wrap(true);
    status.set_xalign(0.0);
    status.set_widget_name("remote-apply-status");
    let terminal = crate::console::terminal();
    terminal.set_widget_name("remote-apply-terminal");
    terminal.set_vexpand(true);
    terminal.set_focusable(true);
    crate::a11y::name(
        &terminal,
        &tr_f("Passage on {host}, in a terminal", &[("host", &host.name)]),
    );
    let body = gtk::Box::new(gtk::Orientation::Vertical, 12);
    body.set_margin_top(12);
    body.set_margin_bottom(12);
    body.set_margin_start(12);
    body.set_margin_end(12);
    body.append(&status);
    body.append(&terminal);
    let outer = gtk::Box::new(gtk::Orientation::Vertical, 0);
    outer.append(&adw::HeaderBar::new());
    outer.append(&body);
    window.set_content(Some(&outer));

    let words = ["apply", "--gpu", gpu];
    let child = host.passagectl_at_terminal(&words, true).map(|mut c| {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    });
    match child {
        Some(Ok(child)) => run(child, &window, &terminal, &status, &host.name),
        Some(Err(e)) => status.set_text(&tr_f("cannot run ssh: {why}", &[("why", &e.to_string())])),
        None => status.set_text(&tr("this host is not reached over SSH")),
    }
    window.present();
    terminal.grab_focus();
}

/// Feeds the child's output to `terminal`, its typed text to the child, and says how it ended.
fn run(
    mut child: Child,
    window: &adw::Window,
    terminal: &gtk::Widget,
    status: &gtk::Label,
    host: &str,
) {
    status.set_text(&tr_f(
        "Passage applies the plan on {host}. Its helper asks for authorization here when that host wants a password.",
        &[("host", host)],
    ));
    let input: Arc<Mutex<Option<ChildStdin>>> = Arc::new(Mutex::new(child.stdin.take()));
    let typed = input.clone();
    terminal.connect_local("commit", false, move |args| {
        let text = args.get(1).and_then(|v| v.get::<String>().ok());
        if let (Some(text), Ok(mut i)) = (text, typed.lock()) {
            if let Some(w) = i.as_mut() {
                let _ = w.write_all(text.as_bytes()).and_then(|()| w.flush());
            }
        }
        None
    });
    let readers = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    ];
    let child = Arc::new(Mutex::new(child));
    let feeds: Vec<_> = readers
        .into_iter()
        .flatten()
        .map(|r| glib::spawn_future_local(feed(r, terminal.clone())))
        .collect();
    let (status, host, ended) = (status.clone(), host.to_string(), child.clone());
    glib::spawn_future_local(async move {
        // ssh's pipes close when it ends; only then is it waited for, so that the window's
        // close can still end it meanwhile.
        for f in feeds {
            let _ = f.await;
        }
        let waited = gio::spawn_blocking(move || {
            ended
                .lock()
                .map_err(|_| String::from("poisoned"))
                .and_then(|mut c| c.wait().map_err(|e| e.to_string()))
        })
        .await
        .unwrap_or_else(|_| Err(tr("waiting for ssh failed")));
        let words = match waited {
            Ok(st) if st.success() => {
                tr_f("Done on {host}: the plan is applied there.", &[("host", &host)])
            }
            Ok(st) => tr_f(
                "Passage on {host} ended without applying the plan ({status}); what it said is above.",
                &[("host", &host), ("status", &st.to_string())],
            ),
            Err(e) => e,
        };
        status.set_text(&words);
        if let Ok(mut i) = input.lock() {
            i.take();
        }
    });
    // Closed while it runs: ssh (which this window started) is ended; the host's own
    // passagectl sees its terminal hang up.
    window.connect_close_request(move |_| {
        if let Ok(mut c) = child.try_lock() {
            if matches!(c.try_wait(), Ok(None)) {
                let _ = c.kill();
            }
        }
        glib::Propagation::Proceed
    });
}

/// Reads `r` off the main loop, chunk by chunk, into `terminal` on it; ends at EOF.
async fn feed(r: Box<dyn Read + Send>, terminal: gtk::Widget) {
    let r = Arc::new(Mutex::new(r));
    loop {
        let r = r.clone();
        let chunk = gio::spawn_blocking(move || {
            let mut buf = vec![0u8; 4096];
            let n = r.lock().ok()?.read(&mut buf).ok()?;
            buf.truncate(n);
            (n > 0).then_some(buf)
        })
        .await;
        match chunk {
            Ok(Some(bytes)) => crate::console::feed(&terminal, &bytes),
            _ => break,
        }
    }
}
