//! *Edit…* on a VM's page, on a private libvirtd, for users' own domains from the shared
//! corpus (/work/shared/corpora/user-domains, sources in its SOURCES.tsv): memory and vCPUs
//! set, the install ISO chosen through the chooser, Save; libvirt's XML afterwards is exactly
//! what core's `settings::edit` makes of the XML libvirt had before (every other byte kept),
//! and the page sums up what applies when. A running VM's disc changes at once; a refused
//! value says why and defines nothing; a disk image that cannot be made stays on the view.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use passage_core::vm::settings::{self, Changes, Media, NewDisk};
use passage_testkit::libvirtd;
use passage_virt::Hypervisor;

use super::{width, App, Session};

const CORPUS: &str = "/work/shared/corpora/user-domains";

/// Users' domains this libvirt and QEMU define as published (most others name a newer QEMU's
/// models, another emulator path, or repeat a name): 001.xml "win10" (46620/kvm-passthrough,
/// pinned, 1 CD-ROM, i440fx), 002.xml "win11" (Abikebuk/kvm-mag-mortar-b550m-single-gpu-
/// passtrough, q35, 14 pinned vCPUs), 031.xml "ArchLabs" (braineniac/qemu-configs, q35).
const DOMAINS: [(&str, &str); 3] = [
    ("001.xml", "win10"),
    ("002.xml", "win11"),
    ("031.xml", "ArchLabs"),
];

/// A disc image in the user's Downloads (where the ISO chooser opens).
pub(super) fn iso(s: &Session, name: &str) -> PathBuf {
    let downloads = s.dir.path().join("home/Downloads");
    std::fs::create_dir_all(&downloads).expect("mkdir");
    std::fs::write(
        s.dir.path().join("config/user-dirs.dirs"),
        "XDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n",
    )
    .expect("user-dirs.dirs");
    let p = downloads.join(name);
    // Sixteen CD sectors: QEMU takes it as a disc.
    std::fs::write(&p, vec![0u8; 16 * 2048]).expect("iso");
    p
}

impl App<'_> {
    /// The VM's page, then its Edit… view.
    fn open_edit(&mut self, vm: &str, want: &[&str]) -> String {
        self.action("show-vm", Some(vm));
        self.wait_page("vms", &["#vm-page", vm, "#edit-settings"]);
        self.action("vm-edit", None);
        let title = format!("Edit {vm}");
        let mut all = vec!["#vm-edit", "#edit-memory", "#edit-save", title.as_str()];
        all.extend_from_slice(want);
        self.wait_page("vms", &all)
    }

    /// The install ISO chosen through its chooser, as a user chooses it.
    fn choose_install_iso(&mut self, path: &Path) {
        self.press_button("Choose a file: Install ISO");
        let end = Instant::now() + Duration::from_secs(20);
        // The chooser's window, titled by its row (a top-level node of the tree).
        while !self
            .tree()
            .lines()
            .any(|l| !l.starts_with(' ') && l.contains("'Install ISO'"))
        {
            assert!(Instant::now() < end, "the ISO chooser never opened");
            std::thread::sleep(Duration::from_millis(200));
        }
        self.choose_in("Install ISO", path);
        self.wait_entry(&path.display().to_string());
    }
}

fn wanted(before: &str, c: &Changes, running: bool) -> String {
    settings::edit(before, c, running)
        .expect("core edits it")
        .xml
}

