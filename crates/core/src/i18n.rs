//! Translation of user-visible strings (gettext, domain `passage`).
//!
//! `tr`, `tr_f` and `tr_n` are the xgettext keywords (po/ extracts them; `tr_n` as
//! `tr_n:1,2`, singular and plural). Placeholders are named — `{gpu}` — so translators can
//! reorder them. A count in a message goes through `tr_n`, never "(s)": languages have one to
//! six plural forms.

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

/// Translates the form of `singular` / `plural` that `n` takes in the user's language
/// (gettext's ngettext), then fills `{n}` with `n` and the other `{name}` placeholders.
pub fn tr_n(singular: &str, plural: &str, n: u64, args: &[(&str, &str)]) -> String {
    // ngettext counts in u32; past that every language's rule gives the "many" form of a
    // number with the same last digits.
    let form = u32::try_from(n).unwrap_or(1_000_000_000 + (n % 1_000_000_000) as u32);
    let mut s = gettextrs::ngettext(singular, plural, form).replace("{n}", &n.to_string());
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

    #[test]
    fn counts_take_their_form() {
        let f = |n| super::tr_n("{n} device of {g}", "{n} devices of {g}", n, &[("g", "28")]);
        assert_eq!(f(1), "1 device of 28");
        assert_eq!(f(0), "0 devices of 28");
        assert_eq!(f(4), "4 devices of 28");
        assert_eq!(f(u64::MAX), format!("{} devices of 28", u64::MAX));
    }
}
