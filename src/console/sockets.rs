//! libvirt's display sockets for the app (virDomainOpenGraphicsFD, SPICE's and VNC's alike):
//! asked of `passagectl-vm graphics-fds` over a Unix socket pair and passed back with
//! SCM_RIGHTS, so that the app opens no port, needs no password and never links libvirt.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use relm4::gtk::{gio, glib};

/// The running `graphics-fds` program of one VM; it ends when this is dropped.
pub struct Worker {
    child: Child,
    /// False once dropped: a socket that arrives after is closed, not handed on.
    open: Rc<Cell<bool>>,
}

/// Asks the worker for sockets; clones share its one socket pair.
#[derive(Clone)]
pub struct Asker(Arc<Mutex<UnixStream>>, Rc<Cell<bool>>);

impl Worker {
    /// Starts the program for running VM `vm` at `uri`.
    pub fn start(vm: &str, uri: &str) -> Result<(Worker, Asker), String> {
        let (app, worker_end) = UnixStream::pair().map_err(|e| e.to_string())?;
        let child = super::run_vm_commands(
            &["graphics-fds", "--connect", uri, "--", vm],
            Stdio::from(OwnedFd::from(worker_end)),
            false,
        )?;
        let open = Rc::new(Cell::new(true));
        Ok((
            Worker {
                child,
                open: open.clone(),
            },
            Asker(Arc::new(Mutex::new(app)), open),
        ))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.open.set(false);
        // Its socket closes with the session's last user; the program ends on that.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Asker {
    /// A new socket to display `index` (the domain's `index`th `<graphics>`), fetched off the
    /// main loop and handed to `got` on it, or why there is none. When the display was left
    /// meanwhile (Disconnect, another VM: the worker dropped), `got` is not called: the socket
    /// is closed here, and the worker's end is no failure to report.
    pub fn ask(&self, index: u8, got: impl FnOnce(Result<OwnedFd, String>) + 'static) {
        let (socket, open) = (self.0.clone(), self.1.clone());
        glib::spawn_future_local(async move {
            let fd = gio::spawn_blocking(move || {
                let s = socket.lock().map_err(|_| String::from("poisoned"))?;
                passage_virt::fdpass::request(&*s, index)
            })
            .await
            .unwrap_or_else(|_| Err("the socket thread failed".into()));
            if open.get() {
                got(fd);
            }
        });
    }
}
