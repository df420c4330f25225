//! Kernel arguments Passage may set: an allowlist with a validator per key. The helper applies
//! nothing else, so a caller cannot smuggle arbitrary boot options (or shell) through it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::host::kernel::same_key;
use crate::i18n::{tr, tr_f};
use crate::plan::PlanError;

/// One kernel argument: `key` or `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arg {
    pub key: String,
    pub value: Option<String>,
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

#[derive(Clone, Copy)]
enum Rule {
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// `vendor:device` pairs, comma-separated.
    Ids,
    /// A CPU list, optionally after flags (`managed_irq,domain,2-7`).
    CpuList,
    /// A decimal count.
    Count,
    /// A page size.
    PageSize,
    /// Comma-separated module names.
    Modules,
    /// `downstream`, `multifunction`, `id:vvvv:dddd`, comma-separated.
    AcsOverride,
}

/// The keys Passage sets or removes, and what their values may be.
const ALLOWED: &[(&str, Rule)] = &[
    (
        "intel_iommu",
        Rule::OneOf(&["on", "off", "sm_on", "igfx_off"]),
    ),
    (
        "amd_iommu",
        Rule::OneOf(&["on", "off", "pt", "force_isolation", "fullflush"]),
    ),
    ("iommu", Rule::OneOf(&["pt", "on", "off", "nopt", "force"])),
    ("iommu.passthrough", Rule::OneOf(&["0", "1"])),
    ("vfio-pci.ids", Rule::Ids),
    ("vfio-pci.disable_vga", Rule::OneOf(&["0", "1"])),
    (
        "vfio_iommu_type1.allow_unsafe_interrupts",
        Rule::OneOf(&["0", "1"]),
    ),
    ("pcie_acs_override", Rule::AcsOverride),
    (
        "video",
        Rule::OneOf(&[
            "efifb:off",
            "vesafb:off",
            "simplefb:off",
            "vesafb:off,efifb:off",
        ]),
    ),
    ("rd.driver.pre", Rule::Modules),
    ("nouveau.modeset", Rule::OneOf(&["0", "1"])),
    ("nvidia-drm.modeset", Rule::OneOf(&["0", "1"])),
    ("modprobe.blacklist", Rule::Modules),
    ("rd.driver.blacklist", Rule::Modules),
    ("kvm.ignore_msrs", Rule::OneOf(&["0", "1"])),
    ("kvm.report_ignored_msrs", Rule::OneOf(&["0", "1"])),
    ("hugepagesz", Rule::PageSize),
    ("default_hugepagesz", Rule::PageSize),
    ("hugepages", Rule::Count),
    (
        "transparent_hugepage",
        Rule::OneOf(&["always", "madvise", "never"]),
    ),
    ("isolcpus", Rule::CpuList),
    ("nohz_full", Rule::CpuList),
    ("rcu_nocbs", Rule::CpuList),
    ("irqaffinity", Rule::CpuList),
];

fn rule_for(key: &str) -> Option<(&'static str, Rule)> {
    ALLOWED
        .iter()
        .find(|(k, _)| same_key(k, key))
        .map(|(k, r)| (*k, *r))
}

fn valid_value(rule: Rule, v: &str) -> bool {
    let hex4 = |s: &str| s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit());
    let pair = |s: &str| s.split_once(':').is_some_and(|(a, b)| hex4(a) && hex4(b));
    let cpus = |s: &str| {
        !s.is_empty()
            && s.split(',').all(|p| {
                let (a, b) = p.split_once('-').unwrap_or((p, p));
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            })
    };
    match rule {
        Rule::OneOf(words) => words.contains(&v),
        Rule::Ids => !v.is_empty() && v.split(',').all(pair) && v.split(',').count() <= 64,
        Rule::CpuList => {
            let flags = ["nohz", "domain", "managed_irq"];
            let mut parts: Vec<&str> = v.split(',').collect();
            while parts.first().is_some_and(|p| flags.contains(p)) {
                parts.remove(0);
            }
            cpus(&parts.join(","))
        }
        Rule::Count => !v.is_empty() && v.len() <= 7 && v.bytes().all(|c| c.is_ascii_digit()),
        Rule::PageSize => matches!(v, "2M" | "1G" | "2m" | "1g"),
        Rule::Modules => {
            !v.is_empty()
                && v.split(',').all(|m| {
                    !m.is_empty()
                        && m.len() <= 64
                        && m.bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                })
        }
        Rule::AcsOverride => {
            !v.is_empty()
                && v.split(',').all(|p| {
                    p == "downstream"
                        || p == "multifunction"
                        || p.strip_prefix("id:").is_some_and(pair)
                })
        }
    }
}

