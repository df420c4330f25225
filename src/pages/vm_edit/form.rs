//! What the Edit… view holds: the VM's settings as they were and as the user set them, and the
//! typed changes between the two (only what the user changed is sent).

use passage_core::host::Host;
use passage_core::host::PciAddress;
use passage_core::vm::draft::BootItem;
use passage_core::vm::hugepages::HugepageMode;
use passage_core::vm::looking_glass::{Backing, Monitor};
use passage_core::vm::settings::{
    self, Changes, Media, NewDisk, Pinning, RomEdit, RomFile, Settings,
};
use passage_core::vm::{Domain, VmError};

/// One value the user set (from a widget, or the app's `vm-edit-set` action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    MemoryGib(u64),
    Vcpus(u32),
    Pin(bool),
    Hugepages(HugepageMode),
    /// The install ISO's path; empty: ejected.
    InstallIso(String),
    VirtioIso(String),
    SecureBoot(bool),
    Tpm(bool),
    Spice(bool),
    /// The QEMU guest agent's channel.
    GuestAgent(bool),
    /// The install ISO first (else the disk first).
    IsoFirst(bool),
    /// Take the disk with this target out (true) or keep it.
    RemoveDisk(String, bool),
    /// A new image of this many GiB.
    AddDisk(u64),
    /// The size of new image `i`.
    NewDiskGib(usize, u64),
    /// New image `i` not made after all.
    DropNewDisk(usize),
    /// The card's ROM file (empty: the card's own).
    RomFile(String),
    /// The card's ROM BAR on (the guest sees a ROM) or off.
    RomBar(bool),
    /// Looking Glass for this monitor, or none.
    LookingGlass(Option<Monitor>),
}

impl Field {
    /// `field=value` as the `vm-edit-set` action takes it (as `wizard-set` does).
    pub fn parse(kv: &str) -> Option<Field> {
        let (k, v) = kv.split_once('=')?;
        let on = || match v {
            "on" | "true" => Some(true),
            "off" | "false" => Some(false),
            _ => None,
        };
        Some(match k {
            "memory-gib" => Field::MemoryGib(v.parse().ok()?),
            "vcpus" => Field::Vcpus(v.parse().ok()?),
            "pin" => Field::Pin(on()?),
            "hugepages" if v == "off" => Field::Hugepages(HugepageMode::Off),
            "hugepages" => Field::Hugepages(HugepageMode::from_word(v)?),
            "install-iso" => Field::InstallIso(v.to_string()),
            "virtio-iso" => Field::VirtioIso(v.to_string()),
            "secure-boot" => Field::SecureBoot(on()?),
            "tpm" => Field::Tpm(on()?),
            "spice" => Field::Spice(on()?),
            "guest-agent" => Field::GuestAgent(on()?),
            "iso-first" => Field::IsoFirst(on()?),
            "remove-disk" => Field::RemoveDisk(v.to_string(), true),
            "add-disk" => Field::AddDisk(v.parse().ok()?),
            "rom-file" => Field::RomFile(v.to_string()),
            "rom-bar" => Field::RomBar(on()?),
            "looking-glass" if v == "off" => Field::LookingGlass(None),
            "looking-glass" => Field::LookingGlass(Some(Monitor::parse(v).ok()?)),
            _ => return None,
        })
    }
}

/// The values the view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub memory_gib: u64,
    pub vcpus: u32,
    pub pin: bool,
    pub hugepages: HugepageMode,
    pub install_iso: String,
    pub virtio_iso: String,
    pub secure_boot: bool,
    pub tpm: bool,
    pub spice: bool,
    pub guest_agent: bool,
    pub iso_first: bool,
    pub remove: Vec<String>,
    pub add: Vec<NewDisk>,
    /// The VM's one graphics card, whose ROM the view sets (`None`: no ROM rows).
    pub rom_card: Option<PciAddress>,
    pub rom_file: String,
    pub rom_bar: bool,
    /// Looking Glass's monitor (as Passage recorded it), and where its memory lives here.
    pub looking_glass: Option<Monitor>,
    pub lg_backing: Backing,
}

impl Form {
    pub fn of(d: &Domain) -> Form {
        let s = Settings::of(d);
        let first = |l: &[passage_core::vm::domain::DiskInfo]| {
            l.iter()
                .filter_map(|x| x.boot_order)
                .min()
                .unwrap_or(u32::MAX)
        };
        Form {
            memory_gib: s.memory_mib.unwrap_or(1024).div_ceil(1024),
            vcpus: s.vcpus.unwrap_or(1),
            pin: !s.vcpu_pins.is_empty(),
            hugepages: s.hugepages,
            install_iso: s.install_iso.unwrap_or_default(),
            virtio_iso: s.virtio_iso.unwrap_or_default(),
            secure_boot: s.secure_boot,
            tpm: s.tpm,
            spice: s.spice,
            guest_agent: s.guest_agent,
            iso_first: first(&d.cdroms) < first(&d.disks),
            remove: vec![],
            add: vec![],
            rom_card: None,
            rom_file: String::new(),
            rom_bar: true,
            looking_glass: d.looking_glass.and_then(|l| l.monitor),
            lg_backing: d.looking_glass.map_or(Backing::Shm, |l| l.backing),
        }
    }

