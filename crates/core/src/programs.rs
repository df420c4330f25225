//! Passage's programs that other Passage programs start, and where each is found.

use std::path::PathBuf;

/// `passagectl-vm`: the VM commands (`passagectl vm …` runs it) and the app's libvirt worker,
/// the one program of Passage's front ends that links libvirt.
pub const VM_COMMANDS_NAME: &str = "passagectl-vm";

/// Where `passagectl-vm` is installed: meson's libexecdir as the build configured it
/// (`PASSAGECTL_VM`, set by build-aux/meson-cargo.sh), else Debian's (a build by cargo alone).
pub const VM_COMMANDS: &str = match option_env!("PASSAGECTL_VM") {
    Some(p) => p,
    None => "/usr/libexec/passagectl-vm",
};

/// The VM commands' program: beside the running program where it is there (a cargo target dir
/// builds every binary side by side), else where the build installs it.
pub fn vm_commands() -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|e| e.with_file_name(VM_COMMANDS_NAME))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(VM_COMMANDS))
}
