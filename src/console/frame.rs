//! The guest's screen as the app last copied it, for both protocols: SPICE's primary surface
//! and gvnc's framebuffer are each 32-bit xRGB (in memory B, G, R, x); a changed rectangle is
//! copied in with its unused byte made opaque, and shown as one texture at the picture's next
//! frame, however many rectangles came before it (nothing ticks while nothing changes).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use relm4::gtk::{self, gdk, glib, prelude::WidgetExtManual};

/// Textures shown since the app started (the widget dump's `frames=`, which the console
/// benchmark reads).
pub static FRAMES_SHOWN: AtomicU64 = AtomicU64::new(0);

/// A screen in the protocol's memory: `stride` bytes a row, 4 bytes a pixel (B, G, R, x).
pub struct Source<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

/// The guest's screen as last copied: 4 bytes a pixel (B, G, R, A), `stride` bytes a row.
#[derive(Default)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub pixels: Vec<u8>,
    /// A copy is waiting to be shown (one texture a main-loop turn, however many regions).
    queued: bool,
}

impl Frame {
    /// Copies the rectangle `(x, y, w, h)` of `src` in (the whole of a screen of a new size),
    /// with the unused byte made opaque; a rectangle beyond the screen is cut to it.
    pub fn copy(&mut self, src: &Source, (x, y, w, h): (usize, usize, usize, usize)) {
        let (pw, ph, stride) = (src.width, src.height, src.stride);
        if (pw, ph, stride) != (self.width, self.height, self.stride) {
            *self = Frame {
                width: pw,
                height: ph,
                stride,
                pixels: vec![0; stride * ph],
                queued: self.queued,
            };
        }
        let (x1, y1) = ((x.saturating_add(w)).min(pw), (y.saturating_add(h)).min(ph));
        let x = x.min(x1);
        for row in y.min(y1)..y1 {
            let (a, b) = (row * stride + x * 4, row * stride + x1 * 4);
            if let (Some(from), Some(to)) = (src.data.get(a..b), self.pixels.get_mut(a..b)) {
                to.copy_from_slice(from);
                to.iter_mut()
                    .skip(3)
                    .step_by(4)
                    .for_each(|alpha| *alpha = 0xff);
            }
        }
    }

    pub fn texture(&self) -> Option<gdk::MemoryTexture> {
        let (w, h) = (
            i32::try_from(self.width).ok()?,
            i32::try_from(self.height).ok()?,
        );
        (w > 0 && h > 0).then(|| {
            let bytes = glib::Bytes::from(&self.pixels[..]);
            gdk::MemoryTexture::new(w, h, gdk::MemoryFormat::B8g8r8a8, &bytes, self.stride)
        })
    }
}

/// `frame` has changed: shown in `picture` at its next frame, once for however many changes
/// come before it (the callback ends itself).
pub fn show_soon(frame: &Rc<RefCell<Frame>>, picture: &gtk::Picture) {
    if std::mem::replace(&mut frame.borrow_mut().queued, true) {
        return;
    }
    let f = frame.clone();
    picture.add_tick_callback(move |p, _| {
        let mut frame = f.borrow_mut();
        frame.queued = false;
        p.set_paintable(frame.texture().as_ref());
        FRAMES_SHOWN.fetch_add(1, Ordering::Relaxed);
        glib::ControlFlow::Break
    });
}

/// `frame` shown in `picture` now (a new screen).
pub fn show_now(frame: &Rc<RefCell<Frame>>, picture: &gtk::Picture) {
    picture.set_paintable(frame.borrow().texture().as_ref());
}

#[cfg(test)]
mod tests {
    use super::{Frame, Source};

    /// A 3×2 screen, 16 bytes a row (4 of padding), every byte its own index.
    fn screen() -> Vec<u8> {
        (0..32u8).collect()
    }

    fn source(data: &[u8], (width, height, stride): (usize, usize, usize)) -> Source<'_> {
        Source {
            data,
            width,
            height,
            stride,
        }
    }

    #[test]
    fn a_rectangle_is_copied_opaque_and_the_rest_left() {
        let data = screen();
        let src = source(&data, (3, 2, 16));
        let mut f = Frame::default();
        // The middle pixel of the second row only.
        f.copy(&src, (1, 1, 1, 1));
        assert_eq!(
            (f.width, f.height, f.stride, f.pixels.len()),
            (3, 2, 16, 32)
        );
        assert_eq!(&f.pixels[20..24], &[20, 21, 22, 0xff]);
        assert!(f.pixels[..20]
            .iter()
            .chain(&f.pixels[24..])
            .all(|b| *b == 0));
        // A rectangle past the edges is cut to the screen: the whole first row.
        f.copy(&src, (0, 0, 9, 1));
        assert_eq!(
            &f.pixels[..12],
            &[0, 1, 2, 255, 4, 5, 6, 255, 8, 9, 10, 255]
        );
        assert_eq!(
            &f.pixels[12..16],
            &[0, 0, 0, 0],
            "the padding is not copied"
        );
        // Past the screen entirely: nothing, and no panic.
        f.copy(&src, (7, 5, 2, 2));
        f.copy(&src, (usize::MAX, usize::MAX, usize::MAX, 1));
        assert_eq!(&f.pixels[24..28], &[0, 0, 0, 0]);
    }

    #[test]
    fn a_screen_of_a_new_size_starts_a_new_frame() {
        let data = screen();
        let mut f = Frame::default();
        let big = source(&data, (3, 2, 16));
        f.copy(&big, (0, 0, 3, 2));
        let small = source(&data, (2, 1, 8));
        f.copy(&small, (0, 0, 0, 0));
        assert_eq!((f.width, f.height, f.stride, f.pixels.len()), (2, 1, 8, 8));
        assert!(
            f.pixels.iter().all(|b| *b == 0),
            "nothing of the old screen"
        );
    }
}
