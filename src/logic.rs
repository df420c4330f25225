//! What the pages show and decide, without GTK: findings in order, IOMMU groups as rows,
//! choosing a GPU (its whole group, or a refusal with the reason), a plan as rows, and what
//! changed across a restart. The components only turn these into widgets.

use passage_core::check::{self, Finding, FixAction, Report, Severity};
use passage_core::host::{Host, PciAddress};
use passage_core::i18n::{tr, tr_f, tr_n};
use passage_core::plan::Plan;
use serde::{Deserialize, Serialize};

/// The icon and its style class for a severity.
pub fn severity_icon(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Ok => ("emblem-ok-symbolic", "success"),
        Severity::Info => ("dialog-information-symbolic", "accent"),
        Severity::Warning => ("dialog-warning-symbolic", "warning"),
        Severity::Blocker => ("dialog-error-symbolic", "error"),
    }
}

/// What a severity icon says to a screen reader.
pub fn severity_name(s: Severity) -> String {
    match s {
        Severity::Ok => tr("Ready"),
        Severity::Info => tr("Note"),
        Severity::Warning => tr("Warning"),
        Severity::Blocker => tr("Blocks passthrough"),
    }
}

/// Findings, most urgent first, the order of `check` kept within one severity.
pub fn ordered(report: &Report) -> Vec<Finding> {
    let mut f = report.findings.clone();
    f.sort_by_key(|f| std::cmp::Reverse(f.severity));
    f
}

/// One line over the findings: ready, or how many things stand in the way.
pub fn headline(report: &Report) -> (String, Severity) {
    let blockers = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .count();
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    if blockers > 0 {
        (
            tr_n(
                "{n} thing must be fixed before a GPU can be passed through",
                "{n} things must be fixed before a GPU can be passed through",
                blockers as u64,
                &[],
            ),
            Severity::Blocker,
        )
    } else if warnings > 0 {
        (
            tr_n(
                "Ready, with {n} warning",
                "Ready, with {n} warnings",
                warnings as u64,
                &[],
            ),
            Severity::Warning,
        )
    } else {
        (tr("Ready for GPU passthrough"), Severity::Ok)
    }
}

/// *Reserve 8192 MiB*: the amount (short: the button shares its row at 360 px).
pub fn reserve_label(size_kib: u64, count: u64) -> String {
    tr_f(
        "Reserve {mib} MiB",
        &[("mib", &(count * size_kib / 1024).to_string())],
    )
}

/// *As 4096 pages of 2 MiB*: the page size, under the finding's title.
pub fn reserve_pages(size_kib: u64, count: u64) -> String {
    let size = if size_kib >= 1024 * 1024 {
        tr_f("{n} GiB", &[("n", &(size_kib / 1024 / 1024).to_string())])
    } else {
        tr_f("{n} MiB", &[("n", &(size_kib / 1024).to_string())])
    };
    tr_n(
        "As {n} page of {size}",
        "As {n} pages of {size}",
        count,
        &[("size", &size)],
    )
}

/// The label of a finding's Fix button, when Passage can do something about it.
pub fn fix_label(a: &FixAction) -> String {
    match a {
        FixAction::KernelArguments { .. } | FixAction::BindByAddress { .. } => tr("Fix…"),
        FixAction::ReserveHugepages { size_kib, count } => reserve_label(*size_kib, *count),
        FixAction::InstallPackage { .. } => tr("How to Install"),
        FixAction::VendorReset { .. } => tr("Set Up vendor-reset…"),
    }
}

/// A device row of the Devices page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub address: PciAddress,
    pub name: String,
    pub detail: String,
    pub is_gpu: bool,
    pub host_display: bool,
}

/// An IOMMU group as the Devices page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: u32,
    pub title: String,
    pub viable: bool,
    /// Why the group cannot go to a VM (empty when it can).
    pub why_not: Vec<String>,
    /// The group's first GPU, when it has one: choosing the group means choosing it.
    pub gpu: Option<PciAddress>,
    pub host_display: bool,
    /// The group's card is the host's only one, showing the screen: it can go to a VM in the
    /// only-GPU mode (the desktop stops while the VM runs), and in no other.
    pub only_gpu: bool,
    /// What to know about the group's cards, a line each (the AMD reset bug).
    pub card_notes: Vec<String>,
    pub devices: Vec<DeviceRow>,
}

