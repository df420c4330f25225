//! `passagectl vm new --express --iso FILE --unattended [--user LOGIN] --password-file F`:
//! the answer media of core's `vm::unattended` built in a private folder of the user's, copied
//! into libvirt's pool by libvirt (the user needs no write access there), then attached. The
//! password is read from a file or standard input, never from the command line.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use passage_core::i18n::{tr, tr_f};
use passage_core::vm::draft::{POOL, POOL_PATH};
use passage_core::vm::unattended::prepare::{prepare, Request};
use passage_core::vm::unattended::{valid_login, virtio_win, Account, Locale, Secret};

use passage_virt::Hypervisor;

use crate::vm::{bad, refused, Failed};

#[derive(clap::Args)]
pub struct UnattendedArgs {
    /// Install the OS unattended (with --express): libosinfo answers its installer
    #[arg(long, requires = "express")]
    unattended: bool,
    /// The account the install makes (with --unattended; default: yours)
    #[arg(long, value_name = "LOGIN", requires = "unattended")]
    user: Option<String>,
    /// A file whose first line is the account's password (- for standard input)
    #[arg(long, value_name = "FILE", requires = "unattended")]
    password_file: Option<PathBuf>,
    /// The virtio-win ISO for Windows (default: /usr/share/virtio-win/virtio-win.iso)
    #[arg(long, value_name = "FILE", requires = "unattended")]
    virtio_win: Option<PathBuf>,
}

impl UnattendedArgs {
    pub fn wanted(&self) -> bool {
        self.unattended
    }
}

/// The pool volume name of a VM's answer media.
pub fn volume_name(vm: &str) -> String {
    format!("{vm}-unattended.iso")
}

/// Builds and uploads the answer media for `vm`; its path in the pool, or `None` (said why)
/// when the install is a normal one.
pub fn media(
    h: &passage_virt::Libvirt,
    args: &UnattendedArgs,
    iso: &Path,
    vm: &str,
) -> Result<Option<String>, Failed> {
    let account = account(args)?;
    let locale = Locale::of_this_desktop();
    let vw = match virtio_win::find(args.virtio_win.as_deref(), Path::new("/")) {
        Ok(p) => Some(p),
        Err(why) if args.virtio_win.is_some() => return Err(bad(why)),
        Err(_) => None,
    };
    let staging = tempfile::Builder::new()
        .prefix("passage-unattended-")
        .tempdir()
        .map_err(refused)?;
    let req = Request {
        iso,
        vm_name: vm,
        account: &account,
        locale: &locale,
        virtio_win: vw.as_deref(),
        storage_dir: staging.path(),
    };
    let prepared = match prepare(&req).map_err(refused)? {
        Ok(p) => p,
        Err(why) => {
            outln!("  {} {}", tr("Note:"), why.words());
            return Ok(None);
        }
    };
    h.ensure_pool(POOL, POOL_PATH).map_err(refused)?;
    let path = h
        .upload_volume(POOL, &volume_name(vm), &prepared.media)
        .map_err(refused)?;
    outln!(
        "{}",
        tr_f(
            "Unattended install of {os}: the answer media {path} holds the account {user} and its password; it is attached for the install.",
            &[("os", &prepared.os.name), ("path", &path), ("user", &account.login)]
        )
    );
    Ok(Some(path))
}

fn account(args: &UnattendedArgs) -> Result<Account, Failed> {
    let login = args
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    if !valid_login(&login) {
        return Err(bad(tr_f(
            "--user {user}: an account name is lower-case letters, digits, _ and -, starting with a letter, at most 32 characters",
            &[("user", &login)],
        )));
    }
    let password = password(args.password_file.as_deref())?;
    Ok(Account {
        realname: login.clone(),
        login,
        password,
    })
}

fn password(file: Option<&Path>) -> Result<Secret, Failed> {
    let from_stdin = file == Some(Path::new("-"));
    let mut line = String::new();
    match file {
        Some(f) if !from_stdin => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                bad(tr_f(
                    "--password-file {file}: {why}",
                    &[("file", &f.display().to_string()), ("why", &e.to_string())],
                ))
            })?;
            line = text.lines().next().unwrap_or_default().to_string();
        }
        _ if from_stdin || !std::io::stdin().is_terminal() => {
            std::io::stdin().lock().read_line(&mut line).map_err(bad)?;
            line = line.trim_end_matches(['\n', '\r']).to_string();
        }
        _ => {
            return Err(bad(tr(
                "--unattended needs the account's password: --password-file FILE, or - to read it from standard input",
            )))
        }
    }
    if line.is_empty() {
        return Err(bad(tr(
            "The account's password is empty: give one in the password file",
        )));
    }
    Ok(Secret::new(line))
}
