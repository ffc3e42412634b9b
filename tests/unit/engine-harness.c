/* SPDX-License-Identifier: MIT */
#include "engine-harness.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "signal-util.h"

/* ---- small utilities ----------------------------------------------------- */

static void *xmalloc0(size_t n) {
        void *p = calloc(1, n);
        cr_assert_not_null(p, "out of memory");
        return p;
}

static char *xstrdup(const char *s) {
        char *p = strdup(s);
        cr_assert_not_null(p, "out of memory");
        return p;
}

static void *xrealloc(void *p, size_t n) {
        void *q = realloc(p, n);
        cr_assert_not_null(q, "out of memory");
        return q;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        cr_assert_geq(r, 0, "out of memory");
        return s;
}

const char *at_ms(usec_t t) {
        static char buf[64];

        if (t == USEC_INFINITY)
                snprintf(buf, sizeof(buf), "infinity");
        else if (t % USEC_PER_MSEC == 0)
                snprintf(buf, sizeof(buf), "%llums", (unsigned long long) (t / USEC_PER_MSEC));
        else
                snprintf(buf, sizeof(buf), "%lluus", (unsigned long long) t);
        return buf;
}

static const char *sig_name(int sig) {
        static char buf[32];
        const char *s = signal_to_string(sig);

        if (s)
                return s;
        snprintf(buf, sizeof(buf), "SIG#%d", sig);
        return buf;
}

/* ---- TreeBuilder --------------------------------------------------------- */

static NodeSpec *tb_node_new(NodeKind kind, const char *name, RestartPolicy restart) {
        NodeSpec *n = xmalloc0(sizeof(NodeSpec));

        n->kind = kind;
        n->name = xstrdup(name);
        n->restart = restart;
        n->significant = false;
        n->strategy = STRATEGY_ONE_FOR_ONE;
        n->intensity = 1;
        n->period = TB_S(5);
        n->auto_shutdown = AUTO_SHUTDOWN_NEVER;
        n->stop_signal = SIGTERM;
        n->ready = READY_EXEC;
        n->ready_timeout = USEC_INFINITY;
        if (kind == NODE_SUPERVISOR)
                n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_INFINITY, .timeout = 0 };
        else {
                n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_TIMEOUT, .timeout = TB_S(5) };
                n->argv = xmalloc0(2 * sizeof(char *));
                n->argv[0] = xstrdup("/bin/true");
                n->argv[1] = NULL;
        }
        return n;
}

static void tb_attach(NodeSpec *parent, NodeSpec *child) {
        cr_assert_not_null(parent);
        cr_assert_eq(parent->kind, NODE_SUPERVISOR, "tb: %s is not a supervisor", parent->name);
        parent->children = xrealloc(parent->children, (parent->n_children + 1) * sizeof(NodeSpec *));
        child->child_index = parent->n_children;
        child->parent = parent;
        parent->children[parent->n_children++] = child;
}

NodeSpec *tb_root(Strategy strategy, unsigned intensity, usec_t period) {
        NodeSpec *n = tb_node_new(NODE_SUPERVISOR, "root", RESTART_PERMANENT);

        n->strategy = strategy;
        n->intensity = intensity;
        n->period = period;
        return n;
}

NodeSpec *tb_sup(NodeSpec *parent, const char *name, Strategy strategy, unsigned intensity,
                 usec_t period, RestartPolicy restart) {
        NodeSpec *n = tb_node_new(NODE_SUPERVISOR, name, restart);

        n->strategy = strategy;
        n->intensity = intensity;
        n->period = period;
        tb_attach(parent, n);
        return n;
}

NodeSpec *tb_svc(NodeSpec *parent, const char *name, RestartPolicy restart) {
        NodeSpec *n = tb_node_new(NODE_SERVICE, name, restart);

        tb_attach(parent, n);
        return n;
}

void tb_shutdown_timeout(NodeSpec *n, usec_t timeout) {
        n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_TIMEOUT, .timeout = timeout };
}

void tb_brutal_kill(NodeSpec *n) {
        n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_BRUTAL_KILL, .timeout = 0 };
}

void tb_shutdown_infinity(NodeSpec *n) {
        n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_INFINITY, .timeout = 0 };
}

void tb_significant(NodeSpec *n) {
        n->significant = true;
}

