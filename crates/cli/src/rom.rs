//! `passagectl rom ADDRESS|FILE`: does the card's option ROM hold the x64 UEFI image OVMF needs
//! to show anything at boot?
//!
//! A FILE (a dump from GPU-Z, nvflash, amdvbflash or a ROM file a VM is given) is read as any
//! user. An ADDRESS is read from the card itself through sysfs (`rom`: "1" switches the ROM
//! on, then it is read, then "0" switches it off again, as the kernel's sysfs ABI says), which
//! only root may do, and never from the card that shows the host's screen.

use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
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
    let b = read_card(root, &attr, addr)?;
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

/// Switches the card's ROM on, reads it, and switches it off again whatever the read gave.
fn read_card(root: &Root, attr: &str, addr: PciAddress) -> Result<Vec<u8>, String> {
    let path = root.path(attr);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied => tr_f(
                "only root may read the ROM of {dev}: run this with sudo, or give a ROM file",
                &[("dev", &addr.to_string())],
            ),
            _ => tr_f(
                "cannot open {path}: {why}",
                &[("path", attr), ("why", &e.to_string())],
            ),
        })?;
    f.write_all_at(b"1\n", 0).map_err(|e| {
        tr_f(
            "cannot switch on the ROM of {dev}: {why}",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    let got = read_all(&f);
    // The kernel switches the ROM off only on exactly "0\n" written at offset 0.
    let off = f.write_all_at(b"0\n", 0);
    let bytes = got.map_err(|e| {
        tr_f(
            "cannot read the ROM of {dev}: {why} (the kernel could not map it: some cards give their ROM only before their driver loads; give a ROM file)",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    off.map_err(|e| {
        tr_f(
            "the ROM of {dev} was read but could not be switched off again: {why}",
            &[("dev", &addr.to_string()), ("why", &e.to_string())],
        )
    })?;
    Ok(bytes)
}

fn read_all(f: &std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut out = vec![];
    let mut buf = vec![0u8; 64 * 1024];
    while out.len() < rom::MAX_ROM {
        let n = f.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Ok(out)
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
    let (source, bytes) = match read(what, root) {
        Ok(x) => x,
        Err(e) => return crate::fail(e),
    };
    let r = rom::walk(&bytes);
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
