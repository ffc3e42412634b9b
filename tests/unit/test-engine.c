/* SPDX-License-Identifier: MIT */
/*
 * The engine against its contract, docs/engine.md, and against OTP's
 * supervisor (stdlib), whose behaviour was checked on OTP 25 with
 * docs/otp-checks/arbor_otp_checks.erl (output: arbor_otp_checks.out);
 * "OTP (x)" below names the scenario of that script that pins a rule.
 *
 * Each test builds a tree with the TreeBuilder, drives the engine through the
 * harness and asserts the exact sequence of actions (see engine-harness.h for
 * the notation; "> ..." lines are inputs that settle() fed). The clock starts
 * at 1 s; most tests crash something at 2 s, so a stop begun then arms its
 * 5 s shutdown timer at 7000ms.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>

#include "engine-harness.h"

#ifdef NDEBUG
#error "build the tests with assertions enabled (STYLE.md G15)"
#endif

/* Sequences that recur. p is a path literal, at an absolute time literal. */
#define START(p) "spawn " p, "event start " p, "> exec " p, "event ready " p
#define RESTART(p) "event restart " p, START(p)
#define STOP(p, at) \
        "signal " p " SIGTERM", "arm " p " " at, "> exit " p " signal=SIGTERM", "disarm " p, \
                "event stop " p " signal=SIGTERM"

static Harness *started(NodeSpec *root) {
        Harness *h = harness_new(tb_build(root));

        start_tree_all_exec_ok(h);
        advance_to(h, TB_S(2));
        return h;
}

static unsigned window(Harness *h, const char *sup) {
        return engine_node_window_restarts(h->engine, node(h, sup), h->now);
}

/* root(strategy, intensity 5){a permanent, b <restart>, c permanent} */
static Harness *abc(Strategy s, RestartPolicy b_restart) {
        NodeSpec *r = tb_root(s, 5, TB_S(5));

        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", b_restart);
        tb_svc(r, "c", RESTART_PERMANENT);
        return started(r);
}

/* ==== starting ============================================================ */

Test(start, services_one_at_a_time_in_order) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        cr_assert_eq(state_of(h, "root"), NODE_STOPPED);
        cr_assert_eq(state_of(h, "a"), NODE_STOPPED);
        h_start(h);
        expect(h, "event start root", "spawn root/a", "event start root/a");
        cr_assert_eq(state_of(h, "root"), NODE_STARTING);
        cr_assert_eq(state_of(h, "a"), NODE_STARTING);
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);

        /* b starts only once a is ready */
        exec_ok(h, "a");
        expect(h, "event ready root/a", "spawn root/b", "event start root/b");
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        exec_ok(h, "b");
        expect(h, "event ready root/b", "event ready root");
        cr_assert_eq(state_of(h, "root"), NODE_RUNNING);
        cr_assert_not(engine_finished(h->engine));
        harness_free(h);
}

Test(start, nested_depth_first_and_empty_supervisor) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_sup(r, "empty", STRATEGY_ONE_FOR_ALL, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        settle(h);
        expect(h, "event start root", START("root/a"),
               "event start root/sub", START("root/sub/x"), START("root/sub/y"), "event ready root/sub",
               /* a supervisor with no children is ready at once */
               "event start root/empty", "event ready root/empty",
               START("root/b"), "event ready root");
        cr_assert_eq(state_of(h, "sub"), NODE_RUNNING);
        cr_assert_eq(state_of(h, "empty"), NODE_RUNNING);
        harness_free(h);
}

Test(start, notify_service_is_started_at_ready_not_at_exec) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_notify(tb_svc(r, "a", RESTART_PERMANENT), TB_S(10));
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        expect(h, "event start root", "spawn root/a", "event start root/a", "arm root/a 11000ms");
        advance(h, TB_MS(100));
        exec_ok(h, "a");
        expect_nothing(h);
        cr_assert_eq(state_of(h, "a"), NODE_STARTING);
        advance(h, TB_MS(100));
        ready(h, "a");
        expect(h, "disarm root/a", "event ready root/a", "spawn root/b", "event start root/b");
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        harness_free(h);
}

Test(start, notify_service_with_infinite_ready_timeout_arms_nothing) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_notify(tb_svc(r, "a", RESTART_PERMANENT), USEC_INFINITY);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        expect(h, "event start root", "spawn root/a", "event start root/a");
        exec_ok(h, "a");
        advance(h, TB_S(3600));
        ready(h, "a");
        expect(h, "event ready root/a", "event ready root");
        harness_free(h);
}

/* ==== initial start failures ============================================= */

/* OTP (h): start a, b fails, stop a; start_link returns an error. */
Test(start_failure, spawn_failure_stops_started_children_and_ends_with_3) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        fail_spawns(h, "b", ENOENT, 1);
        h_start(h);
        settle(h);
        expect(h, "event start root", START("root/a"), "spawn root/b", "event start root/b",
               "> spawnfail root/b", "event exit root/b error abnormal",
               STOP("root/a", "6000ms"),
               "event shutdown root code=3", "exit 3");
        cr_assert(engine_finished(h->engine));
        cr_assert_eq(h->exit_status, EXIT_STATUS_START_FAILED);
        cr_assert_eq(h->procs[node(h, "c")].spawns, 0u, "c must never be spawned");
        harness_free(h);
}

/* OTP (h'): a nested supervisor failing its start fails its parent's start. */
Test(start_failure, nested_supervisor_failure_fails_the_parent) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        fail_spawns(h, "y", EACCES, 1);
        h_start(h);
        settle(h);
        expect(h, "event start root", START("root/a"), "event start root/sub", START("root/sub/x"),
               "spawn root/sub/y", "event start root/sub/y",
               "> spawnfail root/sub/y", "event exit root/sub/y error abnormal",
               STOP("root/sub/x", "6000ms"),
               "event exit root/sub error abnormal",
               STOP("root/a", "6000ms"),
               "event shutdown root code=3", "exit 3");
        cr_assert_eq(h->procs[node(h, "b")].spawns, 0u);
        harness_free(h);
}

/* A notify service that exits before READY=1 failed its start; its exit
 * event carries .error (why the start failed), like a spawn failure's. */
Test(start_failure, exit_before_ready) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), TB_S(10));
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        exec_ok(h, "a");
        exec_ok(h, "b");
        expect(h, "event start root", "spawn root/a", "event start root/a", "event ready root/a",
               "spawn root/b", "event start root/b", "arm root/b 11000ms");
        advance(h, TB_S(1));
        crash(h, "b", 1);
        settle(h);
        expect(h, "disarm root/b", "event exit root/b code=1 error abnormal",
               STOP("root/a", "7000ms"),
               "event shutdown root code=3", "exit 3");
        harness_free(h);
}

/* The readiness timeout is a failed start: the service is killed (as OTP's
 * proc_lib:start_link kills a child that does not ack in time). */
Test(start_failure, readiness_timeout) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_notify(tb_svc(r, "a", RESTART_PERMANENT), TB_S(10));
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        exec_ok(h, "a");
        forget(h);
        timer(h, "a");
        cr_assert_eq(h->now, TB_S(11));
        expect(h, "signal root/a SIGKILL");
        settle(h);
        expect(h, "> exit root/a signal=SIGKILL", "event exit root/a signal=SIGKILL error abnormal",
               "event shutdown root code=3", "exit 3");
        harness_free(h);
}

/* ==== stopping a service: the shutdown kinds ============================== */

Test(stop, timeout_process_obeys) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(h_shutdown(h), 0);
        expect(h, "signal root/a SIGTERM", "arm root/a 7000ms");
        cr_assert_eq(state_of(h, "a"), NODE_STOPPING);
        advance(h, TB_S(1));
        kill_by_signal(h, "a", SIGTERM);
        expect(h, "disarm root/a", "event stop root/a signal=SIGTERM", "event shutdown root code=0", "exit 0");
        cr_assert_eq(state_of(h, "a"), NODE_STOPPED);
        cr_assert(engine_finished(h->engine));
        harness_free(h);
}

