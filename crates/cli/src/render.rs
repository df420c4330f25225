//! Human output: readable at a glance, IOMMU groups as a tree, GPUs highlighted.

use std::fmt::Write as _;

use passage_core::check::{Report, Severity};
use passage_core::host::{HostNeed, PciDevice};
use passage_core::i18n::{tr, tr_f, tr_n};
use passage_core::Host;

struct Style {
    on: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn gpu(&self, s: &str) -> String {
        self.wrap("1;36", s)
    }
    fn good(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn bad(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn warn(&self, s: &str) -> String {
        self.wrap("33", s)
    }
}

fn gib(kib: u64) -> String {
    format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0)
}

fn device_line(host: &Host, d: &PciDevice, st: &Style) -> String {
    let name = format!("{} [{}]", d.display_name(), d.id_pair());
    let driver = d
        .driver
        .as_deref()
        .map(|x| format!("  {} {x}", tr("driver")))
        .unwrap_or_default();
    let mut line = format!(
        "{}  {}  {}{}",
        d.address,
        st.dim(&d.class_name),
        name,
        st.dim(&driver)
    );
    if d.is_gpu() {
        let mut tag = tr("GPU");
        if host.is_host_display(d.address) {
            tag = tr("GPU, host display");
        }
        line = format!(
            "{}  {}",
            st.gpu(&format!("{}  {}  {}", d.address, d.class_name, name)),
            st.gpu(&format!("◀ {tag}"))
        );
        if !driver.is_empty() {
            line.push_str(&st.dim(&driver));
        }
    }
    line
}

fn need_short(n: &HostNeed) -> String {
    match n {
        HostNeed::BootGpu { device } => {
            tr_f("{dev} is the boot display", &[("dev", &device.to_string())])
        }
        HostNeed::DisplayGpu { device } => tr_f(
            "{dev} shows the host's screen",
            &[("dev", &device.to_string())],
        ),
        HostNeed::MountedStorage { device, what } => tr_f(
            "{dev} holds {what}",
            &[("dev", &device.to_string()), ("what", what)],
        ),
        HostNeed::Chipset { device, function } => tr_f(
            "{dev} is {function}",
            &[
                ("dev", &device.to_string()),
                ("function", &function.words()),
            ],
        ),
        HostNeed::BusyStorage { device, uses } => tr_f(
            "{dev}: {uses}",
            &[
                ("dev", &device.to_string()),
                ("uses", &passage_core::check::busy_words(uses)),
            ],
        ),
        HostNeed::StorageDriver { device, driver } => tr_f(
            "{dev} is host storage ({driver})",
            &[("dev", &device.to_string()), ("driver", driver)],
        ),
        HostNeed::NetworkDriver { device, driver } => tr_f(
            "{dev} is a host network card ({driver})",
            &[("dev", &device.to_string()), ("driver", driver)],
        ),
        HostNeed::UntracedStorage { device, what, .. } => tr_f(
            "{dev} may hold {what} (untraced)",
            &[("dev", &device.to_string()), ("what", what)],
        ),
    }
}

pub fn scan(host: &Host, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    let cpu = &host.cpu;
    let virt = match (&cpu.virtualization_flag, cpu.kvm_device) {
        (Some(f), true) => st.good(&tr_f("{flag}, KVM ready", &[("flag", f)])),
        (Some(f), false) => st.warn(&tr_f("{flag}, no /dev/kvm", &[("flag", f)])),
        (None, _) => st.bad(&tr("no hardware virtualization")),
    };
    let _ = writeln!(o, "{}  {} ({virt})", st.bold(&tr("CPU")), cpu.model);
    let _ = writeln!(
        o,
        "      {}",
        st.dim(&format!(
            "{} × {}, {}",
            tr_n("{n} core", "{n} cores", cpu.cores as u64, &[]),
            tr_n(
                "{n} thread",
                "{n} threads",
                cpu.threads_per_core as u64,
                &[]
            ),
            tr_n(
                "{n} L3 group",
                "{n} L3 groups",
                cpu.l3_groups.len() as u64,
                &[]
            ),
        ))
    );
    let huge = host.memory.hugepages_kib();
    let _ = writeln!(
        o,
        "{}  {} ({})",
        st.bold(&tr("RAM")),
        gib(host.memory.total_kib),
        if huge > 0 {
            tr_f("{size} in hugepages", &[("size", &gib(huge))])
        } else {
            tr("no hugepages")
        }
    );
    let iommu = if host.iommu_enabled {
        st.good(&tr_f(
            "IOMMU on ({units})",
            &[("units", &host.kernel.iommu_units.join(", "))],
        ))
    } else {
        st.bad(&tr("IOMMU off"))
    };
    let _ = writeln!(
        o,
        "{}  {} · {iommu}",
        st.bold(&tr("Kernel")),
        host.kernel.release.clone().unwrap_or_else(|| tr("unknown"))
    );
    let _ = writeln!(
        o,
        "{}  {} · {} {}",
        st.bold(&tr("Boot")),
        host.boot_loader
            .clone()
            .unwrap_or_else(|| tr("unknown boot loader")),
        tr("initramfs"),
        host.initramfs.clone().unwrap_or_else(|| tr("unknown"))
    );
    match host.ovmf() {
        Some(fw) => {
            let _ = writeln!(o, "{}  {}", st.bold(&tr("UEFI")), fw.description);
        }
        None => {
            let _ = writeln!(
                o,
                "{}  {}",
                st.bold(&tr("UEFI")),
                st.bad(&tr("no OVMF firmware installed"))
            );
        }
    }
    o.push('\n');

    if host.iommu_groups.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            st.bold(&tr("PCI devices (no IOMMU groups: the IOMMU is off)"))
        );
        for d in &host.pci_devices {
            let _ = writeln!(o, "  {}", device_line(host, d, &st));
        }
    } else {
        let _ = writeln!(o, "{}", st.bold(&tr("IOMMU groups")));
        // Groups of bridges and chipset functions only are noise here: one line at the end.
        let plumbing = |g: &&passage_core::host::IommuGroup| {
            g.devices.iter().all(|a| {
                host.device(*a)
                    .is_some_and(|d| d.class >> 16 == 0x06 || d.class >> 8 == 0x0806)
            })
        };
        let quiet: Vec<String> = host
            .iommu_groups
            .iter()
            .filter(plumbing)
            .map(|g| g.id.to_string())
            .collect();
        for g in host.iommu_groups.iter().filter(|g| !plumbing(g)) {
            let state = if g.viable {
                st.good(&tr("✔ can go to a VM"))
            } else {
                let why: Vec<String> = g.host_needs.iter().map(need_short).collect();
                st.bad(&tr_f(
                    "✘ the host needs it: {why}",
                    &[("why", &why.join("; "))],
                ))
            };
            let has_gpu = g
                .devices
                .iter()
                .any(|a| host.device(*a).is_some_and(|d| d.is_gpu()));
            let title = tr_f("Group {id}", &[("id", &g.id.to_string())]);
            let _ = writeln!(
                o,
                "  {}  {state}",
                if has_gpu {
                    st.gpu(&title)
                } else {
                    st.bold(&title)
                }
            );
            for (i, a) in g.devices.iter().enumerate() {
                let branch = if i + 1 == g.devices.len() {
                    "└─"
                } else {
                    "├─"
                };
                match host.device(*a) {
                    Some(d) => {
                        let _ = writeln!(o, "  {branch} {}", device_line(host, d, &st));
                    }
                    None => {
                        let _ = writeln!(o, "  {branch} {a}");
                    }
                }
            }
        }
        if !quiet.is_empty() {
            let _ = writeln!(
                o,
                "  {}",
                st.dim(&tr_f(
                    "Groups {ids}: bridges and chipset functions only",
                    &[("ids", &quiet.join(", "))]
                ))
            );
        }
    }
    if !host.usb_devices.is_empty() {
        o.push('\n');
        let _ = writeln!(o, "{}", st.bold(&tr("USB devices")));
        for u in host
            .usb_devices
            .iter()
            .filter(|u| !u.name.starts_with("usb"))
        {
            let name = u
                .product_name
                .clone()
                .or_else(|| u.product.clone())
                .unwrap_or_else(|| tr("unknown device"));
            let vendor = u
                .vendor_name
                .clone()
                .or_else(|| u.manufacturer.clone())
                .unwrap_or_default();
            let ctrl = u
                .controller
                .map(|c| format!("  {} {c}", tr("on")))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<8} {vendor} {name} [{}:{}]{}",
                u.name,
                u.vendor_id,
                u.product_id,
                st.dim(&ctrl)
            );
        }
    }
    if !host.problems.is_empty() {
        o.push('\n');
        let _ = writeln!(
            o,
            "{}",
            st.warn(&tr_n(
                "Could not read {n} thing (the rest is accurate):",
                "Could not read {n} things (the rest is accurate):",
                host.problems.len() as u64,
                &[]
            ))
        );
        for p in host.problems.iter().take(20) {
            let _ = writeln!(o, "  {}: {}", p.path, p.what);
        }
        if host.problems.len() > 20 {
            let _ = writeln!(
                o,
                "  {}",
                tr_f(
                    "… and {n} more (see --json)",
                    &[("n", &(host.problems.len() - 20).to_string())]
                )
            );
        }
    }
    o
}

