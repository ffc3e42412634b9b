/* SPDX-License-Identifier: MIT */
/*
 * The real arbord, not PID 1, against the helper programs: OTP strategies and
 * restart policies with real processes, stop sequences, exec failures,
 * restart intensity and escalation, auto_shutdown and arbord's exit status,
 * the stdin and terminal of `arbord -- COMMAND`, readiness, and the hygiene
 * of what a service inherits.
 *
 * Every test asserts the exact event story with arbord_expect_sequence().
 * Failures are injected without sleeping: a service runs
 * `exit-after -p -t forever`, which prints "pid N" once SIGUSR1 is blocked;
 * the test waits for that line and sends SIGUSR1, on which the helper exits
 * with its -c code (or dies of its -s signal). Timing bounds are asserted
 * only from the events' own monotonic timestamps.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"
#include "macro.h"
#include "test-util.h"

#define IGNORE_TERM "@HELPERS@/ignore-term"
#define NOTIFY_READY "@HELPERS@/notify-ready"

/* ---- strategies ------------------------------------------------------------------------- */

#define THREE_ON_CUE(strategy)                                                                       \
        HEADER "[supervisor:root]\nstrategy = " strategy "\nintensity = 3\nperiod = 60s\n"          \
               "[service:a]\ncommand = " ON_CUE(1) "\n"                                              \
               "[service:b]\ncommand = " ON_CUE(1) "\n"                                              \
               "[service:c]\ncommand = " ON_CUE(1) "\n"

#define THREE_STARTED                                                                                \
        "start root", "start root/a", "ready root/a", "start root/b", "ready root/b", "start root/c", \
                "ready root/c", "ready root"

Test(strategy, one_for_one_restarts_only_the_dead_child) {
        _cleanup_arbord_ Arbord *a = start(THREE_ON_CUE("one_for_one"));
        pid_t a_pid, b_pid, c_pid;

        EXPECT_SEQ(a, THREE_STARTED);
        a_pid = pid_of(a, "root/a");
        b_pid = pid_of(a, "root/b");
        c_pid = pid_of(a, "root/c");

        cue(a, "root/b");
        EXPECT_SEQ(a, fmt("exit root/b pid=%d code=1 signal=null normal=false", (int) b_pid), RESTARTED("root/b"));
        cr_assert_neq(pid_of(a, "root/b"), b_pid);

        EXPECT_SIGTERM_SHUTDOWN(a, fmt("stop root/c pid=%d signal=SIGTERM normal=true", (int) c_pid),
                                fmt("stop root/b pid=%d signal=SIGTERM normal=true", (int) pid_of(a, "root/b")),
                                fmt("stop root/a pid=%d signal=SIGTERM normal=true", (int) a_pid));
        expect_exit(a, 0);
}

Test(strategy, one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order) {
        _cleanup_arbord_ Arbord *a = start(THREE_ON_CUE("one_for_all"));
        pid_t a_pid, c_pid;

        EXPECT_SEQ(a, THREE_STARTED);
        a_pid = pid_of(a, "root/a");
        c_pid = pid_of(a, "root/c");

        cue(a, "root/b");
        EXPECT_SEQ(a, "exit root/b code=1 normal=false",
                   fmt("stop root/c pid=%d signal=SIGTERM normal=true", (int) c_pid),
                   fmt("stop root/a pid=%d signal=SIGTERM normal=true", (int) a_pid), RESTARTED("root/a"),
                   RESTARTED("root/b"), RESTARTED("root/c"));

        /* One failure counts once, however many children it restarts: two more fit in intensity 3. */
        cue(a, "root/a");
        EXPECT_SEQ(a, "exit root/a code=1 normal=false", "stop root/c", "stop root/b", RESTARTED("root/a"),
                   RESTARTED("root/b"), RESTARTED("root/c"));
        cue(a, "root/c");
        EXPECT_SEQ(a, "exit root/c code=1 normal=false", "stop root/b", "stop root/a", RESTARTED("root/a"),
                   RESTARTED("root/b"), RESTARTED("root/c"));

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/c", "stop root/b", "stop root/a");
        expect_exit(a, 0);
}

Test(strategy, rest_for_one_restarts_the_dead_child_and_those_after_it) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nstrategy = rest_for_one\nintensity = 3\n"
                                                  "[service:a]\ncommand = " ON_CUE(1) "\n"
                                                  "[service:b]\ncommand = " ON_CUE(1) "\n"
                                                  "[service:c]\ncommand = " ON_CUE(1) "\n"
                                                  "[service:d]\ncommand = " ON_CUE(1) "\n");
        pid_t a_pid, c_pid, d_pid;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/b", "ready root/b", "start root/c",
                   "ready root/c", "start root/d", "ready root/d", "ready root");
        a_pid = pid_of(a, "root/a");
        c_pid = pid_of(a, "root/c");
        d_pid = pid_of(a, "root/d");

        cue(a, "root/b");
        EXPECT_SEQ(a, "exit root/b code=1 normal=false", fmt("stop root/d pid=%d signal=SIGTERM", (int) d_pid),
                   fmt("stop root/c pid=%d signal=SIGTERM", (int) c_pid), RESTARTED("root/b"), RESTARTED("root/c"),
                   RESTARTED("root/d"));

        /* The last child: only itself. */
        cue(a, "root/d");
        EXPECT_SEQ(a, "exit root/d code=1 normal=false", RESTARTED("root/d"));

        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/d", "stop root/c", "stop root/b",
                   fmt("stop root/a pid=%d", (int) a_pid), /* a was never touched */
                   "shutdown root code=0");
        expect_exit(a, 0);
}

/* ---- restart policies, normal and abnormal exits --------------------------------------- */

Test(policy, permanent_restarts_after_a_normal_exit_too) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 2\n"
                                                  "[service:p]\nrestart = permanent\ncommand = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/p", "ready root/p", "ready root");
        cue(a, "root/p");
        EXPECT_SEQ(a, "exit root/p code=0 signal=null normal=true", RESTARTED("root/p"));
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/p signal=SIGTERM normal=true");
        expect_exit(a, 0);
}