/// Parses and validates an argument Passage may add (`intel_iommu=on`).
pub fn parse_allowed(s: &str) -> Result<Arg, PlanError> {
    if s.len() > 512
        || s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'')
    {
        return Err(PlanError::BadArgument(
            shorten(s),
            tr("an argument is one word without spaces or quotes"),
        ));
    }
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    let Some((canonical, rule)) = rule_for(key) else {
        return Err(PlanError::UnknownKey(shorten(key)));
    };
    match value {
        Some(v) if valid_value(rule, v) => Ok(Arg {
            key: canonical.to_string(),
            value: Some(v.to_string()),
        }),
        Some(v) => Err(PlanError::BadArgument(
            shorten(s),
            tr_f(
                "{v} is not a value {key} accepts",
                &[("v", &format!("{v:?}")), ("key", canonical)],
            ),
        )),
        None => Err(PlanError::BadArgument(
            shorten(s),
            tr_f("{key} needs a value ({key}=…)", &[("key", canonical)]),
        )),
    }
}

/// Validates a key Passage may remove (`pcie_acs_override`).
pub fn parse_removable(key: &str) -> Result<String, PlanError> {
    rule_for(key)
        .map(|(k, _)| k.to_string())
        .ok_or_else(|| PlanError::UnknownKey(shorten(key)))
}

/// The keys Passage knows, for error messages and the CLI's help.
pub fn allowed_keys() -> Vec<&'static str> {
    ALLOWED.iter().map(|(k, _)| *k).collect()
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// The key of a command-line token (`"a=b c"` quoting kept as the kernel keeps it).
fn token_key(tok: &str) -> &str {
    tok.split_once('=').map(|(k, _)| k).unwrap_or(tok)
}

