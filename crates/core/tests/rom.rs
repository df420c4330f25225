//! The option ROM walker on images built from the published layout (passage_fixtures::rom):
//! each kind of ROM gets its verdict, and no input makes it panic.

use passage_core::host::rom::{
    sysfs_rom, walk, Code, ReadRefusal, Verdict, MACHINE_AARCH64, MACHINE_X64,
};
use passage_fixtures::rom::{self, image, AARCH64, EFI, LEGACY, X64};

#[test]
fn legacy_and_x64_uefi_has_the_uefi_image() {
    let r = walk(&rom::legacy_and_uefi());
    assert_eq!(r.verdict, Verdict::UefiX64);
    assert_eq!(r.images.len(), 2);
    assert_eq!(r.images[0].code, Code::Legacy);
    assert_eq!(r.images[1].offset, 4 * 512);
    assert_eq!(
        r.images[1].code,
        Code::Efi {
            machine: Some(MACHINE_X64),
            subsystem: Some(11)
        }
    );
    assert!(r.images[1].last && !r.truncated);
    assert_eq!((r.images[0].vendor, r.images[0].device), (0x10de, 0x1e87));
    assert!(r.verdict.words().contains("x64"));
}

#[test]
fn legacy_only_has_no_uefi_image() {
    let r = walk(&rom::legacy_only());
    assert_eq!(r.verdict, Verdict::LegacyOnly);
    assert_eq!(r.images.len(), 1);
    assert!(!r.verdict.has_uefi_x64());
    assert!(r.verdict.words().contains("ROM file"));
}

#[test]
fn efi_for_aarch64_is_not_for_ovmf() {
    let mut b = image(LEGACY, 0, 2, false);
    b.extend(image(EFI, AARCH64, 2, true));
    let r = walk(&b);
    assert_eq!(
        r.verdict,
        Verdict::EfiOtherMachine {
            machines: vec!["AArch64".into()]
        }
    );
    assert_eq!(
        r.images[1].code,
        Code::Efi {
            machine: Some(MACHINE_AARCH64),
            subsystem: Some(11)
        }
    );
}

#[test]
fn a_rom_cut_inside_its_uefi_image_is_truncated() {
    let b = rom::legacy_and_uefi();
    // Cut inside the EFI image (a dump that stopped early).
    let r = walk(&b[..4 * 512 + 300]);
    assert!(r.truncated);
    assert_eq!(r.verdict, Verdict::Truncated);
    // Cut where the EFI image should start, the legacy one without its last-image bit.
    let r = walk(&b[..4 * 512]);
    assert_eq!(r.verdict, Verdict::Truncated);
    // Cut inside the only image's PCIR.
    let r = walk(&b[..0x48]);
    assert_eq!(r.verdict, Verdict::Truncated);
}

#[test]
fn nvflash_header_before_the_rom_is_skipped() {
    let b = rom::nvidia_header(&rom::legacy_and_uefi());
    let r = walk(&b);
    assert_eq!(r.header, 0x400);
    assert_eq!(r.verdict, Verdict::UefiX64);
    assert_eq!(r.images[0].offset, 0x400);
    assert_eq!(r.images.len(), 2);
}

#[test]
fn nvidias_npde_gives_the_true_length_and_last_image_bit() {
    let r = walk(&rom::nvidia_npde());
    assert_eq!(r.verdict, Verdict::UefiX64);
    assert_eq!(r.images.len(), 2);
    assert_eq!((r.images[0].length, r.images[0].last), (4 * 512, false));
    assert_eq!(r.images[1].offset, 4 * 512);
}

/// NVIDIA's own images after the first start with 0xBB77 or "VN", not 0x55AA: the walk goes
/// on past them to the UEFI image.
#[test]
fn nvidias_own_images_are_walked_past() {
    let mut b = image(LEGACY, 0, 2, false);
    let mut nv = image(0x70, 0, 2, false);
    nv[0] = 0x56;
    nv[1] = 0x4e;
    b.extend(nv);
    b.extend(image(EFI, X64, 2, true));
    let r = walk(&b);
    assert_eq!(r.images.len(), 3);
    assert_eq!(r.images[1].code, Code::Other { code_type: 0x70 });
    assert_eq!(r.verdict, Verdict::UefiX64);
}

#[test]
fn garbage_is_not_a_rom() {
    for b in [
        vec![],
        vec![0x55],
        vec![0x55, 0xaa],
        b"MZ\x90\x00 this is a PE file, not a ROM".to_vec(),
        vec![0xff; 4096],
    ] {
        let r = walk(&b);
        assert!(r.images.is_empty(), "{b:?}");
        assert!(
            matches!(r.verdict, Verdict::NotARom | Verdict::Truncated),
            "{:?}",
            r.verdict
        );
    }
    assert_eq!(walk(&[0u8; 1000]).verdict, Verdict::NotARom);
}