void tb_auto_shutdown(NodeSpec *sup, AutoShutdown a) {
        cr_assert_eq(sup->kind, NODE_SUPERVISOR);
        sup->auto_shutdown = a;
}

void tb_notify(NodeSpec *svc, usec_t ready_timeout) {
        cr_assert_eq(svc->kind, NODE_SERVICE);
        svc->ready = READY_NOTIFY;
        svc->ready_timeout = ready_timeout;
}

void tb_stop_signal(NodeSpec *svc, int sig) {
        svc->stop_signal = sig;
}

void tb_success_codes(NodeSpec *svc, ...) {
        va_list ap;
        int code;

        va_start(ap, svc);
        while ((code = va_arg(ap, int)) >= 0) {
                svc->success_exit_codes = xrealloc(svc->success_exit_codes,
                                                   (svc->n_success_exit_codes + 1) * sizeof(int));
                svc->success_exit_codes[svc->n_success_exit_codes++] = code;
        }
        va_end(ap);
}

static size_t tb_count(const NodeSpec *n) {
        size_t k = 1;

        for (size_t i = 0; i < n->n_children; i++)
                k += tb_count(n->children[i]);
        return k;
}

static void tb_flatten(Config *c, NodeSpec *n) {
        n->index = c->n_nodes;
        c->nodes[c->n_nodes++] = n;
        n->path = n->parent ? xasprintf("%s/%s", n->parent->path, n->name) : xstrdup(n->name);
        for (size_t i = 0; i < n->n_children; i++) {
                cr_assert_eq(n->children[i]->child_index, i);
                cr_assert_eq(n->children[i]->parent, n);
                tb_flatten(c, n->children[i]);
        }
}

Config *tb_build(NodeSpec *root) {
        Config *c = xmalloc0(sizeof(Config));

        cr_assert_null(root->parent, "tb_build() wants the root");
        c->nodes = xmalloc0(tb_count(root) * sizeof(NodeSpec *));
        tb_flatten(c, root);

        /* Names are unique in the whole tree (config.c enforces it). */
        for (size_t i = 0; i < c->n_nodes; i++)
                for (size_t j = i + 1; j < c->n_nodes; j++)
                        cr_assert(!streq(c->nodes[i]->name, c->nodes[j]->name),
                                  "tb: duplicate name %s", c->nodes[i]->name);
        return c;
}

/* ---- Harness: bookkeeping ------------------------------------------------ */

/* The harness of the running test: freed at exit when a failed assertion
 * left the test before its harness_free(), so valgrind only reports real leaks. */
static Harness *live_harness;

static void free_live_harness(void) {
        harness_free(live_harness);
}

Harness *harness_new(Config *c) {
        Harness *h = xmalloc0(sizeof(Harness));
        static bool registered;

        if (!registered) {
                cr_assert_eq(atexit(free_live_harness), 0);
                registered = true;
        }
        live_harness = h;

        h->config = c;
        h->now = HARNESS_T0;
        h->engine = engine_new(c);
        cr_assert_not_null(h->engine, "engine_new() failed");
        h->procs = xmalloc0(c->n_nodes * sizeof(ProcModel));
        for (size_t i = 0; i < c->n_nodes; i++)
                sigemptyset(&h->procs[i].ignored);
        return h;
}

void forget(Harness *h) {
        for (size_t i = 0; i < h->n_lines; i++)
                free(h->lines[i]);
        h->n_lines = 0;
}

void harness_free(Harness *h) {
        if (!h)
                return;
        if (h == live_harness)
                live_harness = NULL;
        forget(h);
        free(h->lines);
        free(h->work);
        free(h->procs);
        action_list_done(&h->out);
        h->engine = engine_free(h->engine);
        h->config = config_free(h->config);
        free(h);
}

NodeId node(Harness *h, const char *name) {
        const NodeSpec *n = config_find_node(h->config, name);

        cr_assert_not_null(n, "no node named '%s' in the test's tree", name);
        return n->index;
}

NodeState state_of(Harness *h, const char *name) {
        return engine_node_state(h->engine, node(h, name));
}

static const NodeSpec *spec_of(Harness *h, NodeId id) {
        cr_assert_lt(id, h->config->n_nodes, "node id %zu out of range", id);
        return h->config->nodes[id];
}

