//! Poll schedules: when a `POLL` auto-update fires next, in the schedule's IANA time zone.
//!
//! Rules (the contract leaves them to us; `docs/decisions.md` repeats them):
//! - `HOURLY` fires every hour at `pollMinute`, in absolute time: a day with a daylight-saving
//!   change has 23 or 25 runs, as many as it has hours.
//! - `DAILY`, `WEEKLY` (on `pollDay`, default MONDAY) and `MONTHLY` (on `pollDayOfMonth`,
//!   default 1; `LAST` or a day past the month's end means its last day) fire at
//!   `pollHour:pollMinute` local time (default 00:00).
//! - A local time that does not exist (the hour skipped in spring) fires one hour later; one
//!   that exists twice (the hour repeated in autumn) fires once, at the first.
//! - The default time zone is UTC.
//!
//! Functions here take the current time as an argument: the scheduler passes the clock, tests pass
//! any instant they like.

use crate::domain::{AutoUpdateConfig, PollFrequency, UpdateStrategy, Weekday};
use crate::error::{Error, Result};
use crate::time::Millis;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// The schedule's time zone, or a 400 naming `field`.
pub fn time_zone(cfg: &AutoUpdateConfig, field: &str) -> Result<Tz> {
    match cfg.timezone.as_deref() {
        None | Some("") => Ok(Tz::UTC),
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| Error::invalid(field, format!("{name:?} is not an IANA time zone name"))),
    }
}

/// The first firing strictly after `after`, or `None` when the config is not a poll schedule.
pub fn next_fire(cfg: &AutoUpdateConfig, after: Millis) -> Option<Millis> {
    if cfg.strategy != UpdateStrategy::Poll {
        return None;
    }
    let tz = time_zone(cfg, "").ok()?;
    let after = Utc.timestamp_millis_opt(after).single()?;
    let minute = u32::from(cfg.poll_minute.unwrap_or(0).min(59));
    let at = match cfg.poll_frequency? {
        PollFrequency::Hourly => next_hourly(tz, after, minute),
        frequency => {
            let time =
                NaiveTime::from_hms_opt(u32::from(cfg.poll_hour.unwrap_or(0).min(23)), minute, 0)?;
            next_daily(tz, after, time, |d| day_matches(frequency, cfg, d))
        }
    };
    at.map(|t| t.timestamp_millis())
}

/// Every hour at `minute` past the local hour, in absolute time.
fn next_hourly(tz: Tz, after: DateTime<Utc>, minute: u32) -> Option<DateTime<Utc>> {
    let hour_start = after.with_minute(0)?.with_second(0)?.with_nanosecond(0)?;
    (0..50)
        .map(|k| hour_start + Duration::hours(k))
        .find_map(|h| {
            // Offsets are whole minutes, so the local minute of `h + x` is `x + offset` mod 60.
            let offset = tz
                .offset_from_utc_datetime(&h.naive_utc())
                .fix()
                .local_minus_utc()
                / 60;
            let t = h + Duration::minutes(i64::from((minute as i32 - offset).rem_euclid(60)));
            (t > after && t.with_timezone(&tz).minute() == minute).then_some(t)
        })
}

/// The first matching day at local `time` after `after` (looking at most 400 days ahead).
fn next_daily(
    tz: Tz,
    after: DateTime<Utc>,
    time: NaiveTime,
    matches: impl Fn(NaiveDate) -> bool,
) -> Option<DateTime<Utc>> {
    let first = after.with_timezone(&tz).date_naive();
    first
        .iter_days()
        .take(400)
        .filter(|d| matches(*d))
        .find_map(|d| {
            let t = resolve(tz, d.and_time(time))?;
            (t > after).then_some(t)
        })
}

/// A local time as an instant: the first of two in the repeated hour, one hour on in a skipped one.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => tz
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn day_matches(frequency: PollFrequency, cfg: &AutoUpdateConfig, d: NaiveDate) -> bool {
    match frequency {
        PollFrequency::Hourly | PollFrequency::Daily => true,
        PollFrequency::Weekly => {
            d.weekday() == chrono_weekday(cfg.poll_day.unwrap_or(Weekday::Monday))
        }
        PollFrequency::Monthly => {
            let last = last_day_of_month(d);
            match cfg.poll_day_of_month.unwrap_or(1) {
                0 => d.day() == last,
                n => d.day() == u32::from(n).min(last),
            }
        }
    }
}

fn last_day_of_month(d: NaiveDate) -> u32 {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .map_or(28, |l| l.day())
}

