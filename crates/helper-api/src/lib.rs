//! passage-helper-api: the helper's D-Bus contract, shared by the helper and its clients
//! (passagectl, the app), which link this crate and never the helper itself.
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
/// The whole host setup for one graphics card (kernel arguments, vfio-pci, host display).
pub const ACTION_SETUP_GPU: &str = "io.github.passage.setup-gpu";
pub const ACTION_DEVICES: &str = "io.github.passage.manage-devices";
pub const ACTION_DISPLAY: &str = "io.github.passage.configure-display";
pub const ACTION_UNDO: &str = "io.github.passage.undo";
pub const ACTION_HISTORY: &str = "io.github.passage.history";
/// Reading every user's changes in History (without it, a caller sees its own).
pub const ACTION_HISTORY_ALL: &str = "io.github.passage.history-all";
pub const ACTION_MEMORY: &str = "io.github.passage.manage-memory";
/// What libvirt's hook may take for one VM while it runs (AuthorizeVm, RevokeVm).
pub const ACTION_AUTHORIZE_VM: &str = "io.github.passage.authorize-vm";
/// Taking a group the host needs (its display GPU…): asked in addition, never kept.
pub const ACTION_OVERRIDE: &str = "io.github.passage.override-host-devices";
/// Reading a card's option ROM from sysfs (ReadRom), which only root may do.
pub const ACTION_READ_ROM: &str = "io.github.passage.read-rom";

mod error;
pub use error::{error_text, is_unreachable, HelperError};

/// Limits on what a caller may send, checked before anything else.
pub use passage_core::verb_args::{MAX_ITEMS, MAX_ITEM_LEN};

/// One change in the history (on the bus a `(stusss)` struct).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, zbus::zvariant::Type,
)]
pub struct HistoryRow {
    /// Six digits or more (`000042`, `1000000`).
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The uid of the caller that made it.
    pub uid: u32,
    pub verb: String,
    pub summary: String,
    pub state: State,
}

/// A change's state (on the bus, its kebab-case name).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, zbus::zvariant::Type,
)]
#[serde(rename_all = "kebab-case")]
#[zvariant(signature = "s")]
pub enum State {
    /// Files are being written, or their rebuild runs (seen at start: the helper died; the
    /// rebuild is run again when every file holds what Passage wrote, else the files are put
    /// back and rebuilt).
    Applying,
    Applied,
    /// A step failed or the helper died; every file is as before.
    RolledBack,
    /// Being undone: files going back or their rebuild running, or that rebuild failed
    /// (seen at start: finish the undo, rebuild included; Undo may be asked again).
    Undoing,
    Undone,
}

impl State {
    /// The state's name as the history shows it.
    pub fn name(self) -> &'static str {
        match self {
            State::Applying => "applying",
            State::Applied => "applied",
            State::RolledBack => "rolled-back",
            State::Undoing => "undoing",
            State::Undone => "undone",
        }
    }
}

#[zbus::proxy(
    interface = "io.github.passage.Helper1",
    default_service = "io.github.passage.Helper1",
    default_path = "/io/github/passage/Helper1"
)]
pub trait Helper1 {
    /// Adds (or replaces) and removes kernel arguments with the host's boot loader.
    /// Returns (change id, summary); the id is empty when nothing needed to change.
    #[zbus(allow_interactive_auth)]
    fn set_kernel_arguments(&self, add: &[&str], remove: &[&str])
        -> zbus::Result<(String, String)>;

    /// Everything the host needs to hand this graphics card's IOMMU group to VMs from boot on,
    /// as one change (one authorization, one Undo). Returns (change id, summary).
    #[zbus(allow_interactive_auth)]
    fn configure_gpu(&self, gpu: &str) -> zbus::Result<(String, String)>;

    /// The same card lent to VMs only while they run: the IOMMU arguments, the desktop kept
    /// off the card, and libvirt's hook (no boot-time binding). Returns (change id, summary).
    #[zbus(allow_interactive_auth)]
    fn configure_gpu_sessions(&self, gpu: &str) -> zbus::Result<(String, String)>;

