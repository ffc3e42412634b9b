/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A harness for the engine's tests (tests/unit/test-engine.c).
 *
 * Two parts:
 *
 * 1. TreeBuilder: builds a Config by hand, without the INI parser. Build the
 *    tree with tb_root()/tb_sup()/tb_svc() and the setters, then tb_build()
 *    flattens it into Config.nodes in pre-order and fills every NodeSpec field
 *    as spec.h documents (index, child_index, parent, children, path, the
 *    defaults). The result is freed by config_free(), like config.c's.
 *
 * 2. Harness: owns an Engine over that Config, a clock and a model of the
 *    processes the engine asked for. Every input goes through it; the actions
 *    the engine returns are rendered as short lines:
 *
 *        spawn root/a                     ACTION_SPAWN
 *        signal root/a SIGTERM            ACTION_SIGNAL
 *        arm root/a 6000ms                ACTION_ARM_TIMER (absolute time)
 *        disarm root/a                    ACTION_DISARM_TIMER
 *        event start root/a               ACTION_EVENT (kind, path)
 *        event exit root/a code=1 abnormal
 *        event exit root/a signal=SIGSEGV abnormal
 *        event exit root/a error abnormal (a failed spawn: .error set)
 *        event stop root/a signal=SIGTERM
 *        event shutdown root code=4
 *        exit 4                           ACTION_EXIT
 *
 *    Events of a supervisor carry no process status, so for supervisors the
 *    code/signal of exit/stop events is not rendered; shutdown always shows
 *    its code. An event whose timestamp is not the input's `now` gets
 *    " ts=<usec>!" appended, so the diff shows it.
 *
 *    The lines accumulate until expect() compares them with what the test
 *    wants, shows a diff on mismatch, and clears them. Inputs that the test
 *    feeds itself (crash(), exec_ok(), ...) are not rendered; inputs that
 *    settle() feeds on its own are rendered as "> exec root/a",
 *    "> ready root/a", "> exit root/a signal=SIGTERM", "> spawnfail root/a",
 *    so that a sequence shows which action followed which input.
 *
 *    settle() plays well-behaved processes: every spawned process execs
 *    (or fails to, see fail_spawns()), a ready=notify one then sends READY=1
 *    (unless no_ready()), and a signalled process dies of the signal (unless
 *    it ignores it, see ignore_signal()). It feeds one input at a time in
 *    FIFO order until nothing is left to do.
 *
 *    Time is explicit: h->now starts at HARNESS_T0; advance() moves it;
 *    timer() moves it to the timer's deadline when that is later.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "spec.h"
#include "time-util.h"

/* ---- TreeBuilder --------------------------------------------------------- */

#define TB_MS(x) ((usec_t) (x) * USEC_PER_MSEC)
#define TB_S(x) ((usec_t) (x) * USEC_PER_SEC)

/* The root supervisor; everything hangs off it until tb_build(). */
NodeSpec *tb_root(Strategy strategy, unsigned intensity, usec_t period);
/* A supervisor child of parent (shutdown infinity, as OTP's default for supervisors). */
NodeSpec *tb_sup(NodeSpec *parent, const char *name, Strategy strategy, unsigned intensity,
                 usec_t period, RestartPolicy restart);
/* A service child of parent (shutdown 5s, SIGTERM, ready=exec, argv {"/bin/true"}). */
NodeSpec *tb_svc(NodeSpec *parent, const char *name, RestartPolicy restart);

void tb_shutdown_timeout(NodeSpec *n, usec_t timeout);
void tb_brutal_kill(NodeSpec *n);
void tb_shutdown_infinity(NodeSpec *n);
void tb_significant(NodeSpec *n);
void tb_auto_shutdown(NodeSpec *sup, AutoShutdown a);
void tb_notify(NodeSpec *svc, usec_t ready_timeout); /* ready = notify */
void tb_stop_signal(NodeSpec *svc, int sig);
/* Success exit codes besides 0; the list ends with -1. */
void tb_success_codes(NodeSpec *svc, ...);

/* Flattens the tree into a Config (pre-order) and takes ownership of it. */
Config *tb_build(NodeSpec *root);

/* ---- Harness ------------------------------------------------------------- */

/* The tests' clock starts at 1 s: small enough to catch `now - period` underflows. */
#define HARNESS_T0 TB_S(1)

