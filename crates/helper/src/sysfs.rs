//! Binding a whole IOMMU group to vfio-pci now, and giving it back, through sysfs below the
//! root: `driver_override` + `unbind` + `drivers_probe` for every device, checked afterwards.
//! Both run their writes under the watchdog ([`watched`], [`SYSFS_TIMEOUT`]), whoever calls
//! them: a D-Bus verb, the libvirt hook, an Undo or recovery.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use passage_core::host::{Host, PciAddress};

use crate::journal::{crash_point, StepRunner};

/// How long the kernel gets to take devices from their drivers or give them back.
pub const SYSFS_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs sysfs writes the kernel may block on (an unbind waits for the driver, and a driver
/// can wait for a program that holds the device) on a thread of their own, and stops waiting
/// after `timeout`: the call is then answered, and Passage's lock released, while the kernel
/// finishes or not. `what` says what was being done, for the error.
pub fn watched<T: Send + 'static>(
    timeout: Duration,
    what: &str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the kernel did not finish {what} within {} s (a program is probably still using the device); nothing more was done, and Passage's lock is free again; restart the computer if the device stays unusable",
            timeout.as_secs()
        )),
    }
}

/// One sysfs attribute write: a single write() of the whole value, as the kernel wants it.
pub fn write_attr(root: &Path, path: &str, value: &str) -> Result<(), String> {
    sysfs_write(root, path, value)
}

fn sysfs_write(root: &Path, path: &str, value: &str) -> Result<(), String> {
    crash_point(format_args!("before writing {value:?} to {path}"));
    let r = sysfs_write_now(root, path, value);
    crash_point(format_args!("wrote {value:?} to {path}"));
    r
}

fn sysfs_write_now(root: &Path, path: &str, value: &str) -> Result<(), String> {
    let p = root.join(path.trim_start_matches('/'));
    // O_TRUNC, as `echo value > attribute` opens it (sysfs accepts it; a plain file needs it).
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .map_err(|e| format!("cannot open {path}: {e}"))?;
    f.write_all(value.as_bytes())
        .map_err(|e| format!("writing {value:?} to {path} failed: {e}"))
}

/// The driver bound to a device now, from its `driver` link.
pub fn driver_now(root: &Path, a: PciAddress) -> Option<String> {
    std::fs::read_link(root.join(format!("sys/bus/pci/devices/{a}/driver")))
        .ok()
        .and_then(|t| t.file_name().and_then(|n| n.to_str()).map(str::to_string))
}

fn vfio_loaded(root: &Path) -> bool {
    root.join("sys/bus/pci/drivers/vfio-pci").is_dir()
}

/// The addresses as a list for messages: "0000:0a:00.0, 0000:0a:00.1".
pub fn listed(devices: &[PciAddress]) -> String {
    devices
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Devices with the driver each had, as the journal records them.
pub type Drivers = Vec<(String, Option<String>)>;
/// Devices with someone else's `driver_override`, as the journal records them.
pub type Overrides = Vec<(String, String)>;

/// A device as Passage found it before taking it: what its give-back restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub address: PciAddress,
    /// The driver it had (`None`: none).
    pub driver: Option<String>,
    /// A `driver_override` someone else had set before Passage set its own: it is put back,
    /// never cleared.
    pub other_override: Option<String>,
}

impl Found {
    /// As recorded in the journal: the drivers, and the overrides that were someone else's.
    pub fn split(found: &[Found]) -> (Drivers, Overrides) {
        let drivers = found
            .iter()
            .map(|f| (f.address.to_string(), f.driver.clone()))
            .collect();
        let overrides = found
            .iter()
            .filter_map(|f| Some((f.address.to_string(), f.other_override.clone()?)))
            .collect();
        (drivers, overrides)
    }

    /// Back from the journal's record (an entry written before overrides were recorded has
    /// none: Passage set every override then).
    pub fn joined(
        drivers: &[(String, Option<String>)],
        overrides: &[(String, String)],
    ) -> Vec<Found> {
        drivers
            .iter()
            .filter_map(|(a, d)| {
                Some(Found {
                    address: a.parse().ok()?,
                    driver: d.clone(),
                    other_override: overrides
                        .iter()
                        .find(|(o, _)| o == a)
                        .map(|(_, v)| v.clone()),
                })
            })
            .collect()
    }
}

/// The device's `driver_override` now (`None`: none; the kernel shows "(null)").
pub fn override_now(root: &Path, a: PciAddress) -> Option<String> {
    std::fs::read_to_string(root.join(format!("sys/bus/pci/devices/{a}/driver_override")))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "(null)")
}

