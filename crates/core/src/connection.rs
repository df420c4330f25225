//! Which libvirt a front end talks to: this computer's, or a remote host's over SSH
//! (`qemu+ssh://user@host/system`, libvirt's remote transport, as virt-manager connects).
//!
//! URIs follow libvirt's rules (libvirt's "Connection URIs" and "Remote support" pages):
//! `driver[+transport]://[user@][host][:port]/path[?param=value&…]`. A URI with a host name goes
//! to libvirt's remote driver and names another machine; Passage never reads this machine's
//! sysfs or files as if they were that host's. Over SSH, Passage runs its own commands there
//! with the same ssh program, port, user and key libvirt uses (its `command`, `keyfile` and
//! `no_verify` parameters).

use crate::i18n::{tr, tr_f};

/// This computer's libvirt (the system instance).
pub const LOCAL: &str = "qemu:///system";

/// What is wrong with what the user typed as a remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRemote {
    /// Nothing typed.
    Empty,
    /// Spaces, quotes, control characters or shell words in it.
    Characters(String),
    /// A URI that is not libvirt's QEMU driver over SSH with a host.
    NotQemuSsh(String),
}

impl std::fmt::Display for BadRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            BadRemote::Empty => tr(
                "Type the remote host as user@host, or a libvirt URI such as qemu+ssh://user@host/system.",
            ),
            BadRemote::Characters(t) => tr_f(
                "“{text}” has characters a host name cannot have (spaces, quotes, ;, $…). Type user@host, or qemu+ssh://user@host/system.",
                &[("text", t)],
            ),
            BadRemote::NotQemuSsh(t) => tr_f(
                "“{text}” is not a remote libvirt over SSH. Passage connects with qemu+ssh://user@host/system (host name required).",
                &[("text", t)],
            ),
        };
        f.write_str(&s)
    }
}

