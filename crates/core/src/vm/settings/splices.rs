//! The XML side of [`super::edit`]: one pass per change, each splicing only its elements with
//! the device editor's [`Splice`]s and layout, so every other byte stays.

use roxmltree::Node;

use super::{Media, MediaChange};
use crate::i18n::{tr, tr_f, tr_n};
use crate::vm::domain::{child, is_agent_channel, parse, DiskInfo, Domain, AGENT_CHANNEL};
use crate::vm::draft::BootItem;
use crate::vm::edit::{bus_kind, splice, with_line, Bus, Layout, Splice};
use crate::vm::xml::esc;
use crate::vm::{err, VmError};

pub(super) fn root<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Result<Node<'a, 'i>, VmError> {
    let d = doc.root_element();
    if d.has_tag_name("domain") {
        Ok(d)
    } else {
        Err(err("xml", tr("the document is not a <domain>")))
    }
}

pub(super) fn devices<'a, 'i>(d: Node<'a, 'i>) -> Result<Node<'a, 'i>, VmError> {
    child(d, "devices").ok_or_else(|| err("xml", tr("the domain has no <devices>")))
}

/// Removing an element with its line.
pub(super) fn cut(xml: &str, n: Node) -> Splice {
    Splice {
        at: with_line(xml, n.range()),
        text: String::new(),
    }
}

/// Sets an attribute: its value where it is, else added after the last one.
pub(super) fn set_attr(xml: &str, n: Node, name: &str, value: &str) -> Splice {
    if let Some(a) = n.attributes().find(|a| a.name() == name) {
        return Splice {
            at: a.range_value(),
            text: esc(value),
        };
    }
    let start = n.range().start + 1;
    let at = n
        .attributes()
        .next_back()
        .map(|a| a.range().end)
        .unwrap_or_else(|| {
            start
                + xml[start..]
                    .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                    .unwrap_or(0)
        });
    Splice {
        at: at..at,
        text: format!(" {name}='{}'", esc(value)),
    }
}

/// Replaces an element's text.
fn set_text(n: Node, value: &str) -> Result<Splice, VmError> {
    let t = n.first_child().filter(|c| c.is_text()).ok_or_else(|| {
        err(
            n.tag_name().name(),
            tr("the element has no value to change"),
        )
    })?;
    Ok(Splice {
        at: t.range(),
        text: value.to_string(),
    })
}

/// Where an element's content ends: before the line of its closing tag.
pub(super) fn content_end(xml: &str, n: Node) -> Option<usize> {
    let r = n.range();
    if xml[r.clone()].ends_with("/>") {
        return None;
    }
    let close = r.start + xml[r].rfind("</")?;
    let ls = xml[..close].rfind('\n').map_or(close, |i| i + 1);
    Some(if xml[ls..close].trim().is_empty() {
        ls
    } else {
        close
    })
}

/// The indentation of an element's line.
pub(super) fn indent_of(xml: &str, n: Node) -> String {
    let s = n.range().start;
    let ls = xml[..s].rfind('\n').map_or(0, |i| i + 1);
    let pad = &xml[ls..s];
    if pad.trim().is_empty() {
        pad.to_string()
    } else {
        String::new()
    }
}

/// Appends `inner` (one element, without indentation) as the last child of `n`.
pub(super) fn append(xml: &str, n: Node, inner: &str) -> Splice {
    let pad = indent_of(xml, n);
    match content_end(xml, n) {
        Some(at) if xml[..at].ends_with('\n') => Splice {
            at: at..at,
            text: format!("{pad}  {inner}\n"),
        },
        Some(at) => Splice {
            at: at..at,
            text: inner.to_string(),
        },
        None => {
            let open = &xml[n.range().start..n.range().end - 2];
            let name = n.tag_name().name();
            Splice {
                at: n.range(),
                text: format!("{}>{inner}</{name}>", open.trim_end()),
            }
        }
    }
}

