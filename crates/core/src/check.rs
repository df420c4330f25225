//! Readiness: what stands between this host and a VM with the GPU passed through, in words a
//! user can act on. Each [`Finding`] carries its fix, and — where Passage can apply it later —
//! a typed [`FixAction`].

use serde::{Deserialize, Serialize};

use crate::host::boot::BootLoaderKind;
use crate::host::{CpuVendor, Host, HostNeed, PciAddress, PciDevice};
use crate::i18n::{tr, tr_f, tr_n};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A requirement that is met.
    Ok,
    /// Worth knowing; nothing to do.
    Info,
    /// Works, but with a cost or a risk.
    Warning,
    /// Passthrough cannot work until this is fixed.
    Blocker,
}

/// A change Passage can make for the user (applied by the helper in a later step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FixAction {
    KernelArguments {
        add: Vec<String>,
        remove: Vec<String>,
    },
    BindByAddress {
        devices: Vec<PciAddress>,
    },
    /// Reserve this many hugepages of this size now (the helper's ReserveHugepages, polkit asks).
    ReserveHugepages {
        size_kib: u64,
        count: u64,
    },
    InstallPackage {
        packages: Vec<String>,
    },
    /// Let vendor-reset reset this card (a udev rule sets its `reset_method`).
    VendorReset {
        gpu: PciAddress,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    /// What to do, in words; `null` when nothing is to be done.
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<FixAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The GPU the findings are about (chosen, or Passage's best guess).
    pub gpu: Option<PciAddress>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether anything blocks passthrough.
    pub fn blocked(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Blocker)
    }
    pub fn get(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }
}

fn finding(
    id: &str,
    severity: Severity,
    title: String,
    detail: String,
    fix: Option<String>,
) -> Finding {
    Finding {
        id: id.to_string(),
        severity,
        title,
        detail,
        fix,
        action: None,
    }
}

/// The findings whose fix is the user's alone, and why Passage cannot apply it; every other
/// finding with a fix carries its [`FixAction`] (a test holds the check to this).
pub const CANNOT_FIX: [(&str, &str); 4] = [
    (
        "group-not-viable",
        "the IOMMU groups are the motherboard's: only other hardware, a firmware update or the ACS override (its own finding) changes them",
    ),
    (
        "gpu-is-host-display",
        "which card shows the host's screen is the firmware's and the cable's; the fix names the other card to choose",
    ),
    (
        "only-gpu",
        "a second graphics card is hardware the user adds",
    ),
    (
        "gpu-reset-bug",
        "only while vendor-reset is not installed: an out-of-tree module Debian does not ship, built by the user",
    ),
];

/// Evaluates `host`. `gpu` is the GPU the user chose; without one, Passage picks the likeliest.
pub fn evaluate(host: &Host, gpu: Option<PciAddress>) -> Result<Report, Error> {
    let chosen: Option<&PciDevice> = match gpu {
        Some(a) => {
            let d = host
                .device(a)
                .ok_or_else(|| Error::NoSuchDevice(a.to_string()))?;
            if !d.is_gpu() {
                return Err(Error::NotAGpu(
                    a.to_string(),
                    format!("0x{:06x} {}", d.class, d.class_name),
                ));
            }
            Some(d)
        }
        None => host.candidate_gpu(),
    };
    let mut f = Vec::new();
    virtualization(host, &mut f);
    iommu(host, &mut f);
    gpu_findings(host, chosen, &mut f);
    acs_requested(host, &mut f);
    vfio_module(host, &mut f);
    firmware(host, &mut f);
    hugepages(host, &mut f);
    if !host.swtpm {
        let mut fd = finding(
            "no-swtpm",
            Severity::Info,
            tr("No TPM emulator for Windows 11"),
            tr("Windows 11 wants a TPM 2.0; VMs get one from swtpm, which is not installed."),
            Some(tr("Install swtpm (“apt install swtpm swtpm-tools”, “dnf install swtpm”, “pacman -S swtpm”) before creating a Windows 11 VM.")),
        );
        fd.action = Some(FixAction::InstallPackage {
            packages: vec!["swtpm".into()],
        });
        f.push(fd);
    }
    if host.spice_module_missing {
        let mut fd = finding(
            "no-spice-module",
            Severity::Warning,
            tr("QEMU’s SPICE module is not installed"),
            tr("This QEMU loads its display and sound parts as modules, and the SPICE module is missing; a VM with the installer display (SPICE) will not start."),
            Some(tr("Install it (“apt install qemu-system-modules-spice”, “dnf install qemu-ui-spice-core qemu-char-spice”, “pacman -S qemu-ui-spice-core qemu-chardev-spice”), or create the VM without the SPICE display.")),
        );
        fd.action = Some(FixAction::InstallPackage {
            packages: vec!["qemu-system-modules-spice".into()],
        });
        f.push(fd);
    }
    Ok(Report {
        gpu: chosen.map(|d| d.address),
        findings: f,
    })
}