/// Hands `devices` to vfio-pci (loading it first), the writes under the watchdog. Returns
/// each device as it was found (its driver, someone else's override). On any failure, every
/// device already moved is given back.
pub fn bind(
    root: &Path,
    host: &Host,
    devices: &[PciAddress],
    runner: &dyn StepRunner,
) -> Result<Vec<Found>, String> {
    if !vfio_loaded(root) {
        let r = runner.run(
            &["modprobe".to_string(), "vfio-pci".to_string()],
            &mut |_| {},
        );
        if let Some(Err(e)) = r {
            return Err(format!("vfio-pci could not be loaded: {e}"));
        }
        if !vfio_loaded(root) {
            return Err("the vfio-pci driver is not available on this kernel; `passagectl check` says how to get it".into());
        }
    }
    let what = format!("taking {} from their drivers", listed(devices));
    let (root, host, devices) = (root.to_path_buf(), host.clone(), devices.to_vec());
    watched(SYSFS_TIMEOUT, &what, move || {
        bind_now(&root, &host, &devices)
    })
}

/// How each device is found now, before Passage takes it.
pub fn found(root: &Path, host: &Host, devices: &[PciAddress]) -> Vec<Found> {
    devices
        .iter()
        .map(|a| Found {
            address: *a,
            driver: driver_now(root, *a).or_else(|| host.device(*a).and_then(|d| d.driver.clone())),
            other_override: override_now(root, *a),
        })
        .collect()
}

/// `bind`'s writes, device by device, on the watchdog's thread.
fn bind_now(root: &Path, host: &Host, devices: &[PciAddress]) -> Result<Vec<Found>, String> {
    let mut done: Vec<Found> = Vec::new();
    for f in found(root, host, devices) {
        let a = f.address;
        let step = (|| {
            sysfs_write(
                root,
                &format!("/sys/bus/pci/devices/{a}/driver_override"),
                "vfio-pci",
            )?;
            if let Some(d) = f.driver.as_deref().filter(|d| *d != "vfio-pci") {
                sysfs_write(
                    root,
                    &format!("/sys/bus/pci/drivers/{d}/unbind"),
                    &a.to_string(),
                )?;
            }
            if driver_now(root, a).as_deref() != Some("vfio-pci") {
                sysfs_write(root, "/sys/bus/pci/drivers_probe", &a.to_string())?;
            }
            match driver_now(root, a) {
                Some(d) if d == "vfio-pci" => Ok(()),
                other => Err(format!(
                    "the kernel did not bind {a} to vfio-pci (its driver is now {})",
                    other.as_deref().unwrap_or("none")
                )),
            }
        })();
        done.push(f);
        if let Err(e) = step {
            let _ = give_back_now(root, &done);
            return Err(format!("{e}; every device was given back"));
        }
    }
    Ok(done)
}

/// Gives `devices` back to the drivers the kernel picks for them (their own), the writes
/// under the watchdog: for devices whose driver before is not known (bound at boot by
/// Passage's files). Only Passage's override (`vfio-pci`) is cleared. Returns each device with
/// its driver afterwards.
pub fn restore(
    root: &Path,
    devices: &[PciAddress],
) -> Result<Vec<(PciAddress, Option<String>)>, String> {
    let what = format!("giving {} back to their drivers", listed(devices));
    let (root, devices) = (root.to_path_buf(), devices.to_vec());
    watched(SYSFS_TIMEOUT, &what, move || restore_now(&root, &devices))
}

/// Gives devices Passage took back as it found them, the writes under the watchdog: its own
/// override cleared (someone else's written back), off vfio-pci, onto the driver each had (none
/// stays none). Returns each device with its driver afterwards.
pub fn give_back(
    root: &Path,
    found: &[Found],
) -> Result<Vec<(PciAddress, Option<String>)>, String> {
    let devices: Vec<PciAddress> = found.iter().map(|f| f.address).collect();
    let what = format!("giving {} back to their drivers", listed(&devices));
    let (root, found) = (root.to_path_buf(), found.to_vec());
    watched(SYSFS_TIMEOUT, &what, move || give_back_now(&root, &found))
}

