//! Passage's libvirt layer: the few things the app and passagectl do with VMs, behind a small
//! trait so front ends can hold any implementation (and tests a `test:///default` one), and
//! implemented with the `virt` crate. Calls block: the GTK app makes them from one worker
//! thread, never the main loop.

use virt::connect::Connect;
use virt::domain::{Domain, DomainState};

#[derive(Debug, thiserror::Error)]
pub enum VirtError {
    #[error("cannot connect to libvirt at {uri}: {why}. Is libvirtd running (and are you in the libvirt group)?")]
    Connect { uri: String, why: String },
    #[error("there is no VM named {0:?}; `passagectl vm list` shows them")]
    NoSuchVm(String),
    #[error("libvirt refused: {0}")]
    Libvirt(String),
}

fn lv(e: virt::error::Error) -> VirtError {
    VirtError::Libvirt(e.message().to_string())
}

/// What a VM list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmInfo {
    pub name: String,
    pub uuid: String,
    pub running: bool,
    /// `gaming`, `ml` or `other` when Passage created it (from its metadata), else `None`.
    pub passage_purpose: Option<String>,
}

/// The operations Passage needs from a hypervisor.
pub trait Hypervisor {
    fn list(&self) -> Result<Vec<VmInfo>, VirtError>;
    /// Defines (or redefines) a VM from domain XML; returns its name.
    fn define(&self, xml: &str) -> Result<String, VirtError>;
    /// Removes a VM's definition and its NVRAM (never its disks).
    fn undefine(&self, name: &str) -> Result<(), VirtError>;
    fn start(&self, name: &str) -> Result<(), VirtError>;
    /// Stops a VM at once (pulls the plug).
    fn destroy(&self, name: &str) -> Result<(), VirtError>;
    /// The domain XML as libvirt holds it (inactive definition).
    fn xml(&self, name: &str) -> Result<String, VirtError>;
    /// libvirt's domain capabilities for q35 (firmware, features).
    fn capabilities(&self) -> Result<String, VirtError>;
}

/// A libvirt connection (`qemu:///system` normally; `test:///default` in unit tests).
pub struct Libvirt {
    conn: Connect,
}

impl Libvirt {
    pub fn open(uri: &str) -> Result<Self, VirtError> {
        Connect::open(Some(uri))
            .map(|conn| Self { conn })
            .map_err(|e| VirtError::Connect {
                uri: uri.to_string(),
                why: e.message().to_string(),
            })
    }

    fn domain(&self, name: &str) -> Result<Domain, VirtError> {
        self.conn
            .lookup_domain_by_name(name)
            .map_err(|_| VirtError::NoSuchVm(name.to_string()))
    }
}

/// Passage's purpose tag in a domain's metadata, if present.
fn purpose(xml: &str) -> Option<String> {
    let start = xml.find("<passage:purpose>")? + "<passage:purpose>".len();
    let end = xml[start..].find("</passage:purpose>")? + start;
    Some(xml[start..end].to_string())
}

impl Hypervisor for Libvirt {
    fn list(&self) -> Result<Vec<VmInfo>, VirtError> {
        let flags = virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE
            | virt::sys::VIR_CONNECT_LIST_DOMAINS_INACTIVE;
        let mut out = Vec::new();
        for d in self.conn.list_all_domains(flags).map_err(lv)? {
            let xml = d.xml_desc(0).map_err(lv)?;
            out.push(VmInfo {
                name: d.name().map_err(lv)?,
                uuid: d.uuid_string().map_err(lv)?,
                running: d.is_active().map_err(lv)?,
                passage_purpose: purpose(&xml),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn define(&self, xml: &str) -> Result<String, VirtError> {
        self.conn
            .define_domain_xml(xml)
            .and_then(|d| d.name())
            .map_err(lv)
    }

    fn undefine(&self, name: &str) -> Result<(), VirtError> {
        let d = self.domain(name)?;
        // NVRAM goes with the VM; the test driver has none and refuses the flag.
        d.undefine_flags(virt::sys::VIR_DOMAIN_UNDEFINE_NVRAM)
            .or_else(|_| d.undefine())
            .map_err(lv)
    }

    fn start(&self, name: &str) -> Result<(), VirtError> {
        self.domain(name)?.create().map_err(lv)
    }

    fn destroy(&self, name: &str) -> Result<(), VirtError> {
        let d = self.domain(name)?;
        let (state, _) = d.state().map_err(lv)?;
        if state.is(DomainState::Shutoff) {
            return Ok(());
        }
        d.destroy().map_err(lv)
    }

    fn xml(&self, name: &str) -> Result<String, VirtError> {
        self.domain(name)?
            .xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
            .map_err(lv)
    }

    fn capabilities(&self) -> Result<String, VirtError> {
        self.conn
            .domain_capabilities(None, Some("x86_64"), Some("q35"), None, 0)
            .map_err(lv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "<domain type='test'><name>passage-t</name><metadata><passage:vm xmlns:passage='https://github.com/passage/passage/vm/1'><passage:purpose>ml</passage:purpose></passage:vm></metadata><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";

    #[test]
    fn the_test_driver_defines_lists_starts_and_undefines() {
        let h = Libvirt::open("test:///default").expect("test driver");
        assert_eq!(h.define(MINIMAL).expect("define"), "passage-t");
        let vm = h
            .list()
            .expect("list")
            .into_iter()
            .find(|v| v.name == "passage-t")
            .expect("listed");
        assert_eq!(vm.passage_purpose.as_deref(), Some("ml"));
        assert!(!vm.running);
        h.start("passage-t").expect("start");
        assert!(h
            .list()
            .expect("list")
            .iter()
            .any(|v| v.name == "passage-t" && v.running));
        h.destroy("passage-t").expect("destroy");
        h.destroy("passage-t")
            .expect("destroying a stopped VM is fine");
        assert!(h
            .xml("passage-t")
            .expect("xml")
            .contains("<passage:purpose>ml</passage:purpose>"));
        h.undefine("passage-t").expect("undefine");
        let e = h.start("passage-t").expect_err("gone").to_string();
        assert!(e.contains("no VM named \"passage-t\""), "{e}");
        assert!(h
            .define("<domain>")
            .expect_err("bad xml")
            .to_string()
            .starts_with("libvirt refused"));
    }

    #[test]
    fn a_bad_uri_says_what_to_check() {
        let e = Libvirt::open("qemu:///system?socket=/nonexistent/libvirt-sock")
            .err()
            .expect("no daemon")
            .to_string();
        assert!(
            e.contains("/nonexistent/libvirt-sock") && e.contains("Is libvirtd running"),
            "{e}"
        );
    }
}