typedef enum ProcState {
        PROC_NONE,    /* no process */
        PROC_SPAWNED, /* ACTION_SPAWN seen, exec not reported yet */
        PROC_RUNNING, /* exec reported */
} ProcState;

typedef struct ProcModel {
        ProcState state;
        unsigned gen;          /* bumped at every spawn: settle() drops stale work */
        bool readied;          /* READY=1 sent (notify) */
        bool dying;            /* settle() has queued its exit */
        bool timer_armed;
        usec_t timer_at;
        unsigned spawns;       /* ACTION_SPAWN count */
        int fail_errno;        /* settle(): the next fail_count spawns fail with this */
        unsigned fail_count;
        bool no_ready;         /* settle(): never sends READY=1 */
        sigset_t ignored;      /* settle(): does not die of these */
} ProcModel;

typedef enum WorkKind {
        WORK_EXEC,
        WORK_READY,
        WORK_EXIT_SIGNAL,
} WorkKind;

typedef struct Work {
        WorkKind kind;
        NodeId node;
        unsigned gen;
        int signal;
} Work;

#define HARNESS_MAX_COMMANDS 256

typedef struct Harness {
        Config *config;
        Engine *engine;
        usec_t now;
        ActionList out;

        ProcModel *procs; /* parallel to config->nodes */

        char **lines; /* rendered, not yet expected */
        size_t n_lines, allocated_lines;

        Work *work; /* settle()'s FIFO */
        size_t work_head, n_work, allocated_work;

        bool exited;
        int exit_status;

        /* command() numbers its commands 1, 2, ...: whether each still waits for its ACTION_COMMAND_DONE */
        bool command_waiting[HARNESS_MAX_COMMANDS + 1];
        unsigned n_commands;
} Harness;

/* Takes ownership of c. */
Harness *harness_new(Config *c);
void harness_free(Harness *h);

/* The node named name (bare name or path); fails the test when there is none. */
NodeId node(Harness *h, const char *name);
NodeState state_of(Harness *h, const char *name);

/* ---- inputs: each asserts the engine returned >= 0, except where a return is given ---- */
void h_start(Harness *h);                               /* engine_start */
void exec_ok(Harness *h, const char *name);             /* engine_on_exec */
void ready(Harness *h, const char *name);               /* engine_on_ready */
void spawn_fail(Harness *h, const char *name, int error); /* engine_on_spawn_failed */
void crash(Harness *h, const char *name, int code);     /* engine_on_exit, exited with code */
void kill_by_signal(Harness *h, const char *name, int sig); /* engine_on_exit, killed by sig */
void timer(Harness *h, const char *name);               /* engine_on_timer at the armed time */
void timer_at(Harness *h, const char *name, usec_t at); /* engine_on_timer at `at` */
/* engine_command, as command number h->n_commands + 1: its ACTION_COMMAND_DONE reads "done PATH #N RESULT" */
int command(Harness *h, EngineCommand cmd, const char *name);
int h_shutdown(Harness *h);                             /* engine_shutdown */
void advance(Harness *h, usec_t usec);
void advance_to(Harness *h, usec_t at);

/* ---- the process model used by settle() ---- */
void fail_spawns(Harness *h, const char *name, int error, unsigned count);
void no_ready(Harness *h, const char *name);
void ignore_signal(Harness *h, const char *name, int sig);
/* Plays well-behaved processes until nothing is left to do. */
void settle(Harness *h);

/* engine_start, then settle(): asserts the root ended RUNNING, and clears the lines. */
void start_tree_all_exec_ok(Harness *h);

/* Drops the lines rendered so far. */
void forget(Harness *h);

/* ---- assertions ---- */
void harness_expect(const char *file, int line, Harness *h, ...) __attribute__((sentinel));
/* Like expect(), but the order of the lines does not matter. */
void harness_expect_set(const char *file, int line, Harness *h, ...) __attribute__((sentinel));

#define expect(h, ...) harness_expect(__FILE__, __LINE__, (h), ##__VA_ARGS__, (const char *) NULL)
#define expect_set(h, ...) harness_expect_set(__FILE__, __LINE__, (h), ##__VA_ARGS__, (const char *) NULL)
#define expect_nothing(h) harness_expect(__FILE__, __LINE__, (h), (const char *) NULL)

/* "6000ms" for an absolute time, as the arm lines show it (static buffer). */
const char *at_ms(usec_t t);