Test(stop, timeout_expires_then_sigkill) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/a SIGTERM", "arm root/a 7000ms");
        timer(h, "a");
        expect(h, "signal root/a SIGKILL");
        kill_by_signal(h, "a", SIGKILL);
        expect(h, "event stop root/a signal=SIGKILL", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

Test(stop, custom_timeout_and_exit_code_after_sigterm) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_shutdown_timeout(tb_svc(r, "a", RESTART_PERMANENT), TB_MS(1500));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/a SIGTERM", "arm root/a 3500ms");
        crash(h, "a", 0); /* handled SIGTERM and exited 0: still a stop */
        expect(h, "disarm root/a", "event stop root/a code=0", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

Test(stop, brutal_kill) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_brutal_kill(tb_svc(r, "a", RESTART_PERMANENT));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/a SIGKILL");
        kill_by_signal(h, "a", SIGKILL);
        expect(h, "event stop root/a signal=SIGKILL", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

Test(stop, infinity_waits_forever) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_shutdown_infinity(tb_svc(r, "a", RESTART_PERMANENT));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/a SIGTERM");
        advance(h, TB_S(3600));
        kill_by_signal(h, "a", SIGTERM);
        expect(h, "event stop root/a signal=SIGTERM", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

Test(stop, stop_signal) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_stop_signal(tb_svc(r, "a", RESTART_PERMANENT), SIGINT);
        Harness *h = started(r);

        h_shutdown(h);
        settle(h);
        expect(h, "signal root/a SIGINT", "arm root/a 7000ms", "> exit root/a signal=SIGINT", "disarm root/a",
               "event stop root/a signal=SIGINT", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

/* ==== tree shutdown ======================================================== */

/* Reverse start order, one at a time: b's stop begins only when c has exited. */
Test(shutdown, reverse_order_one_at_a_time) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(h_shutdown(h), 0);
        expect(h, "signal root/c SIGTERM", "arm root/c 7000ms");
        cr_assert_eq(state_of(h, "b"), NODE_RUNNING);
        advance(h, TB_S(1));
        kill_by_signal(h, "c", SIGTERM);
        expect(h, "disarm root/c", "event stop root/c signal=SIGTERM", "signal root/b SIGTERM", "arm root/b 8000ms");
        advance(h, TB_S(1));
        kill_by_signal(h, "b", SIGTERM);
        expect(h, "disarm root/b", "event stop root/b signal=SIGTERM", "signal root/a SIGTERM", "arm root/a 9000ms");
        kill_by_signal(h, "a", SIGTERM);
        expect(h, "disarm root/a", "event stop root/a signal=SIGTERM", "event shutdown root code=0", "exit 0");
        harness_free(h);
}

/* OTP (j): nested supervisors stop depth first. */
Test(shutdown, nested_depth_first) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        h_shutdown(h);
        settle(h);
        expect(h, STOP("root/b", "7000ms"), STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"),
               "event stop root/sub", STOP("root/a", "7000ms"), "event shutdown root code=0", "exit 0");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        harness_free(h);
}

Test(shutdown, second_call_changes_nothing) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/b SIGTERM", "arm root/b 7000ms");
        advance(h, TB_S(1));
        h_shutdown(h);
        expect_nothing(h);
        settle(h);
        expect(h, "> exit root/b signal=SIGTERM", "disarm root/b", "event stop root/b signal=SIGTERM",
               STOP("root/a", "8000ms"), "event shutdown root code=0", "exit 0");
        h_shutdown(h); /* and after the end */
        expect_nothing(h);
        harness_free(h);
}

/* OTP's supervisor with Shutdown = N kills its child supervisor after N; the
 * processes of its subtree all get SIGKILL at once. */
Test(shutdown, supervisor_timeout_kills_its_subtree) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_timeout(sub, TB_S(10));
        tb_shutdown_infinity(tb_svc(sub, "x", RESTART_PERMANENT));
        tb_shutdown_infinity(tb_svc(sub, "y", RESTART_PERMANENT));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "arm root/sub 12000ms", "signal root/sub/y SIGTERM");
        timer(h, "sub");
        expect_set(h, "signal root/sub/y SIGKILL", "signal root/sub/x SIGKILL");
        kill_by_signal(h, "y", SIGKILL);
        expect(h, "event stop root/sub/y signal=SIGKILL");
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/x signal=SIGKILL", "event stop root/sub", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

Test(shutdown, supervisor_timeout_disarmed_when_subtree_stops_in_time) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_timeout(sub, TB_S(10));
        tb_svc(sub, "x", RESTART_PERMANENT);
        Harness *h = started(r);

        h_shutdown(h);
        settle(h);
        expect(h, "arm root/sub 12000ms", STOP("root/sub/x", "7000ms"), "disarm root/sub", "event stop root/sub",
               "event shutdown root code=0", "exit 0");
        harness_free(h);
}

/* OTP: terminate/2 takes the EXIT of a child that died meanwhile as its stop. */
Test(shutdown, child_exiting_during_shutdown_is_not_restarted) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "signal root/c SIGTERM", "arm root/c 7000ms");
        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal");
        settle(h);
        expect(h, "> exit root/c signal=SIGTERM", "disarm root/c", "event stop root/c signal=SIGTERM",
               STOP("root/b", "7000ms"), "event shutdown root code=0", "exit 0");
        cr_assert_eq(h->procs[node(h, "a")].spawns, 1u);
        harness_free(h);
}

/* ==== every strategy x every restart policy, normal and abnormal exits ==== */

/* permanent: restarted after any exit */
Test(matrix, one_for_one_permanent_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", RESTART("root/b"));
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

Test(matrix, one_for_one_permanent_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal", RESTART("root/b"));
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

Test(matrix, one_for_all_permanent_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", STOP("root/c", "7000ms"), STOP("root/a", "7000ms"),
               RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

Test(matrix, one_for_all_permanent_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal", STOP("root/c", "7000ms"), STOP("root/a", "7000ms"),
               RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        harness_free(h);
}

Test(matrix, rest_for_one_permanent_abnormal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_PERMANENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/b"),
               RESTART("root/c"));
        cr_assert_eq(window(h, "root"), 1u);
        cr_assert_eq(h->procs[node(h, "a")].spawns, 1u);
        harness_free(h);
}

Test(matrix, rest_for_one_permanent_normal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_PERMANENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal", STOP("root/c", "7000ms"), RESTART("root/b"),
               RESTART("root/c"));
        harness_free(h);
}

/* transient: restarted only after an abnormal exit */
Test(matrix, one_for_one_transient_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_TRANSIENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", RESTART("root/b"));
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

Test(matrix, one_for_one_transient_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_TRANSIENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        cr_assert_not(engine_node_removed(h->engine, node(h, "b")));
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

Test(matrix, one_for_all_transient_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_TRANSIENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", STOP("root/c", "7000ms"), STOP("root/a", "7000ms"),
               RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        harness_free(h);
}

/* OTP (c''): the siblings are untouched. */
Test(matrix, one_for_all_transient_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_TRANSIENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        cr_assert_eq(state_of(h, "c"), NODE_RUNNING);
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

Test(matrix, rest_for_one_transient_abnormal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_TRANSIENT);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/b"),
               RESTART("root/c"));
        harness_free(h);
}

Test(matrix, rest_for_one_transient_normal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_TRANSIENT);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert_eq(state_of(h, "c"), NODE_RUNNING);
        harness_free(h);
}

/* temporary: never restarted, removed; no strategy applies */
Test(matrix, one_for_one_temporary_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_TEMPORARY);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

Test(matrix, one_for_one_temporary_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_TEMPORARY);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        harness_free(h);
}

/* OTP (c'): a temporary child's crash leaves its one_for_all siblings alone. */
Test(matrix, one_for_all_temporary_abnormal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_TEMPORARY);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        cr_assert_eq(state_of(h, "c"), NODE_RUNNING);
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

Test(matrix, one_for_all_temporary_normal) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_TEMPORARY);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        harness_free(h);
}

Test(matrix, rest_for_one_temporary_abnormal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_TEMPORARY);
        kill_by_signal(h, "b", SIGSEGV);
        settle(h);
        expect(h, "event exit root/b signal=SIGSEGV abnormal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        cr_assert_eq(state_of(h, "c"), NODE_RUNNING);
        harness_free(h);
}

Test(matrix, rest_for_one_temporary_normal) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_TEMPORARY);
        crash(h, "b", 0);
        settle(h);
        expect(h, "event exit root/b code=0 normal");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        harness_free(h);
}

/* ==== what is a normal exit ================================================ */

/* Dying of a signal arbord did not send is abnormal, even SIGTERM. */
Test(exit_status, signal_not_sent_by_us_is_abnormal) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_TRANSIENT);
        Harness *h = started(r);

        kill_by_signal(h, "a", SIGTERM);
        settle(h);
        expect(h, "event exit root/a signal=SIGTERM abnormal", RESTART("root/a"));
        kill_by_signal(h, "a", SIGKILL);
        settle(h);
        expect(h, "event exit root/a signal=SIGKILL abnormal", RESTART("root/a"));
        harness_free(h);
}

Test(exit_status, success_exit_codes) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_success_codes(tb_svc(r, "a", RESTART_TRANSIENT), 3, 42, -1);
        Harness *h = started(r);

        crash(h, "a", 4);
        settle(h);
        expect(h, "event exit root/a code=4 abnormal", RESTART("root/a"));
        crash(h, "a", 42);
        settle(h);
        expect(h, "event exit root/a code=42 normal");
        cr_assert_eq(state_of(h, "a"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* ==== restart intensity ==================================================== */

Test(intensity, reached_root_gives_up_with_4) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", RESTART("root/a"));
        /* 1 s later: 2 restarts within 5 s > intensity 1. (The clock is at 3 s,
         * less than the period: `now - period` must not wrap.) */
        advance(h, TB_S(1));
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", STOP("root/b", "8000ms"),
               "event shutdown root code=4", "exit 4");
        cr_assert(engine_finished(h->engine));
        cr_assert_eq(h->procs[node(h, "a")].spawns, 2u);
        harness_free(h);
}

Test(intensity, not_reached) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 3, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        for (unsigned i = 1; i <= 3; i++) {
                crash(h, "a", 1);
                settle(h);
                expect(h, "event exit root/a code=1 abnormal", RESTART("root/a"));
                cr_assert_eq(window(h, "root"), i);
                advance(h, TB_S(1));
        }
        cr_assert_eq(engine_node_restarts(h->engine, node(h, "a")), 3u);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* OTP 25 add_restart keeps the restarts with R >= Now - Period: a restart
 * exactly `period` ago still counts. */
Test(intensity, window_boundary_counts) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        forget(h);
        advance(h, TB_S(5));
        cr_assert_eq(window(h, "root"), 1u);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", "event shutdown root code=4", "exit 4");
        harness_free(h);
}

Test(intensity, sliding_window_drops_old_restarts) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        forget(h);
        advance(h, TB_S(5) + 1);
        cr_assert_eq(window(h, "root"), 0u);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", RESTART("root/a"));
        cr_assert_eq(window(h, "root"), 1u);
        cr_assert_eq(engine_node_restarts(h->engine, node(h, "a")), 2u);
        harness_free(h);
}

/* intensity 3 in 10 s. Crashes 4 s apart (2, 6, 10, ... 22 s) never have
 * more than 3 restarts in the window; one more at 24 s has 14, 18, 22 and 24
 * (24 - 14 <= 10): 4 > 3, give up. */
