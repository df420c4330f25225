//! The helper's D-Bus contract, shared by the helper and its clients (passagectl, the app).
//!
//! Verbs take intentions, never file contents or commands. Each verb group is one polkit
//! action; every reply or error says what happened in words a user can act on.

/// Bus name, object path and interface (versioned: a new incompatible interface gets a new
/// number).
pub const BUS_NAME: &str = "io.github.passage.Helper1";
pub const OBJECT_PATH: &str = "/io/github/passage/Helper1";
pub const INTERFACE: &str = "io.github.passage.Helper1";

/// polkit actions, one per verb group (data/io.github.passage.policy).
pub const ACTION_BOOT: &str = "io.github.passage.configure-boot";
pub const ACTION_DEVICES: &str = "io.github.passage.manage-devices";
pub const ACTION_DISPLAY: &str = "io.github.passage.configure-display";
pub const ACTION_UNDO: &str = "io.github.passage.undo";
pub const ACTION_HISTORY: &str = "io.github.passage.history";
pub const ACTION_MEMORY: &str = "io.github.passage.manage-memory";
/// Taking a group the host needs (its display GPU…): asked in addition, never kept.
pub const ACTION_OVERRIDE: &str = "io.github.passage.override-host-devices";

/// Limits on what a caller may send, checked before anything else.
pub const MAX_ITEMS: usize = 64;
pub const MAX_ITEM_LEN: usize = 512;

/// One history row: id, created (Unix seconds), caller uid, verb, summary, state.
pub type HistoryRow = (String, u64, u32, String, String, String);

#[zbus::proxy(
    interface = "io.github.passage.Helper1",
    default_service = "io.github.passage.Helper1",
    default_path = "/io/github/passage/Helper1"
)]
pub trait Helper1 {
    /// Adds (or replaces) and removes kernel arguments with the host's boot loader.
    /// Returns (change id, summary); the id is empty when nothing needed to change.
    fn set_kernel_arguments(&self, add: &[&str], remove: &[&str])
        -> zbus::Result<(String, String)>;

    /// Binds these devices (a whole IOMMU group) to vfio-pci from boot on.
    fn configure_vfio(&self, devices: &[&str]) -> zbus::Result<(String, String)>;

    /// Keeps the host's desktop on this GPU.
    fn configure_host_display(&self, gpu: &str) -> zbus::Result<(String, String)>;

    /// Hands a whole IOMMU group to vfio-pci now. A group the host needs is refused unless
    /// `override_host` (authorized separately).
    fn bind_to_vfio(&self, devices: &[&str], override_host: bool) -> zbus::Result<String>;

    /// Gives devices back to their own drivers.
    fn restore_drivers(&self, devices: &[&str]) -> zbus::Result<String>;

    /// Reserves `count` hugepages of `size_kib` (2048 or 1048576) for VM memory. Returns (change
    /// id, summary); the kernel may reserve fewer when memory is fragmented, and says so.
    fn reserve_hugepages(&self, size_kib: u64, count: u64) -> zbus::Result<(String, String)>;

    /// Gives back the hugepages Passage reserved of this size (to the count before).
    fn release_hugepages(&self, size_kib: u64) -> zbus::Result<String>;

    /// Undoes a change: every file back to its original bytes.
    fn undo(&self, change_id: &str) -> zbus::Result<String>;

    /// Every change, newest first.
    fn history(&self) -> zbus::Result<Vec<HistoryRow>>;

    /// A line of output from a step that is running (an initramfs rebuild).
    #[zbus(signal)]
    fn progress(&self, line: &str) -> zbus::Result<()>;
}
