//! The one place timestamps are parsed and printed (SPEC §2, "Timestamps").

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
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
///
/// Written digit by digit: chrono's general formatter was 1% of a nested
/// query's instructions. Years outside 0000-9999 and leap seconds, which
/// chrono prints its own way, still go through it.
pub fn format(at: &DateTime<Utc>) -> String {
    let at = truncate_to_micros(*at);
    format_in_digits(&at).unwrap_or_else(|| at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `at` (truncated to the microsecond) as `format` prints it, or `None`
/// for a year outside 0000-9999 or a leap second.
fn format_in_digits(at: &DateTime<Utc>) -> Option<String> {
    let (date, time) = (at.date_naive(), at.time());
    let nanos = time.nanosecond();
    let year = u32::try_from(date.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    if nanos >= 1_000_000_000 {
        return None;
    }
    // "YYYY-MM-DDTHH:MM:SS" then ".mmm" or ".uuuuuu", then "Z": ASCII only.
    let mut text = [0u8; 27];
    put_digits(&mut text[0..4], year);
    for (at, separator, value) in [
        (4, b'-', date.month()),
        (7, b'-', date.day()),
        (10, b'T', time.hour()),
        (13, b':', time.minute()),
        (16, b':', time.second()),
    ] {
        text[at] = separator;
        put_digits(&mut text[at + 1..at + 3], value);
    }
    // AutoSi: milliseconds when the rest is zero, else microseconds.
    let end = if nanos == 0 {
        19
    } else if nanos.is_multiple_of(1_000_000) {
        text[19] = b'.';
        put_digits(&mut text[20..23], nanos / 1_000_000);
        23
    } else {
        text[19] = b'.';
        put_digits(&mut text[20..26], nanos / 1_000);
        26
    };
    text[end] = b'Z';
    std::str::from_utf8(&text[..=end]).ok().map(str::to_owned)
}

/// Fills `digits` with `value`'s last decimal digits, zero-padded.
fn put_digits(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
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
    fn prints_as_chrono_does() {
        // Instants spread over the years 0000-9999 with every kind of
        // fraction (none, milliseconds, microseconds), and the edges.
        let mut seconds: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
        let last = 253_402_300_799; // 9999-12-31T23:59:59Z
        let mut step = 0u32;
        while seconds <= last {
            for nanos in [0, 500_000_000, 7_000_000, 123_456_000, 999_999_999, 1_000] {
                let at = DateTime::from_timestamp(seconds, nanos).unwrap();
                let chrono = truncate_to_micros(at).to_rfc3339_opts(SecondsFormat::AutoSi, true);
                assert_eq!(format(&at), chrono);
            }
            step = step.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            seconds += 9_000_000 + i64::from(step % 3_000_000);
        }
        for at in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::from_timestamp(last + 1, 0).unwrap(),
            DateTime::from_timestamp(-62_167_219_201, 0).unwrap(),
            // A leap second, as chrono represents it.
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
        ] {
            let chrono = truncate_to_micros(at).to_rfc3339_opts(SecondsFormat::AutoSi, true);
            assert_eq!(format(&at), chrono);
        }
    }

    #[test]
    fn rejects_missing_offset_and_space_separator() {
        assert!(parse("2026-03-04T08:05:00").is_err());
        assert!(parse("2026-03-04 08:05:00Z").is_err());
        assert!(parse("2026-03-04").is_err());
        assert!(parse("").is_err());
    }
}