fn device_detail(host: &Host, d: &passage_core::host::PciDevice) -> String {
    let driver = match d.driver.as_deref() {
        Some(drv) => tr_f("driver {driver}", &[("driver", drv)]),
        None => tr("no driver"),
    };
    let reset = if d.reset_methods.is_empty() {
        if d.resettable {
            tr("can be reset")
        } else {
            tr("no reset: the VM may not start twice without a host restart")
        }
    } else {
        tr_f(
            "reset: {methods}",
            &[("methods", &d.reset_methods.join(", "))],
        )
    };
    let mut parts = vec![format!("{} · [{}]", d.address, d.id_pair()), driver, reset];
    if host.is_host_display(d.address) {
        parts.push(tr("shows this computer's screen"));
    }
    parts.join(" · ")
}

/// The groups, those with a GPU first (viable ones before the rest), then the others by id.
pub fn groups(host: &Host) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = host
        .iommu_groups
        .iter()
        .map(|g| {
            let devices: Vec<DeviceRow> = g
                .devices
                .iter()
                .filter_map(|a| host.device(*a))
                .map(|d| DeviceRow {
                    address: d.address,
                    name: d.display_name(),
                    detail: device_detail(host, d),
                    is_gpu: d.is_gpu(),
                    host_display: host.is_host_display(d.address),
                })
                .collect();
            let gpu = devices.iter().find(|d| d.is_gpu).map(|d| d.address);
            let title = match devices.iter().find(|d| d.is_gpu).or(devices.first()) {
                Some(d) => tr_f(
                    "Group {id}: {name}",
                    &[("id", &g.id.to_string()), ("name", &d.name)],
                ),
                None => tr_f("Group {id}", &[("id", &g.id.to_string())]),
            };
            GroupRow {
                id: g.id,
                title,
                viable: g.viable,
                why_not: g
                    .host_needs
                    .iter()
                    .map(|n| check::need_words(host, n))
                    .collect(),
                gpu,
                host_display: devices.iter().any(|d| d.host_display),
                only_gpu: gpu.is_some_and(|a| only_gpu_offered(host, a)),
                card_notes: card_notes(host, &g.devices),
                devices,
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.gpu.is_none(), !r.viable, r.id));
    rows
}

/// Whether `gpu` is the host's only card showing the screen and can go to a VM in the only-GPU
/// mode (core's default-mode rule and its group rule).
fn only_gpu_offered(host: &Host, gpu: PciAddress) -> bool {
    use passage_core::vm::session::GpuMode;
    GpuMode::default_for(host, gpu) == GpuMode::OnlyGpu && choose_card(host, gpu).is_ok()
}

/// The lines the Devices page shows under a group for its cards: the AMD reset bug.
fn card_notes(host: &Host, devices: &[PciAddress]) -> Vec<String> {
    use passage_core::host::reset;
    devices
        .iter()
        .filter_map(|a| host.device(*a))
        .filter_map(|d| reset::card_family(d).map(|f| reset::words(d, f)))
        .collect()
}

pub use passage_core::vm::devices::{choose_card, initial_selection, Selection};

/// A change of the plan, as the Host setup page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub title: String,
    pub subtitle: String,
    pub diff: String,
}

/// The plan as rows: files first (each with its diff), then the commands that run after.
pub fn plan_rows(plan: &Plan) -> Vec<ChangeRow> {
    let mut rows: Vec<ChangeRow> = plan
        .changes
        .iter()
        .map(|c| ChangeRow {
            title: c.path.clone(),
            subtitle: c.summary.clone(),
            diff: c.diff.clone(),
        })
        .collect();
    rows.extend(plan.steps.iter().map(|s| ChangeRow {
        title: s.argv.join(" "),
        subtitle: s.summary.clone(),
        diff: String::new(),
    }));
    rows
}

