//! The kernel command line: splitting is stable, and editing is idempotent and complete.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passage_core::host::kernel::split_cmdline;
use passage_core::plan::args::{edit, parse_allowed, satisfied};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let toks = split_cmdline(s);
    assert!(toks.iter().all(|t| !t.is_empty()));
    assert_eq!(split_cmdline(&toks.join(" ")), toks, "splitting what was joined changes nothing");
    for t in &toks {
        // Validation never panics, and what it accepts prints back as itself.
        if let Ok(a) = parse_allowed(t) {
            assert_eq!(parse_allowed(&a.to_string()).ok(), Some(a));
        }
    }
    let add = [parse_allowed("intel_iommu=on").unwrap(), parse_allowed("iommu=pt").unwrap()];
    let remove = ["pcie_acs_override".to_string()];
    let once = edit(&toks, &add, &remove);
    assert!(satisfied(&once, &add, &remove));
    assert_eq!(edit(&once, &add, &remove), once, "editing twice changes nothing");
});
