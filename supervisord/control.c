/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "control-api.h"
#include "engine.h"
#include "log.h"
#include "macro.h"
#include "signal-util.h"
#include "spec.h"

/* Below the manager's sources: a storm of control traffic never delays a reap or a timer. */
#define CONTROL_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)
/* Connections taken per wake-up of the listening socket; the rest wait for the next loop turn. */
#define CONTROL_ACCEPT_BATCH 16
/* After EMFILE and friends, the listening socket is left alone this long (it would stay readable). */
#define CONTROL_ACCEPT_RETRY_USEC (1 * USEC_PER_SEC)
/* Longest name a method accepts; names in the tree are much shorter. */
#define CONTROL_NAME_MAX 1024
/* How many candidates an unknown name lists at most. */
#define CONTROL_CANDIDATES_MAX 8

typedef struct Client Client;

/* A Start, Stop or Restart whose answer waits until the engine has carried it out. */
typedef struct PendingCall {
        uint64_t cookie;
        EngineCommand cmd;
        sd_bus_message *call;
        struct PendingCall *next;
} PendingCall;

struct Client {
        ControlServer *server;
        sd_bus *bus;
        uid_t uid;
        pid_t pid;
        bool subscribed;
        bool doomed; /* freed by on_reap(), never inside its own callbacks */
        PendingCall *pending;
        Client *prev, *next;
};

struct ControlServer {
        Manager *manager;
        char *path;
        int fd;
        dev_t dev; /* of the socket we bound: only that one is unlinked */
        ino_t ino;
        uid_t owner;
        bool group_set;
        gid_t group;
        char *group_name;
        sd_id128_t id;
        sd_event_source *listen_source;
        sd_event_source *retry_source; /* armed only after accept() ran out of resources */
        sd_event_source *reap_source;  /* deferred, armed only while a client is doomed */
        Client *clients;
        unsigned n_clients;
        bool full_logged;
        uint64_t last_cookie;
};

/* ---- the socket ----------------------------------------------------------------------- */

/* Creates the missing directories above path (mode 0755: the socket's own mode is the access control). */
static int mkdir_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *slash = '/';
        }
        return 0;
}

/*
 * Is someone listening on path? Returns 1 (live; *ret_pid its pid, 0 when
 * unknown), 0 (stale: nothing listens, safe to replace), or -errno
 * (-ENOTSOCK: path is something else, never replaced).
 */
static int socket_probe(const struct sockaddr_un *sa, socklen_t len, pid_t *ret_pid) {
        _cleanup_close_ int fd = -EBADF;
        struct ucred uc = {};
        socklen_t uclen = sizeof(uc);
        struct stat st;

        *ret_pid = 0;
        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, len) < 0) {
                if (errno == ECONNREFUSED || errno == ENOENT)
                        return 0;
                if (errno == EAGAIN)
                        return 1; /* listening, with a full backlog */
                return -errno;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) >= 0)
                *ret_pid = uc.pid; /* 0 when the listener is in another pid namespace */
        return 1;
}

static int control_bind(ControlServer *s, struct sockaddr_un *sa, socklen_t len) {
        mode_t old;
        int r;

        old = umask(0177); /* born 0600: never a moment with wider access */
        r = bind(s->fd, (struct sockaddr *) sa, len) < 0 ? -errno : 0;
        (void) umask(old);
        return r;
}

