//! passagectl-vm: passagectl's VM commands, the only part that links libvirt. Users type
//! `passagectl vm …` (passagectl runs this program in its place); the app starts
//! `passagectl-vm serve` as its libvirt worker.

#[macro_use]
extern crate passagectl;

mod vm;
mod vm_console;
mod vm_edit;
mod vm_express;
mod vm_remote;
mod vm_render;
mod vm_session;
mod vm_unattended;
mod vm_verify;

use std::process::ExitCode;

use clap::Parser;
use passagectl::fail;

#[derive(Parser)]
#[command(
    name = "passagectl-vm",
    bin_name = "passagectl vm",
    version,
    about = "VM descriptions: a starting spec for this host, its libvirt XML, its QEMU command line"
)]
struct Cli {
    #[command(flatten)]
    conn: ConnectArg,
    #[command(subcommand)]
    cmd: vm::VmCmd,
}

/// A command as a shell script line: each option with its value on a line, quoted where needed.
fn shell_lines(args: &[String]) -> String {
    let quote = passagectl::shell_word;
    let mut lines: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let mut line = quote(&args[i]);
        if args[i].starts_with('-') && args.get(i + 1).is_some_and(|v| !v.starts_with('-')) {
            line.push(' ');
            line.push_str(&quote(&args[i + 1]));
            i += 1;
        }
        lines.push(line);
        i += 1;
    }
    let mut out = lines.join(" \\\n  ");
    out.push('\n');
    out
}

#[derive(clap::Args)]
struct ConnectArg {
    /// libvirt connection URI: this computer's (the default) or a remote host's, such as
    /// qemu+ssh://user@host/system (that host's checks are read there over SSH)
    #[arg(
        long = "connect",
        value_name = "URI",
        default_value = passage_core::connection::LOCAL,
        global = true
    )]
    uri: String,
}

impl ConnectArg {
    /// The remote host the URI names; `None` for this computer's libvirt.
    fn remote(&self) -> Option<passage_core::connection::RemoteHost> {
        passage_core::connection::remote(&self.uri)
    }
}

fn with_libvirt(
    conn: &ConnectArg,
    f: impl FnOnce(&passage_virt::Libvirt) -> Result<String, passage_virt::VirtError>,
) -> ExitCode {
    use passage_virt::VirtError;
    let h = match passage_virt::Libvirt::open(&conn.uri) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("passagectl: {e}");
            return ExitCode::from(1);
        }
    };
    match f(&h) {
        Ok(msg) => {
            out!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e @ VirtError::NoSuchVm(_)) => fail(e),
        Err(e) => {
            eprintln!("passagectl: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    passage_core::i18n::init(&passage_core::i18n::localedir());
    let cli = Cli::parse();
    vm::run(cli.cmd, &cli.conn)
}
