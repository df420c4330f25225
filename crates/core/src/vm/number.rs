//! Numbers in domain XML, read exactly as libvirt reads them.
//!
//! - Address attributes (`domain`, `bus`, `slot`, `function` of a PCI address; USB `bus`,
//!   `device`, `vendor id`, `product id`) go through `virXMLPropUInt(…, base 0, …)`, which is
//!   C's `strtoul` with base 0: `0x` means hexadecimal, a leading `0` octal, anything else
//!   decimal; leading white space and one `+` are allowed, a minus sign or trailing text is not
//!   (libvirt 9.0, src/util/virxml.c and src/util/virstring.c `virStrToLong_uip`).
//! - Memory sizes go through `virParseScaledValue` (base 10) and `virScaleInteger`: the unit is
//!   case-insensitive, `b`/`byte`/`bytes`, `k`/`KiB` (1024), `KB` (1000), and so on up to
//!   `e`/`EiB`/`EB`; no unit means KiB; the result is rounded up to whole KiB
//!   (`virDomainParseMemory`).

/// An unsigned attribute as libvirt's `virXMLPropUInt(…, 0, …)` reads it; `None` where libvirt
/// would refuse the domain.
pub fn prop_uint(s: &str) -> Option<u32> {
    strtoul_base0(s).and_then(|v| u32::try_from(v).ok())
}

fn strtoul_base0(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = t.strip_prefix('+').unwrap_or(t);
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A memory element's value and `unit` attribute, in KiB (rounded up), as libvirt reads it.
pub fn memory_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let t = value.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = t.parse().ok()?;
    let bytes = v.checked_mul(unit_scale(unit.unwrap_or(""))?)?;
    Some(bytes.div_ceil(1024))
}

/// Bytes per unit, `virScaleInteger`'s table with libvirt's default scale (KiB) for no unit.
fn unit_scale(unit: &str) -> Option<u64> {
    if unit.is_empty() {
        return Some(1024);
    }
    let u = unit.to_ascii_lowercase();
    if matches!(u.as_str(), "b" | "byte" | "bytes") {
        return Some(1);
    }
    let mut chars = u.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    let base: u64 = match rest {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    let power = match first {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    base.checked_pow(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_strtoul_base_0() {
        assert_eq!(prop_uint("0x1f"), Some(31));
        assert_eq!(prop_uint("0X1F"), Some(31));
        assert_eq!(prop_uint("31"), Some(31), "decimal without 0x");
        assert_eq!(prop_uint("10"), Some(10), "not 16");
        assert_eq!(prop_uint("010"), Some(8), "a leading 0 is octal");
        assert_eq!(prop_uint("0"), Some(0));
        assert_eq!(prop_uint(" 7"), Some(7));
        assert_eq!(prop_uint("+7"), Some(7));
        for bad in ["", "0x", "08", "1f", "-1", "7 ", "0x1g", "abc"] {
            assert_eq!(prop_uint(bad), None, "{bad:?}");
        }
        assert_eq!(prop_uint("4294967296"), None, "beyond an unsigned int");
    }

    #[test]
    fn memory_units_are_libvirts() {
        assert_eq!(memory_kib("1048576", None), Some(1048576), "KiB by default");
        assert_eq!(memory_kib("1048576", Some("KiB")), Some(1048576));
        assert_eq!(memory_kib("1024", Some("k")), Some(1024));
        assert_eq!(
            memory_kib("1000", Some("KB")),
            Some(977),
            "1000 bytes × 1000, rounded up"
        );
        assert_eq!(memory_kib("16", Some("GiB")), Some(16 << 20));
        assert_eq!(memory_kib("16", Some("G")), Some(16 << 20));
        assert_eq!(
            memory_kib("16", Some("gib")),
            Some(16 << 20),
            "case-insensitive"
        );
        assert_eq!(memory_kib("4", Some("GB")), Some(3_906_250));
        assert_eq!(memory_kib("512", Some("MB")), Some(500_000));
        assert_eq!(memory_kib("2048", Some("MiB")), Some(2 << 20));
        assert_eq!(
            memory_kib("1", Some("b")),
            Some(1),
            "one byte is one KiB, rounded up"
        );
        assert_eq!(memory_kib("1073741824", Some("bytes")), Some(1 << 20));
        assert_eq!(memory_kib("1", Some("TiB")), Some(1 << 30));
        for (v, u) in [
            ("1", Some("KiBB")),
            ("1", Some("x")),
            ("1.5", None),
            ("-1", None),
        ] {
            assert_eq!(memory_kib(v, u), None, "{v} {u:?}");
        }
        assert_eq!(memory_kib("99999999999", Some("EiB")), None, "overflow");
    }
}
