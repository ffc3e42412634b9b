/* SPDX-License-Identifier: MIT */
/*
 * arborctl: a thin client of arbord's control socket. Parse argv, make one
 * D-Bus call (peer to peer, lib/control-api.h), print for people or --json
 * for scripts, and exit with one of the documented codes.
 */

#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "control-api.h"
#include "event.h"
#include "json-util.h"
#include "macro.h"
#include "signal-util.h"
#include "time-util.h"

typedef struct Options {
        const char *socket;
        bool json;
        const char *signal;
        bool color;
        bool utf8;
} Options;

/* One node of a Status reply; strings point into the reply message. */
typedef struct Node {
        const char *path, *kind, *strategy, *restart, *state, *exit_signal;
        uint32_t pid, restarts, window_restarts, intensity;
        uint64_t since, period;
        int32_t exit_code;
        int exited, removed; /* 'b' reads as int */
} Node;

typedef struct Status {
        sd_bus_message *reply;
        uint64_t now;
        Node *nodes;
        size_t n;
} Status;

static void status_done(Status *s) {
        free(s->nodes);
        s->nodes = NULL;
        s->reply = sd_bus_message_unref(s->reply);
}

static void help(void) {
        printf("Usage: arborctl [OPTIONS] COMMAND [ARGS...]\n"
               "\n"
               "Controls arbord, the supervision tree, through its control socket.\n"
               "\n"
               "Commands:\n"
               "  status [NAME]          the tree, or NAME's subtree: state, pid, uptime, restarts\n"
               "  start NAME             start a stopped child (a service or a whole subtree)\n"
               "  stop NAME              stop a child; it stays stopped until started (not a crash)\n"
               "  restart NAME           stop a child (if running), then start it\n"
               "  kill [-s SIG] NAME     send SIG (default SIGTERM) to every running service of NAME\n"
               "  shutdown               stop the whole tree; arbord then exits\n"
               "  events                 print lifecycle events as they happen, until interrupted\n"
               "  check                  exit 0 only when every child is running (temporary ones and\n"
               "                         transient ones that exited 0 excepted)\n"
               "  version                the versions of arborctl and of the running arbord\n"
               "\n"
               "NAME is a path in the tree (root/web/api) or a child's unique name (api).\n"
               "\n"
               "Options:\n"
               "      --socket PATH      arbord's control socket (default: $" ARBOR_SOCKET_ENV ", else\n"
               "                         " ARBOR_SOCKET_SYSTEM " for root, $XDG_RUNTIME_DIR/" ARBOR_SOCKET_NAME "\n"
               "                         or else " ARBOR_SOCKET_SYSTEM " for others)\n"
               "      --json             status, events, check, version: print JSON\n"
               "  -s, --signal SIG       kill: the signal, by name (TERM, SIGHUP) or number\n"
               "  -h, --help             show this help\n"
               "      --version          show arborctl's version\n"
               "\n"
               "Exit codes:\n"
               "  %d  success\n"
               "  %d  the operation failed or was refused (check: not every child is running)\n"
               "  %d  usage error\n"
               "  %d  arbord is not reachable (not running, or no socket at that path)\n"
               "  %d  no such child\n"
               "  %d  permission denied\n"
               "\n"
               "See arborctl(8).\n",
               ARBORCTL_EXIT_OK, ARBORCTL_EXIT_FAILED, ARBORCTL_EXIT_USAGE, ARBORCTL_EXIT_UNREACHABLE,
               ARBORCTL_EXIT_NO_SUCH_CHILD, ARBORCTL_EXIT_PERMISSION);
}

_printf_(1, 2) static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("arborctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'arborctl --help'.\n", stderr);
        return ARBORCTL_EXIT_USAGE;
}

/* ---- connecting ------------------------------------------------------------------------ */

/* --socket, then $ARBOR_SOCKET, then the default of our uid (falling back to the system socket). */
static int socket_path(const Options *o, char **ret) {
        const char *env = getenv(ARBOR_SOCKET_ENV);
        struct stat st;
        char *p = NULL;
        int r;

        if (o->socket || (env && *env)) {
                p = strdup(o->socket ? o->socket : env);
                if (!p)
                        return -ENOMEM;
                *ret = p;
                return 0;
        }
        r = control_default_socket(geteuid(), &p);
        if (r == -ENOMEM)
                return r;
        /* a user's own arbord first; else the system's (as a member of its control group) */
        if (r < 0 || (geteuid() != 0 && lstat(p, &st) < 0)) {
                free(p);
                p = strdup(ARBOR_SOCKET_SYSTEM);
                if (!p)
                        return -ENOMEM;
        }
        *ret = p;
        return 0;
}