Test(policy, transient_restarts_only_after_an_abnormal_exit) {
        /* intensity 1: the clean exit must not count, or the abnormal one would make root give up */
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 1\nperiod = 60s\n"
                                                  "[service:clean]\nrestart = transient\ncommand = " ON_CUE(0) "\n"
                                                  "[service:crash]\nrestart = transient\ncommand = " ON_CUE(2) "\n"
                                                  "[service:other]\ncommand = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/clean", "ready root/clean", "start root/crash", "ready root/crash",
                   "start root/other", "ready root/other", "ready root");
        cue(a, "root/clean");
        /* were clean restarted, "restart root/clean" would come right after its exit */
        EXPECT_SEQ(a, "exit root/clean code=0 normal=true");
        cue(a, "root/crash");
        EXPECT_SEQ(a, "exit root/crash code=2 normal=false", RESTARTED("root/crash"));

        /* clean stays down: nothing to stop */
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/other", "stop root/crash");
        expect_exit(a, 0);
}

Test(policy, temporary_is_never_restarted_and_never_counts) {
        /* intensity 0: any restart at all would make root give up */
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 0\n"
                                                  "[service:keep]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:t0]\nrestart = temporary\ncommand = " ON_CUE(0) "\n"
                                                  "[service:t3]\nrestart = temporary\ncommand = " ON_CUE(3) "\n"
                                                  "[service:ts]\nrestart = temporary\ncommand = " EXIT_AFTER
                                                  " -p -t forever -s SIGABRT\n");

        EXPECT_SEQ(a, "start root", "start root/keep", "ready root/keep", "start root/t0", "ready root/t0",
                   "start root/t3", "ready root/t3", "start root/ts", "ready root/ts", "ready root");
        cue(a, "root/t0");
        EXPECT_SEQ(a, "exit root/t0 code=0 normal=true");
        cue(a, "root/t3");
        EXPECT_SEQ(a, "exit root/t3 code=3 normal=false");
        cue(a, "root/ts");
        EXPECT_SEQ(a, "exit root/ts code=null signal=SIGABRT normal=false");

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/keep");
        expect_exit(a, 0);
}

Test(policy, success_exit_codes_make_an_exit_normal) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 1\n"
                                                  "[service:ok]\nrestart = transient\nsuccess_exit_codes = 0 3\n"
                                                  "command = " ON_CUE(3) "\n"
                                                  "[service:bad]\nrestart = transient\nsuccess_exit_codes = 0 3\n"
                                                  "command = " ON_CUE(4) "\n"
                                                  "[service:zero]\nrestart = transient\nsuccess_exit_codes = 3\n"
                                                  "command = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/ok", "ready root/ok", "start root/bad", "ready root/bad",
                   "start root/zero", "ready root/zero", "ready root");
        cue(a, "root/ok");
        EXPECT_SEQ(a, "exit root/ok code=3 normal=true");
        /* 0 is always a success (DESIGN: "exit code 0 or one listed") */
        cue(a, "root/zero");
        EXPECT_SEQ(a, "exit root/zero code=0 normal=true");
        cue(a, "root/bad");
        EXPECT_SEQ(a, "exit root/bad code=4 normal=false", RESTARTED("root/bad"));

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/bad");
        expect_exit(a, 0);
}

Test(policy, death_by_a_signal_arbord_did_not_send_is_abnormal) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 5\n"
                                                  "[service:segv]\nrestart = transient\ncommand = " EXIT_AFTER
                                                  " -p -t forever -s SIGSEGV\n"
                                                  "[service:term]\nrestart = transient\ncommand = " ON_CUE(0) "\n"
                                                  "[service:kill]\nrestart = transient\ncommand = " ON_CUE(0) "\n");
        pid_t pid;

        EXPECT_SEQ(a, "start root", "start root/segv", "ready root/segv", "start root/term", "ready root/term",
                   "start root/kill", "ready root/kill", "ready root");
        cue(a, "root/segv");
        EXPECT_SEQ(a, "exit root/segv code=null signal=SIGSEGV normal=false", RESTARTED("root/segv"));

        /* SIGTERM is the stop signal, but arbord did not send it: abnormal, a transient child comes back */
        pid = pid_of(a, "root/term");
        cr_assert_eq(kill(pid, SIGTERM), 0);
        EXPECT_SEQ(a, fmt("exit root/term pid=%d code=null signal=SIGTERM normal=false", (int) pid),
                   RESTARTED("root/term"));

        pid = pid_of(a, "root/kill");
        cr_assert_eq(kill(pid, SIGKILL), 0);
        EXPECT_SEQ(a, fmt("exit root/kill pid=%d code=null signal=SIGKILL normal=false", (int) pid),
                   RESTARTED("root/kill"));

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/kill signal=SIGTERM normal=true",
                                "stop root/term signal=SIGTERM normal=true",
                                "stop root/segv signal=SIGTERM normal=true");
        expect_exit(a, 0);
}

/* ---- stopping ------------------------------------------------------------------------------ */

Test(stop, a_child_ignoring_sigterm_is_killed_when_its_shutdown_time_runs_out) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:polite]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:stubborn]\nshutdown = 300ms\ncommand = " IGNORE_TERM "\n");
        const HarnessEvent *ev;
        long long t0;

        EXPECT_SEQ(a, "start root", "start root/polite", "ready root/polite", "start root/stubborn",
                   "ready root/stubborn", "ready root");
        /* "ready" on its stdout: SIGTERM is ignored from then on */
        cr_assert(arbord_wait_stdout(a, "ready\n", -1), "%s", arbord_last_error(a));

        t0 = now_ms();
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/stubborn code=null signal=SIGKILL normal=true",
                                "stop root/polite signal=SIGTERM normal=true");
        ev = last_event(a, "stop root/stubborn");
        cr_assert_geq(ev->ts, t0 + 300, "SIGKILL before the 300ms shutdown time ran out (%lld ms)", ev->ts - t0);
        cr_assert_lt(ev->ts, t0 + 4000, "SIGKILL only after %lld ms: shutdown = 300ms not honoured", ev->ts - t0);
        /* the next child is stopped only after this one is gone */
        cr_assert_geq(last_event(a, "stop root/polite")->ts, ev->ts);
        expect_exit(a, 0);
}