static void add_line(Harness *h, char *line) {
        if (h->n_lines == h->allocated_lines) {
                h->allocated_lines = h->allocated_lines ? 2 * h->allocated_lines : 64;
                h->lines = xrealloc(h->lines, h->allocated_lines * sizeof(char *));
        }
        h->lines[h->n_lines++] = line;
}

static void push_work(Harness *h, WorkKind kind, NodeId id, int sig) {
        if (h->n_work == h->allocated_work) {
                h->allocated_work = h->allocated_work ? 2 * h->allocated_work : 64;
                h->work = xrealloc(h->work, h->allocated_work * sizeof(Work));
        }
        h->work[h->n_work++] = (Work) {
                .kind = kind,
                .node = id,
                .gen = h->procs[id].gen,
                .signal = sig,
        };
}

/* ---- Harness: rendering -------------------------------------------------- */

static char *render_event(Harness *h, const Event *ev) {
        const char *kind = event_kind_to_string(ev->kind);
        const NodeSpec *n = ev->path ? config_find_node(h->config, ev->path) : NULL;
        char buf[512];
        size_t k = 0;

#define APPEND(...) k += (size_t) snprintf(buf + k, k < sizeof(buf) ? sizeof(buf) - k : 0, __VA_ARGS__)
        APPEND("event %s %s", kind ? kind : "<bad kind>", ev->path ? ev->path : "<null path>");
        if (ev->path && (!n || !streq(n->path, ev->path)))
                APPEND(" (not a path!)");

        switch (ev->kind) {
        case EVENT_SHUTDOWN:
                APPEND(" code=%d", ev->code);
                if (ev->signal != 0)
                        APPEND(" signal=%s", sig_name(ev->signal));
                break;
        case EVENT_EXIT:
        case EVENT_STOP:
                /* A supervisor has no process status to show. */
                if (n && n->kind == NODE_SERVICE) {
                        if (ev->signal > 0)
                                APPEND(" signal=%s", sig_name(ev->signal));
                        else if (ev->code >= 0)
                                APPEND(" code=%d", ev->code);
                }
                break;
        case EVENT_START:
        case EVENT_READY:
        case EVENT_RESTART:
        case EVENT_GIVEUP:
        case _EVENT_KIND_MAX:
        case _EVENT_KIND_INVALID:
                break;
        }
        /* .error must be a readable string until the next input: reading it
         * here lets valgrind/ASan catch a dangling one */
        if (ev->error)
                APPEND(strlen(ev->error) > 0 ? " error" : " error=\"\"!");
        if (ev->kind == EVENT_EXIT) {
                if (ev->normal > 0)
                        APPEND(" normal");
                else if (ev->normal == 0)
                        APPEND(" abnormal");
                else
                        APPEND(" normal=n/a");
        }
        if (ev->ts != h->now)
                APPEND(" ts=%llu!", (unsigned long long) ev->ts);
#undef APPEND
        return xstrdup(buf);
}

/* The results engine_command() documents, by name. */
static const char *command_result_name(int result) {
        switch (result) {
        case 0:
                return "ok";
        case -EALREADY:
                return "EALREADY";
        case -ECHILD:
                return "ECHILD";
        case -EBUSY:
                return "EBUSY";
        case -ECANCELED:
                return "ECANCELED";
        default:
                return "(undocumented result!)";
        }
}

