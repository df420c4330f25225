//! Failures that stay on their page until the user acts (issue 21, item 4), beside the ones
//! in gui.rs (a failed Start, Create, and authorization after Create): a Delete libvirt
//! refuses on the VM's page, and an Apply the helper rolls back on Host setup; each with the
//! whole text to copy, still there after a toast would have gone; and a Shut Down libvirt
//! refuses (libvirt 9.0 answers a shutdown of a VM that is off with success: here libvirtd
//! has stopped, and the VM with it).

use std::time::Duration;

use passage_testkit::{bus, libvirtd};

use super::{Session, REFUSED_VM, TINY_VM};
use crate::App;

impl App<'_> {
    /// Waits until all of `want` shows, and shows still when a toast would have gone (five
    /// seconds); returns the dump.
    fn stays(&mut self, want: &[&str]) -> String {
        self.wait_for(want);
        std::thread::sleep(Duration::from_secs(6));
        self.wait_for(want)
    }
}

#[test]
fn a_delete_libvirt_refuses_stays_on_the_vms_page() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    h.define(REFUSED_VM).expect("define refused");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);

    // Delete with its disk image, which is not there: the definition goes, the image's
    // deletion fails, and the page says which.
    app.action("show-vm", Some("refused"));
    app.wait_page("vms", &["#vm-page", "refused"]);
    app.action("vm-delete", None);
    app.wait_for(&["Delete refused?", "Also delete its disk images"]);
    // The tick, by keyboard (from Cancel, where the dialog puts the focus).
    app.key_to_dialog("shift+Tab");
    app.key_to_dialog("space");
    app.wait_line(&["Also delete its disk images", "checked"]);
    app.press_button("Delete");
    let want = [
        "#problem",
        "Delete Failed",
        "refused or one of its disk images was not deleted",
        "passage-gone.qcow2",
        "Copy what libvirt said",
    ];
    let d = app.stays(&want);
    app.shot("vm-page-delete-failed", &d);
    assert!(
        !h.list().expect("list").iter().any(|v| v.name == "refused"),
        "its definition went first"
    );
}

#[test]
fn an_apply_the_helper_rolls_back_stays_on_host_setup_with_its_whole_text() {
    let said = "update-initramfs: cannot write /boot/initrd.img-6.1.0";
    let tb = bus::TestBus::start(
        "x570-tutorial",
        Some(&[
            ("kernelstub", "echo kernelstub: boot entry written"),
            ("update-initramfs", &format!("echo '{said}' >&2; exit 1")),
        ]),
        &[],
    );
    let before = super::host_files(&tb);
    let s = Session::start_as(bus::ALLOWED_UID);
    let mut app = s.launch_live(&tb.root, &tb.address);
    app.wait_page("check", &["The IOMMU is on"]);
    app.action("show-page", Some("setup"));
    app.wait_page("setup", &["/etc/modprobe.d/passage-vfio.conf"]);
    app.wait_apply_ready();
    app.action("apply", None);
    // The helper's whole text: what failed, that everything was put back, the exit status.
    let want = [
        "Not applied",
        "update-initramfs -u -k all failed, so every file was put back as it was",
        "exited with exit status: 1",
        "Copy what the helper said",
    ];
    // The failure is where the page shows it, not below the plan out of sight: the focus
    // took the page down to it.
    app.wait_focus("name=copy-failure");
    let d = app.stays(&want);
    app.shot("setup-apply-failed", &d);
    super::a11y::assert_all_named(&app, "Host setup with a failed Apply");
    assert_eq!(super::host_files(&tb), before, "the helper rolled it back");
}

#[test]
fn a_shut_down_libvirt_cannot_answer_stays_on_the_vms_page() {
    use passage_virt::Hypervisor;
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    // No display: no VNC port to share with tests running beside this one.
    h.define(&TINY_VM.replace("<graphics type='vnc' autoport='yes'/>", ""))
        .expect("define tiny");
    h.start("tiny").expect("start tiny");
    let s = Session::start();
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    app.action("show-vm", Some("tiny"));
    app.wait_page("vms", &["#vm-page", "tiny", "Running", "#shut-down"]);
    // libvirtd stops (its VMs first, and the test's VM with them), then Shut Down is asked
    // (the page's action): libvirt cannot answer it.
    drop(h);
    drop(lv);
    app.action("vm-shut-down", None);
    let d = app.stays(&[
        "#problem",
        "Shut Down Failed",
        "tiny was not asked to shut down",
        "Copy what libvirt said",
    ]);
    app.shot("vm-page-shut-down-failed", &d);
    super::a11y::assert_all_named(&app, "the VM's page with a failed Shut Down");
}