Test(stop, brutal_kill_sends_sigkill_at_once) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:plain]\nshutdown = brutal_kill\ncommand = " ON_CUE(0) "\n"
                                                  "[service:stubborn]\nshutdown = brutal_kill\ncommand = " IGNORE_TERM
                                                  "\n");
        long long t0;

        EXPECT_SEQ(a, "start root", "start root/plain", "ready root/plain", "start root/stubborn",
                   "ready root/stubborn", "ready root");
        cr_assert(arbord_wait_stdout(a, "ready\n", -1), "%s", arbord_last_error(a));
        t0 = now_ms();
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/stubborn signal=SIGKILL normal=true",
                                "stop root/plain signal=SIGKILL normal=true");
        /* not after the default 5 s shutdown time */
        cr_assert_lt(last_event(a, "stop root/plain")->ts, t0 + 2500);
        expect_exit(a, 0);
}

Test(stop, stop_signal_is_what_arbord_sends) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:int]\nstop_signal = SIGINT\ncommand = " ON_CUE(0) "\n"
                                                  "[service:usr1]\nstop_signal = USR1\ncommand = " ON_CUE(9) "\n");

        EXPECT_SEQ(a, "start root", "start root/int", "ready root/int", "start root/usr1", "ready root/usr1",
                   "ready root");
        /* usr1 takes SIGUSR1 as "exit 9 now" once it printed its pid */
        (void) wait_cue_ready(a, "root/usr1");
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/usr1 code=9 signal=null",
                                "stop root/int code=null signal=SIGINT normal=true");
        expect_exit(a, 0);
}

Test(stop, second_sigint_kills_what_an_infinite_shutdown_waits_for) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:a1]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:a2]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:a3]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:stubborn]\nshutdown = infinity\ncommand = " IGNORE_TERM
                                                  "\n");

        EXPECT_SEQ(a, "start root", "start root/a1", "ready root/a1", "start root/a2", "ready root/a2", "start root/a3",
                   "ready root/a3", "start root/stubborn", "ready root/stubborn", "ready root");
        cr_assert(arbord_wait_stdout(a, "ready\n", -1), "%s", arbord_last_error(a));
        signal_arbord(a, SIGINT);
        /* two SIGINTs sent at once would coalesce: the second only once the first was taken */
        cr_assert(arbord_wait_log(a, "SIGINT: stopping the tree", -1), "%s", arbord_last_error(a));
        signal_arbord(a, SIGINT);
        /*
         * arbord(8): "A second SIGINT sends SIGKILL to every service still
         * running, so that the shutdown, still in order, completes at once."
         * The a's are killed by arbord as part of the shutdown: stops, in
         * reverse order after stubborn's, not crashes of their own.
         */
        EXPECT_SEQ(a, "stop root/stubborn signal=SIGKILL", "stop root/a3 signal=SIGKILL", "stop root/a2 signal=SIGKILL",
                   "stop root/a1 signal=SIGKILL", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(stop, sigterm_stops_the_tree_in_reverse_order_depth_first) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 1\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[supervisor:sub]\n"
                                                  "[service:s1]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                  "[supervisor:deep]\nparent = sub\n"
                                                  "[service:d1]\nparent = deep\ncommand = " ON_CUE(0) "\n"
                                                  "[service:s2]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                  "[service:c]\ncommand = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",
                   "ready root/sub/s1", "start root/sub/deep", "start root/sub/deep/d1", "ready root/sub/deep/d1",
                   "ready root/sub/deep", "start root/sub/s2", "ready root/sub/s2", "ready root/sub", "start root/c",
                   "ready root/c", "ready root");
        signal_arbord(a, SIGTERM);
        /* a second SIGTERM during the shutdown changes nothing */
        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/c signal=SIGTERM normal=true", "stop root/sub/s2 signal=SIGTERM normal=true",
                   "stop root/sub/deep/d1 signal=SIGTERM normal=true", "stop root/sub/deep",
                   "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
        cr_assert_eq(arbord_count_events(a, "shutdown"), 1);
}

Test(stop, sigquit_sigpwr_and_sigint_are_stop_requests_too) {
        static const int sigs[] = { SIGQUIT, SIGPWR, SIGINT };

        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
                _cleanup_arbord_ Arbord *a = start(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                          "[service:b]\ncommand = " ON_CUE(0) "\n");

                EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/b", "ready root/b", "ready root");
                signal_arbord(a, sigs[i]);
                EXPECT_SEQ(a, "stop root/b signal=SIGTERM normal=true", "stop root/a signal=SIGTERM normal=true",
                           "shutdown root code=0");
                expect_exit(a, 0);
        }
}

Test(stop, sighup_usr1_usr2_change_nothing) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "ready root");
        signal_hup_usr1_usr2(a);
        /* nothing happened in between: a was neither stopped nor restarted */
        EXPECT_SIGTERM_SHUTDOWN(a, fmt("stop root/a pid=%d signal=SIGTERM normal=true", (int) pid_of(a, "root/a")));
        expect_exit(a, 0);
}

Test(start, an_invalid_configuration_starts_nothing_and_exits_2) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:b]\ncomand = /bin/true\n");
        size_t n;

        expect_exit(a, 2);
        arbord_events(a, &n);
        cr_assert_eq(n, 0, "events from an arbord whose configuration is invalid");
        cr_assert(arbord_log_contains(a, "arbor.ini:"), "the error does not name the file and line");
}

/* ---- failed starts ------------------------------------------------------------------------- */

Test(start, exec_failure_at_the_initial_start_ends_arbord_with_status_3) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:x]\ncommand = /nonexistent/x --flag\n"
                                                  "[service:c]\ncommand = " ON_CUE(0) "\n");
        const HarnessEvent *ev;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/x",
                   "exit root/x signal=null normal=false error~/nonexistent/x", "stop root/a signal=SIGTERM",
                   "shutdown root code=3");
        ev = last_event(a, "exit root/x");
        cr_assert_not_null(ev->error);
        cr_assert(strstr(ev->error, "/nonexistent/x") && strstr(ev->error, "No such file or directory"),
                  "exit event error: '%s'", ev->error);
        /* not mistaken for a program that exits with 127 */
        cr_assert_neq(ev->code, 127, "%s", ev->line);
        cr_assert(arbord_log_contains(a, "root/x"), "the failure is not logged with the service's path");
        expect_exit(a, 3);
        cr_assert_eq(arbord_count_events(a, "start root/c"), 0);
}

