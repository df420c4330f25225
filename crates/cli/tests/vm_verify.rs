//! `passagectl vm verify` on a private libvirtd: a guest that cannot be asked says why, runs
//! no agent command, and exits 1. (A guest whose agent answers is checked in the test bed:
//! build-aux/testbed/test-session.sh.)

mod common;
use common::*;

use passage_virt::{Hypervisor, Libvirt};

/// A small software-emulated VM; `channel` adds the guest agent's channel.
fn domain(name: &str, channel: bool) -> String {
    let ch = if channel {
        "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    } else {
        ""
    };
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>
  <devices>{ch}<graphics type='vnc' autoport='yes'/></devices></domain>"
    )
}

#[test]
fn a_guest_that_cannot_be_asked_says_why_and_exits_1() {
    let d = passage_testkit::libvirtd::PrivateLibvirtd::start();
    let uri = d.uri();
    let h = Libvirt::open(&uri).expect("connect");
    h.define(&domain("agent", true)).expect("define agent");
    h.define(&domain("bare", false)).expect("define bare");
    let verify = |vm: &str, json: bool| {
        let mut a = vec!["vm", "verify", vm, "--connect", &uri, "--demo"];
        if json {
            a.push("--json");
        }
        passagectl(&a)
    };

    let o = verify("agent", false);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("agent: cannot check: the VM is not running"),
        "{}",
        stdout(&o)
    );

    h.start("agent").expect("start agent");
    let o = verify("agent", false);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("agent: cannot check: no guest agent answers in the guest (install the QEMU guest agent"),
        "{out}"
    );
    assert!(out.contains("\"tainted\" (custom-ga-command)"), "{out}");
    assert!(out.contains("Only read-only queries run"), "{out}");
    assert!(out.contains("Nothing ran in the guest."), "{out}");
    let o = verify("agent", true);
    assert_eq!(o.status.code(), Some(1));
    let j = json(&o);
    assert_eq!(j["result"], "cannot-check", "{j}");
    assert_eq!(j["why"]["reason"], "not-answering", "{j}");
    assert!(j["note"]
        .as_str()
        .is_some_and(|n| n.contains("custom-ga-command")));
    h.destroy("agent").expect("destroy");

    h.start("bare").expect("start bare");
    let o = verify("bare", false);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("bare: cannot check: the VM has no guest agent channel (passagectl vm edit bare --guest-agent on adds it"),
        "{}",
        stdout(&o)
    );
    h.destroy("bare").expect("destroy");

    let o = verify("nosuchvm", false);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nosuchvm"), "{}", stderr(&o));
}