/*
 * A copy of our end of the connection: when arbord refuses us it writes
 * "REJECTED" lines and closes, and our first write may fail with EPIPE before
 * sd-bus reads them. They still wait in the socket: peek at them.
 */
static int connection_copy = -EBADF;

static bool refused_by_arbord(void) {
        char buf[sizeof(ARBOR_REFUSED) - 1];

        return connection_copy >= 0 &&
               recv(connection_copy, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == (ssize_t) sizeof(buf) &&
               memcmp(buf, ARBOR_REFUSED, sizeof(buf)) == 0;
}

static int exit_from_errno(int r) {
        if ((r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) && refused_by_arbord())
                return ARBORCTL_EXIT_PERMISSION;
        switch (-r) {
        case EACCES:
        case EPERM: /* sd-bus: arbord answered our AUTH with REJECTED */
                return ARBORCTL_EXIT_PERMISSION;
        case ENOENT:
        case ECONNREFUSED:
        case ECONNRESET:
        case ENOTCONN:
        case EPIPE:
        case ENOTDIR:
        case ENOTSOCK:
        case ETIMEDOUT:
        case ESHUTDOWN:
                return ARBORCTL_EXIT_UNREACHABLE;
        default:
                return ARBORCTL_EXIT_FAILED;
        }
}

static int connect_failed(const char *path, int r) {
        int code = exit_from_errno(r);

        if (code == ARBORCTL_EXIT_PERMISSION)
                fprintf(stderr, "arborctl: permission denied by %s: %s (only root, arbord's user and its "
                        "control_group may connect)\n", path,
                        r == -EACCES || r == -EPERM ? strerror(-r) : "arbord refused the connection");
        else if (code == ARBORCTL_EXIT_UNREACHABLE)
                fprintf(stderr, "arborctl: cannot reach arbord at %s: %s (is arbord running? --socket or $"
                        ARBOR_SOCKET_ENV " choose another socket)\n", path, strerror(-r));
        else
                fprintf(stderr, "arborctl: cannot talk to arbord at %s: %s\n", path, strerror(-r));
        return code;
}

/* Connects and authenticates; on failure prints why and returns an exit code (> 0). */
static int ctl_connect(const Options *o, sd_bus **ret, char **ret_path) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        r = socket_path(o, &path);
        if (r < 0) {
                fprintf(stderr, "arborctl: %s\n", strerror(-r));
                return ARBORCTL_EXIT_FAILED;
        }
        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "arborctl: socket path too long: %s\n", path);
                return ARBORCTL_EXIT_USAGE;
        }
        strcpy(sa.sun_path, path);
        /* our own connect(): its errno tells "not running" from "not allowed" */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return connect_failed(path, -errno);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return connect_failed(path, -errno);
        connection_copy = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* best effort: only sharpens an error message */

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                return connect_failed(path, r);
        TAKE_FD(fd); /* the bus owns it */
        r = sd_bus_start(bus);
        if (r < 0)
                return connect_failed(path, r);
        *ret = TAKE_PTR(bus);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