/// Applies additions and removals to a list of command-line tokens: a key already present is
/// replaced where it stands (later duplicates dropped); a new one is appended; removals drop
/// every token with that key. Tokens Passage does not manage are never touched.
pub fn edit(tokens: &[String], add: &[Arg], remove: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tokens
        .iter()
        .filter(|t| !remove.iter().any(|k| same_key(token_key(t), k)))
        .cloned()
        .collect();
    for a in add {
        let current: Vec<&str> = out
            .iter()
            .filter(|t| same_key(token_key(t), &a.key))
            .filter_map(|t| t.split_once('=').map(|(_, v)| v))
            .collect();
        let want = match switch_on(a, &current) {
            Switch::Kept => continue,
            Switch::Merged(v) => format!("{}={v}", a.key),
            Switch::Other => a.to_string(),
        };
        let mut seen = false;
        out.retain_mut(|t| {
            if !same_key(token_key(t), &a.key) {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            *t = want.clone();
            true
        });
        if !seen {
            out.push(want);
        }
    }
    out
}

/// The IOMMU switches take comma-separated options, and every occurrence counts.
const SWITCHES: &[&str] = &["intel_iommu", "amd_iommu"];

/// What turning an IOMMU switch on does to the values the command line already holds.
#[derive(Debug, PartialEq, Eq)]
enum Switch {
    /// Not an IOMMU switch being turned on: set exactly what Passage asks.
    Other,
    /// Already on with the user's own options (`intel_iommu=on,sm_on`,
    /// `amd_iommu=force_isolation`): nothing to change.
    Kept,
    /// The value to write: the user's options without `off`, with `on` where the kernel needs it.
    Merged(String),
}

fn switch_on(a: &Arg, current: &[&str]) -> Switch {
    let Some(key) = SWITCHES.iter().find(|k| same_key(k, &a.key)) else {
        return Switch::Other;
    };
    if a.value.as_deref() != Some("on") {
        return Switch::Other;
    }
    if !current.is_empty() && values_turn_on(key, current) {
        return Switch::Kept;
    }
    let mut opts: Vec<&str> = Vec::new();
    for o in current.iter().flat_map(|v| v.split(',')) {
        if !o.is_empty() && !opts.contains(&o) {
            opts.push(o);
        }
    }
    opts.retain(|o| *o != "off");
    // AMD's IOMMU is on unless `off`: any other option keeps it on. Intel's needs `on`.
    if !opts.contains(&"on") && (*key == "intel_iommu" || opts.is_empty()) {
        opts.insert(0, "on");
    }
    Switch::Merged(opts.join(","))
}

/// Whether these values of `intel_iommu` / `amd_iommu` (every occurrence, in order) leave the
/// IOMMU on: no `off` among them, and for Intel an `on`.
pub fn values_turn_on(key: &str, values: &[&str]) -> bool {
    let opts = || values.iter().flat_map(|v| v.split(','));
    let off = opts().any(|o| o == "off");
    let on = opts().any(|o| o == "on");
    !off && (on || (same_key(key, "amd_iommu") && opts().any(|o| !o.is_empty())))
}

/// Whether `tokens` hold every addition and none of the removals.
pub fn satisfied(tokens: &[String], add: &[Arg], remove: &[String]) -> bool {
    edit(tokens, add, remove) == tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn allowlist_accepts_what_passthrough_needs() {
        for ok in [
            "intel_iommu=on",
            "amd_iommu=on",
            "iommu=pt",
            "vfio-pci.ids=10de:1e07,10de:10f7",
            "vfio_pci.ids=10de:1e07",
            "pcie_acs_override=downstream,multifunction",
            "pcie_acs_override=id:10de:1e07",
            "video=efifb:off",
            "rd.driver.pre=vfio-pci",
            "nouveau.modeset=0",
            "hugepagesz=1G",
            "hugepages=16",
            "isolcpus=managed_irq,domain,2-7,14-19",
            "nohz_full=2-7",
        ] {
            let a = parse_allowed(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(ok.ends_with(a.value.as_deref().unwrap_or("")));
        }
        assert_eq!(
            parse_allowed("vfio_pci.ids=10de:1e07").unwrap().key,
            "vfio-pci.ids"
        );
    }

    #[test]
    fn allowlist_refuses_everything_else_with_the_reason() {
        let cases = [
            ("init=/bin/sh", "not a kernel argument Passage sets"),
            ("intel_iommu=maybe", "is not a value intel_iommu accepts"),
            ("vfio-pci.ids=10de:1e0", "is not a value"),
            ("vfio-pci.ids=zzzz:1e07", "is not a value"),
            ("intel_iommu=on quiet", "without spaces"),
            ("intel_iommu=\"on\"", "without spaces or quotes"),
            ("iommu=pt\nrm -rf /", "without spaces"),
            ("hugepages=99999999", "is not a value"),
            ("isolcpus=2-x", "is not a value"),
            ("intel_iommu", "needs a value"),
            ("modprobe.blacklist=nvidia;reboot", "is not a value"),
        ];
        for (bad, why) in cases {
            let e = parse_allowed(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let huge = "a".repeat(1_000_000);
        let e = parse_allowed(&huge).expect_err("huge").to_string();
        assert!(e.len() < 400, "the error does not echo a megabyte back");
        assert!(parse_removable("pcie_acs_override").is_ok());
        assert!(parse_removable("root").is_err());
    }

    #[test]
    fn edit_replaces_in_place_appends_and_removes() {
        let a = |s: &str| parse_allowed(s).unwrap();
        let t = toks("quiet splash intel_iommu=off iommu=pt intel_iommu=igfx_off");
        assert_eq!(
            edit(&t, &[a("intel_iommu=on")], &[]),
            toks("quiet splash intel_iommu=on,igfx_off iommu=pt")
        );
        assert_eq!(
            edit(&t, &[a("video=efifb:off")], &["iommu".into()]),
            toks("quiet splash intel_iommu=off intel_iommu=igfx_off video=efifb:off")
        );
        let done = edit(&toks("quiet"), &[a("intel_iommu=on"), a("iommu=pt")], &[]);
        assert_eq!(done, toks("quiet intel_iommu=on iommu=pt"));
        assert!(satisfied(&done, &[a("intel_iommu=on"), a("iommu=pt")], &[]));
        assert!(!satisfied(&done, &[], &["iommu".into()]));
        // Dash and underscore name the same parameter.
        assert_eq!(
            edit(
                &toks("vfio_pci.ids=1111:2222"),
                &[a("vfio-pci.ids=10de:1e07")],
                &[]
            ),
            toks("vfio-pci.ids=10de:1e07")
        );
        // A user's stronger IOMMU value is kept; only `off` gives way.
        for kept in [
            "amd_iommu=force_isolation",
            "amd_iommu=on,force_isolation",
            "intel_iommu=on,sm_on",
            "intel_iommu=sm_on intel_iommu=on",
        ] {
            let t = toks(&format!("quiet {kept} iommu=pt"));
            let on = if kept.starts_with("amd") {
                "amd_iommu=on"
            } else {
                "intel_iommu=on"
            };
            assert_eq!(edit(&t, &[a(on)], &[]), t, "{kept}");
            assert!(satisfied(&t, &[a(on), a("iommu=pt")], &[]), "{kept}");
        }
        assert_eq!(
            edit(
                &toks("amd_iommu=off,force_isolation"),
                &[a("amd_iommu=on")],
                &[]
            ),
            toks("amd_iommu=force_isolation")
        );
        assert_eq!(
            edit(&toks("intel_iommu=sm_on"), &[a("intel_iommu=on")], &[]),
            toks("intel_iommu=on,sm_on")
        );
        assert_eq!(
            edit(&toks("intel_iommu=on,sm_on"), &[a("intel_iommu=off")], &[]),
            toks("intel_iommu=off"),
            "turning it off is exactly what was asked"
        );
        // Quoted tokens Passage does not manage stay as they are.
        let q = vec!["acpi_osi=\"Windows 2015\"".to_string(), "quiet".to_string()];
        assert_eq!(
            edit(&q, &[a("iommu=pt")], &[])[0],
            "acpi_osi=\"Windows 2015\""
        );
    }
}
