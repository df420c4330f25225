//! The check's results in the user's words: one line per device, what fixes a problem, and why
//! a guest could not be asked. `passagectl vm verify` and the VM page print the same.

use super::{CannotCheck, DeviceCheck, GuestOs, Masking, Passed, Seen, Verification};
use crate::i18n::{tr, tr_f};

/// What the front ends say beside the check: the agent commands are read-only, and libvirt
/// marks a domain that ran one "tainted".
pub fn taint_note() -> String {
    tr("Only read-only queries run in the guest (its system, its PCI devices and their drivers). libvirt marks a domain that ran a guest agent command \"tainted\" (custom-ga-command) in its log until it stops; nothing else changes.")
}

impl GuestOs {
    pub fn words(self) -> &'static str {
        match self {
            GuestOs::Windows => "Windows",
            GuestOs::Linux => "Linux",
        }
    }
}

/// NVIDIA's release number in a Windows driver version: its last five digits
/// (`31.0.15.5123` → `551.23`), as NVIDIA numbers its drivers.
fn nvidia_release(version: &str) -> Option<String> {
    let digits: String = version.split('.').skip(2).collect();
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let last = &digits[digits.len() - 5..];
    Some(format!("{}.{}", &last[..3], &last[3..]))
}

fn maker(vendor: u16) -> Option<&'static str> {
    match vendor {
        0x10de => Some("NVIDIA"),
        0x1002 => Some("AMD"),
        0x8086 => Some("Intel"),
        _ => None,
    }
}

/// `NVIDIA 551.23` on Windows, `driver nvidia` on Linux.
fn driver_words(os: GuestOs, p: &Passed, driver: &str, version: Option<&str>) -> String {
    match (os, version) {
        (GuestOs::Windows, Some(v)) => {
            let v = if p.vendor == 0x10de {
                nvidia_release(v).unwrap_or_else(|| v.to_string())
            } else {
                v.to_string()
            };
            format!("{} {v}", maker(p.vendor).unwrap_or(driver))
        }
        _ => tr_f("driver {driver}", &[("driver", driver)]),
    }
}

/// What a Device Manager code means (the common ones), else the code alone.
fn problem_words(code: u32) -> String {
    let c = code.to_string();
    match code {
        43 => tr("Code 43: Windows stopped the device because its driver reported a problem"),
        10 => tr("Code 10: the device cannot start"),
        12 => tr("Code 12: the device cannot find enough free resources"),
        22 => tr("Code 22: the device is disabled in Device Manager"),
        31 => tr("Code 31: Windows cannot load the drivers for this device"),
        _ => tr_f("Device Manager code {code}", &[("code", &c)]),
    }
}

impl DeviceCheck {
    /// `GeForce RTX 3090 (10de:2204): working in Windows, NVIDIA 551.23`.
    pub fn line(&self, os: GuestOs) -> String {
        let p = &self.passed;
        let what = match &self.seen {
            Seen::Working { driver, version } => tr_f(
                "working in {os}, {driver}",
                &[
                    ("os", os.words()),
                    ("driver", &driver_words(os, p, driver, version.as_deref())),
                ],
            ),
            Seen::NoDriver { basic: Some(b), .. } => tr_f(
                "seen by {os} with its basic driver ({basic}): install the card maker's driver in the guest",
                &[("os", os.words()), ("basic", b)],
            ),
            Seen::NoDriver { modules, .. } if !modules.is_empty() => tr_f(
                "seen by {os} without a driver (modules that could take it: {modules})",
                &[("os", os.words()), ("modules", &modules.join(", "))],
            ),
            Seen::NoDriver { .. } => tr_f(
                "seen by {os} without a driver: install its driver in the guest",
                &[("os", os.words())],
            ),
            Seen::Problem { code } => problem_words(*code),
            Seen::Missing => tr_f(
                "not seen by {os}: the guest lists no device with these IDs",
                &[("os", os.words())],
            ),
            Seen::NoDriverOrMissing => tr_f(
                "not among the devices {os} has a driver for; its full list could not be read, so it is missing or has no driver",
                &[("os", os.words())],
            ),
        };
        format!("{} ({}): {what}", p.name, p.id)
    }

    /// What fixes its problem, one step a line; none when it works.
    pub fn fixes(&self, m: &Masking) -> Vec<String> {
        match self.seen {
            Seen::Problem { code: 43 } => code43(&self.passed, m),
            Seen::Missing => vec![tr("Check that the VM started with the device (passagectl vm show lists its passed devices) and that the guest's kernel or Windows enumerates PCI devices behind its root ports.")],
            _ => Vec::new(),
        }
    }
}

