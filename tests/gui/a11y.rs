//! What a screen reader reads and what the keyboard alone can do. Every page (the ten wizard
//! steps too) and the app's dialogs are walked over AT-SPI at full width and at 360 px: no
//! interactive control without a name, no status icon without one. Then the choices that
//! could be made only with a mouse are made with key presses (xdotool), focus found in the
//! accessibility tree.

use std::process::Command;
use std::time::{Duration, Instant};

use super::Session;
use crate::App;

/// Every page, with a text it shows once built (the 360 px tour in gui.rs uses it too).
pub(crate) const PAGES: [(&str, &str); 14] = [
    ("check", "The IOMMU is on"),
    ("devices", "Group 28: NVIDIA"),
    ("setup", "/etc/modprobe.d/passage-vfio.conf"),
    ("vms", "libvirt cannot be reached"),
    ("vm-media", "Installation disc image (ISO)"),
    ("vm-resources", "Memory (GiB)"),
    ("vm-storage", "Create a new disk image"),
    (
        "vm-name",
        "The name libvirt and the app menu know the VM by",
    ),
    ("vm-firmware", "Let libvirt choose"),
    ("vm-cpu", "Pin the VM's CPUs"),
    ("vm-pci", "TU102 [GeForce RTX 2080 Ti Rev. A]"),
    ("vm-usb", "Keyboard and mouse"),
    ("vm-boot", "Boot menu"),
    ("vm-review", "Domain XML"),
];

/// Asserts that nothing on screen lacks a name.
pub(crate) fn assert_all_named(app: &App<'_>, what: &str) {
    let unnamed = app.unnamed();
    assert!(
        unnamed.is_empty(),
        "{what}: {} control(s) or status icon(s) a screen reader cannot name:\n{}\n--- tree ---\n{}",
        unnamed.len(),
        unnamed.join("\n"),
        app.tree()
    );
}

/// The sidebar row of the page on screen is the selected one, and only that one.
fn assert_sidebar_follows(tree: &str, page: &str) {
    let selected: Vec<&str> = tree
        .lines()
        .filter(|l| l.trim_start().starts_with("list item") && l.contains("selected"))
        .collect();
    let want = match page {
        "check" => "'System Check'".to_string(),
        "devices" => "'Devices'".into(),
        "setup" => "'Host Setup'".into(),
        "vms" => "'Virtual Machines'".into(),
        _ => "New virtual machine, step".into(),
    };
    assert!(
        selected.len() == 1 && selected[0].contains(&want),
        "{page}: the sidebar selects {selected:?}"
    );
}

#[test]
fn every_page_names_its_controls_and_icons_wide_then_at_360px() {
    let s = Session::start();
    for (narrow, settings) in [(false, ""), (true, "window-width=360\nwindow-height=720")] {
        s.settings(settings);
        let mut app = s.launch(&[]);
        app.wait_page("check", &["Demo host:"]);
        for (page, want) in PAGES {
            app.action("show-page", Some(page));
            app.wait_page(page, &[want]);
            let tag = if narrow { "360 px" } else { "full width" };
            assert_all_named(&app, &format!("{page} at {tag}"));
            let tree = app.tree();
            if narrow {
                // Folded: the page alone, and its back button says where it goes.
                assert!(
                    tree.contains("push button 'Back to the list of steps'"),
                    "{page}: {tree}"
                );
                assert!(!tree.contains("list item 'Devices'"), "{page}: {tree}");
            } else {
                assert_sidebar_follows(&tree, page);
            }
        }
        if narrow {
            continue;
        }
        // Status icons say their status; expandable rows say whether they are open.
        app.action("show-page", Some("check"));
        let tree = app.tree();
        assert!(tree.contains("image 'Ready'"), "{tree}");
        assert!(
            tree.lines()
                .any(|l| l.contains("list item 'The IOMMU is on'")
                    && l.contains("expandable")
                    && !l.contains("expanded")),
            "{tree}"
        );
        // A refusal, the About window and the shortcuts window.
        app.action("choose-gpu", Some("0000:0d:00.0"));
        app.wait_for(&["This Card Stays With the Host"]);
        assert_all_named(&app, "the refusal dialog");
        app.key_to_dialog("Escape");
        // A toast is also told in the status bar, where a screen reader reads it.
        app.action("show-page", Some("setup"));
        app.wait_page("setup", &["Applying is disabled here"]);
        app.action("apply", None);
        app.wait_for(&["status bar 'Applying is disabled on the demo host"]);
        assert_all_named(&app, "the setup page with a toast");
        // libadwaita 1.2's About window, with its buttons, arrows and texts made readable.
        app.action("about", None);
        app.wait_for(&["AdwAboutWindow", "frame 'About'"]);
        assert_all_named(&app, "the About window");
        app.key_to_dialog("Escape");
        app.action("shortcuts", None);
        app.wait_for(&["GtkShortcutsWindow", "Scan this computer again"]);
        assert_shortcuts_have_keys(&app.tree());
    }
}