/* Prints a failed call's error and maps it to an exit code. */
static int call_failed(const char *what, const sd_bus_error *e, int r) {
        int code;

        if (sd_bus_error_has_name(e, ARBOR_ERROR_NO_SUCH_CHILD)) {
                fprintf(stderr, "arborctl: %s\n", e->message);
                return ARBORCTL_EXIT_NO_SUCH_CHILD;
        }
        if (sd_bus_error_has_name(e, ARBOR_ERROR_INVALID_SIGNAL)) {
                fprintf(stderr, "arborctl: %s\n", e->message);
                return ARBORCTL_EXIT_USAGE;
        }
        if (e->name && strncmp(e->name, "org.arbor.Error.", strlen("org.arbor.Error.")) == 0) {
                fprintf(stderr, "arborctl: %s\n", e->message ? e->message : e->name);
                return ARBORCTL_EXIT_FAILED;
        }
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED, SD_BUS_ERROR_AUTH_FAILED))
                r = -EPERM; /* sd-bus' names for a refused AUTH: said the same way below */
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_TIMEOUT)) {
                fprintf(stderr, "arborctl: %s: arbord did not answer: %s\n", what, e->message ? e->message : e->name);
                return ARBORCTL_EXIT_UNREACHABLE;
        }
        code = exit_from_errno(r);
        if (code == ARBORCTL_EXIT_PERMISSION)
                fprintf(stderr, "arborctl: %s: permission denied: arbord refused the connection (only root, "
                        "arbord's user and its control_group may connect)\n", what);
        else if (code == ARBORCTL_EXIT_UNREACHABLE)
                fprintf(stderr, "arborctl: %s: arbord closed the connection (it is exiting, or has too many "
                        "clients): %s\n", what, strerror(-r));
        else
                fprintf(stderr, "arborctl: %s: %s\n", what, e->message ? e->message : strerror(-r));
        return code;
}

/* Calls a method; on failure prints why and returns an exit code (> 0). */
static int ctl_call(sd_bus *bus, const char *method, sd_bus_message **ret, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &msg, NULL, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(msg, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, msg, 0, &error, ret);
        if (r < 0) {
                r = call_failed(method, &error, r);
                sd_bus_error_free(&error);
                return r;
        }
        return 0;
}

/* ---- status ------------------------------------------------------------------------------- */

