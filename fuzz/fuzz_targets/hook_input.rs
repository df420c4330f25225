//! libvirt's hook runs as root on what libvirt passes: its arguments and the domain XML on
//! stdin. Neither may panic the parser, and what it accepts is bounded and well formed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passage_core::vm::session::{hook_call, session_request, MAX_DOMAIN_XML};

fuzz_target!(|data: &[u8]| {
    // The first line: the arguments, space separated; the rest: stdin.
    let (head, xml) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let args: Vec<String> = String::from_utf8_lossy(head)
        .split(' ')
        .map(str::to_string)
        .collect();
    if let Ok(call) = hook_call(&args) {
        assert!(!call.vm.is_empty() && !call.vm.contains('/'));
        if let Ok(Some(r)) = session_request(&call.vm, xml) {
            assert!(xml.len() <= MAX_DOMAIN_XML);
            assert_eq!(r.vm, call.vm);
            assert!(r.settings.active());
            let mut sorted = r.devices.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted, r.devices);
        }
    }
});