static int control_open_socket(ControlServer *s) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len;
        struct stat st;
        pid_t pid;
        int r;

        if (strlen(s->path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "control socket %s: the path is longer than %zu bytes",
                                       s->path, sizeof(sa.sun_path) - 1);
        strcpy(sa.sun_path, s->path);
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);

        r = mkdir_parents(s->path);
        if (r < 0)
                return log_error_errno(r, "control socket %s: cannot create its directory: %m", s->path);

        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0)
                return log_error_errno(errno, "control socket: socket(): %m");

        r = control_bind(s, &sa, len);
        if (r == -EADDRINUSE) {
                /* left by an arbord that died, or held by one that runs? */
                r = socket_probe(&sa, len, &pid);
                if (r > 0) {
                        if (pid > 0)
                                log_error("control socket %s is in use by a running process (pid %d): "
                                          "is another arbord running? Not starting a second one",
                                          s->path, (int) pid);
                        else
                                log_error("control socket %s is in use by a running process: "
                                          "is another arbord running? Not starting a second one", s->path);
                        return -EADDRINUSE;
                }
                if (r == -ENOTSOCK)
                        return log_error_errno(EEXIST, "control socket %s: the path exists and is not a socket; "
                                               "not replacing it", s->path);
                if (r < 0)
                        return log_error_errno(r, "control socket %s: cannot tell whether it is in use: %m", s->path);
                log_info("control socket %s was left by a process that is gone; replacing it", s->path);
                if (unlink(s->path) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "control socket %s: cannot remove the stale socket: %m",
                                               s->path);
                r = control_bind(s, &sa, len);
        }
        if (r < 0)
                return log_error_errno(r, "control socket %s: bind: %m", s->path);

        if (stat(s->path, &st) < 0)
                return log_error_errno(errno, "control socket %s: stat: %m", s->path);
        s->dev = st.st_dev;
        s->ino = st.st_ino;

        if (s->group_set) {
                /* group first, then the mode: the socket is never 0660 with the wrong group */
                if (chown(s->path, (uid_t) -1, s->group) < 0)
                        return log_error_errno(errno, "control socket %s: cannot give it to group %s: %m", s->path,
                                               s->group_name);
                if (chmod(s->path, 0660) < 0)
                        return log_error_errno(errno, "control socket %s: chmod 0660: %m", s->path);
        }
        if (listen(s->fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "control socket %s: listen: %m", s->path);
        return 0;
}

/* ---- clients -------------------------------------------------------------------------- */

static int on_reap(sd_event_source *es, void *userdata);

static PendingCall *pending_free(PendingCall *pc) {
        if (!pc)
                return NULL;
        sd_bus_message_unref(pc->call);
        free(pc);
        return NULL;
}

/* Takes the call waiting for cookie off c's list; NULL if c has none. */
static PendingCall *pending_take(Client *c, uint64_t cookie) {
        for (PendingCall **p = &c->pending; *p; p = &(*p)->next)
                if ((*p)->cookie == cookie) {
                        PendingCall *pc = *p;
                        *p = pc->next;
                        return pc;
                }
        return NULL;
}

static Client *client_free(Client *c) {
        ControlServer *s;

        if (!c)
                return NULL;
        /* the commands go on; nobody is left to hear how they ended */
        while (c->pending) {
                PendingCall *next = c->pending->next;
                pending_free(c->pending);
                c->pending = next;
        }
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else if (s->clients == c)
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;
        /* no flush: flushing would block on a client that does not read */
        c->bus = sd_bus_close_unref(c->bus);
        free(c);
        return NULL;
}

/* Marks c to be freed on the next loop turn; nothing is sent to it any more. */
static void client_doom(Client *c) {
        if (c->doomed)
                return;
        c->doomed = true;
        c->subscribed = false;
        (void) sd_event_source_set_enabled(c->server->reap_source, SD_EVENT_ONESHOT);
}

/* A client that lets its messages pile up is dropped before it costs arbord memory. */
static void client_check_queue(Client *c) {
        uint64_t n;

        if (c->doomed || sd_bus_get_n_queued_write(c->bus, &n) < 0 || n <= CONTROL_MAX_QUEUED)
                return;
        log_warning("control: dropping the client pid %d (uid %u): it does not read what it is sent "
                    "(%llu messages waiting)", (int) c->pid, (unsigned) c->uid, (unsigned long long) n);
        client_doom(c);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;

        log_debug("control: client pid %d disconnected", (int) c->pid);
        client_doom(c);
        return 0;
}

static int on_reap(sd_event_source *es, void *userdata) {
        ControlServer *s = userdata;
        Client *next;

        for (Client *c = s->clients; c; c = next) {
                next = c->next;
                if (c->doomed)
                        client_free(c);
        }
        if (s->n_clients < CONTROL_MAX_CLIENTS)
                s->full_logged = false;
        return 0;
}

