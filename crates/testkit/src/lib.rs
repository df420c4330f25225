//! Passage's shared test harnesses, for the tests of every crate and the app's GUI test (a
//! dev-dependency only: nothing here ships).
//!
//! - [`bus`]: a private system bus with a real polkitd and passage-helper on a temp root;
//! - [`guest`]: a boot sector that prints on its serial port and screen and echoes keys;
//! - [`libvirtd`]: a private libvirtd (qemu:///system on its own sockets and directories);
//! - [`sshd`]: a private sshd on 127.0.0.1, a "remote host" reached over qemu+ssh;
//! - [`spec`]: the tutorial's gaming VM and its X570 host, for VM tests;
//! - [`valid_domain`]: libvirt's own schema check of domain XML;
//! - [`locale`]: the German catalogue, compiled for a test.

pub mod bus;
pub mod guest;
pub mod libvirtd;
pub mod locale;
pub mod spec;
pub mod sshd;

/// libvirt's schema says yes (`virt-xml-validate … domain`), or the test fails with its words.
pub fn valid_domain(xml: &str) {
    let f = tempfile::Builder::new()
        .suffix(".xml")
        .tempfile()
        .expect("tmp");
    std::fs::write(f.path(), xml).expect("write");
    let o = std::process::Command::new("virt-xml-validate")
        .arg(f.path())
        .arg("domain")
        .output()
        .expect("virt-xml-validate (libvirt-clients, installed by build-aux/install-deps.sh)");
    assert!(
        o.status.success(),
        "libvirt rejects:\n{}{}\n{xml}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
