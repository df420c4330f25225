//! App-menu launchers, one per VM: a desktop file in the user's applications folder
//! (`$XDG_DATA_HOME/applications`, else `~/.local/share/applications`), named after the app id
//! and the VM's UUID, whose `Exec` is `passage --start-vm UUID`.

use std::path::{Path, PathBuf};

use passage_core::i18n::tr_f;

use crate::config;

/// A libvirt UUID: 32 hex digits in the 8-4-4-4-12 form (anything else never reaches a path).
pub fn valid_uuid(u: &str) -> bool {
    let parts: Vec<&str> = u.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn applications() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
        .map(|d| d.join("applications"))
}

/// Where the launcher of the VM with this UUID lives.
pub fn path(uuid: &str) -> Option<PathBuf> {
    valid_uuid(uuid).then(applications).flatten().map(|d| {
        d.join(format!(
            "{}.vm-{}.desktop",
            config::APP_ID,
            uuid.to_ascii_lowercase()
        ))
    })
}

/// A desktop file value: one line, with the specification's escapes.
fn value(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('\\', "\\\\")
}

/// The command that starts Passage: this program, quoted for `Exec` when it has to be.
fn command() -> String {
    if let Ok(id) = std::env::var("FLATPAK_ID") {
        return format!("flatpak run {id}");
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "passage".into());
    if exe
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        exe
    } else {
        let escaped: String = exe
            .chars()
            .flat_map(|c| match c {
                '"' | '`' | '$' | '\\' => vec!['\\', '\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// The desktop file's text.
pub fn contents(name: &str, uuid: &str) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName={}\nComment={}\nIcon={}\nExec={} --start-vm {}\nCategories=System;Emulator;\nTerminal=false\n",
        value(name),
        value(&tr_f("Start the virtual machine {vm} with Passage", &[("vm", name)])),
        config::APP_ID,
        command(),
        uuid.to_ascii_lowercase()
    )
}

/// Adds (or rewrites) the launcher; returns its path.
pub fn add(name: &str, uuid: &str) -> std::io::Result<PathBuf> {
    let p = path(uuid).ok_or_else(|| std::io::Error::other("no applications folder"))?;
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = p.with_extension("desktop.tmp");
    std::fs::write(&tmp, contents(name, uuid))?;
    std::fs::rename(&tmp, &p)?;
    Ok(p)
}

/// Removes the launcher, if there is one.
pub fn remove(uuid: &str) -> std::io::Result<()> {
    match path(uuid).map(std::fs::remove_file) {
        Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub fn exists(uuid: &str) -> bool {
    path(uuid).is_some_and(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_checked_before_they_become_a_file_name() {
        assert!(valid_uuid("c7a5fdbd-edaf-9455-926a-d65c16db1809"));
        for bad in [
            "",
            "../../x",
            "c7a5fdbd-edaf-9455-926a-d65c16db180",
            "c7a5fdbd_edaf_9455_926a_d65c16db1809",
        ] {
            assert!(!valid_uuid(bad), "{bad}");
            assert!(path(bad).is_none());
        }
    }

    #[test]
    fn the_launcher_names_the_vm_and_starts_it_by_uuid() {
        let c = contents(
            "win10\nExec=rm -rf ~",
            "C7A5FDBD-EDAF-9455-926A-D65C16DB1809",
        );
        assert!(
            c.contains("\nName=win10Exec=rm -rf ~\n"),
            "no second line: {c}"
        );
        assert!(
            c.contains(" --start-vm c7a5fdbd-edaf-9455-926a-d65c16db1809\n"),
            "{c}"
        );
        assert_eq!(c.lines().filter(|l| l.starts_with("Exec=")).count(), 1);
        assert!(c.contains(&format!("Icon={}\n", config::APP_ID)));
    }
}
