//! gvnc's framebuffer, through gvnc-sys: the gvnc crate binds VncBaseFramebuffer but not
//! `vnc_base_framebuffer_new` (its memory is a raw pointer property, which the caller owns).
//! That one call is made here, with the memory given to the framebuffer object itself (its
//! data, freed when the object is finalized), so that it lives exactly as long as anything —
//! the connection included — can write into it.
#![allow(unsafe_code)]

use gvnc::glib::{prelude::*, translate::*};

/// 4 bytes a pixel: the local format below.
const BYTES_PER_PIXEL: usize = 4;

/// The pixels Passage draws: 32 bits, true colour, 8 bits a channel, red at bit 16, green at
/// 8, blue at 0, little-endian (in memory B, G, R, x, as SPICE's surface and GDK's B8g8r8a8).
pub fn local_format() -> gvnc::PixelFormat {
    gvnc::PixelFormat::new_with(
        (255, 255, 255),
        (16, 8, 0),
        24,
        32,
        gvnc::ByteOrder::Little,
        1,
    )
    .unwrap_or_default()
}

/// A new `width`×`height` framebuffer in [`local_format`], decoding pixels the server sends
/// in `remote`; its rows are `width * 4` bytes.
pub fn new(width: u16, height: u16, remote: &gvnc::PixelFormat) -> gvnc::BaseFramebuffer {
    let stride = usize::from(width) * BYTES_PER_PIXEL;
    let mut memory = vec![0u8; stride * usize::from(height)].into_boxed_slice();
    let local = local_format();
    let rowstride = i32::try_from(stride).unwrap_or(i32::MAX); // at most 65535 * 4
                                                               // SAFETY: `memory` holds `height` rows of `stride` bytes, as the framebuffer is told; the
                                                               // pixel formats are valid and copied by it. The call returns a new (not floating)
                                                               // reference, which from_glib_full takes.
    let fb: gvnc::BaseFramebuffer = unsafe {
        from_glib_full(gvnc::ffi::vnc_base_framebuffer_new(
            memory.as_mut_ptr(),
            width,
            height,
            rowstride,
            local.to_glib_none().0,
            remote.to_glib_none().0,
        ))
    };
    // SAFETY: the memory is kept as the object's data under a key nothing else uses, with
    // its own type, and never read back through it: GObject drops it after the framebuffer's
    // finalize, so the pointer the framebuffer holds stays valid for its whole life (moving
    // the box does not move its heap memory).
    unsafe { fb.set_data("passage-framebuffer-memory", memory) };
    fb
}

#[cfg(test)]
mod tests {
    use gvnc::prelude::FramebufferExt;
    use gvnc::FramebufferManualExt;

    #[test]
    fn a_framebuffer_has_the_size_and_rows_asked_for() {
        let remote = super::local_format();
        let fb = super::new(720, 400, &remote);
        let size = (fb.width(), fb.height(), fb.rowstride());
        assert_eq!(size, (720, 400, 2880));
        assert_eq!(fb.buffer().len(), 720 * 400 * 4);
        let local = fb.local_format().expect("a local format");
        assert!(local.match_(&super::local_format()));
        // A 16-bit server's pixels: the framebuffer decodes them from that format.
        let rgb565 = gvnc::PixelFormat::new_with(
            (31, 63, 31),
            (11, 5, 0),
            16,
            16,
            gvnc::ByteOrder::Little,
            1,
        )
        .expect("a format");
        let fb = super::new(4, 4, &rgb565);
        let remote = fb.remote_format().expect("a remote format");
        assert!(remote.match_(&rgb565) && !remote.match_(&super::local_format()));
    }
}
