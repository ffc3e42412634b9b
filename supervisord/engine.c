/* SPDX-License-Identifier: MIT */
#include "engine.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intensity.h"
#include "macro.h"
#include "strategy.h"
#include "string-table.h"

/* See docs/engine.md for the contract this file implements. */

#define NODE_NONE ((NodeId) SIZE_MAX)

typedef enum JobKind {
        JOB_NONE,
        JOB_START,    /* the supervisor's own initial start */
        JOB_RESTART,  /* a restart plan after a child died */
        JOB_COMMAND,  /* start/stop/restart of one child by command */
        JOB_SHUTDOWN, /* stopping every child, then the supervisor ends */
        _JOB_KIND_MAX,
} JobKind;

/* Why a supervisor's shutdown job runs; decides what its end means to its parent. */
typedef enum EndReason {
        END_STOPPED,       /* its parent stopped it, or the tree is shutting down */
        END_GAVE_UP,       /* restart intensity exceeded */
        END_AUTO_SHUTDOWN, /* a significant child ended */
        END_START_FAILED,  /* a child failed during the initial start */
        _END_REASON_MAX,
} EndReason;

typedef struct Job {
        JobKind kind;
        bool *stop;       /* per child: part of the stop phase */
        bool *start;      /* per child: part of the start phase */
        bool starting;    /* the stop phase is over */
        size_t cursor;    /* stop phase: next index is cursor-1; start phase: cursor */
        NodeId waiting_on; /* the child whose stop or start is in progress */
        EndReason reason;  /* JOB_SHUTDOWN only */
        NodeId target;     /* JOB_COMMAND only: the child it is about */
        uint64_t cookie;   /* JOB_COMMAND only: the caller's, for ACTION_COMMAND_DONE */
} Job;

/* A command that arrived while a job ran; it runs when the job is over. */
typedef struct QueuedCommand {
        EngineCommand cmd;
        NodeId target;
        uint64_t cookie;
} QueuedCommand;

typedef struct CommandQueue {
        QueuedCommand *items; /* ring of COMMAND_QUEUE_MAX */
        size_t head, count;
} CommandQueue;

/* Exits that arrived while a job ran; decided when the job is over. */
typedef struct Mailbox {
        size_t *child;
        unsigned *generation;
        size_t head, count, capacity;
} Mailbox;

typedef struct NodeRt {
        NodeState state;
        usec_t since;
        unsigned restarts;
        unsigned generation;  /* bumped at each start: tells stale mailbox entries */
        bool removed;         /* a temporary child that ended: out of the running tree */
        bool held;            /* stopped by command: stays down until started */
        bool kill_sent;       /* SIGKILL sent during the current stop */
        bool timer_armed;
        bool ready_timed_out; /* killed for missing its readiness deadline */
        bool start_failed;    /* the last start failed: read by the parent */
        bool has_exit;
        bool exit_normal;
        ExitStatus last_exit;
        char *error;          /* why the last start failed; events point at it */

        /* supervisors */
        RestartWindow window;
        Job job;
        Mailbox mailbox;
        CommandQueue commands; /* served after the mailbox */
        bool brutal;          /* being killed: start nothing, SIGKILL everything */
        int end_status;       /* root: arbord's exit status once the tree ends */
} NodeRt;

struct Engine {
        const Config *config;
        NodeRt *nodes;
        /* the context of the input being handled */
        ActionList *out;
        usec_t now;
        int error; /* first failure while handling the input */
        const char *bug; /* what was impossible about the last input, for the runtime's log */
        bool finished;
};

static const char *const node_state_table[_NODE_STATE_MAX] = {
        [NODE_STOPPED] = "stopped",
        [NODE_STARTING] = "starting",
        [NODE_RUNNING] = "running",
        [NODE_STOPPING] = "stopping",
};

static const char *const action_kind_table[_ACTION_KIND_MAX] = {
        [ACTION_SPAWN] = "spawn",
        [ACTION_SIGNAL] = "signal",
        [ACTION_ARM_TIMER] = "arm",
        [ACTION_DISARM_TIMER] = "disarm",
        [ACTION_EVENT] = "event",
        [ACTION_EXIT] = "exit",
        [ACTION_COMMAND_DONE] = "command-done",
};

static const char *const engine_command_table[_COMMAND_MAX] = {
        [COMMAND_START] = "start",
        [COMMAND_STOP] = "stop",
        [COMMAND_RESTART] = "restart",
};

DEFINE_STRING_TABLE_TO_STRING(node_state, NodeState, node_state_table)
DEFINE_STRING_TABLE_TO_STRING(action_kind, ActionKind, action_kind_table)
DEFINE_STRING_TABLE_TO_STRING(engine_command, EngineCommand, engine_command_table)

void action_list_clear(ActionList *l) {
        l->n = 0;
}

void action_list_done(ActionList *l) {
        free(l->items);
        *l = (ActionList) {};
}

/*
 * An input that cannot happen in the current state. PID 1 must not abort on
 * it (a container would lose everything): the input is ignored, the caller
 * gets -EPROTO and engine_last_bug() says what. Tests treat it as a failure.
 */
static void engine_bug(Engine *e, const char *what) {
        if (e->error == 0)
                e->error = -EPROTO;
        e->bug = what;
}

const char *engine_last_bug(const Engine *e) {
        return e->bug;
}

/* ---- small accessors ------------------------------------------------------ */