fn virtualization(host: &Host, f: &mut Vec<Finding>) {
    let (flag, setting) = match host.cpu.vendor_kind {
        CpuVendor::Amd => ("svm", tr("SVM Mode (AMD-V)")),
        _ => ("vmx", tr("Intel Virtualization Technology (VT-x)")),
    };
    if !host.cpu.virtualization {
        f.push(finding(
            "virtualization-off",
            Severity::Blocker,
            tr("Hardware virtualization is off"),
            tr_f("The processor does not report the {flag} feature, so virtual machines cannot use it.", &[("flag", flag)]),
            Some(tr_f("Restart into the firmware setup (BIOS/UEFI) and turn on “{setting}”.", &[("setting", &setting)])),
        ));
    } else if !host.cpu.kvm_device {
        let module = if flag == "svm" {
            "kvm_amd"
        } else {
            "kvm_intel"
        };
        f.push(finding(
            "virtualization-off",
            Severity::Blocker,
            tr("KVM is not available"),
            tr_f("The processor supports {flag}, but /dev/kvm does not exist: the {module} module is not loaded, or virtualization is disabled in the firmware.", &[("flag", flag), ("module", module)]),
            Some(tr_f("Turn on “{setting}” in the firmware setup, then load {module} (it loads by itself on most distributions).", &[("setting", &setting), ("module", module)])),
        ));
    } else {
        f.push(finding(
            "virtualization",
            Severity::Ok,
            tr("Hardware virtualization is on"),
            tr_f(
                "{model} supports {flag} and /dev/kvm is present.",
                &[("model", &host.cpu.model), ("flag", flag)],
            ),
            None,
        ));
    }
}

/// The kernel arguments that turn the IOMMU on for this CPU.
pub fn iommu_arguments(vendor: CpuVendor) -> Vec<String> {
    let on = match vendor {
        CpuVendor::Amd => "amd_iommu=on",
        _ => "intel_iommu=on",
    };
    vec![on.to_string(), "iommu=pt".to_string()]
}

/// How to add kernel arguments with this host's boot loader, in words.
pub fn kernel_argument_howto(host: &Host, args: &str) -> String {
    let Some(boot) = &host.boot else {
        return tr_f(
            "Add “{args}” to your boot loader's kernel command line, then restart.",
            &[("args", args)],
        );
    };
    match boot.kind {
        BootLoaderKind::Grub => {
            let var = if boot.grub_has_default_line { "GRUB_CMDLINE_LINUX_DEFAULT" } else { "GRUB_CMDLINE_LINUX" };
            tr_f(
                "Add “{args}” to {var} in /etc/default/grub, run “{regen}”, then restart.",
                &[("args", args), ("var", var), ("regen", boot.regenerate.as_deref().unwrap_or("update-grub"))],
            )
        }
        BootLoaderKind::Grubby => tr_f("Run “grubby --update-kernel=ALL --args=\"{args}\"”, then restart.", &[("args", args)]),
        BootLoaderKind::Kernelstub => tr_f("Run “kernelstub --add-options \"{args}\"”, then restart.", &[("args", args)]),
        BootLoaderKind::SystemdBoot if boot.config == "/etc/kernel/cmdline" => tr_f(
            "Add “{args}” to /etc/kernel/cmdline, reinstall the kernel entries (kernel-install add), then restart.",
            &[("args", args)],
        ),
        BootLoaderKind::SystemdBoot => tr_f(
            "Add “{args}” to the options line of each entry in {dir}, then restart.",
            &[("args", args), ("dir", &boot.config)],
        ),
        BootLoaderKind::Refind => tr_f(
            "Add “{args}” to each quoted option string in {file}, then restart.",
            &[("args", args), ("file", &boot.config)],
        ),
    }
}