pub(super) fn memory(xml: &str, kib: u64) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    if child(d, "cpu").and_then(|c| child(c, "numa")).is_some() {
        return Err(err("memory", tr("this VM splits its memory into NUMA cells (<cpu><numa>); change them with virsh edit")));
    }
    if let Some(max) = child(d, "maxMemory") {
        let max_kib =
            crate::vm::number::memory_kib(max.text().unwrap_or(""), max.attribute("unit"));
        if max_kib.is_some_and(|m| kib > m) {
            return Err(err(
                "memory",
                tr("that is more than the VM's <maxMemory>; raise it with virsh edit first"),
            ));
        }
    }
    let mem = child(d, "memory").ok_or_else(|| err("memory", tr("the domain has no <memory>")))?;
    let mut s = vec![];
    for n in [Some(mem), child(d, "currentMemory")].into_iter().flatten() {
        s.push(set_text(n, &kib.to_string())?);
        if n.attribute("unit").is_some() {
            s.push(set_attr(xml, n, "unit", "KiB"));
        }
    }
    Ok(splice(xml, s))
}

pub(super) fn vcpus(xml: &str, n: u32) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    if child(d, "vcpus").is_some() {
        return Err(err(
            "vcpus",
            tr("this VM lists its vCPUs one by one (<vcpus>); change them with virsh edit"),
        ));
    }
    let vcpu = child(d, "vcpu").ok_or_else(|| err("vcpus", tr("the domain has no <vcpu>")))?;
    let mut s = vec![set_text(vcpu, &n.to_string())?];
    if vcpu
        .attribute("current")
        .and_then(|c| c.parse::<u32>().ok())
        .is_some_and(|c| c > n)
    {
        s.push(set_attr(xml, vcpu, "current", &n.to_string()));
    }
    // Pins of vCPUs the VM no longer has go; the others stay.
    if let Some(tune) = child(d, "cputune") {
        for p in tune.children().filter(|c| c.has_tag_name("vcpupin")) {
            if p.attribute("vcpu")
                .and_then(crate::vm::number::prop_uint)
                .is_some_and(|v| v >= n)
            {
                s.push(cut(xml, p));
            }
        }
    }
    if let Some(t) = child(d, "cpu").and_then(|c| child(c, "topology")) {
        s.push(topology(xml, t, n)?);
    }
    Ok(splice(xml, s))
}

/// Pins the vCPUs by the plan (its topology where the domain states one), or unpins them.
pub(super) fn pinning(xml: &str, p: &super::Pinning) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let vcpu = child(d, "vcpu").ok_or_else(|| err("pin", tr("the domain has no <vcpu>")))?;
    let tune = child(d, "cputune");
    let mut s = vec![];
    let pins = |n: Node| n.has_tag_name("vcpupin") || n.has_tag_name("emulatorpin");
    if let Some(t) = tune {
        s.extend(t.children().filter(|c| pins(*c)).map(|c| cut(xml, c)));
    }
    let super::Pinning::To(plan) = p else {
        return Ok(splice(xml, s));
    };
    let n: u32 = vcpu.text().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    if plan.vcpu_pins.len() as u32 != n {
        return Err(err(
            "pin",
            tr_n(
                "the plan pins {n} vCPU and the VM has {vm}: change the vCPUs with it",
                "the plan pins {n} vCPUs and the VM has {vm}: change the vCPUs with it",
                plan.vcpu_pins.len() as u64,
                &[("vm", &n.to_string())],
            ),
        ));
    }
    let mut lines: Vec<String> = plan
        .vcpu_pins
        .iter()
        .map(|(v, c)| format!("<vcpupin vcpu='{v}' cpuset='{c}'/>"))
        .collect();
    lines.push(format!(
        "<emulatorpin cpuset='{}'/>",
        esc(&plan.emulator_cpuset)
    ));
    let pad = indent_of(xml, vcpu);
    match tune {
        Some(t) => {
            let pad = indent_of(xml, t);
            s.push(append(xml, t, &lines.join(&format!("\n{pad}  "))));
        }
        None => {
            let inner: String = lines.iter().map(|l| format!("\n{pad}  {l}")).collect();
            let at = vcpu.range().end;
            s.push(Splice {
                at: at..at,
                text: format!("\n{pad}<cputune>{inner}\n{pad}</cputune>"),
            });
        }
    }
    if let Some(t) = child(d, "cpu").and_then(|c| child(c, "topology")) {
        let tp = plan.topology;
        for (k, v) in [
            ("sockets", tp.sockets),
            ("cores", tp.cores),
            ("threads", tp.threads),
        ] {
            s.push(set_attr(xml, t, k, &v.to_string()));
        }
        for k in ["dies", "clusters"] {
            if t.attribute(k).is_some() {
                s.push(set_attr(xml, t, k, "1"));
            }
        }
    }
    Ok(splice(xml, s))
}