static const NodeSpec *spec(const Engine *e, NodeId id) {
        return e->config->nodes[id];
}

static NodeRt *rt(Engine *e, NodeId id) {
        return &e->nodes[id];
}

static NodeId child_id(const Engine *e, NodeId sup, size_t i) {
        return spec(e, sup)->children[i]->index;
}

static NodeId parent_id(const Engine *e, NodeId id) {
        const NodeSpec *p = spec(e, id)->parent;
        return p ? p->index : NODE_NONE;
}

static bool is_supervisor(const Engine *e, NodeId id) {
        return spec(e, id)->kind == NODE_SUPERVISOR;
}

/* ---- output ----------------------------------------------------------------- */

static void emit(Engine *e, Action a) {
        ActionList *l = e->out;

        if (l->n == l->allocated) {
                size_t n = l->allocated ? l->allocated * 2 : 16;
                Action *items = realloc(l->items, n * sizeof(Action));
                if (!items) {
                        /* Dropping an action would desynchronise runtime and engine:
                         * remember the failure so that the caller can report it. */
                        e->error = -ENOMEM;
                        return;
                }
                l->items = items;
                l->allocated = n;
        }
        l->items[l->n++] = a;
}

static Event make_event(Engine *e, EventKind kind, NodeId id) {
        return (Event) {
                .kind = kind,
                .ts = e->now,
                .path = spec(e, id)->path,
                .code = -1,
                .normal = -1,
        };
}

static void emit_event(Engine *e, EventKind kind, NodeId id) {
        emit(e, (Action) { .kind = ACTION_EVENT, .node = id, .event = make_event(e, kind, id) });
}

/*
 * An event that reports how something ended: st is the process's status, or
 * NULL when there is none (a failed spawn, a supervisor); normal is -1 when
 * it does not apply.
 */
static void emit_end_event(Engine *e, EventKind kind, NodeId id, const ExitStatus *st, int normal,
                           const char *error) {
        Event ev = make_event(e, kind, id);

        if (st) {
                ev.code = st->signal ? -1 : st->code;
                ev.signal = st->signal;
        }
        ev.normal = normal;
        ev.error = error;
        emit(e, (Action) { .kind = ACTION_EVENT, .node = id, .event = ev });
}

static void emit_command_done(Engine *e, NodeId c, uint64_t cookie, int result) {
        emit(e, (Action) { .kind = ACTION_COMMAND_DONE, .node = c, .cookie = cookie, .result = result });
}

static void emit_signal(Engine *e, NodeId id, int sig) {
        emit(e, (Action) { .kind = ACTION_SIGNAL, .node = id, .signal = sig });
}

static void arm_timer(Engine *e, NodeId id, usec_t delay) {
        usec_t at = delay >= USEC_INFINITY - e->now ? USEC_INFINITY - 1 : e->now + delay;

        rt(e, id)->timer_armed = true;
        emit(e, (Action) { .kind = ACTION_ARM_TIMER, .node = id, .usec = at });
}

static void disarm_timer(Engine *e, NodeId id) {
        if (!rt(e, id)->timer_armed)
                return;
        rt(e, id)->timer_armed = false;
        emit(e, (Action) { .kind = ACTION_DISARM_TIMER, .node = id });
}

static void set_error(Engine *e, NodeId id, const char *what) {
        NodeRt *n = rt(e, id);
        char *copy = strdup(what);

        if (!copy) {
                e->error = -ENOMEM;
                return;
        }
        free(n->error);
        n->error = copy;
}

/* The only writer of NodeRt.state. */
static void set_state(Engine *e, NodeId id, NodeState s) {
        NodeRt *n = rt(e, id);

        n->state = s;
        n->since = e->now;
        /* timers only live while something waits: starting or stopping */
        if (s == NODE_RUNNING || s == NODE_STOPPED)
                disarm_timer(e, id);
        if (s == NODE_STOPPED)
                n->kill_sent = false;
}

/* ---- forward declarations: supervisors and services call each other -------- */

static void sup_begin_start(Engine *e, NodeId s);
static void sup_begin_stop(Engine *e, NodeId s, EndReason reason);
static void sup_advance(Engine *e, NodeId s);
static void sup_child_settled(Engine *e, NodeId s, NodeId c);
static void sup_child_exited(Engine *e, NodeId s, NodeId c);
static void sup_kill_subtree(Engine *e, NodeId s);

/* ---- services ---------------------------------------------------------------- */

static void svc_begin_start(Engine *e, NodeId c) {
        const NodeSpec *n = spec(e, c);
        NodeRt *r = rt(e, c);

        r->generation++;
        r->start_failed = false;
        r->ready_timed_out = false;
        set_state(e, c, NODE_STARTING);
        emit(e, (Action) { .kind = ACTION_SPAWN, .node = c });
        emit_event(e, EVENT_START, c);
        if (n->ready == READY_NOTIFY && n->ready_timeout != USEC_INFINITY)
                arm_timer(e, c, n->ready_timeout);
}

static void svc_kill(Engine *e, NodeId c) {
        NodeRt *r = rt(e, c);

        if (r->state == NODE_STOPPED)
                return;
        /* a stop now, even when a readiness deadline already sent the SIGKILL: its exit is a stop */
        if (r->state != NODE_STOPPING)
                set_state(e, c, NODE_STOPPING);
        if (r->kill_sent)
                return;
        disarm_timer(e, c);
        emit_signal(e, c, SIGKILL);
        r->kill_sent = true;
}

