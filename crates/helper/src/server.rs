//! The D-Bus object: validate, authorize (polkit, for the caller named in the message header),
//! recompute the change with passage-core from the host the helper sees, apply through the
//! journal. One change at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use passage_core::host::{Allow, PciAddress};
use passage_core::plan::{self, args, Intent};
use passage_core::verb_args;
use passage_core::{Host, Root};
use zbus::message::Header;
use zbus::{fdo, interface, Connection};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

use crate::journal::{Binding, Change, Hugepages, Journal, ProcessRunner, Restored, State};
use crate::{authz, checks, sysfs};
use passage_helper_api::*;

/// Calls answered at once; more are refused (each may hold a polkit prompt open).
pub const MAX_CALLS: usize = 16;

/// The most CPUs one authorization names.
const MAX_CPUS: usize = 8192;

pub struct Helper {
    pub root: PathBuf,
    pub steps_path: Option<PathBuf>,
    busy: Arc<Mutex<()>>,
    /// Open polkit checks per calling uid.
    checks: Arc<checks::Checks>,
    /// For the idle exit (main.rs).
    pub activity: Arc<crate::activity::Activity>,
}

impl Helper {
    /// Step programs: from `--steps-path` in tests, from the system directories on a live
    /// root.
    fn runner(&self) -> ProcessRunner {
        ProcessRunner {
            dir: self.steps_path.clone(),
            live: self.root == std::path::Path::new("/"),
            timeout: crate::journal::STEP_TIMEOUT,
        }
    }

    /// The helper's own view of the host (scanned off the bus's thread), for checks made
    /// before polkit is asked.
    async fn scan(&self) -> fdo::Result<Host> {
        let root = self.root.clone();
        blocking::unblock(move || Root::new(&root).map(|r| Host::scan(&r)))
            .await
            .map_err(|e| fdo::Error::Failed(e.to_string()))
    }

    /// The card's whole group (endpoints), when the card may go to VMs: core's Host::vm_gpu
    /// (the rule the app applies before it offers the card) and the group check, on the
    /// helper's own view of the host, before polkit is asked.
    async fn card_group(&self, gpu: PciAddress) -> fdo::Result<(Host, Vec<PciAddress>)> {
        let host = self.scan().await?;
        let group = host
            .vm_gpu(gpu)
            .map(|g| host.endpoints(&g.devices))
            .map_err(|r| fdo::Error::InvalidArgs(r.words(&host)))?;
        Ok((host, group))
    }

    /// The group of a card lent to VMs while they run ([`lent_mode`]): the host's only card
    /// showing the screen goes by the only-GPU rule, every other card as in
    /// [`Self::card_group`].
    async fn lent_group(&self, gpu: PciAddress) -> fdo::Result<Vec<PciAddress>> {
        let host = self.scan().await?;
        passage_core::vm::devices::choose_in(&host, gpu, lent_mode(&host, gpu))
            .map(|s| s.devices)
            .map_err(fdo::Error::InvalidArgs)
    }

    /// Runs `f` off the bus's thread, one change at a time.
    async fn exclusive<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> fdo::Result<T> + Send + 'static,
    ) -> fdo::Result<T> {
        let busy = self.busy.clone();
        let root = self.root.clone();
        let _running = self.activity.busy();
        blocking::unblock(move || {
            // A call that panicked released the lock while unwinding; its change is left
            // Applying in the journal, which recovery finishes, so the lock itself is fine.
            let _guard = busy.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // And no libvirt hook at the same time (another process).
            let _host = crate::lock::wait(&root).map_err(|e| {
                fdo::Error::Failed(format!("cannot take Passage's lock: {e}"))
            })?;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
                Err(fdo::Error::Failed(
                    "the helper hit an internal error and stopped this call; the journal finishes or rolls back its change when the helper starts again (see its log)".into(),
                ))
            })
        })
        .await
    }

    /// Counts the call as running (so the helper never exits in the middle of one, a polkit
    /// prompt included), refusing it when [`MAX_CALLS`] are running already.
    fn admit(&self) -> fdo::Result<crate::activity::Busy> {
        use crate::activity::Refused;
        self.activity.admit(MAX_CALLS).map_err(|r| match r {
            Refused::Full => fdo::Error::LimitsExceeded(format!(
                "the helper is answering {MAX_CALLS} calls already; try again in a moment"
            )),
            Refused::Stopping => fdo::Error::Failed(
                "the helper is stopping (the system is shutting down or the service was stopped); nothing was changed. Try again once it is back".into(),
            ),
        })
    }

    pub fn new(root: PathBuf, steps_path: Option<PathBuf>) -> Self {
        Self {
            root,
            steps_path,
            busy: Arc::new(Mutex::new(())),
            checks: checks::Checks::new(),
            activity: crate::activity::Activity::new(),
        }
    }
}

