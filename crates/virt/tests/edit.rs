//! `passage_virt::edit` on a private libvirtd: an edit that fails half-way leaves nothing of
//! itself — the images it made are deleted again, and after a media change the VM did not
//! take, the definition is the one it had.

use passage_core::vm::settings::{self, Changes, Media, NewDisk};
use passage_testkit::libvirtd::PrivateLibvirtd;
use passage_virt::edit::{apply, edit, EditFailed};
use passage_virt::{Hypervisor, Libvirt};

fn cd_vm(iso: &str) -> String {
    format!(
        "<domain type='qemu'><name>discs</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{iso}'/><target dev='hdc' bus='ide'/><readonly/></disk><memballoon model='none'/></devices></domain>"
    )
}

#[test]
fn a_failed_edit_leaves_neither_its_images_nor_its_definition() {
    let d = PrivateLibvirtd::start();
    let h = Libvirt::open(&d.uri()).expect("connect");
    let iso = d.dir.path().join("second.iso");
    std::fs::write(&iso, vec![0u8; 2048 * 16]).expect("iso");
    h.define(&cd_vm("/nowhere/first.iso")).expect("define");
    let before = h.xml("discs").expect("xml");
    let changes = Changes {
        memory_gib: Some(1),
        install_iso: Some(Media::Insert(iso.display().to_string())),
        add_disks: vec![NewDisk { gib: 1, raw: false }],
        ..Changes::default()
    };

    // Edited as if it ran: the media change goes to a VM that is off, which libvirt refuses
    // after the definition and the image were made. Both are undone.
    let e = settings::edit(&before, &changes, true).expect("edit");
    assert_eq!(e.live_media.len(), 1);
    let vol = e.new_volumes[0].clone();
    let r = apply(&h, "discs", &before, &e);
    assert!(matches!(r, Err(EditFailed::Media(_))), "{r:?}");
    assert_eq!(
        h.xml("discs").expect("xml"),
        before,
        "the old definition is back"
    );
    assert!(
        !h.volumes(&vol.pool).expect("volumes").contains(&vol.volume),
        "the image made for the edit is deleted again"
    );

    // A definition libvirt refuses (a watchdog model this libvirt does not know, as in some
    // users' domains of the shared corpus): the image made for it goes again.
    let mut bad = settings::edit(&before, &changes, false).expect("edit");
    bad.xml = bad
        .xml
        .replace("</devices>", "<watchdog model='itco'/></devices>");
    let r = apply(&h, "discs", &before, &bad);
    assert!(matches!(r, Err(EditFailed::Define(_))), "{r:?}");
    assert_eq!(h.xml("discs").expect("xml"), before);
    assert!(!h.volumes(&vol.pool).expect("volumes").contains(&vol.volume));

    // The whole edit as the app's worker runs it: read, edited, applied.
    let (read, e) = edit(&h, "discs", &changes).expect("edit");
    assert_eq!(read, before);
    let now = h.xml("discs").expect("xml");
    assert!(
        now.contains(&vol.volume) && now.contains("<memory unit='KiB'>1048576</memory>"),
        "{now}"
    );
    assert!(e.at_next_start.len() == 3, "{:?}", e.at_next_start);
    assert!(h.volumes(&vol.pool).expect("volumes").contains(&vol.volume));
}