/* ---- names ----------------------------------------------------------------------------- */

static bool node_matches_loosely(const NodeSpec *n, const char *name) {
        return strcasestr(n->path, name) != NULL;
}

/* Finds name (a full path or a unique name) or answers NoSuchChild with candidates. */
static int resolve_node(Client *c, const char *name, sd_bus_error *error, const NodeSpec **ret) {
        const Config *cfg = manager_get_config(c->server->manager);
        const NodeSpec *n;
        char list[512] = "";
        size_t n_matches = 0, used = 0;
        bool loose;

        if (strlen(name) > CONTROL_NAME_MAX)
                return sd_bus_error_setf(error, ARBOR_ERROR_NO_SUCH_CHILD, "no child has a name that long");
        n = config_find_node(cfg, name);
        if (n) {
                *ret = n;
                return 0;
        }
        /* names that contain the string, or, when none does, the whole (small) tree */
        for (size_t i = 0; i < cfg->n_nodes; i++)
                if (name[0] && node_matches_loosely(cfg->nodes[i], name))
                        n_matches++;
        loose = n_matches > 0;
        if (!loose)
                n_matches = cfg->n_nodes;
        if (n_matches > CONTROL_CANDIDATES_MAX && !loose)
                return sd_bus_error_setf(error, ARBOR_ERROR_NO_SUCH_CHILD,
                                         "no child named '%s' in the tree (see 'arborctl status')", name);
        for (size_t i = 0, k = 0; i < cfg->n_nodes && k < CONTROL_CANDIDATES_MAX; i++) {
                const NodeSpec *cand = cfg->nodes[i];
                int w;

                if (loose && !node_matches_loosely(cand, name))
                        continue;
                w = snprintf(list + used, sizeof(list) - used, "%s%s", k > 0 ? ", " : "", cand->path);
                if (w < 0 || (size_t) w >= sizeof(list) - used)
                        break;
                used += (size_t) w;
                k++;
        }
        return sd_bus_error_setf(error, ARBOR_ERROR_NO_SUCH_CHILD, "no child named '%s'; %s %s%s", name,
                                 loose ? "did you mean:" : "the tree has:", list,
                                 n_matches > CONTROL_CANDIDATES_MAX ? ", ..." : "");
}

/* ---- methods ----------------------------------------------------------------------------- */

static int method_version(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;
        int r = sd_bus_reply_method_return(msg, "s", PACKAGE_VERSION);

        client_check_queue(c);
        return r;
}

static bool node_in_subtree(const NodeSpec *n, const NodeSpec *top) {
        for (; n; n = n->parent)
                if (n == top)
                        return true;
        return false;
}

static int append_node(sd_bus_message *reply, Manager *m, const NodeSpec *n, usec_t now) {
        const Engine *e = manager_get_engine(m);
        bool sup = n->kind == NODE_SUPERVISOR;
        ExitStatus st = {};
        bool exited = engine_node_last_exit(e, n->index, &st);
        const char *sig = exited && st.signal > 0 ? signal_to_string(st.signal) : NULL;

        return sd_bus_message_append(
                reply, "(" ARBOR_NODE_SIGNATURE ")",
                n->path,
                node_kind_to_string(n->kind),
                sup ? strategy_to_string(n->strategy) : "",
                n->parent ? restart_policy_to_string(n->restart) : "",
                node_state_to_string(engine_node_state(e, n->index)),
                (uint32_t) manager_node_pid(m, n->index),
                (uint64_t) engine_node_since(e, n->index),
                (uint32_t) engine_node_restarts(e, n->index),
                exited,
                (int32_t) (exited && st.signal == 0 ? st.code : -1),
                sig ? sig : "",
                (uint32_t) (sup ? engine_node_window_restarts(e, n->index, now) : 0),
                (uint32_t) (sup ? n->intensity : 0),
                (uint64_t) (sup ? n->period : 0),
                engine_node_removed(e, n->index));
}

