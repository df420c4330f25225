//! VmSpec → a bare `qemu-system-x86_64` invocation, equivalent to the domain XML.

use super::{slots, DiskFormat, DiskSource, DomainType, Firmware, Network, VmError, VmSpec};

pub fn args(s: &VmSpec, ovmf: Option<(&str, &str)>) -> Result<Vec<String>, VmError> {
    let mut a: Vec<String> = vec!["qemu-system-x86_64".into(), "-name".into(), s.name.clone()];
    let accel = match s.domain_type {
        DomainType::Kvm => "kvm",
        DomainType::Qemu => "tcg",
    };
    let smm = if s.secure_boot() { "on" } else { "off" };
    a.extend([
        "-machine".into(),
        format!("q35,accel={accel},smm={smm},vmport=off,kernel-irqchip=on"),
    ]);
    let mut cpu = String::from(match s.domain_type {
        DomainType::Kvm => "host,migratable=off",
        DomainType::Qemu => "max",
    });
    if s.kvm_hidden {
        cpu.push_str(",kvm=off");
    }
    if s.domain_type == DomainType::Kvm {
        cpu.push_str(",host-cache-info=on,l3-cache=off");
    }
    if s.topoext {
        cpu.push_str(",topoext=on");
    }
    if let Some(v) = &s.hyperv_vendor_id {
        for h in &s.hyperv {
            cpu.push(',');
            cpu.push_str(h.qemu());
        }
        cpu.push_str(&format!(",hv-time=on,hv-vendor-id={v}"));
    }
    a.extend(["-cpu".into(), cpu]);
    let smp = match s.topology {
        Some(t) => format!(
            "{},sockets={},cores={},threads={}",
            s.vcpus, t.sockets, t.cores, t.threads
        ),
        None => s.vcpus.to_string(),
    };
    a.extend([
        "-smp".into(),
        smp,
        "-m".into(),
        format!("{}M", s.memory_mib),
    ]);
    if s.hugepages {
        a.extend([
            "-mem-path".into(),
            "/dev/hugepages".into(),
            "-mem-prealloc".into(),
        ]);
    }
    let (code, vars) = match &s.firmware {
        Firmware::Explicit { code, nvram, .. } => (code.clone(), nvram.clone()),
        Firmware::Auto { .. } => match ovmf {
            Some((c, v)) => (c.to_string(), v.to_string()),
            None => {
                return Err(VmError {
                    field: "firmware".into(),
                    why: "automatic firmware needs the host's OVMF pair for a bare QEMU command line; install OVMF (`passagectl check` says how)".into(),
                })
            }
        },
    };
    a.extend([
        "-drive".into(),
        format!("if=pflash,format=raw,readonly=on,file={code}"),
    ]);
    a.extend(["-drive".into(), format!("if=pflash,format=raw,file={vars}")]);
    for d in &s.disks {
        let fmt = match d.format {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Raw => "raw",
        };
        let file = match &d.source {
            DiskSource::File { path } => path.clone(),
            DiskSource::Volume { pool, volume } => {
                format!("/var/lib/libvirt/images/{pool}/{volume}")
            }
        };
        a.extend([
            "-drive".into(),
            format!("file={file},if=virtio,format={fmt},cache=none,aio=native,discard=unmap"),
        ]);
    }
    for c in &s.cdroms {
        a.extend([
            "-drive".into(),
            format!("file={},media=cdrom,readonly=on", c.iso),
        ]);
    }
    for (i, slot) in slots(&s.pci).iter().enumerate() {
        a.extend([
            "-device".into(),
            format!("pcie-root-port,id=rp{i},chassis={},slot={i}", i + 1),
        ]);
        for (k, p) in slot.iter().enumerate() {
            let mut dev = format!(
                "vfio-pci,host={},bus=rp{i},addr=0x0.{}",
                p.address, p.address.function
            );
            if k == 0 && slot.len() > 1 {
                dev.push_str(",multifunction=on");
            }
            if let Some(r) = &p.rom {
                dev.push_str(&format!(",romfile={r}"));
            }
            a.extend(["-device".into(), dev]);
        }
    }
    if !s.usb.is_empty() {
        a.extend(["-device".into(), "qemu-xhci,id=xhci".into()]);
    }
    for u in &s.usb {
        a.extend([
            "-device".into(),
            format!(
                "usb-host,bus=xhci.0,vendorid=0x{:04x},productid=0x{:04x}",
                u.vendor, u.product
            ),
        ]);
    }
    for (i, e) in s.evdev.iter().enumerate() {
        let grab = if i == 0 { ",grab_all=on,repeat=on" } else { "" };
        a.extend([
            "-object".into(),
            format!("input-linux,id=evdev{i},evdev={e}{grab}"),
        ]);
    }
    match &s.network {
        Some(Network::Nat { .. }) => a.extend(["-netdev".into(), "user,id=net0".into()]),
        Some(Network::Bridge { bridge }) => {
            a.extend(["-netdev".into(), format!("bridge,id=net0,br={bridge}")])
        }
        None => {}
    }
    if s.network.is_some() {
        a.extend(["-device".into(), "virtio-net-pci,netdev=net0".into()]);
    }
    if s.spice {
        a.extend([
            "-vga".into(),
            "std".into(),
            "-spice".into(),
            "port=5900,addr=127.0.0.1,disable-ticketing=on".into(),
        ]);
    } else {
        a.extend([
            "-vga".into(),
            "none".into(),
            "-display".into(),
            "none".into(),
        ]);
    }
    if s.tpm {
        a.extend([
            "-chardev".into(),
            format!("socket,id=chrtpm,path=/run/passage/{}-swtpm.sock", s.name),
            "-tpmdev".into(),
            "emulator,id=tpm0,chardev=chrtpm".into(),
            "-device".into(),
            "tpm-crb,tpmdev=tpm0".into(),
        ]);
    }
    if s.boot_menu {
        a.extend(["-boot".into(), "menu=on".into()]);
    }
    Ok(a)
}