/// Each shortcut in the shortcuts window shows its keys (read before its title).
fn assert_shortcuts_have_keys(tree: &str) {
    let lines: Vec<&str> = tree.lines().collect();
    for (title, key) in [
        ("Scan this computer again", "'R'"),
        ("Keyboard shortcuts", "'?'"),
        ("Close the window", "'W'"),
        ("Quit", "'Q'"),
        ("System check", "'1'"),
    ] {
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("label '{title}'")))
            .unwrap_or_else(|| panic!("{title} is not in the shortcuts window:\n{tree}"));
        let before = &lines[at.saturating_sub(6)..at];
        assert!(
            before.iter().any(|l| l.contains(key)),
            "{title} shows no {key} key: {before:?}"
        );
    }
}

impl App<'_> {
    /// Sends key presses to the main window (no window manager: focus it first).
    pub(crate) fn keys(&self, keys: &[&str]) {
        let ids = self.windows("^Passage$");
        self.press(ids.first().expect("the main window"), keys);
    }

    /// Types text into the focused control.
    pub(crate) fn type_text(&self, text: &str) {
        let st = Command::new("xdotool")
            .args(["type", "--delay", "20", text])
            .env("DISPLAY", &self.s.display)
            .status()
            .expect("xdotool");
        assert!(st.success());
    }

    /// Where the keyboard focus is: `focus <type> | <row title> | name=<widget name>`. From the
    /// widget dump: GTK 4.8 leaves the focused state on nodes that lost focus in the tree.
    pub(crate) fn focused(&mut self) -> String {
        self.dump()
            .lines()
            .find(|l| l.starts_with("focus "))
            .unwrap_or("")
            .to_string()
    }

    /// Presses Tab until the focus line contains `target`; fails after `max` presses.
    pub(crate) fn tab_to(&mut self, target: &str, max: usize) {
        let mut trail = vec![];
        for _ in 0..max {
            let f = self.focused();
            if f.contains(target) {
                return;
            }
            trail.push(f);
            self.keys(&["Tab"]);
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "Tab never reached {target}; it went to:\n{}",
            trail.join("\n")
        );
    }

    /// Waits until the focus line holds `want`; fails with where the focus is.
    pub(crate) fn wait_focus(&mut self, want: &str) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let f = self.focused();
            if f.contains(want) {
                return f;
            }
            assert!(Instant::now() < end, "the focus is not on {want}: {f}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the tree has a line with every one of `parts`.
    pub(crate) fn wait_line(&self, parts: &[&str]) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.tree();
            if let Some(l) = t.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return l.to_string();
            }
            assert!(Instant::now() < end, "no line with {parts:?}:\n{t}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn the_card_and_an_existing_disk_image_are_chosen_with_the_keyboard_alone() {
    let s = Session::start();
    let mut app = s.launch(&[]);
    app.wait_page("check", &["Demo host:"]);
    // Devices: Tab to the other card's row, Space: choosing it is refused with the reason
    // (it shows this computer's screen), which proves the row chose it; Esc closes the
    // dialog and group 28 stays chosen.
    app.action("show-page", Some("devices"));
    app.wait_page("devices", &["Group 31: Advanced Micro Devices"]);
    app.tab_to("AdwActionRow | Group 31: Advanced Micro Devices", 60);
    app.keys(&["space"]);
    app.wait_for(&["This Card Stays With the Host"]);
    app.key_to_dialog("Escape");
    app.wait_line(&["radio button 'Group 28: NVIDIA", "checked"]);
    // And Space on group 28's row keeps it chosen, with no dialog.
    app.tab_to("AdwActionRow | Group 28: NVIDIA", 60);
    app.keys(&["space"]);
    app.wait_line(&["radio button 'Group 28: NVIDIA", "checked"]);
    // "Show" lists the other groups and puts focus on the first of them, not on the page.
    app.tab_to("name=show-other-groups", 60);
    app.keys(&["space"]);
    app.wait_focus("AdwActionRow | Group ");

    // Storage: Tab to the existing-image field and type a path: its radio is chosen, and the
    // draft has the image (Review's XML shows it).
    app.action("show-page", Some("vm-storage"));
    app.wait_page("vm-storage", &["Create a new disk image"]);
    app.tab_to(
        "GtkText | Use an existing disk image | name=existing-image",
        60,
    );
    app.type_text("/var/lib/libvirt/images/win10.qcow2");
    app.wait_line(&["radio button 'Use an existing disk image'", "checked"]);
    app.action("show-page", Some("vm-review"));
    app.wait_for(&["/var/lib/libvirt/images/win10.qcow2"]);

    // Boot order (with an installation disc too): after a move, focus stays on the moved
    // item's button.
    app.action("wizard-set", Some("install-iso=/srv/iso/Win10.iso"));
    app.action("show-page", Some("vm-boot"));
    app.wait_page("vm-boot", &["1. Disk", "2. Installation disc"]);
    app.tab_to("name=boot-disk-down", 60);
    app.keys(&["space"]);
    app.wait_for(&["1. Installation disc", "2. Disk"]);
    // The disk is last now: its Later button is off, so focus is on its Earlier button.
    app.wait_focus("name=boot-disk-up");
}