fn iommu(host: &Host, f: &mut Vec<Finding>) {
    let args = iommu_arguments(host.cpu.vendor_kind);
    let on_key = args[0].split('=').next().unwrap_or("");
    if host.iommu_enabled {
        let units = host.kernel.iommu_units.join(", ");
        f.push(finding(
            "iommu",
            Severity::Ok,
            tr("The IOMMU is on"),
            if units.is_empty() {
                tr_n(
                    "{n} IOMMU group.",
                    "{n} IOMMU groups.",
                    host.iommu_groups.len() as u64,
                    &[],
                )
            } else {
                tr_n(
                    "{n} IOMMU group ({units}).",
                    "{n} IOMMU groups ({units}).",
                    host.iommu_groups.len() as u64,
                    &[("units", &units)],
                )
            },
            None,
        ));
        if host.kernel.interrupt_remapping == Some(false) {
            f.push(finding(
                "interrupt-remapping-off",
                Severity::Warning,
                tr("Interrupt remapping is off"),
                tr("Without interrupt remapping, vfio refuses to assign devices unless unsafe interrupts are allowed, which lets a VM inject interrupts into the host."),
                Some(tr("Turn on x2APIC / interrupt remapping in the firmware setup. As a last resort, vfio_iommu_type1.allow_unsafe_interrupts=1 works at that security cost.")),
            ));
        }
        return;
    }
    let vendor_setting = match host.cpu.vendor_kind {
        CpuVendor::Amd => tr("AMD-Vi / IOMMU"),
        _ => tr("Intel VT-d"),
    };
    // Every occurrence counts, as the kernel reads them (`intel_iommu=on intel_iommu=sm_on`).
    let already = crate::plan::args::values_turn_on(on_key, &host.kernel.params(on_key));
    let mut fd = if already {
        finding(
            "iommu-off",
            Severity::Blocker,
            tr("The IOMMU is off in the firmware"),
            tr_f("The kernel is started with {arg}, but no IOMMU came up, so the firmware has it turned off.", &[("arg", &args[0])]),
            Some(tr_f("Restart into the firmware setup (BIOS/UEFI) and turn on “{setting}”.", &[("setting", &vendor_setting)])),
        )
    } else {
        let joined = args.join(" ");
        finding(
            "iommu-off",
            Severity::Blocker,
            tr("The IOMMU is off"),
            tr_f("No IOMMU groups exist, so no device can be handed to a VM safely. The kernel needs “{args}”, and “{setting}” must be on in the firmware.", &[("args", &joined), ("setting", &vendor_setting)]),
            Some(kernel_argument_howto(host, &joined)),
        )
    };
    if !already {
        fd.action = Some(FixAction::KernelArguments {
            add: args,
            remove: vec![],
        });
    }
    f.push(fd);
}

fn gpu_label(d: &PciDevice) -> String {
    format!("{} ({})", d.display_name(), d.address)
}