fn chrono_weekday(d: Weekday) -> chrono::Weekday {
    match d {
        Weekday::Monday => chrono::Weekday::Mon,
        Weekday::Tuesday => chrono::Weekday::Tue,
        Weekday::Wednesday => chrono::Weekday::Wed,
        Weekday::Thursday => chrono::Weekday::Thu,
        Weekday::Friday => chrono::Weekday::Fri,
        Weekday::Saturday => chrono::Weekday::Sat,
        Weekday::Sunday => chrono::Weekday::Sun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(f: PollFrequency, hour: u8, minute: u8, tz: &str) -> AutoUpdateConfig {
        AutoUpdateConfig {
            strategy: UpdateStrategy::Poll,
            provider: None,
            external_context: None,
            filter: None,
            poll_frequency: Some(f),
            poll_day: None,
            poll_day_of_month: None,
            poll_hour: Some(hour),
            poll_minute: Some(minute),
            timezone: Some(tz.to_owned()),
        }
    }

    /// Milliseconds of an RFC 3339 instant.
    fn at(s: &str) -> Millis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn show(t: Millis) -> String {
        Utc.timestamp_millis_opt(t).unwrap().to_rfc3339()
    }

    /// The next `n` firings after `start`, as UTC RFC 3339 strings.
    fn firings(c: &AutoUpdateConfig, start: &str, n: usize) -> Vec<String> {
        let mut t = at(start);
        (0..n)
            .map(|_| {
                t = next_fire(c, t).unwrap();
                show(t)
            })
            .collect()
    }

    #[test]
    fn daily_keeps_local_time_across_both_daylight_saving_changes() {
        // Berlin: CET (+1) until 2026-03-29 02:00, then CEST (+2) until 2026-10-25 03:00.
        let c = cfg(PollFrequency::Daily, 9, 30, "Europe/Berlin");
        assert_eq!(
            firings(&c, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T08:30:00+00:00",
                "2026-03-29T07:30:00+00:00",
                "2026-03-30T07:30:00+00:00"
            ]
        );
        assert_eq!(
            firings(&c, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T08:30:00+00:00", "2026-10-26T08:30:00+00:00"]
        );
    }

    #[test]
    fn skipped_local_time_fires_an_hour_later_and_repeated_time_fires_once() {
        let c = cfg(PollFrequency::Daily, 2, 30, "Europe/Berlin");
        // 2026-03-29 02:30 does not exist in Berlin: 03:30 CEST = 01:30 UTC.
        assert_eq!(
            firings(&c, "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:30:00+00:00", "2026-03-30T00:30:00+00:00"]
        );
        // 2026-10-25 02:30 happens twice (CEST, then CET): only the first, 00:30 UTC.
        assert_eq!(
            firings(&c, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
        );
    }

    #[test]
    fn hourly_runs_once_per_absolute_hour_including_half_hour_zones() {
        let c = cfg(PollFrequency::Hourly, 0, 15, "Europe/Berlin");
        // The autumn night in Berlin has 25 hours: 00:15 UTC and 01:15 UTC are both "02:15" local.
        let got = firings(&c, "2026-10-24T23:30:00Z", 3);
        assert_eq!(
            got,
            [
                "2026-10-25T00:15:00+00:00",
                "2026-10-25T01:15:00+00:00",
                "2026-10-25T02:15:00+00:00"
            ]
        );
        // India is UTC+5:30: minute 0 local is minute 30 UTC.
        let c = cfg(PollFrequency::Hourly, 0, 0, "Asia/Kolkata");
        assert_eq!(
            firings(&c, "2026-01-01T00:00:00Z", 2),
            ["2026-01-01T00:30:00+00:00", "2026-01-01T01:30:00+00:00"]
        );
    }

    #[test]
    fn weekly_and_monthly_pick_their_days() {
        let mut c = cfg(PollFrequency::Weekly, 6, 0, "America/New_York");
        c.poll_day = Some(Weekday::Sunday);
        // Sundays 06:00 in New York: EDT (-4) on 2026-11-01 is over at 02:00 that day → EST (-5).
        assert_eq!(
            firings(&c, "2026-10-20T00:00:00Z", 3),
            [
                "2026-10-25T10:00:00+00:00",
                "2026-11-01T11:00:00+00:00",
                "2026-11-08T11:00:00+00:00"
            ]
        );
        let mut c = cfg(PollFrequency::Monthly, 0, 0, "UTC");
        c.poll_day_of_month = Some(0);
        assert_eq!(
            firings(&c, "2026-01-15T00:00:00Z", 3),
            [
                "2026-01-31T00:00:00+00:00",
                "2026-02-28T00:00:00+00:00",
                "2026-03-31T00:00:00+00:00"
            ]
        );
        c.poll_day_of_month = Some(31);
        assert_eq!(
            firings(&c, "2028-02-01T00:00:00Z", 2),
            ["2028-02-29T00:00:00+00:00", "2028-03-31T00:00:00+00:00"]
        );
    }

    #[test]
    fn a_firing_time_is_strictly_after_now_and_unknown_zones_are_rejected() {
        let c = cfg(PollFrequency::Daily, 0, 0, "UTC");
        assert_eq!(
            show(next_fire(&c, at("2026-01-01T00:00:00Z")).unwrap()),
            "2026-01-02T00:00:00+00:00"
        );
        assert!(
            time_zone(
                &cfg(PollFrequency::Daily, 0, 0, "Mars/Olympus"),
                "autoUpdate.timezone"
            )
            .is_err()
        );
        let mut webhook = c.clone();
        webhook.strategy = UpdateStrategy::Webhook;
        assert_eq!(next_fire(&webhook, 0), None);
    }
}
