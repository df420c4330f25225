//! The libvirt connection in a process of its own: `passagectl-vm serve` holds a [`Libvirt`]
//! and answers JSON lines on stdin/stdout; [`Remote`] is the client, a [`Hypervisor`] like any
//! other. The GUI uses it so that libvirt's client library and its TLS, Kerberos and LDAP
//! dependencies are not loaded into the app: measured, they cost the app about 12 ms of
//! start-up and 8 MB (build-aux/bench-app.sh), and a hung or crashed libvirt call can no
//! longer take the window with it.
//!
//! One request per line; the reply is one line, `{"ok": …}` or `{"error": "…"}`, preceded for
//! `create_volume` by `{"progress": [written, total]}` lines.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{
    CannotCheck, GuestView, Hypervisor, PoolInfo, VirtError, VmInfo, VmState, VolumeFormat,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    List,
    Define {
        xml: String,
    },
    Undefine {
        name: String,
    },
    Start {
        name: String,
    },
    Destroy {
        name: String,
    },
    Shutdown {
        name: String,
    },
    State {
        name: String,
    },
    Networks,
    StartNetwork {
        name: String,
    },
    Xml {
        name: String,
    },
    LiveXml {
        name: String,
    },
    LookInGuest {
        name: String,
    },
    Capabilities,
    Pools,
    Volumes {
        pool: String,
    },
    EnsurePool {
        name: String,
        path: String,
    },
    CreateVolume {
        pool: String,
        name: String,
        bytes: u64,
        format: VolumeFormat,
    },
    DeleteVolume {
        pool: String,
        name: String,
    },
    DeleteImage {
        path: String,
    },
    UpdateLiveDevice {
        name: String,
        element: String,
    },
    UploadVolume {
        pool: String,
        name: String,
        src: std::path::PathBuf,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Progress((u64, u64)),
    Ok(serde_json::Value),
    Error(String),
}

/// Answers requests from `input` on `h` until `input` ends. A line that is not a request gets
/// an error reply naming what was wrong; the loop goes on.
pub fn serve(h: &dyn Hypervisor, input: impl BufRead, output: impl Write) -> std::io::Result<()> {
    serve_lines(input, output, |req, progress| answer(h, req, progress))
}

/// [`serve`] on a connection to `uri`, opened at the first request and again after a failed
/// attempt (so "Try Again" in the app works once libvirtd has been started).
pub fn serve_uri(uri: &str, input: impl BufRead, output: impl Write) -> std::io::Result<()> {
    let mut conn: Option<crate::Libvirt> = None;
    serve_lines(input, output, |req, progress| {
        if conn.is_none() {
            conn = Some(crate::Libvirt::open(uri)?);
        }
        match &conn {
            Some(h) => answer(h, req, progress),
            None => Err(VirtError::Libvirt("no connection".into())),
        }
    })
}

fn serve_lines(
    input: impl BufRead,
    mut output: impl Write,
    mut handle: impl FnMut(Request, &mut dyn FnMut(u64, u64)) -> Result<serde_json::Value, VirtError>,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Line::Error(format!(
                "not a request ({e}): {}",
                line.chars().take(80).collect::<String>()
            )),
            Ok(req) => {
                let mut progress = |done: u64, total: u64| {
                    let _ = writeln!(output, "{}", json(&Line::Progress((done, total))));
                    let _ = output.flush();
                };
                match handle(req, &mut progress) {
                    Ok(v) => Line::Ok(v),
                    Err(e) => Line::Error(e.to_string()),
                }
            }
        };
        writeln!(output, "{}", json(&reply))?;
        output.flush()?;
    }
    Ok(())
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn value<T: Serialize>(v: T) -> Result<serde_json::Value, VirtError> {
    serde_json::to_value(v).map_err(|e| VirtError::Libvirt(e.to_string()))
}