static bool parent_is_brutal(Engine *e, NodeId c) {
        NodeId p = parent_id(e, c);
        return p != NODE_NONE && rt(e, p)->brutal;
}

static void svc_begin_stop(Engine *e, NodeId c) {
        const NodeSpec *n = spec(e, c);
        NodeRt *r = rt(e, c);

        if (r->state == NODE_STOPPED || r->state == NODE_STOPPING)
                return;
        if (n->shutdown.kind == SHUTDOWN_BRUTAL_KILL || parent_is_brutal(e, c)) {
                svc_kill(e, c);
                return;
        }
        set_state(e, c, NODE_STOPPING);
        disarm_timer(e, c); /* a readiness deadline no longer matters */
        emit_signal(e, c, n->stop_signal);
        if (n->shutdown.kind == SHUTDOWN_TIMEOUT)
                arm_timer(e, c, n->shutdown.timeout);
}

/* Normal per DESIGN.md: a success code, or death by the signal we sent to stop it. */
static bool svc_exit_is_normal(Engine *e, NodeId c, ExitStatus st, bool stopping) {
        const NodeSpec *n = spec(e, c);

        if (st.signal == 0)
                return node_exit_code_is_success(n, st.code);
        return stopping && (st.signal == n->stop_signal || (st.signal == SIGKILL && rt(e, c)->kill_sent));
}

static void node_record_exit(Engine *e, NodeId c, ExitStatus st, bool normal) {
        NodeRt *r = rt(e, c);

        r->has_exit = true;
        r->last_exit = st;
        r->exit_normal = normal;
}

/* A child came to a stop that its supervisor asked for. */
static void node_finish_stop(Engine *e, NodeId c) {
        if (spec(e, c)->restart == RESTART_TEMPORARY)
                rt(e, c)->removed = true;
        set_state(e, c, NODE_STOPPED);
}

/* st: how its process ended; NULL when it never ran (spawn failed). */
static void svc_start_failed(Engine *e, NodeId c, const ExitStatus *st, const char *why) {
        NodeRt *r = rt(e, c);

        node_record_exit(e, c, st ? *st : (ExitStatus) { .code = -1 }, false);
        set_error(e, c, why);
        set_state(e, c, NODE_STOPPED);
        r->start_failed = true;
        emit_end_event(e, EVENT_EXIT, c, st, false, r->error);
        sup_child_settled(e, parent_id(e, c), c);
}

static void svc_on_exit(Engine *e, NodeId c, ExitStatus st) {
        NodeRt *r = rt(e, c);
        bool normal;

        switch (r->state) {
        case NODE_STOPPING:
                normal = svc_exit_is_normal(e, c, st, true);
                node_record_exit(e, c, st, normal);
                node_finish_stop(e, c);
                emit_end_event(e, EVENT_STOP, c, &st, normal, NULL);
                sup_child_settled(e, parent_id(e, c), c);
                return;
        case NODE_STARTING: {
                char why[128];
                char d[DURATION_MAX];

                /* only `ready = notify` services are still starting after exec */
                if (r->ready_timed_out)
                        snprintf(why, sizeof(why), "not ready within %s",
                                 duration_format(spec(e, c)->ready_timeout, d));
                else
                        snprintf(why, sizeof(why), "exited before it was ready");
                svc_start_failed(e, c, &st, why);
                return;
        }
        case NODE_RUNNING:
                normal = svc_exit_is_normal(e, c, st, false);
                node_record_exit(e, c, st, normal);
                set_state(e, c, NODE_STOPPED);
                emit_end_event(e, EVENT_EXIT, c, &st, normal, NULL);
                sup_child_exited(e, parent_id(e, c), c);
                return;
        case NODE_STOPPED:
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
                break;
        }
        engine_bug(e, "exit of a service that is not running");
}

static void svc_became_ready(Engine *e, NodeId c) {
        set_state(e, c, NODE_RUNNING);
        emit_event(e, EVENT_READY, c);
        sup_child_settled(e, parent_id(e, c), c);
}

/* ---- starting and stopping any child ------------------------------------------ */

static void node_begin_start(Engine *e, NodeId c) {
        NodeRt *r = rt(e, c);

        r->held = false;
        r->removed = false;
        if (is_supervisor(e, c))
                sup_begin_start(e, c);
        else
                svc_begin_start(e, c);
}

static void node_begin_stop(Engine *e, NodeId c) {
        if (is_supervisor(e, c))
                sup_begin_stop(e, c, END_STOPPED);
        else
                svc_begin_stop(e, c);
}

/* ---- supervisors: jobs ------------------------------------------------------------ */

static void job_reset(Engine *e, NodeId s, JobKind kind) {
        Job *j = &rt(e, s)->job;
        size_t n = spec(e, s)->n_children;

        j->kind = kind;
        memset(j->stop, 0, n * sizeof(bool));
        memset(j->start, 0, n * sizeof(bool));
        j->starting = false;
        j->cursor = n;
        j->waiting_on = NODE_NONE;
}

static void mailbox_clear(Mailbox *m) {
        m->head = m->count = 0;
}