#[test]
fn an_efi_image_without_efi_header_is_not_counted_as_x64() {
    let mut b = image(EFI, X64, 2, true);
    b[4] = 0; // the 0x0EF1 signature gone
    let r = walk(&b);
    assert_eq!(
        r.images[0].code,
        Code::Efi {
            machine: None,
            subsystem: None
        }
    );
    assert!(!r.verdict.has_uefi_x64());
}

#[test]
fn a_zero_length_image_ends_the_walk() {
    let mut b = image(LEGACY, 0, 2, false);
    b[0x40 + 0x10] = 0;
    b[0x40 + 0x11] = 0;
    let r = walk(&b);
    assert_eq!(r.images.len(), 1);
}

/// Every prefix of real-layout ROMs, and every byte of one flipped to each of a few values:
/// the walker answers each without a panic, and a cut ROM never claims an x64 image it lost.
#[test]
fn no_input_makes_the_walker_panic() {
    let whole = rom::nvidia_header(&rom::legacy_and_uefi());
    for n in 0..=whole.len() {
        let r = walk(&whole[..n]);
        if n < 0x400 + 6 * 512 {
            assert!(!r.verdict.has_uefi_x64(), "prefix {n}");
        }
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut b = whole.clone();
        let at = (state as usize) % b.len();
        b[at] = (state >> 32) as u8;
        // PCIR pointers and lengths set to their extremes.
        if state.is_multiple_of(3) {
            b[0x400 + 0x18] = 0xff;
            b[0x400 + 0x19] = 0xff;
        }
        let _ = walk(&b);
    }
}

/// Real option ROMs from Debian's packages (build-aux/install-deps.sh installs them): iPXE's
/// virtio-net ROM for QEMU (ipxe-qemu, /usr/lib/ipxe/qemu/efi-virtio.rom: a legacy image and
/// an x64 EFI driver, combined by EDK2's EfiRom) and SeaBIOS's VGA BIOS for QEMU's standard
/// VGA (seabios, /usr/share/seabios/vgabios-stdvga.bin: legacy only).
#[test]
fn real_roms_from_debian_packages() {
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e} (install-deps.sh)"));
    let efi = read("/usr/lib/ipxe/qemu/efi-virtio.rom");
    let r = walk(&efi);
    assert_eq!(r.verdict, Verdict::UefiX64);
    assert_eq!(r.header, 0);
    assert_eq!(r.images.len(), 2);
    assert_eq!((r.images[0].vendor, r.images[0].device), (0x1af4, 0x1041));
    assert_eq!(r.images[0].code, Code::Legacy);
    assert!(r.images[1].is_x64_efi() && r.images[1].last);
    assert_eq!(r.images[1].offset + r.images[1].length, efi.len());
    // The same ROM cut inside its EFI driver, and behind nvflash's header.
    assert_eq!(walk(&efi[..efi.len() - 512]).verdict, Verdict::Truncated);
    assert_eq!(walk(&rom::nvidia_header(&efi)).verdict, Verdict::UefiX64);

    let vga = read("/usr/share/seabios/vgabios-stdvga.bin");
    let r = walk(&vga);
    assert_eq!(r.verdict, Verdict::LegacyOnly);
    assert_eq!((r.images[0].vendor, r.images[0].device), (0x1234, 0x1111));
}

/// `sysfs_rom` on the X570 tutorial host (its NVIDIA card at 0a:00.0 is not the host's screen):
/// allowed while nothing holds the card, refused by name while a process has one of its nodes
/// open (a running VM's QEMU on its /dev/vfio group, a program on its DRM node).
#[test]
fn a_card_a_process_holds_is_not_switched_on() {
    let d = tempfile::tempdir().expect("tmp");
    passage_fixtures::build("x570-tutorial", d.path()).expect("fixture");
    let dev = d.path().join("sys/bus/pci/devices/0000:0a:00.0");
    std::fs::write(dev.join("rom"), b"").expect("rom attribute");
    let card = std::fs::read_dir(dev.join("drm"))
        .expect("drm")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("card"))
        .expect("a DRM card node");
    let root = passage_core::Root::new(d.path()).expect("root");
    let addr: passage_core::host::PciAddress = "0000:0a:00.0".parse().expect("address");
    let host = passage_core::Host::scan(&root);
    assert_eq!(
        sysfs_rom(&host, &root, addr),
        Ok("/sys/bus/pci/devices/0000:0a:00.0/rom".to_string())
    );
    let fd = d.path().join("proc/4242/fd");
    std::fs::create_dir_all(&fd).expect("mkdir");
    std::fs::write(d.path().join("proc/4242/comm"), "qemu-system-x86\n").expect("comm");
    std::os::unix::fs::symlink(format!("/dev/dri/{card}"), fd.join("7")).expect("fd");
    let host = passage_core::Host::scan(&root);
    assert_eq!(
        sysfs_rom(&host, &root, addr),
        Err(ReadRefusal::InUse(addr, "qemu-system-x86".into(), 4242))
    );
}
