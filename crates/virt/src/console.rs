//! A running VM's serial console: libvirt's console stream (virDomainOpenConsole, what
//! `virsh console` uses) joined to a reader and a writer. The app runs this in its worker
//! program inside a terminal widget, so libvirt's calls stay out of the app's process.

use std::io::{Read, Write};
use std::sync::Arc;

use virt::stream::Stream;

use crate::{lv, Libvirt, VirtError};

/// `VIR_DOMAIN_CONSOLE_FORCE`: take the console from another client (a `virsh console` left
/// open, or the app's previous view), as virt-manager does.
const FORCE: u32 = 1;

/// The bytes the user types that end the session, as in `virsh console`: Ctrl+] (only where
/// `escape` is asked for, that is on a terminal).
pub const ESCAPE: u8 = 0x1d;

/// How a console session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The guest went away (shut down, or another client took the console).
    Guest,
    /// The input ended, or the user typed the escape byte.
    User,
}

impl Libvirt {
    /// Copies the serial console of running VM `name` to `output` and `input` to it until the
    /// guest or the input ends (or, with `escape`, [`ESCAPE`] is read).
    pub fn console(
        &self,
        name: &str,
        input: impl Read + Send + 'static,
        mut output: impl Write + Send + 'static,
        escape: bool,
    ) -> Result<Ended, VirtError> {
        let dom = self.domain(name)?;
        let stream = Arc::new(Stream::new(&self.conn, 0).map_err(lv)?);
        dom.open_console(None, &stream, FORCE).map_err(lv)?;
        let (done, ended) = std::sync::mpsc::channel();
        let to_guest = stream.clone();
        let guest_done = done.clone();
        std::thread::spawn(move || {
            let _ = guest_done.send(copy_in(input, &to_guest, escape));
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let end = loop {
                match stream.recv(&mut buf) {
                    Ok(n) if n > 0 => {
                        let n = usize::try_from(n).unwrap_or(0).min(buf.len());
                        if output.write_all(&buf[..n]).and(output.flush()).is_err() {
                            break Ended::User;
                        }
                    }
                    _ => break Ended::Guest,
                }
            };
            let _ = done.send(end);
        });
        // The first to end ends the session; the process exits and libvirt closes the stream.
        ended
            .recv()
            .map_err(|_| VirtError::Libvirt("the console stream ended".into()))
    }
}

/// Sends `input` to the guest until it ends, the stream fails or the escape byte is read.
fn copy_in(mut input: impl Read, to: &Stream, escape: bool) -> Ended {
    let mut buf = [0u8; 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => return Ended::User,
            Ok(n) => n,
        };
        let (chunk, stop) = match buf[..n].iter().position(|b| escape && *b == ESCAPE) {
            Some(at) => (&buf[..at], true),
            None => (&buf[..n], false),
        };
        if send_all(to, chunk).is_err() {
            return Ended::Guest;
        }
        if stop {
            return Ended::User;
        }
    }
}

/// virStreamSend may take part of the bytes: sends the rest until all went.
fn send_all(to: &Stream, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        match to.send(bytes) {
            Ok(n) if n > 0 => bytes = &bytes[usize::try_from(n).unwrap_or(0).min(bytes.len())..],
            _ => return Err(()),
        }
    }
    Ok(())
}
