//! Widgets that are not pages.

pub mod passthrough;
