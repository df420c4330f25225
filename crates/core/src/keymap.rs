//! A key as the guest's PC keyboard sends it: Linux's evdev key code (what GDK reports as the
//! hardware keycode, less 8, on X11 and Wayland alike) to the PC/XT scan code (set 1) that
//! SPICE's inputs channel and QEMU's PS/2 keyboard take, extended keys as 0x100 | code (sent
//! after 0xE0). The table is QEMU's keycodemapdb (keymaps.csv: columns `linux` and `xtkbd`)
//! for the keys of a 105-key PC keyboard; a key it does not know is not sent.

/// The scan code of evdev key `code`, or `None` for a key a PC keyboard does not have.
pub fn xt_scancode(code: u32) -> Option<u32> {
    match code {
        // KEY_ESC (1) … KEY_KPDOT (83): the first row of keys up to the keypad's dot, where
        // evdev took the XT codes as its own.
        1..=83 => Some(code),
        86 => Some(0x56),   // KEY_102ND (the key left of Z on ISO keyboards)
        87 => Some(0x57),   // KEY_F11
        88 => Some(0x58),   // KEY_F12
        96 => Some(0x11c),  // KEY_KPENTER
        97 => Some(0x11d),  // KEY_RIGHTCTRL
        98 => Some(0x135),  // KEY_KPSLASH
        99 => Some(0x137),  // KEY_SYSRQ (Print Screen)
        100 => Some(0x138), // KEY_RIGHTALT (AltGr)
        102 => Some(0x147), // KEY_HOME
        103 => Some(0x148), // KEY_UP
        104 => Some(0x149), // KEY_PAGEUP
        105 => Some(0x14b), // KEY_LEFT
        106 => Some(0x14d), // KEY_RIGHT
        107 => Some(0x14f), // KEY_END
        108 => Some(0x150), // KEY_DOWN
        109 => Some(0x151), // KEY_PAGEDOWN
        110 => Some(0x152), // KEY_INSERT
        111 => Some(0x153), // KEY_DELETE
        125 => Some(0x15b), // KEY_LEFTMETA
        126 => Some(0x15c), // KEY_RIGHTMETA
        127 => Some(0x15d), // KEY_COMPOSE (the menu key)
        _ => None,
    }
}

/// The key numbers QEMU's VNC server takes in its extended key events (QEMU's "qnum", which
/// gtk-vnc sends too): the scan code, an extended key as 0x80 | code instead of 0x100 | code
/// (keycodemapdb's column `qnum`).
pub fn qnum(scancode: u32) -> u16 {
    let low = (scancode & 0x7f) as u16;
    if scancode & 0x100 != 0 {
        0x80 | low
    } else {
        low
    }
}

/// Scan codes of the keys the console's menu sends: Ctrl+Alt+Del, and Ctrl+Alt+F1…F12 (a
/// Linux guest's virtual terminals).
pub mod send {
    pub const CTRL: u32 = 0x1d;
    pub const ALT: u32 = 0x38;
    pub const DELETE: u32 = 0x153;
    /// F1 … F12.
    pub const F: [u32; 12] = [
        0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58,
    ];

    /// The X keysym of a key above, which VNC sends with the scan code (a server without
    /// QEMU's extended key events reads only the keysym); 0 for another key.
    pub fn keysym(scancode: u32) -> u32 {
        match scancode {
            CTRL => 0xffe3,   // XK_Control_L
            ALT => 0xffe9,    // XK_Alt_L
            DELETE => 0xffff, // XK_Delete
            // XK_F1 … XK_F12 are 0xffbe … 0xffc9, in order.
            f => F
                .iter()
                .position(|k| *k == f)
                .map_or(0, |n| 0xffbe + n as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of keycodemapdb's keymaps.csv (linux, xtkbd), checked one by one.
    #[test]
    fn keys_map_as_qemus_keymap_database_says() {
        for (linux, xt) in [
            (1, 0x01),    // KEY_ESC
            (2, 0x02),    // KEY_1
            (16, 0x10),   // KEY_Q
            (28, 0x1c),   // KEY_ENTER
            (29, 0x1d),   // KEY_LEFTCTRL
            (30, 0x1e),   // KEY_A
            (42, 0x2a),   // KEY_LEFTSHIFT
            (56, 0x38),   // KEY_LEFTALT
            (57, 0x39),   // KEY_SPACE
            (59, 0x3b),   // KEY_F1
            (68, 0x44),   // KEY_F10
            (83, 0x53),   // KEY_KPDOT
            (87, 0x57),   // KEY_F11
            (97, 0x11d),  // KEY_RIGHTCTRL
            (100, 0x138), // KEY_RIGHTALT
            (103, 0x148), // KEY_UP
            (111, 0x153), // KEY_DELETE
            (125, 0x15b), // KEY_LEFTMETA
        ] {
            assert_eq!(xt_scancode(linux), Some(xt), "linux key {linux}");
        }
        // KEY_ZENKAKUHANKAKU (85), KEY_MUTE (113): not on a PC keyboard; nothing is sent.
        assert_eq!(xt_scancode(85), None);
        assert_eq!(xt_scancode(113), None);
        assert_eq!(xt_scancode(0), None);
    }

    /// keycodemapdb's rows (xtkbd, qnum): a plain key keeps its code, an extended one moves
    /// its 0xE0 prefix to the top bit.
    #[test]
    fn vnc_key_numbers_are_qemus() {
        for (xt, q) in [
            (0x01, 0x01),  // Escape
            (0x1e, 0x1e),  // A
            (0x58, 0x58),  // F12
            (0x11c, 0x9c), // KP_Enter
            (0x11d, 0x9d), // Control_R
            (0x138, 0xb8), // Alt_R
            (0x148, 0xc8), // Up
            (0x153, 0xd3), // Delete
            (0x15b, 0xdb), // Meta_L
        ] {
            assert_eq!(qnum(xt), q, "scan code {xt:#x}");
        }
    }

    #[test]
    fn the_menu_keys_have_their_keysyms() {
        assert_eq!(send::keysym(send::CTRL), 0xffe3);
        assert_eq!(send::keysym(send::ALT), 0xffe9);
        assert_eq!(send::keysym(send::DELETE), 0xffff);
        assert_eq!(send::keysym(send::F[0]), 0xffbe); // F1
        assert_eq!(send::keysym(send::F[9]), 0xffc7); // F10
        assert_eq!(send::keysym(send::F[11]), 0xffc9); // F12
        assert_eq!(send::keysym(0x1e), 0);
    }
}
