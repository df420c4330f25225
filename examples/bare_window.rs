//! The start-up floor for build-aux/bench-app.sh: a relm4 + libadwaita window with nothing in
//! it, built with the same profile as the app.

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
        root.set_content(Some(&gtk::Box::new(gtk::Orientation::Vertical, 0)));
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
