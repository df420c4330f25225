//! modprobe.d files: no input panics, and every ID found is in the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passage_core::host::vfio::{parse_modprobe, VfioSetup};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut v = VfioSetup::default();
    parse_modprobe("/etc/modprobe.d/x.conf", text, &mut v);
    let lower = text.to_ascii_lowercase();
    for id in &v.modprobe_ids {
        assert!(lower.contains(id.as_str()), "{id} not in the file");
    }
    for l in &v.modprobe_lines {
        assert!(text.contains(&l.line) && !l.line.contains('#'));
    }
});
