//! `passagectl vm new --express --unattended` against a private libvirtd: the answer media is
//! built by the user and copied into libvirt's pool by libvirt, attached as the second
//! CD-ROM; the password, read from a file, is not in the domain XML; bad input defines
//! nothing.

mod common;
use common::*;

#[path = "../../core/tests/common/isos.rs"]
mod isos;

use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::{Hypervisor, Libvirt};

const PASSWORD: &str = "Cli-4b1d-secret";

#[test]
fn express_unattended_uploads_the_answer_media_and_attaches_it() {
    let d = PrivateLibvirtd::start();
    let uri = d.uri();
    let root = fixture("x570-tutorial");
    let tmp = tempfile::tempdir().expect("tmp");
    let iso = isos::windows(tmp.path(), "Win10_22H2_German_x64.iso");
    let vw = isos::virtio_win(tmp.path());
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).expect("pw");
    let s = |p: &std::path::Path| p.to_str().expect("utf8").to_string();
    let (root_s, iso_s, vw_s, pw_s) = (s(root.path()), s(&iso), s(&vw), s(&pw));
    let base = [
        "vm",
        "new",
        "--express",
        "--connect",
        &uri,
        "--root",
        &root_s,
        "--iso",
        &iso_s,
        "--name",
        "win10u",
        "--unattended",
    ];

    // No password: refused, nothing defined.
    let mut a = base.to_vec();
    a.extend(["--user", "alice", "--password-file", "/nonexistent/pw"]);
    let o = passagectl(&a);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--password-file /nonexistent/pw"),
        "{}",
        stderr(&o)
    );
    let mut a = base.to_vec();
    a.extend(["--user", "Alice Smith", "--password-file", &pw_s]);
    assert_eq!(passagectl(&a).status.code(), Some(2));
    let h = Libvirt::open(&uri).expect("connect");
    assert!(h.xml("win10u").is_err(), "nothing defined");

    let mut a = base.to_vec();
    a.extend([
        "--user",
        "alice",
        "--password-file",
        &pw_s,
        "--virtio-win",
        &vw_s,
    ]);
    let o = passagectl(&a);
    let out = stdout(&o);
    // Defined; the start stops at the pre-flight (the fixture host has no such media).
    assert!(out.contains("VM win10u defined."), "{out}{}", stderr(&o));
    assert!(
        out.contains("Unattended install of Microsoft Windows 10: the answer media"),
        "{out}"
    );
    assert!(!out.contains(PASSWORD) && !stderr(&o).contains(PASSWORD));
    assert!(h
        .volumes("default")
        .expect("volumes")
        .contains(&"win10u-unattended.iso".to_string()));
    let xml = h.xml("win10u").expect("xml");
    assert!(!xml.contains(PASSWORD), "{xml}");
    // The installer's CD-ROM first (it boots), the answer media right after it (drive E:).
    let installer = xml.find(&iso_s).expect("installer attached");
    let answers = xml
        .find("win10u-unattended.iso'/>")
        .expect("answer media attached");
    assert!(installer < answers, "{xml}");
    // Recorded in Passage's metadata, for its removal once the guest agent answers.
    assert!(
        xml.contains("<passage:unattended-media>")
            && xml.contains("win10u-unattended.iso</passage:unattended-media>"),
        "{xml}"
    );

    // Removed before its install finished, the VM takes its answer media (the password on
    // it) with it.
    let o = passagectl(&["vm", "remove", "win10u", "--connect", &uri]);
    assert!(
        stdout(&o).contains("win10u-unattended.iso (with the account's password) was deleted"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(!h
        .volumes("default")
        .expect("volumes")
        .contains(&"win10u-unattended.iso".to_string()));
}
