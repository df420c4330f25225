//! A VM's settings edit (core's `vm::settings`) applied to libvirt, the one way both front
//! ends apply it (`passagectl vm edit` and the app's *Edit…*): the new disk images made, the
//! new definition defined, then a running VM's CD-ROMs given their new media. Nothing is left
//! half-done: when a step fails, the images made for the edit are deleted again and, after a
//! failed media change, the old definition is defined again.

use passage_core::vm::settings::{self, Changes, Edited, NewVolume};
use passage_core::vm::VmError;

use crate::{Hypervisor, VirtError, VmState, VolumeFormat};

/// Which step of an edit failed; nothing of the edit is kept.
#[derive(Debug, thiserror::Error)]
pub enum EditFailed {
    /// libvirt could not say what the VM is now.
    #[error("{0}")]
    Read(VirtError),
    /// The change does not fit the VM (core's reason).
    #[error("{0}")]
    Refused(VmError),
    /// A new disk image could not be made.
    #[error("the disk image {volume} could not be made: {why}")]
    Volume { volume: String, why: VirtError },
    /// libvirt refused the new definition.
    #[error("{0}")]
    Define(VirtError),
    /// The running VM did not take its CD-ROM's new media.
    #[error("{0}")]
    Media(VirtError),
}

/// Edits VM `vm` as libvirt holds it now (its definition, and whether it runs): `changes` by
/// core's rules, then [`apply`]. Returns the XML it started from and what was done.
pub fn edit(
    h: &dyn Hypervisor,
    vm: &str,
    changes: &Changes,
) -> Result<(String, Edited), EditFailed> {
    let before = h.xml(vm).map_err(EditFailed::Read)?;
    let running = h.state(vm).map_err(EditFailed::Read)? == VmState::Running;
    let e = settings::edit(&before, changes, running).map_err(EditFailed::Refused)?;
    apply(h, vm, &before, &e)?;
    Ok((before, e))
}

/// Makes `e`'s new images, defines `e.xml` (in place of `before`) and gives running VM `vm`
/// its CD-ROMs' new media; on failure, undoes what it did.
pub fn apply(h: &dyn Hypervisor, vm: &str, before: &str, e: &Edited) -> Result<(), EditFailed> {
    if e.xml == before && e.live_media.is_empty() && e.new_volumes.is_empty() {
        return Ok(());
    }
    let made = create_volumes(h, &e.new_volumes)?;
    let undo_volumes = || {
        for v in &made {
            let _ = h.delete_volume(&v.pool, &v.volume);
        }
    };
    if let Err(why) = h.define(&e.xml) {
        undo_volumes();
        return Err(EditFailed::Define(why));
    }
    for m in &e.live_media {
        if let Err(why) = h.update_live_device(vm, &m.element) {
            // The running VM keeps its media; so does its definition.
            let _ = h.define(before);
            undo_volumes();
            return Err(EditFailed::Media(why));
        }
    }
    Ok(())
}

/// Makes the new disk images (the pool first when it is missing), as Create does; when one
/// fails, those made before it are deleted again.
fn create_volumes<'a>(
    h: &dyn Hypervisor,
    vols: &'a [NewVolume],
) -> Result<Vec<&'a NewVolume>, EditFailed> {
    let mut made: Vec<&NewVolume> = vec![];
    for v in vols {
        let format = if v.raw {
            VolumeFormat::RawPreallocated
        } else {
            VolumeFormat::Qcow2
        };
        let done = h
            .ensure_pool(&v.pool, passage_core::vm::draft::POOL_PATH)
            .and_then(|()| {
                h.create_volume(&v.pool, &v.volume, v.gib << 30, format, &mut |_, _| {})
            });
        if let Err(why) = done {
            for m in &made {
                let _ = h.delete_volume(&m.pool, &m.volume);
            }
            return Err(EditFailed::Volume {
                volume: v.volume.clone(),
                why,
            });
        }
        made.push(v);
    }
    Ok(made)
}
