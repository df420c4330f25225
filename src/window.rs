//! The window's frame: the sidebar of steps (with the wizard's numbered steps under their
//! heading), the content side with its header bar, demo banner and page stack, and the
//! AdwLeaflet that folds them into one column on a narrow screen.

use passage_core::i18n::tr;
use relm4::adw::prelude::*;
use relm4::gtk::gio;
use relm4::{adw, gtk, ComponentSender};

use crate::app::{App, Msg};
use crate::wizard::Step;

/// The steps in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Check,
    Devices,
    Setup,
    Vms,
    /// A page of the new-VM wizard.
    Vm(Step),
}

impl Page {
    pub const MAIN: [Page; 4] = [Page::Check, Page::Devices, Page::Setup, Page::Vms];
    /// Every page, in the sidebar's order.
    pub fn all() -> Vec<Page> {
        Page::MAIN
            .into_iter()
            .chain(Step::ALL.into_iter().map(Page::Vm))
            .collect()
    }
    pub fn id(self) -> &'static str {
        match self {
            Page::Check => "check",
            Page::Devices => "devices",
            Page::Setup => "setup",
            Page::Vms => "vms",
            Page::Vm(s) => s.id(),
        }
    }
    pub fn title(self) -> String {
        match self {
            Page::Check => tr("System Check"),
            Page::Devices => tr("Devices"),
            Page::Setup => tr("Host Setup"),
            Page::Vms => tr("Virtual Machines"),
            Page::Vm(s) => s.title(),
        }
    }
    /// The sidebar's icon; the wizard's steps show their number instead.
    fn icon(self) -> Option<&'static str> {
        match self {
            Page::Check => Some("emblem-ok-symbolic"),
            Page::Devices => Some("video-display-symbolic"),
            Page::Setup => Some("emblem-system-symbolic"),
            Page::Vms => Some("computer-symbolic"),
            Page::Vm(_) => None,
        }
    }
    /// What a screen reader says for the page's row in the sidebar: a wizard step with its
    /// number ("Step 3 of 10: Storage").
    pub fn a11y_name(self) -> String {
        match self {
            Page::Vm(step) => {
                let n = step.number();
                passage_core::i18n::tr_f(
                    "New virtual machine, step {n} of {of}: {title}",
                    &[
                        ("n", &n.to_string()),
                        ("of", &Step::ALL.len().to_string()),
                        ("title", &step.title()),
                    ],
                )
            }
            p => p.title(),
        }
    }
    pub fn from_id(id: &str) -> Option<Page> {
        Page::all().into_iter().find(|p| p.id() == id)
    }
}

/// The sidebar's side of the window.
pub struct Side {
    pub pane: gtk::Box,
    pub header: adw::HeaderBar,
    /// "Passage", and whose VMs are shown when not this computer's.
    pub title: adw::WindowTitle,
    /// The main menu's hosts: this computer, the remembered remote ones, Connect….
    pub hosts: gio::Menu,
    pub list: gtk::ListBox,
    pub badge: gtk::Label,
}