/// The topology's cores for `n` vCPUs, its sockets, dies, clusters and threads kept.
fn topology(xml: &str, t: Node, n: u32) -> Result<Splice, VmError> {
    let get = |k: &str| {
        t.attribute(k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(1)
    };
    let others = ["sockets", "dies", "clusters", "threads"]
        .iter()
        .map(|k| get(k))
        .product::<u32>()
        .max(1);
    if !n.is_multiple_of(others) {
        return Err(err(
            "vcpus",
            tr_n(
                "the VM's CPU topology has {n} thread per core and socket, so its vCPUs must be a multiple of {n}",
                "the VM's CPU topology has {n} threads per core and socket, so its vCPUs must be a multiple of {n}",
                others.into(),
                &[],
            ),
        ));
    }
    Ok(set_attr(xml, t, "cores", &(n / others).to_string()))
}

/// Which CD-ROM is the install ISO (the one that boots first, else the first) and which the
/// drivers' (the first other one), as indexes into `cdroms`.
pub(super) fn cdrom_roles(cdroms: &[DiskInfo]) -> (Option<usize>, Option<usize>) {
    let install = cdroms
        .iter()
        .enumerate()
        .filter(|(_, c)| c.boot_order.is_some())
        .min_by_key(|(_, c)| c.boot_order)
        .map(|(i, _)| i)
        .or((!cdroms.is_empty()).then_some(0));
    let drivers = (0..cdroms.len()).find(|i| Some(*i) != install);
    (install, drivers)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Install,
    Drivers,
}

fn cdrom_nodes<'a, 'i>(devs: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    devs.children()
        .filter(|c| c.has_tag_name("disk") && c.attribute("device") == Some("cdrom"))
        .collect()
}

pub(super) fn media(xml: &str, role: Role, m: &Media) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let devs = devices(d)?;
    let dom = Domain::from_node(d)?;
    let (install, drivers) = cdrom_roles(&dom.cdroms);
    let at = match role {
        Role::Install => install,
        Role::Drivers => drivers,
    };
    let nodes = cdrom_nodes(devs);
    let Some(drive) = at.and_then(|i| nodes.get(i).copied()) else {
        return match m {
            Media::Eject => Ok(xml.to_string()),
            Media::Insert(_) if role == Role::Drivers && install.is_none() => Err(err(
                "virtio-iso",
                tr("the VM has no CD-ROM drive yet: give it the install ISO first (its first drive), then the driver ISO"),
            )),
            Media::Insert(p) => Ok(splice(xml, vec![new_cdrom(xml, d, &dom, p)?])),
        };
    };
    let source = child(drive, "source");
    let mut s = vec![];
    match m {
        Media::Eject => s.extend(source.map(|n| cut(xml, n))),
        Media::Insert(p) => {
            let el = format!("<source file='{}'/>", esc(p));
            match source {
                Some(n) => s.push(Splice {
                    at: n.range(),
                    text: el,
                }),
                None => s.push(insert_before_target(xml, drive, &el)?),
            }
            if drive.attribute("type") != Some("file") {
                s.push(set_attr(xml, drive, "type", "file"));
            }
        }
    }
    Ok(splice(xml, s))
}

