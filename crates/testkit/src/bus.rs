//! A private system bus with a real polkitd and passage-helper on a temp host root.
//!
//! - dbus-daemon with its own config and socket (a restrictive default policy like the real
//!   system bus, plus polkit's busconfig and the project's data/io.github.passage.Helper1.conf);
//! - /usr/lib/polkit-1/polkitd, started as root (it drops privileges itself), inside a private
//!   mount namespace where its actions and rules directories are bind-mounted from temp dirs:
//!   the project's data/io.github.passage.policy and a rules file (which also refuses any call
//!   whose polkit details ask for `iommu.passthrough=1`, so tests can see details reach rules)
//!   that allows the user
//!   "daemon" (uid 1) and denies "nobody" (uid 65534); reading every user's History
//!   (`history-all`) is allowed to "bin" (uid 2) alone, an administrator who made no change,
//!   and History itself to every user but "nobody" (the policy's default for an active local
//!   user, which polkit cannot tell without logind).
//!   Nothing on the host is changed;
//! - passage-helper --root TREE [--steps-path DIR].
//!
//! Every process is stopped by pid when the harness is dropped.
//!
//! Nothing here names a package: passagectl's tests and the app's GUI test both use it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const ALLOWED_UID: u32 = 1; // "daemon"
pub const DENIED_UID: u32 = 65534; // "nobody"
/// May read every user's History (polkit's history-all), may change nothing.
pub const ADMIN_READER_UID: u32 = 2; // "bin"
/// A local user who may read History (its own changes) and nothing else.
pub const OTHER_UID: u32 = 3; // "sys"

pub struct TestBus {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub address: String,
    bus: Child,
    polkit: Child,
    helper: Option<Child>,
    helper_args: Vec<String>,
    helper_env: Vec<(String, String)>,
}

/// The workspace root (the directory with Cargo.lock above this package).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .expect("the workspace root")
        .to_path_buf()
}

/// target/<profile>: test binaries live in its deps/ directory.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The helper binary beside passagectl, brought up to date once per test run: cargo builds
/// only this package's binaries for its tests, and an old helper would test old code.
pub fn helper_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let p = target_dir().join("passage-helper");
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = p.parent().is_some_and(|d| d.ends_with("release"));
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "passage-helper"])
            .current_dir(repo());
        if release {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().expect("cargo build").success(),
            "building passage-helper failed"
        );
    });
    p
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{what} did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

