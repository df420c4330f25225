//! Looking Glass: the guest's frames copied through a shared-memory device (IVSHMEM) into a
//! window on the host. What a domain has of it, the shared memory's size for the user's
//! monitor, and where the memory lives: `/dev/shm/looking-glass` through libvirt's `<shmem>`,
//! or the kvmfr module's `/dev/kvmfr0` through `<qemu:commandline>` where kvmfr is loaded.
//!
//! The forms and the size rule are Looking Glass's own documentation (looking-glass.io/docs/B7,
//! install.rst "Determining memory", ivshmem_shm.rst, ivshmem_kvmfr.rst): the JSON arguments
//! are the ones it gives for QEMU 6.2 and libvirt 7.9 or later (Debian 12 has QEMU 7.2 and
//! libvirt 9.0), `size` in bytes.

use roxmltree::Node;
use serde::{Deserialize, Serialize};

use super::domain::child;
use super::number::memory_kib;
use super::{err, VmError};
use crate::i18n::{tr, tr_f};
use crate::Root;

/// The `<shmem>` name, and so the file libvirt's QEMU creates under /dev/shm.
pub const SHM_NAME: &str = "looking-glass";
/// The shared-memory file on the host.
pub const SHM_PATH: &str = "/dev/shm/looking-glass";
/// The kvmfr module's first device.
pub const KVMFR_DEV: &str = "/dev/kvmfr0";
/// libvirt's QEMU namespace for `<qemu:commandline>`.
pub const QEMU_NS: &str = "http://libvirt.org/schemas/domain/qemu/1.0";

const MIB: u64 = 1024 * 1024;

/// The monitor the guest draws for: its resolution and whether it is HDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Monitor {
    pub width: u32,
    pub height: u32,
    pub hdr: bool,
}

impl Monitor {
    /// `WIDTHxHEIGHT` or `WIDTHxHEIGHT:hdr`, such as `2560x1440` or `3840x2160:hdr`.
    pub fn parse(s: &str) -> Result<Monitor, VmError> {
        let bad = || {
            err(
                "looking-glass",
                tr_f(
                    "“{v}” is not a resolution: give WIDTHxHEIGHT, such as 2560x1440, with :hdr for an HDR monitor",
                    &[("v", s)],
                ),
            )
        };
        let (res, hdr) = match s.split_once(':') {
            Some((r, "hdr")) => (r, true),
            Some(_) => return Err(bad()),
            None => (s, false),
        };
        let (w, h) = res.split_once(['x', 'X']).ok_or_else(bad)?;
        let num = |v: &str| v.parse::<u32>().ok().filter(|n| (1..=16384).contains(n));
        match (num(w), num(h)) {
            (Some(width), Some(height)) => Ok(Monitor { width, height, hdr }),
            _ => Err(bad()),
        }
    }

    /// The shared memory it needs, in MiB: two frames of 4 bytes a pixel (8 for HDR) and
    /// 10 MiB for Looking Glass's own data, rounded up to a power of two (IVSHMEM's rule).
    pub fn shm_mib(&self) -> u64 {
        let pixel = if self.hdr { 8 } else { 4 };
        let frames = u64::from(self.width) * u64::from(self.height) * pixel * 2;
        (frames.div_ceil(MIB) + 10).next_power_of_two()
    }
}

impl std::fmt::Display for Monitor {
    /// The form [`Monitor::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)?;
        if self.hdr {
            f.write_str(":hdr")?;
        }
        Ok(())
    }
}

/// The monitors the app offers by name (Looking Glass's own size table); any other is custom.
pub const PRESETS: [(&str, u32, u32); 3] = [
    ("1080p", 1920, 1080),
    ("1440p", 2560, 1440),
    ("4K", 3840, 2160),
];

/// Passage's metadata element that records the monitor the memory was sized for.
pub const MONITOR_META: &str = "looking-glass-monitor";

/// Where the shared memory lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backing {
    /// `/dev/shm/looking-glass`, libvirt's `<shmem>`.
    Shm,
    /// The kvmfr module's `/dev/kvmfr0`, through QEMU's command line.
    Kvmfr,
}

impl Backing {
    /// kvmfr where the module is loaded and its device is there on `root`, else /dev/shm.
    pub fn of(root: &Root) -> Backing {
        if root.exists("/sys/module/kvmfr") && root.exists(KVMFR_DEV) {
            Backing::Kvmfr
        } else {
            Backing::Shm
        }
    }