Test(intensity, sliding_window_with_several_restarts) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 3, TB_S(10));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        for (unsigned i = 0; i < 6; i++) {
                if (i > 0)
                        advance(h, TB_S(4));
                crash(h, "a", 1);
                settle(h);
                expect(h, "event exit root/a code=1 abnormal", RESTART("root/a"));
        }
        cr_assert_eq(h->now, TB_S(22));
        advance(h, TB_S(2));
        cr_assert_eq(window(h, "root"), 3u);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", "event shutdown root code=4", "exit 4");
        harness_free(h);
}

Test(intensity, zero_gives_up_at_the_first_restart) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_TRANSIENT);
        Harness *h = started(r);

        crash(h, "b", 0); /* not a restart */
        expect(h, "event exit root/b code=0 normal");
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* One failure counts once even when one_for_all restarts three children. */
Test(intensity, one_for_all_counts_one_failure_once) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), STOP("root/b", "7000ms"),
               RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        cr_assert_eq(window(h, "root"), 1u);
        advance(h, TB_S(1));
        crash(h, "c", 1);
        settle(h);
        expect(h, "event exit root/c code=1 abnormal", "event giveup root", STOP("root/b", "8000ms"),
               STOP("root/a", "8000ms"), "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* ==== failed restarts ====================================================== */

/* OTP (d): the failed attempt is one more restart (window 2) and is retried at once. */
Test(failed_restart, counts_again_and_is_retried_at_once) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 2, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "a", ENOENT, 1);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a",
               "> spawnfail root/a", "event exit root/a error abnormal", RESTART("root/a"));
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* OTP (d'): crash + failed restart = 2 > 1: the supervisor gives up. */
Test(failed_restart, can_reach_intensity) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "a", ENOENT, 5);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a",
               "> spawnfail root/a", "event exit root/a error abnormal", "event giveup root",
               STOP("root/b", "7000ms"), "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* OTP (d''): under one_for_all the retry for b stops a again and restarts all. */
Test(failed_restart, one_for_all_retry_restarts_all_again) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "b", EAGAIN, 1);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), STOP("root/b", "7000ms"),
               RESTART("root/a"), "event restart root/b", "spawn root/b", "event start root/b",
               "> spawnfail root/b", "event exit root/b error abnormal",
               STOP("root/a", "7000ms"), RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* OTP (d'''): under rest_for_one the retry for c restarts c and those after it. */
Test(failed_restart, rest_for_one_retry_restarts_the_rest) {
        NodeSpec *r = tb_root(STRATEGY_REST_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        tb_svc(r, "d", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "c", EAGAIN, 1);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/d", "7000ms"), STOP("root/c", "7000ms"),
               STOP("root/b", "7000ms"), RESTART("root/a"), RESTART("root/b"), "event restart root/c",
               "spawn root/c", "event start root/c", "> spawnfail root/c", "event exit root/c error abnormal",
               RESTART("root/c"), RESTART("root/d"));
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* Exiting before READY=1 is a failed start too. */
Test(failed_restart, exit_before_ready_counts) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_notify(tb_svc(r, "a", RESTART_PERMANENT), USEC_INFINITY);
        Harness *h = started(r);

        crash(h, "a", 1);
        exec_ok(h, "a");
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a");
        crash(h, "a", 2);
        expect(h, "event exit root/a code=2 error abnormal", "event restart root/a", "spawn root/a", "event start root/a");
        cr_assert_eq(window(h, "root"), 2u);
        exec_ok(h, "a");
        ready(h, "a");
        expect(h, "event ready root/a");
        harness_free(h);
}

Test(failed_restart, readiness_timeout_counts) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_notify(tb_svc(r, "a", RESTART_PERMANENT), TB_S(2));
        Harness *h = started(r);

        crash(h, "a", 1);
        exec_ok(h, "a");
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a",
               "arm root/a 4000ms");
        timer(h, "a");
        expect(h, "signal root/a SIGKILL");
        settle(h);
        expect(h, "> exit root/a signal=SIGKILL", "event exit root/a signal=SIGKILL error abnormal",
               "event restart root/a", "spawn root/a", "event start root/a", "arm root/a 6000ms",
               "> exec root/a", "> ready root/a", "disarm root/a", "event ready root/a");
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* ==== escalation =========================================================== */

/* OTP (g) permanent: the sub-supervisor exits `shutdown`; its parent restarts it and counts. */
Test(escalation, permanent_sub_that_gave_up_is_restarted) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", STOP("root/sub/y", "7000ms"),
               "event exit root/sub normal", "event restart root/sub", "event start root/sub",
               START("root/sub/x"), START("root/sub/y"), "event ready root/sub");
        cr_assert_eq(window(h, "root"), 1u);
        cr_assert_eq(state_of(h, "sub"), NODE_RUNNING);
        cr_assert_eq(h->procs[node(h, "a")].spawns, 1u);
        cr_assert_eq(h->procs[node(h, "b")].spawns, 1u);
        harness_free(h);
}

/* OTP (g) transient: `shutdown` is a normal exit reason: it stays down, uncounted. */
Test(escalation, transient_sub_that_gave_up_stays_down) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_TRANSIENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "y", 1);
        settle(h);
        expect(h, "event exit root/sub/y code=1 abnormal", "event giveup root/sub", STOP("root/sub/x", "7000ms"),
               "event exit root/sub normal");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_not(engine_node_removed(h->engine, node(h, "sub")));
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

/* OTP (g) temporary: removed. */
Test(escalation, temporary_sub_that_gave_up_is_removed) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_TEMPORARY);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", "event exit root/sub normal");
        cr_assert(engine_node_removed(h->engine, node(h, "sub")));
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

/* mid gives up -> top restarts it (counts) -> mid gives up again -> top
 * passes its intensity and gives up -> root restarts top: passes intensity 0
 * -> arbord exits 4. */
Test(escalation, three_levels_up_to_the_root) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        NodeSpec *top = tb_sup(r, "top", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        NodeSpec *mid = tb_sup(top, "mid", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(mid, "w", RESTART_PERMANENT);
        tb_svc(top, "side", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "w", 1);
        settle(h);
        expect(h, "event exit root/top/mid/w code=1 abnormal", "event giveup root/top/mid",
               "event exit root/top/mid normal", "event restart root/top/mid", "event start root/top/mid",
               START("root/top/mid/w"), "event ready root/top/mid");
        cr_assert_eq(window(h, "top"), 1u);
        advance(h, TB_S(1));
        crash(h, "w", 1);
        settle(h);
        expect(h, "event exit root/top/mid/w code=1 abnormal", "event giveup root/top/mid",
               "event exit root/top/mid normal", "event giveup root/top", STOP("root/top/side", "8000ms"),
               "event exit root/top normal", "event giveup root", "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* The root gives up: every other child is stopped, depth first, then exit 4. */
Test(escalation, root_gives_up_stops_everything) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 3, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", STOP("root/b", "7000ms"),
               STOP("root/sub/x", "7000ms"), "event stop root/sub", "event shutdown root code=4", "exit 4");
        cr_assert_eq(h->exit_status, EXIT_STATUS_GAVE_UP);
        harness_free(h);
}

/* ==== temporary and stopped children in multi-child restarts =============== */

/* OTP (c): temporary children in the stop set are stopped and removed. */
Test(siblings, one_for_all_stops_and_removes_temporary) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "t", RESTART_TEMPORARY);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/b", "7000ms"), STOP("root/t", "7000ms"),
               RESTART("root/a"), RESTART("root/b"));
        cr_assert(engine_node_removed(h->engine, node(h, "t")));
        cr_assert_eq(state_of(h, "t"), NODE_STOPPED);
        harness_free(h);
}

/* OTP (c) rest_for_one: likewise. */
Test(siblings, rest_for_one_stops_and_removes_temporary) {
        NodeSpec *r = tb_root(STRATEGY_REST_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "t", RESTART_TEMPORARY);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/b", "7000ms"), STOP("root/t", "7000ms"),
               RESTART("root/a"), RESTART("root/b"));
        cr_assert(engine_node_removed(h->engine, node(h, "t")));
        harness_free(h);
}

/* OTP (b): a transient child that had exited normally is started again by a
 * one_for_all restart of its siblings (engine.md: "start: every child"). */
Test(siblings, one_for_all_restarts_transient_that_had_exited_normally) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_TRANSIENT);

        crash(h, "b", 0);
        expect(h, "event exit root/b code=0 normal");
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/a"),
               RESTART("root/b"), RESTART("root/c"));
        harness_free(h);
}

/* OTP (b) rest_for_one: likewise for the children after the dead one. */
Test(siblings, rest_for_one_restarts_transient_that_had_exited_normally) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_TRANSIENT);

        crash(h, "b", 0);
        expect(h, "event exit root/b code=0 normal");
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/a"),
               RESTART("root/b"), RESTART("root/c"));
        harness_free(h);
}

/* engine.md: children stopped by command are left alone by one_for_all
 * restarts of their siblings. OTP (a) differs: terminate_child only clears
 * the pid, and a sibling's one_for_all restart starts b again. */
Test(siblings, one_for_all_leaves_child_stopped_by_command_alone) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        settle(h);
        expect(h, STOP("root/b", "7000ms"), "done root/b #1 ok");
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/a"),
               RESTART("root/c"));
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        cr_assert_eq(command(h, COMMAND_START, "b"), 0);
        settle(h);
        expect(h, START("root/b"), "done root/b #2 ok");
        harness_free(h);
}

/* Same for rest_for_one (OTP (a) again restarts b). */
Test(siblings, rest_for_one_leaves_child_stopped_by_command_alone) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        settle(h);
        forget(h);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), RESTART("root/a"),
               RESTART("root/c"));
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        harness_free(h);
}

/* ==== auto_shutdown ======================================================== */

static Harness *container(AutoShutdown a, RestartPolicy main_restart) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, a);
        tb_svc(r, "side", RESTART_PERMANENT);
        tb_significant(tb_svc(r, "main", main_restart));
        tb_svc(r, "tail", RESTART_PERMANENT);
        return started(r);
}

Test(auto_shutdown, never_ignores_significant) {
        Harness *h = container(AUTO_SHUTDOWN_NEVER, RESTART_TEMPORARY);

        crash(h, "main", 7);
        settle(h);
        expect(h, "event exit root/main code=7 abnormal");
        cr_assert_not(engine_finished(h->engine));
        cr_assert_eq(state_of(h, "root"), NODE_RUNNING);
        harness_free(h);
}

/* OTP (f4): the others stop in reverse order; arbord exits with main's code. */
Test(auto_shutdown, any_significant_temporary_exit_code) {
        Harness *h = container(AUTO_SHUTDOWN_ANY_SIGNIFICANT, RESTART_TEMPORARY);

        crash(h, "main", 7);
        settle(h);
        expect(h, "event exit root/main code=7 abnormal", STOP("root/tail", "7000ms"), STOP("root/side", "7000ms"),
               "event shutdown root code=7", "exit 7");
        cr_assert(engine_finished(h->engine));
        harness_free(h);
}

Test(auto_shutdown, any_significant_killed_by_signal_gives_128_plus_n) {
        Harness *h = container(AUTO_SHUTDOWN_ANY_SIGNIFICANT, RESTART_TEMPORARY);

        kill_by_signal(h, "main", SIGSEGV);
        settle(h);
        expect(h, "event exit root/main signal=SIGSEGV abnormal", STOP("root/tail", "7000ms"),
               STOP("root/side", "7000ms"), "event shutdown root code=139", "exit 139");
        harness_free(h);
}

Test(auto_shutdown, any_significant_transient_normal_exit) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        NodeSpec *m = tb_svc(r, "main", RESTART_TRANSIENT);
        tb_significant(m);
        tb_success_codes(m, 3, -1);
        tb_brutal_kill(tb_svc(r, "side", RESTART_PERMANENT));
        Harness *h = started(r);

        crash(h, "main", 3);
        settle(h);
        expect(h, "event exit root/main code=3 normal", "signal root/side SIGKILL", "> exit root/side signal=SIGKILL",
               "event stop root/side signal=SIGKILL", "event shutdown root code=3", "exit 3");
        harness_free(h);
}

/* OTP (f'''): a transient significant child that crashes is restarted: no shutdown. */
Test(auto_shutdown, not_when_restarted) {
        Harness *h = container(AUTO_SHUTDOWN_ANY_SIGNIFICANT, RESTART_TRANSIENT);

        crash(h, "main", 1);
        settle(h);
        expect(h, "event exit root/main code=1 abnormal", RESTART("root/main"));
        cr_assert_not(engine_finished(h->engine));
        harness_free(h);
}

