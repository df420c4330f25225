//! What a failed helper call means to a front end: one typed error from the D-Bus error the
//! helper (or the bus) answered with. The helper's own messages are written for users, so each
//! variant keeps them as they came.

use passage_core::i18n::tr;

/// A failed helper call, by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    /// The helper is not there (not installed, or its service cannot start): the bus's words.
    #[error("{}", unreachable_text())]
    Unreachable(String),
    /// polkit refused the caller (`org.freedesktop.DBus.Error.AccessDenied`).
    #[error("{0}")]
    Denied(String),
    /// The caller sent something the helper will not take (`InvalidArgs`): bad input.
    #[error("{0}")]
    Invalid(String),
    /// The helper is answering as many calls as it takes (`LimitsExceeded`): try again.
    #[error("{0}")]
    Busy(String),
    /// The helper tried and failed (`Failed`), or any other error.
    #[error("{0}")]
    Failed(String),
}

fn unreachable_text() -> String {
    tr("Passage's helper is not installed or cannot start (io.github.passage.Helper1); install the passage package, which includes it (from a checkout: build-aux/install-helper.sh).")
}

impl HelperError {
    /// The error a failed call answered with.
    pub fn of(e: &zbus::Error) -> Self {
        use zbus::fdo::Error as F;
        match e {
            zbus::Error::InputOutput(_) | zbus::Error::Address(_) => {
                Self::Unreachable(e.to_string())
            }
            zbus::Error::FDO(f) => match &**f {
                F::ServiceUnknown(m)
                | F::NameHasNoOwner(m)
                | F::SpawnFailed(m)
                | F::SpawnChildExited(m) => Self::Unreachable(m.clone()),
                F::AccessDenied(m) | F::AuthFailed(m) | F::InteractiveAuthorizationRequired(m) => {
                    Self::Denied(m.clone())
                }
                F::InvalidArgs(m) => Self::Invalid(m.clone()),
                F::LimitsExceeded(m) => Self::Busy(m.clone()),
                F::Failed(m) => Self::Failed(m.clone()),
                other => Self::Failed(other.to_string()),
            },
            // An error name zbus does not know (polkit's own, say): the words as sent.
            zbus::Error::MethodError(name, msg, _) => {
                let text = msg.clone().unwrap_or_else(|| name.to_string());
                match name.rsplit('.').next() {
                    Some("AccessDenied" | "NotAuthorized") => Self::Denied(text),
                    _ => Self::Failed(text),
                }
            }
            other => Self::Failed(other.to_string()),
        }
    }

    /// Bad input (the caller can fix what it sent), as opposed to refused or failed.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }
}

impl From<zbus::Error> for HelperError {
    fn from(e: zbus::Error) -> Self {
        Self::of(&e)
    }
}

/// Whether a failed call failed because the helper is not there (not installed, or its
/// service cannot start), rather than because it refused or failed.
pub fn is_unreachable(e: &zbus::Error) -> bool {
    matches!(HelperError::of(e), HelperError::Unreachable(_))
}

/// The helper's own words for a failed call (its errors are written for users), or what to
/// do when it cannot be reached.
pub fn error_text(e: &zbus::Error) -> String {
    HelperError::of(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::HelperError as H;
    use zbus::fdo::Error as F;

    fn fdo(e: F) -> H {
        H::from(zbus::Error::FDO(Box::new(e)))
    }

    /// An error reply as it arrives on the bus: zbus makes it `FDO` for the names it knows,
    /// `MethodError` for the others.
    fn reply(name: &str, msg: &str) -> zbus::Error {
        let call = zbus::Message::method_call("/io/github/passage/Helper1", "Undo")
            .build(&())
            .expect("call");
        let err = zbus::Message::error(&call.header(), name)
            .build(&(msg,))
            .expect("reply");
        zbus::Error::from(err)
    }

    #[test]
    fn the_helpers_errors_map_to_what_a_caller_can_do() {
        assert_eq!(fdo(F::AccessDenied("no".into())), H::Denied("no".into()));
        assert_eq!(fdo(F::InvalidArgs("bad".into())), H::Invalid("bad".into()));
        assert_eq!(fdo(F::LimitsExceeded("16".into())), H::Busy("16".into()));
        assert_eq!(fdo(F::Failed("grub".into())), H::Failed("grub".into()));
        assert!(fdo(F::InvalidArgs("bad".into())).is_invalid());
        assert!(!fdo(F::Failed("x".into())).is_invalid());
    }

    #[test]
    fn a_helper_that_is_not_there_is_unreachable() {
        for e in [
            F::ServiceUnknown("s".into()),
            F::NameHasNoOwner("n".into()),
            F::SpawnFailed("f".into()),
            F::SpawnChildExited("c".into()),
        ] {
            let h = fdo(e);
            assert!(matches!(h, H::Unreachable(_)), "{h:?}");
            assert!(h.to_string().contains("install the passage package"));
        }
        let io = zbus::Error::InputOutput(std::sync::Arc::new(std::io::Error::other("gone")));
        assert!(super::is_unreachable(&io));
        assert!(!super::is_unreachable(&zbus::Error::FDO(Box::new(
            F::Failed("x".into())
        ))));
    }

    #[test]
    fn replies_off_the_wire_keep_the_helpers_words() {
        let denied = reply("org.freedesktop.DBus.Error.AccessDenied", "not authorized");
        assert_eq!(H::from(denied), H::Denied("not authorized".into()));
        let limits = reply("org.freedesktop.DBus.Error.LimitsExceeded", "try again");
        assert_eq!(H::from(limits), H::Busy("try again".into()));
        let unknown = reply("org.freedesktop.DBus.Error.ServiceUnknown", "no such name");
        assert!(matches!(H::from(unknown), H::Unreachable(_)));
        let polkit = reply(
            "org.freedesktop.PolicyKit1.Error.NotAuthorized",
            "polkit said no",
        );
        assert_eq!(H::from(polkit), H::Denied("polkit said no".into()));
        let other = reply("io.github.passage.Helper1.Error.Odd", "odd");
        assert_eq!(super::error_text(&other), "odd");
    }
}
