//! passagectl-vm: passagectl's VM commands, the only part that links libvirt. Users type
//! `passagectl vm …` (passagectl runs this program in its place); the app starts
//! `passagectl-vm serve` as its libvirt worker.

#[macro_use]
extern crate passagectl;

mod vm;
mod vm_edit;
mod vm_render;
mod vm_session;
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
    #[command(subcommand)]
    cmd: vm::VmCmd,
}

/// A command as a shell script line: each option with its value on a line, quoted where needed.
fn shell_lines(args: &[String]) -> String {
    let quote = |a: &str| {
        if !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:@+".contains(&b))
        {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
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
    /// libvirt connection URI
    #[arg(long = "connect", value_name = "URI", default_value = "qemu:///system")]
    uri: String,
}

impl Default for ConnectArg {
    fn default() -> Self {
        ConnectArg {
            uri: "qemu:///system".into(),
        }
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
    vm::run(Cli::parse().cmd)
}
