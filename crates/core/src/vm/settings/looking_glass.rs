//! The Looking Glass setting's XML: libvirt's `<shmem>` on /dev/shm, or the kvmfr device's
//! QEMU arguments in `<qemu:commandline>` with libvirt's QEMU namespace declared; taken out,
//! only Passage's own arguments go (a command line with others keeps them).

use roxmltree::Node;

use super::splices::{add_devices, content_end, cut, devices, indent_of, root, set_attr};
use crate::i18n::tr;
use crate::vm::domain::parse;
use crate::vm::edit::{splice, with_line, Layout, Splice};
use crate::vm::looking_glass::{
    device_lines, kvmfr_args, monitor_meta, Backing, LookingGlass, Monitor, MONITOR_META, QEMU_NS,
    SHM_NAME,
};
use crate::vm::session_edit::{append_to_block, remove_from_block};
use crate::vm::{err, VmError};

/// Sets the domain's Looking Glass device to the memory for `want`'s monitor (`None`: none),
/// and records the monitor in Passage's metadata.
pub(super) fn set(xml: &str, want: Option<(Monitor, Backing)>) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let have = LookingGlass::of(d);
    let wanted = want.map(|(m, b)| LookingGlass {
        mib: Some(m.shm_mib()),
        backing: b,
        monitor: Some(m),
    });
    if have == wanted {
        return Ok(xml.to_string());
    }
    let out = if have.is_some() {
        remove(xml)?
    } else {
        xml.to_string()
    };
    let out = match want {
        None => out,
        Some((m, Backing::Shm)) => add_shmem(&out, m.shm_mib())?,
        Some((m, Backing::Kvmfr)) => add_kvmfr(&out, m.shm_mib())?,
    };
    record(&out, want.map(|w| w.0))
}

/// Passage's record of the monitor: added, its text replaced, or taken out with the device.
fn record(xml: &str, m: Option<Monitor>) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let s = match (monitor_meta(d), m) {
        (Some(n), Some(m)) => vec![Splice {
            at: n.first_child().map_or(n.range(), |t| t.range()),
            text: m.to_string(),
        }],
        (Some(n), None) => remove_from_block(xml, d, &[n.range()]),
        (None, Some(m)) => vec![append_to_block(xml, d, &|p| {
            format!("<{p}:{MONITOR_META}>{m}</{p}:{MONITOR_META}>")
        })?],
        (None, None) => vec![],
    };
    Ok(splice(xml, s))
}

fn remove(xml: &str) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let mut s: Vec<Splice> = devices(d)?
        .children()
        .filter(|c| c.has_tag_name("shmem") && c.attribute("name") == Some(SHM_NAME))
        .map(|n| cut(xml, n))
        .collect();
    let args = kvmfr_args(d);
    for line in d.children().filter(|c| is_qemu(c, "commandline")) {
        let left = line
            .children()
            .filter(Node::is_element)
            .any(|c| !args.contains(&c));
        if left {
            s.extend(
                args.iter()
                    .filter(|a| a.parent() == Some(line))
                    .map(|a| cut(xml, *a)),
            );
        } else {
            s.push(cut(xml, line));
        }
    }
    Ok(splice(xml, s))
}

fn is_qemu(n: &Node, name: &str) -> bool {
    n.tag_name().namespace() == Some(QEMU_NS) && n.tag_name().name() == name
}

fn add_shmem(xml: &str, mib: u64) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let lines = device_lines(mib, Backing::Shm, "");
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Ok(splice(xml, vec![add_devices(xml, devs, &lines)]))
}

/// The kvmfr arguments, in the domain's `<qemu:commandline>` or a new one after `<devices>`.
fn add_kvmfr(xml: &str, mib: u64) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let devs = devices(d)?;
    let declared = d
        .namespaces()
        .find(|n| n.uri() == QEMU_NS)
        .map(|n| n.name().unwrap_or("").to_string());
    let prefix = match declared {
        Some(p) if !p.is_empty() => p,
        Some(_) => return Err(refuse()),
        None if d.lookup_namespace_uri(Some("qemu")).is_some() => return Err(refuse()),
        None => "qemu".to_string(),
    };
    let mut s = vec![];
    if d.lookup_prefix(QEMU_NS).is_none() {
        s.push(set_attr(xml, d, "xmlns:qemu", QEMU_NS));
    }
    let unit = Layout::of(xml, devs).unit;
    let own = indent_of(xml, devs);
    let args = device_lines(mib, Backing::Kvmfr, &prefix);
    match d.children().find(|c| is_qemu(c, "commandline")) {
        Some(line) => {
            let at = content_end(xml, line).ok_or_else(refuse_empty)?;
            let pad = format!("{own}{unit}");
            let text: String = args.iter().map(|a| format!("{pad}{a}\n")).collect();
            s.push(Splice { at: at..at, text });
        }
        None => {
            let at = with_line(xml, devs.range()).end;
            let newline = if xml[..at].ends_with('\n') { "" } else { "\n" };
            let mut text = format!("{newline}{own}<{prefix}:commandline>\n");
            for a in &args {
                text.push_str(&format!("{own}{unit}{a}\n"));
            }
            text.push_str(&format!("{own}</{prefix}:commandline>"));
            if xml[..at].ends_with('\n') {
                text.push('\n');
            }
            s.push(Splice { at: at..at, text });
        }
    }
    Ok(splice(xml, s))
}

fn refuse() -> VmError {
    err(
        "looking-glass",
        tr("the domain declares libvirt's QEMU namespace without a prefix, or the prefix qemu for another namespace; change it with virsh edit"),
    )
}

fn refuse_empty() -> VmError {
    err(
        "looking-glass",
        tr("the domain has an empty <qemu:commandline/>; take it out with virsh edit first"),
    )
}
