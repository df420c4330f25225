//! A real libvirtd, private to one test: started as root in its own mount namespace where
//! /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt, /run/libvirt,
//! /etc/passwd and /etc/group are temp copies (with the libvirt-qemu user the QEMU driver
//! wants). The host's libvirt state is never touched; clients use the socket in the temp dir.
//! Shared by passage-virt's tests and the app's GUI test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use passage_virt::{Hypervisor, Libvirt};

pub struct PrivateLibvirtd {
    pub dir: tempfile::TempDir,
    daemon: Child,
}

const DIRS: [&str; 5] = [
    "etc/libvirt",
    "var/lib/libvirt",
    "var/cache/libvirt",
    "var/log/libvirt",
    "run/libvirt",
];

impl PrivateLibvirtd {
    pub fn start() -> Self {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Uid:"))
                    .map(|l| l.split_whitespace().nth(2) == Some("0"))
            });
        assert_eq!(
            uid,
            Some(true),
            "these tests start libvirtd and need root (CI runs as root)"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let t = dir.path();
        for d in DIRS {
            std::fs::create_dir_all(t.join(d)).expect("mkdir");
        }
        for d in ["var/log/libvirt/qemu", "var/lib/libvirt/qemu/nvram"] {
            std::fs::create_dir_all(t.join(d)).expect("mkdir");
        }
        let _ = Command::new("cp")
            .arg("-a")
            .arg("/etc/libvirt/.")
            .arg(t.join("etc/libvirt"))
            .status();
        // Displays: each private libvirtd shares this machine's network with the others that
        // tests run at once, and each picks "the first free port" on its own, so two guests
        // starting together could both take 5900 (QEMU: "Address already in use"). VNC with
        // autoport listens on a Unix socket instead; what still takes a TCP port (SPICE with
        // autoport) gets a range of 100 of this libvirtd's own, picked by its temp dir's name.
        let base = 6000 + (fxhash(&t.to_string_lossy()) % 500) * 100;
        std::fs::write(
            t.join("etc/libvirt/qemu.conf"),
            format!(
                "user = \"root\"\ngroup = \"root\"\nsecurity_driver = \"none\"\nstdio_handler = \"file\"\nvnc_auto_unix_socket = 1\nremote_display_port_min = {base}\nremote_display_port_max = {}\n",
                base + 99
            ),
        )
        .expect("qemu.conf");
        let mut passwd = std::fs::read_to_string("/etc/passwd").expect("passwd");
        passwd.push_str(
            "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n",
        );
        std::fs::write(t.join("passwd"), passwd).expect("passwd");
        let mut group = std::fs::read_to_string("/etc/group").expect("group");
        group.push_str("libvirt-qemu:x:64055:\n");
        if !group.lines().any(|l| l.starts_with("kvm:")) {
            group.push_str("kvm:x:64056:libvirt-qemu\n");
        }
        std::fs::write(t.join("group"), group).expect("group");
        let mut script = format!(
            "mount --bind {p} /etc/passwd && mount --bind {g} /etc/group",
            p = t.join("passwd").display(),
            g = t.join("group").display()
        );
        script.push_str(&mount_points(t));
        for d in DIRS {
            script.push_str(&format!(" && mount --bind {} /{d}", t.join(d).display()));
        }
        script.push_str(&format!(
            " && virtlogd -d -p {} && exec libvirtd -p {}",
            t.join("virtlogd.pid").display(),
            t.join("libvirtd.pid").display()
        ));
        let daemon = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(t.join("libvirtd.log")).expect("log"),
            ))
            .spawn()
            .expect("libvirtd (apt-get install libvirt-daemon libvirt-daemon-driver-qemu)");
        let me = PrivateLibvirtd { dir, daemon };
        let sock = me.dir.path().join("run/libvirt/libvirt-sock");
        let start = Instant::now();
        while Libvirt::open(&me.uri()).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "libvirtd did not come up: {}",
                std::fs::read_to_string(me.dir.path().join("libvirtd.log")).unwrap_or_default()
            );
            assert!(
                start.elapsed() < Duration::from_secs(1)
                    || sock.exists()
                    || start.elapsed() < Duration::from_secs(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        me
    }

    pub fn uri(&self) -> String {
        format!("qemu:///system?socket={}", self.socket().display())
    }

    /// libvirtd's read-write socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run/libvirt/libvirt-sock")
    }
}

impl Drop for PrivateLibvirtd {
    fn drop(&mut self) {
        // QEMU outlives a killed libvirtd: stop the VMs first.
        if let Ok(h) = Libvirt::open(&self.uri()) {
            for vm in h.list().unwrap_or_default() {
                let _ = h.destroy(&vm.name);
            }
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        if let Some(pid) = std::fs::read_to_string(self.dir.path().join("virtlogd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// Shell steps (each starting with ` && `) that make the mount points of [`DIRS`] that the
/// host lacks, inside the private namespace only: the nearest existing parent gets an overlay
/// whose upper layer is in `t`, so the real /etc, /var and /run are never written.
fn mount_points(t: &Path) -> String {
    let mut out = String::new();
    let mut layered: Vec<PathBuf> = Vec::new();
    for (n, d) in DIRS.iter().enumerate() {
        let target = Path::new("/").join(d);
        if target.exists() {
            continue;
        }
        let parent = target
            .ancestors()
            .find(|a| a.exists())
            .unwrap_or(Path::new("/"))
            .to_path_buf();
        if !layered.contains(&parent) {
            let (up, work) = (
                t.join(format!("ov{n}/upper")),
                t.join(format!("ov{n}/work")),
            );
            std::fs::create_dir_all(&up).expect("overlay upper");
            std::fs::create_dir_all(&work).expect("overlay work");
            out.push_str(&format!(
                " && mount -t overlay overlay -o lowerdir={p},upperdir={u},workdir={w} {p}",
                p = parent.display(),
                u = up.display(),
                w = work.display()
            ));
            layered.push(parent);
        }
        out.push_str(&format!(" && mkdir -p {}", target.display()));
    }
    out
}

/// A small stable hash (FNV-1a) of `s`.
fn fxhash(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
