//! A file put into a storage pool through libvirt (virStorageVolUpload): the caller needs no
//! write access to the pool's directory (root's `/var/lib/libvirt/images`), libvirtd writes
//! it. Used for the unattended install's answer ISO, built by the user in a private folder.

use std::io::Read;
use std::path::Path;

use virt::stream::Stream;

use crate::{esc, lv, word, Libvirt, VirtError};

/// What one `send` carries.
const CHUNK: usize = 1 << 20;

impl Libvirt {
    /// Copies the file at `src` into `pool` as a new raw volume `name` (refused when one of
    /// that name exists); its path in the pool. A failed copy leaves no volume.
    pub(crate) fn upload_file(
        &self,
        pool: &str,
        name: &str,
        src: &Path,
    ) -> Result<String, VirtError> {
        word(name, "volume")?;
        let mut f = std::fs::File::open(src)
            .map_err(|e| VirtError::Libvirt(format!("{}: {e}", src.display())))?;
        let bytes = f
            .metadata()
            .map_err(|e| VirtError::Libvirt(format!("{}: {e}", src.display())))?
            .len();
        let p = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .map_err(|_| VirtError::Libvirt(format!("there is no storage pool {pool:?}")))?;
        let xml = format!(
            "<volume><name>{}</name><capacity unit='bytes'>{bytes}</capacity><allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>",
            esc(name)
        );
        let vol = virt::storage_vol::StorageVol::create_xml(&p, &xml, 0).map_err(lv)?;
        let sent = (|| {
            let stream = Stream::new(&self.conn, 0).map_err(lv)?;
            vol.upload(&stream, 0, bytes, 0).map_err(lv)?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = f
                    .read(&mut buf)
                    .map_err(|e| VirtError::Libvirt(format!("{}: {e}", src.display())))?;
                if n == 0 {
                    break;
                }
                let mut at = 0;
                while at < n {
                    let w = stream.send(&buf[at..n]).map_err(lv)?;
                    at += usize::try_from(w).unwrap_or(0).max(1);
                }
            }
            stream.finish().map_err(lv)
        })();
        match sent {
            Ok(()) => vol.path().map_err(lv),
            Err(e) => {
                let _ = vol.delete(0);
                Err(e)
            }
        }
    }
}