pub fn check(host: &Host, report: &Report, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    if let Some(g) = report.gpu.and_then(|a| host.device(a)) {
        let _ = writeln!(
            o,
            "{} {}\n",
            st.bold(&tr("Checking passthrough of")),
            st.gpu(&format!("{} ({})", g.display_name(), g.address))
        );
    }
    let mut sorted: Vec<_> = report.findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in sorted {
        let mark = match f.severity {
            Severity::Ok => st.good("✔"),
            Severity::Info => st.dim("ℹ"),
            Severity::Warning => st.warn("⚠"),
            Severity::Blocker => st.bad("✘"),
        };
        let _ = writeln!(o, "{mark} {}", st.bold(&f.title));
        if !f.detail.is_empty() {
            let _ = writeln!(o, "    {}", f.detail);
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(o, "    {} {fix}", st.bold(&tr("Fix:")));
        }
    }
    let blockers = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .count();
    o.push('\n');
    if blockers == 0 {
        let _ = writeln!(
            o,
            "{}",
            st.good(&tr("Nothing blocks GPU passthrough on this host."))
        );
    } else {
        let _ = writeln!(
            o,
            "{}",
            st.bad(&tr_n(
                "{n} thing blocks GPU passthrough; fix it and check again.",
                "{n} things block GPU passthrough; fix them and check again.",
                blockers as u64,
                &[]
            ))
        );
    }
    o
}