/* Drops the entries of child ci, keeping the others in order. */
static void mailbox_drop_child(Mailbox *m, size_t ci) {
        size_t kept = 0;

        for (size_t i = 0; i < m->count; i++) {
                size_t from = (m->head + i) % m->capacity, to = (m->head + kept) % m->capacity;
                if (m->child[from] == ci)
                        continue;
                m->child[to] = m->child[from];
                m->generation[to] = m->generation[from];
                kept++;
        }
        m->count = kept;
}

static void mailbox_push(Engine *e, NodeId s, NodeId c) {
        Mailbox *m = &rt(e, s)->mailbox;
        size_t ci = spec(e, c)->child_index, k;

        /* an older entry for the same child is stale by now; then one per child fits */
        mailbox_drop_child(m, ci);
        k = (m->head + m->count) % m->capacity;
        m->child[k] = ci;
        m->generation[k] = rt(e, c)->generation;
        m->count++;
}

static bool mailbox_pop(Mailbox *m, size_t *ret_child, unsigned *ret_generation) {
        if (m->count == 0)
                return false;
        *ret_child = m->child[m->head];
        *ret_generation = m->generation[m->head];
        m->head = (m->head + 1) % m->capacity;
        m->count--;
        return true;
}

static bool command_queue_push(CommandQueue *q, QueuedCommand qc) {
        if (q->count == COMMAND_QUEUE_MAX)
                return false;
        q->items[(q->head + q->count++) % COMMAND_QUEUE_MAX] = qc;
        return true;
}

static bool command_queue_pop(CommandQueue *q, QueuedCommand *ret) {
        if (q->count == 0)
                return false;
        *ret = q->items[q->head];
        q->head = (q->head + 1) % COMMAND_QUEUE_MAX;
        q->count--;
        return true;
}

/*
 * s stops (its parent stops it, it gave up, auto_shutdown): the command it
 * is carrying out and those waiting will not be, and their callers learn it.
 */
static void sup_cancel_commands(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        QueuedCommand qc;

        if (r->job.kind == JOB_COMMAND)
                emit_command_done(e, r->job.target, r->job.cookie, -ECANCELED);
        while (command_queue_pop(&r->commands, &qc))
                emit_command_done(e, qc.target, qc.cookie, -ECANCELED);
}

static int exit_status_of(Engine *e, NodeId c) {
        NodeRt *r = rt(e, c);

        if (!r->has_exit || is_supervisor(e, c))
                return 0;
        return r->last_exit.signal ? 128 + r->last_exit.signal : r->last_exit.code;
}

static void tree_end(Engine *e, int status) {
        Event ev = make_event(e, EVENT_SHUTDOWN, 0);

        ev.code = status;
        emit(e, (Action) { .kind = ACTION_EVENT, .node = 0, .event = ev });
        emit(e, (Action) { .kind = ACTION_EXIT, .exit_status = status });
        e->finished = true;
}

static void sup_begin_start(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        size_t n = spec(e, s)->n_children;

        r->generation++;
        r->start_failed = false;
        r->brutal = false;
        restart_window_reset(&r->window);
        mailbox_clear(&r->mailbox);
        set_state(e, s, NODE_STARTING);
        emit_event(e, EVENT_START, s);
        job_reset(e, s, JOB_START);
        for (size_t i = 0; i < n; i++)
                r->job.start[i] = true;
        r->job.starting = true;
        r->job.cursor = 0;
        sup_advance(e, s);
}

/* Turns whatever s is doing into stopping all its children. */
static void sup_begin_stop(Engine *e, NodeId s, EndReason reason) {
        const NodeSpec *n = spec(e, s);
        NodeRt *r = rt(e, s);
        bool already = r->state == NODE_STOPPING;
        /* stopping on its own (gave up, auto_shutdown) does not apply its shutdown spec; its parent's stop does */
        bool parent_stopping_it = already && r->job.kind == JOB_SHUTDOWN && r->job.reason == END_STOPPED;

        if (r->state == NODE_STOPPED)
                return;
        sup_cancel_commands(e, s);
        job_reset(e, s, JOB_SHUTDOWN);
        for (size_t i = 0; i < n->n_children; i++)
                r->job.stop[i] = true;
        r->job.reason = reason;
        mailbox_clear(&r->mailbox);
        if (!already)
                set_state(e, s, NODE_STOPPING);

        /* the supervisor's own shutdown spec applies when its parent stops it */
        if (reason == END_STOPPED && n->parent && !parent_stopping_it) {
                if (n->shutdown.kind == SHUTDOWN_BRUTAL_KILL || parent_is_brutal(e, s))
                        sup_kill_subtree(e, s);
                else if (n->shutdown.kind == SHUTDOWN_TIMEOUT)
                        arm_timer(e, s, n->shutdown.timeout);
        }
        sup_advance(e, s);
}

/* SIGKILL every service below s at once (brutal_kill, or a shutdown timeout ran out). */
static void sup_kill_subtree(Engine *e, NodeId s) {
        const NodeSpec *n = spec(e, s);

        rt(e, s)->brutal = true;
        for (size_t i = 0; i < n->n_children; i++) {
                NodeId c = child_id(e, s, i);

                if (rt(e, c)->state == NODE_STOPPED)
                        continue;
                if (is_supervisor(e, c))
                        sup_kill_subtree(e, c);
                else
                        svc_kill(e, c);
        }
}

static void sup_give_up(Engine *e, NodeId s) {
        emit_event(e, EVENT_GIVEUP, s);
        rt(e, s)->end_status = EXIT_STATUS_GAVE_UP;
        sup_begin_stop(e, s, END_GAVE_UP);
}

