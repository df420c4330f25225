//! Build-time configuration. meson sets these through the environment of its cargo call;
//! a plain `cargo build` gets the defaults of the development profile's sibling, "default".

/// The application id (`.Devel` in the development profile).
pub const APP_ID: &str = match option_env!("PASSAGE_APP_ID") {
    Some(v) => v,
    None => "io.github.passage.Passage",
};
/// "default" or "development".
pub const PROFILE: &str = match option_env!("PASSAGE_PROFILE") {
    Some(v) => v,
    None => "default",
};
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where the app's resources live inside the gresource bundle.
pub const RESOURCE_BASE: &str = "/io/github/passage/Passage";

pub fn is_devel() -> bool {
    PROFILE == "development"
}
