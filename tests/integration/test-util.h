/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the integration tests (test-*.c in tests/integration/) share on top
 * of the harness: INI snippets for the helper programs, and assertions.
 *
 * Everything here is for use inside a criterion test: a function that cannot
 * do what it says fails the running test (cr_assert), it never returns an
 * error. Each test runs in its own process, so what a function hands out
 * (fmt()'s strings) may live until the test ends.
 */

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

/* Every INI starts with this: a control socket of the test's own. */
#define HEADER "[arbor]\ncontrol = @TMP@/arbor.sock\n"
#define EXIT_AFTER "@HELPERS@/exit-after"
/* A service that runs until SIGUSR1 (then exits with CODE) and says when it can take it: see cue(). */
#define ON_CUE(code) EXIT_AFTER " -p -t forever -c " #code

/*
 * Asserts that the next events are exactly these patterns, in order
 * (arbord_expect_sequence(), harness_event_matches()). A macro, so that a
 * failure names the test's line.
 */
#define EXPECT_SEQ(a, ...)                                                                                   \
        cr_assert(arbord_expect_sequence((a), (const char *const[]) { __VA_ARGS__, NULL }, -1), "%s",         \
                  arbord_last_error(a))

/*
 * Sends arbord SIGTERM and asserts that the next events are exactly these
 * patterns (the stops), then "shutdown root code=0".
 */
#define EXPECT_SIGTERM_SHUTDOWN(a, ...)                                                                      \
        do {                                                                                                 \
                signal_arbord((a), SIGTERM);                                                                 \
                EXPECT_SEQ((a), __VA_ARGS__, "shutdown root code=0");                                        \
        } while (0)

/* The three events of a restart of PATH (a string literal), as patterns for EXPECT_SEQ(). */
#define RESTARTED(path) "restart " path, "start " path, "ready " path

/* A formatted string that lives until the test ends (the last 32 of them do). */
__attribute__((format(printf, 1, 2))) const char *fmt(const char *f, ...);

/* CLOCK_MONOTONIC in ms, the clock of the events' ts. */
long long now_ms(void);

/* arbord_start_opts(), arbord_start(ini, NULL), arbord_start_argv(), which must work. */
Arbord *start_opts(const ArbordOptions *opts);
Arbord *start(const char *ini);
Arbord *start_argv(const char *const *argv);

/* arbord_signal(), which must work (arbord still runs). */
void signal_arbord(Arbord *a, int sig);

/* Sends arbord SIGHUP, SIGUSR1 and SIGUSR2 (no stop meaning), each once the one before was logged. */
void signal_hup_usr1_usr2(Arbord *a);

/* The last event read so far that matches pattern; fails the test if none. */
const HarnessEvent *last_event(Arbord *a, const char *pattern);

/* The pid of the service's current process: that of its last start event (in a pid namespace, the namespace's). */
pid_t pid_of(Arbord *a, const char *path);

/*
 * For a service running `exit-after -p` (ON_CUE()): waits until it printed
 * "pid N", which it does once SIGUSR1 is blocked for its wait; from then on
 * SIGUSR1 makes it end as its options say. Returns N, pid_of(path).
 */
pid_t wait_cue_ready(Arbord *a, const char *path);

/* Makes such a service end now: wait_cue_ready(), then SIGUSR1. */
void cue(Arbord *a, const char *path);

/* Waits for arbord to exit with status: its exit code, or 128+N when signal N ended it. */
void expect_status(Arbord *a, int status);

/*
 * expect_status(), and arbord reaped everything it started before it exited:
 * whatever it left would have come back to the test (a child subreaper).
 * Not for arbord in a pid namespace or a container, whose processes die with it.
 */
void expect_exit(Arbord *a, int status);

/* Waits until arbord has exactly n children, none of them a zombie. */
void expect_children(Arbord *a, int n);

/* /proc/PARENT/task/PARENT/children: the pids of its children, separated by spaces. malloc'd; NULL if unreadable. */
char *children_text(pid_t parent);
