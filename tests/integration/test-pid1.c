/* SPDX-License-Identifier: MIT */
/*
 * arbord as PID 1 of a new pid namespace (the harness's ARBORD_PIDNS, as
 * `unshare --pid --fork --mount-proc`): orphans are reaped, SIGTERM stops
 * the tree in order, stragglers are ended before arbord exits, and the exit
 * status is propagated.
 *
 * Pids in events are the namespace's; arbord_pid() is arbord's pid as the
 * test sees it, so its children are counted from outside through our /proc
 * (count_children(), count_zombies()).
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "macro.h"

#define HEADER "[arbor]\ncontrol = @TMP@/arbor.sock\n"
#define EXIT_AFTER "@HELPERS@/exit-after"
#define ON_CUE(code) EXIT_AFTER " -p -t forever -c " #code

#define EXPECT_SEQ(a, ...)                                                                                   \
        cr_assert(arbord_expect_sequence((a), (const char *const[]) { __VA_ARGS__, NULL }, -1), "%s",         \
                  arbord_last_error(a))

__attribute__((format(printf, 1, 2))) static const char *fmt(const char *f, ...) {
        static char bufs[16][512];
        static unsigned next;
        char *b = bufs[next++ % 16];
        va_list ap;

        va_start(ap, f);
        (void) vsnprintf(b, sizeof bufs[0], f, ap);
        va_end(ap);
        return b;
}

static void require_pidns(void) {
        if (!harness_flags_supported(ARBORD_PIDNS))
                cr_skip_test("cannot create a pid namespace here (needs root or user namespaces)");
}

static Arbord *start_pid1(const char *ini, const char *const *command) {
        Arbord *a;

        require_pidns();
        a = arbord_start_opts(&(ArbordOptions) {
                .ini = ini,
                .command = command,
                .flags = ARBORD_PIDNS,
        });
        cr_assert_not_null(a, "arbord could not be started in a pid namespace");
        return a;
}

static void signal_arbord(Arbord *a, int sig) {
        int r = arbord_signal(a, sig);

        cr_assert_eq(r, 0, "arbord_signal: %s", strerror(-r));
}

static void expect_exit(Arbord *a, int status) {
        int st = -1;

        cr_assert(arbord_wait_exit(a, -1, &st), "%s", arbord_last_error(a));
        cr_assert_eq(st, status, "arbord exited with %d, expected %d", st, status);
}

static long long now_ms(void) {
        struct timespec ts;

        cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ts of the last event matching pattern. */
static long long last_ts(Arbord *a, const char *pattern) {
        size_t n;
        const HarnessEvent *evs = arbord_events(a, &n);

        for (size_t i = n; i > 0; i--)
                if (harness_event_matches(&evs[i - 1], pattern))
                        return evs[i - 1].ts;
        cr_assert_fail("no event '%s'", pattern);
        return -1;
}

/* The pid (in the namespace) of the service's last start event. */
static long long ns_pid_of(Arbord *a, const char *path) {
        size_t n;
        const HarnessEvent *evs = arbord_events(a, &n);

        for (size_t i = n; i > 0; i--)
                if (harness_event_matches(&evs[i - 1], fmt("start %s", path)))
                        return evs[i - 1].pid;
        cr_assert_fail("no start event for %s", path);
        return 0;
}

typedef struct Census {
        pid_t parent;
        int children, zombies; /* what is wanted */
} Census;

static bool cond_census(void *userdata) {
        const Census *c = userdata;

        return count_zombies(c->parent) == c->zombies && count_children(c->parent) == c->children;
}