#[test]
fn edit_on_users_domains_keeps_every_other_byte_and_sums_up() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    for (file, name) in DOMAINS {
        let xml = std::fs::read_to_string(Path::new(CORPUS).join(file)).expect("corpus");
        assert_eq!(h.define(&xml).expect(file), name);
    }
    let s = Session::start();
    let new_iso = iso(&s, "debian-12.8.0-amd64-netinst.iso");
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    for (_, vm) in DOMAINS {
        let before = h.xml(vm).expect("xml");
        let d = app.open_edit(vm, &["Memory and CPUs", "Install ISO", "Secure Boot"]);
        app.shot(&format!("edit-{vm}-open"), &d);
        app.action("vm-edit-set", Some("memory-gib=6"));
        app.action("vm-edit-set", Some("vcpus=4"));
        app.choose_install_iso(&new_iso);
        let d = app.dump();
        app.shot(&format!("edit-{vm}-changed"), &d);
        app.action("vm-edit-save", None);
        let d = app.wait_page(
            "vms",
            &[
                "#vm-page",
                "#edit-summary",
                "Settings Saved",
                "From the next start: memory, vCPUs, install ISO",
            ],
        );
        app.shot(&format!("edit-{vm}-saved"), &d);
        let c = Changes {
            memory_gib: Some(6),
            vcpus: Some(4),
            install_iso: Some(Media::Insert(new_iso.display().to_string())),
            ..Changes::default()
        };
        assert_eq!(h.xml(vm).expect("xml"), wanted(&before, &c, false), "{vm}");
    }

    // More memory than the host: the reason on the view, nothing defined; fixed, it saves.
    let vm = "ArchLabs";
    let before = h.xml(vm).expect("xml");
    app.open_edit(vm, &[]);
    app.action("vm-edit-set", Some("memory-gib=4000"));
    app.action("vm-edit-save", None);
    let d = app.wait_for(&["#edit-refused", "Cannot be saved: Memory: 4000 GiB"]);
    app.shot("edit-refused", &d);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        h.xml(vm).expect("xml"),
        before,
        "a refused value defines nothing"
    );
    app.action("vm-edit-set", Some("memory-gib=5"));
    app.action("vm-edit-save", None);
    app.wait_for(&["#edit-summary", "From the next start: memory"]);
    let c = Changes {
        memory_gib: Some(5),
        ..Changes::default()
    };
    assert_eq!(h.xml(vm).expect("xml"), wanted(&before, &c, false));

    // A new image whose name is taken in the pool: not saved, said on the view; the image
    // that was there stays and the definition is as it was.
    let before = h.xml(vm).expect("xml");
    let add = Changes {
        add_disks: vec![NewDisk { gib: 1, raw: false }],
        ..Changes::default()
    };
    let taken = settings::edit(&before, &add, false)
        .expect("edit")
        .new_volumes[0]
        .clone();
    h.ensure_pool(&taken.pool, passage_core::vm::draft::POOL_PATH)
        .expect("pool");
    h.create_volume(
        &taken.pool,
        &taken.volume,
        1 << 20,
        passage_virt::VolumeFormat::Qcow2,
        &mut |_, _| {},
    )
    .expect("volume");
    app.open_edit(vm, &[]);
    app.action("vm-edit-set", Some("add-disk=1"));
    app.action("vm-edit-save", None);
    let d = app.wait_for(&[
        "#vm-edit",
        "#problem",
        "Not Saved",
        "A new disk image could not be made",
    ]);
    app.shot("edit-volume-failed", &d);
    assert_eq!(h.xml(vm).expect("xml"), before);
    assert!(h
        .volumes(&taken.pool)
        .expect("volumes")
        .contains(&taken.volume));
    drop(app);

    // At 360 px in dark mode: the view fits.
    let mut app = s.vm_page_narrow_dark(&uri, vm, "");
    let d = app.open_edit(vm, &["dark true"]);
    assert_eq!(
        width(&d),
        360,
        "the Edit… view keeps the window at 360 px:\n{d}"
    );
    app.shot("narrow-dark-edit", &d);
    super::a11y::assert_all_named(&app, "the Edit… view");
    // Hugepages at boot: Host setup will reserve them, and the view offers to go there.
    app.action("vm-edit-set", Some("hugepages=boot"));
    let d = app.wait_for(&[
        "#edit-host-setup",
        "Host setup will reserve them",
        "Host setup reserves 2560 pages of 2 MiB",
    ]);
    app.shot("narrow-dark-edit-hugepages-at-boot", &d);
    app.press_button("Open Host Setup");
    app.wait_page("setup", &[]);
    assert_eq!(h.xml(vm).expect("xml"), before, "nothing saved on the way");
}

/// A small VM with a CD-ROM, started on the private libvirtd.
fn cd_vm(iso: &Path) -> String {
    format!(
        "<domain type='qemu'><name>discs</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices><disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}'/><target dev='hdc' bus='ide'/><readonly/></disk><graphics type='vnc' autoport='yes'/><memballoon model='none'/></devices></domain>",
        iso.display()
    )
}

fn live_xml(uri: &str, vm: &str) -> String {
    let o = Command::new("virsh")
        .args(["-c", uri, "dumpxml", vm])
        .output()
        .expect("virsh");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_running_vms_disc_changes_now_and_its_memory_from_the_next_start() {
    let lv = libvirtd::PrivateLibvirtd::start();
    let uri = lv.uri();
    let h = passage_virt::Libvirt::open(&uri).expect("libvirt");
    let s = Session::start();
    let first = iso(&s, "first.iso");
    let second = iso(&s, "second.iso");
    h.define(&cd_vm(&first)).expect("define");
    h.start("discs").expect("start");
    let before = h.xml("discs").expect("xml");
    let mut app = s.launch(&[("PASSAGE_LIBVIRT_URI", uri.as_str())]);
    app.wait_page("check", &["Demo host:"]);
    let d = app.open_edit(
        "discs",
        &["Changes now, while it runs.", "From its next start"],
    );
    app.shot("edit-running-open", &d);
    app.action("vm-edit-set", Some("memory-gib=2"));
    app.choose_install_iso(&second);
    app.action("vm-edit-save", None);
    let d = app.wait_for(&[
        "#edit-summary",
        "Changed now: install ISO",
        "From the next start: memory",
    ]);
    app.shot("edit-running-saved", &d);
    let live = live_xml(&uri, "discs");
    assert!(
        live.contains(&format!("file='{}'", second.display())),
        "the running VM has the new disc:\n{live}"
    );
    assert!(
        live.contains("<memory unit='KiB'>131072</memory>"),
        "{live}"
    );
    let c = Changes {
        memory_gib: Some(2),
        install_iso: Some(Media::Insert(second.display().to_string())),
        ..Changes::default()
    };
    assert_eq!(h.xml("discs").expect("xml"), wanted(&before, &c, true));
    h.destroy("discs").expect("destroy");
}
