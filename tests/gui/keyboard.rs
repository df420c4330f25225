//! The keyboard alone (issue 21, item 10): Tab walks the whole sidebar, the wizard's steps
//! too; choosing a page from the sidebar (Enter) or by its shortcut (Alt+1…4) puts the focus
//! in that page, so no focus ring is left on the sidebar row of another.

use super::Session;

#[test]
fn tab_walks_the_sidebar_and_a_chosen_page_takes_the_focus() {
    let s = Session::start();
    let mut app = s.launch(&[]);
    app.wait_page("check", &["Demo host:"]);
    // Every row of the sidebar, in order, one Tab apart: the wizard's heading is passed by.
    app.tab_to("name=nav-check", 60);
    let pages: Vec<String> = crate::a11y::PAGES
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    for p in &pages[1..] {
        app.keys(&["Tab"]);
        app.wait_focus(&format!("name=nav-{p}"));
    }
    // Enter on a step's row shows the step with the focus in it.
    app.keys(&["Return"]);
    app.wait_page("vm-review", &["Domain XML"]);
    app.wait_focus("| page-vm-review");
    // Back to the sidebar, Enter on Devices: the focus goes into Devices.
    app.keys(&["shift+Tab"]);
    app.tab_to("name=nav-devices", 60);
    app.keys(&["Return"]);
    app.wait_page("devices", &["Group 28: NVIDIA"]);
    let f = app.wait_focus("| page-devices");
    assert!(!f.contains("nav-"), "{f}");
    // Alt+1 and Alt+4 from the sidebar: the page shown has the focus, no sidebar row keeps it.
    app.tab_to("name=nav-setup", 60);
    for (key, page, want) in [
        ("alt+1", "check", "The IOMMU is on"),
        ("alt+4", "vms", "libvirt cannot be reached"),
    ] {
        app.keys(&[key]);
        let d = app.wait_page(page, &[want]);
        let f = app.wait_focus(&format!("| page-{page}"));
        assert!(!f.contains("nav-"), "{key}: {f}");
        app.shot(&format!("keyboard-{page}"), &d);
    }
}
