//! Keeping the host's desktop on its own GPU: an X11 config that pins it by BusID (as the public
//! ML-server guide does), NVIDIA's X11 config masked when the NVIDIA card goes to the VM, and
//! prime-select on laptops.

use crate::host::{Host, PciAddress};
use crate::i18n::{tr, tr_f};
use crate::plan::{change, read_text, Plan, PlanError, Step};
use crate::root::Root;

pub const X11_FILE: &str = "/etc/X11/xorg.conf.d/20-passage-host-gpu.conf";

/// X11's BusID for an address: decimal `PCI:bus:slot:function`, with `@domain` when not 0.
pub fn bus_id(a: PciAddress) -> String {
    if a.domain == 0 {
        format!("PCI:{}:{}:{}", a.bus, a.slot, a.function)
    } else {
        format!("PCI:{}@{}:{}:{}", a.bus, a.domain, a.slot, a.function)
    }
}

/// The X11 driver for a kernel driver.
fn x_driver(kernel_driver: Option<&str>) -> &'static str {
    match kernel_driver {
        Some("amdgpu") => "amdgpu",
        Some("radeon") => "radeon",
        Some("nvidia") => "nvidia",
        Some("nouveau") => "nouveau",
        _ => "modesetting",
    }
}

pub fn plan(root: &Root, host: &Host, gpu: PciAddress) -> Result<Plan, PlanError> {
    let d = host.device(gpu).ok_or_else(|| {
        PlanError::Device(tr_f(
            "there is no PCI device {dev} on this host; `passagectl scan` lists the devices",
            &[("dev", &gpu.to_string())],
        ))
    })?;
    if !d.is_gpu() {
        return Err(PlanError::Device(tr_f(
            "{dev} is not a graphics card; choose the GPU the host should keep",
            &[("dev", &gpu.to_string())],
        )));
    }
    let mut plan = Plan::default();
    let text = format!(
        "# Written by Passage: the desktop runs on this GPU ({name}),\n# so the other one stays free for virtual machines.\nSection \"Device\"\n    Identifier \"Passage host GPU\"\n    Driver \"{drv}\"\n    BusID \"{bus}\"\nEndSection\n",
        name = d.display_name(),
        drv = x_driver(d.driver.as_deref()),
        bus = bus_id(gpu)
    );
    let before = read_text(root, X11_FILE)?;
    plan.changes.extend(change(
        X11_FILE,
        before.as_ref().map(|b| b.0.as_slice()),
        Some(text.into_bytes()),
        tr_f("X11 desktop on {gpu}", &[("gpu", &gpu.to_string())]),
    ));

    // NVIDIA's packaged X11 config would claim the NVIDIA card for the desktop. When the host
    // keeps a non-NVIDIA GPU, mask it with a same-named file in /etc (X11 reads the first of
    // equal names, /etc before /usr/share), which survives package upgrades and undoes cleanly.
    if d.driver.as_deref() != Some("nvidia") {
        for c in host
            .display
            .x11_configs
            .iter()
            .filter(|c| c.drivers.iter().any(|x| x == "nvidia"))
        {
            let name = c.path.rsplit('/').next().unwrap_or("");
            if let Some(rest) = c.path.strip_prefix("/usr/share/X11/xorg.conf.d/") {
                let mask = format!("/etc/X11/xorg.conf.d/{rest}");
                let cur = read_text(root, &mask)?;
                let body = format!("# Written by Passage: masks /usr/share/X11/xorg.conf.d/{name} so the desktop does not take the NVIDIA card.\n");
                plan.changes.extend(change(
                    &mask,
                    cur.as_ref().map(|b| b.0.as_slice()),
                    Some(body.into_bytes()),
                    tr_f("mask {path}", &[("path", &c.path)]),
                ));
            } else if c.path.starts_with("/etc/") {
                let cur = read_text(root, &c.path)?;
                plan.changes.extend(change(
                    &c.path,
                    cur.as_ref().map(|b| b.0.as_slice()),
                    None,
                    tr_f(
                        "remove {path} (NVIDIA desktop config)",
                        &[("path", &c.path)],
                    ),
                ));
            }
        }
    }
    // Laptops with Ubuntu's prime-select: the integrated GPU drives the desktop.
    if let Some(mode) = host.display.prime_select.as_deref() {
        if mode != "off"
            && matches!(
                d.driver.as_deref(),
                Some("i915") | Some("amdgpu") | Some("xe")
            )
        {
            let prev = match mode {
                "on" => "nvidia",
                other => other,
            };
            let mut s = Step::new(
                &["prime-select", "intel"],
                &tr("Switch the desktop to the integrated GPU (prime-select)"),
            );
            s.undo = Some(vec!["prime-select".into(), prev.into()]);
            plan.steps.push(s);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_ids_are_decimal() {
        assert_eq!(bus_id("0000:0d:00.0".parse().unwrap()), "PCI:13:0:0");
        assert_eq!(bus_id("0000:00:02.0".parse().unwrap()), "PCI:0:2:0");
        assert_eq!(bus_id("0001:0a:1f.7".parse().unwrap()), "PCI:10@1:31:7");
    }
}
