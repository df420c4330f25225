//! A socket to a running VM's display (SPICE or VNC) without a listening port:
//! virDomainOpenGraphicsFD, as `virt-viewer --attach` uses. libvirt hands QEMU one end of a
//! new socket pair and returns the other, which a display client then speaks its protocol on
//! (one socket per SPICE channel).

use std::os::fd::OwnedFd;

use crate::{lv, Libvirt, VirtError};

/// `VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH`: the socket is this client's already (libvirt checked
/// the connection), so QEMU asks no display password on it.
const SKIPAUTH: u32 = 1;

impl Libvirt {
    /// A new socket to display `idx` (the domain's `idx`th `<graphics>`) of running VM `name`.
    pub fn graphics_fd(&self, name: &str, idx: u32) -> Result<OwnedFd, VirtError> {
        let fd = self
            .domain(name)?
            .open_graphics_fd(idx, SKIPAUTH)
            .map_err(lv)?;
        let fd = i32::try_from(fd).map_err(|_| VirtError::Libvirt("a bad descriptor".into()))?;
        Ok(owned(fd))
    }
}

/// Takes ownership of the descriptor virDomainOpenGraphicsFD returned.
#[allow(unsafe_code)]
fn owned(fd: i32) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: libvirt returns a new descriptor that the caller owns ("the caller is
    // responsible for closing it"), open and used by nothing else in this process.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
