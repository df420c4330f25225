//! passage-core: the truth about the host and the plans to change it.
//!
//! No GTK, no D-Bus, and it never writes to the host: it reads through a [`root::Root`]
//! (a path prefix; `/` on a live system) and returns data the front ends show and the helper
//! acts on.

pub mod boot_check;
pub mod check;
mod check_reset;
pub mod connection;
pub mod error;
pub mod host;
pub mod i18n;
pub mod ids;
pub mod keymap;
pub mod plan;
pub mod programs;
pub mod root;
pub mod verb_args;
pub mod vm;

pub use error::Error;
pub use host::Host;
pub use root::Root;