impl TestBus {
    /// Starts the bus, polkitd and the helper on a copy of fixture `name`.
    pub fn start(fixture: &str, steps: Option<&[(&str, &str)]>, env: &[(&str, &str)]) -> TestBus {
        assert_eq!(
            unsafe_free_euid(),
            0,
            "the helper tests need root (CI runs as root): they start polkitd and a system bus"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        chmod(d, 0o755);
        let root = d.join("root");
        passage_fixtures::build(fixture, &root).expect("fixture");
        // The helper where the package installs it: libvirt's hook names it, once checked
        // root's alone (plan::hook::check_helper).
        let installed = root.join(passage_core::plan::hook::DEFAULT_HELPER.trim_start_matches('/'));
        std::fs::create_dir_all(installed.parent().expect("libexec")).expect("mkdir");
        std::fs::write(&installed, "#!/bin/sh\n").expect("helper");
        chmod(&installed, 0o755);
        for sub in ["actions", "rules", "empty"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
            chmod(&d.join(sub), 0o755);
        }
        std::fs::copy(
            repo().join("data/io.github.passage.policy"),
            d.join("actions/io.github.passage.policy"),
        )
        .expect("policy");
        // A test that needs time between the helper's checks and its writes (a prompt takes
        // seconds) creates `polkit-delay` in the bus's directory: each decision then waits 2 s.
        let delay = d.join("polkit-delay");
        std::fs::write(
            d.join("rules/50-passage-test.rules"),
            format!("polkit.addRule(function(action, subject) {{\n  if (action.id.indexOf(\"io.github.passage.\") == 0) {{\n    try {{ polkit.spawn([\"/bin/sh\", \"-c\", \"[ ! -e {delay} ] || sleep 2\"]); }} catch (e) {{}}\n    var args = action.lookup(\"arguments\") || \"\";\n    if (args.indexOf(\"iommu.passthrough=1\") >= 0) return polkit.Result.NO;\n    if (args.indexOf(\"nouveau.modeset=0\") >= 0) return polkit.Result.AUTH_SELF;\n    if (action.id == \"io.github.passage.history-all\") return subject.user == \"bin\" ? polkit.Result.YES : polkit.Result.NO;\n    if (action.id == \"io.github.passage.history\" && subject.user != \"nobody\") return polkit.Result.YES;\n    if (subject.user == \"daemon\") return polkit.Result.YES;\n    if (subject.user == \"nobody\") return polkit.Result.NO;\n  }}\n}});\n", delay = delay.display()),
        )
        .expect("rules");
        let sock = d.join("bus.sock");
        let conf = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
  <include>{conf}</include>
</busconfig>
"#,
            sock = sock.display(),
            conf = repo().join("data/io.github.passage.Helper1.conf").display()
        );
        std::fs::write(d.join("bus.conf"), conf).expect("bus.conf");
        let bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", d.join("bus.conf").display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt-get install dbus-daemon)");
        wait_for("dbus-daemon", || sock.exists());
        let address = format!("unix:path={}", sock.display());
        let script = format!(
            "mount --bind {a} /usr/share/polkit-1/actions && mount --bind {r} /etc/polkit-1/rules.d && mount --bind {e} /usr/share/polkit-1/rules.d && exec /usr/lib/polkit-1/polkitd --no-debug",
            a = d.join("actions").display(),
            r = d.join("rules").display(),
            e = d.join("empty").display()
        );
        let polkit = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("polkitd (apt-get install polkitd)");
        let mut helper_args = vec!["--root".to_string(), root.display().to_string()];
        if let Some(steps) = steps {
            let sd = d.join("steps");
            std::fs::create_dir(&sd).expect("mkdir");
            for (name, body) in steps {
                let p = sd.join(name);
                std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("step");
                chmod(&p, 0o755);
            }
            helper_args.extend(["--steps-path".to_string(), sd.display().to_string()]);
        }
        let mut tb = TestBus {
            root,
            address,
            bus,
            polkit,
            helper: None,
            helper_args,
            helper_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dir,
        };
        tb.wait_name("org.freedesktop.PolicyKit1");
        tb.start_helper();
        tb
    }

    /// (Re)starts the helper and waits until it owns its name.
    pub fn start_helper(&mut self) {
        let child = Command::new(helper_bin())
            .args(&self.helper_args)
            .envs(
                self.helper_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("passage-helper");
        self.helper = Some(child);
        self.wait_name("io.github.passage.Helper1");
    }

    /// SIGKILL, as a crash would.
    pub fn kill_helper(&mut self) {
        if let Some(mut c) = self.helper.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The helper's exit status once it has exited on its own (idle), `None` while it runs.
    pub fn helper_exited(&mut self) -> Option<std::process::ExitStatus> {
        self.helper
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn helper_pid(&self) -> Option<u32> {
        self.helper.as_ref().map(Child::id)
    }

    pub fn wait_name(&self, name: &str) {
        wait_for(name, || {
            Command::new("dbus-send")
                .args([
                    &format!("--bus={}", self.address),
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    &format!("string:{name}"),
                ])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
                .unwrap_or(false)
        });
    }

    /// passagectl as `uid`, talking to this bus.
    pub fn passagectl(&self, uid: u32, args: &[&str]) -> Output {
        self.passagectl_cmd(uid, args).output().expect("passagectl")
    }

    pub fn passagectl_cmd(&self, uid: u32, args: &[&str]) -> Command {
        // passagectl's own tests get it from cargo; others use the one in the target dir.
        let bin = option_env!("CARGO_BIN_EXE_passagectl")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("passagectl"));
        let mut c = Command::new(bin);
        c.args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.address)
            .env("NO_COLOR", "1")
            .uid(uid)
            .gid(uid);
        c
    }

    /// Every file below the root's /etc and /var/lib/passage.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        fn walk(base: &Path, p: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                let path = e.path();
                let Ok(m) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if m.is_dir() {
                    walk(base, &path, out);
                } else if m.is_file() {
                    out.insert(
                        path.strip_prefix(base)
                            .map(|p| p.display().to_string())
                            .unwrap_or_default(),
                        std::fs::read(&path).unwrap_or_default(),
                    );
                }
            }
        }
        let mut out = std::collections::BTreeMap::new();
        for top in ["etc", "boot", "var/lib/passage"] {
            walk(&self.root, &self.root.join(top), &mut out);
        }
        out
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        self.kill_helper();
        for c in [&mut self.polkit, &mut self.bus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The effective uid, from /proc (no unsafe code).
fn unsafe_free_euid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2))
                .and_then(|u| u.parse().ok())
        })
        .unwrap_or(u32::MAX)
}