    /// The host path QEMU maps.
    pub fn path(self) -> &'static str {
        match self {
            Backing::Shm => SHM_PATH,
            Backing::Kvmfr => KVMFR_DEV,
        }
    }
}

/// A domain's Looking Glass device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LookingGlass {
    /// The shared memory's size in MiB (`None` when the domain does not say or Passage cannot
    /// read it).
    pub mib: Option<u64>,
    pub backing: Backing,
    /// The monitor Passage sized it for (its metadata), when it did.
    pub monitor: Option<Monitor>,
}

impl LookingGlass {
    /// The device `xml`'s domain node has: a `<shmem name='looking-glass'>`, or QEMU arguments
    /// mapping a kvmfr device.
    pub fn of(d: Node) -> Option<LookingGlass> {
        if let Some(s) = child(d, "devices")
            .into_iter()
            .flat_map(|devs| devs.children())
            .find(|c| c.has_tag_name("shmem") && c.attribute("name") == Some(SHM_NAME))
        {
            let mib = child(s, "size").and_then(|z| {
                memory_kib(
                    z.text().unwrap_or(""),
                    Some(z.attribute("unit").unwrap_or("b")),
                )
                .map(|k| k / 1024)
            });
            return Some(LookingGlass {
                mib,
                backing: Backing::Shm,
                monitor: monitor_of(d),
            });
        }
        let args = kvmfr_args(d);
        let arg = args
            .iter()
            .filter_map(|a| a.attribute("value"))
            .find(|v| v.contains("/dev/kvmfr"))?;
        Some(LookingGlass {
            mib: arg_size(arg).map(|b| b / MIB),
            backing: Backing::Kvmfr,
            monitor: monitor_of(d),
        })
    }

    /// In words, after "Looking Glass:".
    pub fn words(&self) -> String {
        let size = self.mib.map_or_else(
            || tr("shared memory of unknown size"),
            |m| tr_f("{n} MiB shared memory", &[("n", &m.to_string())]),
        );
        tr_f(
            "{size} at {path}",
            &[("size", &size), ("path", self.backing.path())],
        )
    }
}

/// The monitor recorded in Passage's metadata.
fn monitor_of(d: Node) -> Option<Monitor> {
    monitor_meta(d).and_then(|n| Monitor::parse(n.text()?.trim()).ok())
}

/// Passage's metadata element with the monitor.
pub(crate) fn monitor_meta<'a, 'i>(d: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    child(d, "metadata")?
        .children()
        .filter(|c| c.tag_name().namespace() == Some(super::domain::PASSAGE_NS))
        .flat_map(|b| b.children())
        .find(|c| c.tag_name().name() == MONITOR_META)
}

/// Whether a QEMU argument is Looking Glass's: the kvmfr memory backend or the device on it.
fn ours(v: &str) -> bool {
    v.contains("/dev/kvmfr")
        || v.contains(&format!("\"memdev\":\"{SHM_NAME}\""))
        || v.contains(&format!("memdev={SHM_NAME}"))
}

/// The `<qemu:arg>`s of `d`'s command line that map a kvmfr device, each after the `-object`
/// or `-device` it belongs to.
pub(crate) fn kvmfr_args<'a, 'i>(d: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    let is = |c: &Node, name: &str| {
        c.tag_name().namespace() == Some(QEMU_NS) && c.tag_name().name() == name
    };
    let mut out = vec![];
    for line in d.children().filter(|c| is(c, "commandline")) {
        let args: Vec<Node> = line.children().filter(|c| is(c, "arg")).collect();
        for (i, a) in args.iter().enumerate() {
            if !ours(a.attribute("value").unwrap_or("")) {
                continue;
            }
            if let Some(flag) = i.checked_sub(1).map(|j| args[j]) {
                if matches!(flag.attribute("value"), Some("-object" | "-device")) {
                    out.push(flag);
                }
            }
            out.push(*a);
        }
    }
    out
}

/// The `size` of a memory backend's argument, in bytes: JSON (`"size":33554432`) or the
/// legacy form (`size=32M`).
fn arg_size(v: &str) -> Option<u64> {
    if let Some(rest) = v.split("\"size\":").nth(1) {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok();
    }
    let s = v.split(',').find_map(|p| p.strip_prefix("size="))?;
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    memory_kib(num, Some(if unit.is_empty() { "b" } else { unit })).map(|k| k * 1024)
}

