//! Compiles the app's resources (style sheet, shortcuts window) into the binary, so a plain
//! `cargo build` and the meson build run the same app.

fn main() {
    glib_build_tools::compile_resources(
        &["data/resources"],
        "data/resources/resources.gresource.xml",
        "passage.gresource",
    );
}
