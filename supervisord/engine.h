/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The engine: OTP's supervisor semantics as a pure state machine.
 *
 * It owns the run-time state of every node of one spec tree and is driven by
 * inputs (a child's exec succeeded or failed, it became ready, it exited, a
 * timer fired, a command). Each input carries the CLOCK_MONOTONIC time and
 * appends to an ActionList what the runtime must do: spawn, signal, arm or
 * disarm a timer, publish an event, exit. It makes no syscall, reads no clock
 * and keeps no global state, so every behaviour is unit-testable.
 *
 * Model. Each node (service or supervisor) is STOPPED, STARTING, RUNNING or
 * STOPPING. A supervisor that is doing something multi-step -- its initial
 * start, a restart plan, a command, its own shutdown -- has one Job: a list of
 * children to stop (one at a time, reverse start order, as OTP does) followed
 * by a list to start (one at a time, start order, each waiting for the
 * previous to be ready). Exits of children that the running job does not
 * involve wait in the supervisor's mailbox until the job ends, as they would
 * in an OTP supervisor busy in terminate_children/start_children.
 *
 * Only the engine writes node state; the runtime reads it (status, tests)
 * through the accessors below.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "spec.h"
#include "time-util.h"

typedef size_t NodeId; /* index into Config.nodes */

typedef enum NodeState {
        NODE_STOPPED,
        NODE_STARTING,
        NODE_RUNNING,
        NODE_STOPPING,
        _NODE_STATE_MAX,
        _NODE_STATE_INVALID = -EINVAL,
} NodeState;

typedef enum ActionKind {
        ACTION_SPAWN,        /* fork+exec service .node */
        ACTION_SIGNAL,       /* send .signal to the process group of service .node */
        ACTION_ARM_TIMER,    /* (re)arm the one timer of .node for absolute time .usec */
        ACTION_DISARM_TIMER, /* cancel the timer of .node */
        ACTION_EVENT,        /* publish .event */
        ACTION_EXIT,         /* the tree has ended: arbord exits with .exit_status */
        ACTION_COMMAND_DONE, /* the command .cookie about child .node is over, with .result */
        _ACTION_KIND_MAX,
        _ACTION_KIND_INVALID = -EINVAL,
} ActionKind;

typedef struct Action {
        ActionKind kind;
        NodeId node;
        int signal;
        usec_t usec;
        int exit_status;
        Event event;
        uint64_t cookie; /* ACTION_COMMAND_DONE: what engine_command() was given */
        int result;      /* ACTION_COMMAND_DONE: see engine_command() */
} Action;

typedef struct ActionList {
        Action *items;
        size_t n, allocated;
} ActionList;

/* How a service process ended, as waitid() tells it. */
typedef struct ExitStatus {
        int code;   /* valid when signal == 0 */
        int signal; /* 0: exited normally with code */
} ExitStatus;

typedef enum EngineCommand {
        COMMAND_START,
        COMMAND_STOP,
        COMMAND_RESTART,
        _COMMAND_MAX,
        _COMMAND_INVALID = -EINVAL,
} EngineCommand;

/* arbord's own exit statuses, besides a significant child's status. */
enum {
        EXIT_STATUS_OK = 0,
        EXIT_STATUS_FATAL = 1,       /* an internal error arbord could not survive */
        EXIT_STATUS_CONFIG = 2,      /* invalid configuration or usage */
        EXIT_STATUS_START_FAILED = 3, /* the tree failed its initial start */
        EXIT_STATUS_GAVE_UP = 4,     /* the root supervisor passed its restart intensity */
};

typedef struct Engine Engine;

/* The engine keeps a pointer to c, which must outlive it. NULL on OOM. */
Engine *engine_new(const Config *c);
Engine *engine_free(Engine *e);
static inline void engine_freep(Engine **e) {
        *e = engine_free(*e);
}

