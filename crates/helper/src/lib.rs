//! passage-helper: the only code that runs as root. It exposes a handful of narrow verbs on the
//! system bus, checks polkit for each, recomputes every change with passage-core from the host
//! it sees (never accepting contents or commands from the caller), writes atomically and
//! journals every change so that Undo restores it exactly.

pub mod activity;
pub mod authz;
pub mod checks;
pub mod give_back;
pub mod hook;
pub mod journal;
pub mod lock;
pub mod server;
pub mod session;
pub mod sysfs;
