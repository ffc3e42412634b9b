/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The integration-test harness: runs the real arbord and reads its lifecycle
 * events, for criterion tests in tests/integration/.
 *
 * Model
 * - arbord_start() writes the INI text to a fresh directory (mkdtemp under
 *   /tmp, "@TMP@"), replacing "@HELPERS@" (the built helper programs) and
 *   "@TMP@" in the text and in every argument, and runs
 *       arbord -c @TMP@/arbor.ini --log-format json [args...] [-- command...]
 *   with stdin from /dev/null (or ArbordOptions.stdin_text, or a
 *   pseudo-terminal with ARBORD_PTY), stdout appended to @TMP@/stdout
 *   (services inherit it: their output lands there, not among the events)
 *   and stderr on a pipe that the harness reads.
 * - Every stderr line that is a JSON object with an "event" member is an
 *   event; every other line (log messages, a service's stderr) is kept as a
 *   log line for arbord_log_contains().
 * - Events are recorded in the order arbord wrote them. One read cursor
 *   walks them: arbord_wait_event() and arbord_expect_sequence() consume
 *   events from the cursor on, so a test reads the story in order. Events
 *   skipped on the way stay in arbord_events(); arbord_count_events() and
 *   arbord_wait_count() look at all of them and ignore the cursor.
 * - Waiting never sleeps: poll() on arbord's stderr, a pidfd and, for files,
 *   inotify, up to a deadline. Deadlines only guard against hangs: they are
 *   generous (HARNESS_TIMEOUT_MS, multiplied by $ARBOR_TEST_TIMEOUT_SCALE,
 *   e.g. 10 under valgrind). Any timeout_ms < 0 means that default; 0 means
 *   "look at what has arrived, do not wait". A wait also ends as soon as
 *   arbord has exited and its output is drained: nothing more can come.
 * - Failures return false/NULL, print what went wrong on stderr and keep it
 *   for arbord_last_error(), so a test can write
 *       cr_assert(arbord_wait_event(a, "ready", "root", -1, NULL), "%s", arbord_last_error(a));
 *
 * Environment
 * - $ARBOR_TEST_ARBORD overrides the arbord binary (TEST_BUILD_DIR "/arbord").
 * - $ARBOR_TEST_VERBOSE=1 echoes every line arbord writes on stderr.
 * - arbord runs with NOTIFY_SOCKET, LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES
 *   removed, XDG_RUNTIME_DIR=@TMP@ and ARBOR_SOCKET=@TMP@/arbor.sock (see
 *   arbord_control_socket()), in its own process group, with an empty signal
 *   mask, default dispositions, only fds 0-2, and PR_SET_PDEATHSIG=SIGTERM so
 *   a test that dies does not leave it behind.
 * - The test process becomes a child subreaper: if arbord dies without
 *   stopping its services, they come back to the test, and arbord_free()
 *   kills and reaps them (the children of the test in another process group
 *   than the test's own, other than a running arbord).
 *
 * - A test that fails leaves through longjmp, past _cleanup_arbord_: an
 *   atexit handler then frees every Arbord it left (criterion ends the
 *   worker with exit()), so neither arbord nor its directory outlive it.
 *
 * Ownership: everything an Arbord hands out (events, strings) lives until
 * arbord_free(), unless documented as malloc'd for the caller.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifndef TEST_BUILD_DIR
#error "TEST_BUILD_DIR must be defined (the build tree holding arbord and tests/helpers/)"
#endif

#define HARNESS_ARBORD TEST_BUILD_DIR "/arbord"
#define HARNESS_HELPERS TEST_BUILD_DIR "/tests/helpers"

/* The default deadline of every wait, before $ARBOR_TEST_TIMEOUT_SCALE. */
#define HARNESS_TIMEOUT_MS 10000

/* --- events ------------------------------------------------------------------ */

typedef enum HarnessValueType {
        HARNESS_VALUE_NULL,
        HARNESS_VALUE_BOOL,
        HARNESS_VALUE_NUMBER,
        HARNESS_VALUE_STRING,
        _HARNESS_VALUE_TYPE_MAX,
} HarnessValueType;

/* One member of a flat JSON object. */
typedef struct HarnessField {
        char *key;
        HarnessValueType type;
        long long number; /* NUMBER (truncated if it had a fraction), BOOL (0/1) */
        char *text;       /* always set: the string (unescaped), the number as written, "true", "null" */
} HarnessField;

/*
 * A lifecycle event as arbord wrote it:
 * {"ts": 12, "event": "exit", "path": "root/a", "pid": 42, "code": 1, "signal": null, "normal": false}
 * The typed members are shortcuts into fields[]; members absent from the
 * line take the "none" value noted.
 */
typedef struct HarnessEvent {
        size_t index;       /* position in arbord_events() */
        long long ts;       /* monotonic ms; -1: none */
        const char *event;  /* "start", "ready", "exit", "stop", "restart", "giveup", "shutdown"... */
        const char *path;   /* "root/web/api"; "": none */
        long long pid;      /* 0: none. In a pid namespace (ARBORD_PIDNS), a pid of that namespace. */
        int code;           /* exit code; -1: null or none */
        const char *signal; /* "SIGTERM"; NULL: null or none */
        int normal;         /* 1 true, 0 false, -1: none */
        const char *error;  /* NULL: none */
        char *line;         /* the line as read, without its newline */
        HarnessField *fields;
        size_t n_fields;
} HarnessEvent;

/*
 * Parses one line. Returns 0; -EINVAL when the line is not a flat JSON object
 * (nested values are not accepted); -ENOMSG when it is one but has no string
 * member "event"; -ENOMEM. On success *ret owns its memory: harness_event_done().
 * Unknown members are kept in fields[]; of duplicate keys the first counts.
 */
int harness_event_parse(const char *line, HarnessEvent *ret);
void harness_event_done(HarnessEvent *ev);

/* The member named key, or NULL. */
const HarnessField *harness_event_field(const HarnessEvent *ev, const char *key);

/*
 * Whether ev matches a pattern "KIND PATH [CONSTRAINT...]", separated by
 * spaces: KIND and PATH compare exactly, or as a prefix when they end with
 * '*' ("*" matches anything, "root/web/" followed by "*" a subtree); a missing PATH matches
 * anything. CONSTRAINT is "key=value" (the member's text equals value;
 * "key=null" also matches an absent member) or "key~text" (the member's
 * text contains text). Example: "exit root/web/api code=3 normal=false".
 */
bool harness_event_matches(const HarnessEvent *ev, const char *pattern);

/*
 * "exit root/a pid=42 code=1 signal=null normal=false": the event in the
 * pattern syntax, every member but ts in line order. malloc'd; NULL on OOM.
 */
char *harness_event_format(const HarnessEvent *ev);

/* --- running arbord ------------------------------------------------------------ */

typedef struct Arbord Arbord;

typedef enum ArbordFlags {
        /*
         * Run arbord as PID 1 of a new pid namespace with its own /proc
         * (a new mount namespace), as `unshare --pid --fork --mount-proc`
         * does. arbord_pid() is still its pid as the test sees it, and
         * arbord_signal() reaches it; pids in events are the namespace's.
         * Killing arbord kills the namespace.
         */
        ARBORD_PIDNS = 1 << 0,
        /* With ARBORD_PIDNS: also a new user namespace mapping the caller to
         * root (`--user --map-root-user`), for tests run without root. */
        ARBORD_USERNS = 1 << 1,
        /* Leave the INI text's [arbor] control alone (see arbord_control_socket()). */
        ARBORD_KEEP_CONTROL = 1 << 2,
        /*
         * arbord as `docker run -it` runs it: the leader of a session of its
         * own, whose controlling terminal, a new pseudo-terminal, is its
         * stdin (stdout and stderr stay as above), with arbord's process
         * group in the foreground. The test holds the master side:
         * arbord_pty(). Its settings are the kernel's defaults (ISIG:
         * writing "\003" sends SIGINT to the foreground process group).
         */
        ARBORD_PTY = 1 << 3,
        /*
         * arbord's stderr pipe keeps the kernel's smallest size (one page)
         * instead of the harness's 1 MiB: a test that does not read it
         * stalls arbord's log reader within a few lines.
         */
        ARBORD_SMALL_STDERR = 1 << 4,
} ArbordFlags;

typedef struct ArbordOptions {
        const char *ini;              /* INI text written to @TMP@/arbor.ini; NULL: no -c */
        const char *const *args;      /* more arbord arguments; NULL-terminated, may be NULL */
        const char *const *command;   /* "arbord ... -- command..."; NULL-terminated, may be NULL */
        const char *const *env;       /* "KEY=value" added to arbord's environment; may be NULL */
        const char *stdin_text;       /* arbord's stdin: a file @TMP@/stdin with this text; NULL: /dev/null */
        unsigned flags;               /* ArbordFlags */
} ArbordOptions;

/* Returns NULL on failure (arbord could not be run at all), with the reason on stderr. */
Arbord *arbord_start_opts(const ArbordOptions *opts);

/* arbord -c @TMP@/arbor.ini --log-format json [extra_args...]; extra_args may be NULL. */
Arbord *arbord_start(const char *ini_text, const char *const *extra_args);

/* arbord --log-format json -- argv...: the container entrypoint form. */
Arbord *arbord_start_argv(const char *const *argv);

/*
 * Stops arbord if it still runs (SIGTERM, then SIGKILL after the default
 * deadline), reaps it and any orphaned service (see the model above),
 * removes the temporary directory and frees everything. NULL-safe; returns NULL.
 */
Arbord *arbord_free(Arbord *a);
void arbord_freep(Arbord **a);
#define _cleanup_arbord_ __attribute__((cleanup(arbord_freep)))

pid_t arbord_pid(const Arbord *a);
const char *arbord_tmpdir(const Arbord *a);

/* With ARBORD_PTY, the master side of arbord's terminal (owned by a); else -EBADF. */
int arbord_pty(const Arbord *a);

/* "@TMP@/name", malloc'd; NULL on OOM. */
char *arbord_tmpfile(const Arbord *a, const char *name);

/*
 * "@TMP@/arbor.sock": each arbord gets its own control socket, so that tests
 * can run in parallel (as root, the default /run/arbor/arbor.sock would be
 * shared, and a second arbord refuses to start). The INI text gets
 * `control = @TMP@/arbor.sock` unless its [arbor] section sets control (or
 * ARBORD_KEEP_CONTROL): then NULL. arbord's environment also has
 * ARBOR_SOCKET=@TMP@/arbor.sock (arborctl's variable), the only way to reach
 * the `arbord -- COMMAND` form, which takes no -c, once arbord honours it.
 * Run arborctl with `--socket` set to this path.
 */
const char *arbord_control_socket(const Arbord *a);

/* Sends sig through a pidfd. Returns 0, or -errno (-ESRCH once arbord has exited). */
int arbord_signal(Arbord *a, int sig);

/* What the last failing call said; "" if none. */
const char *arbord_last_error(const Arbord *a);

/*
 * Waits for the next event from the cursor on with that kind and path (NULL:
 * any), and moves the cursor past it. Copies it into *ret if not NULL (its
 * strings stay owned by a).
 */
bool arbord_wait_event(Arbord *a, const char *event, const char *path, int timeout_ms, HarnessEvent *ret);

/* The same with a pattern, as harness_event_matches(): "exit root/a code=3". */
bool arbord_wait_match(Arbord *a, const char *pattern, int timeout_ms, HarnessEvent *ret);

/*
 * Reads the next strlen(seq) events from the cursor on and checks that each
 * matches its pattern (harness_event_matches()), in order, with nothing in
 * between, e.g. {"exit root/a code=1", "restart root/a", "start root/a", NULL}.
 * On a mismatch or a timeout prints (and keeps as the last error) expected
 * and actual side by side. The cursor moves past the events read.
 */
bool arbord_expect_sequence(Arbord *a, const char *const *seq, int timeout_ms);

/* Every event read so far (without waiting), in order; *ret_n their number. */
const HarnessEvent *arbord_events(Arbord *a, size_t *ret_n);

/* How many events read so far match pattern, regardless of the cursor. */
size_t arbord_count_events(Arbord *a, const char *pattern);

/* Waits until at least n events in all match pattern, regardless of the cursor. */
bool arbord_wait_count(Arbord *a, const char *pattern, size_t n, int timeout_ms);

/*
 * Waits for arbord to exit, reading its remaining output, and reaps it.
 * *ret_status (if not NULL): its exit code, or 128+N when signal N killed it.
 * Returns false on timeout (arbord is left running). Can be called again
 * after it returned true: it returns the same status.
 */
bool arbord_wait_exit(Arbord *a, int timeout_ms, int *ret_status);

/*
 * Whether a log line (any non-event stderr line) read so far contains needle:
 * as written, or, for a JSON object, in one of its string values unescaped.
 */
bool arbord_log_contains(Arbord *a, const char *needle);
bool arbord_wait_log(Arbord *a, const char *needle, int timeout_ms);

/* The services' (and arbord's) stdout so far, malloc'd; NULL on error. */
char *arbord_stdout(Arbord *a);
bool arbord_wait_stdout(Arbord *a, const char *needle, int timeout_ms);

/*
 * Waits until cond(userdata) holds, re-checking it with a growing interval
 * (1 ms to 50 ms) while reading arbord's output. Only for states the kernel
 * signals no event for, like an orphan being reaped by arbord; a lifecycle
 * step is waited for with arbord_wait_event().
 */
bool arbord_wait_until(Arbord *a, bool (*cond)(void *userdata), void *userdata, int timeout_ms);

/* --- utilities ----------------------------------------------------------------- */

/* The effective deadline for a timeout_ms argument (default, scale). */
int harness_timeout(int timeout_ms);

/* Waits for path to exist (inotify on its directory, which must exist). */
bool wait_for_file(const char *path, int timeout_ms);

/* Waits for the file to exist and contain needle. */
bool wait_for_file_contains(const char *path, const char *needle, int timeout_ms);

/* The whole file, NUL-terminated, malloc'd; *ret_size (if not NULL) without the NUL. NULL with errno set on failure. */
char *read_whole_file(const char *path, size_t *ret_size);

/* Processes in state Z whose parent is `parent` (0: any process in /proc). -errno on failure. */
int count_zombies(pid_t parent);

/* Processes (any state) whose parent is `parent`. -errno on failure. */
int count_children(pid_t parent);

/* The same as arbord_wait_until() without an arbord. */
bool harness_retry(bool (*cond)(void *userdata), void *userdata, int timeout_ms);

/* Whether arbord can be started with these ArbordFlags here (for cr_skip()). */
bool harness_flags_supported(unsigned flags);