/// A libvirt URI taken apart by libvirt's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub driver: String,
    pub transport: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Uri {
    /// Splits `uri`; `None` when it has no `scheme://`.
    pub fn parse(uri: &str) -> Option<Uri> {
        let (scheme, rest) = uri.split_once("://")?;
        let (driver, transport) = match scheme.split_once('+') {
            Some((d, t)) => (d.to_string(), Some(t.to_string())),
            None => (scheme.to_string(), None),
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host, port) = host_and_port(hostport)?;
        let params = query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        Some(Uri {
            driver,
            transport,
            user: user.filter(|u| !u.is_empty()),
            host: Some(host.to_string()).filter(|h| !h.is_empty()),
            port,
            path: path.to_string(),
            params,
        })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `host[:port]`, or an IPv6 address in brackets, `[addr][:port]` (RFC 3986, as libvirt reads
/// it): the host without its brackets. `None` when the port is not a number or a bracket is
/// left open.
fn host_and_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        return match after {
            "" => Some((addr, None)),
            _ => Some((addr, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((hostport, None)),
    }
}

/// The host a connection's VMs run on, when it is not this computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHost {
    /// `user@host` or `host`, as shown in the header and the messages.
    pub name: String,
    /// Reached over SSH (libvirt's `ssh` and `libssh` transports): Passage can run its own
    /// commands there.
    pub ssh: Option<Vec<String>>,
    /// The SSH port when not 22.
    pub port: Option<u16>,
}

impl RemoteHost {
    /// `passagectl WORDS…` run on this host over SSH (as libvirt reaches it); `None` when the
    /// host is not reached over SSH. The words are quoted for the remote shell ssh hands them to.
    pub fn passagectl(&self, words: &[&str]) -> Option<std::process::Command> {
        let argv = self.ssh.as_ref()?;
        let line = std::iter::once("passagectl".to_string())
            .chain(words.iter().map(|w| shell_word(w)))
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = std::process::Command::new(&argv[0]);
        c.args(&argv[1..]).arg(line);
        Some(c)
    }

    /// `passagectl WORDS` on this host through `ssh -t`: a terminal there, where its helper's
    /// polkit asks (passagectl there starts a text agent); `None` without SSH. `force`
    /// (`-tt`): a terminal there even where this side has none (the app's terminal view,
    /// which reads and writes ssh's pipes).
    pub fn passagectl_at_terminal(
        &self,
        words: &[&str],
        force: bool,
    ) -> Option<std::process::Command> {
        let c = self.passagectl(words)?;
        let mut t = std::process::Command::new(c.get_program());
        t.arg(if force { "-tt" } else { "-t" }).args(c.get_args());
        Some(t)
    }

    /// This host as `passagectl scan --json` reads it there, over SSH: what Passage checks a
    /// remote VM against, never this computer's scan.
    pub fn scan(&self) -> Result<crate::Host, String> {
        let Some(mut cmd) = self.passagectl(&["scan", "--json"]) else {
            return Err(tr_f(
                "{host} is reached without SSH, so Passage cannot read that host: run passagectl there, or connect with qemu+ssh://.",
                &[("host", &self.name)],
            ));
        };
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| tr_f("cannot run ssh: {why}", &[("why", &e.to_string())]))?;
        if !out.status.success() {
            return Err(tr_f(
                "could not read the host {host} over SSH (“passagectl scan --json” there: {why}). Passage must be installed there, and ssh must log in without a password prompt (a key, or ssh-agent).",
                &[
                    ("host", &self.name),
                    ("why", String::from_utf8_lossy(&out.stderr).trim()),
                ],
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| {
            tr_f(
                "{host}'s “passagectl scan --json” is not one this Passage reads ({why}): install the same Passage version there.",
                &[("host", &self.name), ("why", &e.to_string())],
            )
        })
    }

    /// The command a person types in a terminal to run the command `words` on this host, where
    /// its helper's polkit asks through the SSH session (`ssh -t`, a terminal there). The words
    /// go through two shells, the local one and the one ssh hands them to there: each is quoted
    /// for the remote shell, and the line for the local one, so a name with a space or a `;`
    /// stays one word and runs nothing.
    pub fn terminal_command(&self, words: &[&str]) -> String {
        let there = words.iter().map(|w| shell_word(w)).collect::<Vec<_>>();
        let line = shell_word(&there.join(" "));
        let host = shell_word(&self.name);
        match self.port {
            Some(p) => format!("ssh -t -p {p} {host} {line}"),
            None => format!("ssh -t {host} {line}"),
        }
    }
}

/// The remote host of `uri`, or `None` when the URI is this computer's libvirt (no host name:
/// `qemu:///system`, `qemu:///system?socket=…`, `test:///default`).
///
/// A URI with something where the host goes that Passage cannot take apart is a remote host
/// it cannot reach (no SSH): never taken for this computer, so nothing of this computer is
/// read or changed for it.
pub fn remote(uri: &str) -> Option<RemoteHost> {
    let Some(u) = Uri::parse(uri) else {
        return unreadable_authority(uri);
    };
    let host = u.host.clone()?;
    let name = match &u.user {
        Some(user) => format!("{user}@{host}"),
        None => host,
    };
    let ssh = matches!(u.transport.as_deref(), Some("ssh" | "libssh")).then(|| ssh_argv(&u));
    Some(RemoteHost {
        name,
        ssh,
        port: u.port,
    })
}

/// The remote host of a URI whose authority (between `://` and the path) Passage cannot take
/// apart, named as typed; `None` when there is none (`qemu:///system`) or no `://` at all.
fn unreadable_authority(uri: &str) -> Option<RemoteHost> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    (!authority.is_empty()).then(|| RemoteHost {
        name: authority.to_string(),
        ssh: None,
        port: None,
    })
}

/// One word for a POSIX shell (a script line, the remote shell ssh hands its command to):
/// quoted unless plainly safe.
pub fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:@+".contains(&b))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// The ssh command line (program and options, up to the host) that reaches the URI's host
/// as libvirt's ssh transport does: its `command` (the ssh program), port, user, `keyfile`,
/// `no_verify`; BatchMode, as no terminal is there to answer a password prompt.
fn ssh_argv(u: &Uri) -> Vec<String> {
    let mut argv = vec![u.param("command").unwrap_or("ssh").to_string()];
    argv.extend(["-o".into(), "BatchMode=yes".into()]);
    if let Some(p) = u.port {
        argv.extend(["-p".into(), p.to_string()]);
    }
    if let Some(user) = &u.user {
        argv.extend(["-l".into(), user.clone()]);
    }
    if let Some(k) = u.param("keyfile") {
        argv.extend(["-i".into(), k.to_string()]);
    }
    if u.param("no_verify") == Some("1") {
        argv.extend(["-o".into(), "StrictHostKeyChecking=no".into()]);
    }
    argv.push("--".into());
    argv.push(u.host.clone().unwrap_or_default());
    argv
}

/// What the user typed in "Connect to Remote Host…" as a libvirt URI: `user@host`,
/// `user@host:port` or `host` become `qemu+ssh://…/system`; a full `qemu+ssh://` or
/// `qemu+libssh://` URI with a host is kept as typed. Anything else is refused with why.
pub fn from_user_input(text: &str) -> Result<String, BadRemote> {
    let t = text.trim();
    if t.is_empty() {
        return Err(BadRemote::Empty);
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "'\"`$;|<>\\(){}*!".contains(c))
    {
        return Err(BadRemote::Characters(t.to_string()));
    }
    let uri = if t.contains("://") {
        t.to_string()
    } else {
        format!("qemu+ssh://{t}/system")
    };
    let ok = Uri::parse(&uri).is_some_and(|u| {
        u.driver == "qemu"
            && matches!(u.transport.as_deref(), Some("ssh" | "libssh"))
            && u.host.as_deref().is_some_and(|h| !h.starts_with('-'))
            && !u.user.as_deref().is_some_and(|u| u.starts_with('-'))
            && (u.path == "/system" || u.path == "/session")
    });
    if ok {
        Ok(uri)
    } else {
        Err(BadRemote::NotQemuSsh(t.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uris_have_no_remote_host() {
        for u in [
            "qemu:///system",
            "qemu:///session",
            "test:///default",
            "qemu:///system?socket=/tmp/x/libvirt-sock",
            "qemu+unix:///system",
        ] {
            assert_eq!(remote(u), None, "{u}");
        }
    }

    #[test]
    fn a_uri_with_a_host_is_remote_and_ssh_reaches_it_as_libvirt_does() {
        let r = remote("qemu+ssh://ops@gpu-box:2222/system?keyfile=/k/id&command=/usr/bin/ssh")
            .expect("remote");
        assert_eq!(r.name, "ops@gpu-box");
        assert_eq!(
            r.terminal_command(&["passagectl", "apply", "--gpu", "0000:01:00.0"]),
            "ssh -t -p 2222 ops@gpu-box 'passagectl apply --gpu 0000:01:00.0'"
        );
        assert_eq!(
            r.ssh.expect("ssh"),
            [
                "/usr/bin/ssh",
                "-o",
                "BatchMode=yes",
                "-p",
                "2222",
                "-l",
                "ops",
                "-i",
                "/k/id",
                "--",
                "gpu-box"
            ]
        );
        let tls = remote("qemu://gpu-box/system").expect("remote");
        assert_eq!((tls.name.as_str(), tls.ssh), ("gpu-box", None));
    }

    #[test]
    fn what_the_user_types_becomes_a_qemu_ssh_uri_or_is_refused() {
        assert_eq!(
            from_user_input(" ops@gpu-box "),
            Ok("qemu+ssh://ops@gpu-box/system".into())
        );
        assert_eq!(
            from_user_input("gpu-box:2222"),
            Ok("qemu+ssh://gpu-box:2222/system".into())
        );
        assert_eq!(
            from_user_input("qemu+ssh://ops@gpu-box/system?socket=/run/x"),
            Ok("qemu+ssh://ops@gpu-box/system?socket=/run/x".into())
        );
        assert_eq!(from_user_input("  "), Err(BadRemote::Empty));
        assert!(matches!(
            from_user_input("ops@gpu box"),
            Err(BadRemote::Characters(_))
        ));
        assert!(matches!(
            from_user_input("ops@h;rm"),
            Err(BadRemote::Characters(_))
        ));
        for bad in [
            "qemu:///system",
            "qemu+tcp://h/system",
            "qemu+ssh:///system",
            "-oProxyCommand=x",
            "gpu-box:notaport",
        ] {
            assert!(
                matches!(from_user_input(bad), Err(BadRemote::NotQemuSsh(_))),
                "{bad}"
            );
        }
    }
    #[test]
    fn an_ipv6_host_is_read_without_its_brackets_and_with_its_port() {
        let r = remote("qemu+ssh://root@[2001:db8::1]/system").expect("remote");
        assert_eq!(r.name, "root@2001:db8::1");
        assert_eq!(r.port, None);
        let r = remote("qemu+ssh://[::1]:2222/system").expect("remote");
        assert_eq!((r.name.as_str(), r.port), ("::1", Some(2222)));
        assert_eq!(r.ssh.expect("ssh").last().map(String::as_str), Some("::1"));
    }

    #[test]
    fn a_host_passage_cannot_take_apart_is_never_this_computer() {
        for u in [
            "qemu+ssh://root@gpu-box:port/system",
            "qemu+ssh://root@[2001:db8::1/system",
            "qemu+ssh://root@[::1]x/system",
        ] {
            let r = remote(u).unwrap_or_else(|| panic!("{u} taken for this computer"));
            assert_eq!(r.ssh, None, "{u}: no SSH to a host Passage cannot read");
        }
    }

    #[test]
    fn a_command_to_paste_keeps_each_word_whole_through_both_shells() {
        let r = remote("qemu+ssh://ops@gpu-box/system").expect("remote");
        let line = r.terminal_command(&["passagectl", "vm", "authorize", "my vm;reboot"]);
        assert_eq!(
            line,
            r#"ssh -t ops@gpu-box 'passagectl vm authorize '\''my vm;reboot'\'''"#
        );
        // What the local shell hands ssh, then what the remote shell makes of ssh's words.
        let local = sh_words(&line);
        assert_eq!(local[..3], ["ssh", "-t", "ops@gpu-box"]);
        assert_eq!(
            sh_words(&local[3..].join(" ")),
            ["passagectl", "vm", "authorize", "my vm;reboot"]
        );
    }

    /// The words a POSIX shell makes of `line` (sh itself prints them, one per line).
    fn sh_words(line: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {line}; do printf '%s\\n' \"$w\"; done"))
            .output()
            .expect("sh");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}