/* OTP (f'): stopped by command is not exiting on its own. A temporary child is removed. */
Test(auto_shutdown, not_when_stopped_by_command) {
        Harness *h = container(AUTO_SHUTDOWN_ANY_SIGNIFICANT, RESTART_TEMPORARY);

        cr_assert_eq(command(h, COMMAND_STOP, "main"), 0);
        settle(h);
        expect(h, STOP("root/main", "7000ms"), "done root/main #1 ok");
        cr_assert_not(engine_finished(h->engine));
        cr_assert(engine_node_removed(h->engine, node(h, "main")));
        cr_assert_eq(state_of(h, "root"), NODE_RUNNING);
        harness_free(h);
}

/* OTP (f''): stopped by a one_for_all restart of a sibling: removed, no shutdown. */
Test(auto_shutdown, not_when_stopped_by_a_sibling_restart) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        tb_significant(tb_svc(r, "main", RESTART_TEMPORARY));
        tb_svc(r, "x", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/x code=1 abnormal", STOP("root/main", "7000ms"), RESTART("root/x"));
        cr_assert(engine_node_removed(h->engine, node(h, "main")));
        cr_assert_not(engine_finished(h->engine));
        harness_free(h);
}

Test(auto_shutdown, all_significant_waits_for_the_last) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ALL_SIGNIFICANT);
        tb_significant(tb_svc(r, "m1", RESTART_TEMPORARY));
        tb_significant(tb_svc(r, "m2", RESTART_TRANSIENT));
        tb_svc(r, "w", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "m1", 0);
        settle(h);
        expect(h, "event exit root/m1 code=0 normal");
        crash(h, "m2", 1); /* restarted: still running */
        settle(h);
        expect(h, "event exit root/m2 code=1 abnormal", RESTART("root/m2"));
        crash(h, "m2", 0);
        settle(h);
        expect(h, "event exit root/m2 code=0 normal", STOP("root/w", "7000ms"), "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* OTP (f): a significant child stopped by command is not running, so the
 * other one's normal exit ends the supervisor. */
Test(auto_shutdown, all_significant_counts_stopped_by_command_as_not_running) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ALL_SIGNIFICANT);
        tb_significant(tb_svc(r, "m1", RESTART_TRANSIENT));
        tb_significant(tb_svc(r, "m2", RESTART_TRANSIENT));
        tb_svc(r, "w", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_STOP, "m1"), 0);
        settle(h);
        expect(h, STOP("root/m1", "7000ms"), "done root/m1 #1 ok");
        crash(h, "m2", 5);
        settle(h);
        expect(h, "event exit root/m2 code=5 abnormal", RESTART("root/m2"));
        crash(h, "m2", 0);
        settle(h);
        expect(h, "event exit root/m2 code=0 normal", STOP("root/w", "7000ms"), "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* A nested supervisor shut down by auto_shutdown exits normally, without
 * giveup; as a significant transient child it then ends the root, whose
 * status is 0 (a supervisor's). */
Test(auto_shutdown, nested_cascade) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_TRANSIENT);
        tb_significant(sub);
        tb_auto_shutdown(sub, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        tb_significant(tb_svc(sub, "job", RESTART_TEMPORARY));
        tb_svc(sub, "helper", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "job", 2);
        settle(h);
        expect(h, "event exit root/sub/job code=2 abnormal", STOP("root/sub/helper", "7000ms"),
               "event exit root/sub normal", STOP("root/a", "7000ms"), "event shutdown root code=0", "exit 0");
        harness_free(h);
}

/* A non-root supervisor's auto_shutdown ends only itself. */
Test(auto_shutdown, nested_supervisor_only) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_TRANSIENT);
        tb_auto_shutdown(sub, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        tb_svc(sub, "helper", RESTART_PERMANENT);
        tb_significant(tb_svc(sub, "job", RESTART_TRANSIENT));
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "job", 0);
        settle(h);
        expect(h, "event exit root/sub/job code=0 normal", STOP("root/sub/helper", "7000ms"),
               "event exit root/sub normal");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_eq(state_of(h, "b"), NODE_RUNNING);
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

/* ==== exits while the supervisor is busy =================================== */

/* OTP (e'): while busy (here: restarting a), b's exit is reported at once and
 * decided after the job. */
Test(busy, exit_during_restart_is_decided_after_it) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a");
        crash(h, "b", 1);
        expect(h, "event exit root/b code=1 abnormal");
        cr_assert_eq(window(h, "root"), 1u);
        exec_ok(h, "a");
        expect(h, "event ready root/a", "event restart root/b", "spawn root/b", "event start root/b");
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* OTP (e): b dies while c is being stopped for a's rest_for_one restart: its
 * exit is dropped since the job restarts b anyway; one restart counted. */
Test(busy, exit_of_child_in_the_job_is_dropped) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_PERMANENT);

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "signal root/c SIGTERM", "arm root/c 7000ms");
        crash(h, "b", 1);
        expect(h, "event exit root/b code=1 abnormal");
        settle(h);
        expect(h, "> exit root/c signal=SIGTERM", "disarm root/c", "event stop root/c signal=SIGTERM",
               RESTART("root/a"), RESTART("root/b"), RESTART("root/c"));
        cr_assert_eq(window(h, "root"), 1u);
        cr_assert_eq(h->procs[node(h, "b")].spawns, 2u);
        harness_free(h);
}

/* During the initial start: a's exit waits until the tree is up. */
Test(busy, exit_during_initial_start_is_decided_after_it) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), USEC_INFINITY);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        exec_ok(h, "a");
        exec_ok(h, "b");
        forget(h);
        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal");
        ready(h, "b");
        expect(h, "event ready root/b", "event ready root", "event restart root/a", "spawn root/a",
               "event start root/a");
        harness_free(h);
}

