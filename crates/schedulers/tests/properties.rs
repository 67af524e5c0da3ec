//! Property tests: job names are always valid and round-trip the token; no parser panics on
//! arbitrary input; politeness helpers stay in range.

use std::time::Duration;

use matterstack_schedulers::pbs::{
    exit_phase, parse_qstat_json, parse_qstat_text, parse_qsub, PbsFlavor,
};
use matterstack_schedulers::politeness::{classify_ssh_failure, Backoff, TokenBucket};
use matterstack_schedulers::slurm::{
    classify_sbatch_error, parse_sacct, parse_sacct_lenient, parse_sbatch_parsable,
    parse_scontrol_show_job, parse_slurm_duration, parse_squeue, parse_squeue_lenient, JobState,
};
use matterstack_schedulers::{
    job_name, sh_quote, token_from_job_name, validate_job_name, ExitMarker,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn job_names_are_valid_and_round_trip(task in any::<String>(), token in "[A-Za-z0-9_-]{1,64}") {
        let name = job_name(&task, &token).unwrap();
        prop_assert!(validate_job_name(&name).is_ok(), "{}", name);
        prop_assert!(name.len() <= 128);
        prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
        prop_assert_eq!(token_from_job_name(&name), Some(token.as_str()));
    }

    #[test]
    fn invalid_tokens_are_refused(task in any::<String>(), token in any::<String>()) {
        let ok = !token.is_empty() && token.len() <= 64
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        prop_assert_eq!(job_name(&task, &token).is_ok(), ok);
    }

    #[test]
    fn token_from_any_name_never_panics(name in any::<String>()) {
        if let Some(t) = token_from_job_name(&name) {
            prop_assert!(name.ends_with(t));
        }
    }

    #[test]
    fn parsers_never_panic(text in any::<String>()) {
        let _ = parse_squeue(&text);
        let _ = parse_squeue_lenient(&text);
        let _ = parse_sacct(&text);
        let _ = parse_sacct_lenient(&text);
        let _ = parse_scontrol_show_job(&text);
        let _ = parse_sbatch_parsable(&text);
        let _ = classify_sbatch_error(&text);
        let _ = JobState::parse(&text);
        let _ = parse_slurm_duration(&text);
        let _ = parse_qsub(&text);
        let _ = parse_qstat_json(&text);
        let _ = parse_qstat_text(&text);
        let _ = classify_ssh_failure(None, &text);
        let _ = classify_ssh_failure(Some(255), &text);
        let _ = classify_ssh_failure(Some(1), &text);
        let _ = ExitMarker::parse_exit(&text);
    }

    #[test]
    fn line_parsers_never_panic_on_pipe_soup(text in "[0-9|A-Z_:. \\n-]{0,200}") {
        let strict = parse_squeue(&text);
        let lenient = parse_squeue_lenient(&text);
        if let Ok(rows) = strict {
            prop_assert_eq!(rows, lenient.rows);
        }
        let _ = parse_sacct(&text);
        let _ = parse_sacct_lenient(&text);
    }

    #[test]
    fn qstat_text_never_panics_on_structured_junk(text in "(Job Id: [0-9.a-z]{0,6}\\n|    [a-z_]{1,8} = [A-Z0-9]{0,4}\\n|\\t[a-z]{0,5}\\n|\\n){0,20}") {
        let _ = parse_qstat_text(&text);
    }

    #[test]
    fn exit_phase_total(code in proptest::option::of(any::<i32>()), comment in proptest::option::of(any::<String>())) {
        for f in [PbsFlavor::Pro, PbsFlavor::Torque] {
            prop_assert!(exit_phase(code, comment.as_deref(), f).is_terminal());
        }
    }

    #[test]
    fn sh_quote_wraps_everything(s in any::<String>()) {
        let q = sh_quote(&s);
        prop_assert!(q.starts_with('\'') && q.ends_with('\''));
        // outside of the '\'' escapes, no single quote appears
        let inner = &q[1..q.len() - 1];
        prop_assert!(!inner.replace("'\\''", "").contains('\''));
    }

    #[test]
    fn backoff_stays_within_ceiling(attempt in any::<u32>(), r in any::<f64>()) {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(30), 2.0).unwrap();
        let d = b.delay(attempt, r);
        prop_assert!(d <= b.ceiling(attempt));
        prop_assert!(b.ceiling(attempt) <= Duration::from_secs(30));
    }

    #[test]
    fn bucket_never_exceeds_rate(rate in 0.1f64..100.0, burst in 1u32..20, steps in proptest::collection::vec(0u64..2_000, 1..200)) {
        let mut b = TokenBucket::new(rate, burst).unwrap();
        let mut now = Duration::ZERO;
        let mut taken = 0u64;
        for ms in steps {
            now += Duration::from_millis(ms);
            match b.try_take(now) {
                Ok(()) => taken += 1,
                Err(wait) => prop_assert!(wait > Duration::ZERO),
            }
        }
        let allowed = f64::from(burst) + now.as_secs_f64() * rate + 1e-6;
        prop_assert!(taken as f64 <= allowed, "{} > {}", taken, allowed);
    }
}