    /// The form with the card's ROM as the domain has it, where the VM has one graphics card
    /// on `host`.
    pub fn with_rom(mut self, d: &Domain, host: &Host) -> Form {
        let Ok(card) = settings::rom_card(d, host) else {
            return self;
        };
        self.rom_card = Some(card);
        let rom = d
            .hostdevs
            .iter()
            .find(|h| h.host == Some(card))
            .and_then(|h| h.rom.as_ref());
        if let Some(r) = rom {
            self.rom_file = r.file.clone().unwrap_or_default();
            self.rom_bar = r.bar.as_deref() != Some("off");
        }
        self
    }

    /// The card's ROM edit against `was` (the file read and walked: [`settings::read_rom_file`]),
    /// and the file the helper must place for QEMU first.
    pub fn rom_change(&self, was: &Form) -> Result<(Option<RomEdit>, Option<RomFile>), VmError> {
        let file_changed = self.rom_file.trim() != was.rom_file;
        if !file_changed && self.rom_bar == was.rom_bar {
            return Ok((None, None));
        }
        let Some(card) = self.rom_card else {
            return Ok((None, None));
        };
        let (file, place) = match (file_changed, self.rom_file.trim()) {
            (false, _) => (None, None),
            (true, "") => (Some(None), None),
            (true, p) => {
                let f = settings::read_rom_file(p)?;
                let place = f.needs_placing().then(|| f.clone());
                (Some(Some(f.placed)), place)
            }
        };
        let bar = (self.rom_bar != was.rom_bar).then_some(self.rom_bar);
        Ok((Some(RomEdit { card, file, bar }), place))
    }

    pub fn set(&mut self, f: Field) {
        match f {
            Field::MemoryGib(g) => self.memory_gib = g,
            Field::Vcpus(n) => self.vcpus = n,
            Field::Pin(on) => self.pin = on,
            Field::Hugepages(m) => self.hugepages = m,
            Field::InstallIso(p) => self.install_iso = p,
            Field::VirtioIso(p) => self.virtio_iso = p,
            Field::SecureBoot(on) => self.secure_boot = on,
            Field::Tpm(on) => self.tpm = on,
            Field::Spice(on) => self.spice = on,
            Field::GuestAgent(on) => self.guest_agent = on,
            Field::IsoFirst(on) => self.iso_first = on,
            Field::RemoveDisk(t, on) => {
                self.remove.retain(|x| *x != t);
                if on {
                    self.remove.push(t);
                }
            }
            Field::AddDisk(gib) => self.add.push(NewDisk { gib, raw: false }),
            Field::NewDiskGib(i, gib) => {
                if let Some(n) = self.add.get_mut(i) {
                    n.gib = gib;
                }
            }
            Field::DropNewDisk(i) => {
                if i < self.add.len() {
                    self.add.remove(i);
                }
            }
            Field::RomFile(p) => self.rom_file = p,
            Field::RomBar(on) => self.rom_bar = on,
            Field::LookingGlass(m) => self.looking_glass = m,
        }
    }

