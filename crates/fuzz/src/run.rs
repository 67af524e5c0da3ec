//! Running one target: seeds first, then mutated inputs until the budget is spent, each
//! under `catch_unwind` in a worker thread that a watchdog checks for inputs that hang.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use crate::mutate::mutate;
use crate::rng::Rng;

/// Seconds per target.
pub const SECS_ENV: &str = "MATTERSTACK_FUZZ_SECS";
/// The RNG seed, to replay a run.
pub const SEED_ENV: &str = "MATTERSTACK_FUZZ_SEED";
/// Seconds per target when `MATTERSTACK_FUZZ_SECS` is not set.
pub const DEFAULT_SECS: f64 = 2.0;
/// One input taking longer than this is a hang.
pub const HANG: Duration = Duration::from_secs(10);
/// The most time spent shrinking a failing input.
const MINIMIZE_FOR: Duration = Duration::from_secs(20);

/// One parser under test and its seed inputs.
pub struct Target {
    name: String,
    seeds: Vec<Vec<u8>>,
    max_len: usize,
    hang: Duration,
}

/// What a run did (also printed).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Target name.
    pub name: String,
    /// Inputs run (seeds included).
    pub executions: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// The seed of the run.
    pub seed: u64,
    /// The seeds the target started from.
    pub seeds: usize,
    /// How many of them ran unmutated before the budget ran out.
    pub seeds_run: u64,
}

type Input = Arc<Vec<u8>>;

struct Watch {
    current: Mutex<Option<(Instant, Input)>>,
    executions: AtomicU64,
    seeds_run: AtomicU64,
}

enum Found {
    Panic {
        location: String,
        message: String,
        input: Vec<u8>,
        original_len: usize,
    },
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Keeps fuzzed panics off the terminal (they are reported once, minimized) while every
/// other thread's panics print as usual.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let loc = info
                    .location()
                    .map_or_else(|| "?".to_string(), |l| l.to_string());
                LAST_LOCATION.with(|l| *l.borrow_mut() = loc);
            } else {
                previous(info);
            }
        }));
    });
}

/// The fuzz worker's stack: 8 MiB, the default main-thread stack on Linux.
const WORKER_STACK: usize = 8 << 20;

impl Target {
    /// A target named `name` (used in the log line and the failure file).
    pub fn new(name: &str) -> Target {
        Target {
            name: name.to_string(),
            seeds: Vec::new(),
            max_len: 256 * 1024,
            hang: HANG,
        }
    }

    /// How long one input may run before it counts as a hang (default [`HANG`]).
    pub fn hang_after(mut self, d: Duration) -> Target {
        self.hang = d;
        self
    }

    /// Adds one seed input.
    pub fn seed(mut self, s: impl AsRef<[u8]>) -> Target {
        self.seeds.push(s.as_ref().to_vec());
        self
    }

    /// Adds seed inputs (e.g. from [`crate::seeds::files`]).
    pub fn seeds(mut self, v: impl IntoIterator<Item = Vec<u8>>) -> Target {
        self.seeds.extend(v);
        self
    }

    /// The longest mutated input (longer seeds are fuzzed in windows of this size).
    pub fn max_len(mut self, n: usize) -> Target {
        self.max_len = n.max(1);
        self
    }

