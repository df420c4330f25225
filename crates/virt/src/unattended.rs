//! The unattended install's end: the answer media a VM's definition records (core's
//! `vm::unattended::finish`) ejected from the running VM, its CD-ROM and record taken out of
//! the definition, and the media deleted from libvirt's pool — the password it holds with it.

use passage_core::vm::domain::Domain;
use passage_core::vm::unattended::finish::without_media;

use crate::{esc, Hypervisor, Libvirt, VirtError, VmState};

impl Libvirt {
    /// Detaches and deletes `name`'s answer media; its path, or `None` when it records none.
    pub fn finish_unattended(&self, name: &str) -> Result<Option<String>, VirtError> {
        let xml = self.xml(name)?;
        let bad = |e: passage_core::vm::VmError| VirtError::Libvirt(e.to_string());
        let Some((defined, media)) = without_media(&xml).map_err(bad)? else {
            return Ok(None);
        };
        if self.state(name)? == VmState::Running {
            let live = Domain::read(&self.live_xml(name)?).map_err(bad)?;
            if let Some(target) = live
                .cdroms
                .iter()
                .find(|c| c.source.as_deref() == Some(media.as_str()))
                .and_then(|c| Some((c.target.clone()?, c.bus.clone()?)))
            {
                let empty = format!(
                    "<disk type='file' device='cdrom'><target dev='{}' bus='{}'/></disk>",
                    esc(&target.0),
                    esc(&target.1)
                );
                self.update_live_device(name, &empty)?;
            }
        }
        self.define(&defined)?;
        self.delete_image(&media)?;
        Ok(Some(media))
    }
}
