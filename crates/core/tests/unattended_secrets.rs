//! The password of an unattended install is on the answer media and nowhere else (issue 22,
//! item 2): not in any tool's argv (every tool run is logged by a shim on PATH, as `ps` would
//! show it), not in any file left in the VM's storage directory or its staging, not in the
//! domain XML with the media attached, not in what Passage prints of the request or the
//! result. The unattended preparation runs as the user: nothing goes through the helper or
//! its journal.

#[path = "common/isos.rs"]
mod isos;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use passage_core::host::Host;
use passage_core::vm::devices::initial_selection;
use passage_core::vm::express::{recommend, Context, Request as Express};
use passage_core::vm::unattended::prepare::{attach, prepare, Request};
use passage_core::vm::unattended::{Account, Locale, Secret};
use passage_core::vm::Purpose;
use passage_core::Root;

const PASSWORD: &str = "Zq-91d2e7-never-elsewhere";

fn shim(dir: &Path, tool: &str, log: &Path) {
    let real = ["/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.exists())
        .expect("tool installed");
    let s = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$0 $*\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.display()
    );
    let p = dir.join(tool);
    std::fs::write(&p, s).expect("ok");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("ok");
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("ok") {
        let p = e.expect("ok").path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_password_is_on_the_answer_media_and_nowhere_else() {
    let d = tempfile::tempdir().expect("ok");
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).expect("ok");
    let argv_log = d.path().join("argv.log");
    for t in [
        "osinfo-detect",
        "osinfo-query",
        "osinfo-install-script",
        "xorriso",
    ] {
        shim(&bin, t, &argv_log);
    }
    // The only test in this binary: PATH is this process's alone.
    std::env::set_var("PATH", format!("{}:/usr/bin:/bin", bin.display()));

    let storage = d.path().join("pool");
    std::fs::create_dir(&storage).expect("ok");
    let iso = isos::windows(d.path(), "Win10_22H2_German_x64.iso");
    let vw = isos::virtio_win(d.path());
    let account = Account {
        login: "alice".into(),
        realname: "Alice".into(),
        password: Secret::new(PASSWORD),
    };
    let locale = Locale::from_desktop(Some("en_US.UTF-8"), None, None);
    let req = Request {
        iso: &iso,
        vm_name: "win",
        account: &account,
        locale: &locale,
        virtio_win: Some(&vw),
        storage_dir: &storage,
    };
    let prepared = prepare(&req).expect("ok").expect("ok");

    // The media has it (so the scan below could find it).
    assert!(contains(
        &std::fs::read(&prepared.media).expect("ok"),
        PASSWORD
    ));
    assert_eq!(
        std::fs::metadata(&prepared.media)
            .expect("ok")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let log = std::fs::read_to_string(&argv_log).expect("ok");
    assert!(
        log.contains("osinfo-install-script") && log.contains("--config-file"),
        "{log}"
    );
    assert!(
        !log.contains(PASSWORD),
        "the password was in a command line:\n{log}"
    );

    let mut files = vec![];
    files_under(&storage, &mut files);
    for f in files.iter().filter(|f| **f != prepared.media) {
        assert!(
            !contains(&std::fs::read(f).expect("ok"), PASSWORD),
            "{} holds the password",
            f.display()
        );
    }
    assert_eq!(
        files,
        std::slice::from_ref(&prepared.media),
        "only the media is left in the storage directory"
    );

    for shown in [format!("{req:?}"), format!("{prepared:?}")] {
        assert!(!shown.contains(PASSWORD), "{shown}");
    }

    // The domain XML of an express VM with the media attached.
    let (host, sel, _h) = passage_fixtures::NAMES
        .iter()
        .find_map(|name| {
            let h = tempfile::tempdir().expect("ok");
            passage_fixtures::build(name, h.path()).expect("ok");
            let host = Host::scan(&Root::new(h.path()).expect("ok"));
            initial_selection(&host).map(|sel| (host, sel, h))
        })
        .expect("a fixture host has a card");
    let express = Express {
        purpose: Purpose::Gaming,
        iso: iso.display().to_string(),
        label: None,
        name: Some("win".into()),
        disk_gib: Some(80),
    };
    let e = recommend(&host, sel, &express, &Context::default()).expect("ok");
    let mut spec = e.draft.spec(&host).expect("ok");
    attach(&mut spec, &prepared.media);
    let xml = spec.to_xml().expect("ok");
    assert!(
        xml.contains(&prepared.media.display().to_string()),
        "the media is attached"
    );
    assert!(!xml.contains(PASSWORD), "the domain XML holds the password");
    passage_testkit::valid_domain(&xml);
}