    /// What differs from `was`, as core's typed changes; pinning is planned on `host` (the
    /// wizard's plan) when it is turned on.
    pub fn changes(&self, was: &Form, host: &Host) -> Result<Changes, VmError> {
        let media = |now: &str, then: &str| {
            (now.trim() != then).then(|| match now.trim() {
                "" => Media::Eject,
                p => Media::Insert(p.to_string()),
            })
        };
        // Pins follow the switch: turned on, the wizard's plan for the vCPUs then; fewer vCPUs
        // alone only drop the pins of the vCPUs that go (core's vcpus edit).
        let pinning = match (self.pin != was.pin, self.pin) {
            (false, _) => None,
            (true, true) => Some(Pinning::suggest(host, self.vcpus)?),
            (true, false) => Some(Pinning::Off),
        };
        let order = if self.iso_first {
            vec![BootItem::InstallIso, BootItem::Disk]
        } else {
            vec![BootItem::Disk, BootItem::InstallIso]
        };
        Ok(Changes {
            memory_gib: (self.memory_gib != was.memory_gib).then_some(self.memory_gib),
            vcpus: (self.vcpus != was.vcpus).then_some(self.vcpus),
            hugepages: (self.hugepages != was.hugepages).then_some(self.hugepages),
            install_iso: media(&self.install_iso, &was.install_iso),
            virtio_iso: media(&self.virtio_iso, &was.virtio_iso),
            secure_boot: (self.secure_boot != was.secure_boot).then_some(self.secure_boot),
            tpm: (self.tpm != was.tpm).then_some(self.tpm),
            spice: (self.spice != was.spice).then_some(self.spice),
            guest_agent: (self.guest_agent != was.guest_agent).then_some(self.guest_agent),
            looking_glass: (self.looking_glass != was.looking_glass)
                .then(|| self.looking_glass.map(|m| (m, self.lg_backing))),
            boot: (self.iso_first != was.iso_first).then_some(order),
            pinning,
            add_disks: self.add.clone(),
            remove_disks: self.remove.clone(),
            rom: self.rom_change(was)?.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::Root;

    /// A user's published domain (the shared corpus's 001.xml, 46620/kvm-passthrough): 8
    /// pinned vCPUs, about 15.8 GiB, one CD-ROM.
    fn win10() -> Domain {
        let xml = std::fs::read_to_string("/work/shared/corpora/user-domains/001.xml")
            .expect("the shared corpus of users' domains");
        Domain::read(&xml).expect("domain")
    }

    fn host() -> (Host, tempfile::TempDir) {
        let d = tempfile::tempdir().expect("tempdir");
        passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
        (Host::scan(&Root::new(d.path()).expect("root")), d)
    }

    #[test]
    fn only_what_the_user_changed_is_sent() {
        let (h, _d) = host();
        let was = Form::of(&win10());
        assert_eq!((was.memory_gib, was.vcpus, was.pin), (16, 8, true));
        assert!(was.changes(&was, &h).expect("changes").is_empty());
        let mut f = was.clone();
        for x in [
            Field::MemoryGib(8),
            Field::Vcpus(4),
            Field::InstallIso(String::new()),
            Field::AddDisk(64),
            Field::NewDiskGib(0, 100),
            Field::RemoveDisk("sda".into(), true),
        ] {
            f.set(x);
        }
        let c = f.changes(&was, &h).expect("changes");
        assert_eq!(c.memory_gib, Some(8));
        assert_eq!(c.vcpus, Some(4));
        // Fewer vCPUs alone keep the switch's pins as core's vcpus edit leaves them.
        assert_eq!(c.pinning, None);
        assert_eq!(c.install_iso, Some(Media::Eject));
        assert_eq!(
            c.add_disks,
            vec![NewDisk {
                gib: 100,
                raw: false
            }]
        );
        assert_eq!(c.remove_disks, vec!["sda".to_string()]);
        assert_eq!((c.tpm, c.spice, c.boot.clone()), (None, None, None));
        // Kept after all: not sent.
        f.set(Field::RemoveDisk("sda".into(), false));
        f.set(Field::DropNewDisk(0));
        let c = f.changes(&was, &h).expect("changes");
        assert!(c.remove_disks.is_empty() && c.add_disks.is_empty());
    }

    #[test]
    fn the_guest_agent_switch_adds_the_channel_a_vm_lacks() {
        let (h, _d) = host();
        let was = Form::of(&win10());
        assert!(!was.guest_agent, "001.xml has no agent channel");
        let mut f = was.clone();
        f.set(Field::parse("guest-agent=on").expect("field"));
        let c = f.changes(&was, &h).expect("changes");
        assert_eq!(c.guest_agent, Some(true));
        assert_eq!((c.tpm, c.spice, c.memory_gib), (None, None, None));
    }

    #[test]
    fn the_pin_switch_plans_or_unpins_and_the_action_words_parse() {
        let (h, _d) = host();
        let was = Form::of(&win10());
        let mut f = was.clone();
        f.set(Field::parse("pin=off").expect("field"));
        assert_eq!(f.changes(&was, &h).expect("c").pinning, Some(Pinning::Off));
        let mut off = was.clone();
        off.pin = false;
        let mut on = off.clone();
        on.set(Field::parse("pin=on").expect("field"));
        assert!(matches!(
            on.changes(&off, &h).expect("c").pinning,
            Some(Pinning::To(_))
        ));
        assert_eq!(
            Field::parse("hugepages=boot"),
            Some(Field::Hugepages(HugepageMode::AtBoot))
        );
        assert_eq!(Field::parse("iso-first=on"), Some(Field::IsoFirst(true)));
        assert_eq!(Field::parse("memory-gib=lots"), None);
        assert_eq!(Field::parse("colour=red"), None);
    }
}