fn insert_before_target(xml: &str, drive: Node, el: &str) -> Result<Splice, VmError> {
    let target = child(drive, "target")
        .ok_or_else(|| err("cdrom", tr("the CD-ROM drive has no <target>")))?;
    let pad = indent_of(xml, target);
    let at = with_line(xml, target.range()).start;
    let text = if pad.is_empty() {
        el.to_string()
    } else {
        format!("{pad}{el}\n")
    };
    Ok(Splice { at: at..at, text })
}

/// The first target `prefix`a, `prefix`b… (up to `max` letters) no drive of `dom` has.
fn free_target(dom: &Domain, prefix: &str, max: u8) -> Result<String, VmError> {
    let taken: Vec<&str> = dom
        .disks
        .iter()
        .chain(&dom.cdroms)
        .filter_map(|c| c.target.as_deref())
        .collect();
    (b'a'..b'a' + max)
        .map(|c| format!("{prefix}{}", c as char))
        .find(|t| !taken.contains(&t.as_str()))
        .ok_or_else(|| {
            err(
                "disk",
                tr("the VM has no free drive letter for another drive"),
            )
        })
}

/// `lines` (a new drive) after the VM's last drive, indented as its devices are.
fn add_drive(xml: &str, d: Node, lines: &[String]) -> Result<Splice, VmError> {
    let devs = devices(d)?;
    let l = Layout::of(xml, devs);
    let at = l.after_last(xml, devs, "disk").unwrap_or(l.before_close);
    Ok(Splice {
        at: at..at,
        text: indented(&l, lines),
    })
}

/// `lines` (two spaces a level) in the layout's indentation, each ending its line.
pub(super) fn indented(l: &Layout, lines: &[impl AsRef<str>]) -> String {
    lines
        .iter()
        .map(|line| {
            let line = line.as_ref();
            let depth = line.len() - line.trim_start().len();
            format!(
                "{}{}{}\n",
                l.indent,
                l.unit.repeat(depth / 2),
                line.trim_start()
            )
        })
        .collect()
}

/// A new CD-ROM drive with `iso`, on the bus of the VM's other CD-ROMs (else SATA on q35, IDE
/// on i440fx), at the first free target, after the last drive.
fn new_cdrom(xml: &str, d: Node, dom: &Domain, iso: &str) -> Result<Splice, VmError> {
    let bus = match dom.cdroms.iter().find_map(|c| c.bus.clone()) {
        Some(b) => b,
        None if bus_kind(dom)? == Bus::Pcie => "sata".into(),
        None => "ide".into(),
    };
    let (prefix, max) = match bus.as_str() {
        "ide" => ("hd", 4),
        "sata" | "scsi" => ("sd", 26),
        _ => {
            return Err(err(
                "cdrom",
                tr_f("Passage adds CD-ROM drives on SATA, SCSI or IDE, and this VM's are on {bus}: add one with virt-manager", &[("bus", &bus)]),
            ))
        }
    };
    let dev = free_target(dom, prefix, max)?;
    add_drive(
        xml,
        d,
        &[
            "<disk type='file' device='cdrom'>".into(),
            "  <driver name='qemu' type='raw'/>".into(),
            format!("  <source file='{}'/>", esc(iso)),
            format!("  <target dev='{dev}' bus='{bus}'/>"),
            "  <readonly/>".into(),
            "</disk>".into(),
        ],
    )
}