/* OTP (e'): during a stop command, b's exit waits for the command to end. */
Test(busy, exit_during_command_is_decided_after_it) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        expect(h, "signal root/c SIGTERM", "arm root/c 7000ms");
        crash(h, "b", 1);
        expect(h, "event exit root/b code=1 abnormal");
        kill_by_signal(h, "c", SIGTERM);
        expect(h, "disarm root/c", "event stop root/c signal=SIGTERM",
               "done root/c #1 ok", "event restart root/b", "spawn root/b",
               "event start root/b");
        cr_assert_eq(state_of(h, "c"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* ==== commands ============================================================= */

Test(command, stop_then_start) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        expect(h, "signal root/b SIGTERM", "arm root/b 7000ms");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPING);
        settle(h);
        expect(h, "> exit root/b signal=SIGTERM", "disarm root/b", "event stop root/b signal=SIGTERM",
               "done root/b #1 ok");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        /* OTP's terminate_child of a stopped child answers ok (OTP (i)) */
        cr_assert_eq(command(h, COMMAND_STOP, "b"), -EALREADY);
        expect_nothing(h);

        advance(h, TB_S(1));
        cr_assert_eq(command(h, COMMAND_START, "b"), 0);
        expect(h, "spawn root/b", "event start root/b");
        cr_assert_eq(state_of(h, "b"), NODE_STARTING);
        settle(h);
        expect(h, "> exec root/b", "event ready root/b", "done root/b #3 ok");
        cr_assert_eq(command(h, COMMAND_START, "b"), -EALREADY);
        expect_nothing(h);
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

/* A command restart is not counted against intensity, even intensity 0.
 * It is a stop then a start: no EVENT restart (that one belongs to the
 * supervisor's own restarts). OTP's restart_child instead refuses a running
 * child ({error, running}, OTP (i)). */
Test(command, restart_is_not_counted) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        for (int i = 1; i <= 3; i++) {
                char done[32];

                snprintf(done, sizeof(done), "done root/a #%d ok", i);
                cr_assert_eq(command(h, COMMAND_RESTART, "a"), 0);
                settle(h);
                /* one_for_all does not apply to a command: b is untouched */
                expect(h, STOP("root/a", "7000ms"), START("root/a"), done);
        }
        cr_assert_eq(window(h, "root"), 0u);
        cr_assert_not(engine_finished(h->engine));
        cr_assert_eq(h->procs[node(h, "b")].spawns, 1u);

        /* restart of a stopped child: just a start */
        command(h, COMMAND_STOP, "a");
        settle(h);
        forget(h);
        cr_assert_eq(command(h, COMMAND_RESTART, "a"), 0);
        settle(h);
        expect(h, START("root/a"), "done root/a #5 ok");
        harness_free(h);
}

Test(command, failed_start_leaves_it_stopped_and_is_not_counted) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        command(h, COMMAND_STOP, "b");
        settle(h);
        forget(h);
        fail_spawns(h, "b", ENOENT, 1);
        cr_assert_eq(command(h, COMMAND_START, "b"), 0);
        settle(h);
        expect(h, "spawn root/b", "event start root/b", "> spawnfail root/b", "event exit root/b error abnormal",
               "done root/b #2 ECHILD");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 0u);
        cr_assert_not(engine_finished(h->engine));
        /* and the supervisor is idle again */
        cr_assert_eq(command(h, COMMAND_START, "b"), 0);
        settle(h);
        expect(h, START("root/b"), "done root/b #3 ok");
        harness_free(h);
}

/* As calls wait in an OTP supervisor's mailbox: commands wait for the job in progress, then run in order. */
Test(command, waits_for_a_restart_then_runs_in_order) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        crash(h, "a", 1);
        forget(h);
        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        cr_assert_eq(command(h, COMMAND_RESTART, "c"), 0);
        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0); /* b will be stopped by then */
        expect_nothing(h);
        settle(h);
        expect(h, "> exec root/a", "event ready root/a", STOP("root/b", "7000ms"), "done root/b #1 ok",
               STOP("root/c", "7000ms"), START("root/c"), "done root/c #2 ok", "done root/b #3 EALREADY");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 1u); /* a's restart only */
        harness_free(h);
}

/* A command waits for another command, even one that needs a SIGKILL. */
Test(command, waits_for_another_command) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        ignore_signal(h, "c", SIGTERM);
        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        expect(h, "signal root/c SIGTERM", "arm root/c 7000ms");
        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        expect_nothing(h);
        timer(h, "c");
        settle(h);
        expect(h, "signal root/c SIGKILL", "> exit root/c signal=SIGKILL", "event stop root/c signal=SIGKILL",
               "done root/c #1 ok", STOP("root/b", "12000ms"), "done root/b #2 ok");
        harness_free(h);
}

/* An exit that arrived before a command is decided first (engine.md: the mailbox, then the commands). */
Test(command, waiting_exits_are_decided_before_waiting_commands) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        forget(h);
        crash(h, "a", 1);
        cr_assert_eq(command(h, COMMAND_STOP, "a"), 0);
        expect(h, "event exit root/a code=1 abnormal");
        settle(h);
        expect(h, "> exit root/c signal=SIGTERM", "disarm root/c", "event stop root/c signal=SIGTERM",
               "done root/c #1 ok", RESTART("root/a"), STOP("root/a", "7000ms"), "done root/a #2 ok");
        harness_free(h);
}

/* The queue is bounded: past COMMAND_QUEUE_MAX waiting commands, more are refused at once. */
Test(command, the_queue_is_bounded) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        forget(h);
        for (int i = 0; i < COMMAND_QUEUE_MAX; i++)
                cr_assert_eq(command(h, COMMAND_RESTART, "b"), 0);
        cr_assert_eq(command(h, COMMAND_RESTART, "b"), -ENOBUFS);
        expect_nothing(h);
        harness_free(h);
}

/* A supervisor that stops answers every command it had not finished: its caller is not left waiting. */
Test(command, cancelled_when_the_supervisor_stops) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        cr_assert_eq(command(h, COMMAND_RESTART, "a"), 0);
        forget(h);
        cr_assert_eq(h_shutdown(h), 0);
        expect(h, "done root/c #1 ECANCELED", "done root/a #2 ECANCELED");
        settle(h);
        forget(h);
        cr_assert(engine_finished(h->engine));
        harness_free(h);
}

Test(command, root_is_invalid) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "root"), -EINVAL);
        cr_assert_eq(command(h, COMMAND_START, "root"), -EINVAL);
        cr_assert_eq(command(h, COMMAND_RESTART, "root"), -EINVAL);
        expect_nothing(h);
        harness_free(h);
}

/* OTP (i): terminate_child of a temporary child deletes it. */
Test(command, stopping_a_temporary_child_removes_it) {
        Harness *h = abc(STRATEGY_ONE_FOR_ONE, RESTART_TEMPORARY);

        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        settle(h);
        expect(h, STOP("root/b", "7000ms"), "done root/b #1 ok");
        cr_assert(engine_node_removed(h->engine, node(h, "b")));
        harness_free(h);
}

Test(command, stop_and_start_a_subtree) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_STOP, "sub"), 0);
        settle(h);
        expect(h, STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"), "event stop root/sub",
               "done root/sub #1 ok");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_eq(state_of(h, "x"), NODE_STOPPED);
        cr_assert_eq(command(h, COMMAND_START, "sub"), 0);
        settle(h);
        expect(h, "event start root/sub", START("root/sub/x"), START("root/sub/y"), "event ready root/sub",
               "done root/sub #2 ok");
        cr_assert_eq(window(h, "root"), 0u);
        harness_free(h);
}

/* A child's command goes to its own supervisor: a busy sibling subtree does not hold it up. */
Test(command, waiting_is_per_supervisor) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_STOP, "x"), 0);
        expect(h, "signal root/sub/x SIGTERM", "arm root/sub/x 7000ms");
        cr_assert_eq(command(h, COMMAND_STOP, "y"), 0);
        expect_nothing(h);
        cr_assert_eq(command(h, COMMAND_STOP, "b"), 0);
        expect(h, "signal root/b SIGTERM", "arm root/b 7000ms");
        harness_free(h);
}

/* While the tree shuts down, nothing may start under it, not even where the stop has not arrived yet. */
Test(command, refused_under_a_supervisor_that_is_shutting_down) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_STOP, "x"), 0);
        settle(h);
        forget(h);
        ignore_signal(h, "b", SIGTERM);
        cr_assert_eq(h_shutdown(h), 0);
        expect(h, "signal root/b SIGTERM", "arm root/b 7000ms");
        /* sub itself is still running and idle, but root above it is stopping */
        cr_assert_eq(command(h, COMMAND_START, "x"), -EBUSY);
        expect_nothing(h);
        harness_free(h);
}

/* ==== accessors ============================================================ */

Test(accessors, state_since_and_last_exit) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));
        NodeId a = node(h, "a");
        ExitStatus st;

        cr_assert_eq(engine_node_state(h->engine, a), NODE_STOPPED);
        cr_assert_not(engine_node_last_exit(h->engine, a, &st));
        h_start(h);
        cr_assert_eq(engine_node_state(h->engine, a), NODE_STARTING);
        cr_assert_eq(engine_node_since(h->engine, a), TB_S(1));
        advance(h, TB_MS(250));
        exec_ok(h, "a");
        cr_assert_eq(engine_node_state(h->engine, a), NODE_RUNNING);
        cr_assert_eq(engine_node_since(h->engine, a), TB_MS(1250));
        cr_assert_not(engine_node_last_exit(h->engine, a, &st));

        advance(h, TB_S(1));
        crash(h, "a", 3);
        cr_assert(engine_node_last_exit(h->engine, a, &st));
        cr_assert_eq(st.code, 3);
        cr_assert_eq(st.signal, 0);
        cr_assert_eq(engine_node_state(h->engine, a), NODE_STARTING);
        cr_assert_eq(engine_node_restarts(h->engine, a), 1u);
        settle(h);
        kill_by_signal(h, "a", SIGABRT);
        cr_assert(engine_node_last_exit(h->engine, a, &st));
        cr_assert_eq(st.signal, SIGABRT);
        cr_assert_eq(engine_node_restarts(h->engine, a), 2u);
        settle(h);

        h_shutdown(h);
        cr_assert_eq(engine_node_state(h->engine, a), NODE_STOPPING);
        cr_assert_eq(engine_node_state(h->engine, 0), NODE_STOPPING);
        cr_assert_not(engine_finished(h->engine));
        settle(h);
        cr_assert_eq(engine_node_state(h->engine, a), NODE_STOPPED);
        cr_assert_eq(engine_node_state(h->engine, 0), NODE_STOPPED);
        cr_assert(engine_finished(h->engine));
        cr_assert_not(engine_node_removed(h->engine, a));
        harness_free(h);
}