/*
 * A child whose exec failed still has to be reaped: arbord learns of the
 * failure from the report pipe, possibly before the child's SIGCHLD, and
 * must not end (handing the child to its own parent) before reaping it. The
 * window is small, so the scenario runs several times.
 */
Test(start, the_child_of_a_failed_exec_is_reaped_before_arbord_exits) {
        for (int i = 0; i < 20; i++) {
                _cleanup_arbord_ Arbord *a = start_argv((const char *const[]) { "/nonexistent/cmd", NULL });

                EXPECT_SEQ(a, "start root", "start root/main", "exit root/main normal=false error~/nonexistent/cmd",
                           "shutdown root code=3");
                expect_exit(a, 3);
        }
}

/*
 * Each failed attempt counts as a restart and is retried at once: with
 * intensity N, the crash and N-1 failed attempts fit, the Nth failed attempt
 * makes root give up. Many attempts on purpose: the exec report and the
 * SIGCHLD of a failed child arrive together, in either order, and every
 * attempt must still be told as the exec failure it is.
 */
#define EXEC_RETRIES 10

/* Scratch paths outside arbord's directory; .fini removes them even when an assertion ended the test. */
static char scratch_dir[] = "/tmp/arbor-exec.XXXXXX", scratch_prog[sizeof scratch_dir + 8];
static char scratch_script[] = "/tmp/arbord-wrap.XXXXXX";

static void remove_scratch(void) {
        if (scratch_prog[0])
                (void) unlink(scratch_prog);
        if (!strchr(scratch_dir, 'X'))
                (void) rmdir(scratch_dir);
        if (!strchr(scratch_script, 'X'))
                (void) unlink(scratch_script);
}

Test(start, exec_failure_during_a_restart_counts_and_is_retried_until_root_gives_up, .fini = remove_scratch) {
        _cleanup_arbord_ Arbord *a = NULL;
        const char *seq[3 * EXEC_RETRIES + 8], *prog = scratch_prog;
        size_t n = 0;
        pid_t p_pid;

        cr_assert_not_null(mkdtemp(scratch_dir));
        (void) snprintf(scratch_prog, sizeof scratch_prog, "%s/prog", scratch_dir);
        cr_assert_eq(symlink(TEST_BUILD_DIR "/tests/helpers/exit-after", prog), 0);
        a = start(fmt(HEADER "[supervisor:root]\nintensity = %d\nperiod = 60s\n"
                             "[service:a]\ncommand = " ON_CUE(0) "\n"
                             "[service:p]\ncommand = %s -p -t forever -c 1\n",
                      EXEC_RETRIES, prog));
        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/p", "ready root/p", "ready root");
        p_pid = wait_cue_ready(a, "root/p");
        /* the program vanishes: the next start of p cannot exec */
        cr_assert_eq(unlink(prog), 0);
        cr_assert_eq(kill(p_pid, SIGUSR1), 0);

        seq[n++] = "exit root/p code=1 normal=false";
        for (int i = 0; i < EXEC_RETRIES; i++) {
                seq[n++] = "restart root/p";
                seq[n++] = "start root/p";
                seq[n++] = fmt("exit root/p code=null signal=null normal=false error~%s", prog);
        }
        seq[n++] = "giveup root";
        seq[n++] = "stop root/a signal=SIGTERM normal=true";
        seq[n++] = "shutdown root code=4";
        seq[n] = NULL;
        cr_assert(arbord_expect_sequence(a, seq, -1), "%s", arbord_last_error(a));
        expect_exit(a, 4);
}

/* ---- restart intensity and escalation -------------------------------------------------------- */

Test(intensity, a_sub_supervisor_gives_up_then_the_root_restarts_it_then_gives_up) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 1\nperiod = 60s\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[supervisor:sub]\nintensity = 1\nperiod = 60s\n"
                                                  "[service:s1]\nparent = sub\ncommand = " ON_CUE(1) "\n"
                                                  "[service:s2]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                  "[service:c]\ncommand = " ON_CUE(0) "\n");
        pid_t c_pid;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",
                   "ready root/sub/s1", "start root/sub/s2", "ready root/sub/s2", "ready root/sub", "start root/c",
                   "ready root/c", "ready root");
        c_pid = pid_of(a, "root/c");

        for (int round = 1; round <= 2; round++) {
                /* the sub's first restart fits its intensity of 1 */
                cue(a, "root/sub/s1");
                EXPECT_SEQ(a, "exit root/sub/s1 code=1 normal=false", RESTARTED("root/sub/s1"));
                /* the second does not: sub gives up, stops s2 and exits with reason shutdown */
                cue(a, "root/sub/s1");
                EXPECT_SEQ(a, "exit root/sub/s1 code=1 normal=false", "giveup root/sub",
                           "stop root/sub/s2 signal=SIGTERM normal=true", "exit root/sub normal=true");
                if (round == 1)
                        /* sub is permanent: root restarts it (one_for_one: c untouched) */
                        EXPECT_SEQ(a, "restart root/sub", "start root/sub", "start root/sub/s1", "ready root/sub/s1",
                                   "start root/sub/s2", "ready root/sub/s2", "ready root/sub");
        }
        /* the root's second restart passes its intensity of 1 */
        EXPECT_SEQ(a, "giveup root", fmt("stop root/c pid=%d signal=SIGTERM", (int) c_pid), "stop root/a",
                   "shutdown root code=4");
        expect_exit(a, 4);
}

Test(intensity, a_transient_sub_supervisor_that_gave_up_stays_down) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nintensity = 0\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[supervisor:sub]\nrestart = transient\nintensity = 0\n"
                                                  "[service:s1]\nparent = sub\ncommand = " ON_CUE(1) "\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",
                   "ready root/sub/s1", "ready root/sub", "ready root");
        cue(a, "root/sub/s1");
        /* a give-up is a normal exit (reason shutdown): a transient supervisor is not restarted, root does
         * not count it (intensity 0 would make it give up) */
        EXPECT_SEQ(a, "exit root/sub/s1 code=1 normal=false", "giveup root/sub", "exit root/sub normal=true");
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/a");
        expect_exit(a, 0);
}

/* ---- auto_shutdown and arbord's exit status -------------------------------------------------- */