static int method_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Client *c = userdata;
        Manager *m = c->server->manager;
        const Config *cfg = manager_get_config(m);
        const NodeSpec *top = NULL;
        const char *name;
        usec_t now = manager_now(m);
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (name[0]) {
                r = resolve_node(c, name, error, &top);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "t", (uint64_t) now);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(" ARBOR_NODE_SIGNATURE ")");
        if (r < 0)
                return r;
        for (size_t i = 0; i < cfg->n_nodes; i++) {
                if (top && !node_in_subtree(cfg->nodes[i], top))
                        continue;
                r = append_node(reply, m, cfg->nodes[i], now);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_message_send(reply);
        client_check_queue(c);
        return r;
}

static const char *command_past(EngineCommand cmd) {
        switch (cmd) {
        case COMMAND_START:
                return "started";
        case COMMAND_STOP:
                return "stopped";
        case COMMAND_RESTART:
                return "restarted";
        case _COMMAND_MAX:
        case _COMMAND_INVALID:
                break;
        }
        return "changed";
}

/* Turns a refusal of engine_command() into a D-Bus error people can act on. */
static int command_error(Manager *m, EngineCommand cmd, const NodeSpec *n, int r, sd_bus_error *error) {
        const Engine *e = manager_get_engine(m);
        NodeState st = engine_node_state(e, n->index);

        switch (r) {
        case -EALREADY:
                if (cmd == COMMAND_STOP)
                        return sd_bus_error_setf(error, ARBOR_ERROR_ALREADY_STOPPED, "%s is already stopped", n->path);
                if (st == NODE_STOPPING)
                        return sd_bus_error_setf(error, ARBOR_ERROR_BUSY,
                                                 "%s is still stopping; start it once it has stopped", n->path);
                return sd_bus_error_setf(error, ARBOR_ERROR_ALREADY_RUNNING, "%s is already %s", n->path,
                                         st == NODE_STARTING ? "starting" : "running");
        case -EBUSY: {
                /* the supervisor above it that is starting or stopping */
                const NodeSpec *a = n->parent;

                while (a->parent && engine_node_state(e, a->index) == NODE_RUNNING)
                        a = a->parent;
                return sd_bus_error_setf(error, ARBOR_ERROR_BUSY, "%s cannot be %s now: supervisor %s is %s",
                                         n->path, command_past(cmd), a->path,
                                         node_state_to_string(engine_node_state(e, a->index)));
        }
        case -ENOBUFS:
                return sd_bus_error_setf(error, ARBOR_ERROR_BUSY,
                                         "%s cannot be %s now: %d commands already wait for its supervisor %s",
                                         n->path, command_past(cmd), COMMAND_QUEUE_MAX, n->parent->path);
        case -ECHILD: {
                const char *why = engine_node_error(e, n->index);

                return sd_bus_error_setf(error, ARBOR_ERROR_START_FAILED, "%s failed to start%s%s; it stays stopped",
                                         n->path, why ? ": " : "", why ? why : "");
        }
        case -ECANCELED:
                return sd_bus_error_setf(error, ARBOR_ERROR_CANCELLED,
                                         "%s was not %s: its supervisor %s stopped first", n->path,
                                         command_past(cmd), n->parent->path);
        case -EINVAL:
                if (!n->parent)
                        return sd_bus_error_setf(error, ARBOR_ERROR_NOT_SUPPORTED,
                                                 "%s is the root supervisor: it cannot be %s by command; "
                                                 "'arborctl shutdown' stops the whole tree", n->path, command_past(cmd));
                return sd_bus_error_setf(error, ARBOR_ERROR_NOT_SUPPORTED, "%s cannot be %s", n->path,
                                         command_past(cmd));
        default:
                return sd_bus_error_setf(error, ARBOR_ERROR_FAILED, "%s: %s", n->path, strerror(-r));
        }
}