/// Who asked: the uid polkit checked, and the bus name that gets the Progress signals.
struct Caller {
    uid: u32,
    name: Option<zbus::names::OwnedUniqueName>,
}

impl Caller {
    fn of(uid: u32, hdr: &Header<'_>) -> Caller {
        Caller {
            uid,
            name: hdr.sender().map(|s| s.to_owned().into()),
        }
    }
}

/// Sends a step's output lines to the caller as Progress signals, addressed to it alone
/// (a rebuild's output can say things about the host other users need not read).
fn emitter(conn: &Connection, to: Option<zbus::names::OwnedUniqueName>) -> impl FnMut(&str) + '_ {
    move |line: &str| {
        let Some(to) = &to else { return };
        let _ = zbus::block_on(conn.emit_signal(
            Some(to),
            OBJECT_PATH,
            INTERFACE,
            "Progress",
            &(line,),
        ));
    }
}

/// A list of PCI addresses from a caller: size limits first, then each address parsed
/// (core's rules, which the fuzz target exercises).
fn devices_arg(devices: &[String]) -> fdo::Result<Vec<passage_core::host::PciAddress>> {
    verb_args::devices(devices).map_err(invalid)
}

/// One PCI address from the caller, within the limits and well formed.
fn address_arg(a: &str) -> fdo::Result<passage_core::host::PciAddress> {
    verb_args::address(a).map_err(invalid)
}

/// A VM's UUID from the caller, in lower case.
fn uuid_arg(u: &str) -> fdo::Result<String> {
    verb_args::uuid(u).ok_or_else(|| {
        fdo::Error::InvalidArgs(format!(
            "{:?} is not a VM's UUID (8-4-4-4-12 hex digits, as `virsh domuuid NAME` prints it)",
            u.chars().take(40).collect::<String>()
        ))
    })
}

fn limits(what: &str, items: &[String]) -> fdo::Result<()> {
    verb_args::limits(what, items).map_err(invalid)
}

fn invalid(e: verb_args::ArgError) -> fdo::Error {
    fdo::Error::InvalidArgs(e.to_string())
}

