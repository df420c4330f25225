//! What a caller may send the helper's verbs: the cheap checks never panic, and what they
//! accept is well formed (bounded, no control characters, addresses and kernel arguments that
//! print back as themselves).
#![no_main]
use libfuzzer_sys::fuzz_target;
use passage_core::plan::args::{parse_allowed, parse_removable};
use passage_core::verb_args::{change_id, devices, limits, MAX_ITEMS, MAX_ITEM_LEN};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    // One list item per line, as a D-Bus string array would carry them (newlines kept inside
    // items by splitting on NUL instead when there is one).
    let sep = if s.contains('\0') { '\0' } else { '\n' };
    let items: Vec<String> = s.split(sep).map(str::to_string).collect();
    if limits("arguments", &items).is_ok() {
        assert!(items.len() <= MAX_ITEMS);
        for i in &items {
            assert!(i.len() <= MAX_ITEM_LEN && !i.chars().any(char::is_control));
            if let Ok(a) = parse_allowed(i) {
                assert_eq!(parse_allowed(&a.to_string()).ok(), Some(a));
            }
            let _ = parse_removable(i);
        }
    }
    if let Ok(list) = devices(&items) {
        assert_eq!(list.len(), items.len());
        for a in &list {
            let back: passage_core::host::PciAddress = a.to_string().parse().expect("reparses");
            assert_eq!(&back, a);
        }
    }
    for i in &items {
        if change_id(i) {
            assert!(i.len() >= 6 && i.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
