//! SLURM time strings (`[D-]HH:MM:SS` and friends).

/// Parse a SLURM duration into seconds.
///
/// Accepts the forms SLURM prints and accepts: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
/// `D-H:M:S` (fractional seconds such as `00:01.234` from `sacct` are truncated).
/// Returns `None` for `UNLIMITED`, `INVALID`, `NOT_SET`, `Partition_Limit`, empty text and
/// anything malformed; never panics.
pub fn parse_slurm_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let num = |p: &str| -> Option<u64> {
        let p = p.split('.').next()?;
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) || p.len() > 12 {
            return None;
        }
        p.parse().ok()
    };
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (Some(num(d)?), r),
        None => (None, s),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (h, m, sec) = match (days.is_some(), parts.as_slice()) {
        (false, [m]) => (0, num(m)?, 0),
        (false, [m, s]) => (0, num(m)?, num(s)?),
        (_, [h, m, s]) => (num(h)?, num(m)?, num(s)?),
        (true, [h]) => (num(h)?, 0, 0),
        (true, [h, m]) => (num(h)?, num(m)?, 0),
        _ => return None,
    };
    days.unwrap_or(0)
        .checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(sec)
}

/// Format seconds as SLURM's `D-HH:MM:SS` (always with the day part, e.g. `0-01:00:00`).
pub fn format_slurm_time(secs: u64) -> String {
    let d = secs / 86_400;
    let h = (secs % 86_400) / 3600;
    let m = (secs % 3600) / 60;
    let s = secs % 60;
    format!("{d}-{h:02}:{m:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        assert_eq!(parse_slurm_duration("0:00"), Some(0));
        assert_eq!(parse_slurm_duration("5"), Some(300));
        assert_eq!(parse_slurm_duration("1:05"), Some(65));
        assert_eq!(parse_slurm_duration("01:02:03"), Some(3723));
        assert_eq!(parse_slurm_duration("2-00"), Some(172_800));
        assert_eq!(parse_slurm_duration("2-01:30"), Some(172_800 + 5400));
        assert_eq!(parse_slurm_duration("1-02:03:04"), Some(93_784));
        assert_eq!(parse_slurm_duration("00:01.234"), Some(1));
        for bad in [
            "",
            "UNLIMITED",
            "INVALID",
            "NOT_SET",
            "1:2:3:4",
            "a:b",
            "-1",
            "1-",
            "1--2",
            "1-2:3:4:5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_slurm_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_slurm_time(0), "0-00:00:00");
        assert_eq!(format_slurm_time(93_784), "1-02:03:04");
        assert_eq!(
            parse_slurm_duration(&format_slurm_time(1_000_000)),
            Some(1_000_000)
        );
    }
}