/* Plans and begins the restart of child c of s per s's strategy. Counts it first. */
static void sup_restart_child(Engine *e, NodeId s, NodeId c) {
        const NodeSpec *n = spec(e, s);
        NodeRt *r = rt(e, s);

        if (!restart_window_add(&r->window, e->now)) {
                sup_give_up(e, s);
                return;
        }
        job_reset(e, s, JOB_RESTART);
        plan_restart(n->strategy, n->n_children, spec(e, c)->child_index, r->job.stop, r->job.start);
        sup_advance(e, s);
}

static void sup_check_auto_shutdown(Engine *e, NodeId s, NodeId c) {
        const NodeSpec *n = spec(e, s);

        if (!spec(e, c)->significant)
                return;
        switch (n->auto_shutdown) {
        case AUTO_SHUTDOWN_NEVER:
                return;
        case AUTO_SHUTDOWN_ALL_SIGNIFICANT:
                for (size_t i = 0; i < n->n_children; i++) {
                        NodeId o = child_id(e, s, i);
                        if (spec(e, o)->significant && rt(e, o)->state != NODE_STOPPED)
                                return;
                }
                break;
        case AUTO_SHUTDOWN_ANY_SIGNIFICANT:
                break;
        case _AUTO_SHUTDOWN_MAX:
        case _AUTO_SHUTDOWN_INVALID:
                return;
        }
        rt(e, s)->end_status = exit_status_of(e, c);
        sup_begin_stop(e, s, END_AUTO_SHUTDOWN);
}

/* OTP's do_restart: what an idle supervisor does about a child that ended on its own. */
static void sup_decide(Engine *e, NodeId s, NodeId c) {
        NodeRt *r = rt(e, c);

        switch (spec(e, c)->restart) {
        case RESTART_PERMANENT:
                sup_restart_child(e, s, c);
                return;
        case RESTART_TRANSIENT:
                if (!r->exit_normal)
                        sup_restart_child(e, s, c);
                else
                        sup_check_auto_shutdown(e, s, c);
                return;
        case RESTART_TEMPORARY:
                r->removed = true;
                sup_check_auto_shutdown(e, s, c);
                return;
        case _RESTART_MAX:
        case _RESTART_INVALID:
                break;
        }
        engine_bug(e, "invalid restart policy");
}

/* Nothing starts or stops under a part of the tree that is not up (starting, or shutting down). */
static bool supervisors_up(Engine *e, NodeId c) {
        for (NodeId a = parent_id(e, c); a != NODE_NONE; a = parent_id(e, a))
                if (rt(e, a)->state != NODE_RUNNING)
                        return false;
        return true;
}

/* -EALREADY when c already is what cmd asks for. */
static int command_redundant(Engine *e, EngineCommand cmd, NodeId c) {
        NodeState st = rt(e, c)->state;

        switch (cmd) {
        case COMMAND_START:
                return st != NODE_STOPPED ? -EALREADY : 0;
        case COMMAND_STOP:
                return st == NODE_STOPPED ? -EALREADY : 0;
        case COMMAND_RESTART:
                return 0;
        case _COMMAND_MAX:
        case _COMMAND_INVALID:
                break;
        }
        return -EINVAL;
}

/* Carries out cmd on child c of s, which is idle. */
static void sup_begin_command(Engine *e, NodeId s, EngineCommand cmd, NodeId c, uint64_t cookie) {
        Job *j = &rt(e, s)->job;
        size_t ci = spec(e, c)->child_index;

        job_reset(e, s, JOB_COMMAND);
        j->target = c;
        j->cookie = cookie;
        j->stop[ci] = cmd != COMMAND_START;
        j->start[ci] = cmd != COMMAND_STOP;
        if (cmd == COMMAND_STOP)
                rt(e, c)->held = true;
        sup_advance(e, s);
}

/* Runs the commands that waited for a job to end, in arrival order, as long as s stays idle. */
static void sup_serve_commands(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        QueuedCommand qc;

        while (r->job.kind == JOB_NONE && r->state == NODE_RUNNING && !r->brutal &&
               command_queue_pop(&r->commands, &qc)) {
                int k = supervisors_up(e, qc.target) ? command_redundant(e, qc.cmd, qc.target) : -EBUSY;

                if (k < 0)
                        emit_command_done(e, qc.target, qc.cookie, k);
                else
                        sup_begin_command(e, s, qc.cmd, qc.target, qc.cookie);
        }
}

/* Decides the exits that waited while a job ran, as long as s stays idle. */
static void sup_drain_mailbox(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        size_t ci;
        unsigned gen;

        while (r->job.kind == JOB_NONE && r->state == NODE_RUNNING && !r->brutal &&
               mailbox_pop(&r->mailbox, &ci, &gen)) {
                NodeId c = child_id(e, s, ci);
                NodeRt *cr = rt(e, c);

                /* restarted or stopped by the job meanwhile: nothing left to decide */
                if (cr->generation != gen || cr->state != NODE_STOPPED || cr->held)
                        continue;
                sup_decide(e, s, c);
        }
        sup_serve_commands(e, s);
}

