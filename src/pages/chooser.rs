//! The app's file choosers (the wizard's rows, a finding's *Choose a Disk Image*): each one kept alive until it answers (a
//! `FileChooserNative` that is dropped closes before it is seen), filtered to the kind of file
//! the row takes, and opened in the folder where such files usually are.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use passage_core::i18n::tr;
use relm4::gtk::prelude::*;
use relm4::gtk::{self, gio, glib};

use crate::wizard::POOL_PATH;

/// What a row takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A disc image: an installation or drivers ISO.
    Iso,
    /// A VM's disk image.
    DiskImage,
    /// Either: a drive whose image went missing (a disk or a CD-ROM).
    AnyImage,
    /// A graphics card's ROM file (a dump from GPU-Z, nvflash, amdvbflash).
    Rom,
}

impl Kind {
    fn title(self) -> String {
        match self {
            Kind::Iso => tr("Choose a Disc Image"),
            Kind::DiskImage | Kind::AnyImage => tr("Choose a Disk Image"),
            Kind::Rom => tr("Choose a ROM File"),
        }
    }

    /// The filter's name and the suffixes it lets through (GTK matches suffixes without
    /// regard to case).
    fn filter(self) -> (String, &'static [&'static str]) {
        match self {
            Kind::Iso => (tr("Disc images (ISO)"), &["iso"]),
            Kind::DiskImage => (
                tr("Disk images (qcow2, raw, img)"),
                &["qcow2", "raw", "img"],
            ),
            Kind::AnyImage => (
                tr("Disk and disc images (qcow2, raw, img, ISO)"),
                &["qcow2", "raw", "img", "iso"],
            ),
            Kind::Rom => (tr("ROM files (rom, bin)"), &["rom", "bin"]),
        }
    }

    /// Where such files usually are: the user's Downloads for ISOs and ROM dumps, libvirt's
    /// default pool for disk images when this user may read it; else the home folder.
    fn start_folder(self) -> PathBuf {
        let readable = |p: &Path| std::fs::read_dir(p).is_ok();
        let usual = match self {
            Kind::Iso | Kind::Rom => glib::user_special_dir(glib::UserDirectory::Downloads),
            Kind::DiskImage | Kind::AnyImage => Some(PathBuf::from(POOL_PATH)),
        };
        usual.filter(|p| readable(p)).unwrap_or_else(glib::home_dir)
    }
}

/// Opens a chooser for `kind` over the window of `from`, titled `what` (the row it fills, so
/// two choosers of one kind are told apart; empty: the kind's title), starting beside `current`
/// when that names a file in an existing folder; `chosen` gets the path the user accepts.
pub fn open(
    from: &impl IsA<gtk::Widget>,
    (kind, what): (Kind, &str),
    current: &str,
    chosen: impl Fn(PathBuf) + 'static,
) {
    let window = from.root().and_then(|r| r.downcast::<gtk::Window>().ok());
    let title = if what.is_empty() {
        kind.title()
    } else {
        what.to_string()
    };
    let chooser = gtk::FileChooserNative::new(
        Some(&title),
        window.as_ref(),
        gtk::FileChooserAction::Open,
        Some(&tr("_Open")),
        Some(&tr("_Cancel")),
    );
    chooser.set_modal(true);
    let (name, suffixes) = kind.filter();
    let filter = gtk::FileFilter::new();
    filter.set_name(Some(&name));
    for s in suffixes {
        filter.add_suffix(s);
    }
    chooser.add_filter(&filter);
    let all = gtk::FileFilter::new();
    all.set_name(Some(&tr("All files")));
    all.add_pattern("*");
    chooser.add_filter(&all);
    chooser.set_filter(&filter);
    let folder = Path::new(current)
        .parent()
        .filter(|p| p.is_absolute() && p.is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| kind.start_folder());
    // A folder it cannot open leaves GTK's own choice (the current directory): no harm.
    let _ = chooser.set_current_folder(Some(&gio::File::for_path(folder)));
    // The chooser holds itself through this cell until it answers, then lets go.
    let keep: Rc<RefCell<Option<gtk::FileChooserNative>>> = Rc::default();
    let held = keep.clone();
    chooser.connect_response(move |c, r| {
        if r == gtk::ResponseType::Accept {
            if let Some(p) = c.file().and_then(|f| f.path()) {
                chosen(p);
            }
        }
        held.borrow_mut().take();
    });
    chooser.show();
    keep.replace(Some(chooser));
}
