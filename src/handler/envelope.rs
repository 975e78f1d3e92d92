//! The envelope: the JSON document every handler receives (HTTP body, command stdin, and the
//! argument of an in-process handler).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Trigger;

/// The JSON envelope every handler receives.
///
/// ```json
/// {"run_id":"…","job_id":"…","job":"daily-report","tenant_id":"…","tenant":"acme",
///  "scheduled_for":"2027-03-14T07:00:00Z","attempt":1,"trigger":"schedule","payload":{}}
/// ```
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    /// This attempt; differs between attempts of one occurrence.
    pub run_id: Uuid,
    pub job_id: Uuid,
    /// The job's name.
    pub job: String,
    pub tenant_id: Uuid,
    /// The tenant's name.
    pub tenant: String,
    /// The occurrence this run is for (not when it started), in UTC; see [`format_instant`].
    #[serde(serialize_with = "serialize_instant")]
    pub scheduled_for: DateTime<Utc>,
    /// 1 for the first attempt of an occurrence.
    pub attempt: u32,
    pub trigger: Trigger,
    /// The job's payload, or the override given for a manual run.
    pub payload: serde_json::Value,
}

impl Envelope {
    /// `"<job_id>:<scheduled_for>"`: the same on every attempt of one occurrence, so a receiver
    /// can discard duplicates (a retry after a timeout may repeat work that did happen).
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.job_id, format_instant(self.scheduled_for))
    }

    /// The envelope as compact JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}

/// RFC 3339 in UTC with a `Z`: whole seconds when the sub-second part is zero
/// (`2027-03-14T07:00:00Z`), else milliseconds (`2027-03-14T07:00:00.250Z`), and micro- or
/// nanoseconds only when milliseconds would lose precision, so the text always parses back to
/// the same instant.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn serialize_instant<S: serde::Serializer>(
    instant: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_instant(*instant))
}

/// An envelope for tests: job `daily-report` of tenant `acme`, due 2027-03-14 07:00 UTC.
#[cfg(test)]
pub(crate) fn sample() -> Envelope {
    use chrono::TimeZone;
    Envelope {
        run_id: Uuid::from_u128(1),
        job_id: Uuid::from_u128(0x2a),
        job: "daily-report".into(),
        tenant_id: Uuid::from_u128(3),
        tenant: "acme".into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 2,
        trigger: Trigger::Retry,
        payload: serde_json::json!({"region": "eu"}),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn envelope(scheduled_for: DateTime<Utc>) -> Envelope {
        Envelope { scheduled_for, ..sample() }
    }

    #[test]
    fn serializes_every_field_with_whole_second_instant() {
        let at = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
        let value = serde_json::to_value(envelope(at)).unwrap();
        assert_eq!(
            value,
            json!({
                "run_id": "00000000-0000-0000-0000-000000000001",
                "job_id": "00000000-0000-0000-0000-00000000002a",
                "job": "daily-report",
                "tenant_id": "00000000-0000-0000-0000-000000000003",
                "tenant": "acme",
                "scheduled_for": "2027-03-14T07:00:00Z",
                "attempt": 2,
                "trigger": "retry",
                "payload": {"region": "eu"},
            })
        );
    }

    #[test]
    fn sub_second_instants_use_milliseconds_and_round_trip() {
        let at = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap()
            + chrono::Duration::milliseconds(250);
        assert_eq!(format_instant(at), "2027-03-14T07:00:00.250Z");
        let original = envelope(at);
        let back: Envelope = serde_json::from_str(&original.to_json()).unwrap();
        assert_eq!(back, original);

        let precise = at + chrono::Duration::nanoseconds(1);
        let back: Envelope = serde_json::from_str(&envelope(precise).to_json()).unwrap();
        assert_eq!(back.scheduled_for, precise, "finer precision is kept rather than lost");
    }

    #[test]
    fn accepts_offsets_on_the_way_in() {
        let mut value = serde_json::to_value(envelope(DateTime::UNIX_EPOCH)).unwrap();
        value["scheduled_for"] = json!("2027-03-14T08:00:00+01:00");
        let parsed: Envelope = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.scheduled_for, Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap());
    }

    #[test]
    fn idempotency_key_is_the_same_for_every_attempt_of_an_occurrence() {
        let at = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
        let first = envelope(at);
        let mut second = first.clone();
        second.run_id = Uuid::from_u128(99);
        second.attempt = 3;
        second.trigger = Trigger::Recovery;
        assert_eq!(
            first.idempotency_key(),
            "00000000-0000-0000-0000-00000000002a:2027-03-14T07:00:00Z"
        );
        assert_eq!(first.idempotency_key(), second.idempotency_key());
    }
}
