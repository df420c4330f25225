//! The VM's consoles on its page: the serial console (serial.rs) in a VTE terminal.

pub mod serial;
mod vte;

pub use vte::text as terminal_text;
