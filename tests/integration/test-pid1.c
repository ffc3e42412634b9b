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
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "macro.h"
#include "test-util.h"

static Arbord *start_pid1(const char *ini, const char *const *command) {
        if (!harness_flags_supported(ARBORD_PIDNS))
                cr_skip_test("cannot create a pid namespace here (needs root or user namespaces)");
        return start_opts(&(ArbordOptions) {
                .ini = ini,
                .command = command,
                .flags = ARBORD_PIDNS,
        });
}

/* The pid as the test sees it of arbord's child whose pid in the namespace is ns_pid. */
static pid_t outside_pid(Arbord *a, pid_t ns_pid) {
        _cleanup_free_ char *children = children_text(arbord_pid(a));
        pid_t outside = 0;

        cr_assert_not_null(children);
        for (char *tok = strtok(children, " \n"); tok && !outside; tok = strtok(NULL, " \n")) {
                _cleanup_free_ char *status = read_whole_file(fmt("/proc/%s/status", tok), NULL);
                const char *nspid = status ? strstr(status, "NSpid:") : NULL;
                long long outer, inner;

                if (nspid && sscanf(nspid, "NSpid: %lld %lld", &outer, &inner) == 2 && inner == ns_pid)
                        outside = (pid_t) outer;
        }
        cr_assert_gt(outside, 0, "no child of arbord has pid %d in the namespace", (int) ns_pid);
        return outside;
}

Test(pid1, arbord_is_pid_1_of_the_namespace) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n", NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "ready root");
        /* the first process arbord forks in a fresh namespace */
        cr_assert_eq(pid_of(a, "root/a"), 2, "root/a has pid %d in the namespace, not 2", (int) pid_of(a, "root/a"));
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/a pid=2 signal=SIGTERM normal=true");
        expect_status(a, 0);
}

Test(pid1, an_orphan_storm_is_fully_reaped) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:keep]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:storm]\nrestart = transient\n"
                                                       "command = @HELPERS@/fork-orphans 10000\n",
                                                NULL);

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
        expect_children(a, 1);
        /* arbord took no orphan for a service, nor the other way round */
        cr_assert_eq(arbord_count_events(a, "exit root/keep"), 0);

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/keep signal=SIGTERM normal=true");
        expect_status(a, 0);
}

Test(pid1, orphans_of_a_running_service_are_reaped_while_it_runs) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:parent]\ncommand = @HELPERS@/fork-orphans -w 1000\n",
                                                NULL);

        EXPECT_SEQ(a, "start root", "start root/parent", "ready root/parent", "ready root");
        cr_assert(arbord_wait_stdout(a, "forked 1000\n", -1), "%s", arbord_last_error(a));
        expect_children(a, 1);
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/parent signal=SIGTERM normal=true");
        expect_status(a, 0);
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
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/c signal=SIGINT normal=true",
                                "stop root/sub/s2 signal=SIGTERM normal=true",
                                "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                                "stop root/a signal=SIGTERM normal=true");
        expect_status(a, 0);
}

Test(pid1, signals_without_a_stop_meaning_do_not_end_pid_1) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n", NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "ready root");
        signal_hup_usr1_usr2(a);
        /* still there, still supervising: the next events are those of the shutdown */
        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/a signal=SIGTERM normal=true");
        expect_status(a, 0);
}

Test(pid1, stragglers_get_sigterm_once_the_tree_has_ended) {
        /* the daemon's grandchild is in no service's process group: only PID 1's sweep can end it */
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:daemon]\nrestart = transient\n"
                                                       "command = @HELPERS@/double-fork -t forever\n",
                                                NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/daemon", "ready root/daemon",
                   "ready root", "exit root/daemon code=0 normal=true");
        cr_assert(arbord_wait_stdout(a, "grandchild ", -1), "%s", arbord_last_error(a));
        /* the intermediate was reaped by the daemon: a and the grandchild are PID 1's children */
        expect_children(a, 2);

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/a signal=SIGTERM normal=true");
        /* arbord exits only once the grandchild is gone: no hang (it would never exit by itself) */
        expect_status(a, 0);
        cr_assert_not(arbord_log_contains(a, "grace period"), "SIGTERM was not enough for a default-action process");
}

Test(pid1, stragglers_ignoring_sigterm_get_sigkill_after_the_grace_period) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:spawner]\nrestart = transient\n"
                                                       "command = /bin/sh -c '@HELPERS@/ignore-term & exit 0'\n",
                                                NULL);
        long long shutdown;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/spawner", "ready root/spawner",
                   "ready root", "exit root/spawner code=0 normal=true");
        /* SIGTERM and SIGINT are ignored from "ready" on */
        cr_assert(arbord_wait_stdout(a, "ready\n", -1), "%s", arbord_last_error(a));
        expect_children(a, 2);

        EXPECT_SIGTERM_SHUTDOWN(a, "stop root/a signal=SIGTERM normal=true");
        /* 5 s of grace (arbord(8)), then SIGKILL; the deadline leaves room for them */
        cr_assert(arbord_wait_log(a, "grace period", HARNESS_TIMEOUT_MS + 5000), "%s", arbord_last_error(a));
        expect_status(a, 0);
        shutdown = last_event(a, "shutdown root")->ts;
        cr_assert_geq(now_ms() - shutdown, 5000, "arbord exited %lld ms after the tree ended: no grace period",
                      now_ms() - shutdown);
}

Test(pid1, a_significant_childs_exit_status_becomes_arbords) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[supervisor:root]\nauto_shutdown = any_significant\n"
                                                       "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:main]\nrestart = temporary\nsignificant = yes\n"
                                                       "command = " ON_CUE(5) "\n"
                                                       "[service:c]\ncommand = " ON_CUE(0) "\n",
                                                NULL);
        pid_t pid;

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/main", "ready root/main",
                   "start root/c", "ready root/c", "ready root");
        /* pids on stdout are the namespace's too: the helper prints its own getpid() */
        pid = wait_cue_ready(a, "root/main");
        /* SIGUSR1 from outside: to main's outside pid, a child of arbord in its own session */
        cr_assert_eq(kill(outside_pid(a, pid), SIGUSR1), 0);
        EXPECT_SEQ(a, "exit root/main code=5 normal=false", "stop root/c signal=SIGTERM normal=true",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=5");
        expect_status(a, 5);
}

Test(pid1, command_exit_status_becomes_arbords) {
        _cleanup_arbord_ Arbord *a = start_pid1(NULL, (const char *const[]) { "/bin/sh", "-c", "exit 7", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root", "exit root/main code=7",
                   "shutdown root code=7");
        expect_status(a, 7);
}

Test(pid1, command_killed_by_a_signal_gives_128_plus_n) {
        _cleanup_arbord_ Arbord *a = start_pid1(NULL, (const char *const[]) { "/bin/sh", "-c", "kill -KILL $$", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main signal=SIGKILL normal=false", "shutdown root code=137");
        expect_status(a, 137);
}

Test(pid1, exec_failure_at_the_initial_start_is_status_3) {
        _cleanup_arbord_ Arbord *a = start_pid1(HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"
                                                       "[service:x]\ncommand = /nonexistent/x\n",
                                                NULL);

        EXPECT_SEQ(a, "start root", "start root/a", "ready root/a", "start root/x",
                   "exit root/x normal=false error~/nonexistent/x", "stop root/a signal=SIGTERM normal=true",
                   "shutdown root code=3");
        expect_status(a, 3);
}