static int method_command(sd_bus_message *msg, Client *c, EngineCommand cmd, sd_bus_error *error) {
        Manager *m = c->server->manager;
        PendingCall *pc;
        const NodeSpec *n;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = resolve_node(c, name, error, &n);
        if (r < 0)
                return r;
        log_info("control: pid %d (uid %u) asks to %s %s", (int) c->pid, (unsigned) c->uid,
                 engine_command_to_string(cmd), n->path);
        pc = calloc(1, sizeof(PendingCall));
        if (!pc)
                return -ENOMEM;
        /* on the list first: a command can be over before manager_command() returns (a fork that fails) */
        *pc = (PendingCall) { .cookie = ++c->server->last_cookie, .cmd = cmd, .call = sd_bus_message_ref(msg),
                              .next = c->pending };
        c->pending = pc;
        r = manager_command(m, cmd, n->index, pc->cookie);
        if (r < 0) {
                pending_free(pending_take(c, pc->cookie));
                return command_error(m, cmd, n, r, error);
        }
        return 1; /* answered by on_command_done() */
}

/* The engine carried out (or gave up on) a command: its caller gets the answer it waited for. */
static void on_command_done(uint64_t cookie, NodeId node, int result, void *userdata) {
        ControlServer *s = userdata;
        const NodeSpec *n = manager_get_config(s->manager)->nodes[node];

        for (Client *c = s->clients; c; c = c->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                PendingCall *pc = pending_take(c, cookie);
                int r;

                if (!pc)
                        continue;
                if (c->doomed) {
                        pending_free(pc); /* nothing is sent to it any more */
                        return;
                }
                if (result == 0)
                        r = sd_bus_reply_method_return(pc->call, "s", n->path);
                else {
                        (void) command_error(s->manager, pc->cmd, n, result, &error);
                        r = sd_bus_reply_method_error(pc->call, &error);
                }
                pending_free(pc);
                if (r < 0)
                        log_debug("control: cannot answer pid %d: %s", (int) c->pid, strerror(-r));
                client_check_queue(c);
                return;
        }
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_command(msg, userdata, COMMAND_START, error);
}

static int method_stop(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_command(msg, userdata, COMMAND_STOP, error);
}

static int method_restart(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_command(msg, userdata, COMMAND_RESTART, error);
}

static int method_signal(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;
        Manager *m = c->server->manager;
        const NodeSpec *n;
        const char *name, *signame;
        int sig, r;

        r = sd_bus_message_read(msg, "ss", &name, &signame);
        if (r < 0)
                return r;
        sig = signal_from_string(signame);
        if (sig < 0)
                return sd_bus_error_setf(error, ARBOR_ERROR_INVALID_SIGNAL, "'%.64s' is not a signal name or number",
                                         signame);
        r = resolve_node(c, name, error, &n);
        if (r < 0)
                return r;
        log_info("control: pid %d (uid %u) sends %s to %s", (int) c->pid, (unsigned) c->uid, signal_to_string(sig),
                 n->path);
        r = manager_signal_node(m, n->index, sig);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, ARBOR_ERROR_NOT_RUNNING, "no process of %s is running", n->path);
        if (r < 0)
                return sd_bus_error_setf(error, ARBOR_ERROR_FAILED, "cannot send %s to %s: %s", signal_to_string(sig),
                                         n->path, strerror(-r));
        r = sd_bus_reply_method_return(msg, "s", n->path);
        client_check_queue(c);
        return r;
}

static int method_shutdown(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;
        int r;

        log_info("control: pid %d (uid %u) asks to shut the tree down", (int) c->pid, (unsigned) c->uid);
        r = manager_request_shutdown(c->server->manager);
        if (r < 0)
                return sd_bus_error_setf(error, ARBOR_ERROR_FAILED, "cannot shut down: %s", strerror(-r));
        r = sd_bus_reply_method_return(msg, NULL);
        client_check_queue(c);
        return r;
}

static int method_subscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;
        int r;

        if (!c->subscribed)
                log_info("control: pid %d (uid %u) subscribed to events", (int) c->pid, (unsigned) c->uid);
        c->subscribed = true;
        r = sd_bus_reply_method_return(msg, NULL);
        client_check_queue(c);
        return r;
}