    /// Fuzzes a parser of text: inputs that are not UTF-8 arrive as the lossy conversion
    /// (what `String::from_utf8_lossy` on a fetched file gives).
    pub fn run_text<F: Fn(&str) + Send + Sync + 'static>(self, f: F) -> Stats {
        self.run_bytes(move |b| f(&String::from_utf8_lossy(b)))
    }

    /// Fuzzes `f` for the budget; panics (failing the test) on the first input that makes
    /// `f` panic or run longer than [`HANG`].
    pub fn run_bytes<F: Fn(&[u8]) + Send + Sync + 'static>(self, f: F) -> Stats {
        assert!(
            !self.seeds.is_empty(),
            "fuzz {}: no seed inputs found; the target needs at least one real input",
            self.name
        );
        install_hook();
        let secs = budget_secs();
        let seed = run_seed();
        let budget = Duration::from_secs_f64(secs);
        let watch = Arc::new(Watch {
            current: Mutex::new(None),
            executions: AtomicU64::new(0),
            seeds_run: AtomicU64::new(0),
        });
        let start = Instant::now();
        let (seeds, max_len, name) = (self.seeds, self.max_len, self.name.clone());
        let n_seeds = seeds.len();
        let w = Arc::clone(&watch);
        // Printed first: a stack overflow aborts the process before the
        // summary, and the seed replays it.
        let _ = writeln!(
            std::io::stderr(),
            "fuzz {name}: seed {seed} ({SEED_ENV}={seed} replays it)"
        );
        let worker = std::thread::Builder::new()
            .name(format!("fuzz-{name}"))
            // The stack of the binary's main thread, where matterstack parses
            // and renders (a test thread's 2 MiB is smaller than that).
            .stack_size(WORKER_STACK)
            .spawn(move || {
                QUIET.with(|q| q.set(true));
                let mut rng = Rng::new(seed ^ fnv(&name));
                fuzz_loop(&f, &w, &mut rng, &seeds, max_len, start + budget)
            })
            .expect("spawn the fuzz worker thread");
        loop {
            if worker.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            let hung = watch
                .current
                .lock()
                .map(|c| {
                    c.as_ref()
                        .and_then(|(t, i)| (t.elapsed() > self.hang).then(|| i.clone()))
                })
                .unwrap_or(None);
            if let Some(input) = hung {
                let path = write_input(&self.name, seed, &input);
                panic!(
                    "fuzz {}: one input ran longer than {:?} (a hang), after {} executions\n  \
                     seed: {seed} (replay with {SEED_ENV}={seed})\n  \
                     input ({} bytes, written to {}):\n{}",
                    self.name,
                    self.hang,
                    watch.executions.load(Ordering::Relaxed),
                    input.len(),
                    path.display(),
                    shown(&input)
                );
            }
        }
        let result = worker.join().expect("the fuzz worker catches every panic");
        let executions = watch.executions.load(Ordering::Relaxed);
        let seeds_run = watch.seeds_run.load(Ordering::Relaxed);
        let seconds = start.elapsed().as_secs_f64();
        if let Err(Found::Panic {
            location,
            message,
            input,
            original_len,
        }) = result
        {
            let path = write_input(&self.name, seed, &input);
            panic!(
                "fuzz {}: panic at {location}: {message}\n  after {executions} executions; \
                 seed: {seed} (replay with {SEED_ENV}={seed})\n  \
                 smallest failing input ({} bytes, from {original_len}; written to {}):\n{}",
                self.name,
                input.len(),
                path.display(),
                shown(&input)
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "fuzz {}: {executions} executions in {seconds:.1} s, 0 panics (seed {seed}; {seeds_run} of {n_seeds} seeds run as they are)",
            self.name
        );
        Stats {
            name: self.name,
            executions,
            seconds,
            seed,
            seeds: n_seeds,
            seeds_run,
        }
    }
}

fn fuzz_loop(
    f: &(dyn Fn(&[u8]) + Send + Sync),
    w: &Watch,
    rng: &mut Rng,
    seeds: &[Vec<u8>],
    max_len: usize,
    deadline: Instant,
) -> Result<(), Found> {
    // Every seed as it is, interleaved with mutated inputs so that a target with many
    // seeds still spends half its budget on mutations.
    let mut next_seed = 0;
    let mut turn = 0u64;
    loop {
        turn += 1;
        if Instant::now() >= deadline {
            w.seeds_run.store(next_seed as u64, Ordering::Relaxed);
            return Ok(());
        }
        let input = if next_seed < seeds.len() && turn % 2 == 1 {
            next_seed += 1;
            seeds[next_seed - 1].clone()
        } else {
            let base = rng.below(seeds.len());
            let mut b = window(rng, &seeds[base], max_len);
            mutate(rng, &mut b, seeds, max_len);
            b
        };
        if let Some((location, message)) = exec(f, w, &input) {
            let original_len = input.len();
            let input = minimize(f, w, input, &location);
            return Err(Found::Panic {
                location,
                message,
                input,
                original_len,
            });
        }
    }
}

/// Runs one input; the panic's location and message when it panics.
fn exec(f: &(dyn Fn(&[u8]) + Send + Sync), w: &Watch, input: &[u8]) -> Option<(String, String)> {
    let shared: Input = Arc::new(input.to_vec());
    if let Ok(mut c) = w.current.lock() {
        *c = Some((Instant::now(), shared.clone()));
    }
    let r = panic::catch_unwind(AssertUnwindSafe(|| f(&shared)));
    if let Ok(mut c) = w.current.lock() {
        *c = None;
    }
    w.executions.fetch_add(1, Ordering::Relaxed);
    let payload = r.err()?;
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into());
    let location = LAST_LOCATION.with(|l| l.borrow().clone());
    Some((location, message))
}

