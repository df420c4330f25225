//! The serial console group of a VM's page: a VTE terminal joined to `passagectl-vm console
//! NAME` (libvirt's console stream, in the worker program: libvirt never runs in the app).
//! The program's output is read on a thread and handed to the page as messages, which feed
//! the terminal; what the user types (VTE's `commit`) goes to a writer thread: nothing here
//! blocks the GTK main loop, and nothing polls.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::process::Stdio;
use std::rc::Rc;
use std::sync::mpsc;

use passage_core::i18n::{tr, tr_f};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

/// What a console session says to the page, tagged with its session number (a message from a
/// session already left is dropped).
#[derive(Debug)]
pub enum Event {
    Output(u64, Vec<u8>),
    /// The program ended: what it said on stderr when it failed.
    Ended(u64, Option<String>),
}

/// Where the VM stands for its serial console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Can {
    /// Its definition has no pty serial port or console.
    NoPort,
    NotRunning,
    Connect,
}

struct Session {
    id: u64,
    vm: String,
}

pub struct Serial {
    group: adw::PreferencesGroup,
    terminal: gtk::Widget,
    button: gtk::Button,
    /// What the user types, to the running session's writer thread.
    keys: Rc<RefCell<Option<mpsc::Sender<Vec<u8>>>>>,
    session: Option<Session>,
    sessions: u64,
    /// The VM shown and what it allows.
    vm: String,
    can: Can,
    /// Why the last session ended, when it failed.
    failed: Option<String>,
}

impl Serial {
    /// The group, with `connect` called by its button.
    pub fn new(connect: impl Fn() + 'static) -> Self {
        let group = adw::PreferencesGroup::new();
        group.set_title(&tr("Serial Console"));
        group.set_widget_name("serial-console");
        let button = gtk::Button::with_label(&tr("Connect"));
        button.set_widget_name("serial-connect");
        button.set_valign(gtk::Align::Center);
        button.connect_clicked(move |_| connect());
        group.set_header_suffix(Some(&button));
        let terminal = super::vte::new();
        terminal.set_widget_name("serial-terminal");
        terminal.set_size_request(-1, 320);
        terminal.set_property("scrollback-lines", 5000u32);
        terminal.set_focusable(true);
        terminal.set_visible(false);
        let frame = gtk::Frame::new(None);
        frame.set_child(Some(&terminal));
        group.add(&frame);
        let keys: Rc<RefCell<Option<mpsc::Sender<Vec<u8>>>>> = Rc::default();
        let to = keys.clone();
        terminal.connect_local("commit", false, move |args| {
            let text = args.get(1).and_then(|v| v.get::<String>().ok());
            if let (Some(text), Some(tx)) = (text, to.borrow().as_ref()) {
                let _ = tx.send(text.into_bytes());
            }
            None
        });
        Serial {
            group,
            terminal,
            button,
            keys,
            session: None,
            sessions: 0,
            vm: String::new(),
            can: Can::NotRunning,
            failed: None,
        }
    }

    pub fn group(&self) -> &adw::PreferencesGroup {
        &self.group
    }

    /// The page shows `vm`, which `can` have a console; a session of another VM, or of one
    /// that stopped, ends.
    pub fn show(&mut self, vm: &str, can: Can) {
        if self.vm != vm {
            self.leave();
            self.terminal.set_visible(false);
            self.failed = None;
        }
        if can != Can::Connect {
            self.end();
        }
        self.vm = vm.to_string();
        self.can = can;
        self.describe();
    }

    /// The page is left: the session ends (the VM runs on).
    pub fn leave(&mut self) {
        self.end();
        self.describe();
    }

    /// Connects, or with a session running ends it.
    pub fn toggle(&mut self, uri: &str, events: impl Fn(Event) + Send + Clone + 'static) {
        if self.session.is_some() {
            self.leave();
            return;
        }
        if self.can != Can::Connect {
            return;
        }
        self.failed = None;
        self.sessions += 1;
        let id = self.sessions;
        match spawn(&self.vm, uri, id, events) {
            Ok(keys) => {
                *self.keys.borrow_mut() = Some(keys);
                self.session = Some(Session {
                    id,
                    vm: self.vm.clone(),
                });
                self.terminal.set_visible(true);
                self.terminal.grab_focus();
            }
            Err(e) => self.failed = Some(e),
        }
        self.describe();
    }

    /// A session's event: its output shown, or its end.
    pub fn event(&mut self, e: Event) {
        let current = |id| self.session.as_ref().is_some_and(|s| s.id == id);
        match e {
            Event::Output(id, bytes) if current(id) => super::vte::feed(&self.terminal, &bytes),
            Event::Ended(id, why) if current(id) => {
                self.end();
                self.failed = why;
                self.describe();
            }
            _ => {}
        }
    }

    /// Ends the session: its writer drops the program's input, and the program ends.
    fn end(&mut self) {
        self.keys.borrow_mut().take();
        self.session = None;
    }

    fn describe(&self) {
        let vm = self.vm.as_str();
        let text = match (&self.session, self.can, &self.failed) {
            (Some(s), ..) => tr_f(
                "Connected to the serial console of {vm}: what you type goes to the guest.",
                &[("vm", &s.vm)],
            ),
            (None, Can::NoPort, _) => tr(
                "This VM has no serial port: add one of type pty (virt-manager's Add Hardware → Serial) to see its text console here.",
            ),
            (None, Can::NotRunning, _) => tr("Start the VM to see its serial console here."),
            (None, Can::Connect, Some(why)) => tr_f(
                "The serial console closed: {why}",
                &[("why", why)],
            ),
            (None, Can::Connect, None) => tr_f(
                "The text the guest writes to its first serial port (a Linux console on ttyS0, a boot loader's menu). Connect takes the console from any other client of {vm}.",
                &[("vm", vm)],
            ),
        };
        self.group.set_description(Some(&text));
        let connected = self.session.is_some();
        super::session_button(
            &self.button,
            connected,
            self.can == Can::Connect,
            (
                &tr("Connect to the Serial Console"),
                &tr("Disconnect from the Serial Console"),
            ),
        );
        crate::a11y::name(
            &self.terminal,
            &tr_f("Serial console of {vm}", &[("vm", vm)]),
        );
    }
}

/// Starts `passagectl-vm console VM` with threads copying its output to `events` and keys to
/// its input; returns where keys go. Dropping that sender ends the program.
fn spawn(
    vm: &str,
    uri: &str,
    id: u64,
    events: impl Fn(Event) + Send + Clone + 'static,
) -> Result<mpsc::Sender<Vec<u8>>, String> {
    let mut child = super::run_vm_commands(
        &["console", "--connect", uri, "--", vm],
        Stdio::piped(),
        true,
    )?;
    let (keys, typed) = mpsc::channel::<Vec<u8>>();
    if let Some(mut input) = child.stdin.take() {
        std::thread::spawn(move || {
            while let Ok(bytes) = typed.recv() {
                if input.write_all(&bytes).and(input.flush()).is_err() {
                    return;
                }
            }
        });
    }
    let mut output = child.stdout.take();
    let mut errors = child.stderr.take();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Some(Ok(n @ 1..)) = output.as_mut().map(|o| o.read(&mut buf)) {
            events(Event::Output(id, buf[..n].to_vec()));
        }
        let mut said = String::new();
        if let Some(e) = errors.as_mut() {
            let _ = e.read_to_string(&mut said);
        }
        let failed = !child.wait().is_ok_and(|s| s.success());
        let why = said.trim().trim_start_matches("passagectl: ").to_string();
        events(Event::Ended(id, failed.then_some(why)));
    });
    Ok(keys)
}
