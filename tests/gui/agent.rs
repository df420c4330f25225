//! The VM page's guest agent line, read from libvirt's live XML (the channel's `state`; no
//! agent command runs, so libvirt never marks the domain tainted), on a private libvirtd: a
//! running TCG VM with the agent's channel and no agent inside says "not answering" and what to
//! install; a VM without the channel says Edit… adds it, and Edit…'s switch adds it. The page's
//! In the Guest group (the card checked inside the guest) says why neither guest can be asked.

use passage_testkit::libvirtd;
use passage_virt::Hypervisor;

use super::{Session, TINY_VM};

const CHANNEL: &str =
    "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>";

#[test]
fn the_vm_page_says_whether_the_guest_agent_answers_or_how_to_add_its_channel() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let with_agent = TINY_VM
        .replace("<name>tiny</name>", "<name>agent</name>")
        .replace("<memballoon", &format!("{CHANNEL}<memballoon"));
    h.define(&with_agent).expect("define agent");
    h.define(TINY_VM).expect("define tiny");
    h.start("agent").expect("start agent");
    h.start("tiny").expect("start tiny");
    // What the page reads: libvirt's live state of the channel (no agent runs in this guest).
    let live = h.live_xml("agent").expect("live xml");
    assert!(
        live.contains("name='org.qemu.guest_agent.0' state='disconnected'"),
        "{live}"
    );

    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("agent"));
    let d = app.wait_page(
        "vms",
        &[
            "#vm-page",
            "Running",
            "#vm-guest-agent",
            "Guest agent",
            "not answering (install the QEMU guest agent in the guest: virtio-win guest tools on Windows, qemu-guest-agent on Linux)",
            // In the Guest: the card check cannot ask this guest, and says so; nothing ran.
            "In the Guest",
            "#vm-check-again",
            "#vm-guest-check",
            "Cannot check",
            "no guest agent answers in the guest (install the QEMU guest agent",
            "\"tainted\" (custom-ga-command)",
        ],
    );
    app.shot("vm-guest-agent-not-answering", &d);

    app.action("show-vm", Some("tiny"));
    let d = app.wait_page(
        "vms",
        &[
            "#vm-page",
            "Running",
            "#vm-guest-agent",
            "no channel (Edit… adds it)",
            "the VM has no guest agent channel (Edit… adds it; it takes effect at the next start)",
        ],
    );
    app.shot("vm-guest-agent-no-channel", &d);
    // Read again: the dump `wait_page` returns is taken before the tree it matched, so it may
    // still show the page of the VM before.
    let t = app.tree();
    assert!(
        t.contains("no channel (Edit… adds it)") && !t.contains("not answering"),
        "{t}"
    );

    // Edit…'s switch adds the channel (from the running VM's next start).
    app.action("vm-edit", None);
    app.wait_page(
        "vms",
        &["#vm-edit", "#edit-guest-agent", "Guest Agent Channel"],
    );
    app.action("vm-edit-set", Some("guest-agent=on"));
    app.action("vm-edit-save", None);
    app.wait_page(
        "vms",
        &["#edit-summary", "From the next start: guest agent channel"],
    );
    let defined = h.xml("tiny").expect("xml");
    assert!(
        defined.contains("<target type='virtio' name='org.qemu.guest_agent.0'/>"),
        "{defined}"
    );
    h.destroy("agent").expect("destroy agent");
    h.destroy("tiny").expect("destroy tiny");
}
