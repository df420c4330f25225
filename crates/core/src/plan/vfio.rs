//! Binding devices to vfio-pci from boot on: modprobe.d, the initramfs, and — where the host
//! keeps a device with the same IDs — a udev rule that binds by address instead.

use crate::host::initramfs::InitramfsKind;
use crate::host::iommu::is_vm_driver;
use crate::host::kernel::same_key;
use crate::host::{Allow, Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::plan::args::Arg;
use crate::plan::mkinitcpio::{self, sets_modules, Form};
use crate::plan::{change, push_line, read_text, Plan, PlanError, Step};
use crate::root::Root;

pub const MODPROBE_FILE: &str = "/etc/modprobe.d/passage-vfio.conf";
pub const UDEV_FILE: &str = "/etc/udev/rules.d/61-passage-vfio.rules";
pub const DRACUT_FILE: &str = "/etc/dracut.conf.d/10-passage-vfio.conf";

/// The module behind a PCI driver: sysfs's `module` link, else the usual names.
pub(crate) fn module_of(root: &Root, driver: &str) -> String {
    if let Some(m) = root.link_name(&format!("/sys/bus/pci/drivers/{driver}/module")) {
        return m;
    }
    match driver {
        "xhci_hcd" => "xhci_pci".into(),
        "nvidia-gpu" => "i2c_nvidia_gpu".into(),
        "ehci-pci" => "ehci_pci".into(),
        other => other.replace('-', "_"),
    }
}

/// The vfio modules the initramfs needs, for this kernel.
pub(crate) fn modules(host: &Host) -> Vec<&'static str> {
    let mut m = vec!["vfio_pci", "vfio", "vfio_iommu_type1"];
    // vfio_virqfd was folded into vfio in Linux 6.2.
    if host.kernel.version().is_some_and(|v| v < (6, 2)) {
        m.push("vfio_virqfd");
    }
    m
}

/// The group guard of a plan: [`Host::may_take`] with exactly `devices`; a group holding
/// what the host needs only with `allow_host` (an explicit override the caller was also
/// authorized for).
pub fn check_group(host: &Host, devices: &[PciAddress], allow_host: bool) -> Result<(), PlanError> {
    host.may_take(devices, Allow::exact(allow_host))
        .map(drop)
        .map_err(|r| PlanError::Device(r.words(host)))
}

pub fn plan(root: &Root, host: &Host, devices: &[PciAddress]) -> Result<Plan, PlanError> {
    plan_with_args(root, host, devices, &[])
}

/// Whether binding at boot goes through the kernel command line here (booster builds the
/// initramfs), so it edits the boot loader's files.
pub(crate) fn binds_on_command_line(host: &Host) -> bool {
    host.initramfs_config
        .as_ref()
        .is_some_and(|i| i.kind == InitramfsKind::Booster)
}

/// [`plan`] with `args` (already checked) planned in the same command-line edit where binding
/// goes through the command line: two plans of one file made from the same bytes would not
/// compose, so [`super::for_gpu`] plans the IOMMU's arguments here.
pub(crate) fn plan_with_args(
    root: &Root,
    host: &Host,
    devices: &[PciAddress],
    args: &[Arg],
) -> Result<Plan, PlanError> {
    check_group(host, devices, false)?;
    let chosen: Vec<_> = devices.iter().filter_map(|a| host.device(*a)).collect();
    let mut ids: Vec<String> = chosen.iter().map(|d| d.id_pair()).collect();
    ids.sort();
    ids.dedup();
    // Another device with one of these IDs stays with the host: bind by address.
    let clash: Vec<String> = host
        .pci_devices
        .iter()
        .filter(|o| !devices.contains(&o.address) && !o.is_bridge() && ids.contains(&o.id_pair()))
        .map(|o| o.address.to_string())
        .collect();
    let mut drivers: Vec<String> = chosen
        .iter()
        .filter_map(|d| d.driver.as_deref())
        .filter(|d| !is_vm_driver(d))
        .map(|d| module_of(root, d))
        .collect();
    drivers.sort();
    drivers.dedup();

    let mut plan = if binds_on_command_line(host) {
        super::booster::plan(root, host, devices, &ids, &clash, &modules(host), args)?
    } else {
        by_modprobe(root, host, devices, &ids, &clash, &drivers)?
    };
    // The way back from a black screen comes with the change that could cause one.
    if !plan.changes.is_empty() {
        plan.merge(super::fallback::plan(root, host)?);
    }
    Ok(plan)
}

