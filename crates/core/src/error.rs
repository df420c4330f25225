use std::path::PathBuf;

/// Errors that stop a whole operation (as opposed to [`crate::root::Problem`]s, which scan
/// reports and goes on).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the host root {0} does not exist or cannot be read ({1}); give a directory that holds a captured host (sys/, proc/, etc/)")]
    RootUnreadable(PathBuf, String),
    #[error("the host root {0} is not a directory; give a directory that holds a captured host (sys/, proc/, etc/)")]
    RootNotDirectory(PathBuf),
    #[error(transparent)]
    BadPciAddress(#[from] crate::host::pci::BadPciAddress),
    #[error("there is no PCI device {0} on this host; `passagectl scan` lists the devices")]
    NoSuchDevice(String),
    #[error("{0} is not a graphics card (class {1}); choose a display controller from `passagectl scan`")]
    NotAGpu(String, String),
}