static int read_status(sd_bus *bus, const char *name, Status *ret) {
        Status s = {};
        int r;

        r = ctl_call(bus, ARBOR_METHOD_STATUS, &s.reply, "s", name ? name : "");
        if (r > 0)
                return r;
        r = sd_bus_message_read(s.reply, "t", &s.now);
        if (r >= 0)
                r = sd_bus_message_enter_container(s.reply, 'a', "(" ARBOR_NODE_SIGNATURE ")");
        while (r >= 0) {
                Node n = {}, *grown;

                r = sd_bus_message_read(s.reply, "(" ARBOR_NODE_SIGNATURE ")", &n.path, &n.kind, &n.strategy,
                                        &n.restart, &n.state, &n.pid, &n.since, &n.restarts, &n.exited, &n.exit_code,
                                        &n.exit_signal, &n.window_restarts, &n.intensity, &n.period, &n.removed);
                if (r <= 0)
                        break;
                grown = realloc(s.nodes, (s.n + 1) * sizeof(Node));
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                s.nodes = grown;
                s.nodes[s.n++] = n;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(s.reply);
        if (r < 0) {
                fprintf(stderr, "arborctl: unexpected status reply from arbord: %s\n", strerror(-r));
                status_done(&s);
                return ARBORCTL_EXIT_FAILED;
        }
        *ret = s;
        return 0;
}

static const char *node_name(const Node *n) {
        const char *slash = strrchr(n->path, '/');
        return slash ? slash + 1 : n->path;
}

/* The parent's path length: path[0..len) ; 0 for the root. */
static size_t parent_len(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? (size_t) (slash - path) : 0;
}

static bool is_parent(const Node *parent, const Node *child) {
        size_t l = parent_len(child->path);
        return l > 0 && strlen(parent->path) == l && strncmp(parent->path, child->path, l) == 0;
}

static bool same_parent(const Node *a, const Node *b) {
        size_t la = parent_len(a->path), lb = parent_len(b->path);
        return la == lb && strncmp(a->path, b->path, la) == 0;
}

/* Whether no sibling of nodes[i] follows it. */
static bool is_last_sibling(const Status *s, size_t i) {
        for (size_t j = i + 1; j < s->n; j++)
                if (same_parent(&s->nodes[i], &s->nodes[j]))
                        return false;
        return true;
}

static size_t depth_of(const char *path) {
        size_t d = 0;
        for (const char *p = path; *p; p++)
                d += *p == '/';
        return d;
}

/* The index of nodes[i]'s parent in s, or SIZE_MAX (the top of the listing). */
static size_t parent_index(const Status *s, size_t i) {
        for (size_t j = i; j-- > 0;)
                if (is_parent(&s->nodes[j], &s->nodes[i]))
                        return j;
        return SIZE_MAX;
}

/* The tree drawing in front of nodes[i]'s name. Returns its width in columns. */
static size_t tree_prefix(const Status *s, size_t i, bool utf8, char *buf, size_t size) {
        size_t top = depth_of(s->nodes[0].path), d = depth_of(s->nodes[i].path) - top, cols = 0;
        bool last_at[64] = {};
        size_t k = i;

        buf[0] = 0;
        if (d == 0)
                return 0;
        /* walk up: whether each ancestor (and the node) is the last of its siblings */
        for (size_t level = d; level > 0 && k != SIZE_MAX; level--) {
                if (level < ELEMENTSOF(last_at))
                        last_at[level] = is_last_sibling(s, k);
                k = parent_index(s, k);
        }
        for (size_t level = 1; level <= d; level++) {
                const char *piece;
                bool last = level < ELEMENTSOF(last_at) && last_at[level];

                if (level < d)
                        piece = last ? "   " : (utf8 ? "\u2502  " : "|  ");
                else
                        piece = last ? (utf8 ? "\u2514\u2500 " : "`- ") : (utf8 ? "\u251c\u2500 " : "|- ");
                (void) strncat(buf, piece, size - strlen(buf) - 1);
                cols += 3;
        }
        return cols;
}

/* A duration for people: ms under a second, whole seconds under an hour, whole minutes after. */
static const char *human_duration(usec_t u, char buf[static DURATION_MAX]) {
        if (u >= USEC_PER_HOUR)
                u -= u % USEC_PER_MINUTE;
        else if (u >= USEC_PER_SEC)
                u -= u % USEC_PER_SEC;
        else
                u -= u % USEC_PER_MSEC;
        return duration_format(u, buf);
}

static const char *state_color(const Options *o, const Node *n) {
        if (!o->color)
                return "";
        if (n->removed)
                return "\033[2m"; /* dim */
        if (streq(n->state, "running"))
                return "\033[32m"; /* green */
        if (streq(n->state, "stopped"))
                return "\033[31m"; /* red */
        return "\033[33m"; /* yellow: starting, stopping */
}

static void print_status_text(const Options *o, const Status *s) {
        size_t name_w = strlen("NAME"), kind_w = strlen("POLICY");
        char prefix[256];

        for (size_t i = 0; i < s->n; i++) {
                const Node *n = &s->nodes[i];
                const char *policy = n->strategy[0] ? n->strategy : n->restart;
                size_t w = tree_prefix(s, i, o->utf8, prefix, sizeof(prefix)) + strlen(node_name(n));

                name_w = MAX(name_w, w);
                kind_w = MAX(kind_w, strlen(policy));
        }
        printf("%s%-*s  %-*s  %-9s %-8s %-8s %-18s %s%s\n", o->color ? "\033[1m" : "", (int) name_w, "NAME",
               (int) kind_w, "POLICY", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", o->color ? "\033[0m" : "");
        for (size_t i = 0; i < s->n; i++) {
                const Node *n = &s->nodes[i];
                const char *policy = n->strategy[0] ? n->strategy : n->restart[0] ? n->restart : "-";
                char pid[16] = "-", uptime[DURATION_MAX] = "-", restarts[64], last[64] = "-", period[DURATION_MAX];
                size_t w = tree_prefix(s, i, o->utf8, prefix, sizeof(prefix));
                const char *state = n->removed ? "removed" : n->state;

                if (n->pid > 0)
                        (void) snprintf(pid, sizeof(pid), "%u", n->pid);
                if (streq(n->state, "running") && s->now >= n->since)
                        (void) human_duration(s->now - n->since, uptime);
                if (streq(n->kind, "supervisor"))
                        (void) snprintf(restarts, sizeof(restarts), "%u (%u/%u in %s)", n->restarts,
                                        n->window_restarts, n->intensity, duration_format(n->period, period));
                else
                        (void) snprintf(restarts, sizeof(restarts), "%u", n->restarts);
                if (n->exited && n->exit_signal[0])
                        (void) snprintf(last, sizeof(last), "%s", n->exit_signal);
                else if (n->exited)
                        (void) snprintf(last, sizeof(last), "code=%d", n->exit_code);
                printf("%s%s%*s  %-*s  %s%-9s%s %-8s %-8s %-18s %s\n", prefix, node_name(n),
                       (int) (name_w - w - strlen(node_name(n))), "", (int) kind_w, policy, state_color(o, n), state,
                       o->color ? "\033[0m" : "", pid, uptime, restarts, last);
        }
}

static void json_key(FILE *f, const char *key, bool *first) {
        if (!*first)
                fputs(", ", f);
        *first = false;
        json_write_string(f, key);
        fputs(": ", f);
}

static void print_node_json(const Status *s, const Node *n, FILE *f) {
        bool first = true, sup = streq(n->kind, "supervisor");
        size_t pl = parent_len(n->path);

        fputc('{', f);
        json_key(f, "path", &first);
        json_write_string(f, n->path);
        json_key(f, "name", &first);
        json_write_string(f, node_name(n));
        json_key(f, "parent", &first);
        if (pl > 0) {
                _cleanup_free_ char *parent = strndup(n->path, pl);
                json_write_string(f, parent ? parent : "");
        } else
                fputs("null", f);
        json_key(f, "kind", &first);
        json_write_string(f, n->kind);
        if (sup) {
                json_key(f, "strategy", &first);
                json_write_string(f, n->strategy);
        }
        json_key(f, "restart", &first);
        json_write_string(f, n->restart[0] ? n->restart : NULL);
        json_key(f, "state", &first);
        json_write_string(f, n->state);
        json_key(f, "removed", &first);
        fputs(n->removed ? "true" : "false", f);
        json_key(f, "pid", &first);
        if (n->pid > 0)
                fprintf(f, "%u", n->pid);
        else
                fputs("null", f);
        json_key(f, "since", &first);
        fprintf(f, "%llu", (unsigned long long) (n->since / USEC_PER_MSEC));
        json_key(f, "uptime_ms", &first);
        if (streq(n->state, "running") && s->now >= n->since)
                fprintf(f, "%llu", (unsigned long long) ((s->now - n->since) / USEC_PER_MSEC));
        else
                fputs("null", f);
        json_key(f, "restarts", &first);
        fprintf(f, "%u", n->restarts);
        json_key(f, "last_exit", &first);
        if (n->exited) {
                fputs("{\"code\": ", f);
                if (n->exit_signal[0])
                        fputs("null, \"signal\": ", f);
                else
                        fprintf(f, "%d, \"signal\": ", n->exit_code);
                json_write_string(f, n->exit_signal[0] ? n->exit_signal : NULL);
                fputc('}', f);
        } else
                fputs("null", f);
        if (sup) {
                json_key(f, "window_restarts", &first);
                fprintf(f, "%u", n->window_restarts);
                json_key(f, "intensity", &first);
                fprintf(f, "%u", n->intensity);
                json_key(f, "period_ms", &first);
                fprintf(f, "%llu", (unsigned long long) (n->period / USEC_PER_MSEC));
        }
        fputc('}', f);
}

static void print_status_json(const Status *s) {
        printf("{\"now\": %llu, \"nodes\": [", (unsigned long long) (s->now / USEC_PER_MSEC));
        for (size_t i = 0; i < s->n; i++) {
                fputs(i > 0 ? ",\n  " : "\n  ", stdout);
                print_node_json(s, &s->nodes[i], stdout);
        }
        fputs(s->n > 0 ? "\n]}\n" : "]}\n", stdout);
}

static int cmd_status(sd_bus *bus, const Options *o, const char *name) {
        Status s = {};
        int r;

        r = read_status(bus, name, &s);
        if (r > 0)
                return r;
        if (o->json)
                print_status_json(&s);
        else
                print_status_text(o, &s);
        status_done(&s);
        return ARBORCTL_EXIT_OK;
}

/* Every path and name, one per line: for shell completion. */
static int cmd_list_names(sd_bus *bus) {
        Status s = {};
        int r;

        r = read_status(bus, NULL, &s);
        if (r > 0)
                return r;
        for (size_t i = 0; i < s.n; i++) {
                printf("%s\n", s.nodes[i].path);
                if (i > 0)
                        printf("%s\n", node_name(&s.nodes[i]));
        }
        status_done(&s);
        return ARBORCTL_EXIT_OK;
}

/* ---- check --------------------------------------------------------------------------------- */

/*
 * Allowed to be down: a temporary node, or one under a temporary supervisor;
 * and a transient service that finished its work (exited with code 0), as a
 * one-shot set-up task does: it is done, not down. A health check that failed
 * forever after such a task would be useless as a Docker HEALTHCHECK.
 */
static bool may_be_down(const Status *s, size_t i) {
        const Node *n = &s->nodes[i];

        if (streq(n->kind, "service") && streq(n->restart, "transient") && streq(n->state, "stopped") &&
            n->exited && !n->exit_signal[0] && n->exit_code == 0)
                return true;
        for (size_t k = i; k != SIZE_MAX; k = parent_index(s, k))
                if (streq(s->nodes[k].restart, "temporary"))
                        return true;
        return false;
}

static int cmd_check(sd_bus *bus, const Options *o) {
        Status s = {};
        size_t bad = 0, counted = 0;
        bool first = true;
        int r;

        r = read_status(bus, NULL, &s);
        if (r > 0)
                return r;
        if (o->json)
                fputs("{\"not_running\": [", stdout);
        for (size_t i = 0; i < s.n; i++) {
                const Node *n = &s.nodes[i];

                if (may_be_down(&s, i))
                        continue;
                counted++;
                if (streq(n->state, "running"))
                        continue;
                bad++;
                if (o->json) {
                        fputs(first ? "" : ", ", stdout);
                        first = false;
                        fputs("{\"path\": ", stdout);
                        json_write_string(stdout, n->path);
                        fputs(", \"state\": ", stdout);
                        json_write_string(stdout, n->state);
                        fputc('}', stdout);
                } else
                        printf("%s: %s\n", n->path, n->state);
        }
        if (o->json)
                printf("], \"healthy\": %s, \"checked\": %zu}\n", bad == 0 ? "true" : "false", counted);
        else if (bad == 0)
                printf("ok: all %zu nodes that should run are running\n", counted);
        else
                printf("unhealthy: %zu of %zu nodes that should run are not running\n", bad, counted);
        status_done(&s);
        return bad == 0 ? ARBORCTL_EXIT_OK : ARBORCTL_EXIT_FAILED;
}

/* ---- commands --------------------------------------------------------------------------------- */

/* Start, Stop, Restart: arbord answers once the command is carried out, which takes as long as it takes. */
static int cmd_simple(sd_bus *bus, const char *method, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        /* a stop may wait out a long shutdown timeout, or an infinite one: no 25 s default here */
        r = sd_bus_set_method_call_timeout(bus, USEC_INFINITY);
        if (r < 0) {
                fprintf(stderr, "arborctl: %s: %s\n", method, strerror(-r));
                return ARBORCTL_EXIT_FAILED;
        }
        return ctl_call(bus, method, &reply, "s", name);
}

static int cmd_kill(sd_bus *bus, const Options *o, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int sig = signal_from_string(o->signal ? o->signal : "SIGTERM");

        if (sig < 0)
                return usage_error("'%s' is not a signal name or number", o->signal);
        return ctl_call(bus, ARBOR_METHOD_SIGNAL, &reply, "ss", name, signal_to_string(sig));
}

static int cmd_shutdown(sd_bus *bus) {
        return ctl_call(bus, ARBOR_METHOD_SHUTDOWN, NULL, NULL);
}

static int cmd_version(sd_bus *bus, const Options *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *v;
        int r;

        r = ctl_call(bus, ARBOR_METHOD_VERSION, &reply, NULL);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "s", &v);
        if (r < 0) {
                fprintf(stderr, "arborctl: unexpected version reply: %s\n", strerror(-r));
                return ARBORCTL_EXIT_FAILED;
        }
        if (o->json) {
                fputs("{\"arborctl\": \"" PACKAGE_VERSION "\", \"arbord\": ", stdout);
                json_write_string(stdout, v);
                fputs("}\n", stdout);
        } else
                printf("arbord %s\n", v);
        return ARBORCTL_EXIT_OK;
}

/* ---- events --------------------------------------------------------------------------------- */

typedef struct EventsContext {
        const Options *options;
        bool saw_shutdown;
        int error; /* an unreadable signal */
} EventsContext;

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
        interrupted = 1;
}

static int on_event_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        EventsContext *ctx = userdata;
        const char *kind, *path, *sig, *err;
        uint64_t ts;
        uint32_t pid;
        int32_t code, normal;
        Event ev;
        int r;

        r = sd_bus_message_read(msg, ARBOR_EVENT_SIGNATURE, &kind, &ts, &path, &pid, &code, &sig, &normal, &err);
        if (r < 0) {
                ctx->error = r;
                return 0;
        }
        ev = (Event) {
                .kind = event_kind_from_string(kind),
                .ts = ts,
                .path = path,
                .pid = (pid_t) pid,
                .code = code,
                .signal = sig[0] ? signal_from_string(sig) : 0,
                .normal = normal,
                .error = err[0] ? err : NULL,
        };
        if (ev.signal < 0)
                ev.signal = 0;
        if (ev.kind < 0) {
                /* an event kind newer than this arborctl: show it rather than drop it */
                if (ctx->options->json) {
                        fprintf(stdout, "{\"ts\": %llu, \"event\": ", (unsigned long long) (ts / USEC_PER_MSEC));
                        json_write_string(stdout, kind);
                        fputs(", \"path\": ", stdout);
                        json_write_string(stdout, path);
                        fputs("}\n", stdout);
                } else
                        printf("%s: %s\n", path, kind);
        } else if (ctx->options->json) {
                event_write_json(&ev, stdout);
                fputc('\n', stdout);
        } else {
                printf("[%6llu.%03llu] ", (unsigned long long) (ts / USEC_PER_SEC),
                       (unsigned long long) (ts % USEC_PER_SEC / USEC_PER_MSEC));
                event_write_text(&ev, stdout);
                fputc('\n', stdout);
        }
        (void) fflush(stdout);
        if (ev.kind == EVENT_SHUTDOWN)
                ctx->saw_shutdown = true;
        return 0;
}