/// Binding at boot through modprobe.d (and a udev rule where binding by address), with the
/// vfio modules in the initramfs.
fn by_modprobe(
    root: &Root,
    host: &Host,
    devices: &[PciAddress],
    ids: &[String],
    clash: &[String],
    drivers: &[String],
) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    if !clash.is_empty() {
        plan.notes.push(tr_f(
            "{devs} has the same vendor:device IDs as a device going to the VM, so Passage binds by PCI address (a udev rule) instead of by ID.",
            &[("devs", &clash.join(", "))],
        ));
    }
    let by_id = clash.is_empty().then_some(ids);
    let text = modprobe_conf(by_id, clash, drivers);
    let before = read_text(root, MODPROBE_FILE)?;
    plan.changes.extend(change(
        MODPROBE_FILE,
        before.as_ref().map(|b| b.0.as_slice()),
        Some(text.into_bytes()),
        tr_f(
            "vfio-pci takes {devs} at boot",
            &[(
                "devs",
                &devices
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )],
        ),
    ));
    let udev_before = read_text(root, UDEV_FILE)?;
    let udev_after = (!clash.is_empty()).then(|| udev_rules(devices).into_bytes());
    plan.changes.extend(change(
        UDEV_FILE,
        udev_before.as_ref().map(|b| b.0.as_slice()),
        udev_after,
        tr("bind by PCI address at boot"),
    ));

    for line in &host.vfio.modprobe_lines {
        if line.file != MODPROBE_FILE && line.line.starts_with("options") {
            plan.notes.push(tr_f(
                "{file} already sets “{line}”; both apply, so check they agree.",
                &[("file", &line.file), ("line", &line.line)],
            ));
        }
    }
    initramfs(root, host, !clash.is_empty(), &mut plan)?;
    Ok(plan)
}

/// The kernel argument that switches all of Passage's boot-time binding off for one boot: the
/// boot menu's entry without GPU passthrough carries it.
pub const SWITCH_OFF: &str = "passage.vfio=off";

const HEADER: &str =
    "# Written by Passage: these devices go to vfio-pci at boot, before their usual drivers.\n\
# Booting with passage.vfio=off (the boot menu's entry without GPU passthrough) leaves them to\n\
# their own drivers. Undo it from Passage (History) rather than by hand.\n";

/// modprobe.d: vfio-pci takes `ids` when it loads, unless the kernel command line holds
/// [`SWITCH_OFF`], and loads before the cards' own drivers. The IDs live in an `install`
/// command, not an `options` line, because modprobe applies options unconditionally; the
/// command runs in whatever shell the initramfs has, so it uses only POSIX `read` and `case`.
pub fn modprobe_conf(ids: Option<&[String]>, clash: &[String], drivers: &[String]) -> String {
    let mut text = String::from(HEADER);
    match ids {
        Some(ids) => text.push_str(&format!(
            "install vfio-pci read -r c < /proc/cmdline; case \" $c \" in *\" {SWITCH_OFF} \"*) exec /sbin/modprobe --ignore-install vfio-pci $CMDLINE_OPTS;; esac; exec /sbin/modprobe --ignore-install vfio-pci ids={} $CMDLINE_OPTS\n",
            ids.join(",")
        )),
        None => text.push_str(&format!(
            "# Bound by address (see {UDEV_FILE}): {} has the same IDs and stays with the host.\n",
            clash.join(", ")
        )),
    }
    for m in drivers {
        text.push_str(&format!("softdep {m} pre: vfio-pci\n"));
    }
    text
}

