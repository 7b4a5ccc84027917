//! Wall-clock time in the unit of the contract: milliseconds since the Unix epoch, UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Start of the UTC calendar day and month containing `t`, for budget windows.
pub fn day_and_month_start(t: Millis) -> (Millis, Millis) {
    const DAY: i64 = 86_400_000;
    let day_start = t.div_euclid(DAY) * DAY;
    let (y, m, _) = civil_from_days(t.div_euclid(DAY));
    let month_start = days_from_civil(y, m, 1) * DAY;
    (day_start, month_start)
}

// Howard Hinnant's civil-calendar algorithms (public domain), exact for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_utc_calendar_day_and_month() {
        // 2026-11-28T16:48:05Z
        let t = 1_795_884_485_000;
        let (day, month) = day_and_month_start(t);
        assert_eq!(day, 1_795_824_000_000); // 2026-11-28T00:00:00Z
        assert_eq!(month, 1_793_491_200_000); // 2026-11-01T00:00:00Z
        assert_eq!(day_and_month_start(month), (month, month));
    }
}
