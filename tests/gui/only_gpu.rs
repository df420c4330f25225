//! An only-GPU VM's start asks first: the question names what stops (the display manager,
//! the graphical sessions), warns about unsaved work, and only its answer starts the VM.

use std::path::Path;
use std::time::Duration;

use crate::Session;

/// libvirt's test driver on the demo's node with win11-gaming in the only-GPU mode.
fn node_with_only_gpu(s: &Session) -> String {
    let demo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/fixtures/data/demo/libvirt-node.xml");
    let xml = std::fs::read_to_string(demo).expect("node");
    let purpose = "<passage:purpose>gaming</passage:purpose>";
    assert!(
        xml.contains(purpose),
        "the demo's gaming VM has its purpose"
    );
    let xml = xml.replacen(
        purpose,
        &format!("{purpose}\n        <passage:gpu-mode>only-gpu</passage:gpu-mode>"),
        1,
    );
    let node = s.dir.path().join("node.xml");
    std::fs::write(&node, xml).expect("node");
    format!("test://{}", node.display())
}

#[test]
fn an_only_gpu_vms_start_asks_before_the_desktop_stops() {
    let s = Session::start();
    let uri = node_with_only_gpu(&s);
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("win11-gaming"));
    app.wait_for(&["#vm-page", "win11-gaming", "Off"]);

    app.action("vm-start", None);
    let d = app.wait_for(&[
        "#confirm",
        "Stop the Desktop to Start “win11-gaming”?",
        "every graphical session ends",
        "save your work first",
    ]);
    app.shot("only-gpu-start-question", &d);
    // Cancel starts nothing.
    app.key_to_dialog("Escape");
    std::thread::sleep(Duration::from_secs(2));
    let tree = app.tree();
    assert!(!tree.contains("Running"), "{tree}");
    assert!(!tree.contains("Starting…"), "{tree}");

    app.action("vm-start", None);
    app.wait_for(&["#confirm", "Stop the Desktop to Start “win11-gaming”?"]);
    app.press_button("Stop the Desktop and Start");
    app.wait_for(&["#vm-page", "win11-gaming", "Running"]);
}
