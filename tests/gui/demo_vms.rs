//! The demo host's VM side: with no URI given, the app opens the demo's own VMs on libvirt's
//! test driver (crates/fixtures/data/demo/libvirt-node.xml), under the demo banner; the VM
//! with the demo card names it, and Start (after the pre-flight) runs it.

use super::Session;

#[test]
fn the_demo_host_has_vms_on_the_test_driver_and_one_with_the_card_starts() {
    let s = Session::start();
    // An empty URI is no URI: the demo's own VMs (the session sets a broken one by default).
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", "")]);
    app.wait_page(
        "check",
        &[
            "Demo host:",
            "Its VMs are demo VMs on libvirt's test driver",
        ],
    );
    app.action("show-page", Some("vms"));
    let d = app.wait_page(
        "vms",
        &[
            "win11-gaming",
            "Off · made by Passage (gaming)",
            "debian-server",
            "Running",
            "fedora-ml",
            "Demo host:",
        ],
    );
    app.shot("demo-vms", &d);
    app.action("show-vm", Some("win11-gaming"));
    let d = app.wait_page(
        "vms",
        &[
            "#vm-page",
            "Demo host:",
            "NVIDIA Corporation TU102 [GeForce RTX 2080 Ti Rev. A]",
            "0000:0a:00.0 · group 28",
            "8 GiB of memory",
            "channel present; whether the agent answers shows while the VM runs",
            "#start",
        ],
    );
    app.shot("demo-vm-page", &d);
    // The pre-flight passes on the demo host, and the test driver runs it.
    app.action("vm-start", None);
    let d = app.wait_for(&["#vm-page", "Running", "#shut-down"]);
    assert!(!d.contains("Not Started"), "{d}");
    app.shot("demo-vm-running", &d);
}
