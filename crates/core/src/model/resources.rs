//! Resource values as users write them: memory with units and walltimes.

/// Parses a memory amount into megabytes (MiB).
///
/// Accepts a number with an optional unit: `K`, `M`, `G`, `T`, optionally
/// followed by `B` or `iB`, case-insensitive (`512MB`, `4G`, `64GB`, `1.5GiB`).
/// A bare number means megabytes, as in SLURM's `--mem`. Fails on anything
/// else with a message that shows accepted forms.
pub fn parse_memory_mb(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!(
            "memory \"{text}\" is not a memory amount; write e.g. \"512MB\", \"4GB\" or \"64G\""
        )
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_uppercase();
    let factor = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" | "M" => 1.0,
        "K" => 1.0 / 1024.0,
        "G" => 1024.0,
        "T" => 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let mb = (value * factor).ceil();
    if !mb.is_finite() || mb <= 0.0 || mb > 1e12 {
        return Err(format!(
            "memory \"{text}\" must be a positive amount below 1 EB; write e.g. \"4GB\""
        ));
    }
    Ok(mb as u64)
}

/// Parses a walltime into seconds.
///
/// Accepts SLURM's forms (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`,
/// `D-HH:MM:SS`) and suffixed forms (`90s`, `30m`, `12h`, `2d`).
pub fn parse_walltime_secs(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "walltime \"{text}\" is not a duration; write \"HH:MM:SS\", \"D-HH:MM:SS\", or \"30m\", \"12h\", \"2d\""
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    // Bounded, so the sums below cannot overflow (any real limit is far less).
    let num = |s: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|n| *n <= 1_000_000_000)
            .ok_or_else(bad)
    };
    let secs = if let Some(last) = t.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let n = num(&t[..t.len() - 1])?;
        match last.to_ascii_lowercase() {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            'd' => n * 86400,
            _ => return Err(bad()),
        }
    } else {
        let (days, rest) = match t.split_once('-') {
            Some((d, r)) => (num(d)?, r),
            None => (0, t),
        };
        let parts: Vec<u64> = rest.split(':').map(num).collect::<Result<_, _>>()?;
        let hms = match (t.contains('-'), parts.as_slice()) {
            (false, [m]) => m * 60,
            (false, [m, s]) => m * 60 + s,
            (_, [h, m, s]) => h * 3600 + m * 60 + s,
            (true, [h]) => h * 3600,
            (true, [h, m]) => h * 3600 + m * 60,
            _ => return Err(bad()),
        };
        days * 86400 + hms
    };
    if secs == 0 {
        return Err(format!(
            "walltime \"{text}\" is zero; give a positive duration"
        ));
    }
    Ok(secs)
}

/// Formats seconds as `D-HH:MM:SS` (or `HH:MM:SS` under a day), as SLURM does.
pub fn format_walltime(secs: u64) -> String {
    let (d, r) = (secs / 86400, secs % 86400);
    let (h, m, s) = (r / 3600, (r % 3600) / 60, r % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory_mb("512"), Ok(512));
        assert_eq!(parse_memory_mb("512MB"), Ok(512));
        assert_eq!(parse_memory_mb("4G"), Ok(4096));
        assert_eq!(parse_memory_mb("64GB"), Ok(65536));
        assert_eq!(parse_memory_mb("1.5GiB"), Ok(1536));
        assert_eq!(parse_memory_mb("2048kb"), Ok(2));
        assert_eq!(parse_memory_mb("1T"), Ok(1048576));
        for bad in ["", "lots", "4X", "-1G", "0", "G"] {
            assert!(parse_memory_mb(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn walltimes() {
        assert_eq!(parse_walltime_secs("30"), Ok(1800));
        assert_eq!(parse_walltime_secs("01:30"), Ok(90));
        assert_eq!(parse_walltime_secs("01:00:00"), Ok(3600));
        assert_eq!(parse_walltime_secs("2-00:00:10"), Ok(172810));
        assert_eq!(parse_walltime_secs("1-12"), Ok(129600));
        assert_eq!(parse_walltime_secs("90s"), Ok(90));
        assert_eq!(parse_walltime_secs("12h"), Ok(43200));
        assert_eq!(parse_walltime_secs("2d"), Ok(172800));
        for bad in ["", "x", "1:2:3:4", "5q", "0", "a:b"] {
            assert!(parse_walltime_secs(bad).is_err(), "{bad}");
        }
        assert_eq!(format_walltime(3661), "01:01:01");
        assert_eq!(format_walltime(90061), "1-01:01:01");
    }
}