/// Why the host needs this device, in a sentence (the GUI and the findings share it).
pub fn need_words(host: &Host, n: &HostNeed) -> String {
    let name = host
        .device(n.device())
        .map(gpu_label)
        .unwrap_or_else(|| n.device().to_string());
    match n {
        HostNeed::BootGpu { .. } => tr_f(
            "{dev} is the boot display the host starts on",
            &[("dev", &name)],
        ),
        HostNeed::DisplayGpu { .. } => tr_f("{dev} shows the host's screen", &[("dev", &name)]),
        HostNeed::MountedStorage { what, .. } => tr_f(
            "{dev} holds {what}, which the host has mounted",
            &[("dev", &name), ("what", what)],
        ),
        HostNeed::Chipset { function, .. } => tr_f(
            "{dev} is {function}: the host runs on it",
            &[("dev", &name), ("function", &function.words())],
        ),
        HostNeed::BusyStorage { uses, .. } => tr_f(
            "{dev} holds disks in use: {uses}",
            &[("dev", &name), ("uses", &busy_words(uses))],
        ),
        HostNeed::StorageDriver { driver, .. } => tr_f(
            "{dev} is a disk controller in use by the host ({driver})",
            &[("dev", &name), ("driver", driver)],
        ),
        HostNeed::NetworkDriver { driver, .. } => tr_f(
            "{dev} is a network controller in use by the host ({driver})",
            &[("dev", &name), ("driver", driver)],
        ),
        HostNeed::UntracedStorage { driver, what, .. } => tr_f(
            "{dev} is a disk controller ({driver}) that may hold {what}, whose disks Passage cannot trace; it stays with the host",
            &[("dev", &name), ("driver", driver), ("what", what)],
        ),
    }
}

/// `vg0-win11 (LVM) is active on nvme0n1p1, qemu-system-x86 (PID 1234) has nvme1n1 open`.
pub fn busy_words(uses: &[crate::host::block_use::BlockBusy]) -> String {
    let mut w: Vec<String> = uses.iter().map(|u| u.words()).collect();
    w.dedup();
    w.join(", ")
}

fn acs_risk() -> String {
    tr("The ACS override makes the kernel pretend devices are isolated when the hardware does not promise it: a device given to the VM may then reach the memory of devices the host kept, so a compromised VM could read or corrupt host data. Use it only on a machine where that risk is acceptable.")
}