static void run_command(const char *const *argv, const char *exit_pattern, int status) {
        _cleanup_arbord_ Arbord *a = start_argv(argv);

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root", exit_pattern,
                   fmt("shutdown root code=%d", status));
        expect_exit(a, status);
}

Test(auto_shutdown, command_exit_code_is_arbords_status) {
        run_command((const char *const[]) { "/bin/sh", "-c", "exit 7", NULL }, "exit root/main code=7 normal=false",
                    7);
}

Test(auto_shutdown, command_exit_0_is_status_0) {
        run_command((const char *const[]) { "/bin/true", NULL }, "exit root/main code=0 normal=true", 0);
}

Test(auto_shutdown, command_killed_by_sigkill_is_status_137) {
        run_command((const char *const[]) { "/bin/sh", "-c", "kill -KILL $$", NULL },
                    "exit root/main code=null signal=SIGKILL normal=false", 137);
}

Test(auto_shutdown, command_not_found_is_a_failed_start) {
        _cleanup_arbord_ Arbord *a = start_argv((const char *const[]) { "/nonexistent/cmd", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "exit root/main normal=false error~/nonexistent/cmd",
                   "shutdown root code=3");
        expect_exit(a, 3);
}

Test(auto_shutdown, sigterm_stops_the_command_and_arbord_exits_0) {
        _cleanup_arbord_ Arbord *a = start_argv((const char *const[]) { EXIT_AFTER, "-t", "forever", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root");
        /* stopped, not exited by itself: no auto_shutdown, a requested shutdown */
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/main signal=SIGTERM normal=true");
        expect_exit(a, 0);
}

Test(auto_shutdown, significant_temporary_child_ends_a_bigger_tree_with_its_status) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nauto_shutdown = any_significant\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[supervisor:sub]\n"
                                                  "[service:s1]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                  "[service:main]\nrestart = temporary\nsignificant = yes\n"
                                                  "command = " ON_CUE(5) "\n"
                                                  "[service:c]\ncommand = " ON_CUE(0) "\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",
                   "ready root/sub/s1", "ready root/sub", "start root/main", "ready root/main", "start root/c",
                   "ready root/c", "ready root");
        cue(a, "root/main");
        EXPECT_SEQ(a, "exit root/main code=5 normal=false", "stop root/c signal=SIGTERM normal=true",
                   "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=5");
        expect_exit(a, 5);
        cr_assert_eq(arbord_count_events(a, "giveup"), 0);
}

Test(auto_shutdown, significant_child_killed_by_a_signal_gives_128_plus_n) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nauto_shutdown = any_significant\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:main]\nrestart = temporary\nsignificant = yes\n"
                                                  "command = " EXIT_AFTER " -p -t forever -s SIGSEGV\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/main", "ready root/main",
                   "ready root");
        cue(a, "root/main");
        EXPECT_SEQ(a, "exit root/main signal=SIGSEGV normal=false", "stop root/a", "shutdown root code=139");
        expect_exit(a, 128 + SIGSEGV);
}

Test(auto_shutdown, all_significant_waits_for_the_last_significant_child) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nauto_shutdown = all_significant\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:t1]\nrestart = transient\nsignificant = yes\n"
                                                  "command = " ON_CUE(0) "\n"
                                                  "[service:t2]\nrestart = transient\nsignificant = yes\n"
                                                  "success_exit_codes = 6\ncommand = " ON_CUE(6) "\n");

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/t1", "ready root/t1", "start root/t2",
                   "ready root/t2", "ready root");
        cue(a, "root/t1");
        /* t2 still runs: nothing else happens (the next event is t2's exit) */
        EXPECT_SEQ(a, "exit root/t1 code=0 normal=true");
        cue(a, "root/t2");
        EXPECT_SEQ(a, "exit root/t2 code=6 normal=true", "stop root/a signal=SIGTERM normal=true",
                   "shutdown root code=6");
        expect_exit(a, 6);
}

Test(auto_shutdown, a_significant_transient_child_that_crashes_is_restarted_not_ending_the_tree) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[supervisor:root]\nauto_shutdown = any_significant\nintensity = 2\n"
                                                  "[service:main]\nrestart = transient\nsignificant = yes\n"
                                                  "command = " ON_CUE(1) "\n");

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root");
        cue(a, "root/main");
        EXPECT_SEQ(a, "exit root/main code=1 normal=false", RESTARTED("root/main"));
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/main");
        expect_exit(a, 0);
}

/* ---- the foreground command: `arbord -- COMMAND` on a terminal, as under tini ---------------- */

Test(foreground, the_command_reads_arbords_stdin) {
        _cleanup_arbord_ Arbord *a = start_opts(&(ArbordOptions) {
                .command = (const char *const[]) { "/bin/sh", "-c", "read x; echo \"got:$x\"", NULL },
                .stdin_text = "hello\n",
        });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main code=0 normal=true", "shutdown root code=0");
        cr_assert(arbord_wait_stdout(a, "got:hello\n", -1), "%s", arbord_last_error(a));
        expect_exit(a, 0);
}

/*
 * Makes this test's arbord a script: `exec ARBORD "$@" REDIRECTIONS` after
 * the shell lines PREAMBLE (the arbord the harness would run: a valgrind
 * wrapper's too). .fini = remove_scratch removes it.
 */
static void wrap_arbord(const char *preamble, const char *redirections) {
        const char *arbord = getenv("ARBOR_TEST_ARBORD") && *getenv("ARBOR_TEST_ARBORD") ? getenv("ARBOR_TEST_ARBORD")
                                                                                         : HARNESS_ARBORD;
        int fd = mkstemp(scratch_script);
        FILE *f;

        cr_assert_geq(fd, 0);
        f = fdopen(fd, "w");
        cr_assert_not_null(f);
        fprintf(f, "#!/bin/sh\n%sexec %s \"$@\" %s\n", preamble, arbord, redirections);
        cr_assert_eq(fchmod(fd, 0755), 0);
        cr_assert_eq(fclose(f), 0);
        cr_assert_eq(setenv("ARBOR_TEST_ARBORD", scratch_script, 1), 0); /* this test's process only */
}

/*
 * Started without a stdin, arbord's own first fd takes number 0: the
 * command must get /dev/null, not that fd.
 */
