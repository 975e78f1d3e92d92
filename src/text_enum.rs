//! Enums kept as fixed text: run statuses, triggers, audit actions, event types, who disabled a
//! job, policies' kinds, delivery channels and statuses. The database stores the text (under a SQL `CHECK`), the CLI prints and
//! reads it, and the JSON shapes use it; [`text_enum!`] writes the mapping once per enum, so
//! every such enum has the same `ALL`, `as_str`, `Display` and `FromStr`, and a text that names
//! no variant gets the same error: the field, the text and the allowed values.
//!
//! A leaf module: it depends on nothing in the crate but the error type.

use crate::error::{Error, Result};

/// An enum whose variants are stored and shown as fixed texts. Implemented by [`text_enum!`].
pub trait TextEnum: Copy + Eq + std::fmt::Debug + 'static {
    /// The field the text belongs to, named in the error for a text that names no variant.
    const FIELD: &'static str;
    /// Every variant, in declaration order.
    const ALL: &'static [Self];

    /// The variant's text, as stored and shown.
    fn as_str(self) -> &'static str;
}

/// The variant of `T` whose text is `text`, or [`Error::Invalid`] naming `T`'s field, the text
/// and the allowed texts.
pub fn parse<T: TextEnum>(text: &str) -> Result<T> {
    T::ALL.iter().copied().find(|variant| variant.as_str() == text).ok_or_else(|| {
        let allowed: Vec<&str> = T::ALL.iter().map(|variant| variant.as_str()).collect();
        Error::invalid(T::FIELD, text, format!("allowed: {}", allowed.join(", ")))
    })
}

/// Maps each variant of an enum to its text: `text_enum!(Type, "field", { Variant => "text", .. })`
/// writes the inherent `ALL` and `as_str` (so callers need no trait in scope), [`TextEnum`],
/// `Display` (the text) and `FromStr` (through [`parse`], with [`Error`] as its error).
macro_rules! text_enum {
    ($type:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$type] = &[$($type::$variant),+];

            /// The variant's text, as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),+
                }
            }
        }

        impl $crate::text_enum::TextEnum for $type {
            const FIELD: &'static str = $field;
            const ALL: &'static [$type] = $type::ALL;

            fn as_str(self) -> &'static str {
                $type::as_str(self)
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $crate::error::Error;

            fn from_str(text: &str) -> ::std::result::Result<Self, Self::Err> {
                $crate::text_enum::parse(text)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::audit::AuditAction;
    use crate::event::{Channel, DeliveryStatus, EventKind};
    use crate::handler::outcome::OutcomeStatus;
    use crate::job::DisabledBy;
    use crate::notify::email::SmtpTls;
    use crate::policy::{BackoffKind, MissedKind, OverlapPolicy, WaitedFor};
    use crate::run::{RunStatus, Trigger};

    /// Every variant's text parses back to it and is what `Display` shows; texts are distinct;
    /// a text that names no variant is refused with the field, the text and every allowed text.
    fn assert_text_enum<T: TextEnum + std::str::FromStr<Err = Error> + std::fmt::Display>() {
        let name = std::any::type_name::<T>();
        assert!(!T::ALL.is_empty(), "{name} has no variants");
        let texts: HashSet<&str> = T::ALL.iter().map(|variant| variant.as_str()).collect();
        assert_eq!(texts.len(), T::ALL.len(), "{name}: two variants share a text");
        for variant in T::ALL {
            assert_eq!(variant.as_str().parse::<T>().unwrap(), *variant, "{name}");
            assert_eq!(variant.to_string(), variant.as_str(), "{name}");
        }

        let unknown = "no such variant";
        let error = unknown.parse::<T>().unwrap_err();
        match &error {
            Error::Invalid { field, value, reason } => {
                assert_eq!(field, T::FIELD, "{name}");
                assert_eq!(value, unknown, "{name}");
                let allowed: Vec<&str> = T::ALL.iter().map(|variant| variant.as_str()).collect();
                assert_eq!(reason, &format!("allowed: {}", allowed.join(", ")), "{name}");
            }
            other => panic!("{name}: expected Error::Invalid, got {other:?}"),
        }
        let message = error.to_string();
        assert!(message.starts_with(&format!("{}: ", T::FIELD)), "{name}: {message}");
    }

    #[test]
    fn every_text_enum_round_trips_and_refuses_unknown_text() {
        assert_text_enum::<RunStatus>();
        assert_text_enum::<Trigger>();
        assert_text_enum::<OutcomeStatus>();
        assert_text_enum::<WaitedFor>();
        assert_text_enum::<OverlapPolicy>();
        assert_text_enum::<MissedKind>();
        assert_text_enum::<BackoffKind>();
        assert_text_enum::<AuditAction>();
        assert_text_enum::<DisabledBy>();
        assert_text_enum::<EventKind>();
        assert_text_enum::<Channel>();
        assert_text_enum::<DeliveryStatus>();
        assert_text_enum::<SmtpTls>();
        assert_text_enum::<crate::event::EventKind>();
        assert_text_enum::<crate::job::DisabledBy>();
    }

    #[test]
    fn the_error_names_field_text_and_allowed_values() {
        let message = "sometimes".parse::<OverlapPolicy>().unwrap_err().to_string();
        assert_eq!(
            message,
            "overlap: \"sometimes\" is invalid: allowed: skip, queue_one, allow, cancel_previous"
        );
        let message = "Schedule".parse::<Trigger>().unwrap_err().to_string();
        assert_eq!(
            message,
            "trigger: \"Schedule\" is invalid: allowed: schedule, manual, retry, recovery, backfill, test"
        );
    }
}