    /// Binds these devices (a whole IOMMU group) to vfio-pci from boot on.
    #[zbus(allow_interactive_auth)]
    fn configure_vfio(&self, devices: &[&str]) -> zbus::Result<(String, String)>;

    /// Keeps the host's desktop on this GPU.
    #[zbus(allow_interactive_auth)]
    fn configure_host_display(&self, gpu: &str) -> zbus::Result<(String, String)>;

    /// vendor-reset resets this card with the AMD reset bug: a udev rule sets its
    /// `reset_method` to `device_specific`. Refused for another card, or without vendor-reset
    /// installed. Returns (change id, summary).
    #[zbus(allow_interactive_auth)]
    fn configure_vendor_reset(&self, gpu: &str) -> zbus::Result<(String, String)>;

    /// The option ROM of the card at `gpu`, read from sysfs (switched on, read, switched off),
    /// for the caller to walk with core's walker. Refused for a device that is not there, has no
    /// ROM, or shows the host's screen.
    #[zbus(allow_interactive_auth)]
    fn read_rom(&self, gpu: &str) -> zbus::Result<Vec<u8>>;

    /// A ROM file's bytes (`name`: the user's file name) placed in /var/lib/libvirt/vbios/
    /// for QEMU, refused when they are not a whole PCI option ROM. Returns (change id,
    /// summary); the path is `passage_core::plan::rom::placed_path(name, rom)`.
    #[zbus(allow_interactive_auth)]
    fn place_rom(&self, name: &str, rom: &[u8]) -> zbus::Result<(String, String)>;

    /// vfio-pci keeps idle cards out of D3 (its `disable_idle_d3` option), for cards that do
    /// not wake from D3cold. Returns (change id, summary).
    #[zbus(allow_interactive_auth)]
    fn configure_idle_d3_off(&self) -> zbus::Result<(String, String)>;
    /// Looking Glass's host files for the caller: the shared memory theirs, AppArmor's
    /// override, and for the kvmfr module libvirt's device list.
    #[zbus(allow_interactive_auth)]
    fn configure_looking_glass(&self) -> zbus::Result<(String, String)>;

    /// Hands a whole IOMMU group to vfio-pci now. A group the host needs is refused unless
    /// `override_host` (authorized separately).
    #[zbus(allow_interactive_auth)]
    fn bind_to_vfio(&self, devices: &[&str], override_host: bool) -> zbus::Result<String>;

    /// Gives devices back to their own drivers.
    #[zbus(allow_interactive_auth)]
    fn restore_drivers(&self, devices: &[&str]) -> zbus::Result<String>;

    /// Reserves `count` hugepages of `size_kib` (2048 or 1048576) for VM memory. Returns (change
    /// id, summary); the kernel may reserve fewer when memory is fragmented, and says so.
    #[zbus(allow_interactive_auth)]
    fn reserve_hugepages(&self, size_kib: u64, count: u64) -> zbus::Result<(String, String)>;

    /// Gives back the hugepages Passage reserved of this size (to the count before).
    #[zbus(allow_interactive_auth)]
    fn release_hugepages(&self, size_kib: u64) -> zbus::Result<String>;

    /// Authorizes libvirt's hook to take, while the VM with this UUID runs, these devices'
    /// whole IOMMU groups, hugepages backing at most `hugepages_kib` of its memory, and the
    /// host kept off `cpus` (empty: none). The hook takes nothing else for it. Returns (change
    /// id, summary); Undo of that change revokes it.
    #[zbus(allow_interactive_auth)]
    fn authorize_vm(
        &self,
        uuid: &str,
        vm: &str,
        devices: &[&str],
        hugepages_kib: u64,
        cpus: &[u32],
    ) -> zbus::Result<(String, String)>;

    /// Removes what was authorized for this VM (it is deleted). Returns (change id, summary).
    #[zbus(allow_interactive_auth)]
    fn revoke_vm(&self, uuid: &str) -> zbus::Result<(String, String)>;

