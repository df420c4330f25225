//! The wizard's file choosers, opened as a user opens them (Tab to the row's button, Space):
//! each one stays open until it answers, shows only its kind of file, starts where such files
//! are, and fills its row with the file typed into it (Ctrl+L, the path, Enter). Under Xvfb
//! with no portal, GtkFileChooserNative is a GtkFileChooserDialog in the app's own tree.

use std::path::Path;
use std::time::{Duration, Instant};

use super::Session;
use crate::App;

impl App<'_> {
    /// Opens the chooser behind the button named `choose-{row}` on `page` and waits for its
    /// dialog, titled `title`, in the accessibility tree; returns the tree.
    pub(super) fn open_chooser(&mut self, page: &str, row: &str, title: &str) -> String {
        self.action("show-page", Some(page));
        self.wait_page(page, &[&format!("#{row}")]);
        self.tab_to(&format!("name=choose-{row}"), 60);
        self.keys(&["space"]);
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.tree();
            if t.lines()
                .any(|l| !l.starts_with(' ') && l.contains(&format!("'{title}'")))
            {
                return t;
            }
            assert!(Instant::now() < end, "no dialog '{title}' opened:\n{t}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Types `path` into the open chooser titled `title` and accepts it.
    pub(crate) fn choose_in(&self, title: &str, path: &Path) {
        // xdotool reads the name as a regular expression: "(ISO)" is the title's own.
        let exact: String = title
            .chars()
            .flat_map(|c| {
                let special = "\\^$.|?*+()[]{}".contains(c);
                special.then_some('\\').into_iter().chain([c])
            })
            .collect();
        let ids = self.windows(&format!("^{exact}$"));
        let id = ids.last().expect("the chooser's window");
        self.press(id, &["ctrl+l"]);
        self.type_text(&path.display().to_string());
        self.press(id, &["Return"]);
    }

    /// Waits until the widget dump passes `ok`; returns it.
    pub(crate) fn wait_dump(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let d = self.dump();
            if ok(&d) {
                return d;
            }
            assert!(Instant::now() < end, "never shown: {what}\n{d}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until an entry shows `text` and no chooser is left open.
    pub(crate) fn wait_entry(&mut self, text: &str) -> String {
        let want = format!("text={text}");
        self.wait_dump(&want, |d| {
            d.contains(&want) && !d.contains("GtkFileChooserDialog")
        })
    }
}

#[test]
fn every_file_chooser_opens_filtered_in_its_folder_and_fills_its_row() {
    let s = Session::start();
    // The user's Downloads, as xdg-user-dirs names it, with two ISOs and a text file.
    let home = s.dir.path().join("home");
    let downloads = home.join("Downloads");
    std::fs::create_dir_all(&downloads).expect("mkdir");
    for f in [
        "Win10_22H2_English_x64.iso",
        "virtio-win-0.1.240.iso",
        "notes.txt",
    ] {
        std::fs::write(downloads.join(f), b"x").expect("write");
    }
    std::fs::write(
        s.dir.path().join("config/user-dirs.dirs"),
        "XDG_DOWNLOAD_DIR=\"$HOME/Downloads\"\n",
    )
    .expect("user-dirs.dirs");
    let images = s.dir.path().join("images");
    std::fs::create_dir_all(&images).expect("mkdir");
    let disk = images.join("win10.qcow2");
    std::fs::write(&disk, b"x").expect("write");

    let mut app = s.launch(&[]);
    app.wait_page("check", &["Demo host:"]);
    // Each chooser is titled by the row it fills: the two discs' are told apart.
    for (row, title, file) in [
        (
            "install-iso",
            "Installation disc image (ISO)",
            "Win10_22H2_English_x64.iso",
        ),
        (
            "virtio-iso",
            "Drivers disc image (virtio-win ISO)",
            "virtio-win-0.1.240.iso",
        ),
    ] {
        app.open_chooser("vm-media", row, title);
        // It opened in Downloads, showing ISOs and not the text file. (GTK 4.8 does not put
        // the column view's rows in the accessibility tree: the dump reads their labels.)
        let row_of = format!("row={file},");
        let d = app.wait_dump(&row_of, |d| d.contains(&row_of));
        app.shot(&format!("chooser-{row}"), &d);
        assert!(
            !d.contains("notes.txt"),
            "the filter let a text file through:\n{d}"
        );
        app.choose_in(title, &downloads.join(file));
        app.wait_entry(&downloads.join(file).display().to_string());
    }
    let d = app.dump();
    app.shot("chooser-media-filled", &d);

    // Storage's existing image: its chooser fills the field, which chooses that radio.
    app.open_chooser("vm-storage", "existing-image", "Use an existing disk image");
    app.choose_in("Use an existing disk image", &disk);
    let d = app.wait_entry(&disk.display().to_string());
    app.shot("chooser-storage-filled", &d);
    app.wait_line(&["radio button 'Use an existing disk image'", "checked"]);
    app.action("show-page", Some("vm-review"));
    app.wait_for(&[
        &disk.display().to_string(),
        &downloads
            .join("Win10_22H2_English_x64.iso")
            .display()
            .to_string(),
    ]);
}