fn gpu_findings(host: &Host, chosen: Option<&PciDevice>, f: &mut Vec<Finding>) {
    let gpus: Vec<&PciDevice> = host.gpus().collect();
    let Some(gpu) = chosen else {
        if gpus.is_empty() {
            f.push(finding(
                "no-gpu",
                Severity::Blocker,
                tr("No graphics card found"),
                tr("This host shows no display controller on its PCI bus."),
                Some(tr(
                    "Install the graphics card you want to give the VM, then check again.",
                )),
            ));
        } else if gpus.len() == 1 {
            f.push(only_gpu(host, gpus[0]));
        } else {
            f.push(finding(
                "gpu-is-host-display",
                Severity::Blocker,
                tr("Every graphics card shows the host's screen"),
                tr_n("{n} graphics card is present and the host displays on it.", "{n} graphics cards are present and the host displays on all of them.", gpus.len() as u64, &[]),
                Some(tr("Connect the host's monitor to one card only (or set it as the primary display in the firmware setup) and keep the other one free for the VM.")),
            ));
        }
        return;
    };

    if host.is_host_display(gpu.address) {
        if gpus.len() == 1 {
            f.push(only_gpu(host, gpu));
        } else {
            let others: Vec<String> = gpus
                .iter()
                .filter(|d| d.address != gpu.address)
                .map(|d| gpu_label(d))
                .collect();
            f.push(finding(
                "gpu-is-host-display",
                Severity::Blocker,
                tr("This graphics card shows the host's screen"),
                tr_f("{gpu} is the boot display or drives a connected monitor. Giving it to a VM would take the host's screen away.", &[("gpu", &gpu_label(gpu))]),
                Some(tr_f("Choose the other card ({others}), or make that one the primary display in the firmware setup (often “Primary Display” or “Initiate Graphic Adapter”) and move the host's monitor to it.", &[("others", &others.join(", "))])),
            ));
        }
    } else {
        f.push(finding(
            "gpu",
            Severity::Ok,
            tr("A graphics card is free for the VM"),
            match gpu.iommu_group {
                Some(g) => tr_f(
                    "{gpu}, IOMMU group {group}.",
                    &[("gpu", &gpu_label(gpu)), ("group", &g.to_string())],
                ),
                None => gpu_label(gpu),
            },
            None,
        ));
    }

    if let Some(group) = host.group_of(gpu.address) {
        // Needs other than the chosen GPU itself being the display (reported above).
        let needs: Vec<&HostNeed> = group
            .host_needs
            .iter()
            .filter(|n| n.device() != gpu.address)
            .collect();
        if !needs.is_empty() {
            let words: Vec<String> = needs.iter().map(|n| need_words(host, n)).collect();
            let acs = &host.kernel.acs_override;
            let acs_fix = match acs.patched {
                Some(true) => tr_f("This kernel carries the ACS override patch ({evidence}), so “pcie_acs_override=downstream,multifunction” can split the group. {risk}", &[("evidence", &acs.evidence), ("risk", &acs_risk())]),
                _ => tr_f("The ACS override, which splits groups, is not in this kernel ({evidence}); it needs a patched kernel such as linux-zen or an “-acso” build. {risk}", &[("evidence", &acs.evidence), ("risk", &acs_risk())]),
            };
            let mut fd = finding(
                "group-not-viable",
                Severity::Blocker,
                tr_f("IOMMU group {group} cannot be given to a VM", &[("group", &group.id.to_string())]),
                tr_f("A VM must take a whole IOMMU group, and group {group} also holds what the host needs: {needs}.", &[("group", &group.id.to_string()), ("needs", &words.join("; "))]),
                Some(tr_f("Move the graphics card to another slot (slots wired to the CPU usually get a group of their own) and check again. {acs}", &[("acs", &acs_fix)])),
            );
            if acs.patched == Some(true) {
                fd.action = Some(FixAction::KernelArguments {
                    add: vec!["pcie_acs_override=downstream,multifunction".into()],
                    remove: vec![],
                });
            }
            f.push(fd);
        } else {
            let others: Vec<&PciDevice> = group
                .devices
                .iter()
                .filter_map(|a| host.device(*a))
                .filter(|d| d.address != gpu.address && !d.is_bridge())
                .collect();
            // Drives and network cards the host does not use now still go with the card: said
            // as a warning, with what goes with them.
            let taken: Vec<String> = others
                .iter()
                .filter(|d| d.is_storage() || d.is_network())
                .map(|d| taken_words(d))
                .collect();
            if !taken.is_empty() {
                f.push(finding(
                    "group-takes-storage-or-network",
                    Severity::Warning,
                    tr_f(
                        "A drive or network card goes to the VM with the card (IOMMU group {group})",
                        &[("group", &group.id.to_string())],
                    ),
                    taken.join(" "),
                    Some(tr("If this computer needs it, move the graphics card to another slot; otherwise nothing is to be done.")),
                ));
            }
            let companions: Vec<String> = others
                .iter()
                .filter(|d| !d.is_storage() && !d.is_network())
                .map(|d| gpu_label(d))
                .collect();
            if !companions.is_empty() {
                f.push(finding(
                    "group-companions",
                    Severity::Info,
                    tr_f(
                        "These devices go to the VM with the card (IOMMU group {group})",
                        &[("group", &group.id.to_string())],
                    ),
                    companions.join("; "),
                    None,
                ));
            }
        }
        identical_devices(host, gpu, &group.devices, f);
    }
    if let Some(x) = crate::check_reset::finding(host, gpu) {
        f.push(x);
    } else if gpu.reset_methods.is_empty() && !gpu.resettable {
        f.push(finding(
            "gpu-no-reset",
            Severity::Info,
            tr("The card offers no reset"),
            tr_f("{gpu} exposes no reset method, so it may not come back after the VM stops until the host restarts (some AMD generations have this “reset bug”).", &[("gpu", &gpu_label(gpu))]),
            None,
        ));
    }
}