/// udev: `devices` get vfio-pci as their driver_override when they appear (before
/// 80-drivers.rules loads their drivers), unless the kernel command line holds [`SWITCH_OFF`].
pub fn udev_rules(devices: &[PciAddress]) -> String {
    let mut r = String::from(
        "# Written by Passage: bind these devices to vfio-pci by address (the host keeps identical ones).\n\
# Booting with passage.vfio=off skips them. Undo it from Passage (History) rather than by hand.\n\
SUBSYSTEM!=\"pci\", GOTO=\"passage_vfio_end\"\n\
ACTION!=\"add\", GOTO=\"passage_vfio_end\"\n\
IMPORT{cmdline}=\"passage.vfio\"\n\
ENV{passage.vfio}==\"off\", GOTO=\"passage_vfio_end\"\n",
    );
    for a in devices {
        r.push_str(&format!(
            "KERNEL==\"{a}\", ATTR{{driver_override}}=\"vfio-pci\"\n"
        ));
    }
    r.push_str("LABEL=\"passage_vfio_end\"\n");
    r
}

/// Puts the vfio modules into the initramfs, so vfio-pci is there before the GPU's driver;
/// and, when binding `by_address`, the udev rule too, which must act there before the card's
/// own driver (put in the image by dracut's `drm` module or mkinitcpio's `kms` hook) takes it.
/// initramfs-tools copies every rule in /etc/udev/rules.d itself; dracut and mkinitcpio copy
/// only the rules they know, so they are told. booster has a plan of its own (plan::booster).
fn initramfs(root: &Root, host: &Host, by_address: bool, plan: &mut Plan) -> Result<(), PlanError> {
    let init = host
        .initramfs_config
        .as_ref()
        .ok_or(PlanError::NoInitramfs)?;
    let mods = modules(host);
    let summary = tr_f(
        "load {modules} early (initramfs)",
        &[("modules", &mods.join(", "))],
    );
    let mk_path: String;
    let (path, before, after): (&str, Option<Vec<u8>>, String) = match init.kind {
        InitramfsKind::InitramfsTools => {
            let path = "/etc/initramfs-tools/modules";
            let cur = read_text(root, path)?;
            let text = cur.as_ref().map(|c| c.1.clone()).unwrap_or_else(|| {
                "# List of modules that you want to include in your initramfs.\n".into()
            });
            let have: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split('#').next())
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            let need: Vec<&str> = mods
                .iter()
                .copied()
                .filter(|m| !have.iter().any(|h| same_key(h, m)))
                .collect();
            let mut after = text.clone();
            if !need.is_empty() {
                push_line(&mut after, "# Passage: vfio for GPU passthrough\n");
                for m in need {
                    after.push_str(m);
                    after.push('\n');
                }
            }
            (path, cur.map(|c| c.0), after)
        }
        InitramfsKind::Dracut => {
            let cur = read_text(root, DRACUT_FILE)?;
            let mut after = format!("# Written by Passage: vfio for GPU passthrough, loaded first.\nforce_drivers+=\" {} \"\n", mods.join(" "));
            // dracut copies /etc/modprobe.d only into host-only images (90kernel-modules).
            after.push_str(&format!("install_items+=\" {MODPROBE_FILE} \"\n"));
            if by_address {
                after.push_str(&format!("install_items+=\" {UDEV_FILE} \"\n"));
            }
            (DRACUT_FILE, cur.map(|c| c.0), after)
        }
        InitramfsKind::Mkinitcpio => {
            let cfg = super::mkinitcpio::read(root)?;
            // Either form, as long as each setting keeps one.
            mkinitcpio::effective(&cfg.files, "MODULES")?;
            let files_form = mkinitcpio::effective(&cfg.files, "FILES")?.map(|e| e.form);
            let m = cfg.setter_of("MODULES");
            let (path, b, text) = &cfg.files[m];
            let mut after = mkinitcpio(text, &mods).map_err(|why| PlanError::Unparsable {
                path: path.clone(),
                why,
            })?;
            if by_address {
                // After the last `FILES=`, which would drop an earlier `FILES+=`; in the
                // setting's own form (`+=(…)` would make a string the array's first item).
                let line = match files_form {
                    Some(Form::Str) => format!("FILES+=\" {UDEV_FILE}\"\n"),
                    _ => format!("FILES+=({UDEV_FILE})\n"),
                };
                let f = cfg.setter_of("FILES");
                if f > m {
                    let (fpath, fb, ftext) = &cfg.files[f];
                    plan.changes.extend(change(
                        fpath,
                        Some(fb),
                        Some(with_line(ftext, &line).into_bytes()),
                        tr("put the udev rule into the initramfs"),
                    ));
                } else {
                    after = with_line(&after, &line);
                }
            }
            mk_path = path.clone();
            (mk_path.as_str(), Some(b.clone()), after)
        }
        // Planned through the kernel command line instead (see `plan`).
        InitramfsKind::Booster => return Ok(()),
    };
    if let Some(c) = change(path, before.as_deref(), Some(after.into_bytes()), summary) {
        plan.changes.push(c);
    }
    // modprobe.d goes into the initramfs too: any change here needs a rebuild.
    if !plan.changes.is_empty() {
        let argv: Vec<String> = init
            .kind
            .rebuild_command()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        plan.steps.push(Step {
            argv,
            summary: tr("Rebuild the initramfs"),
            undo: None,
        });
    }
    Ok(())
}

