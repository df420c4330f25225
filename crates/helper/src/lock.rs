//! One writer at a time across processes: the D-Bus service and libvirt's hook (a process of
//! its own) take an exclusive `flock` on `/var/lib/passage/lock` before they change the host.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Held while it lives; the kernel releases it when the process ends, however it ends.
pub struct HostLock {
    _file: File,
}

fn open(root: &Path) -> std::io::Result<File> {
    let dir = root.join("var/lib/passage");
    std::fs::create_dir_all(&dir)?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir.join("lock"))
}

/// Waits as long as it takes (the D-Bus service: the hook holds it for seconds).
pub fn wait(root: &Path) -> std::io::Result<HostLock> {
    let f = open(root)?;
    f.lock()?;
    Ok(HostLock { _file: f })
}

/// Waits at most `limit` (the hook: libvirt waits for it, so it must not wait forever).
pub fn within(root: &Path, limit: Duration) -> std::io::Result<Option<HostLock>> {
    let f = open(root)?;
    let start = Instant::now();
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(Some(HostLock { _file: f })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if start.elapsed() >= limit {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