/// A storage or network controller that goes with the card, and what leaves with it.
fn taken_words(d: &PciDevice) -> String {
    let driver = d.driver.as_deref().unwrap_or("no driver");
    if d.is_storage() {
        tr_f(
            "{dev} ({driver}): every disk on it leaves this computer while the VM runs; nothing on it is mounted now.",
            &[("dev", &gpu_label(d)), ("driver", driver)],
        )
    } else {
        tr_f(
            "{dev} ({driver}): its network connection leaves this computer while the VM runs.",
            &[("dev", &gpu_label(d)), ("driver", driver)],
        )
    }
}

/// The host's only card: a cost (the desktop stops while its VM runs) where the only-GPU mode
/// can take it; where even that mode cannot (its group), nothing can.
fn only_gpu(host: &Host, gpu: &PciDevice) -> Finding {
    let lendable = crate::vm::devices::choose_card(host, gpu.address).is_ok();
    finding(
        "only-gpu",
        if lendable {
            Severity::Warning
        } else {
            Severity::Blocker
        },
        tr("This is the host's only graphics card"),
        tr_f("{gpu} is the only display controller, and it shows the host's screen. A VM can have it only if the host gives up its desktop while the VM runs.", &[("gpu", &gpu_label(gpu))]),
        Some(tr_f("Add a second graphics card, or use the processor's integrated graphics for the host (turn it on in the firmware setup and connect the monitor to the motherboard). Or give a VM this card in the only-GPU mode (choose it on Devices, or passagectl vm new --gpu {address}; vm set NAME --gpu-mode only-gpu for a VM that has the card): the desktop stops while that VM runs and comes back when it shuts down.", &[("address", &gpu.address.to_string())])),
    )
}

/// Devices of the group whose vendor:device ID also belongs to a device outside the group.
fn identical_devices(host: &Host, gpu: &PciDevice, group: &[PciAddress], f: &mut Vec<Finding>) {
    let mut clashes: Vec<(String, &PciDevice)> = Vec::new();
    for a in group {
        let Some(d) = host.device(*a) else { continue };
        if d.is_bridge() {
            continue;
        }
        for other in &host.pci_devices {
            if !group.contains(&other.address)
                && other.vendor_id == d.vendor_id
                && other.device_id == d.device_id
            {
                clashes.push((d.id_pair(), other));
            }
        }
    }
    if clashes.is_empty() {
        return;
    }
    let ids: Vec<String> = {
        let mut v: Vec<String> = clashes.iter().map(|(id, _)| id.clone()).collect();
        v.dedup();
        v
    };
    let others: Vec<String> = clashes.iter().map(|(_, d)| gpu_label(d)).collect();
    let mut fd = finding(
        "identical-devices",
        Severity::Warning,
        tr("Another device has the same IDs as the card"),
        tr_f("{others} shares the vendor:device ID {ids} with {gpu}. Binding by ID (vfio-pci.ids={ids}) would take the host's device too.", &[("others", &others.join(", ")), ("ids", &ids.join(",")), ("gpu", &gpu_label(gpu))]),
        Some(tr("Passage binds this card by its PCI address instead (driver_override), which leaves the identical device to the host.")),
    );
    fd.action = Some(FixAction::BindByAddress {
        devices: host.endpoints(group),
    });
    f.push(fd);
}

fn acs_requested(host: &Host, f: &mut Vec<Finding>) {
    let acs = &host.kernel.acs_override;
    if !acs.requested {
        return;
    }
    match acs.patched {
        Some(false) => {
            let mut fd = finding(
                "acs-override-ignored",
                Severity::Warning,
                tr("pcie_acs_override has no effect on this kernel"),
                tr_f("The command line asks for the ACS override, but {evidence}; the IOMMU groups are the hardware's.", &[("evidence", &acs.evidence)]),
                Some(tr("Remove pcie_acs_override from the kernel command line, or boot a kernel that carries the patch.")),
            );
            fd.action = Some(FixAction::KernelArguments {
                add: vec![],
                remove: vec!["pcie_acs_override".into()],
            });
            f.push(fd);
        }
        _ => f.push(finding(
            "acs-override-on",
            Severity::Warning,
            tr("The ACS override is on"),
            acs_risk(),
            None,
        )),
    }
}