/// `text` with `line` at its end, unless it has that line already.
fn with_line(text: &str, line: &str) -> String {
    let mut out = text.to_string();
    if !text.lines().any(|l| l.trim() == line.trim()) {
        push_line(&mut out, line);
    }
    out
}

/// mkinitcpio.conf: the vfio modules first in MODULES, before any GPU driver, in the form it
/// has: `MODULES=(…)`, or a string (`"…"`, `'…'`, a bare word) whose text around the items
/// stays as it was (a later `MODULES+="…"` may count on its trailing space). The file is
/// sourced by bash, so the last `MODULES=` line is the one that counts.
pub fn mkinitcpio(text: &str, mods: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let last = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, l)| sets_modules(l))
        .map(|(i, _)| i)
        .last();
    let mut done = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches('\n');
        if Some(i) == last {
            let (start, end, value) = modules_value(body)?;
            let inner = &body[start..end];
            // A bare word becomes a quoted string: a space would end the assignment.
            let quote = if value == Value::Bare { "\"" } else { "" };
            if value == Value::Array {
                out.push_str(&body[..start]);
                out.push_str(&vfio_first(mods, inner.split_whitespace()).join(" "));
            } else {
                // mkinitcpio splits a string on spaces only (`IFS=' ' read -r -a`).
                let words: Vec<&str> = inner.split(' ').filter(|w| !w.is_empty()).collect();
                let lead = &inner[..inner.len() - inner.trim_start_matches(' ').len()];
                let trail = &inner[inner.trim_end_matches(' ').len()..];
                out.push_str(&body[..start]);
                out.push_str(quote);
                out.push_str(lead);
                out.push_str(&vfio_first(mods, words.into_iter()).join(" "));
                if !inner.trim_matches(' ').is_empty() || trail.is_empty() {
                    out.push_str(trail);
                }
                out.push_str(quote);
            }
            out.push_str(&body[end..]);
            if line.ends_with('\n') {
                out.push('\n');
            }
            done = true;
        } else {
            out.push_str(line);
        }
    }
    if !done {
        push_line(&mut out, &format!("MODULES=({})\n", mods.join(" ")));
    }
    Ok(out)
}

/// How a `MODULES=` value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Array,
    Quoted,
    /// A string without quotes (`MODULES=`, `MODULES=nvidia`).
    Bare,
}