impl Side {
    pub fn new(sender: &ComponentSender<App>) -> Side {
        // Sidebar.
        let sidebar = gtk::ListBox::new();
        sidebar.add_css_class("navigation-sidebar");
        // The row of the page shown is marked by the app (`current`), not by GtkListBox's
        // selection: that follows the keyboard focus, so Tab through the list (which GTK moves
        // row by row) would leave a row selected whose page is not shown.
        sidebar.set_selection_mode(gtk::SelectionMode::None);
        // The wizard's steps under their own heading: a header of the first step's row, not a
        // row, so Tab goes on from Virtual Machines to the steps (GtkListBox moves focus row
        // by row, and stopped at a row that takes none).
        let first_step = format!("nav-{}", Page::Vm(Step::ALL[0]).id());
        sidebar.set_header_func(move |row, _| {
            if row.widget_name() != first_step.as_str() {
                row.set_header(None::<&gtk::Widget>);
            } else if row.header().is_none() {
                let l = gtk::Label::new(Some(&tr("New Virtual Machine")));
                l.add_css_class("heading");
                l.add_css_class("dim-label");
                l.set_xalign(0.0);
                l.set_margin_top(12);
                // Where it stood inside a row: the row's margin and padding, then its own 6 px.
                l.set_margin_start(20);
                l.set_margin_bottom(6);
                row.set_header(Some(&l));
            }
        });
        for p in Page::all() {
            let bx = gtk::Box::new(gtk::Orientation::Horizontal, 12);
            match (p.icon(), p) {
                (Some(icon), _) => bx.append(&crate::a11y::decorative_icon(icon)),
                // The wizard's steps are numbered: it is a sequence, and ten more icons to load
                // would slow the window's start.
                (None, Page::Vm(step)) => {
                    let n = step.number();
                    let l = gtk::Label::new(Some(&n.to_string()));
                    // The row's name says the number in words with the step's title.
                    crate::a11y::decoration(&l);
                    l.add_css_class("dim-label");
                    l.add_css_class("numeric");
                    l.set_width_chars(2);
                    bx.append(&l);
                }
                (None, _) => {}
            }
            let l = gtk::Label::new(Some(&p.title()));
            l.set_xalign(0.0);
            l.set_ellipsize(gtk::pango::EllipsizeMode::End);
            bx.append(&l);
            let row = gtk::ListBoxRow::new();
            row.set_child(Some(&bx));
            row.set_widget_name(&format!("nav-{}", p.id()));
            crate::a11y::name(&row, &p.a11y_name());
            sidebar.append(&row);
        }
        let s = sender.clone();
        sidebar.connect_row_activated(move |_, row| {
            if let Some(p) = Page::from_id(row.widget_name().trim_start_matches("nav-")) {
                s.input(Msg::Navigate(p));
            }
        });

        let badge = gtk::Label::new(None);
        badge.add_css_class("demo-badge");
        badge.set_wrap(true);
        badge.set_margin_start(12);
        badge.set_margin_end(12);
        badge.set_margin_bottom(12);
        badge.set_visible(false);
        let side_header = adw::HeaderBar::new();
        let side_title = adw::WindowTitle::new(&tr("Passage"), "");
        side_header.set_title_widget(Some(&side_title));
        let menu = gio::Menu::new();
        menu.append(Some(&tr("_Scan Again")), Some("app.rescan"));
        let hosts = gio::Menu::new();
        menu.append_section(None, &hosts);
        menu.append(Some(&tr("_Keyboard Shortcuts")), Some("app.shortcuts"));
        menu.append(Some(&tr("_About Passage")), Some("app.about"));
        let menu_button = gtk::MenuButton::new();
        menu_button.set_icon_name("open-menu-symbolic");
        menu_button.set_menu_model(Some(&menu));
        menu_button.set_tooltip_text(Some(&tr("Main Menu")));
        crate::a11y::name(&menu_button, &tr("Main Menu"));
        menu_button.set_primary(true);
        side_header.pack_end(&menu_button);
        let side_scroll = gtk::ScrolledWindow::new();
        side_scroll.set_vexpand(true);
        side_scroll.set_hscrollbar_policy(gtk::PolicyType::Never);
        side_scroll.set_child(Some(&sidebar));
        let side = gtk::Box::new(gtk::Orientation::Vertical, 0);
        side.set_width_request(220);
        side.set_hexpand(false);
        side.add_css_class("background");
        side.append(&side_header);
        side.append(&side_scroll);
        side.append(&badge);

        Side {
            pane: side,
            header: side_header,
            title: side_title,
            hosts,
            list: sidebar,
            badge,
        }
    }
}

/// Marks the sidebar row of the page shown, for the eye (`current`, styled as selected) and for
/// a screen reader (the selected state); every other row is unmarked.
pub fn mark_current(sidebar: &gtk::ListBox, page: Page) {
    let name = format!("nav-{}", page.id());
    let mut row = sidebar.first_child();
    while let Some(r) = row {
        if r.widget_name().starts_with("nav-") {
            let on = r.widget_name() == name;
            if on {
                r.add_css_class("current");
            } else {
                r.remove_css_class("current");
            }
            crate::a11y::selected(&r, on);
        }
        row = r.next_sibling();
    }
}

