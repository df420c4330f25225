//! A file chooser kept alive until it answers (a dropped `FileChooserNative` never shows).

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use passage_core::i18n::tr;
use relm4::gtk;
use relm4::gtk::prelude::*;

/// Opens a chooser over `from`'s window with these filters (a name and its patterns), and
/// calls `then` with the file the user opens; nothing when they cancel.
pub fn open(
    from: &impl IsA<gtk::Widget>,
    title: &str,
    filters: &[(String, &[&str])],
    then: impl Fn(PathBuf) + 'static,
) {
    let window = from.root().and_then(|r| r.downcast::<gtk::Window>().ok());
    let chooser = gtk::FileChooserNative::new(
        Some(title),
        window.as_ref(),
        gtk::FileChooserAction::Open,
        Some(&tr("_Open")),
        Some(&tr("_Cancel")),
    );
    for (name, patterns) in filters {
        let f = gtk::FileFilter::new();
        f.set_name(Some(name));
        for p in *patterns {
            f.add_pattern(p);
            f.add_pattern(&p.to_uppercase());
        }
        chooser.add_filter(&f);
    }
    // The chooser holds itself until it answers, then lets go.
    let keep = Rc::new(RefCell::new(Some(chooser.clone())));
    chooser.connect_response(move |c, r| {
        if r == gtk::ResponseType::Accept {
            if let Some(p) = c.file().and_then(|f| f.path()) {
                then(p);
            }
        }
        keep.borrow_mut().take();
    });
    chooser.show();
}
