//! Where the guest's screen sits in its picture: scaled to fit, its aspect kept, centred.

use relm4::gtk::{self, prelude::*};

/// The scale and the top-left corner of a `size` screen shown in a `box_` area.
pub fn fit(size: (usize, usize), box_: (f64, f64)) -> Option<(f64, f64, f64)> {
    let (w, h) = (size.0 as f64, size.1 as f64);
    if w <= 0.0 || h <= 0.0 || box_.0 <= 0.0 || box_.1 <= 0.0 {
        return None;
    }
    let scale = (box_.0 / w).min(box_.1 / h);
    Some((
        scale,
        (box_.0 - w * scale) / 2.0,
        (box_.1 - h * scale) / 2.0,
    ))
}

/// The guest pixel under `(x, y)` of `picture` (a point beside the screen: its nearest edge).
pub fn to_guest(
    picture: &gtk::Picture,
    size: (usize, usize),
    (x, y): (f64, f64),
) -> Option<(i32, i32)> {
    let (scale, ox, oy) = fit(size, (picture.width() as f64, picture.height() as f64))?;
    let gx = ((x - ox) / scale).clamp(0.0, size.0 as f64 - 1.0);
    let gy = ((y - oy) / scale).clamp(0.0, size.1 as f64 - 1.0);
    Some((gx as i32, gy as i32))
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_screen_fits_its_box_with_its_aspect_kept() {
        // 1024×768 in 800×300: the height limits; centred across.
        let (scale, ox, oy) = fit((1024, 768), (800.0, 300.0)).expect("fits");
        assert!((scale - 300.0 / 768.0).abs() < 1e-9);
        assert!((ox - (800.0 - 1024.0 * scale) / 2.0).abs() < 1e-9 && oy == 0.0);
        // 720×400 in 1440×1000: the width limits (×2), centred down.
        assert_eq!(fit((720, 400), (1440.0, 1000.0)), Some((2.0, 0.0, 100.0)));
        assert_eq!(fit((0, 400), (100.0, 100.0)), None);
    }
}