/// What the System check said before a restart, kept in the settings across it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub boot_id: String,
    pub findings: Vec<(String, Severity, String)>,
}

impl Snapshot {
    pub fn of(boot_id: &str, report: &Report) -> Self {
        Snapshot {
            boot_id: boot_id.to_string(),
            findings: report
                .findings
                .iter()
                .map(|f| (f.id.clone(), f.severity, f.title.clone()))
                .collect(),
        }
    }
}

/// What changed since `before`, in sentences; empty when nothing did or when no restart
/// happened since (the same boot id).
pub fn what_changed(before: &Snapshot, boot_id: &str, now: &Report) -> Vec<String> {
    if before.boot_id == boot_id {
        return vec![];
    }
    let mut out = Vec::new();
    for (id, sev, title) in &before.findings {
        match now.get(id) {
            None if *sev > Severity::Info => {
                out.push(tr_f("No longer: {what}", &[("what", title)]))
            }
            Some(f) if f.severity < *sev => out.push(tr_f("Better: {what}", &[("what", &f.title)])),
            Some(f) if f.severity > *sev => out.push(tr_f("Worse: {what}", &[("what", &f.title)])),
            _ => {}
        }
    }
    for f in &now.findings {
        if f.severity > Severity::Info && !before.findings.iter().any(|(id, ..)| *id == f.id) {
            out.push(tr_f("New: {what}", &[("what", &f.title)]));
        }
    }
    out
}

