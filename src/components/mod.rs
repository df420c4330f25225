//! Widgets that are not pages.

pub mod express;
pub mod passthrough;
