//! GSettings: window state and what the check said before a restart. The schema is installed
//! by meson (or compiled beside the binary by build-aux/run-app.sh); without it the app runs
//! with defaults and remembers nothing.

use relm4::gtk::gio;
use relm4::gtk::prelude::*;

use crate::config;
use crate::logic::Snapshot;

#[derive(Clone)]
pub struct Settings(gio::Settings);

impl Settings {
    pub fn open() -> Option<Settings> {
        let source = gio::SettingsSchemaSource::default()?;
        source.lookup(config::APP_ID, true)?;
        Some(Settings(gio::Settings::new(config::APP_ID)))
    }

    pub fn window(&self) -> (i32, i32, bool) {
        (
            self.0.int("window-width"),
            self.0.int("window-height"),
            self.0.boolean("is-maximized"),
        )
    }

    pub fn save_window(&self, w: i32, h: i32, maximized: bool) {
        if !maximized {
            let _ = self.0.set_int("window-width", w);
            let _ = self.0.set_int("window-height", h);
        }
        let _ = self.0.set_boolean("is-maximized", maximized);
    }

    /// The VM the one-click start starts: the last one started from Passage.
    pub fn last_vm(&self) -> Option<String> {
        Some(self.0.string("last-vm").to_string()).filter(|s| !s.is_empty())
    }

    pub fn set_last_vm(&self, name: &str) {
        let _ = self.0.set_string("last-vm", name);
    }

    /// The remote hosts added with "Connect to Remote Host…" (libvirt URIs), oldest first.
    pub fn remote_hosts(&self) -> Vec<String> {
        self.0
            .strv("remote-hosts")
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Remembers a remote host (once).
    pub fn add_remote_host(&self, uri: &str) {
        let mut all = self.remote_hosts();
        if !all.iter().any(|u| u == uri) {
            all.push(uri.to_string());
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            let _ = self.0.set_strv("remote-hosts", refs.as_slice());
        }
    }

    /// The connection shown: a remote host's URI, or `None` for this computer.
    pub fn connection(&self) -> Option<String> {
        Some(self.0.string("connection").to_string()).filter(|s| !s.is_empty())
    }

    pub fn set_connection(&self, uri: Option<&str>) {
        let _ = self.0.set_string("connection", uri.unwrap_or_default());
    }

    /// Seconds Shut Down waits before it offers Force Off.
    pub fn shutdown_timeout(&self) -> u64 {
        u64::from(self.0.uint("shutdown-timeout")).max(5)
    }

    /// The boot-time changes the user kept after their restart (Host setup asks once).
    pub fn boot_checked(&self) -> Vec<String> {
        self.0
            .strv("boot-checked")
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    pub fn add_boot_checked(&self, id: &str) {
        let mut v = self.boot_checked();
        if !v.iter().any(|x| x == id) {
            v.push(id.to_string());
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            let _ = self.0.set_strv("boot-checked", refs.as_slice());
        }
    }

    pub fn snapshot(&self) -> Option<Snapshot> {
        serde_json::from_str(&self.0.string("recheck-snapshot")).ok()
    }

    pub fn save_snapshot(&self, s: &Snapshot) {
        if let Ok(j) = serde_json::to_string(s) {
            let _ = self.0.set_string("recheck-snapshot", &j);
        }
    }

    pub fn clear_snapshot(&self) {
        let _ = self.0.set_string("recheck-snapshot", "");
    }
}
