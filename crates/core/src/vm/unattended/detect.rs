//! The ISO identified by libosinfo: `osinfo-detect --all` names every OS whose osinfo-db
//! `<media>` rules (volume ID, publisher, files) the ISO matches, and `osinfo-query os` maps
//! the names it prints to osinfo's short IDs (`win11`, `ubuntu22.04`).
//!
//! osinfo-db gives Windows 10 and 11 the same volume IDs (`CCCOMA_X64FRE_…`), so both match
//! a Windows ISO; the ISO's file name then settles it when it says the version
//! ([`super::super::installer::identify`]), choosing only among what osinfo matched.

use std::path::Path;
use std::process::Command;

use super::{UnattendedError, Unsupported};
use crate::vm::installer::{identify as by_name, Installer};

/// An OS as osinfo-db names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Os {
    /// osinfo's short ID, e.g. `win10`.
    pub short_id: String,
    /// Its name, e.g. `Microsoft Windows 10`.
    pub name: String,
}

impl Os {
    pub fn is_windows(&self) -> bool {
        self.short_id.starts_with("win")
    }
}

/// What `osinfo-detect --all` said of the ISO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub bootable: bool,
    /// The names of the OSes it is an installer (or live media) for, first match first, each
    /// once, without the `(arch)` osinfo adds.
    pub names: Vec<String>,
}

/// Reads `osinfo-detect --all` output (run with `LC_ALL=C`).
pub fn parse_detect(out: &str) -> Detection {
    let mut d = Detection {
        bootable: out.lines().any(|l| l.trim() == "Media is bootable."),
        names: vec![],
    };
    for line in out.lines() {
        let Some((_, rest)) = line.split_once(" for OS '") else {
            continue;
        };
        let Some(name) = rest.strip_suffix('\'') else {
            continue;
        };
        let name = match name.rsplit_once(" (") {
            Some((n, arch)) if arch.ends_with(')') => n,
            _ => name,
        };
        if !d.names.iter().any(|n| n == name) {
            d.names.push(name.to_string());
        }
    }
    d
}

/// Reads `osinfo-query os --fields=short-id,name` (a table of `short-id | name` rows after a
/// header and a rule; further columns are ignored).
pub fn parse_query(out: &str) -> Vec<Os> {
    out.lines()
        .skip(2)
        .filter_map(|l| {
            let mut cols = l.split('|').map(str::trim);
            let (id, name) = (cols.next()?, cols.next()?);
            (!id.is_empty() && !name.is_empty()).then(|| Os {
                short_id: id.into(),
                name: name.into(),
            })
        })
        .collect()
}

/// The OS the ISO installs, from what osinfo matched and the ISO's file name.
pub fn choose(detection: &Detection, known: &[Os], file_name: &str) -> Result<Os, Unsupported> {
    if !detection.bootable {
        return Err(Unsupported::NotBootable);
    }
    let matched: Vec<&Os> = detection
        .names
        .iter()
        .filter_map(|n| known.iter().find(|o| &o.name == n))
        .collect();
    match matched.as_slice() {
        [] => Err(Unsupported::NotIdentified),
        [one] => Ok((*one).clone()),
        many => {
            let said = match by_name(file_name, None) {
                Installer::Windows11 => Some("win11"),
                Installer::Windows10 => Some("win10"),
                _ => None,
            };
            said.and_then(|id| many.iter().find(|o| o.short_id == id))
                .map(|o| (*o).clone())
                .ok_or_else(|| {
                    Unsupported::Ambiguous(many.iter().map(|o| o.name.clone()).collect())
                })
        }
    }
}

/// Runs one of libosinfo's tools in the C locale; its stdout.
pub(crate) fn run_osinfo(tool: &str, args: &[&std::ffi::OsStr]) -> Result<String, UnattendedError> {
    let out = Command::new(tool)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                UnattendedError::Unsupported(Unsupported::NoOsinfo.words())
            }
            _ => UnattendedError::io(tool, e),
        })?;
    if !out.status.success() {
        return Err(UnattendedError::Tool {
            tool: tool.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Identifies the ISO at `iso` with this computer's libosinfo and osinfo-db.
/// `Ok(Err(_))`: osinfo ran and the install is a normal one, for the reason given.
pub fn identify(iso: &Path) -> Result<Result<Os, Unsupported>, UnattendedError> {
    let detected = match run_osinfo("osinfo-detect", &["--all".as_ref(), iso.as_os_str()]) {
        // Not ISO 9660 at all ("Error parsing media: No volume descriptors").
        Err(UnattendedError::Tool { message, .. }) if message.contains("Error parsing media") => {
            return Ok(Err(Unsupported::NotIso))
        }
        r => r?,
    };
    let known = run_osinfo(
        "osinfo-query",
        &["os".as_ref(), "--fields=short-id,name".as_ref()],
    )?;
    let file_name = iso
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(choose(
        &parse_detect(&detected),
        &parse_query(&known),
        &file_name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &str = "Media is bootable.\n#1: Media is an installer for OS 'Microsoft Windows 11 (x86_64)'\n#2: Media is an installer for OS 'Microsoft Windows 10 (x86_64)'\n";

    fn known() -> Vec<Os> {
        parse_query(" Short ID | Name | ID\n----+----+---\n win10 | Microsoft Windows 10 | http://microsoft.com/win/10\n win11 | Microsoft Windows 11 | http://microsoft.com/win/11\n")
    }

    #[test]
    fn windows_10_and_11_share_a_label_and_only_the_name_settles_it() {
        let d = parse_detect(BOTH);
        assert_eq!(d.names, ["Microsoft Windows 11", "Microsoft Windows 10"]);
        assert_eq!(
            choose(&d, &known(), "Win10_22H2_German_x64.iso")
                .expect("ok")
                .short_id,
            "win10"
        );
        assert_eq!(
            choose(&d, &known(), "Win11_23H2_English_x64.iso")
                .expect("ok")
                .short_id,
            "win11"
        );
        assert!(
            matches!(choose(&d, &known(), "install.iso"), Err(Unsupported::Ambiguous(v)) if v.len() == 2)
        );
    }

    #[test]
    fn an_iso_osinfo_does_not_know_or_cannot_boot_is_never_guessed() {
        let none = parse_detect("Media is bootable.\n");
        assert_eq!(
            choose(&none, &known(), "Win11.iso"),
            Err(Unsupported::NotIdentified)
        );
        let cold = parse_detect("Media is not bootable.\n");
        assert_eq!(
            choose(&cold, &known(), "Win11.iso"),
            Err(Unsupported::NotBootable)
        );
    }
}