static int method_unsubscribe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Client *c = userdata;
        int r;

        c->subscribed = false;
        r = sd_bus_reply_method_return(msg, NULL);
        client_check_queue(c);
        return r;
}

/* The flags say nothing: access was decided when the connection was accepted. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_VERSION, NULL, , "s", SD_BUS_PARAM(version), method_version,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_STATUS, "s", SD_BUS_PARAM(name), "ta(" ARBOR_NODE_SIGNATURE ")",
                                 SD_BUS_PARAM(now) SD_BUS_PARAM(nodes), method_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_START, "s", SD_BUS_PARAM(name), "s", SD_BUS_PARAM(path), method_start,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_STOP, "s", SD_BUS_PARAM(name), "s", SD_BUS_PARAM(path), method_stop,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_RESTART, "s", SD_BUS_PARAM(name), "s", SD_BUS_PARAM(path),
                                 method_restart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES(ARBOR_METHOD_SIGNAL, "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(signal), "s",
                                 SD_BUS_PARAM(path), method_signal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD(ARBOR_METHOD_SHUTDOWN, NULL, NULL, method_shutdown, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD(ARBOR_METHOD_SUBSCRIBE, NULL, NULL, method_subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD(ARBOR_METHOD_UNSUBSCRIBE, NULL, NULL, method_unsubscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES(ARBOR_SIGNAL_EVENT, ARBOR_EVENT_SIGNATURE,
                                 SD_BUS_PARAM(event) SD_BUS_PARAM(ts) SD_BUS_PARAM(path) SD_BUS_PARAM(pid)
                                 SD_BUS_PARAM(code) SD_BUS_PARAM(signal) SD_BUS_PARAM(normal) SD_BUS_PARAM(error), 0),
        SD_BUS_VTABLE_END,
};

/* ---- events ------------------------------------------------------------------------------- */

static void on_event(const Event *ev, void *userdata) {
        ControlServer *s = userdata;
        const char *sig = ev->signal > 0 ? signal_to_string(ev->signal) : NULL;

        for (Client *c = s->clients; c; c = c->next) {
                int r;

                if (!c->subscribed || c->doomed)
                        continue;
                r = sd_bus_emit_signal(c->bus, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE, ARBOR_SIGNAL_EVENT,
                                       ARBOR_EVENT_SIGNATURE, event_kind_to_string(ev->kind), (uint64_t) ev->ts,
                                       ev->path ? ev->path : "", (uint32_t) (ev->pid > 0 ? ev->pid : 0),
                                       (int32_t) ev->code, sig ? sig : "", (int32_t) ev->normal,
                                       ev->error ? ev->error : "");
                if (r < 0) {
                        log_debug("control: cannot send an event to pid %d, dropping it: %s", (int) c->pid,
                                  strerror(-r));
                        client_doom(c);
                        continue;
                }
                client_check_queue(c);
        }
}

/* ---- accepting ----------------------------------------------------------------------------- */

/* Whether the peer is in the control group, by its primary or a supplementary group. */
static int peer_in_group(int fd, const struct ucred *uc, gid_t group) {
        _cleanup_free_ gid_t *groups = NULL;
        socklen_t len = 64 * sizeof(gid_t);

        if (uc->gid == group)
                return 1;
        /* SO_PEERGROUPS: the groups at connect() time, from the kernel; no NSS, no /proc race */
        for (;;) {
                gid_t *g = realloc(groups, len);

                if (!g)
                        return -ENOMEM;
                groups = g;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) >= 0)
                        break;
                if (errno != ERANGE)
                        return -errno;
                /* len now says how much is needed */
        }
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == group)
                        return 1;
        return 0;
}

/* Returns 1 when the peer may talk to us, 0 when not, -errno when it cannot be told. */
static int peer_allowed(ControlServer *s, int fd, struct ucred *ret) {
        socklen_t len = sizeof(*ret);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ret, &len) < 0)
                return -errno;
        if (ret->uid == 0 || ret->uid == s->owner)
                return 1;
        if (!s->group_set)
                return 0;
        return peer_in_group(fd, ret, s->group);
}

