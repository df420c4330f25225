//! `passagectl rom ADDRESS|FILE`: does the card's option ROM hold the x64 UEFI image OVMF needs
//! to show anything at boot?
//!
//! A FILE (a dump from GPU-Z, nvflash, amdvbflash or a ROM file a VM is given) is read as any
//! user. An ADDRESS is read from the card itself through sysfs (`rom`: "1" switches the ROM
//! on, then it is read, then "0" switches it off again, as the kernel's sysfs ABI says), which
//! only root may do, and never from the card that shows the host's screen.

use std::path::Path;
use std::process::ExitCode;

use passage_core::host::rom::{self, Rom};
use passage_core::host::PciAddress;
use passage_core::i18n::{tr, tr_f};
use passage_core::{Host, Root};
use serde::Serialize;

/// What was walked, for `--json`.
#[derive(Serialize)]
struct Report<'a> {
    /// The file, or the card's address.
    source: String,
    size: usize,
    #[serde(flatten)]
    rom: &'a Rom,
}

/// Reads `what` (a file when one is there, else a PCI address on the host below `root`).
fn read(what: &str, root: &Root) -> Result<(String, Vec<u8>), String> {
    let file = Path::new(what);
    if file.is_file() {
        let b = read_file(file)?;
        return Ok((what.to_string(), b));
    }
    let addr: PciAddress = what.parse().map_err(|_| {
        tr_f(
            "{what} is neither a ROM file nor a PCI address (like 0000:01:00.0)",
            &[("what", what)],
        )
    })?;
    let host = Host::scan(root);
    let attr = rom::sysfs_rom(&host, root, addr).map_err(|e| e.to_string())?;
    let b = rom::read_card(root, &attr, addr)?;
    Ok((addr.to_string(), b))
}

fn read_file(file: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if len > rom::MAX_ROM as u64 {
        return Err(tr_f(
            "{file} is {size} bytes, larger than any PCI option ROM (16 MiB): give the card's ROM dump",
            &[("file", &file.display().to_string()), ("size", &len.to_string())],
        ));
    }
    std::fs::read(file).map_err(|e| {
        tr_f(
            "cannot read {file}: {why}",
            &[
                ("file", &file.display().to_string()),
                ("why", &e.to_string()),
            ],
        )
    })
}

/// The ROM in lines: where it came from, each image, the verdict.
fn render(source: &str, size: usize, r: &Rom) -> String {
    let mut s = tr_f(
        "ROM of {source}: {size} bytes",
        &[("source", source), ("size", &size.to_string())],
    );
    s.push('\n');
    if r.header > 0 {
        s.push_str("  ");
        s.push_str(&tr_f(
            "{bytes} bytes of a dump tool's header before the first image",
            &[("bytes", &r.header.to_string())],
        ));
        s.push('\n');
    }
    for (n, i) in r.images.iter().enumerate() {
        let mut line = String::from("  ");
        line += &tr_f(
            "image {n} at {offset}: {what}, {length} bytes, [{vendor}:{device}]",
            &[
                ("n", &(n + 1).to_string()),
                ("offset", &format!("{:#x}", i.offset)),
                ("what", &i.words()),
                ("length", &i.length.to_string()),
                ("vendor", &format!("{:04x}", i.vendor)),
                ("device", &format!("{:04x}", i.device)),
            ],
        );
        if i.last {
            line.push_str(&tr(", last"));
        }
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(&r.verdict.words());
    s.push('\n');
    s
}

/// Runs `passagectl rom`: 0 when the ROM has an x64 UEFI image, 1 when it has none, 2 when it
/// could not be read.
pub fn run(what: &str, root: &Root, json: bool) -> ExitCode {
    match read(what, root) {
        Ok((source, bytes)) => show(&source, &bytes, json),
        Err(e) => crate::fail(e),
    }
}

/// `passagectl rom ADDRESS --helper`: the card's ROM read by the helper, walked here.
pub fn run_through_helper(what: &str, json: bool) -> ExitCode {
    let addr: PciAddress = match what.parse() {
        Ok(a) => a,
        Err(e) => return crate::fail(e),
    };
    match crate::helper::read_rom(&addr.to_string()) {
        Ok(bytes) => show(&addr.to_string(), &bytes, json),
        Err(e) => crate::fail(e),
    }
}

/// `passagectl rom FILE --place`: the file copied for QEMU by the helper; its path printed.
pub fn place(what: &str) -> ExitCode {
    let file = Path::new(what);
    let placed = read_file(file).and_then(|b| crate::helper::place_rom(what, &b));
    match placed {
        Ok((path, said)) => {
            outln!("{said}");
            outln!(
                "{}",
                tr_f(
                    "ROM file for QEMU: {path} (passagectl vm edit NAME --rom {path})",
                    &[("path", &path)]
                )
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("passagectl: {e}");
            ExitCode::from(2)
        }
    }
}

/// The walk of `bytes`, printed; the exit code by its verdict.
fn show(source: &str, bytes: &[u8], json: bool) -> ExitCode {
    let source = source.to_string();
    let r = rom::walk(bytes);
    if json {
        let report = Report {
            source,
            size: bytes.len(),
            rom: &r,
        };
        if let Err(code) = crate::print_json(&report) {
            return code;
        }
    } else {
        out!("{}", render(&source, bytes.len(), &r));
    }
    if r.verdict.has_uefi_x64() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