static char *render_action(Harness *h, const Action *a) {
        const NodeSpec *n = a->node < h->config->n_nodes ? h->config->nodes[a->node] : NULL;
        const char *path = n ? n->path : "<bad node>";
        ProcModel *p = n ? &h->procs[a->node] : NULL;
        const char *after_exit = h->exited ? " (after exit!)" : "";

        switch (a->kind) {
        case ACTION_SPAWN: {
                const char *anomaly = "";
                if (!n)
                        return xasprintf("spawn %s", path);
                if (n->kind != NODE_SERVICE)
                        anomaly = " (not a service!)";
                else if (p->state != PROC_NONE)
                        anomaly = " (already has a process!)";
                p->state = PROC_SPAWNED;
                p->gen++;
                p->readied = false;
                p->dying = false;
                p->spawns++;
                push_work(h, WORK_EXEC, a->node, 0);
                return xasprintf("spawn %s%s%s", path, anomaly, after_exit);
        }
        case ACTION_SIGNAL: {
                const char *anomaly = "";
                if (!n)
                        return xasprintf("signal %s %s", path, sig_name(a->signal));
                if (n->kind != NODE_SERVICE)
                        anomaly = " (not a service!)";
                else if (p->state == PROC_NONE)
                        anomaly = " (no process!)";
                else if (!p->dying && (a->signal == SIGKILL || !sigismember(&p->ignored, a->signal))) {
                        p->dying = true;
                        push_work(h, WORK_EXIT_SIGNAL, a->node, a->signal);
                }
                return xasprintf("signal %s %s%s%s", path, sig_name(a->signal), anomaly, after_exit);
        }
        case ACTION_ARM_TIMER: {
                char *s = xasprintf("arm %s %s%s%s", path, at_ms(a->usec),
                                    a->usec < h->now ? " (in the past!)" : "", after_exit);
                if (p) {
                        p->timer_armed = true;
                        p->timer_at = a->usec;
                }
                return s;
        }
        case ACTION_DISARM_TIMER:
                if (p)
                        p->timer_armed = false;
                return xasprintf("disarm %s%s", path, after_exit);
        case ACTION_EVENT: {
                char *e = render_event(h, &a->event);
                char *s = xasprintf("%s%s", e, after_exit);
                free(e);
                return s;
        }
        case ACTION_COMMAND_DONE: {
                bool known = a->cookie >= 1 && a->cookie <= h->n_commands && h->command_waiting[a->cookie];

                if (known)
                        h->command_waiting[a->cookie] = false;
                return xasprintf("done %s #%llu %s%s%s", path, (unsigned long long) a->cookie,
                                 command_result_name(a->result), known ? "" : " (no such command waits!)",
                                 after_exit);
        }
        case ACTION_EXIT: {
                char *s = xasprintf("exit %d%s", a->exit_status, after_exit);
                h->exited = true;
                h->exit_status = a->exit_status;
                return s;
        }
        case _ACTION_KIND_MAX:
        case _ACTION_KIND_INVALID:
                break;
        }
        return xasprintf("<bad action kind %d>", (int) a->kind);
}

static void render(Harness *h) {
        for (size_t i = 0; i < h->out.n; i++)
                add_line(h, render_action(h, &h->out.items[i]));
        action_list_clear(&h->out);
}

/* ---- Harness: inputs ----------------------------------------------------- */

/* Runs one engine input (call appends to h->out), renders its actions; the input's result. */
#define FEED(h, call)                                   \
        ({                                              \
                action_list_clear(&(h)->out);           \
                int _r_ = (call);                       \
                render(h);                              \
                _r_;                                    \
        })

/* The same, for inputs the engine must accept: "what" names it in the failure. */
#define FEED_OK(h, call, what, id)                                                              \
        do {                                                                                    \
                int _fed_ = FEED(h, call);                                                      \
                cr_assert_geq(_fed_, 0, "%s(%s) = %d", (what), spec_of((h), (id))->path, _fed_); \
        } while (0)

void advance(Harness *h, usec_t usec) {
        h->now += usec;
}

void advance_to(Harness *h, usec_t at) {
        cr_assert_geq(at, h->now, "time does not go back (now %s)", at_ms(h->now));
        h->now = at;
}

void h_start(Harness *h) {
        FEED_OK(h, engine_start(h->engine, h->now, &h->out), "engine_start", 0);
}

static void do_exec(Harness *h, NodeId id) {
        h->procs[id].state = PROC_RUNNING;
        FEED_OK(h, engine_on_exec(h->engine, id, h->now, &h->out), "engine_on_exec", id);
}

void exec_ok(Harness *h, const char *name) {
        NodeId id = node(h, name);

        cr_assert_eq(h->procs[id].state, PROC_SPAWNED, "test bug: %s was not spawned", name);
        do_exec(h, id);
}

static void do_ready(Harness *h, NodeId id) {
        h->procs[id].readied = true;
        FEED_OK(h, engine_on_ready(h->engine, id, h->now, &h->out), "engine_on_ready", id);
}

void ready(Harness *h, const char *name) {
        NodeId id = node(h, name);

        cr_assert_eq(h->procs[id].state, PROC_RUNNING, "test bug: %s is not running", name);
        do_ready(h, id);
}