fn answer(
    h: &dyn Hypervisor,
    req: Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<serde_json::Value, VirtError> {
    match req {
        Request::List => value(h.list()?),
        Request::Define { xml } => value(h.define(&xml)?),
        Request::Undefine { name } => value(h.undefine(&name)?),
        Request::Start { name } => value(h.start(&name)?),
        Request::Destroy { name } => value(h.destroy(&name)?),
        Request::Shutdown { name } => value(h.shutdown(&name)?),
        Request::State { name } => value(h.state(&name)?),
        Request::Networks => value(h.networks()?),
        Request::StartNetwork { name } => value(h.start_network(&name)?),
        Request::Xml { name } => value(h.xml(&name)?),
        Request::LiveXml { name } => value(h.live_xml(&name)?),
        Request::LookInGuest { name } => value(h.look_in_guest(&name)?),
        Request::Capabilities => value(h.capabilities()?),
        Request::Pools => value(h.pools()?),
        Request::Volumes { pool } => value(h.volumes(&pool)?),
        Request::EnsurePool { name, path } => value(h.ensure_pool(&name, &path)?),
        Request::CreateVolume {
            pool,
            name,
            bytes,
            format,
        } => value(h.create_volume(&pool, &name, bytes, format, progress)?),
        Request::DeleteVolume { pool, name } => value(h.delete_volume(&pool, &name)?),
        Request::DeleteImage { path } => value(h.delete_image(&path)?),
        Request::UpdateLiveDevice { name, element } => {
            value(h.update_live_device(&name, &element)?)
        }
        Request::UploadVolume { pool, name, src } => value(h.upload_volume(&pool, &name, &src)?),
    }
}

/// A [`Hypervisor`] in another process (normally `passagectl-vm serve --connect URI`).
pub struct Remote {
    child: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

impl Remote {
    /// Starts `program args…`, which must answer as [`serve`] does.
    pub fn spawn(program: &std::path::Path, args: &[&str]) -> Result<Remote, VirtError> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                VirtError::Libvirt(format!(
                    "cannot start {} ({e}); is passagectl installed beside passage?",
                    program.display()
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(VirtError::Libvirt("no pipe to the libvirt worker".into()));
        };
        Ok(Remote {
            child: Mutex::new((child, stdin, BufReader::new(stdout))),
        })
    }

    fn call(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<serde_json::Value, VirtError> {
        let gone = |e: std::io::Error| {
            VirtError::Libvirt(format!("the libvirt worker stopped answering ({e})"))
        };
        let mut g = self
            .child
            .lock()
            .map_err(|_| VirtError::Libvirt("the libvirt worker failed earlier".into()))?;
        let (_, stdin, stdout) = &mut *g;
        writeln!(stdin, "{}", json(req)).map_err(gone)?;
        stdin.flush().map_err(gone)?;
        loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).map_err(gone)? == 0 {
                return Err(gone(std::io::ErrorKind::UnexpectedEof.into()));
            }
            match serde_json::from_str::<Line>(&line) {
                Ok(Line::Progress((a, b))) => progress(a, b),
                Ok(Line::Ok(v)) => return Ok(v),
                Ok(Line::Error(e)) => return Err(VirtError::Worker(e)),
                Err(e) => {
                    return Err(VirtError::Libvirt(format!(
                        "the libvirt worker said something else ({e})"
                    )))
                }
            }
        }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, req: Request) -> Result<T, VirtError> {
        let v = self.call(&req, &mut |_, _| {})?;
        serde_json::from_value(v).map_err(|e| VirtError::Libvirt(e.to_string()))
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Ok(mut g) = self.child.lock() {
            let _ = g.0.kill();
            let _ = g.0.wait();
        }
    }
}

impl Hypervisor for Remote {
    fn list(&self) -> Result<Vec<VmInfo>, VirtError> {
        self.get(Request::List)
    }
    fn define(&self, xml: &str) -> Result<String, VirtError> {
        self.get(Request::Define {
            xml: xml.to_string(),
        })
    }
    fn undefine(&self, name: &str) -> Result<(), VirtError> {
        self.get(Request::Undefine {
            name: name.to_string(),
        })
    }
    fn start(&self, name: &str) -> Result<(), VirtError> {
        self.get(Request::Start {
            name: name.to_string(),
        })
    }
    fn destroy(&self, name: &str) -> Result<(), VirtError> {
        self.get(Request::Destroy {
            name: name.to_string(),
        })
    }
    fn shutdown(&self, name: &str) -> Result<(), VirtError> {
        self.get(Request::Shutdown {
            name: name.to_string(),
        })
    }
    fn state(&self, name: &str) -> Result<VmState, VirtError> {
        self.get(Request::State {
            name: name.to_string(),
        })
    }
    fn networks(&self) -> Result<Vec<(String, bool)>, VirtError> {
        self.get(Request::Networks)
    }
    fn start_network(&self, name: &str) -> Result<(), VirtError> {
        self.get(Request::StartNetwork {
            name: name.to_string(),
        })
    }
    fn xml(&self, name: &str) -> Result<String, VirtError> {
        self.get(Request::Xml {
            name: name.to_string(),
        })
    }
    fn live_xml(&self, name: &str) -> Result<String, VirtError> {
        self.get(Request::LiveXml {
            name: name.to_string(),
        })
    }
    fn look_in_guest(&self, name: &str) -> Result<Result<GuestView, CannotCheck>, VirtError> {
        self.get(Request::LookInGuest {
            name: name.to_string(),
        })
    }
    fn capabilities(&self) -> Result<String, VirtError> {
        self.get(Request::Capabilities)
    }
    fn pools(&self) -> Result<Vec<PoolInfo>, VirtError> {
        self.get(Request::Pools)
    }
    fn volumes(&self, pool: &str) -> Result<Vec<String>, VirtError> {
        self.get(Request::Volumes {
            pool: pool.to_string(),
        })
    }
    fn ensure_pool(&self, name: &str, path: &str) -> Result<(), VirtError> {
        self.get(Request::EnsurePool {
            name: name.to_string(),
            path: path.to_string(),
        })
    }
    fn create_volume(
        &self,
        pool: &str,
        name: &str,
        bytes: u64,
        format: VolumeFormat,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<String, VirtError> {
        let req = Request::CreateVolume {
            pool: pool.to_string(),
            name: name.to_string(),
            bytes,
            format,
        };
        let v = self.call(&req, progress)?;
        serde_json::from_value(v).map_err(|e| VirtError::Libvirt(e.to_string()))
    }
    fn delete_volume(&self, pool: &str, name: &str) -> Result<(), VirtError> {
        self.get(Request::DeleteVolume {
            pool: pool.to_string(),
            name: name.to_string(),
        })
    }
    fn delete_image(&self, path: &str) -> Result<(), VirtError> {
        self.get(Request::DeleteImage {
            path: path.to_string(),
        })
    }
    fn upload_volume(
        &self,
        pool: &str,
        name: &str,
        src: &std::path::Path,
    ) -> Result<String, VirtError> {
        self.get(Request::UploadVolume {
            pool: pool.to_string(),
            name: name.to_string(),
            src: src.to_path_buf(),
        })
    }
    fn update_live_device(&self, name: &str, element: &str) -> Result<(), VirtError> {
        self.get(Request::UpdateLiveDevice {
            name: name.to_string(),
            element: element.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Libvirt;

    /// libvirt's test driver keeps one state per process; the tests in this crate take turns.
    fn serve_lines(lines: &str) -> Vec<String> {
        let _turn = crate::TEST_DRIVER.lock();
        let h = Libvirt::open("test:///default").expect("test driver");
        let mut out = Vec::new();
        serve(&h, lines.as_bytes(), &mut out).expect("serve");
        String::from_utf8(out)
            .expect("utf8")
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn requests_are_answered_in_order_and_bad_lines_are_named() {
        let out = serve_lines(
            "{\"op\":\"list\"}\n\nnot json\n{\"op\":\"start\",\"name\":\"nosuchvm\"}\n{\"op\":\"xml\",\"name\":\"test\"}\n",
        );
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(
            out[0].starts_with("{\"ok\":[") && out[0].contains("\"name\":\"test\""),
            "{}",
            out[0]
        );
        assert!(
            out[1].contains("not a request") && out[1].contains("not json"),
            "{}",
            out[1]
        );
        assert!(
            out[2].contains("\"error\"") && out[2].contains("nosuchvm"),
            "{}",
            out[2]
        );
        assert!(out[3].contains("<domain"), "{}", out[3]);
    }

    /// The app's page asks the worker to look in the guest: the test driver's running domain
    /// has no agent channel, so the answer is why it cannot be asked, and nothing ran.
    #[test]
    fn looking_in_a_guest_without_the_channel_says_why() {
        let out = serve_lines("{\"op\":\"look_in_guest\",\"name\":\"test\"}\n");
        assert_eq!(
            out,
            [r#"{"ok":{"Err":{"reason":"no-channel"}}}"#],
            "{out:?}"
        );
    }
}
