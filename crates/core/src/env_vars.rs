//! Every environment variable matterstack reads, or sets for a task, declared
//! once: the code names these constants, never the strings.

/// Read: the user's home, for `~` paths and the XDG defaults.
pub const HOME: &str = "HOME";
/// Read: profiles and templates (`$XDG_CONFIG_HOME/matterstack`, default `~/.config`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Read: the index of runs (`$XDG_DATA_HOME/matterstack`, default `~/.local/share`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Read: MBE component results (`$XDG_CACHE_HOME/matterstack`, default `~/.cache`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Read: where SSH control sockets live (`$XDG_RUNTIME_DIR/ms`).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// Read: set (and not empty) to turn colour off.
pub const NO_COLOR: &str = "NO_COLOR";
/// Read by the CLI: `1` / `0` / unset (a terminal decides) for transfer progress lines.
pub const MATTERSTACK_PROGRESS: &str = "MATTERSTACK_PROGRESS";
/// Read by the CLI: what to log to standard error, in `tracing`'s EnvFilter
/// syntax (`matterstack=debug`, `matterstack::transport=trace,warn`);
/// `-v`/`-vv`/`-vvv` mean info/debug/trace when it is unset.
pub const MATTERSTACK_LOG: &str = "MATTERSTACK_LOG";
/// Read: a file that receives one line per remote command (label, host, duration).
pub const MATTERSTACK_TRANSPORT_LOG: &str = "MATTERSTACK_TRANSPORT_LOG";
/// Read: the Python that runs PySCF components (default `python3`).
pub const MATTERSTACK_PYSCF_PYTHON: &str = "MATTERSTACK_PYSCF_PYTHON";
/// Read by tests only: abort right after launching attempts, before recording them.
pub const MATTERSTACK_TEST_CRASH_AFTER_LAUNCH: &str = "MATTERSTACK_TEST_CRASH_AFTER_LAUNCH";
/// Read by tests only: abort right after a planner answered, before recording it.
pub const MATTERSTACK_TEST_CRASH_AFTER_PLANNER: &str = "MATTERSTACK_TEST_CRASH_AFTER_PLANNER";

/// Set for a task: its run directory (local operator).
pub const MATTERSTACK_RUN_DIR: &str = "MATTERSTACK_RUN_DIR";
/// Set for a task: its id.
pub const MATTERSTACK_TASK_ID: &str = "MATTERSTACK_TASK_ID";
/// Set for a task: its attempt number.
pub const MATTERSTACK_ATTEMPT: &str = "MATTERSTACK_ATTEMPT";
/// Set for a task: its attempt's idempotency token.
pub const MATTERSTACK_TOKEN: &str = "MATTERSTACK_TOKEN";
/// Set for a sweep point: the prefix of one variable per swept key
/// (`MS_SWEEP_<KEY>`, upper case).
pub const MS_SWEEP_PREFIX: &str = "MS_SWEEP_";
