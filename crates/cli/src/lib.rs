//! What both of passagectl's programs share: reading a host root, the helper's D-Bus calls,
//! output and errors. Nothing here links libvirt: `passagectl` (the host commands) is built
//! from this alone, and `passagectl-vm` (src/bin/passagectl-vm, the VM commands and the app's
//! libvirt worker) adds passage_virt on top, so that scan, check, plan, apply, history, undo
//! and capture start without loading libvirt's client library and its ~57 shared libraries.

/// `print!` for the results on stdout: when the reader stops early (`passagectl scan | head`)
/// the output ends quietly, as with other Unix tools, instead of a panic.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::write_out(format_args!($($t)*)) };
}
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::write_out(format_args!("{}\n", format_args!($($t)*))) };
}

pub mod capture;
pub mod helper;
pub mod tty_agent;

#[doc(hidden)]
pub fn write_out(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("passagectl: writing the output failed: {e}");
            std::process::exit(2);
        }
    }
}

use std::path::PathBuf;
use std::process::ExitCode;

use passage_core::{Host, Root};

#[derive(clap::Args)]
pub struct RootArg {
    /// Read the host below DIR instead of / (a directory or a capture .tar.gz)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Read Passage's bundled demo host (the X570 board of the public tutorial)
    #[arg(long, conflicts_with = "root")]
    pub demo: bool,
}

/// A root to read, keeping a temporary directory alive while it is used.
pub struct Opened {
    pub root: Root,
    _tmp: Option<tempfile::TempDir>,
    _demo: Option<passage_fixtures::demo::DemoHost>,
}

pub fn open_root(arg: &RootArg) -> Result<Opened, String> {
    if arg.demo {
        // Named by this process's id, so a run that is killed leaves nothing for long: the
        // next one removes it.
        let demo = passage_fixtures::demo::DemoHost::lay_down(&std::env::temp_dir())
            .map_err(|e| format!("cannot lay down the demo host: {e}"))?;
        let root = Root::new(demo.path()).map_err(|e| e.to_string())?;
        return Ok(Opened {
            root,
            _tmp: None,
            _demo: Some(demo),
        });
    }
    let path = arg.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let name = path.to_string_lossy();
    if path.is_file() && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        let tmp = capture::unpack(&path)?;
        let root = Root::new(tmp.path()).map_err(|e| e.to_string())?;
        return Ok(Opened {
            root,
            _tmp: Some(tmp),
            _demo: None,
        });
    }
    Ok(Opened {
        root: Root::new(&path).map_err(|e| e.to_string())?,
        _tmp: None,
        _demo: None,
    })
}

/// Opens `--root` (or the demo host) and scans it; the root is kept alive beside the host.
pub fn scan_root(arg: &RootArg) -> Result<(Opened, Host), String> {
    let opened = open_root(arg)?;
    let host = Host::scan(&opened.root);
    Ok((opened, host))
}

pub use passage_core::connection::shell_word;

pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("passagectl: {msg}");
    ExitCode::from(2)
}

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), ExitCode> {
    let s = serde_json::to_string_pretty(v).map_err(fail)?;
    outln!("{s}");
    Ok(())
}