/// Runs `one` for each device, collecting errors; each device with its driver afterwards.
fn each<T>(
    root: &Path,
    items: &[T],
    address: impl Fn(&T) -> PciAddress,
    one: impl Fn(&T) -> Result<(), String>,
) -> Result<Vec<(PciAddress, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for t in items {
        if let Err(e) = one(t) {
            errors.push(e);
        }
        let a = address(t);
        out.push((a, driver_now(root, a)));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

/// Off vfio-pci, if it is there.
fn off_vfio(root: &Path, a: PciAddress) -> Result<(), String> {
    if driver_now(root, a).as_deref() == Some("vfio-pci") {
        sysfs_write(root, "/sys/bus/pci/drivers/vfio-pci/unbind", &a.to_string())?;
    }
    Ok(())
}

/// `restore`'s writes, device by device.
fn restore_now(
    root: &Path,
    devices: &[PciAddress],
) -> Result<Vec<(PciAddress, Option<String>)>, String> {
    each(
        root,
        devices,
        |a| *a,
        |a| {
            // An empty override lets the device's own driver match again; someone else's stays.
            if override_now(root, *a).as_deref() == Some("vfio-pci") {
                sysfs_write(
                    root,
                    &format!("/sys/bus/pci/devices/{a}/driver_override"),
                    "\n",
                )?;
            }
            off_vfio(root, *a)?;
            sysfs_write(root, "/sys/bus/pci/drivers_probe", &a.to_string())
        },
    )
}

/// `give_back`'s writes, device by device.
fn give_back_now(
    root: &Path,
    found: &[Found],
) -> Result<Vec<(PciAddress, Option<String>)>, String> {
    each(
        root,
        found,
        |f| f.address,
        |f| {
            let a = f.address;
            let before = f.other_override.as_deref().unwrap_or("\n");
            sysfs_write(
                root,
                &format!("/sys/bus/pci/devices/{a}/driver_override"),
                before,
            )?;
            match f.driver.as_deref() {
                Some("vfio-pci") => Ok(()),
                None => off_vfio(root, a),
                Some(d) => {
                    off_vfio(root, a)?;
                    sysfs_write(
                        root,
                        &format!("/sys/bus/pci/drivers/{d}/bind"),
                        &a.to_string(),
                    )
                    .map_err(|e| format!("{a} could not go back to {d}, the driver it had: {e}"))
                }
            }
        },
    )
}

fn huge_dir(size_kib: u64) -> String {
    format!("/sys/kernel/mm/hugepages/hugepages-{size_kib}kB")
}

/// How many pages of this size are reserved now.
pub fn hugepages_now(root: &Path, size_kib: u64) -> Option<u64> {
    std::fs::read_to_string(
        root.join(format!("{}/nr_hugepages", huge_dir(size_kib)).trim_start_matches('/')),
    )
    .ok()
    .and_then(|s| s.trim().parse().ok())
}

/// Sets the number of reserved pages; returns what the kernel actually reserved (it may find
/// fewer free pages than asked for when memory is fragmented).
pub fn set_hugepages(root: &Path, size_kib: u64, count: u64) -> Result<u64, String> {
    sysfs_write(
        root,
        &format!("{}/nr_hugepages", huge_dir(size_kib)),
        &count.to_string(),
    )?;
    hugepages_now(root, size_kib)
        .ok_or_else(|| format!("cannot read back {}/nr_hugepages", huge_dir(size_kib)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device whose give-back blocks: `drivers_probe` is a FIFO nobody reads, so opening it
    /// for writing waits, as an unbind waits for a driver whose device a program holds.
    #[test]
    fn a_write_the_kernel_blocks_on_is_given_up_after_the_timeout() {
        let d = tempfile::tempdir().expect("tempdir");
        let a: PciAddress = "0000:0a:00.0".parse().expect("address");
        let dev = d.path().join(format!("sys/bus/pci/devices/{a}"));
        std::fs::create_dir_all(&dev).expect("mkdir");
        std::fs::write(dev.join("driver_override"), "vfio-pci\n").expect("write");
        let probe = d.path().join("sys/bus/pci/drivers_probe");
        let st = std::process::Command::new("mkfifo")
            .arg(&probe)
            .status()
            .expect("mkfifo");
        assert!(st.success());
        let root = d.path().to_path_buf();
        let start = std::time::Instant::now();
        let r = watched(
            Duration::from_millis(500),
            "giving the devices back",
            move || restore(&root, &[a]),
        );
        let took = start.elapsed();
        let e = r.expect_err("the blocked write is given up");
        assert!(
            e.contains("did not finish giving the devices back within 0 s"),
            "{e}"
        );
        assert!(took < Duration::from_secs(5), "waited {took:?}");
        // The override was cleared before the blocked write.
        let o = std::fs::read_to_string(dev.join("driver_override")).expect("read");
        assert_eq!(o, "\n");
        // Unblock the thread left in the write, so it ends with the test.
        let _ = std::fs::File::open(&probe);
    }

    #[test]
    fn a_write_that_finishes_in_time_gives_its_result() {
        let r = watched(Duration::from_secs(5), "nothing", || Ok::<_, String>(7));
        assert_eq!(r, Ok(7));
        let r = watched(Duration::from_secs(5), "nothing", || {
            Err::<u8, _>("no".to_string())
        });
        assert_eq!(r, Err("no".to_string()));
    }
}