static int cmd_events(sd_bus *bus, const Options *o) {
        EventsContext ctx = { .options = o };
        struct sigaction sa = { .sa_handler = on_interrupt }; /* no SA_RESTART: the wait must return */
        int r;

        if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
                fprintf(stderr, "arborctl: sigaction: %s\n", strerror(errno));
                return ARBORCTL_EXIT_FAILED;
        }
        /* the match first, so that nothing sent right after Subscribe is missed */
        r = sd_bus_match_signal(bus, NULL, NULL, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE, ARBOR_SIGNAL_EVENT,
                                on_event_signal, &ctx);
        if (r < 0) {
                fprintf(stderr, "arborctl: cannot listen for events: %s\n", strerror(-r));
                return ARBORCTL_EXIT_FAILED;
        }
        r = ctl_call(bus, ARBOR_METHOD_SUBSCRIBE, NULL, NULL);
        if (r > 0)
                return r;
        while (!interrupted) {
                r = sd_bus_process(bus, NULL);
                if (ctx.error < 0) {
                        fprintf(stderr, "arborctl: unreadable event from arbord: %s\n", strerror(-ctx.error));
                        return ARBORCTL_EXIT_FAILED;
                }
                if (r > 0)
                        continue;
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
                if (r == -EINTR)
                        continue;
                if (r < 0) {
                        if (ctx.saw_shutdown)
                                return ARBORCTL_EXIT_OK; /* the tree ended and arbord with it */
                        if (exit_from_errno(r) == ARBORCTL_EXIT_UNREACHABLE) {
                                fprintf(stderr, "arborctl: arbord closed the connection (it exited, or dropped "
                                        "this client for not keeping up)\n");
                                return ARBORCTL_EXIT_UNREACHABLE;
                        }
                        fprintf(stderr, "arborctl: %s\n", strerror(-r));
                        return ARBORCTL_EXIT_FAILED;
                }
        }
        return ARBORCTL_EXIT_OK;
}