/*
 * Tells a refused peer so before closing. sd-bus clients wait for up to
 * three reply lines to their AUTH and fail with EPERM when the first is not
 * DATA or OK; other D-Bus clients read REJECTED as the server's refusal.
 */
static void peer_refuse(int fd) {
        static const char reject[] = ARBOR_REFUSED ARBOR_REFUSED ARBOR_REFUSED;
        char buf[256];

        /* read what it already sent: closing with unread data could reset the connection before it reads ours */
        (void) recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        (void) send(fd, reject, sizeof(reject) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int client_new(ControlServer *s, int fd, const struct ucred *uc) {
        Client *c;
        sd_bus *bus = NULL;
        int sndbuf = CONTROL_SNDBUF, r;
        char desc[64];

        r = sd_bus_new(&bus);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        r = sd_bus_set_fd(bus, fd, fd); /* the bus owns fd from here on */
        if (r < 0) {
                (void) close(fd);
                sd_bus_unref(bus);
                return r;
        }
        c = calloc(1, sizeof(Client));
        if (!c) {
                sd_bus_close_unref(bus);
                return -ENOMEM;
        }
        *c = (Client) { .server = s, .bus = bus, .uid = uc->uid, .pid = uc->pid, .next = s->clients };
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;

        (void) snprintf(desc, sizeof(desc), "arborctl-pid-%d", (int) uc->pid);
        (void) sd_bus_set_description(bus, desc);
        r = sd_bus_set_server(bus, 1, s->id);
        if (r >= 0)
                r = sd_bus_set_trusted(bus, 1); /* access was checked above: no per-method privilege checks */
        if (r >= 0)
                r = sd_bus_negotiate_fds(bus, 0); /* nothing we serve passes fds; do not hold any a client sends */
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE, manager_vtable, c);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                        "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0) {
                /* sd-bus raised the send buffer to 8 MiB; a few events per client is enough */
                if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)
                        log_debug("control: setsockopt(SO_SNDBUF): %s", strerror(errno));
                r = sd_bus_attach_event(bus, manager_get_event(s->manager), CONTROL_PRIORITY);
        }
        if (r < 0) {
                client_free(c);
                return r;
        }
        return 0;
}

static int on_retry_accept(sd_event_source *es, uint64_t usec, void *userdata) {
        ControlServer *s = userdata;

        s->retry_source = sd_event_source_disable_unref(s->retry_source);
        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return 0;
}

/* accept() is out of fds or memory: the socket stays readable, so stop watching it for a while. */
static void control_pause_accept(ControlServer *s) {
        int r;

        r = sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
        if (r >= 0 && !s->retry_source)
                r = sd_event_add_time_relative(manager_get_event(s->manager), &s->retry_source, CLOCK_MONOTONIC,
                                               CONTROL_ACCEPT_RETRY_USEC, 0, on_retry_accept, s);
        if (r < 0)
                log_warning_errno(r, "control: cannot pause accepting connections: %m");
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        ControlServer *s = userdata;

        for (unsigned i = 0; i < CONTROL_ACCEPT_BATCH; i++) {
                _cleanup_close_ int cfd = -EBADF;
                struct ucred uc = {};
                int r;

                cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                                continue; /* that connection is gone; others may wait */
                        log_warning_errno(errno, "control: cannot accept a connection: %m; retrying in a second");
                        control_pause_accept(s);
                        return 0;
                }
                if (s->n_clients >= CONTROL_MAX_CLIENTS) {
                        if (!s->full_logged)
                                log_warning("control: %u connections are open, the most allowed; "
                                            "refusing new ones until some close", s->n_clients);
                        s->full_logged = true;
                        continue; /* cfd is closed */
                }
                r = peer_allowed(s, cfd, &uc);
                if (r <= 0) {
                        if (r < 0)
                                log_warning_errno(r, "control: refused a connection: cannot read its credentials: %m");
                        else if (s->group_set)
                                log_warning("control: refused a connection from uid %u (pid %d): only root, uid %u "
                                            "and group %s may connect", (unsigned) uc.uid, (int) uc.pid,
                                            (unsigned) s->owner, s->group_name);
                        else
                                log_warning("control: refused a connection from uid %u (pid %d): only root and "
                                            "uid %u may connect", (unsigned) uc.uid, (int) uc.pid, (unsigned) s->owner);
                        peer_refuse(cfd);
                        continue;
                }
                r = client_new(s, TAKE_FD(cfd), &uc);
                if (r < 0)
                        log_warning_errno(r, "control: cannot serve the connection of pid %d: %m", (int) uc.pid);
                else
                        log_debug("control: connection from pid %d (uid %u)", (int) uc.pid, (unsigned) uc.uid);
        }
        return 0;
}