/// Where the items of a `MODULES=` line are (`start..end` of the line) and how it is written.
fn modules_value(body: &str) -> Result<(usize, usize, Value), String> {
    let eq = body.find('=').ok_or("MODULES has no value")? + 1;
    let (open, close, value) = match body[eq..].chars().next() {
        Some('(') => ('(', ')', Value::Array),
        Some(q @ ('"' | '\'')) => (q, q, Value::Quoted),
        _ => {
            let end = body[eq..]
                .find([' ', '\t', ';'])
                .map_or(body.len(), |i| eq + i);
            let bare = &body[eq..end];
            if bare.contains(['$', '`', '\\']) {
                return Err(tr("MODULES is computed"));
            }
            return Ok((eq, end, Value::Bare));
        }
    };
    let start = eq + open.len_utf8();
    let end = body[start..]
        .find(close)
        .map(|i| start + i)
        .ok_or_else(|| {
            if value == Value::Array {
                tr("MODULES=( must close on the same line")
            } else {
                tr("MODULES' quote must close on the same line")
            }
        })?;
    Ok((start, end, value))
}

/// `mods` first, then the modules already listed that are not among them, in their order.
/// Module names compare as the kernel compares them (`vfio-pci` is `vfio_pci`), and a module
/// already listed keeps the user's spelling.
fn vfio_first<'a>(mods: &[&'a str], cur: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let cur: Vec<&str> = cur.collect();
    let mut new: Vec<&str> = mods
        .iter()
        .map(|m| *cur.iter().find(|c| same_key(c, m)).unwrap_or(m))
        .collect();
    new.extend(cur.iter().filter(|c| !mods.iter().any(|m| same_key(c, m))));
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mkinitcpio_puts_vfio_first_once() {
        let t = "# vim:set ft=sh\nMODULES=(amdgpu)\nHOOKS=(base udev)\n";
        let m = ["vfio_pci", "vfio", "vfio_iommu_type1"];
        let out = mkinitcpio(t, &m).unwrap();
        assert_eq!(
            out,
            "# vim:set ft=sh\nMODULES=(vfio_pci vfio vfio_iommu_type1 amdgpu)\nHOOKS=(base udev)\n"
        );
        assert_eq!(mkinitcpio(&out, &m).unwrap(), out);
        assert_eq!(
            mkinitcpio("MODULES=\"nvidia\"\n", &m).unwrap(),
            "MODULES=\"vfio_pci vfio vfio_iommu_type1 nvidia\"\n"
        );
        assert!(mkinitcpio("MODULES=(a\nb)\n", &m).is_err());
    }

    #[test]
    fn mkinitcpio_edits_the_last_modules_line_bash_keeps() {
        let m = ["vfio_pci"];
        let t = "MODULES=(a)\n# later:\nMODULES=(b)\nMODULES+=(c)\n";
        assert_eq!(
            mkinitcpio(t, &m).unwrap(),
            "MODULES=(a)\n# later:\nMODULES=(vfio_pci b)\nMODULES+=(c)\n"
        );
    }

    #[test]
    fn mkinitcpio_strings_keep_their_quoting_and_spaces() {
        let m = ["vfio_pci", "vfio"];
        for (text, want) in [
            ("MODULES=''\n", "MODULES='vfio_pci vfio'\n"),
            ("MODULES='nvme'\n", "MODULES='vfio_pci vfio nvme'\n"),
            (
                "MODULES=\"a vfio \" # keep\n",
                "MODULES=\"vfio_pci vfio a \" # keep\n",
            ),
            ("MODULES=\n", "MODULES=\"vfio_pci vfio\"\n"),
            (
                "MODULES=nvme # gpu\n",
                "MODULES=\"vfio_pci vfio nvme\" # gpu\n",
            ),
        ] {
            let out = mkinitcpio(text, &m).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(out, want, "{text:?}");
        }
        assert!(mkinitcpio("MODULES=\"a\nb\"\n", &m).is_err());
        assert!(mkinitcpio("MODULES=$EXTRA\n", &m).is_err());
    }

    #[test]
    fn a_module_written_with_a_dash_is_the_same_module() {
        let m = ["vfio_pci", "vfio", "vfio_iommu_type1"];
        let t = "MODULES=(amdgpu vfio-pci)\n";
        let out = mkinitcpio(t, &m).unwrap();
        assert_eq!(out, "MODULES=(vfio-pci vfio vfio_iommu_type1 amdgpu)\n");
        assert_eq!(mkinitcpio(&out, &m).unwrap(), out);
    }
}