Test(foreground, without_a_stdin_of_arbords_the_command_gets_dev_null, .fini = remove_scratch) {
        _cleanup_arbord_ Arbord *a = NULL;

        wrap_arbord("", "<&-");
        a = start_argv((const char *const[]) { "/usr/bin/readlink", "/proc/self/fd/0", NULL });
        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main code=0 normal=true", "shutdown root code=0");
        cr_assert(arbord_wait_stdout(a, "/dev/null\n", -1), "%s", arbord_last_error(a));
        expect_exit(a, 0);
}

Test(foreground, on_a_terminal_the_command_is_its_foreground_group_in_arbords_session) {
        _cleanup_arbord_ Arbord *a = start_opts(&(ArbordOptions) {
                /* exec: the stat is that of root/main's process itself; exit code 1: stdin is no terminal */
                .command = (const char *const[]) { "/bin/sh", "-c", "test -t 0 && exec cat /proc/self/stat", NULL },
                .flags = ARBORD_PTY,
        });
        _cleanup_free_ char *out = NULL;
        int pid, ppid, pgrp, session, tty_nr, tpgid;
        const char *fields;
        pid_t main_pid;

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main code=0 normal=true", "shutdown root code=0");
        expect_exit(a, 0);
        main_pid = pid_of(a, "root/main");
        out = arbord_stdout(a);
        cr_assert_not_null(out);
        fields = strrchr(out, ')');
        cr_assert_not_null(fields, "stdin is no terminal, or no stat: '%s'", out);
        cr_assert_eq(sscanf(fields + 1, " %*c %d %d %d %d %d", &ppid, &pgrp, &session, &tty_nr, &tpgid), 5, "%s",
                     out);
        cr_assert_eq(sscanf(out, "%d", &pid), 1, "%s", out);
        cr_expect_eq(pid, main_pid);
        cr_expect_eq(ppid, arbord_pid(a));
        cr_expect_eq(pgrp, main_pid, "not its own process group: %s", out);
        cr_expect_eq(tpgid, main_pid, "not the terminal's foreground group: %s", out);
        cr_expect_neq(tty_nr, 0, "no controlling terminal: %s", out);
        /* ARBORD_PTY makes arbord a session leader: its session is its pid */
        cr_expect_eq(session, arbord_pid(a), "not in arbord's session: %s", out);
}

/*
 * ^C on the terminal: the kernel sends SIGINT to the foreground group, the
 * command, which dies of it and so ends arbord with 130. Had arbord kept the
 * terminal, it would have had the SIGINT and stopped the command (a stop
 * event, status 0).
 */
Test(foreground, ctrl_c_on_the_terminal_reaches_the_command_not_arbord) {
        _cleanup_arbord_ Arbord *a = start_opts(&(ArbordOptions) {
                .command = (const char *const[]) { EXIT_AFTER, "-p", "-t", "forever", NULL },
                .flags = ARBORD_PTY,
        });
        pid_t pid, foreground;

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root");
        /* it runs, so it took the terminal (before exec) */
        pid = wait_cue_ready(a, "root/main");
        foreground = tcgetpgrp(arbord_pty(a));
        cr_assert_eq(foreground, pid, "the terminal's foreground group: %d (%s)", (int) foreground, strerror(errno));
        cr_assert_eq(write(arbord_pty(a), "\003", 1), 1, "write: %s", strerror(errno));
        EXPECT_SEQ(a, fmt("exit root/main pid=%d code=null signal=SIGINT normal=false", (int) pid),
                   "shutdown root code=130");
        expect_exit(a, 128 + SIGINT);
}

/* The signals a process ignores, from /proc/PID/status. */
static unsigned long long ignored_signals(pid_t pid) {
        _cleanup_free_ char *status = read_whole_file(fmt("/proc/%d/status", (int) pid), NULL);
        unsigned long long mask;
        const char *line;

        cr_assert_not_null(status, "/proc/%d/status: %s", (int) pid, strerror(errno));
        line = strstr(status, "\nSigIgn:");
        cr_assert_not_null(line, "%s", status);
        cr_assert_eq(sscanf(line, "\nSigIgn: %llx", &mask), 1, "%s", status);
        return mask;
}

/*
 * Once the command has the terminal, arbord is in the background there: with
 * `stty tostop` its next log line to the terminal would stop it with SIGTTOU,
 * unless it ignores that (and SIGTTIN) as tini does. Its command still gets
 * every disposition at its default.
 */
Test(foreground, arbord_ignores_sigttou_and_sigttin) {
        _cleanup_arbord_ Arbord *a = start_argv((const char *const[]) { EXIT_AFTER, "-p", "-t", "forever", NULL });
        unsigned long long ignored;

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root");
        ignored = ignored_signals(arbord_pid(a));
        cr_expect(ignored & (1ULL << (SIGTTOU - 1)), "SIGTTOU not ignored: %llx", ignored);
        cr_expect(ignored & (1ULL << (SIGTTIN - 1)), "SIGTTIN not ignored: %llx", ignored);
        cr_expect_eq(ignored_signals(wait_cue_ready(a, "root/main")), 0);
        cue(a, "root/main");
        EXPECT_SEQ(a, "exit root/main code=0 normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

/* ---- readiness ------------------------------------------------------------------------------- */

Test(ready, notify_service_is_ready_only_after_ready_1) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:n]\nready = notify\ncommand = " NOTIFY_READY " -d 200\n"
                                                  "[service:m]\nready = notify\ncommand = " NOTIFY_READY
                                                  " -M 'STATUS=warming up\\nREADY=1'\n"
                                                  "[service:after]\ncommand = " ON_CUE(0) "\n");
        const HarnessEvent *started, *ready;

        EXPECT_SEQ(a, "start root", "start root/n", "ready root/n", "start root/m", "ready root/m", "start root/after",
                   "ready root/after", "ready root");
        started = last_event(a, "start root/n");
        ready = last_event(a, "ready root/n");
        cr_assert_geq(ready->ts, started->ts + 200, "ready %lld ms after start: before READY=1",
                      ready->ts - started->ts);

        /* notify-ready exits 0 on SIGTERM */
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/after", "stop root/m code=0 normal=true",
                                "stop root/n code=0 normal=true");
        expect_exit(a, 0);
}

