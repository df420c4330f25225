use std::path::PathBuf;

use crate::i18n::tr_f;

/// Errors that stop a whole operation (as opposed to [`crate::root::Problem`]s, which scan
/// reports and goes on).
#[derive(Debug)]
pub enum Error {
    RootUnreadable(PathBuf, String),
    RootNotDirectory(PathBuf),
    BadPciAddress(crate::host::pci::BadPciAddress),
    NoSuchDevice(String),
    NotAGpu(String, String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Error::RootUnreadable(p, why) => tr_f(
                "the host root {path} does not exist or cannot be read ({why}); give a directory that holds a captured host (sys/, proc/, etc/)",
                &[("path", &p.display().to_string()), ("why", why)],
            ),
            Error::RootNotDirectory(p) => tr_f(
                "the host root {path} is not a directory; give a directory that holds a captured host (sys/, proc/, etc/)",
                &[("path", &p.display().to_string())],
            ),
            Error::BadPciAddress(e) => e.to_string(),
            Error::NoSuchDevice(dev) => tr_f(
                "there is no PCI device {dev} on this host; `passagectl scan` lists the devices",
                &[("dev", dev)],
            ),
            Error::NotAGpu(dev, class) => tr_f(
                "{dev} is not a graphics card (class {class}); choose a display controller from `passagectl scan`",
                &[("dev", dev), ("class", class)],
            ),
        };
        f.write_str(&s)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::BadPciAddress(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::host::pci::BadPciAddress> for Error {
    fn from(e: crate::host::pci::BadPciAddress) -> Self {
        Error::BadPciAddress(e)
    }
}