/// Code 43's usual causes, with whether this VM already has the settings that avoid them.
fn code43(p: &Passed, m: &Masking) -> Vec<String> {
    let mut out = Vec::new();
    if p.vendor == 0x10de {
        out.push(match &m.vendor_id {
            Some(v) => tr_f("The Hyper-V vendor ID is set ({value}): not the cause.", &[("value", v)]),
            None => tr("Set a Hyper-V vendor ID (older NVIDIA drivers stop a card that sees a hypervisor): Passage's wizard sets one on new VMs; for this one add <vendor_id state='on' value='passage'/> to <features><hyperv> (virsh edit)."),
        });
        out.push(if m.kvm_hidden {
            tr("KVM is hidden from the guest (<kvm><hidden state='on'/>): not the cause.")
        } else {
            tr("Hide KVM from the guest: older NVIDIA drivers need it. Passage's wizard does so on new VMs; for this one add <kvm><hidden state='on'/></kvm> to <features> (virsh edit).")
        });
    }
    out.push(match (&p.rom_file, &p.rom) {
        (Some(f), Some(v)) if v.has_uefi_x64() => tr_f("The card's ROM file {file} has an x64 UEFI (GOP) image: not the cause.", &[("file", f)]),
        (Some(f), Some(v)) => tr_f("The card's ROM file {file}: {verdict}", &[("file", f), ("verdict", &v.words())]),
        (Some(f), None) => tr_f("The card's ROM is the file {file}: check that it has a UEFI (GOP) image with passagectl rom {file}.", &[("file", f)]),
        (None, _) => tr_f("Check that the card's ROM has a UEFI (GOP) image: passagectl rom {address} (as root, while the host does not use the card). Without one, give the VM a ROM file that has it.", &[("address", &p.address.to_string())]),
    });
    if p.vendor == 0x1002 {
        out.push(tr("Many AMD cards do not reset between VM starts (the reset bug): if the card worked at the first start after the host booted, restart the host, or install the vendor-reset module."));
    } else {
        out.push(tr("If the card worked at the VM's first start after the host booted, it may not reset between starts: restart the host to see."));
    }
    out
}

impl Verification {
    /// Every device's line, each followed by its fixes, indented.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.devices {
            out.push(d.line(self.os));
            out.extend(d.fixes(&self.masking).into_iter().map(|f| format!("  {f}")));
        }
        if self.devices.is_empty() {
            out.push(tr(
                "No PCI device is passed to this VM: there is nothing to check.",
            ));
        }
        out
    }
}

impl CannotCheck {
    /// `cannot check: …`.
    pub fn words(&self, add_channel: &str) -> String {
        tr_f("cannot check: {why}", &[("why", &self.reason(add_channel))])
    }

    /// Why, after "cannot check:" (the VM page's row says "Cannot check" above it).
    pub fn reason(&self, add_channel: &str) -> String {
        match self {
            CannotCheck::NotRunning => tr("the VM is not running"),
            CannotCheck::NoChannel => tr_f(
                "the VM has no guest agent channel ({add} adds it; it takes effect at the next start)",
                &[("add", add_channel)],
            ),
            CannotCheck::NotAnswering => tr("no guest agent answers in the guest (install the QEMU guest agent: virtio-win guest tools on Windows, qemu-guest-agent on Linux)"),
            CannotCheck::Agent { what, why } => tr_f(
                "the guest agent did not answer {what}: {why}",
                &[("what", what), ("why", why)],
            ),
            CannotCheck::Failed { what, code, err } => {
                let code = code.map_or_else(|| "?".to_string(), |c| c.to_string());
                tr_f(
                    "{what} failed in the guest (exit code {code}): {err}",
                    &[("what", what), ("code", &code), ("err", err)],
                )
            }
            CannotCheck::TimedOut { what } => tr_f(
                "{what} did not finish in the guest in time",
                &[("what", what)],
            ),
            CannotCheck::Libvirt { why } => tr_f("libvirt refused: {why}", &[("why", why)]),
            CannotCheck::Unreadable { why } => tr_f(
                "the VM's definition cannot be read: {why}",
                &[("why", why)],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nvidia_release;

    #[test]
    fn nvidias_release_from_the_windows_version() {
        assert_eq!(nvidia_release("31.0.15.5123").as_deref(), Some("551.23"));
        assert_eq!(nvidia_release("32.0.15.6094").as_deref(), Some("560.94"));
        assert_eq!(nvidia_release("27.21.14.5671").as_deref(), Some("456.71"));
        assert_eq!(nvidia_release("10.0"), None);
    }
}