Test(pid1, arbord_is_pid_1_of_the_namespace) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n", NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "ready root");
        /* the first process arbord forks in a fresh namespace */
        cr_assert_eq(ns_pid_of(a, "root/a"), 2, "root/a has pid %lld in the namespace, not 2", ns_pid_of(a, "root/a"));
        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/a pid=2 signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(pid1, an_orphan_storm_is_fully_reaped) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:keep]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:storm]\nrestart = transient\n"
                                                       "command = @HELPERS@/fork-orphans 10000\n",
                                                NULL);
        Census only_keep;

        EXPECT_SEQ(a, "start root", "start root/keep", "ready root/keep", "start root/storm", "ready root/storm",
                   "ready root");
        if (!arbord_expect_sequence(a, (const char *const[]) { "exit root/storm code=0 normal=true", NULL }, -1))
                /* 10000 zombies at once need as many pids: a machine busy with other forks may not have them */
                cr_assert_fail("%s%s", arbord_last_error(a),
                               arbord_log_contains(a, "fork-orphans: fork")
                                       ? "\nthe helper could not fork its 10000 children (pid_max reached by other "
                                         "processes?)"
                                       : "");
        cr_assert(arbord_wait_stdout(a, "forked 10000\n", -1), "%s", arbord_last_error(a));
        /*
         * Every orphan was forked before the storm exited and was handed to
         * PID 1 when it did: once only keep is left under arbord, all 10000
         * were reaped.
         */
        only_keep = (Census) { .parent = arbord_pid(a), .children = 1, .zombies = 0 };
        cr_assert(arbord_wait_until(a, cond_census, &only_keep, -1), "%d children, %d of them zombies, under arbord",
                  count_children(arbord_pid(a)), count_zombies(arbord_pid(a)));
        /* arbord took no orphan for a service, nor the other way round */
        cr_assert_eq(arbord_count_events(a, "exit root/keep"), 0);

        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/keep signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(pid1, orphans_of_a_running_service_are_reaped_while_it_runs) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:parent]\ncommand = @HELPERS@/fork-orphans -w 1000\n",
                                                NULL);
        Census only_parent;

        EXPECT_SEQ(a, "start root", "start root/parent", "ready root/parent", "ready root");
        cr_assert(arbord_wait_stdout(a, "forked 1000\n", -1), "%s", arbord_last_error(a));
        only_parent = (Census) { .parent = arbord_pid(a), .children = 1, .zombies = 0 };
        cr_assert(arbord_wait_until(a, cond_census, &only_parent, -1), "%d children, %d of them zombies, under arbord",
                  count_children(arbord_pid(a)), count_zombies(arbord_pid(a)));
        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/parent signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(pid1, sigterm_stops_the_tree_in_order_and_exits_0) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[supervisor:sub]\n"
                                                       "[service:s1]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                       "[service:s2]\nparent = sub\ncommand = " ON_CUE(0) "\n"
                                                       "[service:c]\nstop_signal = SIGINT\ncommand = " ON_CUE(0) "\n",
                                                NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",
                   "ready root/sub/s1", "start root/sub/s2", "ready root/sub/s2", "ready root/sub", "start root/c",
                   "ready root/c", "ready root");
        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/c signal=SIGINT normal=true", "stop root/sub/s2 signal=SIGTERM normal=true",
                   "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(pid1, signals_without_a_stop_meaning_do_not_end_pid_1) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n", NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "ready root");
        signal_arbord(a, SIGHUP);
        cr_assert(arbord_wait_log(a, "SIGHUP", -1), "%s", arbord_last_error(a));
        signal_arbord(a, SIGUSR1);
        cr_assert(arbord_wait_log(a, "SIGUSR1", -1), "%s", arbord_last_error(a));
        signal_arbord(a, SIGUSR2);
        cr_assert(arbord_wait_log(a, "SIGUSR2", -1), "%s", arbord_last_error(a));
        /* still there, still supervising: the next events are those of the shutdown */
        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        expect_exit(a, 0);
}

Test(pid1, stragglers_get_sigterm_once_the_tree_has_ended) {
        /* the daemon's grandchild is in no service's process group: only PID 1's sweep can end it */
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:daemon]\nrestart = transient\n"
                                                       "command = @HELPERS@/double-fork -t forever\n",
                                                NULL);
        Census a_and_grandchild;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/daemon", "ready root/daemon",
                   "ready root", "exit root/daemon code=0 normal=true");
        cr_assert(arbord_wait_stdout(a, "grandchild ", -1), "%s", arbord_last_error(a));
        /* the intermediate was reaped by the daemon: a and the grandchild are PID 1's children */
        a_and_grandchild = (Census) { .parent = arbord_pid(a), .children = 2, .zombies = 0 };
        cr_assert(arbord_wait_until(a, cond_census, &a_and_grandchild, -1), "%d children under arbord",
                  count_children(arbord_pid(a)));

        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        /* arbord exits only once the grandchild is gone: no hang (it would never exit by itself) */
        expect_exit(a, 0);
        cr_assert_not(arbord_log_contains(a, "grace period"), "SIGTERM was not enough for a default-action process");
}