    /// Undoes a change: every file back to its original bytes.
    #[zbus(allow_interactive_auth)]
    fn undo(&self, change_id: &str) -> zbus::Result<String>;

    /// The caller's own changes, newest first; every change for root and for an administrator
    /// polkit allows `io.github.passage.history-all` (never asked interactively).
    fn history(&self) -> zbus::Result<Vec<HistoryRow>>;

    /// A line of output from a step that is running (an initramfs rebuild).
    #[zbus(signal)]
    fn progress(&self, line: &str) -> zbus::Result<()>;
}

/// The process's one connection to the system bus, made at the first call and kept: the app
/// and passagectl do not open a connection per helper call.
pub async fn system_bus() -> zbus::Result<zbus::Connection> {
    static SYSTEM: std::sync::Mutex<Option<zbus::Connection>> = std::sync::Mutex::new(None);
    if let Some(c) = SYSTEM.lock().ok().and_then(|g| g.clone()) {
        return Ok(c);
    }
    let c = zbus::Connection::system().await?;
    if let Ok(mut g) = SYSTEM.lock() {
        // Two first calls at once: the first kept wins, the other connection is dropped.
        return Ok(g.get_or_insert(c).clone());
    }
    Ok(c)
}

/// Sends one planned intent to the verb that applies it. Returns (change id, summary).
pub async fn apply_intent(
    proxy: &Helper1Proxy<'_>,
    intent: &passage_core::plan::Intent,
) -> zbus::Result<(String, String)> {
    use passage_core::plan::Intent;
    match intent {
        Intent::KernelArguments { add, remove } => {
            let add: Vec<&str> = add.iter().map(String::as_str).collect();
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            proxy.set_kernel_arguments(&add, &remove).await
        }
        Intent::VfioAtBoot { devices } => {
            let devices: Vec<String> = devices.iter().map(ToString::to_string).collect();
            let devices: Vec<&str> = devices.iter().map(String::as_str).collect();
            proxy.configure_vfio(&devices).await
        }
        Intent::HostDisplay { gpu } => proxy.configure_host_display(&gpu.to_string()).await,
        // Parts of "lend the card while VMs run", which only comes whole (one authorization,
        // the helper's own path in the hook).
        Intent::DesktopOff { gpu } => proxy.configure_gpu_sessions(&gpu.to_string()).await,
        // The helper sets it up for its caller, on the memory the host has.
        Intent::LookingGlass { .. } => proxy.configure_looking_glass().await,
        Intent::SessionHook => Err(zbus::Error::Failure(
            "libvirt's hook is installed with the card it lends (ConfigureGpuSessions)".into(),
        )),
        Intent::VendorReset { gpu } => proxy.configure_vendor_reset(&gpu.to_string()).await,
        Intent::IdleD3Off => proxy.configure_idle_d3_off().await,
    }
}

/// Runs a helper call, handing each progress line to `on_line` while it runs. The helper sends
/// every line before its reply and the bus keeps that order, so the lines already queued when
/// the reply arrives are handed over before this returns: none is lost to a race between the
/// signal stream and the reply.
pub async fn with_progress<T>(
    proxy: &Helper1Proxy<'_>,
    call: impl std::future::Future<Output = T>,
    mut on_line: impl FnMut(&str),
) -> T {
    use futures_util::future::{self, Either};
    use futures_util::{FutureExt, StreamExt};
    let Ok(mut signals) = proxy.receive_progress().await else {
        return call.await;
    };
    let mut hand = |s: Progress| {
        if let Ok(a) = s.args() {
            on_line(a.line);
        }
    };
    let mut call = std::pin::pin!(call);
    loop {
        match future::select(call, signals.next()).await {
            Either::Left((r, _)) => {
                while let Some(Some(s)) = signals.next().now_or_never() {
                    hand(s);
                }
                return r;
            }
            Either::Right((Some(s), rest)) => {
                hand(s);
                call = rest;
            }
            Either::Right((None, rest)) => return rest.await,
        }
    }
}