/// Removes chunks (halves, quarters, … single bytes) while the same panic remains.
fn minimize(
    f: &(dyn Fn(&[u8]) + Send + Sync),
    w: &Watch,
    mut best: Vec<u8>,
    location: &str,
) -> Vec<u8> {
    let until = Instant::now() + MINIMIZE_FOR;
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut progress = false;
        let mut i = 0;
        while i < best.len() && Instant::now() < until {
            let end = (i + chunk).min(best.len());
            let mut cand = Vec::with_capacity(best.len() - (end - i));
            cand.extend_from_slice(&best[..i]);
            cand.extend_from_slice(&best[end..]);
            match exec(f, w, &cand) {
                Some((loc, _)) if loc == location => {
                    best = cand;
                    progress = true;
                }
                _ => i += chunk,
            }
        }
        if Instant::now() >= until || (chunk == 1 && !progress) {
            return best;
        }
        if !progress {
            chunk = chunk.div_ceil(2);
        }
    }
}

/// A piece of at most `max_len` bytes of `seed`, starting at a line.
fn window(rng: &mut Rng, seed: &[u8], max_len: usize) -> Vec<u8> {
    if seed.len() <= max_len {
        return seed.to_vec();
    }
    let mut s = rng.below(seed.len() - max_len + 1);
    while s > 0 && seed[s - 1] != b'\n' {
        s -= 1;
    }
    seed[s..(s + max_len).min(seed.len())].to_vec()
}

fn budget_secs() -> f64 {
    match std::env::var(SECS_ENV) {
        Err(_) => DEFAULT_SECS,
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => s,
            _ => panic!("{SECS_ENV}={v:?}: give the seconds per fuzz target, e.g. {SECS_ENV}=60"),
        },
    }
}

fn run_seed() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(v) => v.trim().parse::<u64>().unwrap_or_else(|_| {
            panic!("{SEED_ENV}={v:?}: give the decimal seed a fuzz run printed")
        }),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 ^ u64::from(std::process::id())),
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn write_input(name: &str, seed: u64, input: &[u8]) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = std::env::temp_dir().join(format!("matterstack-fuzz-{safe}-{seed}.input"));
    if let Err(e) = std::fs::write(&path, input) {
        let _ = writeln!(std::io::stderr(), "cannot write {}: {e}", path.display());
    }
    path
}

/// The input as an escaped string (the first 4000 bytes).
fn shown(input: &[u8]) -> String {
    let cut = &input[..input.len().min(4000)];
    let more = if input.len() > cut.len() { " …" } else { "" };
    format!("{:?}{more}", String::from_utf8_lossy(cut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_target_runs_its_seeds_and_mutations() {
        let s = Target::new("selftest-clean").seed("a = 1\n").run_text(|t| {
            let _ = t.parse::<i64>();
        });
        assert!(s.executions >= 1);
    }

    #[test]
    fn a_panicking_parser_is_reported_with_a_minimal_input_and_the_seed() {
        let r = std::thread::spawn(|| {
            Target::new("selftest-panic")
                .seed("header\nvalue = 12\nfooter\n")
                .run_text(|t| {
                    if t.contains('=') && t.contains("NaN") {
                        panic!("found NaN");
                    }
                })
        })
        .join();
        let payload = r.expect_err("the target panics");
        let msg = payload
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(msg.contains("panic at"), "{msg}");
        assert!(msg.contains("found NaN"), "{msg}");
        assert!(msg.contains(SEED_ENV), "{msg}");
        // the minimal input keeps only what the panic needs
        assert!(msg.contains("smallest failing input (4 bytes"), "{msg}");
        let path = msg
            .split("written to ")
            .nth(1)
            .and_then(|r| r.split("):").next())
            .expect("a file path");
        let kept = std::fs::read_to_string(path).unwrap();
        assert!(kept.contains('=') && kept.contains("NaN"), "{kept:?}");
    }

    #[test]
    fn an_input_that_hangs_is_reported_with_the_input() {
        let r = std::thread::spawn(|| {
            Target::new("selftest-hang")
                .seed("quick\n")
                .seed("slow\n")
                .hang_after(Duration::from_millis(100))
                .run_text(|t| {
                    if t == "slow\n" {
                        std::thread::sleep(Duration::from_millis(600));
                    }
                })
        })
        .join();
        let payload = r.expect_err("the target hangs");
        let msg = payload
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(msg.contains("(a hang)"), "{msg}");
        assert!(msg.contains("\"slow\\n\""), "{msg}");
    }

    #[test]
    fn a_window_starts_at_a_line_and_is_bounded() {
        let mut rng = Rng::new(5);
        let text = "line one\nline two\nline three\n".repeat(100);
        for _ in 0..100 {
            let w = window(&mut rng, text.as_bytes(), 50);
            assert!(w.len() <= 50);
            assert!(w.starts_with(b"line"), "{:?}", String::from_utf8_lossy(&w));
        }
    }
}
