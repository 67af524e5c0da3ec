//! Durations and times as people read them.

/// A duration in ms as a short label (`850 ms`, `12.5 s`, `3.2 min`, `1.5 h`, `2.0 d`).
pub fn duration_label(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    match ms {
        _ if ms < 1000 => format!("{ms} ms"),
        _ if s < 120.0 => format!("{s:.1} s"),
        _ if s < 3600.0 => format!("{:.1} min", s / 60.0),
        _ if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        _ => format!("{:.1} d", s / 86400.0),
    }
}

/// A time (ms since the epoch) as `2026-12-04 01:38 UTC`.
pub fn time_label(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(duration_label(850), "850 ms");
        assert_eq!(duration_label(12_500), "12.5 s");
        assert_eq!(duration_label(192_000), "3.2 min");
        assert_eq!(duration_label(5_400_000), "1.5 h");
        assert_eq!(duration_label(172_800_000), "2.0 d");
        assert_eq!(time_label(1_796_348_280_000), "2026-12-04 01:38 UTC");
    }
}