Test(accessors, window_restarts_slide_with_now) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        settle(h);
        advance(h, TB_S(2));
        crash(h, "a", 1);
        settle(h);
        cr_assert_eq(engine_node_window_restarts(h->engine, 0, TB_S(4)), 2u);
        cr_assert_eq(engine_node_window_restarts(h->engine, 0, TB_S(7)), 2u); /* 7 - 2 <= 5 */
        cr_assert_eq(engine_node_window_restarts(h->engine, 0, TB_S(7) + 1), 1u);
        cr_assert_eq(engine_node_window_restarts(h->engine, 0, TB_S(9) + 1), 0u);
        harness_free(h);
}

Test(accessors, strings) {
        cr_assert_str_eq(node_state_to_string(NODE_STOPPED), "stopped");
        cr_assert_str_eq(node_state_to_string(NODE_STARTING), "starting");
        cr_assert_str_eq(node_state_to_string(NODE_RUNNING), "running");
        cr_assert_str_eq(node_state_to_string(NODE_STOPPING), "stopping");
        cr_assert_null(node_state_to_string(_NODE_STATE_MAX));
        cr_assert_str_eq(engine_command_to_string(COMMAND_RESTART), "restart");
        cr_assert_not_null(action_kind_to_string(ACTION_SPAWN));
        cr_assert_null(action_kind_to_string(_ACTION_KIND_MAX));
}

/* ==== harder interleavings ================================================= */

static void assert_no_process_left(Harness *h) {
        for (size_t i = 0; i < h->config->n_nodes; i++)
                cr_assert_eq(h->procs[i].state, PROC_NONE, "%s still has a process", h->config->nodes[i]->path);
}

/* A queued exit decided after the job can reach the intensity. */
Test(busy, queued_exit_can_give_up) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        crash(h, "b", 1);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a",
               "event exit root/b code=1 abnormal");
        settle(h);
        expect(h, "> exec root/a", "event ready root/a", "event giveup root", STOP("root/a", "7000ms"),
               "event shutdown root code=4", "exit 4");
        assert_no_process_left(h);
        harness_free(h);
}

/* A significant child that exits during a job ends the tree after the job. */
Test(busy, queued_significant_exit_shuts_down_after_the_job) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_auto_shutdown(r, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_significant(tb_svc(r, "main", RESTART_TEMPORARY));
        Harness *h = started(r);

        crash(h, "a", 1);
        crash(h, "main", 9);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a",
               "event exit root/main code=9 abnormal");
        settle(h);
        expect(h, "> exec root/a", "event ready root/a", STOP("root/a", "7000ms"), "event shutdown root code=9",
               "exit 9");
        harness_free(h);
}

/* OTP: terminate_children removes a temporary child even when it died
 * meanwhile (its EXIT is flushed); it is not restarted. */
Test(busy, temporary_exiting_in_the_stop_set_is_removed) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "t", RESTART_TEMPORARY);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "signal root/b SIGTERM", "arm root/b 7000ms");
        crash(h, "t", 1);
        expect(h, "event exit root/t code=1 abnormal");
        settle(h);
        expect(h, "> exit root/b signal=SIGTERM", "disarm root/b", "event stop root/b signal=SIGTERM",
               RESTART("root/a"), RESTART("root/b"));
        cr_assert(engine_node_removed(h->engine, node(h, "t")));
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* A child of a nested supervisor that dies while its supervisor is being
 * stopped for a one_for_all restart is not restarted by it, nor counted. */
Test(busy, exit_inside_a_subtree_being_stopped) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "signal root/sub/y SIGTERM", "arm root/sub/y 7000ms");
        crash(h, "x", 1); /* sub has intensity 0: were this counted, sub would give up */
        expect(h, "event exit root/sub/x code=1 abnormal");
        settle(h);
        expect(h, "> exit root/sub/y signal=SIGTERM", "disarm root/sub/y", "event stop root/sub/y signal=SIGTERM",
               "event stop root/sub", RESTART("root/a"), "event restart root/sub", "event start root/sub",
               START("root/sub/x"), START("root/sub/y"), "event ready root/sub");
        cr_assert_eq(window(h, "sub"), 0u);
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* A sub-supervisor gives up while its parent is busy: the parent decides after its job. */
Test(busy, sub_supervisor_gives_up_while_parent_busy) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_brutal_kill(tb_svc(sub, "x", RESTART_PERMANENT));
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "event restart root/a", "spawn root/a", "event start root/a");
        crash(h, "y", 1);
        settle(h);
        expect(h, "event exit root/sub/y code=1 abnormal", "event giveup root/sub", "signal root/sub/x SIGKILL",
               "> exec root/a", "event ready root/a",
               "> exit root/sub/x signal=SIGKILL", "event stop root/sub/x signal=SIGKILL", "event exit root/sub normal",
               "event restart root/sub", "event start root/sub", START("root/sub/x"), START("root/sub/y"),
               "event ready root/sub");
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* A restart attempt of a sub-supervisor whose own start fails is a failed
 * restart of its parent: counted, and retried at once. */
Test(failed_restart, sub_supervisor_failing_its_restart) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "y", ENOENT, 1);
        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", STOP("root/sub/y", "7000ms"),
               "event exit root/sub normal", "event restart root/sub", "event start root/sub", START("root/sub/x"),
               "spawn root/sub/y", "event start root/sub/y", "> spawnfail root/sub/y",
               "event exit root/sub/y error abnormal", STOP("root/sub/x", "7000ms"),
               "event exit root/sub error abnormal", "event restart root/sub", "event start root/sub",
               START("root/sub/x"), START("root/sub/y"), "event ready root/sub");
        cr_assert_eq(window(h, "root"), 2u);
        cr_assert_eq(window(h, "sub"), 0u);
        harness_free(h);
}

/* one_for_all, intensity 1: a's crash counts 1; b's failed restart counts 2
 * and gives up: a, already restarted, is stopped again, c never started. */
Test(failed_restart, gives_up_in_the_middle_of_a_restart) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "b", ENOENT, 1);
        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/c", "7000ms"), STOP("root/b", "7000ms"),
               RESTART("root/a"), "event restart root/b", "spawn root/b", "event start root/b",
               "> spawnfail root/b", "event exit root/b error abnormal", "event giveup root",
               STOP("root/a", "7000ms"), "event shutdown root code=4", "exit 4");
        cr_assert_eq(h->procs[node(h, "c")].spawns, 1u);
        assert_no_process_left(h);
        harness_free(h);
}

/* A service that exits before its exec is even reported failed its start. */
Test(failed_restart, exit_before_exec_report) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "a", 1);
        forget(h);
        crash(h, "a", 0); /* still STARTING */
        expect(h, "event exit root/a code=0 error abnormal", "event restart root/a", "spawn root/a",
               "event start root/a");
        cr_assert_eq(window(h, "root"), 2u);
        harness_free(h);
}

/* A stop inside a restart job escalates to SIGKILL on its timer. */
Test(stop, sigkill_escalation_inside_a_restart) {
        Harness *h = abc(STRATEGY_REST_FOR_ONE, RESTART_PERMANENT);

        ignore_signal(h, "c", SIGTERM);
        crash(h, "b", 1);
        settle(h);
        expect(h, "event exit root/b code=1 abnormal", "signal root/c SIGTERM", "arm root/c 7000ms");
        timer(h, "c");
        settle(h);
        expect(h, "signal root/c SIGKILL", "> exit root/c signal=SIGKILL", "event stop root/c signal=SIGKILL",
               RESTART("root/b"), RESTART("root/c"));
        harness_free(h);
}

/* SIGTERM to arbord while the tree is still starting: everything that was
 * started or is starting gets stopped, and arbord exits 0. */
Test(shutdown, during_the_initial_start) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), TB_S(30));
        tb_svc(r, "c", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        exec_ok(h, "a");
        exec_ok(h, "b");
        forget(h);
        advance(h, TB_S(1));
        cr_assert_geq(h_shutdown(h), 0);
        settle(h);
        /* b, not ready yet, is stopped (its readiness timer replaced by the
         * shutdown timer); c is never started */
        expect(h, "disarm root/b", STOP("root/b", "7000ms"), STOP("root/a", "7000ms"),
               "event shutdown root code=0", "exit 0");
        cr_assert(engine_finished(h->engine));
        cr_assert_eq(h->exit_status, 0);
        cr_assert_eq(h->procs[node(h, "c")].spawns, 0u);
        assert_no_process_left(h);
        harness_free(h);
}

/* SIGTERM to arbord while a supervisor restarts a child. */
Test(shutdown, during_a_restart) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);

        crash(h, "b", 1);
        expect(h, "event exit root/b code=1 abnormal", "signal root/c SIGTERM", "arm root/c 7000ms");
        cr_assert_geq(h_shutdown(h), 0);
        settle(h);
        /* the shutdown takes over from the restart: nothing is started again
         * (OTP would finish the restart first, then stop everything) */
        expect(h, "> exit root/c signal=SIGTERM", "disarm root/c", "event stop root/c signal=SIGTERM",
               STOP("root/a", "7000ms"), "event shutdown root code=0", "exit 0");
        cr_assert(engine_finished(h->engine));
        cr_assert_eq(h->exit_status, 0);
        assert_no_process_left(h);
        harness_free(h);
}

/* A stop of a notify service that is not ready yet re-arms its one timer. */
Test(shutdown, stop_of_a_starting_notify_service) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), TB_S(30));
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        exec_ok(h, "a");
        exec_ok(h, "b");
        expect(h, "event start root", "spawn root/a", "event start root/a", "event ready root/a", "spawn root/b",
               "event start root/b", "arm root/b 31000ms");
        advance_to(h, TB_S(2));
        h_shutdown(h);
        /* ARM_TIMER re-arms the one timer; the DISARM first is redundant but harmless */
        expect(h, "disarm root/b", "signal root/b SIGTERM", "arm root/b 7000ms");
        kill_by_signal(h, "b", SIGTERM);
        settle(h);
        expect(h, "disarm root/b", "event stop root/b signal=SIGTERM", STOP("root/a", "7000ms"),
               "event shutdown root code=0", "exit 0");
        harness_free(h);
}