static void sup_job_done(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        NodeId p = parent_id(e, s);
        JobKind kind = r->job.kind;
        EndReason reason = r->job.reason;

        r->job.kind = JOB_NONE;
        switch (kind) {
        case JOB_START:
                set_state(e, s, NODE_RUNNING);
                emit_event(e, EVENT_READY, s);
                if (p != NODE_NONE)
                        sup_child_settled(e, p, s);
                break;
        case JOB_RESTART:
                break;
        case JOB_COMMAND: {
                NodeId c = r->job.target;
                bool wanted_up = r->job.start[spec(e, c)->child_index];
                int result = 0;

                /* a brutal kill from above skipped the start: the child never had its chance */
                if (wanted_up && rt(e, c)->state != NODE_RUNNING)
                        result = r->brutal ? -ECANCELED : -ECHILD;
                emit_command_done(e, c, r->job.cookie, result);
                break;
        }
        case JOB_SHUTDOWN:
                mailbox_clear(&r->mailbox);
                r->brutal = false;
                if (p == NODE_NONE) {
                        set_state(e, s, NODE_STOPPED);
                        tree_end(e, r->end_status);
                        return;
                }
                switch (reason) {
                case END_STOPPED:
                        node_finish_stop(e, s);
                        emit_end_event(e, EVENT_STOP, s, NULL, -1, NULL);
                        sup_child_settled(e, p, s);
                        return;
                case END_GAVE_UP:
                case END_AUTO_SHUTDOWN:
                        /* OTP: the supervisor exits with reason shutdown, a normal exit */
                        set_state(e, s, NODE_STOPPED);
                        r->has_exit = true;
                        r->exit_normal = true;
                        emit_end_event(e, EVENT_EXIT, s, NULL, true, NULL);
                        sup_child_exited(e, p, s);
                        return;
                case END_START_FAILED:
                        set_state(e, s, NODE_STOPPED);
                        r->start_failed = true;
                        r->has_exit = true;
                        r->exit_normal = false;
                        emit_end_event(e, EVENT_EXIT, s, NULL, false, r->error);
                        sup_child_settled(e, p, s);
                        return;
                case _END_REASON_MAX:
                        break;
                }
                engine_bug(e, "invalid end reason");
                return;
        case JOB_NONE:
        case _JOB_KIND_MAX:
                engine_bug(e, "job done without a job");
                return;
        }
        sup_drain_mailbox(e, s);
}

/*
 * A child that the stop phase finds already dead: like OTP's shutdown/2
 * receiving the EXIT that was queued, its pending exit is consumed here and
 * never decided on; a temporary one leaves the tree.
 */
static void node_absorb_exit(Engine *e, NodeId c) {
        NodeRt *r = rt(e, c);

        r->generation++; /* makes its mailbox entry stale */
        if (spec(e, c)->restart == RESTART_TEMPORARY)
                r->removed = true;
}

/* One step of the stop phase: returns true when it must wait for a child. */
static bool job_stop_next(Engine *e, NodeId s) {
        Job *j = &rt(e, s)->job;

        while (j->cursor > 0) {
                size_t i = --j->cursor;
                NodeId c = child_id(e, s, i);

                if (!j->stop[i])
                        continue;
                if (rt(e, c)->state == NODE_STOPPED) {
                        node_absorb_exit(e, c);
                        continue;
                }
                node_begin_stop(e, c);
                if (rt(e, c)->state != NODE_STOPPED) {
                        j->waiting_on = c;
                        return true;
                }
        }
        return false;
}

/* One step of the start phase: returns true when it must wait for a child. */
static bool job_start_next(Engine *e, NodeId s) {
        NodeRt *r = rt(e, s);
        Job *j = &r->job;
        size_t n = spec(e, s)->n_children;

        if (r->brutal)
                return false; /* being killed: start nothing */
        while (j->cursor < n) {
                size_t i = j->cursor++;
                NodeId c = child_id(e, s, i);
                NodeRt *cr = rt(e, c);

                if (!j->start[i] || cr->state != NODE_STOPPED)
                        continue;
                /* a plan restarts neither children stopped by command nor temporaries */
                if (j->kind == JOB_RESTART &&
                    (cr->held || cr->removed || spec(e, c)->restart == RESTART_TEMPORARY))
                        continue;
                if (j->kind == JOB_RESTART) {
                        cr->restarts++;
                        emit_event(e, EVENT_RESTART, c);
                }
                node_begin_start(e, c);
                if (cr->state != NODE_RUNNING) {
                        j->waiting_on = c;
                        return true;
                }
        }
        return false;
}

static void sup_advance(Engine *e, NodeId s) {
        Job *j = &rt(e, s)->job;

        if (j->kind == JOB_NONE || j->waiting_on != NODE_NONE)
                return;
        if (!j->starting) {
                if (job_stop_next(e, s))
                        return;
                j->starting = true;
                j->cursor = 0;
        }
        if (job_start_next(e, s))
                return;
        /* killed from above in the middle of its own start: it was never ready; the stop from above ends it */
        if (j->kind == JOB_START && rt(e, s)->brutal)
                return;
        sup_job_done(e, s);
}

