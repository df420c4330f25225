//! The unattended install's end: the answer media a VM's definition records (core's
//! `vm::unattended::finish`) ejected from the running VM, its CD-ROM and record taken out of
//! the definition, and the media deleted from libvirt's pool — the password it holds with it.

use passage_core::vm::domain::Domain;
use passage_core::vm::unattended::finish::without_media;

use crate::{esc, Hypervisor, VirtError, VmState};

/// Detaches and deletes `name`'s answer media on `h` (libvirt here, or through
/// `passagectl-vm serve`); its path, or `None` when the definition records none. Only media
/// Passage made for this VM (`NAME-unattended.iso`) is deleted: a copy of another VM's
/// definition (virt-clone keeps the record) or an imported one only loses the record and the
/// CD-ROM, never another VM's file.
pub fn finish_unattended(h: &dyn Hypervisor, name: &str) -> Result<Option<String>, VirtError> {
    let xml = h.xml(name)?;
    let bad = |e: passage_core::vm::VmError| VirtError::Libvirt(e.to_string());
    let Some((defined, media)) = without_media(&xml).map_err(bad)? else {
        return Ok(None);
    };
    if h.state(name)? == VmState::Running {
        let live = Domain::read(&h.live_xml(name)?).map_err(bad)?;
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
            h.update_live_device(name, &empty)?;
        }
    }
    h.define(&defined)?;
    if !is_own(&media, name) {
        return Ok(None);
    }
    h.delete_image(&media)?;
    Ok(Some(media))
}

/// Whether `media` is the answer media Passage made for the VM `name`.
fn is_own(media: &str, name: &str) -> bool {
    std::path::Path::new(media)
        .file_name()
        .is_some_and(|f| f.to_string_lossy() == format!("{name}-unattended.iso"))
}

/// After the VM `name` (defined as `xml`) is removed: the answer media Passage made for it,
/// which holds the account's password, goes with it. Its path, or `None` when there is none.
pub fn remove_own_media(
    h: &dyn Hypervisor,
    name: &str,
    xml: &str,
) -> Result<Option<String>, VirtError> {
    let recorded = passage_core::vm::unattended::finish::recorded(xml)
        .map_err(|e| VirtError::Libvirt(e.to_string()))?;
    match recorded.filter(|m| is_own(m, name)) {
        Some(media) => {
            h.delete_image(&media)?;
            Ok(Some(media))
        }
        None => Ok(None),
    }
}