Test(ready, readiness_timeout_is_a_failed_start) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:n]\nready = notify\nready_timeout = 300ms\n"
                                                  "command = " NOTIFY_READY " -n\n"
                                                  "[service:c]\ncommand = " ON_CUE(0) "\n");
        const HarnessEvent *started, *failed;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/n", "exit root/n normal=false error~300ms",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=3");
        started = last_event(a, "start root/n");
        failed = last_event(a, "exit root/n");
        cr_assert_geq(failed->ts, started->ts + 300);
        expect_exit(a, 3);
        cr_assert_eq(arbord_count_events(a, "start root/c"), 0);
        cr_assert_eq(arbord_count_events(a, "ready root/n"), 0);
}

Test(ready, exit_before_ready_is_a_failed_start) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:n]\nready = notify\ncommand = " EXIT_AFTER " -c 0\n");

        EXPECT_SEQ(a, "start root", "start root/n", "exit root/n code=0 normal=false error~ready", "shutdown root code=3");
        expect_exit(a, 3);
}

/* ---- what a service inherits ----------------------------------------------------------------- */

/* A service that reports what it inherited (fds, signal mask and dispositions, session) to @TMP@/report. */
#define PROBE "[service:probe]\ncommand = @HELPERS@/list-fds -o @TMP@/report -w\n"

/* PROBE's report: waits for it. malloc'd. */
static char *probe_report(Arbord *a) {
        _cleanup_free_ char *path = arbord_tmpfile(a, "report");
        char *report;

        cr_assert_not_null(path);
        cr_assert(wait_for_file(path, -1));
        report = read_whole_file(path, NULL);
        cr_assert_not_null(report);
        return report;
}

Test(hygiene, fds_signal_mask_dispositions_and_session) {
        /* notify socket, control socket, pidfds and report pipes of earlier services all exist meanwhile */
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:n]\nready = notify\ncommand = " NOTIFY_READY "\n"
                                                  "[service:a]\ncommand = " ON_CUE(0) "\n" PROBE);
        _cleanup_free_ char *report = NULL;

        cr_assert(arbord_wait_event(a, "start", "root/probe", -1, NULL), "%s", arbord_last_error(a));
        report = probe_report(a);
        cr_expect(strstr(report, "fds: 0 1 2\n"), "leaked fds:\n%s", report);
        cr_expect(strstr(report, "sigblk: 0000000000000000\n"), "blocked signals:\n%s", report);
        cr_expect(strstr(report, "sigign: 0000000000000000\n"), "ignored signals:\n%s", report);
        cr_expect(strstr(report, "session-leader: yes\n"), "not its own session:\n%s", report);
        cr_expect(strstr(report, "pgrp-leader: yes\n"), "not its own process group:\n%s", report);
        cr_expect_neq(getsid(pid_of(a, "root/probe")), getsid(0));
}

/*
 * A shell's background job starts with SIGINT and SIGQUIT ignored, and
 * SIG_IGN survives exec: arbord started that way must not hand it on.
 */
Test(hygiene, dispositions_arbord_inherited_are_not_passed_on, .fini = remove_scratch) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *report = NULL;

        wrap_arbord("trap '' INT QUIT PIPE USR2 TTOU XFSZ\n", "");
        a = start(HEADER PROBE);
        report = probe_report(a);
        cr_expect(strstr(report, "sigign: 0000000000000000\n"), "ignored signals passed on:\n%s", report);
        cr_expect(strstr(report, "sigblk: 0000000000000000\n"), "blocked signals passed on:\n%s", report);
        /* and arbord still takes SIGINT as a stop request, ignored or not */
        signal_arbord(a, SIGINT);
        EXPECT_SEQ(a, "start root", "start root/probe", "ready root/probe", "ready root",
                   "stop root/probe signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(hygiene, stdin_is_dev_null_and_environment_and_working_directory_apply) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:stdin]\nrestart = temporary\n"
                                                  "command = /usr/bin/readlink /proc/self/fd/0\n"
                                                  "[service:env]\nrestart = temporary\nenvironment = FOO=bar HOME=/x\n"
                                                  "working_directory = /proc\n"
                                                  "command = /bin/sh -c 'echo \"env: FOO=$FOO HOME=$HOME "
                                                  "PWD=$(pwd)\"'\n"
                                                  "[service:keep]\ncommand = " ON_CUE(0) "\n");

        /* the temporary ones may exit before or after the next one starts: count, not sequence */
        cr_assert(arbord_wait_count(a, "exit root/stdin code=0 normal=true", 1, -1), "%s", arbord_last_error(a));
        cr_assert(arbord_wait_count(a, "exit root/env code=0 normal=true", 1, -1), "%s", arbord_last_error(a));
        cr_assert(arbord_wait_count(a, "ready root", 1, -1), "%s", arbord_last_error(a));
        cr_assert(arbord_wait_stdout(a, "/dev/null\n", -1), "%s", arbord_last_error(a));
        cr_assert(arbord_wait_stdout(a, "env: FOO=bar HOME=/x PWD=/proc\n", -1), "%s", arbord_last_error(a));
        signal_arbord(a, SIGTERM);
        cr_assert(arbord_wait_match(a, "stop root/keep signal=SIGTERM normal=true", -1, NULL), "%s",
                  arbord_last_error(a));
        EXPECT_SEQ(a, "shutdown root code=0");
        expect_exit(a, 0);
}

/* What systemd hands arbord (NOTIFY_SOCKET, LISTEN_*) is arbord's, never a service's. */
Test(hygiene, arbords_own_manager_variables_are_not_passed_on) {
        _cleanup_arbord_ Arbord *a = start_opts(&(ArbordOptions) {
                .command = (const char *const[]) { "/bin/sh", "-c",
                                                   "echo \"vars:${NOTIFY_SOCKET-}:${LISTEN_FDS-}:${LISTEN_PID-}:${KEPT-}\"",
                                                   NULL },
                .env = (const char *const[]) { "NOTIFY_SOCKET=/nonexistent/notify", "LISTEN_FDS=3", "LISTEN_PID=1",
                                               "KEPT=yes", NULL },
        });

        cr_assert(arbord_wait_stdout(a, "vars::::yes\n", -1), "%s", arbord_last_error(a));
        expect_exit(a, 0);
}