/* A start failed inside s's job (the child is stopped again). */
static void sup_child_start_failed(Engine *e, NodeId s, NodeId c) {
        NodeRt *r = rt(e, s);
        char why[256];

        switch (r->job.kind) {
        case JOB_START:
                snprintf(why, sizeof(why), "child %s failed to start", spec(e, c)->name);
                set_error(e, s, why);
                r->end_status = EXIT_STATUS_START_FAILED;
                sup_begin_stop(e, s, END_START_FAILED);
                return;
        case JOB_RESTART:
                /* OTP retries at once, and each attempt counts against intensity */
                sup_restart_child(e, s, c);
                return;
        case JOB_COMMAND:
                rt(e, c)->held = true;
                sup_advance(e, s);
                return;
        case JOB_SHUTDOWN:
                sup_advance(e, s);
                return;
        case JOB_NONE:
        case _JOB_KIND_MAX:
                break;
        }
        engine_bug(e, "start failure outside a job");
}

/* Child c finished the stop or start that s's job was waiting for. */
static void sup_child_settled(Engine *e, NodeId s, NodeId c) {
        Job *j;

        if (s == NODE_NONE)
                return;
        j = &rt(e, s)->job;
        if (j->waiting_on != c)
                return; /* e.g. killed with its subtree before the job got to it */
        j->waiting_on = NODE_NONE;
        if (rt(e, c)->start_failed && rt(e, c)->state == NODE_STOPPED && j->starting)
                sup_child_start_failed(e, s, c);
        else
                sup_advance(e, s);
}

/* Child c of s ended on its own. */
static void sup_child_exited(Engine *e, NodeId s, NodeId c) {
        NodeRt *r = rt(e, s);

        if (r->state == NODE_STOPPING || r->brutal)
                return; /* everything is being stopped anyway */
        if (r->job.kind != JOB_NONE || r->state != NODE_RUNNING) {
                mailbox_push(e, s, c);
                return;
        }
        sup_decide(e, s, c);
}

/* ---- public API ------------------------------------------------------------------ */

static void engine_begin_input(Engine *e, ActionList *out, usec_t now) {
        e->out = out;
        e->now = now;
        e->error = 0;
}

static int engine_end_input(Engine *e) {
        e->out = NULL;
        return e->error;
}

static int node_rt_init(Engine *e, NodeId id) {
        const NodeSpec *n = spec(e, id);
        NodeRt *r = rt(e, id);
        size_t k = n->n_children;

        if (n->kind != NODE_SUPERVISOR)
                return 0;
        if (restart_window_init(&r->window, n->intensity, n->period) < 0)
                return -ENOMEM;
        r->job.stop = calloc(k ? k : 1, sizeof(bool));
        r->job.start = calloc(k ? k : 1, sizeof(bool));
        r->mailbox.child = calloc(k ? k : 1, sizeof(size_t));
        r->mailbox.generation = calloc(k ? k : 1, sizeof(unsigned));
        r->mailbox.capacity = k ? k : 1;
        r->commands.items = calloc(COMMAND_QUEUE_MAX, sizeof(QueuedCommand));
        r->job.waiting_on = NODE_NONE;
        if (!r->job.stop || !r->job.start || !r->mailbox.child || !r->mailbox.generation || !r->commands.items)
                return -ENOMEM;
        return 0;
}

Engine *engine_new(const Config *c) {
        Engine *e = calloc(1, sizeof(Engine));

        if (!e)
                return NULL;
        e->config = c;
        e->nodes = calloc(c->n_nodes, sizeof(NodeRt));
        if (!e->nodes)
                return engine_free(e);
        for (NodeId id = 0; id < c->n_nodes; id++)
                if (node_rt_init(e, id) < 0)
                        return engine_free(e);
        return e;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        for (NodeId id = 0; e->nodes && id < e->config->n_nodes; id++) {
                NodeRt *r = rt(e, id);
                restart_window_done(&r->window);
                free(r->job.stop);
                free(r->job.start);
                free(r->mailbox.child);
                free(r->mailbox.generation);
                free(r->commands.items);
                free(r->error);
        }
        free(e->nodes);
        free(e);
        return NULL;
}

int engine_start(Engine *e, usec_t now, ActionList *out) {
        if (rt(e, 0)->state != NODE_STOPPED || e->finished)
                return -EALREADY;
        engine_begin_input(e, out, now);
        sup_begin_start(e, 0);
        return engine_end_input(e);
}

static bool valid_service(const Engine *e, NodeId id) {
        return id < e->config->n_nodes && !is_supervisor(e, id);
}

int engine_on_exec(Engine *e, NodeId c, usec_t now, ActionList *out) {
        if (!valid_service(e, c))
                return -EINVAL;
        engine_begin_input(e, out, now);
        if (rt(e, c)->state == NODE_STARTING && spec(e, c)->ready == READY_EXEC)
                svc_became_ready(e, c);
        return engine_end_input(e);
}

int engine_on_ready(Engine *e, NodeId c, usec_t now, ActionList *out) {
        if (!valid_service(e, c))
                return -EINVAL;
        engine_begin_input(e, out, now);
        /* READY=1 from a service that is not waited for (sent twice, or late) changes nothing */
        if (rt(e, c)->state == NODE_STARTING && !rt(e, c)->ready_timed_out)
                svc_became_ready(e, c);
        return engine_end_input(e);
}

int engine_on_spawn_failed(Engine *e, NodeId c, int error, const char *what, usec_t now, ActionList *out) {
        NodeRt *r;

        if (!valid_service(e, c))
                return -EINVAL;
        engine_begin_input(e, out, now);
        r = rt(e, c);
        switch (r->state) {
        case NODE_STARTING:
                svc_start_failed(e, c, NULL, what ? what : strerror(error));
                break;
        case NODE_STOPPING:
                /* asked to stop before exec got anywhere: it is stopped now */
                node_finish_stop(e, c);
                emit_end_event(e, EVENT_STOP, c, NULL, -1, NULL);
                sup_child_settled(e, parent_id(e, c), c);
                break;
        case NODE_RUNNING:
        case NODE_STOPPED:
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
                engine_bug(e, "spawn failure of a service that was not starting");
                break;
        }
        return engine_end_input(e);
}

