//! A real sshd on 127.0.0.1, private to one test, standing in for a remote host: its own
//! config, port, host key and authorized_keys in a temp dir, started in a private mount
//! namespace (its privilege separation directory on a tmpfs there, so the host's /run is not
//! written) and ended by PID. The client side is a throwaway key pair and a known_hosts file
//! the test writes; [`Sshd::ssh_program`] runs ssh with that config only (`-F`), never the
//! user's ~/.ssh. `qemu+ssh://root@127.0.0.1:PORT/system?socket=…&command=SSH_PROGRAM` reaches
//! a private libvirtd through it as libvirt's ssh transport does.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    daemon: Child,
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client)");
    assert!(ok.success(), "ssh-keygen {}", path.display());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Sshd {
    /// Starts sshd; `path` is the PATH of the sessions it runs (where the "remote" passagectl
    /// is found).
    pub fn start(path: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("tmp");
        let t = dir.path();
        keygen(&t.join("host_key"));
        keygen(&t.join("id"));
        let public = std::fs::read_to_string(t.join("id.pub")).expect("id.pub");
        std::fs::write(
            t.join("authorized_keys"),
            format!("environment=\"PATH={path}\" {public}"),
        )
        .expect("authorized_keys");
        let port = free_port();
        std::fs::write(
            t.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nPermitUserEnvironment PATH\n",
                hk = t.join("host_key").display(),
                ak = t.join("authorized_keys").display(),
                pid = t.join("sshd.pid").display(),
            ),
        )
        .expect("sshd_config");
        let host_pub = std::fs::read_to_string(t.join("host_key.pub")).expect("host_key.pub");
        std::fs::write(
            t.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}"),
        )
        .expect("known_hosts");
        std::fs::write(
            t.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {id}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
                id = t.join("id").display(),
                kh = t.join("known_hosts").display(),
            ),
        )
        .expect("ssh_config");
        let program = t.join("ssh");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nexec ssh -F {} \"$@\"\n",
                t.join("ssh_config").display()
            ),
        )
        .expect("ssh wrapper");
        let mut perm = std::fs::metadata(&program).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&program, perm).expect("chmod");
        let script = format!(
            "mount -t tmpfs -o mode=0755 passage-sshd /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -f {}",
            t.join("sshd_config").display()
        );
        let daemon = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(t.join("sshd.log")).expect("log"),
            ))
            .spawn()
            .expect("sshd (apt-get install openssh-server)");
        let me = Sshd { dir, port, daemon };
        me.wait_ready();
        me
    }

    fn wait_ready(&self) {
        let t0 = Instant::now();
        loop {
            let o = Command::new(self.ssh_program())
                .args(["-p", &self.port.to_string(), "root@127.0.0.1", "true"])
                .stdin(Stdio::null())
                .output()
                .expect("ssh");
            if o.status.success() {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "sshd did not let the test in: {}\n{}",
                String::from_utf8_lossy(&o.stderr),
                std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// ssh with the test's config, key and known_hosts only.
    pub fn ssh_program(&self) -> PathBuf {
        self.dir.path().join("ssh")
    }

    /// The qemu+ssh URI of a libvirtd listening on `socket`, through this sshd.
    pub fn libvirt_uri(&self, socket: &Path) -> String {
        format!(
            "qemu+ssh://root@127.0.0.1:{}/system?socket={}&command={}",
            self.port,
            socket.display(),
            self.ssh_program().display()
        )
    }
}

/// The PATH of a "remote host" whose `passagectl` (a wrapper in `bin`) runs `real` and reads
/// the host below `root` for the host commands (scan, check, plan): what Passage says of the
/// remote host can then be told from this machine's facts.
pub fn remote_path(bin: &Path, real: &Path, root: &Path) -> String {
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in scan|check|plan) exec {real} \"$@\" --root {root} ;; esac\nexec {real} \"$@\"\n",
        real = real.display(),
        root = root.display()
    );
    let p = bin.join("passagectl");
    std::fs::write(&p, script).expect("wrapper");
    let mut perm = std::fs::metadata(&p).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&p, perm).expect("chmod");
    format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display())
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
