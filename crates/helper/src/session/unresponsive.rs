//! A card that did not reset: after its VM stopped, its configuration space reads all ones
//! (vendor ID 0xffff), as a card with the AMD reset bug does. Giving it to its driver then
//! hangs the driver's probe (amdgpu waits on a GPU that never answers), so the give-back waits
//! a bounded time for the card to answer, and otherwise leaves it on vfio-pci and says so.

use std::path::Path;
use std::time::{Duration, Instant};

use passage_core::host::PciAddress;

/// How long a card that reads all ones gets to answer again (a bus reset's completion is
/// allowed 1 s by the PCIe specification; a card that needs more did not reset).
pub const RESET_WAIT: Duration = Duration::from_secs(3);

const POLL: Duration = Duration::from_millis(100);

/// Whether the device reads all ones: its vendor ID (the first two bytes of `config`) is
/// 0xffff. A device whose config cannot be read at all (gone) is not judged here.
pub fn reads_all_ones(root: &Path, a: PciAddress) -> bool {
    use std::io::Read;
    let path = root.join(format!("sys/bus/pci/devices/{a}/config"));
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == [0xff, 0xff])
}

/// The devices of `devices` still reading all ones after up to `wait`, polled.
pub fn still_silent(root: &Path, devices: &[PciAddress], wait: Duration) -> Vec<PciAddress> {
    let start = Instant::now();
    loop {
        let silent: Vec<PciAddress> = devices
            .iter()
            .copied()
            .filter(|a| reads_all_ones(root, *a))
            .collect();
        if silent.is_empty() || start.elapsed() >= wait {
            return silent;
        }
        std::thread::sleep(POLL);
    }
}

/// Why a give-back did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The card did not reset: only a restart brings it back.
    NoReset(Vec<PciAddress>),
    /// Anything else, in words (another try may succeed).
    Other(String),
}

impl Failure {
    pub fn needs_restart(&self) -> bool {
        matches!(self, Failure::NoReset(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoReset(devices) => write!(
                f,
                "the card did not reset; restart the host. {} does not answer since the VM stopped (its configuration space reads all ones), so it stays with vfio-pci until the restart, where no driver can hang on it",
                crate::sysfs::listed(devices)
            ),
            Failure::Other(s) => f.write_str(s),
        }
    }
}
