//! What a message is about: the device, file, network or program it names.

use super::Cause;

/// The subject the cause's words name, when the text has one.
pub(super) fn subject_of(cause: Cause, text: &str) -> Option<String> {
    match cause {
        Cause::MediaPermission | Cause::MediaMissing | Cause::OvmfMissing | Cause::RomMissing => {
            quoted_path(text)
        }
        Cause::NetworkInactive | Cause::BridgeMissing => network_name(text),
        Cause::QemuNewerThanLibvirt => removed_option(text),
        Cause::DeviceBusy => holder(text).or_else(|| pci_address(text)),
        Cause::TpmFailed => swtpm_log(text),
        Cause::KvmBusy
        | Cause::KvmPermission
        | Cause::QemuFirmwareMissing
        | Cause::DisplayGl
        | Cause::TpmMissing
        | Cause::Unknown => None,
        _ => pci_address(text),
    }
}

/// A PCI address (`0000:01:00.0`) in the text, if it names one. Read byte by byte: the text
/// may hold any character (a full-width colon from a Chinese-language wrapper).
fn pci_address(text: &str) -> Option<String> {
    let b = text.as_bytes();
    b.windows(12).enumerate().find_map(|(i, w)| {
        let hex = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_hexdigit);
        let shape = hex(0..4)
            && w[4] == b':'
            && hex(5..7)
            && w[7] == b':'
            && hex(8..10)
            && w[10] == b'.'
            && w[11].is_ascii_digit();
        let starts = i == 0 || !b[i - 1].is_ascii_hexdigit();
        (shape && starts).then(|| String::from_utf8_lossy(w).into_owned())
    })
}

/// The first '…'-quoted part of the text that looks like a path.
fn quoted_path(text: &str) -> Option<String> {
    text.split('\'')
        .skip(1)
        .step_by(2)
        .find(|s| s.starts_with('/'))
        .map(str::to_string)
}

/// The network named in "network 'default' is not active" or "matching name 'default'".
fn network_name(text: &str) -> Option<String> {
    text.split('\'').nth(1).map(str::to_string)
}

/// The option QEMU refused: "-no-hpet" in "qemu-system-x86_64: -no-hpet: invalid option".
fn removed_option(text: &str) -> Option<String> {
    let end = text.find(": invalid option")?;
    let start = text[..end].rfind(' ').map_or(0, |i| i + 1);
    let opt = &text[start..end];
    opt.starts_with('-').then(|| opt.to_string())
}

/// What libvirt says holds a device: "in use by driver QEMU, domain win10".
fn holder(text: &str) -> Option<String> {
    // Passage's hook: "NAME (PID N) has /dev/dri/card1 open", "lent to the VM \"NAME\"".
    if let Some(i) = text.find(" (PID ") {
        let name = text[..i].rsplit([' ', ':', ',']).next().unwrap_or("");
        let pid: String = text[i + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !name.is_empty() && !pid.is_empty() {
            return Some(format!("{name} (PID {pid})"));
        }
    }
    if let Some(i) = text.find("lent to the VM \"") {
        let name: String = text[i + 16..].chars().take_while(|c| *c != '"').collect();
        if !name.is_empty() {
            return Some(name);
        }
    }
    let i = text.find("domain ")?;
    let name: String = text[i + 7..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '\'')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The log libvirt names when swtpm_setup fails: "Check error log '/var/log/swtpm/...' for details".
fn swtpm_log(text: &str) -> Option<String> {
    let i = text.find("error log '")?;
    let rest = &text[i + 11..];
    let path = &rest[..rest.find('\'')?];
    path.starts_with('/').then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_found_in_the_text() {
        assert_eq!(
            pci_address("vfio 0000:0a:00.0: group 28 is not viable"),
            Some("0000:0a:00.0".into())
        );
        assert_eq!(
            pci_address("host=01:00.0"),
            None,
            "a short address is not guessed"
        );
        assert_eq!(
            pci_address("Detail info：vfio 0000:0a:00.0：x"),
            Some("0000:0a:00.0".into()),
            "characters wider than a byte around it"
        );
        assert_eq!(
            quoted_path("Cannot access storage file '/home/a/W.iso' (as uid:64055, gid:108)"),
            Some("/home/a/W.iso".into())
        );
        assert_eq!(
            holder("PCI device 0000:01:00.0 is in use by driver QEMU, domain win10"),
            Some("win10".into())
        );
        assert_eq!(
            swtpm_log("Could not run '/usr/bin/swtpm_setup'. exitstatus: 1; Check error log '/var/log/swtpm/libvirt/qemu/w-swtpm.log' for details."),
            Some("/var/log/swtpm/libvirt/qemu/w-swtpm.log".into())
        );
    }
}
