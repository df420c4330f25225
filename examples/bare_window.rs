//! The start-up floor for build-aux/bench-app.sh: a relm4 + libadwaita window with nothing in
//! it, built with the same profile as the app. With BARE_CHROME=1 it has what every real
//! window has — a header bar with its window buttons (icons) and a line of text — to show what
//! those basics cost.

use relm4::adw::prelude::*;
use relm4::{adw, gtk, ComponentParts, ComponentSender, RelmApp, SimpleComponent};

struct Bare;

impl SimpleComponent for Bare {
    type Init = ();
    type Input = ();
    type Output = ();
    type Root = adw::ApplicationWindow;
    type Widgets = ();

    fn init_root() -> Self::Root {
        adw::ApplicationWindow::builder()
            .title("Bare")
            .default_width(960)
            .default_height(680)
            .build()
    }

    fn init(_: (), root: Self::Root, _: ComponentSender<Self>) -> ComponentParts<Self> {
        let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
        if std::env::var_os("BARE_CHROME").is_some() {
            content.append(&adw::HeaderBar::new());
            content.append(&gtk::Label::new(Some("A line of text")));
        }
        root.set_content(Some(&content));
        ComponentParts {
            model: Bare,
            widgets: (),
        }
    }
}

fn main() {
    RelmApp::new("io.github.passage.BareWindow")
        .with_args(vec![])
        .run::<Bare>(());
}