/* A readiness timeout on a command start: stays stopped, not counted. */
Test(command, start_with_readiness_timeout) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), TB_S(1));
        Harness *h = started(r);

        command(h, COMMAND_STOP, "b");
        settle(h);
        forget(h);
        no_ready(h, "b");
        cr_assert_eq(command(h, COMMAND_START, "b"), 0);
        settle(h);
        expect(h, "spawn root/b", "event start root/b", "arm root/b 3000ms", "> exec root/b");
        timer(h, "b");
        settle(h);
        expect(h, "signal root/b SIGKILL", "> exit root/b signal=SIGKILL",
               "event exit root/b signal=SIGKILL error abnormal", "done root/b #2 ECHILD");
        cr_assert_eq(state_of(h, "b"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 0u);
        cr_assert_not(engine_finished(h->engine));
        harness_free(h);
}

/* Events of a restart come with the restart counters of the node. */
Test(accessors, restarts_count_every_restarted_child) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);

        crash(h, "b", 1);
        settle(h);
        cr_assert_eq(engine_node_restarts(h->engine, node(h, "b")), 1u);
        cr_assert_eq(engine_node_restarts(h->engine, node(h, "a")), 1u);
        cr_assert_eq(engine_node_restarts(h->engine, node(h, "c")), 1u);
        harness_free(h);
}

/* Inputs after the end change nothing. */
Test(accessors, nothing_after_exit) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = started(r);
        ActionList out = {};

        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal", "event giveup root", "event shutdown root code=4", "exit 4");
        engine_shutdown(h->engine, h->now, &out);
        engine_command(h->engine, COMMAND_START, node(h, "a"), 1, h->now, &out);
        cr_assert_eq(out.n, 0u);
        action_list_done(&out);
        harness_free(h);
}

/* ==== busy supervisors stopped from above ================================== */

/* root{sub{x (notify), y}, b}; x crashed and sub is restarting it. */
static Harness *sub_restarting_x(Strategy root_strategy) {
        NodeSpec *r = tb_root(root_strategy, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_notify(tb_svc(sub, "x", RESTART_PERMANENT), USEC_INFINITY);
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        exec_ok(h, "x");
        expect(h, "event exit root/sub/x code=1 abnormal", "event restart root/sub/x", "spawn root/sub/x",
               "event start root/sub/x");
        cr_assert_eq(state_of(h, "x"), NODE_STARTING);
        return h;
}

/* OTP: terminate_child(root, sub) is root's business; sub, busy or not, is stopped. */
Test(busy_below, command_stop_of_a_restarting_sub_supervisor) {
        Harness *h = sub_restarting_x(STRATEGY_ONE_FOR_ONE);

        cr_assert_eq(command(h, COMMAND_STOP, "sub"), 0);
        settle(h);
        expect(h, STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"), "event stop root/sub",
               "done root/sub #1 ok");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_eq(command(h, COMMAND_START, "sub"), 0);
        settle(h);
        expect(h, "event start root/sub", "spawn root/sub/x", "event start root/sub/x", "> exec root/sub/x",
               "> ready root/sub/x", "event ready root/sub/x", START("root/sub/y"), "event ready root/sub",
               "done root/sub #2 ok");
        harness_free(h);
}

Test(busy_below, tree_shutdown_while_a_sub_supervisor_restarts) {
        Harness *h = sub_restarting_x(STRATEGY_ONE_FOR_ONE);

        h_shutdown(h);
        settle(h);
        expect(h, STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"), "event stop root/sub",
               STOP("root/a", "7000ms"), "event shutdown root code=0", "exit 0");
        assert_no_process_left(h);
        harness_free(h);
}

Test(busy_below, one_for_all_restart_of_a_restarting_sub_supervisor) {
        Harness *h = sub_restarting_x(STRATEGY_ONE_FOR_ALL);

        crash(h, "a", 1);
        settle(h);
        expect(h, "event exit root/a code=1 abnormal", STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"),
               "event stop root/sub", RESTART("root/a"), "event restart root/sub", "event start root/sub",
               "spawn root/sub/x", "event start root/sub/x", "> exec root/sub/x", "> ready root/sub/x",
               "event ready root/sub/x", START("root/sub/y"), "event ready root/sub");
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* A supervisor's shutdown timer kills the services of its whole subtree,
 * nested supervisors included, and nothing is signalled twice after that. */
Test(shutdown, supervisor_timeout_kills_nested_subtree) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_timeout(sub, TB_S(10));
        tb_shutdown_infinity(tb_svc(sub, "x", RESTART_PERMANENT));
        NodeSpec *inner = tb_sup(sub, "inner", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_infinity(tb_svc(inner, "p", RESTART_PERMANENT));
        tb_shutdown_infinity(tb_svc(inner, "q", RESTART_PERMANENT));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "arm root/sub 12000ms", "signal root/sub/inner/q SIGTERM");
        timer(h, "sub");
        expect_set(h, "signal root/sub/inner/q SIGKILL", "signal root/sub/inner/p SIGKILL", "signal root/sub/x SIGKILL");
        kill_by_signal(h, "q", SIGKILL);
        expect(h, "event stop root/sub/inner/q signal=SIGKILL");
        kill_by_signal(h, "p", SIGKILL);
        expect(h, "event stop root/sub/inner/p signal=SIGKILL", "event stop root/sub/inner");
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/x signal=SIGKILL", "event stop root/sub", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* A restarted supervisor is a new OTP process: its restart window starts empty. */
Test(escalation, restarted_sub_supervisor_has_a_fresh_window) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", RESTART("root/sub/x"));
        advance(h, TB_MS(100));
        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", "event exit root/sub normal",
               "event restart root/sub", "event start root/sub", START("root/sub/x"), "event ready root/sub");
        cr_assert_eq(window(h, "sub"), 0u);
        advance(h, TB_MS(100));
        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", RESTART("root/sub/x"));
        cr_assert_eq(window(h, "sub"), 1u);
        cr_assert_eq(window(h, "root"), 1u);
        harness_free(h);
}

/* The window of a supervisor stopped and started by command starts empty too. */
Test(command, restarted_sub_supervisor_has_a_fresh_window) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        forget(h);
        cr_assert_eq(window(h, "sub"), 1u);
        cr_assert_eq(command(h, COMMAND_RESTART, "sub"), 0);
        settle(h);
        expect(h, STOP("root/sub/x", "7000ms"), "event stop root/sub", "event start root/sub", START("root/sub/x"),
               "event ready root/sub", "done root/sub #1 ok");
        cr_assert_eq(window(h, "sub"), 0u);
        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", RESTART("root/sub/x"));
        harness_free(h);
}

/* A sub-supervisor that gave up, under one_for_all: everything restarts. */
Test(escalation, one_for_all_parent_of_a_sub_that_gave_up) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", "event exit root/sub normal",
               STOP("root/b", "7000ms"), STOP("root/a", "7000ms"), RESTART("root/a"), "event restart root/sub",
               "event start root/sub", START("root/sub/x"), "event ready root/sub", RESTART("root/b"));
        harness_free(h);
}

/* No process is started under a stopped supervisor. */
Test(command, start_of_a_child_of_a_stopped_supervisor_is_refused) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        command(h, COMMAND_STOP, "sub");
        settle(h);
        forget(h);
        cr_assert_lt(command(h, COMMAND_START, "x"), 0);
        expect_nothing(h);
        cr_assert_eq(state_of(h, "x"), NODE_STOPPED);
        harness_free(h);
}

/* Commands that arrive during the tree's shutdown leave nothing behind
 * (refused with -EBUSY: a supervisor above is stopping). */
Test(shutdown, commands_during_shutdown_leave_nothing_behind) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        command(h, COMMAND_STOP, "x");
        settle(h);
        forget(h);
        h_shutdown(h);
        cr_assert_eq(command(h, COMMAND_START, "x"), -EBUSY);
        cr_assert_eq(command(h, COMMAND_STOP, "y"), -EBUSY);
        cr_assert_eq(command(h, COMMAND_RESTART, "b"), -EBUSY);
        settle(h);
        cr_assert(engine_finished(h->engine));
        cr_assert_eq(h->exit_status, 0);
        assert_no_process_left(h);
        harness_free(h);
}

/* A stop command in progress when a sibling crashes under one_for_all: the
 * crash waits for the command, then the restart leaves the stopped child alone. */
Test(busy, one_for_all_crash_during_a_stop_command) {
        Harness *h = abc(STRATEGY_ONE_FOR_ALL, RESTART_PERMANENT);

        cr_assert_eq(command(h, COMMAND_STOP, "c"), 0);
        expect(h, "signal root/c SIGTERM", "arm root/c 7000ms");
        crash(h, "a", 1);
        expect(h, "event exit root/a code=1 abnormal");
        settle(h);
        expect(h, "> exit root/c signal=SIGTERM", "disarm root/c", "event stop root/c signal=SIGTERM",
               "done root/c #1 ok",
               STOP("root/b", "7000ms"), RESTART("root/a"), RESTART("root/b"));
        cr_assert_eq(state_of(h, "c"), NODE_STOPPED);
        harness_free(h);
}

/* READY=1 from a ready=exec service, or a second READY=1, changes nothing. */
Test(start, spurious_ready_is_ignored) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_notify(tb_svc(r, "b", RESTART_PERMANENT), TB_S(10));
        Harness *h = started(r);

        ready(h, "a");
        expect_nothing(h);
        ready(h, "b");
        expect_nothing(h);
        cr_assert_eq(state_of(h, "a"), NODE_RUNNING);
        cr_assert_eq(state_of(h, "b"), NODE_RUNNING);
        harness_free(h);
}