int engine_on_exit(Engine *e, NodeId c, ExitStatus st, usec_t now, ActionList *out) {
        if (!valid_service(e, c))
                return -EINVAL;
        engine_begin_input(e, out, now);
        svc_on_exit(e, c, st);
        return engine_end_input(e);
}

int engine_on_timer(Engine *e, NodeId id, usec_t now, ActionList *out) {
        NodeRt *r;

        if (id >= e->config->n_nodes)
                return -EINVAL;
        engine_begin_input(e, out, now);
        r = rt(e, id);
        if (!r->timer_armed)
                return engine_end_input(e); /* fired as it was being disarmed */
        r->timer_armed = false;
        if (is_supervisor(e, id)) {
                if (r->state == NODE_STOPPING)
                        sup_kill_subtree(e, id);
        } else if (r->state == NODE_STOPPING)
                svc_kill(e, id);
        else if (r->state == NODE_STARTING && !r->kill_sent) {
                /* readiness deadline: kill it; its exit ends the failed start */
                r->ready_timed_out = true;
                r->kill_sent = true;
                emit_signal(e, id, SIGKILL);
        }
        return engine_end_input(e);
}

int engine_command(Engine *e, EngineCommand cmd, NodeId c, uint64_t cookie, usec_t now, ActionList *out) {
        NodeId s;
        NodeRt *sr;
        int r;

        if (c == 0 || c >= e->config->n_nodes || cmd < 0 || cmd >= _COMMAND_MAX)
                return -EINVAL;
        if (!supervisors_up(e, c))
                return -EBUSY;
        s = parent_id(e, c);
        sr = rt(e, s);
        engine_begin_input(e, out, now);
        if (sr->job.kind != JOB_NONE || sr->commands.count > 0) {
                QueuedCommand qc = { .cmd = cmd, .target = c, .cookie = cookie };

                if (!command_queue_push(&sr->commands, qc)) {
                        (void) engine_end_input(e);
                        return -ENOBUFS;
                }
                return engine_end_input(e);
        }
        r = command_redundant(e, cmd, c);
        if (r < 0) {
                (void) engine_end_input(e);
                return r;
        }
        sup_begin_command(e, s, cmd, c, cookie);
        return engine_end_input(e);
}

int engine_shutdown(Engine *e, usec_t now, ActionList *out) {
        NodeRt *root = rt(e, 0);

        engine_begin_input(e, out, now);
        if (e->finished || root->state == NODE_STOPPING)
                return engine_end_input(e); /* already on its way: change nothing */
        if (root->state == NODE_STOPPED) {
                tree_end(e, EXIT_STATUS_OK); /* never started */
                return engine_end_input(e);
        }
        root->end_status = EXIT_STATUS_OK;
        sup_begin_stop(e, 0, END_STOPPED);
        return engine_end_input(e);
}

/* Marks every supervisor brutal and kills the services already being stopped. */
static void hurry_subtree(Engine *e, NodeId s) {
        const NodeSpec *n = spec(e, s);

        rt(e, s)->brutal = true;
        for (size_t i = 0; i < n->n_children; i++) {
                NodeId c = child_id(e, s, i);

                if (is_supervisor(e, c))
                        hurry_subtree(e, c);
                else if (rt(e, c)->state == NODE_STOPPING)
                        svc_kill(e, c);
        }
}

int engine_hurry(Engine *e, usec_t now, ActionList *out) {
        int r = engine_shutdown(e, now, out);

        if (r < 0 || e->finished)
                return r;
        engine_begin_input(e, out, now);
        hurry_subtree(e, 0);
        return engine_end_input(e);
}

/* ---- read-only views --------------------------------------------------------------- */

NodeState engine_node_state(const Engine *e, NodeId id) {
        return id < e->config->n_nodes ? e->nodes[id].state : _NODE_STATE_INVALID;
}

unsigned engine_node_restarts(const Engine *e, NodeId id) {
        return id < e->config->n_nodes ? e->nodes[id].restarts : 0;
}

unsigned engine_node_window_restarts(const Engine *e, NodeId id, usec_t now) {
        if (id >= e->config->n_nodes || e->config->nodes[id]->kind != NODE_SUPERVISOR)
                return 0;
        return restart_window_count(&e->nodes[id].window, now);
}

usec_t engine_node_since(const Engine *e, NodeId id) {
        return id < e->config->n_nodes ? e->nodes[id].since : 0;
}

bool engine_node_last_exit(const Engine *e, NodeId id, ExitStatus *ret) {
        if (id >= e->config->n_nodes || !e->nodes[id].has_exit)
                return false;
        *ret = e->nodes[id].last_exit;
        return true;
}

bool engine_node_removed(const Engine *e, NodeId id) {
        return id < e->config->n_nodes && e->nodes[id].removed;
}

const char *engine_node_error(const Engine *e, NodeId id) {
        return id < e->config->n_nodes ? e->nodes[id].error : NULL;
}

bool engine_finished(const Engine *e) {
        return e->finished;
}
