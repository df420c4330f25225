//! The cheap checks on what a caller sends the helper, before polkit is asked or the host is
//! read: list sizes, item lengths, control characters, PCI addresses. In core so that the
//! helper, its tests and the fuzz target use one set of rules.

use crate::host::pci::BadPciAddress;
use crate::host::PciAddress;

/// At most this many items in a list argument.
pub const MAX_ITEMS: usize = 64;
/// At most this many bytes in one item.
pub const MAX_ITEM_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("too many {what} ({count}); at most {MAX_ITEMS}")]
    TooMany { what: String, count: usize },
    #[error("a {what} entry is {len} bytes long; at most {MAX_ITEM_LEN}")]
    TooLong { what: String, len: usize },
    #[error("a {what} entry holds a control character (a newline?): {start:?}")]
    Control { what: String, start: String },
    #[error("{0}")]
    Address(#[from] BadPciAddress),
}

/// Refuses oversized or malformed lists before anything else looks at them.
pub fn limits(what: &str, items: &[String]) -> Result<(), ArgError> {
    if items.len() > MAX_ITEMS {
        return Err(ArgError::TooMany {
            what: what.into(),
            count: items.len(),
        });
    }
    for i in items {
        if i.len() > MAX_ITEM_LEN {
            return Err(ArgError::TooLong {
                what: what.into(),
                len: i.len(),
            });
        }
        if i.chars().any(char::is_control) {
            return Err(ArgError::Control {
                what: what.into(),
                start: i.chars().take(40).collect(),
            });
        }
    }
    Ok(())
}

/// A list of PCI addresses: size limits first, then each address parsed.
pub fn devices(items: &[String]) -> Result<Vec<PciAddress>, ArgError> {
    limits("devices", items)?;
    Ok(items
        .iter()
        .map(|d| d.parse())
        .collect::<Result<Vec<_>, BadPciAddress>>()?)
}

/// One PCI address, within the limits and well formed.
pub fn address(a: &str) -> Result<PciAddress, ArgError> {
    Ok(devices(&[a.to_string()])?.remove(0))
}

/// A domain UUID as libvirt writes it (`8-4-4-4-12` hex digits, any case), in lower case;
/// `None` for anything else.
pub fn uuid(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = parts.len() == lens.len()
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| s.to_ascii_lowercase())
}

/// A change id: a number written with at least six digits (`000042`, `1000000`), in that one
/// form (no other leading zeros), at most 20 digits.
pub fn change_id(id: &str) -> bool {
    id.len() <= 20
        && id.bytes().all(|b| b.is_ascii_digit())
        && id.parse::<u64>().is_ok_and(|n| format!("{n:06}") == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_bounded_and_clean() {
        let many: Vec<String> = (0..65).map(|_| "0000:01:00.0".into()).collect();
        assert!(matches!(
            devices(&many),
            Err(ArgError::TooMany { count: 65, .. })
        ));
        assert!(matches!(
            limits("arguments", &["x".repeat(513)]),
            Err(ArgError::TooLong { len: 513, .. })
        ));
        assert!(limits("arguments", &["iommu=pt\nrm".into()])
            .expect_err("newline")
            .to_string()
            .contains("control character"));
        assert_eq!(
            address("0000:0a:00.1").map(|a| a.to_string()),
            Ok("0000:0a:00.1".to_string())
        );
        assert!(address("../etc").is_err());
        assert!(change_id("000001") && !change_id("../001") && !change_id("00001"));
        assert!(change_id("1234567") && change_id("1000000") && !change_id("0999999"));
        assert!(!change_id("+00001") && !change_id("99999999999999999999"));
        assert_eq!(
            uuid("5A3B0D5C-1A2B-4C3D-8E9F-0123456789ab").as_deref(),
            Some("5a3b0d5c-1a2b-4c3d-8e9f-0123456789ab")
        );
        for bad in [
            "",
            "../x",
            "5a3b0d5c1a2b4c3d8e9f0123456789ab",
            "5a3b0d5c-1a2b-4c3d-8e9f-0123456789ag",
        ] {
            assert_eq!(uuid(bad), None, "{bad}");
        }
    }
}