/* ---- main --------------------------------------------------------------------------------- */

typedef enum Command {
        CMD_STATUS,
        CMD_START,
        CMD_STOP,
        CMD_RESTART,
        CMD_KILL,
        CMD_SHUTDOWN,
        CMD_EVENTS,
        CMD_CHECK,
        CMD_VERSION,
        CMD_LIST_NAMES,
        _CMD_MAX,
        _CMD_INVALID = -EINVAL,
} Command;

typedef struct CommandInfo {
        const char *name;
        unsigned min_args, max_args;
        bool reads; /* --json applies */
} CommandInfo;

static const CommandInfo commands[_CMD_MAX] = {
        [CMD_STATUS] = { "status", 0, 1, true },
        [CMD_START] = { "start", 1, 1, false },
        [CMD_STOP] = { "stop", 1, 1, false },
        [CMD_RESTART] = { "restart", 1, 1, false },
        [CMD_KILL] = { "kill", 1, 1, false },
        [CMD_SHUTDOWN] = { "shutdown", 0, 0, false },
        [CMD_EVENTS] = { "events", 0, 0, true },
        [CMD_CHECK] = { "check", 0, 0, true },
        [CMD_VERSION] = { "version", 0, 0, true },
        [CMD_LIST_NAMES] = { "list-names", 0, 0, false }, /* hidden: for completion */
};