static void do_spawn_fail(Harness *h, NodeId id, int error) {
        h->procs[id].state = PROC_NONE;
        FEED_OK(h, engine_on_spawn_failed(h->engine, id, error, "exec", h->now, &h->out), "engine_on_spawn_failed", id);
}

void spawn_fail(Harness *h, const char *name, int error) {
        NodeId id = node(h, name);

        cr_assert_eq(h->procs[id].state, PROC_SPAWNED, "test bug: %s was not spawned", name);
        do_spawn_fail(h, id, error);
}

static void do_exit(Harness *h, NodeId id, ExitStatus st) {
        h->procs[id].state = PROC_NONE;
        h->procs[id].dying = false;
        FEED_OK(h, engine_on_exit(h->engine, id, st, h->now, &h->out), "engine_on_exit", id);
}

void crash(Harness *h, const char *name, int code) {
        NodeId id = node(h, name);

        cr_assert_neq(h->procs[id].state, PROC_NONE, "test bug: %s has no process", name);
        do_exit(h, id, (ExitStatus) { .code = code, .signal = 0 });
}

void kill_by_signal(Harness *h, const char *name, int sig) {
        NodeId id = node(h, name);

        cr_assert_neq(h->procs[id].state, PROC_NONE, "test bug: %s has no process", name);
        do_exit(h, id, (ExitStatus) { .code = 0, .signal = sig });
}

void timer_at(Harness *h, const char *name, usec_t at) {
        NodeId id = node(h, name);

        cr_assert(h->procs[id].timer_armed, "test bug: no timer armed for %s", name);
        advance_to(h, at);
        h->procs[id].timer_armed = false;
        FEED_OK(h, engine_on_timer(h->engine, id, h->now, &h->out), "engine_on_timer", id);
}

void timer(Harness *h, const char *name) {
        NodeId id = node(h, name);

        cr_assert(h->procs[id].timer_armed, "test bug: no timer armed for %s", name);
        timer_at(h, name, MAX(h->now, h->procs[id].timer_at));
}

int command(Harness *h, EngineCommand cmd, const char *name) {
        unsigned cookie = ++h->n_commands;
        int r;

        cr_assert_leq(cookie, HARNESS_MAX_COMMANDS, "test bug: too many commands");
        h->command_waiting[cookie] = true; /* before: it may be done at once */
        r = FEED(h, engine_command(h->engine, cmd, node(h, name), cookie, h->now, &h->out));
        if (r < 0) {
                cr_assert(h->command_waiting[cookie], "command #%u was refused (%d) but reported done", cookie, r);
                h->command_waiting[cookie] = false;
        }
        return r;
}

int h_shutdown(Harness *h) {
        return FEED(h, engine_shutdown(h->engine, h->now, &h->out));
}

/* ---- Harness: the process model ------------------------------------------ */

void fail_spawns(Harness *h, const char *name, int error, unsigned count) {
        NodeId id = node(h, name);

        h->procs[id].fail_errno = error;
        h->procs[id].fail_count = count;
}

void no_ready(Harness *h, const char *name) {
        h->procs[node(h, name)].no_ready = true;
}

void ignore_signal(Harness *h, const char *name, int sig) {
        cr_assert_neq(sig, SIGKILL, "SIGKILL cannot be ignored");
        sigaddset(&h->procs[node(h, name)].ignored, sig);
}

void settle(Harness *h) {
        for (unsigned rounds = 0; h->work_head < h->n_work; rounds++) {
                Work w = h->work[h->work_head++];
                ProcModel *p = &h->procs[w.node];
                const NodeSpec *n = spec_of(h, w.node);

                cr_assert_lt(rounds, 10000u, "settle(): the engine does not settle");
                if (w.gen != p->gen)
                        continue; /* a process that is gone */

                switch (w.kind) {
                case WORK_EXEC:
                        if (p->state != PROC_SPAWNED)
                                break;
                        if (p->fail_count > 0) {
                                p->fail_count--;
                                add_line(h, xasprintf("> spawnfail %s", n->path));
                                do_spawn_fail(h, w.node, p->fail_errno);
                                break;
                        }
                        add_line(h, xasprintf("> exec %s", n->path));
                        do_exec(h, w.node);
                        if (n->ready == READY_NOTIFY && !p->no_ready)
                                push_work(h, WORK_READY, w.node, 0);
                        break;
                case WORK_READY:
                        if (p->state != PROC_RUNNING || p->dying || p->readied)
                                break;
                        add_line(h, xasprintf("> ready %s", n->path));
                        do_ready(h, w.node);
                        break;
                case WORK_EXIT_SIGNAL:
                        if (p->state == PROC_NONE)
                                break;
                        add_line(h, xasprintf("> exit %s signal=%s", n->path, sig_name(w.signal)));
                        do_exit(h, w.node, (ExitStatus) { .code = 0, .signal = w.signal });
                        break;
                }
        }
        h->work_head = h->n_work = 0;
}

