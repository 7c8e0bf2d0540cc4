//! The one place timestamps are parsed and printed (SPEC §2, "Timestamps").

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// Parses strict RFC 3339: a `T` between date and time and an explicit
/// offset (`Z` or `±hh:mm`). Precision beyond the microsecond is dropped, as
/// both databases keep microseconds.
pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    let separator = text.as_bytes().get(10).copied();
    if !matches!(separator, Some(b'T') | Some(b't')) {
        return Err(format!(
            "{text:?} is not an RFC 3339 timestamp (expected e.g. 2026-01-02T03:04:05Z)"
        ));
    }
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|error| {
        format!("{text:?} is not an RFC 3339 timestamp with an offset ({error})")
    })?;
    Ok(truncate_to_micros(parsed.with_timezone(&Utc)))
}

pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.nanosecond();
    at.with_nanosecond(nanos - nanos % 1_000).unwrap_or(at)
}

/// UTC with `Z`; fractional seconds only when non-zero, and never past the
/// microsecond. Truncated here, not only where values are stored, because
/// some instants never pass through a database (a RESYNC's `Utc::now()`)
/// and `AutoSi` would print their nanoseconds.
pub fn format(at: &DateTime<Utc>) -> String {
    truncate_to_micros(*at).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(at))
}

pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_offsets_and_normalises_to_utc() {
        let at = parse("2026-03-03T12:00:00+01:00").unwrap();
        assert_eq!(format(&at), "2026-03-03T11:00:00Z");
    }

    #[test]
    fn keeps_microseconds_and_prints_fractions_only_when_present() {
        assert_eq!(
            format(&parse("2026-03-04T08:05:00.250Z").unwrap()),
            "2026-03-04T08:05:00.250Z"
        );
        assert_eq!(
            format(&parse("2026-03-04T08:05:00.123456789Z").unwrap()),
            "2026-03-04T08:05:00.123456Z"
        );
    }

    #[test]
    fn prints_at_most_microseconds() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T14:22:31.435522716Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&at), "2026-12-06T14:22:31.435522Z");
        let whole = DateTime::parse_from_rfc3339("2026-12-06T14:22:31.000000999Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&whole), "2026-12-06T14:22:31Z");
        let now = Utc::now();
        let printed = format(&now);
        let fraction = printed
            .split_once('.')
            .map_or("", |(_, rest)| rest.trim_end_matches('Z'));
        assert!(fraction.len() <= 6, "{printed}");
    }

    #[test]
    fn rejects_missing_offset_and_space_separator() {
        assert!(parse("2026-03-04T08:05:00").is_err());
        assert!(parse("2026-03-04 08:05:00Z").is_err());
        assert!(parse("2026-03-04").is_err());
        assert!(parse("").is_err());
    }
}