/// A new virtio disk (the wizard's disk element) at the first free `vd` target, on the volume
/// of `pool` that `volume` names from the domain's name and the target; returns the domain and
/// the volume's name.
pub(super) fn add_disk(
    xml: &str,
    pool: &str,
    volume: impl Fn(&str, &str) -> String,
    raw: bool,
) -> Result<(String, String), VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let dom = Domain::from_node(d)?;
    let dev = free_target(&dom, "vd", 26)?;
    let volume = volume(&dom.name, &dev);
    let fmt = if raw { "raw" } else { "qcow2" };
    let s = add_drive(
        xml,
        d,
        &[
            "<disk type='volume' device='disk'>".into(),
            format!(
                "  <driver name='qemu' type='{fmt}' cache='none' io='native' discard='unmap'/>"
            ),
            format!("  <source pool='{}' volume='{}'/>", esc(pool), esc(&volume)),
            format!("  <target dev='{dev}' bus='virtio'/>"),
            "</disk>".into(),
        ],
    )?;
    Ok((splice(xml, vec![s]), volume))
}

/// The domain without its disk at `target` (the image stays).
pub(super) fn remove_disk(xml: &str, target: &str) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let disk = devs.children().find(|c| {
        c.has_tag_name("disk")
            && c.attribute("device") != Some("cdrom")
            && child(*c, "target").and_then(|t| t.attribute("dev")) == Some(target)
    });
    let disk = disk.ok_or_else(|| {
        err(
            "disk",
            tr_f(
                "the VM has no disk {t}; `passagectl vm show` lists its disks",
                &[("t", target)],
            ),
        )
    })?;
    Ok(splice(xml, vec![cut(xml, disk)]))
}

/// The CD-ROMs of `after` whose element differs from `before`'s drive on the same target.
pub(super) fn changed_cdroms(before: &str, after: &str) -> Result<Vec<MediaChange>, VmError> {
    let (b, a) = (parse(before)?, parse(after)?);
    let target = |n: Node| {
        child(n, "target")
            .and_then(|t| t.attribute("dev"))
            .map(str::to_string)
    };
    let old: Vec<(Option<String>, &str)> = cdrom_nodes(devices(root(&b)?)?)
        .into_iter()
        .map(|n| (target(n), &before[n.range()]))
        .collect();
    let mut out = vec![];
    for n in cdrom_nodes(devices(root(&a)?)?) {
        let t = target(n);
        let text = &after[n.range()];
        let was = old.iter().find(|(ot, _)| *ot == t).map(|(_, x)| *x);
        if let (Some(t), Some(was)) = (t, was) {
            if was != text {
                out.push(MediaChange {
                    target: t,
                    element: text.to_string(),
                });
            }
        }
    }
    Ok(out)
}

pub(super) fn secure_boot(xml: &str, on: bool) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let dom = Domain::from_node(d)?;
    let os = child(d, "os").ok_or_else(|| err("secure-boot", tr("the domain has no <os>")))?;
    if bus_kind(&dom).ok() != Some(Bus::Pcie) {
        return Err(err("secure-boot", tr("Secure Boot needs a q35 machine with UEFI, and this VM is not one; make a new VM for it")));
    }
    if os.attribute("firmware") != Some("efi") {
        return Err(err("secure-boot", tr("this VM does not let libvirt choose its UEFI firmware (<os firmware='efi'>): it names a firmware file or boots BIOS; choose a Secure Boot firmware with virt-manager")));
    }
    if child(os, "loader").is_some() {
        return Err(err("secure-boot", tr("this VM names its firmware loader (<loader>); choose a Secure Boot firmware with virt-manager")));
    }
    let yn = if on { "yes" } else { "no" };
    let mut s = vec![];
    match child(os, "firmware") {
        Some(fw) => {
            for name in ["enrolled-keys", "secure-boot"] {
                let f = fw
                    .children()
                    .find(|c| c.has_tag_name("feature") && c.attribute("name") == Some(name));
                match f {
                    Some(f) => s.push(set_attr(xml, f, "enabled", yn)),
                    None => s.push(append(
                        xml,
                        fw,
                        &format!("<feature enabled='{yn}' name='{name}'/>"),
                    )),
                }
            }
        }
        None => {
            let ty = child(os, "type")
                .ok_or_else(|| err("secure-boot", tr("the domain has no <os><type>")))?;
            let pad = indent_of(xml, ty);
            let at = ty.range().end;
            s.push(Splice {
                at: at..at,
                text: format!("\n{pad}<firmware>\n{pad}  <feature enabled='{yn}' name='enrolled-keys'/>\n{pad}  <feature enabled='{yn}' name='secure-boot'/>\n{pad}</firmware>"),
            });
        }
    }
    if on {
        s.extend(smm_on(xml, d, os));
    }
    Ok(splice(xml, s))
}