/* The very first child failing: nothing to stop, exit 3 at once. */
Test(start_failure, first_child) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ALL, 5, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        h_start(h);
        spawn_fail(h, "a", ENOENT);
        expect(h, "event start root", "spawn root/a", "event start root/a", "event exit root/a error abnormal",
               "event shutdown root code=3", "exit 3");
        harness_free(h);
}

/* A supervisor that is already stopping on its own (it gave up) when its
 * parent stops it: the parent's stop still bounds it by the supervisor's
 * shutdown (OTP's shutdown/2 on the sub-supervisor: exit(Pid, shutdown),
 * then exit(Pid, kill) after Shutdown ms), so its timer is armed then. */
Test(shutdown, supervisor_timeout_applies_to_a_sub_that_is_giving_up) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_timeout(sub, TB_S(10));
        tb_shutdown_infinity(tb_svc(sub, "x", RESTART_PERMANENT));
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "y", 1);
        expect(h, "event exit root/sub/y code=1 abnormal", "event giveup root/sub", "signal root/sub/x SIGTERM");
        advance(h, TB_S(1));
        h_shutdown(h); /* x ignores SIGTERM */
        expect(h, "arm root/sub 13000ms");
        timer(h, "sub");
        expect(h, "signal root/sub/x SIGKILL");
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/x signal=SIGKILL", "event stop root/sub", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* The supervisor's timer cuts short a service's own, longer, shutdown timer. */
Test(shutdown, supervisor_timeout_shorter_than_a_service_timeout) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_shutdown_timeout(sub, TB_S(10));
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_shutdown_timeout(tb_svc(sub, "y", RESTART_PERMANENT), TB_S(30));
        Harness *h = started(r);

        h_shutdown(h);
        expect(h, "arm root/sub 12000ms", "signal root/sub/y SIGTERM", "arm root/sub/y 32000ms");
        timer(h, "sub");
        expect_set(h, "disarm root/sub/y", "signal root/sub/y SIGKILL", "signal root/sub/x SIGKILL");
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/x signal=SIGKILL");
        kill_by_signal(h, "y", SIGKILL);
        expect(h, "event stop root/sub/y signal=SIGKILL", "event stop root/sub", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* Same with shutdown = brutal_kill on the sub-supervisor: its subtree is
 * killed at once when its parent stops it, even while it is giving up. */
Test(shutdown, brutal_kill_applies_to_a_sub_that_is_giving_up) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 5, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_brutal_kill(sub);
        tb_shutdown_infinity(tb_svc(sub, "x", RESTART_PERMANENT));
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        crash(h, "y", 1);
        expect(h, "event exit root/sub/y code=1 abnormal", "event giveup root/sub", "signal root/sub/x SIGTERM");
        h_shutdown(h); /* x ignores SIGTERM */
        expect(h, "signal root/sub/x SIGKILL");
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/x signal=SIGKILL", "event stop root/sub", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* A sub-supervisor with shutdown = brutal_kill: its services all get SIGKILL at once. */
Test(shutdown, brutal_kill_supervisor) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_brutal_kill(sub);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(r, "b", RESTART_PERMANENT);
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_STOP, "sub"), 0);
        expect_set(h, "signal root/sub/x SIGKILL", "signal root/sub/y SIGKILL");
        kill_by_signal(h, "y", SIGKILL);
        kill_by_signal(h, "x", SIGKILL);
        expect(h, "event stop root/sub/y signal=SIGKILL", "event stop root/sub/x signal=SIGKILL", "event stop root/sub",
               "done root/sub #1 ok");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_eq(state_of(h, "b"), NODE_RUNNING);
        harness_free(h);
}

/* A restart cut short by a brutal kill from above was cancelled: the child never had its chance to start. */
Test(shutdown, brutal_kill_from_above_cancels_a_restart_in_progress) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *a = tb_sup(r, "a", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        NodeSpec *s = tb_sup(a, "s", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_brutal_kill(a);
        tb_svc(s, "x", RESTART_PERMANENT);
        tb_svc(a, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        ignore_signal(h, "x", SIGTERM);
        cr_assert_eq(command(h, COMMAND_RESTART, "x"), 0);
        expect(h, "signal root/a/s/x SIGTERM", "arm root/a/s/x 7000ms");
        cr_assert_eq(command(h, COMMAND_STOP, "a"), 0);
        settle(h);
        expect_set(h, "signal root/a/s/x SIGKILL", "signal root/a/y SIGKILL", "> exit root/a/y signal=SIGKILL",
                   "> exit root/a/s/x signal=SIGKILL", "disarm root/a/s/x", "event stop root/a/s/x signal=SIGKILL",
                   "done root/a/s/x #1 ECANCELED", "event stop root/a/y signal=SIGKILL", "event stop root/a/s",
                   "event stop root/a", "done root/a #2 ok");
        cr_assert_eq(state_of(h, "x"), NODE_STOPPED);
        harness_free(h);
}

/* A sub-supervisor killed from above in the middle of its own start never reports ready. */
Test(shutdown, brutal_kill_from_above_during_a_start_is_no_ready) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *top = tb_sup(r, "top", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(top, "sub", STRATEGY_ONE_FOR_ONE, 1, TB_S(5), RESTART_PERMANENT);
        tb_brutal_kill(top);
        tb_notify(tb_svc(sub, "x", RESTART_PERMANENT), USEC_INFINITY);
        tb_svc(sub, "y", RESTART_PERMANENT);
        tb_svc(top, "d", RESTART_PERMANENT); /* stopped first: x's death reaches sub while top waits for d */
        Harness *h = started(r);

        cr_assert_eq(command(h, COMMAND_RESTART, "sub"), 0);
        no_ready(h, "x");
        settle(h);
        forget(h);
        cr_assert_eq(state_of(h, "sub"), NODE_STARTING);
        cr_assert_eq(command(h, COMMAND_STOP, "top"), 0);
        settle(h);
        expect(h, "done root/top/sub #1 ECANCELED", "signal root/top/sub/x SIGKILL", "signal root/top/d SIGKILL",
               "> exit root/top/sub/x signal=SIGKILL", "event stop root/top/sub/x signal=SIGKILL",
               "> exit root/top/d signal=SIGKILL", "event stop root/top/d signal=SIGKILL", "event stop root/top/sub",
               "event stop root/top", "done root/top #2 ok");
        harness_free(h);
}

/* Stopped after its readiness deadline already sent SIGKILL: its end is a stop, not a failed start. */
Test(shutdown, brutal_stop_after_a_readiness_timeout_is_a_stop) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        NodeSpec *x = tb_svc(r, "x", RESTART_PERMANENT);
        tb_notify(x, TB_S(1));
        tb_brutal_kill(x);
        Harness *h = harness_new(tb_build(r));

        no_ready(h, "x");
        h_start(h);
        exec_ok(h, "x");
        forget(h);
        timer(h, "x");
        expect(h, "signal root/x SIGKILL");
        cr_assert_eq(h_shutdown(h), 0);
        settle(h);
        expect(h, "> exit root/x signal=SIGKILL", "event stop root/x signal=SIGKILL", "event shutdown root code=0",
               "exit 0");
        harness_free(h);
}

/* engine_shutdown before engine_start: nothing to stop. */
Test(shutdown, before_start) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        Harness *h = harness_new(tb_build(r));

        cr_assert_geq(h_shutdown(h), 0);
        expect(h, "event shutdown root code=0", "exit 0");
        cr_assert(engine_finished(h->engine));
        harness_free(h);
}

/* A sub-supervisor that keeps failing its start burns its parent's budget. */
Test(failed_restart, sub_supervisor_failing_until_the_root_gives_up) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 1, TB_S(5));
        tb_svc(r, "a", RESTART_PERMANENT);
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 0, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "x", ENOENT, 100);
        crash(h, "x", 1);
        settle(h);
        expect(h, "event exit root/sub/x code=1 abnormal", "event giveup root/sub", "event exit root/sub normal",
               "event restart root/sub", "event start root/sub", "spawn root/sub/x", "event start root/sub/x",
               "> spawnfail root/sub/x", "event exit root/sub/x error abnormal", "event exit root/sub error abnormal",
               "event giveup root", STOP("root/a", "7000ms"), "event shutdown root code=4", "exit 4");
        harness_free(h);
}

/* A command start of a sub-supervisor that fails: it stays stopped, uncounted. */
Test(command, failed_start_of_a_sub_supervisor) {
        NodeSpec *r = tb_root(STRATEGY_ONE_FOR_ONE, 0, TB_S(5));
        NodeSpec *sub = tb_sup(r, "sub", STRATEGY_ONE_FOR_ONE, 5, TB_S(5), RESTART_PERMANENT);
        tb_svc(sub, "x", RESTART_PERMANENT);
        tb_svc(sub, "y", RESTART_PERMANENT);
        Harness *h = started(r);

        fail_spawns(h, "y", ENOENT, 1);
        cr_assert_eq(command(h, COMMAND_RESTART, "sub"), 0);
        settle(h);
        expect(h, STOP("root/sub/y", "7000ms"), STOP("root/sub/x", "7000ms"), "event stop root/sub",
               "event start root/sub", START("root/sub/x"), "spawn root/sub/y", "event start root/sub/y",
               "> spawnfail root/sub/y", "event exit root/sub/y error abnormal", STOP("root/sub/x", "7000ms"),
               "event exit root/sub error abnormal", "done root/sub #1 ECHILD");
        cr_assert_eq(state_of(h, "sub"), NODE_STOPPED);
        cr_assert_eq(window(h, "root"), 0u);
        cr_assert_not(engine_finished(h->engine));
        harness_free(h);
}