static Command command_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, s))
                        return (Command) i;
        return _CMD_INVALID;
}

enum { OPT_SOCKET = 0x100, OPT_JSON, OPT_VERSION };

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "json", no_argument, NULL, OPT_JSON },
                { "signal", required_argument, NULL, 's' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        Options o = {};
        const char *term = getenv("TERM");
        Command cmd;
        char **args;
        unsigned n_args;
        int c, r;

        (void) setlocale(LC_CTYPE, "");
        o.utf8 = streq(nl_langinfo(CODESET), "UTF-8");
        o.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && streq(term, "dumb"));

        while ((c = getopt_long(argc, argv, "hs:", options, NULL)) >= 0)
                switch (c) {
                case OPT_SOCKET:
                        o.socket = optarg;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case 's':
                        o.signal = optarg;
                        break;
                case 'h':
                        help();
                        return ARBORCTL_EXIT_OK;
                case OPT_VERSION:
                        printf("arborctl %s\n", PACKAGE_VERSION);
                        return ARBORCTL_EXIT_OK;
                default:
                        fputs("Try 'arborctl --help'.\n", stderr);
                        return ARBORCTL_EXIT_USAGE;
                }
        if (optind >= argc)
                return usage_error("a command is needed (status, start, stop, restart, kill, shutdown, events, "
                                   "check, version)");
        cmd = command_from_string(argv[optind]);
        if (cmd < 0)
                return usage_error("unknown command '%s'", argv[optind]);
        args = argv + optind + 1;
        n_args = (unsigned) (argc - optind - 1);
        if (n_args < commands[cmd].min_args)
                return usage_error("%s needs a NAME", commands[cmd].name);
        if (n_args > commands[cmd].max_args)
                return usage_error("%s: unexpected argument '%s'", commands[cmd].name, args[commands[cmd].max_args]);
        if (o.json && !commands[cmd].reads)
                return usage_error("--json applies to status, events, check and version, not %s", commands[cmd].name);
        if (o.signal && cmd != CMD_KILL)
                return usage_error("-s/--signal applies to kill only");
        if (o.signal && signal_from_string(o.signal) < 0)
                return usage_error("'%s' is not a signal name or number", o.signal);
        if (cmd == CMD_VERSION && !o.json) {
                /* ours even when arbord cannot be reached */
                printf("arborctl %s\n", PACKAGE_VERSION);
                (void) fflush(stdout);
        }

        r = ctl_connect(&o, &bus, NULL);
        if (r > 0)
                return r;

        switch (cmd) {
        case CMD_STATUS:
                return cmd_status(bus, &o, n_args > 0 ? args[0] : NULL);
        case CMD_START:
                return cmd_simple(bus, ARBOR_METHOD_START, args[0]);
        case CMD_STOP:
                return cmd_simple(bus, ARBOR_METHOD_STOP, args[0]);
        case CMD_RESTART:
                return cmd_simple(bus, ARBOR_METHOD_RESTART, args[0]);
        case CMD_KILL:
                return cmd_kill(bus, &o, args[0]);
        case CMD_SHUTDOWN:
                return cmd_shutdown(bus);
        case CMD_EVENTS:
                return cmd_events(bus, &o);
        case CMD_CHECK:
                return cmd_check(bus, &o);
        case CMD_VERSION:
                return cmd_version(bus, &o);
        case CMD_LIST_NAMES:
                return cmd_list_names(bus);
        case _CMD_MAX:
        case _CMD_INVALID:
                break;
        }
        return ARBORCTL_EXIT_USAGE;
}
