//! The newcomer's way through, by keyboard: Next from System Check to Devices to Host Setup
//! to the new VM's first step; New VM on the VM list; the chosen card named on the pages that
//! depend on it.

use super::Session;

/// A libvirt test-driver node with no VMs (libvirt's `test:///FILE` format).
const EMPTY_NODE: &str = "<node>\n  <cpu><mhz>3000</mhz><model>x86_64</model><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>\n  <memory>16777216</memory>\n</node>\n";

#[test]
fn next_leads_from_system_check_to_the_new_vm_and_the_card_is_named() {
    let s = Session::start();
    let node = s.dir.path().join("empty-node.xml");
    std::fs::write(&node, EMPTY_NODE).expect("node");
    let uri = format!("test://{}", node.display());
    // At 360 px: the path must work on a phone-sized window too.
    s.settings("window-width=360\nwindow-height=720");
    // --connect wins over PASSAGE_LIBVIRT_URI (the session's, which no libvirt answers) and
    // over the demo host's own VMs.
    let mut app = s.launch_with(&["--demo", "--connect", &uri], &[]);
    app.wait_page("check", &["Demo host:", "The IOMMU is on", "#next"]);
    let card = "GeForce RTX 2080 Ti Rev. A (0a:00.0)";
    for (from, to, want) in [
        ("check", "devices", "Graphics cards".to_string()),
        (
            "devices",
            "setup",
            format!("For {card}, chosen on Devices."),
        ),
        (
            "setup",
            "vm-media",
            "Installation disc image (ISO)".to_string(),
        ),
    ] {
        app.tab_to("name=next", 80);
        // Focus scrolled the page to its foot: the button is on screen.
        let d = app.wait_page(from, &["#next"]);
        app.shot(&format!("next-on-{from}"), &d);
        app.keys(&["space"]);
        let d = app.wait_page(to, &[want.as_str()]);
        app.shot(&format!("next-{to}"), &d);
    }
    // The wizard's PCI step names the card under its heading.
    app.action("show-page", Some("vm-pci"));
    let d = app.wait_page("vm-pci", &[&format!("For {card}, chosen on Devices.")]);
    app.shot("next-vm-pci", &d);
    // The VM list, empty on this connection, says a VM can be made for the card; New VM opens
    // the wizard.
    app.action("show-page", Some("vms"));
    let d = app.wait_page(
        "vms",
        &[
            "No virtual machines yet",
            &format!("Make one for {card} with New VM."),
            "#new-vm",
        ],
    );
    app.shot("vms-empty", &d);
    app.tab_to("name=new-vm", 80);
    app.keys(&["space"]);
    app.wait_page("vm-media", &["Installation disc image (ISO)"]);
}