/* ---- set-up ----------------------------------------------------------------------------------- */

int control_server_new(Manager *m, const ControlOptions *opts, ControlServer **ret) {
        _cleanup_(control_server_freep) ControlServer *s = NULL;
        sd_event *event = manager_get_event(m);
        const char *env;
        int r;

        s = calloc(1, sizeof(ControlServer));
        if (!s)
                return log_error_errno(ENOMEM, "control: out of memory");
        s->manager = m;
        s->fd = -EBADF;
        s->owner = geteuid();
        s->group_set = opts->group_set;
        s->group = opts->group;

        env = getenv(ARBOR_SOCKET_ENV);
        if (opts->path)
                s->path = strdup(opts->path);
        else if (env && *env)
                s->path = strdup(env); /* the variable arborctl reads too: set once, both agree */
        else {
                r = control_default_socket(s->owner, &s->path);
                if (r == -ENXIO) {
                        log_warning("no control socket: $XDG_RUNTIME_DIR is not set; set control= in [arbor] "
                                    "to use arborctl");
                        *ret = NULL;
                        return 0;
                }
                if (r < 0)
                        return log_error_errno(r, "control: %m");
        }
        if (!s->path)
                return log_error_errno(ENOMEM, "control: out of memory");
        if (s->group_set) {
                if (opts->group_name)
                        s->group_name = strdup(opts->group_name);
                else
                        (void) asprintf(&s->group_name, "%u", (unsigned) opts->group);
                if (!s->group_name)
                        return log_error_errno(ENOMEM, "control: out of memory");
        }
        r = sd_id128_randomize(&s->id);
        if (r < 0)
                return log_error_errno(r, "control: cannot make a server id: %m");

        r = control_open_socket(s);
        if (r < 0)
                return r; /* a socket we bound is removed by the free */
        r = sd_event_add_io(event, &s->listen_source, s->fd, EPOLLIN, on_accept, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->listen_source, CONTROL_PRIORITY);
        if (r < 0)
                return log_error_errno(r, "control: cannot watch the socket: %m");
        r = sd_event_add_defer(event, &s->reap_source, on_reap, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->reap_source, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "control: cannot set up: %m");

        manager_set_listener(m, &(ManagerListener) {
                .event = on_event,
                .command_done = on_command_done,
                .userdata = s,
        });
        log_debug("control: listening on %s", s->path);
        *ret = TAKE_PTR(s);
        return 0;
}

ControlServer *control_server_free(ControlServer *s) {
        struct stat st;

        if (!s)
                return NULL;
        manager_set_listener(s->manager, NULL);
        while (s->clients)
                client_free(s->clients);
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        s->retry_source = sd_event_source_disable_unref(s->retry_source);
        s->reap_source = sd_event_source_disable_unref(s->reap_source);
        /* remove the socket only if it is still the one we bound, not a successor's */
        if (s->ino != 0 && stat(s->path, &st) >= 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                (void) unlink(s->path);
        s->fd = safe_close(s->fd);
        free(s->path);
        free(s->group_name);
        free(s);
        return NULL;
}

const char *control_server_path(const ControlServer *s) {
        return s->path;
}
