//! passage: the GNOME app. Thin: options, translations, resources, then the window (app.rs).

mod a11y;
mod about;
mod actions;
mod app;
mod components;
mod config;
mod console;
mod debug;
mod host_source;
mod launcher;
mod logic;
mod messages;
mod pages;
mod remote_apply;
mod remote_hosts;
mod restart;
mod settings;
mod toasts;
mod window;
mod wizard;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;

use passage_core::i18n::{tr, tr_f};
use relm4::gtk::prelude::*;
use relm4::gtk::{self, gio, glib};

use app::Init;
use host_source::Wanted;

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Init>, String> {
    let mut wanted = Wanted::Auto;
    let mut start_last_vm = false;
    let mut start_vm = None;
    let mut connect = None;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host-root" => {
                match args.next() {
                    Some(d) if std::path::Path::new(&d).is_dir() => {
                    wanted = Wanted::Captured(PathBuf::from(d))
                }
                Some(d) if !d.is_empty() => {
                    return Err(tr_f(
                        "passage: {dir} is not a directory; --host-root takes one made by “passagectl capture”",
                        &[("dir", &d)],
                    ))
                }
                    _ => return Err(tr(
                        "passage: --host-root needs a directory (one made by “passagectl capture”)",
                    )),
                }
            }
            "--demo" => wanted = Wanted::Demo,
            "--connect" => match args.next() {
                Some(u) if !u.is_empty() && !u.starts_with('-') => connect = Some(u),
                _ => return Err(tr(
                    "passage: --connect needs a libvirt URI, e.g. qemu:///system or test:///default",
                )),
            },
            "--start-last-vm" => start_last_vm = true,
            "--start-vm" => match args.next() {
                Some(u) if crate::launcher::valid_uuid(&u) => start_vm = Some(u),
                _ => return Err(tr("passage: --start-vm needs the VM's UUID")),
            },
            "-h" | "--help" => return Ok(None),
            other => {
                return Err(tr_f(
                    "passage: unknown option {opt}; try --help",
                    &[("opt", other)],
                ))
            }
        }
    }
    Ok(Some(Init {
        wanted,
        start_last_vm,
        start_vm,
        connect,
    }))
}

fn main() -> ExitCode {
    passage_core::i18n::init(&passage_core::i18n::localedir());
    let init = match parse_args(std::env::args().skip(1)) {
        Ok(Some(w)) => w,
        Ok(None) => {
            // Not println!: a reader that stops early (`passage --help | grep -q`) must not
            // make it panic.
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{}", tr("usage: passage [--host-root DIR | --demo] [--connect URI] [--start-last-vm | --start-vm UUID]\n\n  --host-root DIR  open a host captured with “passagectl capture”\n  --demo           open the bundled demo host\n  --connect URI    the VMs of this libvirt (default: $PASSAGE_LIBVIRT_URI, else the demo host's\n                   own on libvirt's test driver, else qemu:///system)\n  --start-last-vm  start the VM last started from Passage\n  --start-vm UUID  start this VM (its app-menu launcher does)"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(u) = &init.connect {
        workers::libvirt::connect_to(u.clone());
    }
    glib::set_application_name(&tr("Passage"));
    let res = match gio::Resource::from_data(&glib::Bytes::from_static(include_bytes!(concat!(
        env!("OUT_DIR"),
        "/passage.gresource"
    )))) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("passage: the built-in resources are damaged: {e}");
            return ExitCode::from(1);
        }
    };
    gio::resources_register(&res);
    let app = relm4::main_adw_application();
    app.set_application_id(Some(config::APP_ID));
    // No resource base path: with one, GtkApplication adds "<base>/icons" to the icon theme,
    // which makes the theme's first load on the main thread several ms slower (every theme
    // directory is looked up under every resource path) — measured 4–8 ms of start-up. The
    // style sheet is loaded here instead; the expander arrow lives under libadwaita's icon
    // path and the About logo's path is added when the About window opens (about.rs).
    app.set_resource_base_path(None);
    app.connect_startup(|_| {
        // After GTK's own start-up, which opens the display.
        if let Some(display) = gtk::gdk::Display::default() {
            let css = gtk::CssProvider::new();
            css.load_from_resource(&format!("{}/style.css", config::RESOURCE_BASE));
            gtk::style_context_add_provider_for_display(
                &display,
                &css,
                gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
            );
        }
    });
    relm4::RelmApp::from_app(app)
        .with_args(vec![])
        .run::<app::App>(init);
    host_source::cleanup();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Option<Wanted>, String> {
        parse_args(a.iter().map(|s| s.to_string())).map(|i| i.map(|i| i.wanted))
    }

    #[test]
    fn options_name_what_was_wrong() {
        assert_eq!(args(&[]), Ok(Some(Wanted::Auto)));
        assert_eq!(args(&["--demo"]), Ok(Some(Wanted::Demo)));
        assert_eq!(
            args(&["--host-root", "/"]),
            Ok(Some(Wanted::Captured("/".into())))
        );
        assert!(args(&["--host-root", "/nonexistent/x"])
            .unwrap_err()
            .contains("/nonexistent/x"));
        assert!(args(&["--host-root"])
            .unwrap_err()
            .contains("needs a directory"));
        assert!(args(&["--frobnicate"])
            .unwrap_err()
            .contains("--frobnicate"));
        assert_eq!(args(&["--help"]), Ok(None));
        let i = parse_args(["--connect".to_string(), "test:///default".to_string()]);
        assert_eq!(
            i.ok().flatten().and_then(|i| i.connect).as_deref(),
            Some("test:///default")
        );
        assert!(args(&["--connect"]).unwrap_err().contains("libvirt URI"));
        assert!(args(&["--connect", "--demo"])
            .unwrap_err()
            .contains("libvirt URI"));
        let i = parse_args(["--demo".to_string(), "--start-last-vm".to_string()]);
        assert_eq!(i.ok().flatten().map(|i| i.start_last_vm), Some(true));
    }
}
