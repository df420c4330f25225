//! /etc/default/grub and the other boot configurations Passage edits: no input panics, and an
//! edit Passage accepts is idempotent on its own output.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passage_core::plan::args::parse_allowed;
use passage_core::plan::booster::force_load;
use passage_core::plan::bootloader::{bls_entry, grub, kernelstub, refind};
use passage_core::plan::vfio::mkinitcpio;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let add = [parse_allowed("intel_iommu=on").unwrap(), parse_allowed("iommu=pt").unwrap()];
    let remove = ["pcie_acs_override".to_string()];
    for prefer_default in [true, false] {
        if let Ok(out) = grub(text, &add, &remove, prefer_default) {
            let again = grub(&out, &add, &remove, prefer_default).expect("Passage's own output parses");
            assert_eq!(again, out, "a second edit changes nothing");
        }
    }
    if let Ok(out) = bls_entry(text, &add, &remove) {
        assert_eq!(bls_entry(&out, &add, &remove).expect("own output"), out);
    }
    if let Ok(out) = refind(text, &add, &remove) {
        assert_eq!(refind(&out, &add, &remove).expect("own output"), out);
    }
    let _ = kernelstub(text, &add, &remove);
    let mods = ["vfio_pci", "vfio", "vfio_iommu_type1"];
    if let Ok(out) = mkinitcpio(text, &mods) {
        assert_eq!(mkinitcpio(&out, &mods).expect("own output"), out);
    }
    if let Ok(out) = force_load(text, &mods) {
        assert_eq!(force_load(&out, &mods).expect("own output"), out);
    }
});
