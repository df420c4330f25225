//! Host setup's plan for its target: made in a command (planning reads the host), again when
//! the GPU mode or the wizard's extras change.

use passage_core::plan::{self, Intent, Plan};
use passage_core::vm::session::GpuMode;
use relm4::adw::prelude::*;
use relm4::ComponentSender;

use super::{Cmd, SetupPage, Target};
use crate::host_source::Loaded;

/// The plan for a target (what the helper will recompute and apply); a card's comes with the
/// wizard's extras (each applied after it as a change of its own).
fn plan_for(
    loaded: &Loaded,
    target: &Target,
    mode: GpuMode,
    extras: &[Intent],
) -> Result<Plan, String> {
    let (root, host) = (&loaded.root, &loaded.host);
    match target {
        Target::Gpu(s) => {
            let helper = plan::hook::DEFAULT_HELPER;
            plan::for_gpu_mode_with(root, host, s.gpu, mode, helper, extras)
        }
        Target::Intent(i) => plan::plan(root, host, i),
    }
    .map_err(|e| e.to_string())
}

impl SetupPage {
    /// Plans again (a mode or the extras changed).
    pub(super) fn replan(&mut self, sender: &ComponentSender<Self>) {
        if let (Some(loaded), Some(target)) = (self.loaded.clone(), self.target.clone()) {
            self.planned = false;
            self.apply.set_sensitive(false);
            let (mode, extras) = (self.mode, self.extras.clone());
            sender.spawn_oneshot_command(move || {
                Cmd::Planned(plan_for(&loaded, &target, mode, &extras))
            });
        }
    }
}
