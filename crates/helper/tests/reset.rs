//! A card that did not reset (the AMD reset bug): after its VM stops, its configuration space
//! reads all ones. The session's give-back waits a bounded time, leaves the card on vfio-pci
//! (its driver's probe would hang on it), gives back the rest, and says to restart the host.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use passage_helper::journal::{Change, Journal, Session, State, StepRunner, Taken};
use passage_helper::session::unresponsive::RESET_WAIT;

struct NoSteps;

impl StepRunner for NoSteps {
    fn run(&self, _: &[String], _: &mut dyn FnMut(&str)) -> Option<Result<String, String>> {
        None
    }
}

const GPU: &str = "0000:0a:00.0";
const AUDIO: &str = "0000:0a:00.1";

/// The X570 board with the card's two functions on vfio-pci, a hugepage pool of 110 (100 the
/// session's), and this boot's id.
fn host_with_session() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().expect("tmp");
    let p = d.path();
    passage_fixtures::build("x570-tutorial", p).expect("fixture");
    let pool = p.join("sys/kernel/mm/hugepages/hugepages-2048kB");
    std::fs::create_dir_all(&pool).expect("pool");
    std::fs::write(pool.join("nr_hugepages"), "110\n").expect("nr");
    std::fs::write(pool.join("free_hugepages"), "110\n").expect("free");
    std::fs::create_dir_all(p.join("proc/sys/kernel/random")).expect("proc");
    std::fs::write(p.join("proc/sys/kernel/random/boot_id"), "b1\n").expect("boot id");
    let drivers = p.join("sys/bus/pci/drivers");
    for drv in ["vfio-pci", "amdgpu", "snd_hda_intel"] {
        std::fs::create_dir_all(drivers.join(drv)).expect("driver");
        for f in ["bind", "unbind"] {
            std::fs::write(drivers.join(drv).join(f), "").expect("attr");
        }
    }
    std::fs::write(p.join("sys/bus/pci/drivers_probe"), "").expect("probe");
    for a in [GPU, AUDIO] {
        let dev = p.join(format!("sys/bus/pci/devices/{a}"));
        let _ = std::fs::remove_file(dev.join("driver"));
        symlink(drivers.join("vfio-pci"), dev.join("driver")).expect("link");
        std::fs::write(dev.join("driver_override"), "vfio-pci\n").expect("override");
    }
    let s = Session {
        vm: "win".into(),
        boot_id: "b1".into(),
        taken: vec![
            Taken::Hugepages {
                size_kib: 2048,
                node: None,
                before: 10,
                added: 100,
                reserved: true,
                back_to: None,
            },
            Taken::Devices {
                devices: vec![
                    (GPU.into(), Some("amdgpu".into())),
                    (AUDIO.into(), Some("snd_hda_intel".into())),
                ],
                overrides: vec![],
            },
        ],
    };
    let j = Journal::new(p);
    let e = j
        .record("vm-session", 0, "Session".into(), Change::Session(s))
        .expect("record");
    (d, e.id)
}

fn release(root: &Path) -> Result<Option<String>, String> {
    let args: Vec<String> = ["win", "release", "end", "-"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    passage_helper::hook::run(root, &args, &mut "".as_bytes(), &NoSteps)
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_card_that_did_not_reset_is_left_on_vfio_and_the_release_says_to_restart() {
    let (d, id) = host_with_session();
    let p = d.path();
    // The card reads all ones, as after a failed reset.
    std::fs::write(
        p.join(format!("sys/bus/pci/devices/{GPU}/config")),
        [0xffu8; 256],
    )
    .expect("config");
    let start = Instant::now();
    let e = release(p).expect_err("the card did not come back");
    let took = start.elapsed();
    println!("release of a card that did not reset: {took:?}");
    assert!(
        e.contains("the card did not reset; restart the host"),
        "{e}"
    );
    assert!(e.contains(GPU), "{e}");
    assert!(
        !e.contains("passagectl undo"),
        "another try cannot help: {e}"
    );
    assert!(took >= RESET_WAIT, "gave up before the wait: {took:?}");
    assert!(
        took < RESET_WAIT + Duration::from_secs(5),
        "waited {took:?}"
    );
    // Nothing was handed to the card's drivers (amdgpu's probe would hang on it).
    assert_eq!(read(p, "sys/bus/pci/drivers/amdgpu/bind"), "");
    assert_eq!(read(p, "sys/bus/pci/drivers/snd_hda_intel/bind"), "");
    assert_eq!(read(p, "sys/bus/pci/drivers/vfio-pci/unbind"), "");
    assert_eq!(
        read(p, &format!("sys/bus/pci/devices/{GPU}/driver_override")),
        "vfio-pci\n"
    );
    // The rest came back: the hugepages the session reserved.
    assert_eq!(
        read(p, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").trim(),
        "10"
    );
    // The session stays open until the restart, which closes it.
    let j = Journal::new(p);
    assert_eq!(j.load(&id).expect("entry").state, State::Applied);
    std::fs::write(p.join("proc/sys/kernel/random/boot_id"), "b2\n").expect("boot id");
    passage_helper::session::recover(p, &NoSteps);
    assert_eq!(j.load(&id).expect("entry").state, State::Undone);
}

#[test]
fn a_card_that_answers_is_given_back_at_once() {
    let (d, id) = host_with_session();
    let p = d.path();
    let start = Instant::now();
    release(p).expect("released");
    assert!(start.elapsed() < RESET_WAIT, "waited {:?}", start.elapsed());
    assert_eq!(read(p, "sys/bus/pci/drivers/amdgpu/bind"), GPU);
    assert_eq!(
        Journal::new(p).load(&id).expect("entry").state,
        State::Undone
    );
}
