//! A host command that changes a remote host (`passagectl --connect qemu+ssh://… apply …`),
//! at a terminal: what it will do is shown first — for `apply`, the plan made there
//! (`passagectl plan` with the same arguments, over SSH) — and the user is asked; on yes,
//! `passagectl` runs there through `ssh -t`, in a terminal of that host, where its helper's
//! polkit asks for authorization (passagectl there starts a text agent where no desktop's
//! agent is). On no, or on anything but yes, nothing runs there.

use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use passage_core::connection::RemoteHost;
use passage_core::i18n::{tr, tr_f};
use passagectl::fail;

pub fn run(r: &RemoteHost, words: &[&str]) -> ExitCode {
    if let Some(("apply", args)) = words.split_first().map(|(v, a)| (*v, a)) {
        let plan: Vec<&str> = std::iter::once("plan")
            .chain(args.iter().copied())
            .collect();
        let Some(mut show) = r.passagectl(&plan) else {
            return fail(tr("this host is not reached over SSH"));
        };
        match show.stdin(std::process::Stdio::null()).status() {
            Ok(st) if st.success() => {}
            // The plan was refused there, with its words on stderr: apply would be too.
            Ok(_) => return ExitCode::from(1),
            Err(e) => return fail(tr_f("cannot run ssh: {why}", &[("why", &e.to_string())])),
        }
    }
    let line: Vec<&str> = std::iter::once("passagectl")
        .chain(words.iter().copied())
        .collect();
    eprint!(
        "{} ",
        tr_f(
            "Run “{command}” on {host} now? Its helper asks for authorization there. [y/N]",
            &[("command", &line.join(" ")), ("host", &r.name)],
        )
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if !matches!(answer.trim(), "y" | "Y" | "yes" | "j" | "J" | "ja") {
        eprintln!("{}", tr("Nothing was run there."));
        return ExitCode::from(1);
    }
    match r.passagectl_at_terminal(words, false) {
        Some(mut c) => {
            let e = c.exec();
            fail(tr_f("cannot run ssh: {why}", &[("why", &e.to_string())]))
        }
        None => fail(tr("this host is not reached over SSH")),
    }
}
