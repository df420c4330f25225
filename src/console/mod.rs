//! The VM's consoles on its page: the serial console (serial.rs) in a VTE terminal, and the
//! SPICE or VNC display (display.rs, drawn from spice.rs or vnc.rs through screen.rs).

pub mod display;
mod display_fit;
mod frame;
mod pointer;
mod screen;
pub mod serial;
mod sockets;
mod spice;
mod vnc;
mod vnc_fb;
mod vte;

pub use vte::text as terminal_text;
pub use vte::{feed, new as terminal};

use passage_core::i18n::{tr, tr_f};

/// Starts `passagectl-vm ARGS` (the one program that links libvirt) with `stdin`, or says why
/// it could not be run.
fn run_vm_commands(
    args: &[&str],
    stdin: std::process::Stdio,
    piped: bool,
) -> Result<std::process::Child, String> {
    use std::process::Stdio;
    let program = passage_core::programs::vm_commands();
    let out = || if piped { Stdio::piped() } else { Stdio::null() };
    std::process::Command::new(&program)
        .args(args)
        .stdin(stdin)
        .stdout(out())
        .stderr(out())
        .spawn()
        .map_err(|e| {
            tr_f(
                "cannot run {program}: {why}",
                &[
                    ("program", &program.display().to_string()),
                    ("why", &e.to_string()),
                ],
            )
        })
}

/// A console's Connect / Disconnect button as the session stands, named for a screen reader
/// (`names`: what it is read as to connect, and to disconnect).
fn session_button(b: &gtk::Button, connected: bool, shown: bool, names: (&str, &str)) {
    b.set_label(&if connected {
        tr("Disconnect")
    } else {
        tr("Connect")
    });
    b.set_visible(connected || shown);
    crate::a11y::name(b, if connected { names.1 } else { names.0 });
}

use relm4::gtk::{self, gdk, prelude::*};

/// What the screen shows, for the widget dump (tests): its size, how many pixels are lit
/// (not black) and how many are blue, and where its middle is in its window's surface (where
/// a test points the mouse).
pub fn screen_summary(w: &gtk::Widget) -> Option<String> {
    let p = w.downcast_ref::<gtk::Picture>()?;
    if p.widget_name() != "display-screen" {
        return None;
    }
    let t = p.paintable()?.downcast::<gdk::Texture>().ok()?;
    let (width, height) = (
        usize::try_from(t.width()).ok()?,
        usize::try_from(t.height()).ok()?,
    );
    let mut px = vec![0u8; width * height * 4];
    // Cairo's format: B, G, R, A in memory on a little-endian machine.
    t.download(&mut px, width * 4);
    let (mut lit, mut blue) = (0usize, 0usize);
    for c in px.chunks_exact(4) {
        lit += usize::from(c[..3].iter().any(|v| *v > 16));
        blue += usize::from(c[0] > 100 && c[1] < 60 && c[2] < 60);
    }
    let frames = frame::FRAMES_SHOWN.load(std::sync::atomic::Ordering::Relaxed);
    let (x, y) = middle(p).unwrap_or_default();
    Some(format!(
        "screen={width}x{height} lit={lit} blue={blue} frames={frames} at={x:.0},{y:.0}"
    ))
}

/// The middle of `w` in its window's surface.
fn middle(w: &gtk::Picture) -> Option<(f32, f32)> {
    let native = w.native()?;
    let (sx, sy) = native.surface_transform();
    let mid = gtk::graphene::Point::new(w.width() as f32 / 2.0, w.height() as f32 / 2.0);
    let p = w.compute_point(&native, &mid)?;
    Some((p.x() + sx as f32, p.y() + sy as f32))
}