/* Whether a process is gone or a zombie (dead either way), by pid. */
static bool proc_dead(pid_t pid) {
        char path[64], buf[512], *p, state;
        _cleanup_free_ char *text = NULL;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        text = read_whole_file(path, NULL);
        if (!text)
                return true;
        (void) snprintf(buf, sizeof buf, "%s", text);
        p = strrchr(buf, ')');
        return p && sscanf(p + 1, " %c", &state) == 1 && state == 'Z';
}

static bool proc_gone(pid_t pid) {
        char path[64];

        (void) snprintf(path, sizeof path, "/proc/%d", (int) pid);
        return access(path, F_OK) < 0;
}

static pid_t proc_ppid(pid_t pid) {
        char path[64], *p, state;
        _cleanup_free_ char *text = NULL;
        int ppid;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        text = read_whole_file(path, NULL);
        if (!text)
                return -1;
        p = strrchr(text, ')');
        if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
                return -1;
        return ppid;
}

static bool cond_dead(void *userdata) {
        return proc_dead(*(pid_t *) userdata);
}

static bool cond_gone(void *userdata) {
        return proc_gone(*(pid_t *) userdata);
}

/* The first child of parent listed in /proc/PID/task/PID/children; 0 if none. */
static pid_t first_child(pid_t parent) {
        _cleanup_free_ char *text = children_text(parent);

        return text ? (pid_t) atoi(text) : 0;
}

Test(hygiene, stopping_a_service_signals_its_whole_process_group) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:wrapper]\ncommand = /bin/sh -c '" EXIT_AFTER
                                                  " -t forever & exec " EXIT_AFTER " -p -t forever'\n");
        pid_t main_pid, bg;

        EXPECT_SEQ(a, "start root", "start root/wrapper", "ready root/wrapper", "ready root");
        /* once it printed its pid, the shell had forked the background job before exec */
        main_pid = wait_cue_ready(a, "root/wrapper");
        bg = first_child(main_pid);
        cr_assert_gt(bg, 0, "no background process under %d", (int) main_pid);
        cr_assert_eq(getpgid(bg), main_pid);

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/wrapper signal=SIGTERM normal=true");
        cr_assert(arbord_wait_until(a, cond_dead, &bg, -1), "the background job %d survived the stop", (int) bg);
}

Test(hygiene, a_double_forked_grandchild_is_reparented_to_arbord_and_reaped) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:keep]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:daemon]\nrestart = transient\n"
                                                  "command = @HELPERS@/double-fork -t forever\n");
        _cleanup_free_ char *out = NULL;
        const char *line;
        pid_t gc;

        EXPECT_SEQ(a, "start root", "start root/keep", "ready root/keep", "start root/daemon", "ready root/daemon",
                   "ready root", "exit root/daemon code=0 normal=true");
        cr_assert(arbord_wait_stdout(a, "grandchild ", -1), "%s", arbord_last_error(a));
        out = arbord_stdout(a);
        line = strstr(out, "grandchild ");
        cr_assert_not_null(line);
        gc = (pid_t) atoi(line + strlen("grandchild "));
        cr_assert_gt(gc, 1);

        /* its parent exited before the line was printed: arbord, the subreaper, has it now */
        cr_assert_eq(proc_ppid(gc), arbord_pid(a), "grandchild %d has parent %d, not arbord %d", (int) gc,
                     (int) proc_ppid(gc), (int) arbord_pid(a));
        cr_assert_eq(kill(gc, SIGKILL), 0);
        /* a zombie keeps its /proc entry: gone means arbord reaped it */
        cr_assert(arbord_wait_until(a, cond_gone, &gc, -1), "arbord did not reap grandchild %d", (int) gc);
        cr_assert_eq(count_zombies(arbord_pid(a)), 0);

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/keep");
        expect_exit(a, 0);
}

/* ---- arbord's own log ------------------------------------------------------------------------ */

static bool has_1000_lines(void *userdata) {
        _cleanup_free_ char *text = read_whole_file(userdata, NULL);
        size_t n = 0;

        for (const char *p = text; p && (p = strchr(p, '\n')); p++)
                n++;
        return n >= 1000;
}

/* STYLE G9: logging goes through a bounded buffer that drops and counts; it never blocks the loop. */
Test(log, a_stalled_reader_of_stderr_never_stops_the_supervision) {
        /* each start of loop appends a line to @TMP@/starts, then it crashes: three events per restart */
        _cleanup_arbord_ Arbord *a = start_opts(&(ArbordOptions) {
                .ini = HEADER "[supervisor:root]\nintensity = 1000000\nperiod = 1s\n"
                              "[service:loop]\ncommand = /bin/sh -c 'echo >> @TMP@/starts; exit 1'\n",
                .flags = ARBORD_SMALL_STDERR,
        });
        _cleanup_free_ char *starts = arbord_tmpfile(a, "starts");

        cr_assert_not_null(starts);
        /* nobody reads arbord's stderr meanwhile: a page of pipe and the 64 KiB buffer fill within ~250 restarts */
        cr_assert(harness_retry(has_1000_lines, starts, -1), "arbord stopped restarting while its stderr was full");
        /* reading again: what was buffered comes out, then how much was dropped */
        cr_assert(arbord_wait_log(a, "log lines were dropped: stderr was not read fast enough", -1), "%s",
                  arbord_last_error(a));
        signal_arbord(a, SIGTERM);
        expect_exit(a, 0);
}

Test(hygiene, orphans_left_by_a_service_are_all_reaped_by_the_subreaper) {
        _cleanup_arbord_ Arbord *a = start(HEADER "[service:keep]\ncommand = " ON_CUE(0) "\n"
                                                  "[service:orphans]\nrestart = transient\n"
                                                  "command = @HELPERS@/fork-orphans 2000\n");

        EXPECT_SEQ(a, "start root", "start root/keep", "ready root/keep", "start root/orphans", "ready root/orphans",
                   "ready root", "exit root/orphans code=0 normal=true");
        cr_assert(arbord_wait_stdout(a, "forked 2000\n", -1), "%s", arbord_last_error(a));
        expect_children(a, 1); /* keep */
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/keep");
        expect_exit(a, 0);
}