pub fn plan(p: &passage_core::plan::Plan, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    if p.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            st.good(&tr(
                "Nothing to change: the host is already set up this way."
            ))
        );
        return o;
    }
    let _ = writeln!(
        o,
        "{}",
        st.bold(&tr_n(
            "{n} file would change:",
            "{n} files would change:",
            p.changes.len() as u64,
            &[]
        ))
    );
    for c in &p.changes {
        let what = match (&c.before, &c.after) {
            (None, Some(_)) => tr("new"),
            (Some(_), None) => tr("removed"),
            _ => tr("edited"),
        };
        let _ = writeln!(o, "  {} ({what}): {}", c.path, c.summary);
    }
    o.push('\n');
    for c in &p.changes {
        for line in c.diff.lines() {
            let l = if line.starts_with("+++") || line.starts_with("---") {
                st.bold(line)
            } else if line.starts_with('+') {
                st.good(line)
            } else if line.starts_with('-') {
                st.bad(line)
            } else if line.starts_with("@@") {
                st.dim(line)
            } else {
                line.to_string()
            };
            let _ = writeln!(o, "{l}");
        }
    }
    if !p.steps.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold(&tr("Then:")));
        for s in &p.steps {
            let _ = writeln!(
                o,
                "  $ {}    {}",
                s.argv.join(" "),
                st.dim(&format!("# {}", s.summary))
            );
        }
    }
    for n in &p.notes {
        let _ = writeln!(o, "\n{}", st.warn(n));
    }
    let _ = writeln!(o, "\n{}", st.dim(&tr("This is a preview: nothing was written. Applying goes through Passage's helper, which records every change so it can be undone exactly.")));
    o
}