/* Begins the initial start of the tree. */
int engine_start(Engine *e, usec_t now, ActionList *out);

/* ACTION_SPAWN of node: exec() succeeded. */
int engine_on_exec(Engine *e, NodeId node, usec_t now, ActionList *out);
/* ACTION_SPAWN of node failed (error is a positive errno, what says at which step). */
int engine_on_spawn_failed(Engine *e, NodeId node, int error, const char *what, usec_t now, ActionList *out);
/* The service sent READY=1. */
int engine_on_ready(Engine *e, NodeId node, usec_t now, ActionList *out);
/* The service's main process was reaped. Never called after engine_on_spawn_failed for that spawn. */
int engine_on_exit(Engine *e, NodeId node, ExitStatus st, usec_t now, ActionList *out);
/* The timer armed for node expired. */
int engine_on_timer(Engine *e, NodeId node, usec_t now, ActionList *out);

/*
 * OTP's terminate_child/restart_child, for a service or a whole subtree.
 *
 * As calls to an OTP supervisor wait in its mailbox while it restarts, a
 * command for a supervisor that is in the middle of a job waits in its queue
 * (after the exits that arrived before it) and runs when the job is over.
 * Every accepted command ends in exactly one ACTION_COMMAND_DONE carrying
 * cookie, with .result:
 *   0            done: the child is running (start, restart) or stopped (stop)
 *   -EALREADY    start of a child that is running; stop of one that is stopped
 *   -ECHILD      the child failed to start; it stays stopped (not counted)
 *   -EBUSY       when it came to run, a supervisor above it was not running
 *   -ECANCELED   its supervisor stopped (shutdown, gave up) before it was done
 *
 * Returns 0 when accepted (the ACTION_COMMAND_DONE may already be in out),
 * or refuses at once, with nothing done: -EINVAL (the root cannot be started
 * or stopped this way), -EBUSY (a supervisor above it is starting or
 * stopping), -ENOBUFS (COMMAND_QUEUE_MAX commands already wait), and
 * -EALREADY when it would have run at once (a waiting command learns that
 * from its ACTION_COMMAND_DONE instead).
 */
#define COMMAND_QUEUE_MAX 64
int engine_command(Engine *e, EngineCommand cmd, NodeId node, uint64_t cookie, usec_t now, ActionList *out);

/* Orderly shutdown of the whole tree (SIGTERM); ends in ACTION_EXIT with status 0. */
int engine_shutdown(Engine *e, usec_t now, ActionList *out);

/*
 * The impatient shutdown (a second SIGINT): the tree still stops in order,
 * but every stop uses SIGKILL, and stops already waiting get SIGKILL now.
 * Starts the shutdown if it has not begun.
 */
int engine_hurry(Engine *e, usec_t now, ActionList *out);

/* Read-only views, for status and tests. */
NodeState engine_node_state(const Engine *e, NodeId node);
unsigned engine_node_restarts(const Engine *e, NodeId node);       /* restarts since arbord started */
unsigned engine_node_window_restarts(const Engine *e, NodeId node, usec_t now); /* supervisor: in the intensity window */
usec_t engine_node_since(const Engine *e, NodeId node);            /* when it entered its state */
bool engine_node_last_exit(const Engine *e, NodeId node, ExitStatus *ret); /* false: never exited */
bool engine_node_removed(const Engine *e, NodeId node);            /* a temporary child that ended */
const char *engine_node_error(const Engine *e, NodeId node);       /* why its last start failed; NULL: none */
bool engine_finished(const Engine *e);                              /* ACTION_EXIT was emitted */

const char *node_state_to_string(NodeState s);
const char *action_kind_to_string(ActionKind k);
const char *engine_command_to_string(EngineCommand c);

/* After an input returned -EPROTO: what was impossible about it (for the log). */
const char *engine_last_bug(const Engine *e);

void action_list_done(ActionList *l);
void action_list_clear(ActionList *l);