static char *dump_lines(Harness *h) {
        char *msg = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&msg, &len);

        cr_assert_not_null(f);
        for (size_t i = 0; i < h->n_lines; i++)
                fprintf(f, "  %3zu %s\n", i + 1, h->lines[i]);
        fclose(f);
        return msg;
}

void start_tree_all_exec_ok(Harness *h) {
        h_start(h);
        settle(h);
        if (engine_node_state(h->engine, 0) != NODE_RUNNING)
                cr_assert_fail("the tree did not start; actions:\n%s", dump_lines(h));
        forget(h);
}

/* ---- assertions ---------------------------------------------------------- */

static size_t collect(va_list ap, const char ***ret) {
        const char **v = NULL;
        size_t n = 0;
        const char *s;

        while ((s = va_arg(ap, const char *))) {
                v = xrealloc(v, (n + 1) * sizeof(char *));
                v[n++] = s;
        }
        *ret = v;
        return n;
}

static char *diff_message(const char *file, int line, const char *what, const char **exp, size_t n_exp,
                          char **act, size_t n_act) {
        size_t n = MAX(n_exp, n_act), first = n;
        char *msg = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&msg, &len);

        cr_assert_not_null(f);
        for (size_t i = 0; i < n; i++)
                if (i >= n_exp || i >= n_act || !streq(exp[i], act[i])) {
                        first = i;
                        break;
                }
        fprintf(f, "%s:%d: %s differ at #%zu (expected %zu lines, got %zu)\n", file, line, what,
                first + 1, n_exp, n_act);
        fprintf(f, "      %-46s %s\n", "expected", "actual");
        for (size_t i = 0; i < n; i++) {
                const char *e = i < n_exp ? exp[i] : "";
                const char *a = i < n_act ? act[i] : "";
                fprintf(f, "%s %3zu %-46s %s\n", streq(e, a) ? " " : "!", i + 1, e, a);
        }
        fclose(f);
        return msg;
}

/* Fails the test with msg; frees what it is given first (the failure does not return). */
static void fail_with(char *msg, const char **exp, char **act) {
        static char buf[16384];

        snprintf(buf, sizeof(buf), "%s", msg);
        free(msg);
        free(exp);
        free(act);
        cr_assert_fail("%s", buf);
}

void harness_expect(const char *file, int line, Harness *h, ...) {
        const char **exp;
        size_t n_exp;
        bool same;
        va_list ap;

        va_start(ap, h);
        n_exp = collect(ap, &exp);
        va_end(ap);

        same = n_exp == h->n_lines;
        for (size_t i = 0; same && i < n_exp; i++)
                same = streq(exp[i], h->lines[i]);
        if (!same) {
                fail_with(diff_message(file, line, "actions", exp, n_exp, h->lines, h->n_lines), exp, NULL);
        }
        free(exp);
        forget(h);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

void harness_expect_set(const char *file, int line, Harness *h, ...) {
        const char **exp;
        size_t n_exp;
        bool same;
        va_list ap;
        char **act;

        va_start(ap, h);
        n_exp = collect(ap, &exp);
        va_end(ap);

        act = xmalloc0((h->n_lines + 1) * sizeof(char *));
        memcpy(act, h->lines, h->n_lines * sizeof(char *));
        qsort(exp, n_exp, sizeof(char *), cmp_str);
        qsort(act, h->n_lines, sizeof(char *), cmp_str);

        same = n_exp == h->n_lines;
        for (size_t i = 0; same && i < n_exp; i++)
                same = streq(exp[i], act[i]);
        if (!same) {
                fail_with(diff_message(file, line, "actions (as sets, sorted)", exp, n_exp, act, h->n_lines), exp,
                          act);
        }
        free(act);
        free(exp);
        forget(h);
}
