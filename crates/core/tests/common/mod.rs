//! Shared by the VM tests.

/// libvirt's schema says yes, or the test fails with its words.
pub fn valid(xml: &str) {
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