/// Puts the keyboard focus on the first control of the page the stack shows, once the page
/// has handled what it was sent (a stale page rebuilds first): choosing a page takes the
/// focus out of the sidebar and into it.
pub fn focus_page(stack: &gtk::Stack) {
    let stack = stack.clone();
    // A page that is still loading (the VM list asks libvirt first) has nothing to focus yet:
    // tried again until it has, for two seconds, unless the focus is in the page by then.
    let mut tries = 0;
    gtk::glib::timeout_add_local(std::time::Duration::from_millis(50), move || {
        tries += 1;
        let done = match stack.visible_child() {
            Some(page) => {
                page.focus_child().is_some() || page.child_focus(gtk::DirectionType::TabForward)
            }
            None => true,
        };
        if done || tries >= 40 {
            gtk::glib::ControlFlow::Break
        } else {
            gtk::glib::ControlFlow::Continue
        }
    });
}

/// The page's side of the window.
pub struct Content {
    pub title: adw::WindowTitle,
    pub header: adw::HeaderBar,
    pub back: gtk::Button,
    pub banner: gtk::Revealer,
    pub banner_label: gtk::Label,
    pub stack: gtk::Stack,
    pub error: adw::StatusPage,
}

impl Content {
    pub fn new() -> Content {
        // Content.
        let title = adw::WindowTitle::new("", "");
        let content_header = adw::HeaderBar::new();
        content_header.set_title_widget(Some(&title));
        let back = gtk::Button::from_icon_name("go-previous-symbolic");
        back.set_tooltip_text(Some(&tr("Back")));
        crate::a11y::name(&back, &tr("Back to the list of steps"));
        back.set_widget_name("back");
        content_header.pack_start(&back);
        let banner_label = gtk::Label::new(None);
        banner_label.set_wrap(true);
        banner_label.set_xalign(0.0);
        banner_label.set_hexpand(true);
        let banner_box = gtk::Box::new(gtk::Orientation::Horizontal, 12);
        banner_box.add_css_class("demo-banner");
        let banner_icon = crate::a11y::decorative_icon("dialog-information-symbolic");
        banner_icon.set_valign(gtk::Align::Start);
        banner_box.append(&banner_icon);
        banner_box.append(&banner_label);
        let banner = gtk::Revealer::new();
        banner.set_transition_type(gtk::RevealerTransitionType::None);
        banner.set_child(Some(&banner_box));
        banner.set_widget_name("banner");

        let stack = gtk::Stack::new();
        stack.set_vexpand(true);
        // Pages change at once, as AdwViewStack's do. A crossfade (and the banner's slide) made
        // the GL renderer keep offscreen textures: 9 MB more with llvmpipe, measured.
        // Only the page on screen is measured (the others may be large and are often unbuilt).
        stack.set_hhomogeneous(false);
        stack.set_vhomogeneous(false);
        let loading = gtk::Box::new(gtk::Orientation::Vertical, 12);
        loading.set_valign(gtk::Align::Center);
        loading.append(&gtk::Label::new(Some(&tr("Reading this computer…"))));
        // No spinner: reading takes a fraction of a second, and the spinner's icon exists only as
        // SVG, so drawing it would load librsvg (6.5 MB, and time) at every start.
        stack.add_named(&loading, Some("loading"));
        // Status pages get their (SVG-only, large) icons when they are shown.
        let error = adw::StatusPage::new();
        error.set_title(&tr("Passage cannot read this host"));
        stack.add_named(&error, Some("error"));

        Content {
            title,
            header: content_header,
            back,
            banner,
            banner_label,
            stack,
            error,
        }
    }
}

/// The two sides in a leaflet; returns it and the content box.
pub fn leaflet(side: &Side, c: &Content) -> (adw::Leaflet, gtk::Box) {
    let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
    content.set_hexpand(true);
    content.add_css_class("background");
    content.append(&c.header);
    content.append(&c.banner);
    content.append(&c.stack);

    let leaflet = adw::Leaflet::new();
    leaflet.set_can_navigate_back(true);
    leaflet.append(&side.pane);
    let sep = leaflet.append(&gtk::Separator::new(gtk::Orientation::Vertical));
    sep.set_navigatable(false);
    leaflet.append(&content);
    leaflet.set_visible_child(&content);
    leaflet
        .bind_property("folded", &side.header, "show-end-title-buttons")
        .sync_create()
        .build();
    leaflet
        .bind_property("folded", &c.header, "show-start-title-buttons")
        .sync_create()
        .build();
    leaflet
        .bind_property("folded", &c.back, "visible")
        .sync_create()
        .build();
    let l = leaflet.clone();
    c.back.connect_clicked(move |_| {
        l.navigate(adw::NavigationDirection::Back);
    });

    (leaflet, content)
}