Test(pid1, stragglers_ignoring_sigterm_get_sigkill_after_the_grace_period) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:spawner]\nrestart = transient\n"
                                                       "command = /bin/sh -c '@HELPERS@/ignore-term & exit 0'\n",
                                                NULL);
        long long shutdown;
        Census a_and_orphan;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/spawner", "ready root/spawner",
                   "ready root", "exit root/spawner code=0 normal=true");
        /* SIGTERM and SIGINT are ignored from "ready" on */
        cr_assert(arbord_wait_stdout(a, "ready\n", -1), "%s", arbord_last_error(a));
        a_and_orphan = (Census) { .parent = arbord_pid(a), .children = 2, .zombies = 0 };
        cr_assert(arbord_wait_until(a, cond_census, &a_and_orphan, -1), "%d children under arbord",
                  count_children(arbord_pid(a)));

        signal_arbord(a, SIGTERM);
        EXPECT_SEQ(a, "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        /* 5 s of grace (arbord(8)), then SIGKILL; the deadline leaves room for them */
        cr_assert(arbord_wait_log(a, "grace period", HARNESS_TIMEOUT_MS + 5000), "%s", arbord_last_error(a));
        expect_exit(a, 0);
        shutdown = last_ts(a, "shutdown root");
        cr_assert_geq(now_ms() - shutdown, 5000, "arbord exited %lld ms after the tree ended: no grace period",
                      now_ms() - shutdown);
}

Test(pid1, a_significant_childs_exit_status_becomes_arbords) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[supervisor:root]\nauto_shutdown = any_significant\n"
                                                       "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:main]\nrestart = temporary\nsignificant = yes\n"
                                                       "command = " EXIT_AFTER " -p -t forever -c 5\n"
                                                       "[service:c]\ncommand = " ON_CUE(0) "\n",
                                                NULL);
        long long pid;
        _cleanup_free_ char *out = NULL;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/main", "ready root/main",
                   "start root/c", "ready root/c", "ready root");
        /* pids on stdout are the namespace's too: the helper prints its own getpid() */
        pid = ns_pid_of(a, "root/main");
        cr_assert(arbord_wait_stdout(a, fmt("pid %lld\n", pid), -1), "%s", arbord_last_error(a));
        /* SIGUSR1 from outside: find main's outside pid, a child of arbord in its own session */
        {
                _cleanup_free_ char *children =
                        read_whole_file(fmt("/proc/%d/task/%d/children", (int) arbord_pid(a), (int) arbord_pid(a)),
                                        NULL);
                pid_t outside = 0;

                cr_assert_not_null(children);
                for (char *tok = strtok(children, " \n"); tok && !outside; tok = strtok(NULL, " \n")) {
                        _cleanup_free_ char *status = read_whole_file(fmt("/proc/%s/status", tok), NULL);
                        const char *nspid = status ? strstr(status, "NSpid:") : NULL;
                        long long outer, inner;

                        if (nspid && sscanf(nspid, "NSpid: %lld %lld", &outer, &inner) == 2 && inner == pid)
                                outside = (pid_t) outer;
                }
                cr_assert_gt(outside, 0, "no child of arbord has pid %lld in the namespace", pid);
                cr_assert_eq(kill(outside, SIGUSR1), 0);
        }
        EXPECT_SEQ(a, "exit root/main code=5 normal=false", "stop root/c signal=SIGTERM normal=true",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=5");
        expect_exit(a, 5);
}

Test(pid1, command_exit_status_becomes_arbords) {
        _cleanup_arbord_ Arbord *a = start_pid1(NULL, (const char *const[]) { "/bin/sh", "-c", "exit 7", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root", "exit root/main code=7",
                   "shutdown root code=7");
        expect_exit(a, 7);
}

Test(pid1, command_killed_by_a_signal_gives_128_plus_n) {
        _cleanup_arbord_ Arbord *a = start_pid1(NULL, (const char *const[]) { "/bin/sh", "-c", "kill -KILL $$", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main signal=SIGKILL normal=false", "shutdown root code=137");
        expect_exit(a, 137);
}

Test(pid1, exec_failure_at_the_initial_start_is_status_3) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:x]\ncommand = /nonexistent/x\n",
                                                NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/x",
                   "exit root/x normal=false error~/nonexistent/x", "stop root/a signal=SIGTERM normal=true",
                   "shutdown root code=3");
        expect_exit(a, 3);
}
