//! VmSpec → libvirt domain XML.

use std::fmt::Write as _;

use super::tuning::Hv;
use super::{slots, DiskFormat, DiskSource, DomainType, Firmware, Network, Purpose, VmSpec};

/// Escapes text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\'' => o.push_str("&apos;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// First guest bus for passed-through slots: each host slot gets a root port of its own.
const FIRST_HOSTDEV_BUS: u32 = 0x10;

pub fn render(s: &VmSpec) -> String {
    let mut x = String::new();
    let ty = match s.domain_type {
        DomainType::Kvm => "kvm",
        DomainType::Qemu => "qemu",
    };
    let _ = writeln!(x, "<domain type='{ty}'>");
    let _ = writeln!(x, "  <name>{}</name>", esc(&s.name));
    let purpose = match s.purpose {
        Purpose::Gaming => "gaming",
        Purpose::Ml => "ml",
        Purpose::Other => "other",
    };
    let _ = writeln!(x, "  <metadata>\n    <passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'>\n      <passage:purpose>{purpose}</passage:purpose>");
    for (k, v) in s.session.metadata() {
        let _ = writeln!(x, "      <passage:{k}>{v}</passage:{k}>");
    }
    for d in &s.devices_seen {
        let group = d.group.map(|g| format!(" group='{g}'")).unwrap_or_default();
        let _ = writeln!(
            x,
            "      <passage:device address='{}' id='{}'{group}/>",
            d.address,
            esc(&d.id)
        );
    }
    // The root ports made for passed-through slots are Passage's: the device editor removes
    // them when they empty.
    for i in 0..slots(&s.pci).len() {
        let _ = writeln!(
            x,
            "      <passage:root-port index='{}'/>",
            FIRST_HOSTDEV_BUS as usize + i
        );
    }
    let _ = writeln!(x, "    </passage:vm>\n  </metadata>");
    let _ = writeln!(x, "  <memory unit='MiB'>{}</memory>", s.memory_mib);
    let _ = writeln!(
        x,
        "  <currentMemory unit='MiB'>{}</currentMemory>",
        s.memory_mib
    );
    if s.hugepages {
        let _ = writeln!(x, "  <memoryBacking>\n    <hugepages/>\n  </memoryBacking>");
    }
    let _ = writeln!(x, "  <vcpu placement='static'>{}</vcpu>", s.vcpus);
    if s.emulator_cpuset.is_some() {
        let _ = writeln!(x, "  <iothreads>1</iothreads>");
    }
    if !s.vcpu_pins.is_empty() || s.emulator_cpuset.is_some() {
        let _ = writeln!(x, "  <cputune>");
        for (v, c) in &s.vcpu_pins {
            let _ = writeln!(x, "    <vcpupin vcpu='{v}' cpuset='{c}'/>");
        }
        if let Some(e) = &s.emulator_cpuset {
            let _ = writeln!(x, "    <emulatorpin cpuset='{}'/>", esc(e));
            let _ = writeln!(x, "    <iothreadpin iothread='1' cpuset='{}'/>", esc(e));
        }
        let _ = writeln!(x, "  </cputune>");
    }
    // Firmware: auto-selection, or an explicit pair; never both.
    match &s.firmware {
        Firmware::Auto {
            secure_boot,
            enrolled_keys,
        } => {
            let _ = writeln!(x, "  <os firmware='efi'>");
            let _ = writeln!(x, "    <type arch='x86_64' machine='q35'>hvm</type>");
            let yn = |b: bool| if b { "yes" } else { "no" };
            let _ = writeln!(x, "    <firmware>\n      <feature enabled='{}' name='enrolled-keys'/>\n      <feature enabled='{}' name='secure-boot'/>\n    </firmware>", yn(*enrolled_keys), yn(*secure_boot));
        }
        Firmware::Explicit {
            code,
            vars_template,
            nvram,
            secure_boot,
        } => {
            let _ = writeln!(x, "  <os>");
            let _ = writeln!(x, "    <type arch='x86_64' machine='q35'>hvm</type>");
            let _ = writeln!(
                x,
                "    <loader readonly='yes' secure='{}' type='pflash'>{}</loader>",
                if *secure_boot { "yes" } else { "no" },
                esc(code)
            );
            let _ = writeln!(
                x,
                "    <nvram template='{}'>{}</nvram>",
                esc(vars_template),
                esc(nvram)
            );
        }
    }
    let _ = writeln!(
        x,
        "    <bootmenu enable='{}'/>",
        if s.boot_menu { "yes" } else { "no" }
    );
    let _ = writeln!(x, "  </os>");
    let _ = writeln!(x, "  <features>\n    <acpi/>\n    <apic/>");
    if let Some(v) = &s.hyperv_vendor_id {
        let _ = writeln!(x, "    <hyperv mode='custom'>");
        for h in &s.hyperv {
            let extra = if *h == Hv::Spinlocks {
                " retries='8191'"
            } else {
                ""
            };
            let _ = writeln!(x, "      <{} state='on'{extra}/>", h.name());
        }
        let _ = writeln!(
            x,
            "      <vendor_id state='on' value='{}'/>\n    </hyperv>",
            esc(v)
        );
    }
    if s.kvm_hidden {
        let _ = writeln!(x, "    <kvm>\n      <hidden state='on'/>\n    </kvm>");
    }
    let _ = writeln!(x, "    <vmport state='off'/>");
    if s.secure_boot() {
        let _ = writeln!(x, "    <smm state='on'/>");
    }
    let _ = writeln!(x, "    <ioapic driver='kvm'/>");
    let _ = writeln!(x, "  </features>");
    // host-passthrough needs KVM; software emulation gets QEMU's richest model instead.
    let cpu_mode = match s.domain_type {
        DomainType::Kvm => "mode='host-passthrough' check='partial'",
        DomainType::Qemu => "mode='maximum' check='none'",
    };
    let _ = writeln!(x, "  <cpu {cpu_mode} migratable='off'>");
    if let Some(t) = s.topology {
        let _ = writeln!(
            x,
            "    <topology sockets='{}' dies='1' cores='{}' threads='{}'/>",
            t.sockets, t.cores, t.threads
        );
    }
    // The host's cache layout, as the guest's scheduler should see it (host-passthrough only).
    if s.domain_type == DomainType::Kvm {
        let _ = writeln!(x, "    <cache mode='passthrough'/>");
    }
    if s.topoext {
        let _ = writeln!(x, "    <feature policy='require' name='topoext'/>");
    }
    let _ = writeln!(x, "  </cpu>");
    let _ = writeln!(x, "  <clock offset='localtime'>\n    <timer name='rtc' tickpolicy='catchup'/>\n    <timer name='pit' tickpolicy='delay'/>\n    <timer name='hpet' present='no'/>");
    if s.hyperv_vendor_id.is_some() {
        let _ = writeln!(x, "    <timer name='hypervclock' present='yes'/>");
    }
    let _ = writeln!(x, "  </clock>");
    let _ = writeln!(x, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>");
    let _ = writeln!(
        x,
        "  <pm>\n    <suspend-to-mem enabled='no'/>\n    <suspend-to-disk enabled='no'/>\n  </pm>"
    );
    let _ = writeln!(x, "  <devices>");
    let boot = |o: Option<u32>| {
        o.map(|o| format!("\n      <boot order='{o}'/>"))
            .unwrap_or_default()
    };
    let letters = |i: usize| -> String { ((b'a' + (i % 26) as u8) as char).to_string() };
    for (i, d) in s.disks.iter().enumerate() {
        let fmt = match d.format {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Raw => "raw",
        };
        let (kind, source) = match &d.source {
            DiskSource::File { path } => ("file", format!("<source file='{}'/>", esc(path))),
            DiskSource::Volume { pool, volume } => (
                "volume",
                format!("<source pool='{}' volume='{}'/>", esc(pool), esc(volume)),
            ),
        };
        // The disk's I/O on the I/O thread, pinned with the emulator away from the vCPUs.
        let iothread = if s.emulator_cpuset.is_some() {
            " iothread='1'"
        } else {
            ""
        };
        let _ = writeln!(
            x,
            "    <disk type='{kind}' device='disk'>\n      <driver name='qemu' type='{fmt}' cache='none' io='native' discard='unmap'{iothread}/>\n      {source}\n      <target dev='vd{}' bus='virtio'/>{}\n    </disk>",
            letters(i),
            boot(d.boot_order)
        );
    }
    for (i, c) in s.cdroms.iter().enumerate() {
        let _ = writeln!(
            x,
            "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n      <source file='{}'/>\n      <target dev='sd{}' bus='sata'/>\n      <readonly/>{}\n    </disk>",
            esc(&c.iso),
            letters(i),
            boot(c.boot_order)
        );
    }
    let groups = slots(&s.pci);
    for (i, _) in groups.iter().enumerate() {
        let _ = writeln!(
            x,
            "    <controller type='pci' index='{}' model='pcie-root-port'/>",
            FIRST_HOSTDEV_BUS as usize + i
        );
    }
    match &s.network {
        Some(Network::Nat { network }) => {
            let _ = writeln!(x, "    <interface type='network'>\n      <source network='{}'/>\n      <model type='virtio'/>\n    </interface>", esc(network));
        }
        Some(Network::Bridge { bridge }) => {
            let _ = writeln!(x, "    <interface type='bridge'>\n      <source bridge='{}'/>\n      <model type='virtio'/>\n    </interface>", esc(bridge));
        }
        None => {}
    }
    // All functions of a host slot on one guest slot, as on the card: multifunction='on'.
    for (i, slot) in groups.iter().enumerate() {
        let bus = FIRST_HOSTDEV_BUS as usize + i;
        for (k, p) in slot.iter().enumerate() {
            let a = p.address;
            let multi = if k == 0 && slot.len() > 1 {
                " multifunction='on'"
            } else {
                ""
            };
            let rom = p
                .rom
                .as_ref()
                .map(|r| format!("\n      <rom file='{}'/>", esc(r)))
                .unwrap_or_default();
            let _ = writeln!(
                x,
                "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio'/>\n      <source>\n        <address domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'/>\n      </source>{rom}\n      <address type='pci' domain='0x0000' bus='0x{bus:02x}' slot='0x00' function='0x{:x}'{multi}/>{}\n    </hostdev>",
                a.domain,
                a.bus,
                a.slot,
                a.function,
                a.function,
                boot(p.boot_order)
            );
        }
    }
    for u in &s.usb {
        let _ = writeln!(
            x,
            "    <hostdev mode='subsystem' type='usb' managed='yes'>\n      <source startupPolicy='optional'>\n        <vendor id='0x{:04x}'/>\n        <product id='0x{:04x}'/>\n      </source>\n    </hostdev>",
            u.vendor, u.product
        );
    }
    for (i, e) in s.evdev.iter().enumerate() {
        let grab = if i == 0 {
            " grab='all' repeat='on' grabToggle='ctrl-ctrl'"
        } else {
            ""
        };
        let _ = writeln!(
            x,
            "    <input type='evdev'>\n      <source dev='{}'{grab}/>\n    </input>",
            esc(e)
        );
    }
    if s.spice {
        let _ = writeln!(x, "    <graphics type='spice' autoport='yes'>\n      <listen type='address'/>\n      <image compression='off'/>\n    </graphics>");
        let _ = writeln!(x, "    <video>\n      <model type='vga' vram='16384' heads='1' primary='yes'/>\n    </video>");
        let _ = writeln!(x, "    <channel type='spicevmc'>\n      <target type='virtio' name='com.redhat.spice.0'/>\n    </channel>");
    } else {
        let _ = writeln!(x, "    <video>\n      <model type='none'/>\n    </video>");
    }
    // The QEMU guest agent's port (libvirt picks the socket and adds the virtio-serial
    // controller): shutdown through the agent, and the VM page's "answering".
    let _ = writeln!(x, "    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>");
    if s.tpm {
        let _ = writeln!(
            x,
            "    <tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>\n    </tpm>"
        );
    }
    let _ = writeln!(x, "    <memballoon model='none'/>");
    let _ = writeln!(x, "  </devices>");
    x.push_str("</domain>\n");
    x
}