/// What a call asks for, as polkit details: an authentication agent can show it, and rules
/// can decide on it (`action.lookup("devices")`, `"arguments"`).
fn details<'a>(pairs: &'a [(&'a str, String)]) -> HashMap<&'a str, &'a str> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect()
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// polkit may ask for a password only when the caller said it may wait for one (the
/// message's ALLOW_INTERACTIVE_AUTHORIZATION flag, which Passage's clients set).
fn interaction(hdr: &Header<'_>) -> CheckAuthorizationFlags {
    if hdr
        .primary()
        .flags()
        .contains(zbus::message::Flags::ALLOW_INTERACTIVE_AUTH)
    {
        CheckAuthorizationFlags::ALLOW_USER_INTERACTION
    } else {
        CheckAuthorizationFlags::empty()
    }
}

impl Helper {
    async fn authorize(
        &self,
        conn: &Connection,
        hdr: &Header<'_>,
        action: &str,
    ) -> fdo::Result<u32> {
        self.authorize_with(conn, hdr, action, &[]).await
    }

    /// polkit decides, for the caller that sent this message (its unique bus name), never for
    /// us. A caller has at most [`checks::PER_UID`] checks open at once (each may be a
    /// password prompt left open), and polkit gets [`checks::timeout`] to answer.
    async fn authorize_with(
        &self,
        conn: &Connection,
        hdr: &Header<'_>,
        action: &str,
        about: &[(&str, String)],
    ) -> fdo::Result<u32> {
        let sender = hdr
            .sender()
            .ok_or_else(|| fdo::Error::AccessDenied("the message has no sender".into()))?;
        let dbus = fdo::DBusProxy::new(conn).await?;
        let uid = dbus.get_connection_unix_user(sender.clone().into()).await?;
        let _open = self.checks.open(uid, checks::PER_UID).ok_or_else(|| {
            fdo::Error::LimitsExceeded(format!(
                "you have {} authorization requests open already (password prompts not answered yet); answer or dismiss them, then try again. Nothing was changed",
                checks::PER_UID
            ))
        })?;
        let subject = Subject::new_for_message_header(hdr)
            .map_err(|e| fdo::Error::AccessDenied(format!("cannot identify the caller: {e}")))?;
        let authority = AuthorityProxy::new(conn).await.map_err(|e| {
            fdo::Error::AccessDenied(format!(
                "polkit is not reachable ({e}); is polkitd running?"
            ))
        })?;
        let cancel = format!(
            "passage-{}-{}",
            std::process::id(),
            CHECK_IDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let details = details(about);
        let check =
            authority.check_authorization(&subject, action, &details, interaction(hdr), &cancel);
        let timer = checks::Timer::new();
        let limit = checks::timeout();
        let result = {
            use futures_util::future::{select, Either};
            let ran_out = timer.run(limit);
            match select(std::pin::pin!(check), std::pin::pin!(ran_out)).await {
                Either::Left((r, _)) => {
                    timer.cancel();
                    r
                }
                Either::Right(_) => {
                    // Sent without waiting for polkit's reply: polkit may be busy with
                    // this very check for a while yet.
                    let _ = authority
                        .inner()
                        .call_noreply("CancelCheckAuthorization", &(cancel.as_str(),))
                        .await;
                    return Err(fdo::Error::AccessDenied(format!(
                        "polkit did not answer the authorization request for {action} within {} s (a password prompt left open?); nothing was changed, try again",
                        limit.as_secs_f32()
                    )));
                }
            }
        }
        .map_err(|e| fdo::Error::AccessDenied(format!("polkit could not decide ({e})")))?;
        if !result.is_authorized {
            return Err(fdo::Error::AccessDenied(format!(
                "not authorized for {action}: polkit said no (or authentication was dismissed)"
            )));
        }
        Ok(uid)
    }
}

/// Cancellation ids of polkit checks, unique in this process.
static CHECK_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Core's group rule for BindToVfio: exactly `devices`, what the host needs only with
/// `allow_host`; a refusal in its words.
fn may_take(host: &Host, devices: &[PciAddress], allow_host: bool) -> fdo::Result<()> {
    host.may_take(devices, Allow::exact(allow_host))
        .map(drop)
        .map_err(|r| fdo::Error::InvalidArgs(r.words(host)))
}

fn plan_error(e: plan::PlanError) -> fdo::Error {
    use plan::PlanError::*;
    match e {
        UnknownKey(_) | BadArgument(..) | Device(_) => fdo::Error::InvalidArgs(e.to_string()),
        _ => fdo::Error::Failed(e.to_string()),
    }
}

impl Helper {
    /// Plans `intent` on the host as the helper sees it and applies it through the journal.
    async fn apply(
        &self,
        conn: &Connection,
        caller: Caller,
        verb: &'static str,
        intent: Intent,
    ) -> fdo::Result<(String, String)> {
        self.apply_plan(conn, caller, verb, move |r, host| {
            plan::plan(r, host, &intent)
        })
        .await
    }

    /// Recomputes a plan on the helper's own view of the host and applies it as one journaled
    /// change.
    async fn apply_plan(
        &self,
        conn: &Connection,
        caller: Caller,
        verb: &'static str,
        make: impl FnOnce(&Root, &Host) -> Result<plan::Plan, plan::PlanError> + Send + 'static,
    ) -> fdo::Result<(String, String)> {
        let root = self.root.clone();
        let runner = self.runner();
        let conn = conn.clone();
        self.exclusive(move || {
            let r = Root::new(&root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
            let host = Host::scan(&r);
            let p = make(&r, &host).map_err(plan_error)?;
            if p.is_empty() {
                return Ok((
                    String::new(),
                    "Nothing to change: the host is already set up this way.".to_string(),
                ));
            }
            let journal = Journal::new(&root);
            let mut progress = emitter(&conn, caller.name);
            let e = journal
                .apply(&p, verb, caller.uid, &runner, &mut progress)
                .map_err(|e| fdo::Error::Failed(e.to_string()))?;
            let mut summary = e.summary.clone();
            for n in &p.notes {
                summary.push('\n');
                summary.push_str(n);
            }
            Ok((e.id, summary))
        })
        .await
    }
}

#[interface(name = "io.github.passage.Helper1")]
impl Helper {
    async fn set_kernel_arguments(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        limits("arguments", &add)?;
        limits("arguments", &remove)?;
        for a in &add {
            args::parse_allowed(a).map_err(plan_error)?;
        }
        for k in &remove {
            args::parse_removable(k).map_err(plan_error)?;
        }
        let about = [(
            "arguments",
            format!("add {} remove {}", joined(&add), joined(&remove)),
        )];
        let uid = self.authorize_with(conn, &hdr, ACTION_BOOT, &about).await?;
        self.apply(
            conn,
            Caller::of(uid, &hdr),
            "set-kernel-arguments",
            Intent::KernelArguments { add, remove },
        )
        .await
    }

    /// Everything one graphics card needs, as one change under one authorization: the IOMMU
    /// kernel arguments, its whole group on vfio-pci from boot on, the desktop kept on the other
    /// GPU. The card must be a GPU the host does not show its screen on, in a group that can go.
    async fn configure_gpu(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        gpu: String,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let gpu = address_arg(&gpu)?;
        let (host, group) = self.card_group(gpu).await?;
        plan::gpu_intents(&host, gpu).map_err(plan_error)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_SETUP_GPU, &[("devices", joined(&group))])
            .await?;
        self.apply_plan(
            conn,
            Caller::of(uid, &hdr),
            "configure-gpu",
            move |r, host| {
                // libvirt's hook (for the VMs' hugepages at start) runs the installed helper.
                plan::hook::check_helper(r, plan::hook::DEFAULT_HELPER)?;
                plan::for_gpu_mode(
                    r,
                    host,
                    gpu,
                    passage_core::vm::session::GpuMode::AtBoot,
                    plan::hook::DEFAULT_HELPER,
                )
            },
        )
        .await
    }

    /// The card lent to VMs while they run (libvirt's hook takes and gives back its group):
    /// the same card rules as [`Self::configure_gpu`], no boot-time binding. The hook runs the
    /// helper installed where the build put it, once it is checked root's alone.
    async fn configure_gpu_sessions(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        gpu: String,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let gpu = address_arg(&gpu)?;
        let group = self.lent_group(gpu).await?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_SETUP_GPU, &[("devices", joined(&group))])
            .await?;
        self.apply_plan(
            conn,
            Caller::of(uid, &hdr),
            "configure-gpu-sessions",
            move |r, host| {
                // The dispatcher runs the installed helper as root for every VM start.
                plan::hook::check_helper(r, plan::hook::DEFAULT_HELPER)?;
                plan::for_gpu_mode(
                    r,
                    host,
                    gpu,
                    lent_mode(host, gpu),
                    plan::hook::DEFAULT_HELPER,
                )
            },
        )
        .await
    }

    async fn configure_vfio(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        devices: Vec<String>,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let devices = devices_arg(&devices)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_DEVICES, &[("devices", joined(&devices))])
            .await?;
        self.apply(
            conn,
            Caller::of(uid, &hdr),
            "configure-vfio",
            Intent::VfioAtBoot { devices },
        )
        .await
    }

    async fn configure_host_display(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        gpu: String,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let gpu = address_arg(&gpu)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_DISPLAY, &[("devices", gpu.to_string())])
            .await?;
        self.apply(
            conn,
            Caller::of(uid, &hdr),
            "configure-host-display",
            Intent::HostDisplay { gpu },
        )
        .await
    }

    /// vendor-reset for a card with the AMD reset bug: the card is checked (it exists, its
    /// family, the module installed) on the helper's view of the host before polkit is asked,
    /// and again when the rule is planned.
    async fn configure_vendor_reset(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        gpu: String,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let gpu = address_arg(&gpu)?;
        let host = self.scan().await?;
        let root = Root::new(&self.root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
        plan::reset::vendor_reset_plan(&root, &host, gpu).map_err(plan_error)?;
        let uid = self
            .authorize_with(
                conn,
                &hdr,
                ACTION_SETUP_GPU,
                &[("devices", gpu.to_string())],
            )
            .await?;
        self.apply(
            conn,
            Caller::of(uid, &hdr),
            "configure-vendor-reset",
            Intent::VendorReset { gpu },
        )
        .await
    }

    /// A card's option ROM (read-only for the host's files; the ROM is switched on only while
    /// it is read). The card is checked with core's rule before polkit is asked and again
    /// before the read: it exists, has a ROM, and the host does not show its screen on it.
    async fn read_rom(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        gpu: String,
    ) -> fdo::Result<Vec<u8>> {
        let _call = self.admit()?;
        let gpu = address_arg(&gpu)?;
        let root = self.root.clone();
        let check = move || -> fdo::Result<(Root, String)> {
            let r = Root::new(&root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
            let host = Host::scan(&r);
            let attr = passage_core::host::rom::sysfs_rom(&host, &r, gpu)
                .map_err(|e| fdo::Error::InvalidArgs(e.to_string()))?;
            Ok((r, attr))
        };
        let first = check.clone();
        blocking::unblock(move || first().map(drop)).await?;
        self.authorize_with(conn, &hdr, ACTION_READ_ROM, &[("devices", gpu.to_string())])
            .await?;
        self.exclusive(move || {
            let (r, attr) = check()?;
            passage_core::host::rom::read_card(&r, &attr, gpu).map_err(fdo::Error::Failed)
        })
        .await
    }

    /// A ROM file for a passed-through card, copied where libvirt's QEMU may read it (with
    /// AppArmor's read rule for that directory): `name` is the user's file name (the copy's
    /// name comes from it and the bytes' hash), `rom` its bytes, walked before polkit is asked
    /// and refused when they are not a whole PCI option ROM. Returns (change id, summary); the
    /// path is [`plan::rom::placed_path`] of the same two.
    async fn place_rom(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        name: String,
        rom: Vec<u8>,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let root = Root::new(&self.root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
        let (_, path) = plan::rom::plan(&root, &name, &rom).map_err(plan_error)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_SETUP_GPU, &[("rom", path)])
            .await?;
        self.apply_plan(conn, Caller::of(uid, &hdr), "place-rom", move |r, _| {
            plan::rom::plan(r, &name, &rom).map(|(p, _)| p)
        })
        .await
    }

    async fn configure_idle_d3_off(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let uid = self
            .authorize_with(
                conn,
                &hdr,
                ACTION_SETUP_GPU,
                &[("option", "vfio-pci disable_idle_d3=1".into())],
            )
            .await?;
        self.apply(
            conn,
            Caller::of(uid, &hdr),
            "configure-idle-d3-off",
            Intent::IdleD3Off,
        )
        .await
    }

    /// Looking Glass's host files for the caller (their name from the host's /etc/passwd),
    /// on the kvmfr device where the module is loaded, else /dev/shm.
    async fn configure_looking_glass(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let uid = self
            .authorize_with(
                conn,
                &hdr,
                ACTION_DISPLAY,
                &[("looking-glass", String::new())],
            )
            .await?;
        self.apply_plan(
            conn,
            Caller::of(uid, &hdr),
            "configure-looking-glass",
            move |r, _| {
                let user = plan::looking_glass::user_of(r, uid)?;
                let backing = passage_core::vm::looking_glass::Backing::of(r);
                plan::looking_glass::plan(r, &user, backing)
            },
        )
        .await
    }

    async fn bind_to_vfio(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        devices: Vec<String>,
        override_host: bool,
    ) -> fdo::Result<String> {
        let _call = self.admit()?;
        let devices = devices_arg(&devices)?;
        let host = self.scan().await?;
        // The guard first, so bad input never reaches polkit; the override is its own action.
        let needs_override = host.may_take(&devices, Allow::Exact).is_err();
        may_take(&host, &devices, override_host)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_DEVICES, &[("devices", joined(&devices))])
            .await?;
        if needs_override {
            self.authorize_with(
                conn,
                &hdr,
                ACTION_OVERRIDE,
                &[("devices", joined(&devices))],
            )
            .await?;
        }
        let root = self.root.clone();
        let runner = self.runner();
        // The host may have changed while polkit asked (a prompt takes seconds): the guard
        // runs again on a fresh scan right before the writes, allowing the host's own devices
        // only when the override was authorized above.
        let allow_host = needs_override && override_host;
        drop(host);
        self.exclusive(move || {
            let r = Root::new(&root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
            let host = Host::scan(&r);
            may_take(&host, &devices, allow_host)?;
            let bound = sysfs::bind(&root, &host, &devices, &runner).map_err(fdo::Error::Failed)?;
            let summary = format!(
                "bound to vfio-pci: {}",
                bound
                    .iter()
                    .map(|f| format!(
                        "{} (was {})",
                        f.address,
                        f.driver.as_deref().unwrap_or("unbound")
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let (bound, overrides) = sysfs::Found::split(&bound);
            let e = Journal::new(&root)
                .record(
                    "bind-to-vfio",
                    uid,
                    summary.clone(),
                    Change::Binding(Binding { bound, overrides }),
                )
                .map_err(|e| fdo::Error::Failed(e.to_string()))?;
            Ok(format!("Change {}: {summary}", e.id))
        })
        .await
    }

    async fn restore_drivers(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        devices: Vec<String>,
    ) -> fdo::Result<String> {
        let _call = self.admit()?;
        let devices = devices_arg(&devices)?;
        let uid = self
            .authorize_with(conn, &hdr, ACTION_DEVICES, &[("devices", joined(&devices))])
            .await?;
        let root = self.root.clone();
        self.exclusive(move || {
            // Fresh facts, inside the exclusive section: only Passage's devices, none in use.
            crate::give_back::check(&root, &devices).map_err(fdo::Error::Failed)?;
            let now = sysfs::restore(&root, &devices).map_err(fdo::Error::Failed)?;
            let summary = format!(
                "given back: {}",
                now.iter()
                    .map(|(a, d)| format!("{a} (now {})", d.as_deref().unwrap_or("unbound")))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let journal = Journal::new(&root);
            // Bindings these devices were under are no longer in effect.
            let given: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
            for e in journal.history() {
                let covered = matches!(&e.change, Change::Binding(b)
                    if !b.bound.is_empty() && b.bound.iter().all(|(a, _)| given.contains(a)));
                if e.state == State::Applied && covered {
                    let _ = journal.mark(&e.id, State::Undone);
                }
            }
            let devices = now
                .iter()
                .map(|(a, d)| (a.to_string(), d.clone()))
                .collect();
            let _ = journal.record(
                "restore-drivers",
                uid,
                summary.clone(),
                Change::Restored(Restored { devices }),
            );
            Ok(summary)
        })
        .await
    }

    async fn reserve_hugepages(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        size_kib: u64,
        count: u64,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let host = self.scan().await?;
        // A size this host has, and the host keeps a tenth of its memory (core's rule).
        host.memory
            .check_hugepages(size_kib, count)
            .map_err(|e| fdo::Error::InvalidArgs(e.to_string()))?;
        let uid = self.authorize(conn, &hdr, ACTION_MEMORY).await?;
        let root = self.root.clone();
        self.exclusive(move || {
            // Memory may have gone while polkit asked (a prompt takes seconds, another
            // reservation or a VM's session came): the room is checked again on fresh facts,
            // under the lock, right before the write.
            let r = Root::new(&root).map_err(|e| fdo::Error::Failed(e.to_string()))?;
            passage_core::host::memory::scan(&r)
                .check_hugepages(size_kib, count)
                .map_err(|e| fdo::Error::Failed(format!("{e}; nothing was reserved")))?;
            let before = sysfs::hugepages_now(&root, size_kib).unwrap_or(0);
            let got = sysfs::set_hugepages(&root, size_kib, count).map_err(fdo::Error::Failed)?;
            let mut summary = format!("{got} hugepages of {size_kib} KiB reserved ({} MiB; there were {before})", got * size_kib / 1024);
            if got < count {
                summary.push_str(&format!(". The kernel found only {got} of {count}: memory is fragmented; reserving at boot (hugepages= on the kernel command line) always works"));
            }
            let pages = Hugepages { size_kib, before, after: got };
            let e = Journal::new(&root)
                .record("reserve-hugepages", uid, summary.clone(), Change::Hugepages(pages))
                .map_err(|e| fdo::Error::Failed(e.to_string()))?;
            Ok((e.id, summary))
        })
        .await
    }

    async fn release_hugepages(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        size_kib: u64,
    ) -> fdo::Result<String> {
        let _call = self.admit()?;
        self.authorize(conn, &hdr, ACTION_MEMORY).await?;
        let root = self.root.clone();
        self.exclusive(move || {
            let journal = Journal::new(&root);
            // Back to the count before Passage's oldest reservation of this size still in effect.
            let open: Vec<_> = journal
                .history()
                .into_iter()
                .filter(|e| {
                    e.state == State::Applied
                        && matches!(e.change, Change::Hugepages(h) if h.size_kib == size_kib)
                })
                .collect();
            let Some(oldest) = open.last() else {
                return Err(fdo::Error::Failed(format!(
                    "Passage has no hugepages of {size_kib} KiB reserved; nothing to give back"
                )));
            };
            let before = match oldest.change {
                Change::Hugepages(h) => h.before,
                _ => 0,
            };
            let now = sysfs::set_hugepages(&root, size_kib, before).map_err(fdo::Error::Failed)?;
            for e in &open {
                let _ = journal.mark(&e.id, State::Undone);
            }
            Ok(format!(
                "Hugepages of {size_kib} KiB given back: {now} reserved now"
            ))
        })
        .await
    }

    /// What libvirt's hook may take for one VM while it runs, checked on the host before
    /// polkit is asked and again right before the record is written.
    #[allow(clippy::too_many_arguments)]
    async fn authorize_vm(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        uuid: String,
        vm: String,
        devices: Vec<String>,
        hugepages_kib: u64,
        cpus: Vec<u32>,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let uuid = uuid_arg(&uuid)?;
        if !passage_core::vm::session::is_vm_name(&vm) {
            return Err(fdo::Error::InvalidArgs(
                "the VM's name is empty, longer than 1 KiB or holds a control character or /"
                    .into(),
            ));
        }
        let devices = devices_arg(&devices)?;
        if cpus.len() > MAX_CPUS {
            return Err(fdo::Error::InvalidArgs(format!(
                "{} CPUs; at most {MAX_CPUS}",
                cpus.len()
            )));
        }
        let ask = (uuid.clone(), vm.clone(), devices.clone(), cpus.clone());
        let make = move |r: &Root, host: &Host| {
            let (uuid, vm, devices, cpus) = ask.clone();
            authz::make(r, host, uuid, vm, &devices, hugepages_kib, cpus)
        };
        let root = self.root.clone();
        let first = make.clone();
        let a = blocking::unblock(move || {
            let r = Root::new(&root).map_err(|e| e.to_string())?;
            first(&r, &Host::scan(&r))
        })
        .await
        .map_err(fdo::Error::InvalidArgs)?;
        let about = [
            ("vm", vm),
            ("uuid", uuid),
            ("devices", joined(&a.devices)),
            ("hugepages_kib", hugepages_kib.to_string()),
            ("cpus", passage_core::root::format_cpu_list(&a.cpus)),
        ];
        let uid = self
            .authorize_with(conn, &hdr, ACTION_AUTHORIZE_VM, &about)
            .await?;
        // The host may have changed while polkit asked: the record is made again from a
        // fresh scan right before it is written.
        self.apply_plan(
            conn,
            Caller::of(uid, &hdr),
            "authorize-vm",
            move |r, host| {
                let a = make(r, host).map_err(plan::PlanError::Device)?;
                authz::plan_write(r, &a).map_err(plan::PlanError::Device)
            },
        )
        .await
    }

    /// Removes a VM's authorization (it was deleted).
    async fn revoke_vm(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        uuid: String,
    ) -> fdo::Result<(String, String)> {
        let _call = self.admit()?;
        let uuid = uuid_arg(&uuid)?;
        // Nothing recorded: nothing to ask polkit for (deleting a VM that never had a
        // session prompts for nothing).
        let record = self.root.join(authz::path(&uuid).trim_start_matches('/'));
        if std::fs::symlink_metadata(&record).is_err() {
            return Ok((
                String::new(),
                format!("Nothing to revoke: the VM {uuid} has no authorization."),
            ));
        }
        let uid = self
            .authorize_with(conn, &hdr, ACTION_AUTHORIZE_VM, &[("uuid", uuid.clone())])
            .await?;
        self.apply_plan(conn, Caller::of(uid, &hdr), "revoke-vm", move |r, _| {
            Ok(authz::plan_remove(r, &uuid))
        })
        .await
    }

    async fn undo(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        change_id: String,
    ) -> fdo::Result<String> {
        let _call = self.admit()?;
        if !Journal::valid_id(&change_id) {
            return Err(fdo::Error::InvalidArgs(format!(
                "{:?} is not a change id (six digits or more, from `passagectl history`)",
                change_id.chars().take(40).collect::<String>()
            )));
        }
        let uid = self.authorize(conn, &hdr, ACTION_UNDO).await?;
        let caller = Caller::of(uid, &hdr);
        let root = self.root.clone();
        let runner = self.runner();
        let conn = conn.clone();
        self.exclusive(move || {
            let mut progress = emitter(&conn, caller.name);
            Journal::new(&root)
                .undo(&change_id, &runner, &mut progress)
                .map_err(|e| fdo::Error::Failed(e.to_string()))
        })
        .await
    }

    async fn history(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<Vec<HistoryRow>> {
        let _call = self.admit()?;
        let uid = self.authorize(conn, &hdr, ACTION_HISTORY).await?;
        // Another user's changes say what they did to the host (devices, VM names): root and
        // administrators polkit allows read them all, everyone else their own.
        let all = uid == 0 || self.authorize(conn, &hdr, ACTION_HISTORY_ALL).await.is_ok();
        let root = self.root.clone();
        Ok(blocking::unblock(move || {
            Journal::new(&root)
                .history()
                .into_iter()
                .filter(|e| all || e.uid == uid)
                .map(HistoryRow::from)
                .collect()
        })
        .await)
    }

    #[zbus(signal)]
    async fn progress(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        line: &str,
    ) -> zbus::Result<()>;
}

/// How ConfigureGpuSessions lends `gpu`: *while the VM runs*, or *only GPU* for the host's
/// only card showing the screen (no boot-time binding either way; the desktop stops for it).
fn lent_mode(host: &Host, gpu: PciAddress) -> passage_core::vm::session::GpuMode {
    use passage_core::vm::session::GpuMode;
    GpuMode::for_card(host, gpu, GpuMode::WhileRunning)
}