/// `<smm state='on'/>` in `<features>` (Secure Boot needs it).
fn smm_on(xml: &str, d: Node, os: Node) -> Option<Splice> {
    match child(d, "features") {
        Some(f) => match child(f, "smm") {
            Some(smm) if smm.attribute("state") == Some("on") => None,
            Some(smm) => Some(set_attr(xml, smm, "state", "on")),
            None => Some(append(xml, f, "<smm state='on'/>")),
        },
        None => {
            let pad = indent_of(xml, os);
            let at = os.range().end;
            Some(Splice {
                at: at..at,
                text: format!("\n{pad}<features>\n{pad}  <smm state='on'/>\n{pad}</features>"),
            })
        }
    }
}

/// Adds `text` (whole lines, from the layout's indent) before `</devices>`.
pub(super) fn add_devices(xml: &str, devs: Node, lines: &[&str]) -> Splice {
    let l = Layout::of(xml, devs);
    let text = indented(&l, lines);
    Splice {
        at: l.before_close..l.before_close,
        text,
    }
}

pub(super) fn tpm(xml: &str, on: bool) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let have: Vec<Node> = devs.children().filter(|c| c.has_tag_name("tpm")).collect();
    let s = match (on, have.is_empty()) {
        (true, true) => vec![add_devices(
            xml,
            devs,
            &[
                "<tpm model='tpm-crb'>",
                "  <backend type='emulator' version='2.0'/>",
                "</tpm>",
            ],
        )],
        (false, false) => have.into_iter().map(|n| cut(xml, n)).collect(),
        _ => vec![],
    };
    Ok(splice(xml, s))
}

/// Adds the QEMU guest agent's channel (libvirt picks its socket and adds the virtio-serial
/// controller), or takes it out; a channel already there stays as it is.
pub(super) fn guest_agent(xml: &str, on: bool) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let have: Vec<Node> = devs.children().filter(|c| is_agent_channel(*c)).collect();
    let s = match (on, have.is_empty()) {
        (true, true) => vec![add_devices(
            xml,
            devs,
            &[
                "<channel type='unix'>",
                &format!("  <target type='virtio' name='{AGENT_CHANNEL}'/>"),
                "</channel>",
            ],
        )],
        (false, false) => have.into_iter().map(|n| cut(xml, n)).collect(),
        _ => vec![],
    };
    Ok(splice(xml, s))
}

/// Whether a device belongs to a SPICE display: its graphics, and the channels, USB
/// redirection and audio that go through it.
fn spice_part(n: Node) -> bool {
    let ty = n.attribute("type");
    match n.tag_name().name() {
        "graphics" | "audio" => ty == Some("spice"),
        "channel" | "redirdev" => ty == Some("spicevmc"),
        _ => false,
    }
}