/// The boot-time change to ask about after a restart: the newest one still applied that was
/// made before this boot started (`boot_time`, Unix seconds) and not kept yet. Rows are
/// `(id, created, verb, applied)`; only the verbs that bind cards at boot count.
pub fn pending_boot_change(
    rows: &[(String, u64, String, bool)],
    boot_time: Option<u64>,
    kept: &[String],
) -> Option<String> {
    let boot_time = boot_time?;
    rows.iter()
        .filter(|(_, _, verb, applied)| {
            *applied && matches!(verb.as_str(), "configure-gpu" | "configure-vfio")
        })
        .filter(|(id, created, ..)| *created < boot_time && !kept.contains(id))
        .max_by_key(|(_, created, ..)| *created)
        .map(|(id, ..)| id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_change_asked_about_is_the_newest_before_this_boot_not_kept() {
        let row = |id: &str, created: u64, verb: &str, applied: bool| {
            (id.to_string(), created, verb.to_string(), applied)
        };
        let rows = [
            row("000001", 100, "configure-gpu", true),
            row("000002", 200, "configure-vfio", true),
            row("000003", 250, "set-kernel-arguments", true),
            row("000004", 300, "configure-vfio", false),
            row("000005", 900, "configure-gpu", true),
        ];
        assert_eq!(
            pending_boot_change(&rows, Some(500), &[]),
            Some("000002".into()),
            "000005 was made after this boot started: no restart yet"
        );
        assert_eq!(
            pending_boot_change(&rows, Some(500), &["000002".into()]),
            Some("000001".into())
        );
        assert_eq!(
            pending_boot_change(&rows, Some(500), &["000001".into(), "000002".into()]),
            None
        );
        assert_eq!(pending_boot_change(&rows, None, &[]), None);
    }
    use passage_core::vm::devices::choose;
    use passage_core::Root;

    fn host(name: &str) -> (Host, tempfile::TempDir) {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build(name, d.path()).expect("fixture");
        (Host::scan(&Root::new(d.path()).expect("root")), d)
    }
    fn addr(s: &str) -> PciAddress {
        s.parse().expect("address")
    }

    #[test]
    fn choosing_the_tutorial_gpu_takes_its_whole_group_without_bridges() {
        let (h, _d) = host("x570-tutorial");
        let s = choose(&h, addr("0000:0a:00.0")).expect("viable");
        assert_eq!(s.group, 28);
        assert_eq!(s.devices.len(), 4, "VGA, audio, USB, UCSI: {:?}", s.devices);
        assert!(s.devices.iter().all(|a| a.slot == 0 && a.bus == 0x0a));
        assert_eq!(initial_selection(&h), Some(s));
    }

    #[test]
    fn the_host_display_gpu_is_refused_with_the_reason() {
        let (h, _d) = host("x570-tutorial");
        let shown = h
            .gpus()
            .find(|g| h.is_host_display(g.address))
            .expect("a display GPU");
        let e = choose(&h, shown.address).unwrap_err();
        assert!(e.contains("screen"), "{e}");
        let (h, _d) = host("intel-tutorial");
        // Both GPUs share group 1 with the host's display GPU there: not viable.
        let other = h
            .gpus()
            .find(|g| !h.is_host_display(g.address))
            .expect("second GPU");
        let e = choose(&h, other.address).unwrap_err();
        assert!(
            e.contains("IOMMU group 1") && e.contains("whole group"),
            "{e}"
        );
        let e = choose(&h, addr("0000:00:1f.0")).unwrap_err();
        assert!(
            e.contains("not a graphics card") || e.contains("no device"),
            "{e}"
        );
    }

    #[test]
    fn gpu_groups_come_first_and_say_why_they_cannot_go() {
        let (h, _d) = host("x570-tutorial");
        let g = groups(&h);
        assert_eq!(g.len(), h.iommu_groups.len());
        assert_eq!(g[0].id, 28, "the viable GPU group leads");
        assert!(g[0].viable && g[0].why_not.is_empty());
        let first_other = g
            .iter()
            .position(|r| r.gpu.is_none())
            .expect("non-GPU groups");
        assert!(g[first_other..].iter().all(|r| r.gpu.is_none()));
        let display = g
            .iter()
            .find(|r| r.host_display)
            .expect("the host display group");
        assert!(
            !display.viable && !display.why_not.is_empty(),
            "{display:?}"
        );
        assert!(g[0].devices.iter().any(|d| d.detail.contains("reset")));
    }

    #[test]
    fn findings_are_ordered_by_urgency_and_the_headline_counts_blockers() {
        let (h, _d) = host("iommu-off");
        let r = check::evaluate(&h, None).expect("report");
        let o = ordered(&r);
        assert!(o.windows(2).all(|w| w[0].severity >= w[1].severity));
        let (line, sev) = headline(&r);
        assert_eq!(sev, Severity::Blocker);
        assert!(line.contains("must be fixed"), "{line}");
        assert!(
            o.iter().any(|f| f.action.is_some()),
            "the IOMMU finding has a fix"
        );
    }

    #[test]
    fn the_plan_for_the_tutorial_gpu_lists_files_with_diffs_then_commands() {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
        let root = Root::new(d.path()).expect("root");
        let h = Host::scan(&root);
        let plan = passage_core::plan::for_gpu(&root, &h, addr("0000:0a:00.0")).expect("plan");
        let rows = plan_rows(&plan);
        assert_eq!(rows.len(), plan.changes.len() + plan.steps.len());
        assert!(
            rows.iter()
                .any(|r| r.title.contains("modprobe.d") && r.diff.contains("+install vfio-pci")),
            "{rows:#?}"
        );
        assert!(
            rows.last().is_some_and(|r| r.diff.is_empty()),
            "commands come last"
        );
    }

    #[test]
    fn what_changed_across_a_restart() {
        let (off, _a) = host("iommu-off");
        let (on, _b) = host("x570-tutorial");
        let before = Snapshot::of("boot-1", &check::evaluate(&off, None).expect("report"));
        let now = check::evaluate(&on, None).expect("report");
        assert!(
            what_changed(&before, "boot-1", &now).is_empty(),
            "no restart yet"
        );
        let changed = what_changed(&before, "boot-2", &now);
        assert!(
            changed
                .iter()
                .any(|l| l.starts_with("No longer") || l.starts_with("Better")),
            "{changed:?}"
        );
        let same = Snapshot::of("boot-1", &now);
        assert!(what_changed(&same, "boot-2", &now).is_empty());
    }
}