fn vfio_module(host: &Host, f: &mut Vec<Finding>) {
    match &host.kernel.vfio_pci_state {
        Some(state) => f.push(finding(
            "vfio",
            Severity::Ok,
            tr("The vfio-pci driver is available"),
            match state.as_str() {
                "loaded" => tr("vfio-pci is loaded."),
                "built-in" => tr("vfio-pci is built into the kernel."),
                _ => tr("vfio-pci is installed as a module and loads when needed."),
            },
            None,
        )),
        None if host.kernel.release.is_none() => f.push(finding(
            "vfio-unknown",
            Severity::Warning,
            tr("Cannot tell whether vfio-pci is installed"),
            tr("The kernel release is unknown, so its module directory could not be checked."),
            None,
        )),
        None => {
            let mut fd = finding(
                "vfio-missing",
                Severity::Blocker,
                tr("The vfio-pci driver is missing"),
                tr_f("vfio-pci is not loaded, not built into kernel {release}, and not under /lib/modules/{release}.", &[("release", host.kernel.release.as_deref().unwrap_or("?"))]),
                Some(tr("Install your distribution's full kernel modules package (on Ubuntu: linux-modules-extra for the running kernel), then check again.")),
            );
            fd.action = Some(FixAction::InstallPackage {
                packages: vec!["linux-modules-extra".into()],
            });
            f.push(fd);
        }
    }
}

fn firmware(host: &Host, f: &mut Vec<Finding>) {
    match host.ovmf() {
        Some(fw) => {
            let sb = host
                .firmware
                .iter()
                .any(|x| x.installed && x.is_x86_64_uefi() && x.secure_boot() && x.enrolled_keys());
            f.push(finding(
                "ovmf",
                Severity::Ok,
                tr("UEFI firmware for VMs is installed"),
                if sb {
                    tr_f("{desc}; a Secure Boot variant with Microsoft keys (for Windows 11) is installed too.", &[("desc", &fw.description)])
                } else {
                    tr_f("{desc}; no Secure Boot variant with enrolled keys, which Windows 11 needs.", &[("desc", &fw.description)])
                },
                None,
            ));
        }
        None => {
            let mut fd = finding(
                "no-ovmf",
                Severity::Blocker,
                tr("No UEFI firmware (OVMF) for VMs"),
                tr("Graphics cards are passed through to UEFI VMs, and no x86_64 UEFI firmware is described in /usr/share/qemu/firmware or /etc/qemu/firmware."),
                Some(tr("Install OVMF: “apt install ovmf” (Debian, Ubuntu), “dnf install edk2-ovmf” (Fedora), “pacman -S edk2-ovmf” (Arch).")),
            );
            fd.action = Some(FixAction::InstallPackage {
                packages: vec!["ovmf".into()],
            });
            f.push(fd);
        }
    }
}

fn hugepages(host: &Host, f: &mut Vec<Finding>) {
    let kib = host.memory.hugepages_kib();
    if kib == 0 {
        let mut fd = finding(
            "no-hugepages",
            Severity::Info,
            tr("No hugepages are reserved"),
            tr("VM memory backed by hugepages is faster and avoids the “VFIO_MAP_DMA … -12” failures that fragmented memory causes when a large VM starts."),
            Some(tr("Passage can reserve hugepages for the VM's memory when it starts and release them when it stops.")),
        );
        // A VM of the wizard's sizes: the largest the host has room for now.
        let room = [8, 4, 2, 1]
            .into_iter()
            .find(|g| crate::vm::hugepages::room(host, *g).is_ok());
        fd.action = room.map(|g| FixAction::ReserveHugepages {
            size_kib: crate::vm::hugepages::PAGE_KIB,
            count: crate::vm::hugepages::pages(g),
        });
        f.push(fd);
    } else {
        f.push(finding(
            "hugepages",
            Severity::Ok,
            tr("Hugepages are reserved"),
            tr_f(
                "{mib} MiB reserved as hugepages.",
                &[("mib", &(kib / 1024).to_string())],
            ),
            None,
        ));
    }
}