/// The lines of the device for `mib` MiB on `backing`: the `<shmem>` element, or the
/// `<qemu:arg>`s (with the namespace prefix `prefix`) to put in `<qemu:commandline>`.
pub(crate) fn device_lines(mib: u64, backing: Backing, prefix: &str) -> Vec<String> {
    match backing {
        Backing::Shm => vec![
            format!("<shmem name='{SHM_NAME}'>"),
            "  <model type='ivshmem-plain'/>".into(),
            format!("  <size unit='M'>{mib}</size>"),
            "</shmem>".into(),
        ],
        Backing::Kvmfr => {
            let bytes = mib * MIB;
            vec![
                format!("<{prefix}:arg value='-device'/>"),
                format!("<{prefix}:arg value='{{\"driver\":\"ivshmem-plain\",\"id\":\"shmem-lg\",\"memdev\":\"{SHM_NAME}\"}}'/>"),
                format!("<{prefix}:arg value='-object'/>"),
                format!("<{prefix}:arg value='{{\"qom-type\":\"memory-backend-file\",\"id\":\"{SHM_NAME}\",\"mem-path\":\"{KVMFR_DEV}\",\"size\":{bytes},\"share\":true}}'/>"),
            ]
        }
    }
}

/// The Looking Glass client's program name.
pub const CLIENT: &str = "looking-glass-client";

/// The client on `path` (a `PATH` value): the first executable `looking-glass-client`.
pub fn find_client(path: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|d| d.join(CLIENT))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Where the client is, in words: its path, or where to get it (Debian 12 does not package it).
pub fn client_words(path: &str) -> String {
    match find_client(path) {
        Some(p) => p.display().to_string(),
        None => tr("not installed: Debian does not package looking-glass-client; get the release matching the host application in the guest from looking-glass.io/downloads and build it as its documentation says"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_found_on_path_only_where_it_is_executable() {
        use std::os::unix::fs::PermissionsExt;
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let path = std::env::join_paths([a.path(), b.path()]).expect("path");
        let path = path.to_str().expect("utf8");
        assert_eq!(find_client(path), None);
        assert!(client_words(path).contains("looking-glass.io/downloads"));
        // Not executable: not a client.
        std::fs::write(a.path().join(CLIENT), "").expect("w");
        assert_eq!(find_client(path), None);
        let c = b.path().join(CLIENT);
        std::fs::write(&c, "#!/bin/sh\n").expect("w");
        std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(find_client(path), Some(c.clone()));
        assert_eq!(client_words(path), c.display().to_string());
    }

    #[test]
    fn the_size_table_is_looking_glass_s_rule() {
        // Looking Glass's "Determining memory": 1080p 32 MiB, 1440p 64, 4K 128; HDR doubles
        // the pixel.
        for (res, mib) in [
            ("1920x1080", 32),
            ("2560x1440", 64),
            ("3440x1440", 64),
            ("3840x2160", 128),
            ("1920x1080:hdr", 64),
            ("2560x1440:hdr", 128),
            ("3840x2160:hdr", 256),
            ("1280x720", 32),
            ("800x600", 16),
        ] {
            let m = Monitor::parse(res).expect(res);
            assert_eq!(m.shm_mib(), mib, "{res}");
        }
    }

    #[test]
    fn a_resolution_that_is_not_one_is_refused_with_words() {
        for bad in [
            "1920",
            "1920x",
            "x1080",
            "1920x1080:sdr",
            "0x0",
            "abcxdef",
            "99999x1",
        ] {
            let e = Monitor::parse(bad).expect_err(bad);
            assert!(e.why.contains("WIDTHxHEIGHT"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_size_of_a_backend_argument_reads_json_and_legacy_forms() {
        assert_eq!(
            arg_size(
                r#"{"qom-type":"memory-backend-file","id":"looking-glass","mem-path":"/dev/kvmfr0","size":33554432,"share":true}"#
            ),
            Some(32 * MIB)
        );
        assert_eq!(
            arg_size(
                "memory-backend-file,id=looking-glass,mem-path=/dev/kvmfr0,size=64M,share=yes"
            ),
            Some(64 * MIB)
        );
    }
}
