//! A guest for the console tests: [`echo_image`] assembles guest/echo.S (a boot sector that
//! paints the screen, prints a banner on COM1 and echoes keys in capitals) into a raw disk,
//! and [`echo_domain`] is a software-emulated domain (`type='qemu'`) that boots it with
//! SeaBIOS, a serial console and the graphics asked for.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the guest prints first, on COM1 and on the screen.
pub const BANNER: &str = "PASSAGE CONSOLE TEST";

/// Assembles the guest into `dir/echo.img` (binutils' `as` and `ld`, which Rust's linking
/// needs anyway) and returns its path.
pub fn echo_image(dir: &Path) -> PathBuf {
    assemble(dir, "echo")
}

/// The benchmark's guest (guest/pattern.S: the whole screen repainted in a new colour without
/// end), as a raw disk `dir/pattern.img`. It boots in [`echo_domain`] as well.
pub fn pattern_image(dir: &Path) -> PathBuf {
    assemble(dir, "pattern")
}

fn assemble(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("guest/{name}.S"));
    let (obj, img) = (
        dir.join(format!("{name}.o")),
        dir.join(format!("{name}.img")),
    );
    let run = |cmd: &mut Command| {
        let o = cmd.output().expect("binutils (as, ld)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(Command::new("as").arg("--32").arg("-o").arg(&obj).arg(&src));
    run(Command::new("ld")
        .args([
            "-m",
            "elf_i386",
            "-Ttext",
            "0x7c00",
            "--oformat",
            "binary",
            "-o",
        ])
        .arg(&img)
        .arg(&obj));
    assert_eq!(std::fs::metadata(&img).map(|m| m.len()).ok(), Some(512));
    img
}

/// A domain booting `img`, with a pty serial console and `graphics` (`<graphics …/>`
/// elements, or nothing).
pub fn echo_domain(name: &str, img: &Path, graphics: &str) -> String {
    format!(
        "<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
  </features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{img}'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <serial type='pty'>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    {graphics}
    <video>
      <model type='vga'/>
    </video>
  </devices>
</domain>
",
        img = img.display()
    )
}

/// [`echo_domain`] whose serial port writes to a file: no console libvirt can stream.
pub fn echo_domain_without_console(name: &str, img: &Path) -> String {
    echo_domain(name, img, "")
        .replace(
            "<serial type='pty'>",
            "<serial type='file'><source path='/dev/null'/>",
        )
        .replace(
            "<console type='pty'>\n      <target type='serial' port='0'/>\n    </console>",
            "",
        )
}
