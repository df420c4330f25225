//! Translation of user-visible strings (gettext, domain `passage`).
//!
//! `tr` and `tr_f` are the xgettext keywords (po/ extracts them). Placeholders are named —
//! `{gpu}` — so translators can reorder them.

/// The gettext domain of every Passage binary.
pub const DOMAIN: &str = "passage";

/// Translates `msgid`.
pub fn tr(msgid: &str) -> String {
    gettextrs::gettext(msgid)
}

/// Translates `msgid` in another library's domain: for words that library shows itself (the
/// titles of libadwaita's About window), so both say the same.
pub fn tr_domain(domain: &str, msgid: &str) -> String {
    gettextrs::dgettext(domain, msgid)
}

/// Translates `msgid`, then fills `{name}` placeholders.
pub fn tr_f(msgid: &str, args: &[(&str, &str)]) -> String {
    let mut s = tr(msgid);
    for (k, v) in args {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// Where the translations are: `PASSAGE_LOCALEDIR` at run time (tests, relocated installs),
/// else the directory the build was configured with, else /usr/share/locale.
pub fn localedir() -> String {
    std::env::var("PASSAGE_LOCALEDIR")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| {
            option_env!("PASSAGE_LOCALEDIR")
                .unwrap_or("/usr/share/locale")
                .to_string()
        })
}

/// Binds the text domain to `localedir` (front ends call this once at start).
pub fn init(localedir: &str) {
    let _ = gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "");
    let _ = gettextrs::bindtextdomain(DOMAIN, localedir);
    let _ = gettextrs::bind_textdomain_codeset(DOMAIN, "UTF-8");
    let _ = gettextrs::textdomain(DOMAIN);
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_fill_by_name() {
        assert_eq!(
            super::tr_f("{b} before {a}", &[("a", "1"), ("b", "2")]),
            "2 before 1"
        );
    }
}