pub(super) fn spice(xml: &str, on: bool) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let devs = devices(root(&doc)?)?;
    let mut s = vec![];
    if !on {
        s.extend(
            devs.children()
                .filter(|c| spice_part(*c))
                .map(|n| cut(xml, n)),
        );
        return Ok(splice(xml, s));
    }
    let has = |tag: &str, ty: &str| {
        devs.children()
            .any(|c| c.has_tag_name(tag) && c.attribute("type") == Some(ty))
    };
    let mut lines: Vec<&str> = vec![];
    if !has("graphics", "spice") {
        lines.extend([
            "<graphics type='spice' autoport='yes'>",
            "  <listen type='address'/>",
            "  <image compression='off'/>",
            "</graphics>",
        ]);
    }
    let vga = [
        "<video>",
        "  <model type='vga' vram='16384' heads='1' primary='yes'/>",
        "</video>",
    ];
    let videos: Vec<Node> = devs
        .children()
        .filter(|c| c.has_tag_name("video"))
        .collect();
    let no_video = |v: &Node| child(*v, "model").and_then(|m| m.attribute("type")) == Some("none");
    if videos.is_empty() {
        lines.extend(vga);
    } else if videos.iter().all(no_video) {
        // A VM with `<model type='none'/>` has no screen for SPICE: it gets a VGA one.
        s.extend(videos.iter().map(|v| cut(xml, *v)));
        lines.extend(vga);
    }
    if !has("channel", "spicevmc") {
        lines.extend([
            "<channel type='spicevmc'>",
            "  <target type='virtio' name='com.redhat.spice.0'/>",
            "</channel>",
        ]);
    }
    if !lines.is_empty() {
        s.push(add_devices(xml, devs, &lines));
    }
    Ok(splice(xml, s))
}

/// Sets the boot order: the items in `order` boot first first (the install ISO's drive, the
/// first disk, passed-through PCI devices), the other drives lose theirs, and `<os><boot>`
/// goes (libvirt refuses both kinds in one domain). A device outside `order` that boots
/// (a network card, another disk) is refused: name it in the order, or change it in virsh.
pub(super) fn boot(xml: &str, order: &[BootItem]) -> Result<String, VmError> {
    let doc = parse(xml)?;
    let d = root(&doc)?;
    let dom = Domain::from_node(d)?;
    let devs = devices(d)?;
    let (install, _) = cdrom_roles(&dom.cdroms);
    let cdroms = cdrom_nodes(devs);
    let iso = install.and_then(|i| cdroms.get(i).copied());
    let disk = devs
        .children()
        .find(|c| c.has_tag_name("disk") && c.attribute("device").unwrap_or("disk") == "disk");
    let host_of = |n: Node| {
        let a = child(child(n, "source")?, "address")?;
        let g = |k: &str| a.attribute(k).and_then(crate::vm::number::prop_uint);
        Some((
            g("domain").unwrap_or(0),
            g("bus")?,
            g("slot")?,
            g("function")?,
        ))
    };
    let mut chosen: Vec<Node> = vec![];
    for item in order {
        let n = match item {
            BootItem::InstallIso => iso,
            BootItem::Disk => disk,
            BootItem::Pci(a) => devs.children().find(|c| {
                c.has_tag_name("hostdev")
                    && host_of(*c)
                        == Some((
                            a.domain.into(),
                            a.bus.into(),
                            a.slot.into(),
                            a.function.into(),
                        ))
            }),
        };
        let n = n.ok_or_else(|| {
            err(
                "boot",
                tr_f("the VM has no {item} to boot from", &[("item", &item.id())]),
            )
        })?;
        if !chosen.contains(&n) {
            chosen.push(n);
        }
    }
    let mut s = vec![];
    for n in devs.children().filter(|c| c.is_element()) {
        let Some(b) = child(n, "boot") else { continue };
        if chosen.contains(&n) {
            continue;
        }
        let drive = n.has_tag_name("disk")
            && (Some(n) == iso || Some(n) == disk || n.attribute("device") == Some("cdrom"));
        if !drive {
            return Err(err("boot", tr_f("the VM's {dev} boots too (<boot order>); change it with virsh edit, or put only the ISO, the disk and PCI devices in the order", &[("dev", n.tag_name().name())])));
        }
        s.push(cut(xml, b));
    }
    for (k, n) in chosen.iter().enumerate() {
        let nr = (k + 1).to_string();
        match child(*n, "boot") {
            Some(b) => s.push(set_attr(xml, b, "order", &nr)),
            None => s.push(append(xml, *n, &format!("<boot order='{nr}'/>"))),
        }
    }
    if let Some(os) = child(d, "os") {
        s.extend(
            os.children()
                .filter(|c| c.has_tag_name("boot"))
                .map(|n| cut(xml, n)),
        );
    }
    Ok(splice(xml, s))
}
