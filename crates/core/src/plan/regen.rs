//! What makes a change of /etc/kernel/cmdline reach the boot. kernel-install reads the file
//! only when it writes a kernel's boot entry or builds its unified kernel image (UKI), so a
//! change needs those written again, unless Passage edited every entry itself.

use crate::i18n::{tr, tr_f};
use crate::plan::{PlanError, Step};
use crate::root::Root;

pub(crate) const ESPS: [&str; 3] = ["/boot/efi", "/efi", "/boot"];

/// The steps after /etc/kernel/cmdline changed; `entries_edited` when the plan already edits
/// the loader entries that boot today (type 1 entries carry their own copy of the line).
/// - Proxmox VE: `proxmox-boot-tool refresh` copies kernels and the line to every ESP it keeps.
/// - UKIs, or no entries Passage could edit: `kernel-install add` for each installed kernel.
/// - Otherwise nothing: the edited entries boot with the change, and kernel-install writes
///   later kernels' entries from the changed file.
pub fn cmdline_steps(root: &Root, entries_edited: bool) -> Result<Vec<Step>, PlanError> {
    if root.exists("/etc/kernel/proxmox-boot-uuids")
        && ["/usr/sbin/proxmox-boot-tool", "/sbin/proxmox-boot-tool"]
            .iter()
            .any(|p| root.exists(p))
    {
        return Ok(vec![Step::new(
            &["proxmox-boot-tool", "refresh"],
            &tr("Write the kernels' boot entries again with the new command line (Proxmox VE)"),
        )]);
    }
    if entries_edited && !has_ukis(root) {
        return Ok(Vec::new());
    }
    let installed = ["/usr/bin/kernel-install", "/bin/kernel-install"]
        .iter()
        .any(|p| root.exists(p));
    let kernels = installed_kernels(root);
    if !installed || kernels.is_empty() {
        return Err(PlanError::Regenerate(tr(
            "/etc/kernel/cmdline only counts when a kernel's boot entry or unified kernel image is written, and Passage found no kernel-install or no installed kernel (under /usr/lib/modules) to write them with; add the arguments to your boot entries by hand",
        )));
    }
    Ok(kernels
        .into_iter()
        .map(|(version, image)| Step {
            summary: tr_f(
                "Write the boot entry of Linux {version} again (kernel-install)",
                &[("version", &version)],
            ),
            argv: vec!["kernel-install".into(), "add".into(), version, image],
            undo: None,
        })
        .collect())
}

/// Whether an ESP holds unified kernel images (type 2 entries in EFI/Linux).
fn has_ukis(root: &Root) -> bool {
    ESPS.iter().any(|esp| {
        root.list(&format!("{esp}/EFI/Linux"))
            .iter()
            .any(|f| f.to_ascii_lowercase().ends_with(".efi"))
    })
}

/// Installed kernels as `(version, image)`: each module directory whose kernel image is there,
/// at `/usr/lib/modules/VERSION/vmlinuz` (Arch, Fedora) or `/boot/vmlinuz-VERSION` (Debian,
/// Ubuntu), in version-directory order.
pub fn installed_kernels(root: &Root) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for base in ["/usr/lib/modules", "/lib/modules"] {
        let mut versions = root.list(base);
        versions.sort();
        for v in versions {
            if out.iter().any(|(have, _)| *have == v) {
                continue;
            }
            let image = [format!("{base}/{v}/vmlinuz"), format!("/boot/vmlinuz-{v}")]
                .into_iter()
                .find(|p| root.exists(p));
            if let Some(image) = image {
                out.push((v, image));
            }
        }
    }
    out
}
