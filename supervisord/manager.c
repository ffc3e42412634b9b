/* SPDX-License-Identifier: MIT */
#include "manager.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>

#include "child-setup.h"
#include "log.h"
#include "log-sink.h"
#include "macro.h"
#include "notify.h"
#include "signal-util.h"
#include "spawn.h"

/* After the tree has ended, PID 1 gives stragglers this long between SIGTERM and SIGKILL. */
#define STRAGGLER_GRACE_USEC (5 * USEC_PER_SEC)

/* The signals arbord handles; blocked in main() so that they queue for signalfd. */
static const int handled_signals[] = {
        SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPWR,
};

/* The run-time side of one service. */
typedef struct Proc {
        Manager *manager;
        NodeId id;
        pid_t pid;              /* 0: no live process */
        pid_t last_pid;         /* for the events that follow its death */
        int pidfd;
        sd_event_source *report_source; /* the exec report pipe, until EOF */
        sd_event_source *timer;
        char **envp;            /* NULL: the manager's shared default */
        char *error;            /* the last spawn error, for the event */
} Proc;

struct Manager {
        sd_event *event;
        Config *config;
        Engine *engine;
        Proc *procs; /* parallel to config->nodes */
        ActionList actions;
        bool dispatching;

        char **default_envp;
        struct rlimit original_nofile;
        bool pid1;

        int notify_fd;
        char *notify_env;    /* "NOTIFY_SOCKET=..." */

        /*
         * Processes whose start failed are "abandoned": the engine is done with
         * them (and may have started the service again) but they still have
         * to be reaped. Their pids wait here.
         */
        pid_t *abandoned;
        size_t n_abandoned, allocated_abandoned;
        size_t n_unreaped; /* our processes not reaped yet, abandoned ones included */

        bool tree_done;
        int exit_status;
        unsigned interrupts; /* SIGINTs received; the second one kills */
        sd_event_source *grace_timer;

        ManagerListener listener;
};

/* ---- small helpers ---------------------------------------------------------------- */

static const NodeSpec *node(Manager *m, NodeId id) {
        return m->config->nodes[id];
}

usec_t manager_now(Manager *m) {
        usec_t now;

        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return 0;
        return now;
}

static Proc *proc_by_pid(Manager *m, pid_t pid) {
        /* linear: one lookup per reaped child, cheap next to the fork that made it */
        for (NodeId id = 0; id < m->config->n_nodes; id++)
                if (m->procs[id].pid == pid)
                        return &m->procs[id];
        return NULL;
}

static void manager_dispatch(Manager *m);

/* Feeds an engine result: logs an impossible input (never fatal in PID 1), then runs the actions. */
static void manager_after_input(Manager *m, int r) {
        if (r == -EPROTO)
                log_warning("engine: ignored an impossible input: %s", engine_last_bug(m->engine));
        else if (r < 0)
                log_error_errno(r, "engine: %m");
        manager_dispatch(m);
}

/* ---- environment ---------------------------------------------------------------- */

static bool env_overridden(char *const *overrides, const char *entry) {
        size_t len = strcspn(entry, "=");

        for (char *const *o = overrides; o && *o; o++)
                if (strncmp(*o, entry, len) == 0 && (*o)[len] == '=')
                        return true;
        return false;
}

/* Variables that speak to arbord's own manager (systemd), never to a service's. */
static bool env_is_arbords_own(const char *entry) {
        static const char *const own[] = { "NOTIFY_SOCKET=", "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };

        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (strncmp(entry, own[i], strlen(own[i])) == 0)
                        return true;
        return false;
}

/*
 * What a service gets: arbord's environment less what was meant for arbord
 * itself, then the service's `environment=` entries (which win), then our
 * NOTIFY_SOCKET for ready=notify. Only pointers are copied: the strings
 * belong to environ and the spec.
 */
static char **build_envp(char *const *extra, const char *notify_env) {
        extern char **environ;
        size_t n = strv_length(environ) + strv_length(extra) + 2, k = 0;
        char **envp = calloc(n, sizeof(char *));

        if (!envp)
                return NULL;
        for (char **e = environ; e && *e; e++)
                if (!env_overridden(extra, *e) && !env_is_arbords_own(*e))
                        envp[k++] = *e;
        for (char *const *e = extra; e && *e; e++)
                envp[k++] = *e;
        if (notify_env)
                envp[k++] = (char *) notify_env;
        return envp;
}

/* ---- spawning ---------------------------------------------------------------------- */

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static const char *spawn_error_text(Proc *p, const SpawnReport *rep) {
        const NodeSpec *n = node(p->manager, p->id);
        char buf[512];

        if (rep->stage == SPAWN_STAGE_EXEC)
                snprintf(buf, sizeof(buf), "%s: %s", n->argv[0], strerror(rep->error));
        else if (rep->stage == SPAWN_STAGE_CHDIR)
                snprintf(buf, sizeof(buf), "%s %s: %s", spawn_stage_to_string(rep->stage),
                         n->working_directory, strerror(rep->error));
        else
                snprintf(buf, sizeof(buf), "%s: %s", spawn_stage_to_string(rep->stage), strerror(rep->error));
        free(p->error);
        p->error = strdup(buf);
        return p->error ? p->error : "spawn failed";
}

static void proc_feed_spawn_failed(Proc *p, int error, const char *what) {
        Manager *m = p->manager;

        log_error("service %s: %s", node(m, p->id)->path, what);
        manager_after_input(m, engine_on_spawn_failed(m->engine, p->id, error, what, manager_now(m), &m->actions));
}

static void proc_feed_exec(Proc *p) {
        Manager *m = p->manager;

        manager_after_input(m, engine_on_exec(m->engine, p->id, manager_now(m), &m->actions));
}

static int manager_abandon(Manager *m, pid_t pid) {
        if (m->n_abandoned == m->allocated_abandoned) {
                size_t n = m->allocated_abandoned ? m->allocated_abandoned * 2 : 8;
                pid_t *a = realloc(m->abandoned, n * sizeof(pid_t));
                if (!a)
                        return -ENOMEM;
                m->abandoned = a;
                m->allocated_abandoned = n;
        }
        m->abandoned[m->n_abandoned++] = pid;
        return 0;
}

static bool manager_take_abandoned(Manager *m, pid_t pid) {
        for (size_t i = 0; i < m->n_abandoned; i++)
                if (m->abandoned[i] == pid) {
                        m->abandoned[i] = m->abandoned[--m->n_abandoned];
                        return true;
                }
        return false;
}

/*
 * Forgets p's process: the service is free to be spawned again. Everything
 * about the old process is cleared *before* the engine hears of it, because
 * the engine may answer with a new spawn of the same service at once.
 */
static void proc_detach(Proc *p) {
        p->report_source = sd_event_source_disable_unref(p->report_source);
        p->pid = 0;
        p->pidfd = safe_close(p->pidfd);
}

/* What the exec report pipe says right now. Returns as spawn_read_report(). */
static int proc_read_report(Proc *p, SpawnReport *ret) {
        int r = spawn_read_report(sd_event_source_get_io_fd(p->report_source), ret);

        if (r < 0 && r != -EAGAIN && r != -EINTR)
                log_error_errno(r, "service %s: unreadable exec report: %m", node(p->manager, p->id)->path);
        return r;
}

/* The child failed before exec: it is abandoned to the reaper, and the engine told. */
static void proc_start_failed(Proc *p, int r, const SpawnReport *rep) {
        Manager *m = p->manager;
        const char *what = r == 1 ? spawn_error_text(p, rep) : "unreadable exec report";

        if (p->pid > 0 && manager_abandon(m, p->pid) < 0)
                log_warning("cannot remember pid %d: it will be reaped as an orphan", (int) p->pid);
        proc_detach(p);
        proc_feed_spawn_failed(p, r == 1 ? rep->error : EPROTO, what);
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Proc *p = userdata;
        SpawnReport rep;
        int r = proc_read_report(p, &rep);

        if (r == -EAGAIN || r == -EINTR)
                return 0;
        if (r == 0) {
                p->report_source = sd_event_source_disable_unref(p->report_source);
                proc_feed_exec(p);
        } else
                proc_start_failed(p, r, &rep);
        return 0;
}

static void manager_spawn(Manager *m, NodeId id) {
        const NodeSpec *n = node(m, id);
        Proc *p = &m->procs[id];
        SpawnRequest req = {
                .argv = n->argv,
                .envp = p->envp ? p->envp : m->default_envp,
                .working_directory = n->working_directory,
                .nofile = &m->original_nofile,
                .foreground = n->foreground,
        };
        Spawned sp;
        int r;

        p->last_pid = 0;
        r = spawn_start(&req, &sp);
        if (r < 0) {
                char what[256];
                snprintf(what, sizeof(what), "cannot start a process (pipe, fork or pidfd): %s", strerror(-r));
                proc_feed_spawn_failed(p, -r, what);
                return;
        }
        m->n_unreaped++;
        p->pid = p->last_pid = sp.pid;
        p->pidfd = sp.pidfd;
        r = sd_event_add_io(m->event, &p->report_source, sp.report_fd, EPOLLIN, on_report, p);
        if (r >= 0)
                r = sd_event_source_set_io_fd_own(p->report_source, true);
        if (r < 0) {
                /* cannot learn how exec went: treat it as running, its exit will tell the rest */
                log_warning_errno(r, "service %s: cannot watch its exec report: %m", n->path);
                p->report_source = sd_event_source_disable_unref(p->report_source);
                (void) close(sp.report_fd);
                proc_feed_exec(p);
        }
}

/* ---- signalling ---------------------------------------------------------------------- */

static int proc_signal(Proc *p, int sig) {
        if (p->pid <= 0)
                return -ESRCH;
        /* the main process through its pidfd: never a recycled pid */
        if (p->pidfd >= 0) {
                if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                        return -errno;
        } else if (kill(p->pid, sig) < 0 && errno != ESRCH)
                return -errno; /* no pidfds here; the pid is unreaped, so still its own */
        /*
         * Then the rest of its process group, so that shell wrappers leave no
         * orphans. The group id is the unreaped main pid, which the kernel
         * cannot hand out again while we hold it.
         */
        if (kill(-p->pid, sig) < 0 && errno != ESRCH && errno != EPERM)
                return -errno;
        return 0;
}

/* ---- timers -------------------------------------------------------------------------- */

static int on_node_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Proc *p = userdata;
        Manager *m = p->manager;

        manager_after_input(m, engine_on_timer(m->engine, p->id, usec, &m->actions));
        return 0;
}

static void proc_arm_timer(Proc *p, usec_t at) {
        Manager *m = p->manager;
        int r;

        if (!p->timer)
                r = sd_event_add_time(m->event, &p->timer, CLOCK_MONOTONIC, at, USEC_PER_MSEC, on_node_timer, p);
        else {
                r = sd_event_source_set_time(p->timer, at);
                if (r >= 0)
                        r = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_error_errno(r, "%s: cannot arm a timer, its deadline will not be enforced: %m", node(m, p->id)->path);
}

static void proc_disarm_timer(Proc *p) {
        if (p->timer)
                (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
}

/* ---- the end of the tree --------------------------------------------------------------- */

static int on_grace_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        log_warning("processes left after the grace period: sending SIGKILL");
        if (kill(-1, SIGKILL) < 0 && errno != ESRCH)
                log_warning_errno(errno, "kill(-1, SIGKILL): %m");
        return 0;
}

/*
 * Leaves once the tree has ended and every process we started is reaped; as
 * PID 1, only when nothing at all is left to reap (see on_sigchld()).
 */
static void manager_maybe_exit(Manager *m) {
        if (m->tree_done && !m->pid1 && m->n_unreaped == 0)
                (void) sd_event_exit(m->event, m->exit_status);
}

static void manager_tree_done(Manager *m, int status) {
        int r;

        m->tree_done = true;
        m->exit_status = status;
        (void) sd_notify(0, "STOPPING=1");
        if (!m->pid1) {
                /* orphans of our services are the outer init's; our own children we reap first */
                manager_maybe_exit(m);
                return;
        }
        /* PID 1: whatever is left in the namespace dies with us, so end it in order first */
        if (kill(-1, SIGTERM) < 0) {
                if (errno == ESRCH) {
                        (void) sd_event_exit(m->event, status);
                        return;
                }
                log_warning_errno(errno, "kill(-1, SIGTERM): %m");
        }
        r = sd_event_add_time_relative(m->event, &m->grace_timer, CLOCK_MONOTONIC, STRAGGLER_GRACE_USEC, 0,
                                       on_grace_timer, m);
        if (r < 0)
                log_warning_errno(r, "cannot arm the grace timer: %m");
}

/* ---- carrying out actions -------------------------------------------------------------- */

static void manager_publish(Manager *m, const Action *a) {
        Event ev = a->event;

        /* a restart is about the child, not the process that is gone or not yet there */
        if (node(m, a->node)->kind == NODE_SERVICE && ev.kind != EVENT_RESTART)
                ev.pid = m->procs[a->node].last_pid;
        log_event(&ev);
        if (ev.kind == EVENT_READY && a->node == 0)
                (void) sd_notify(0, "READY=1");
        if (m->listener.event)
                m->listener.event(&ev, m->listener.userdata);
}

static void manager_apply(Manager *m, const Action *a) {
        Proc *p = &m->procs[a->node];
        int r;

        switch (a->kind) {
        case ACTION_SPAWN:
                manager_spawn(m, a->node);
                return;
        case ACTION_SIGNAL:
                r = proc_signal(p, a->signal);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot send %s: %m", node(m, a->node)->path,
                                          signal_to_string(a->signal));
                return;
        case ACTION_ARM_TIMER:
                proc_arm_timer(p, a->usec);
                return;
        case ACTION_DISARM_TIMER:
                proc_disarm_timer(p);
                return;
        case ACTION_EVENT:
                manager_publish(m, a);
                return;
        case ACTION_EXIT:
                manager_tree_done(m, a->exit_status);
                return;
        case ACTION_COMMAND_DONE:
                if (m->listener.command_done)
                        m->listener.command_done(a->cookie, a->node, a->result, m->listener.userdata);
                return;
        case _ACTION_KIND_MAX:
        case _ACTION_KIND_INVALID:
                break;
        }
        log_warning("engine: unknown action %d ignored", (int) a->kind);
}

/*
 * Runs the pending actions in order. An action may feed the engine again
 * (a fork that fails at once); its actions are appended and run in this same
 * loop, never recursively.
 */
static void manager_dispatch(Manager *m) {
        if (m->dispatching)
                return;
        m->dispatching = true;
        for (size_t i = 0; i < m->actions.n; i++) {
                Action a = m->actions.items[i]; /* the list may move while it runs */
                manager_apply(m, &a);
        }
        action_list_clear(&m->actions);
        m->dispatching = false;
}

/* ---- reaping ------------------------------------------------------------------------------- */

static ExitStatus exit_status_from_siginfo(const siginfo_t *si) {
        if (si->si_code == CLD_EXITED)
                return (ExitStatus) { .code = si->si_status };
        return (ExitStatus) { .code = -1, .signal = si->si_status };
}

static void proc_reaped(Proc *p, const siginfo_t *si) {
        Manager *m = p->manager;
        SpawnReport rep;
        int r = 0;

        /*
         * The child is gone, so its exec report is complete: read it first, so
         * that the engine hears "exec ok" or "spawn failed" before the exit,
         * whichever of the pipe and SIGCHLD the loop saw first.
         */
        if (p->report_source) {
                r = proc_read_report(p, &rep);
                if (r == -EAGAIN || r == -EINTR)
                        r = 0; /* nothing and no EOF from a dead child: its exec went through */
                if (r != 0) {
                        proc_start_failed(p, r, &rep);
                        /* proc_start_failed() abandoned the pid: it is reaped now */
                        (void) manager_take_abandoned(m, si->si_pid);
                        return;
                }
        }
        bool exec_pending = p->report_source != NULL;
        proc_detach(p);
        if (exec_pending)
                proc_feed_exec(p);
        manager_after_input(m, engine_on_exit(m->engine, p->id, exit_status_from_siginfo(si), manager_now(m),
                                              &m->actions));
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *ssi, void *userdata) {
        Manager *m = userdata;

        /* SIGCHLDs coalesce: ignore ssi, reap until nothing is left */
        for (;;) {
                siginfo_t si = {};
                Proc *p;

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ECHILD && m->tree_done)
                                (void) sd_event_exit(m->event, m->exit_status);
                        else
                                log_warning_errno(errno, "waitid: %m");
                        return 0;
                }
                if (si.si_pid == 0)
                        return 0;
                p = proc_by_pid(m, si.si_pid);
                if (p || manager_take_abandoned(m, si.si_pid))
                        m->n_unreaped--;
                if (p)
                        proc_reaped(p, &si);
                else
                        log_debug("reaped %d", (int) si.si_pid);
                manager_maybe_exit(m);
        }
}

/* ---- signals to arbord ---------------------------------------------------------------------- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *ssi, void *userdata) {
        Manager *m = userdata;
        int sig = (int) ssi->ssi_signo;

        switch (sig) {
        case SIGINT:
                if (++m->interrupts > 1) {
                        log_warning("second SIGINT: stopping the rest of the tree with SIGKILL");
                        manager_after_input(m, engine_hurry(m->engine, manager_now(m), &m->actions));
                        return 0;
                }
                _fallthrough_;
        case SIGTERM:
        case SIGQUIT:
        case SIGPWR:
                log_info("%s: stopping the tree", signal_to_string(sig));
                (void) manager_request_shutdown(m);
                return 0;
        case SIGHUP:
                log_warning("SIGHUP: reloading the configuration is not supported yet; nothing changed");
                return 0;
        default:
                log_info("%s ignored", signal_to_string(sig));
                return 0;
        }
}

/*
 * Signals whose default action would end or stop arbord for no reason of
 * its own. SIGPIPE: a reader of stderr that went away. SIGTTOU, SIGTTIN: once
 * `-- COMMAND` has taken the terminal, arbord is a background process there;
 * with `stty tostop` its next log line would stop it (as a session leader the
 * write fails with EIO instead), and a stopped arbord reaps nothing. tini
 * ignores these too. Services get SIG_DFL back (child-setup.c).
 */
static int ignore_signals_that_would_end_us(void) {
        static const int ignored[] = { SIGPIPE, SIGTTOU, SIGTTIN };
        struct sigaction sa = { .sa_handler = SIG_IGN };

        if (sigemptyset(&sa.sa_mask) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
                if (sigaction(ignored[i], &sa, NULL) < 0)
                        return -errno;
        return 0;
}

int manager_block_signals(void) {
        sigset_t set;

        if (sigemptyset(&set) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(handled_signals); i++)
                if (sigaddset(&set, handled_signals[i]) < 0)
                        return -errno;
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        return ignore_signals_that_would_end_us();
}

static int manager_add_signal_sources(Manager *m) {
        for (size_t i = 0; i < ELEMENTSOF(handled_signals); i++) {
                int sig = handled_signals[i], r;
                sd_event_source *s = NULL;

                r = sd_event_add_signal(m->event, &s, sig, sig == SIGCHLD ? on_sigchld : on_signal, m);
                if (r < 0)
                        return log_error_errno(r, "cannot watch %s: %m", signal_to_string(sig));
                /* exits before anything else: no signal may be sent to a pid we already reaped */
                if (sig == SIGCHLD)
                        r = sd_event_source_set_priority(s, SD_EVENT_PRIORITY_IMPORTANT);
                if (r >= 0)
                        r = sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
                if (r < 0)
                        return log_error_errno(r, "cannot set up %s: %m", signal_to_string(sig));
        }
        return 0;
}

/* ---- readiness notifications ------------------------------------------------------------------- */

static Proc *proc_by_notify_sender(Manager *m, pid_t pid) {
        Proc *p = proc_by_pid(m, pid);
        return p && node(m, p->id)->ready == READY_NOTIFY ? p : NULL;
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        char buf[4096];
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct ucred *cred = NULL;
        ssize_t n;
        Proc *p;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "notify socket: %m");
                return 0;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (struct ucred *) CMSG_DATA(c);
        if (!cred || (size_t) n > sizeof(buf)) {
                log_debug("notify socket: message without credentials or too long, ignored");
                return 0;
        }
        /* only the main process of a ready=notify service may say it is ready */
        p = proc_by_notify_sender(m, cred->pid);
        if (!p) {
                log_debug("notify socket: message from pid %d, not a notify service, ignored", (int) cred->pid);
                return 0;
        }
        if (notify_message_is_ready(buf, (size_t) n))
                manager_after_input(m, engine_on_ready(m->engine, p->id, manager_now(m), &m->actions));
        return 0;
}

static bool config_wants_notify(const Config *c) {
        for (size_t i = 0; i < c->n_nodes; i++)
                if (c->nodes[i]->kind == NODE_SERVICE && c->nodes[i]->ready == READY_NOTIFY)
                        return true;
        return false;
}

/* An abstract datagram socket: nothing on disk to clean up, gone when arbord is. */
static int manager_open_notify_socket(Manager *m) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1, r;
        size_t len;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "arbor/notify/%d/%llu", (int) getpid(),
                        (unsigned long long) manager_now(m));
        len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
        if (bind(fd, (struct sockaddr *) &sa, (socklen_t) len) < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return -errno;
        if (asprintf(&m->notify_env, "NOTIFY_SOCKET=@%s", sa.sun_path + 1) < 0) {
                m->notify_env = NULL;
                return -ENOMEM;
        }
        r = sd_event_add_io(m->event, NULL, fd, EPOLLIN, on_notify, m);
        if (r < 0)
                return r;
        m->notify_fd = TAKE_FD(fd);
        return 0;
}

/* ---- set-up ------------------------------------------------------------------------------------ */

/* Many children hold many pidfds: raise our own fd limit, and give services the original back. */
static void manager_raise_nofile(Manager *m) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &m->original_nofile) < 0) {
                log_warning_errno(errno, "getrlimit(RLIMIT_NOFILE): %m");
                return;
        }
        rl = m->original_nofile;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "cannot raise the open file limit: %m");
}

static int manager_build_environments(Manager *m) {
        m->default_envp = build_envp(NULL, NULL);
        if (!m->default_envp)
                return -ENOMEM;
        for (NodeId id = 0; id < m->config->n_nodes; id++) {
                const NodeSpec *n = node(m, id);
                bool notify = n->kind == NODE_SERVICE && n->ready == READY_NOTIFY;

                if (n->kind != NODE_SERVICE || ((!n->environment || !n->environment[0]) && !notify))
                        continue;
                m->procs[id].envp = build_envp(n->environment, notify ? m->notify_env : NULL);
                if (!m->procs[id].envp)
                        return -ENOMEM;
        }
        return 0;
}

int manager_new(Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->notify_fd = -EBADF;
        m->pid1 = getpid() == 1;

        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop: %m");
        r = log_sink_attach(m->event);
        if (r < 0)
                log_warning_errno(r, "stderr cannot be written without blocking (%m): "
                                  "a stalled reader of it would hold arbord up");
        m->engine = engine_new(config);
        m->procs = calloc(config->n_nodes, sizeof(Proc));
        if (!m->engine || !m->procs)
                return -ENOMEM;
        m->config = config;
        for (NodeId id = 0; id < config->n_nodes; id++)
                m->procs[id] = (Proc) { .manager = m, .id = id, .pidfd = -EBADF };

        r = manager_add_signal_sources(m);
        if (r < 0)
                return r;
        if (config_wants_notify(config)) {
                r = manager_open_notify_socket(m);
                if (r < 0)
                        return log_error_errno(r, "cannot open the notify socket: %m");
        }
        r = manager_build_environments(m);
        if (r < 0)
                return r;

        manager_raise_nofile(m);
        /* beside PID 1: double-forking daemons must stay in view, and be reaped by us */
        if (!m->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning_errno(errno, "cannot become a child subreaper, orphans will escape: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (NodeId id = 0; m->procs && m->config && id < m->config->n_nodes; id++) {
                Proc *p = &m->procs[id];
                p->report_source = sd_event_source_disable_unref(p->report_source);
                p->timer = sd_event_source_disable_unref(p->timer);
                p->pidfd = safe_close(p->pidfd);
                free(p->envp);
                free(p->error);
        }
        free(m->procs);
        free(m->abandoned);
        m->grace_timer = sd_event_source_disable_unref(m->grace_timer);
        action_list_done(&m->actions);
        engine_free(m->engine);
        free(m->default_envp);
        free(m->notify_env);
        safe_close(m->notify_fd);
        log_sink_detach();
        sd_event_unref(m->event);
        config_free(m->config);
        free(m);
        return NULL;
}

int manager_run(Manager *m, int *ret_status) {
        int r;

        manager_after_input(m, engine_start(m->engine, manager_now(m), &m->actions));

        /* From here on arbord never exits on an error: only the tree's end stops the loop. */
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m");
        *ret_status = r;
        return 0;
}

/* ---- for the control server ------------------------------------------------------------------- */

sd_event *manager_get_event(Manager *m) {
        return m->event;
}

const Config *manager_get_config(Manager *m) {
        return m->config;
}

const Engine *manager_get_engine(Manager *m) {
        return m->engine;
}

pid_t manager_node_pid(Manager *m, NodeId id) {
        return id < m->config->n_nodes ? m->procs[id].pid : 0;
}

int manager_command(Manager *m, EngineCommand cmd, NodeId id, uint64_t cookie) {
        int r = engine_command(m->engine, cmd, id, cookie, manager_now(m), &m->actions);

        if (r == -EINVAL || r == -EALREADY || r == -EBUSY || r == -ENOBUFS)
                return r; /* refused: nothing happened */
        manager_after_input(m, r);
        return 0;
}

static int signal_subtree(Manager *m, const NodeSpec *n, int sig, unsigned *sent) {
        int r = 0;

        if (n->kind == NODE_SERVICE) {
                if (m->procs[n->index].pid <= 0)
                        return 0;
                (*sent)++;
                return proc_signal(&m->procs[n->index], sig);
        }
        for (size_t i = 0; i < n->n_children; i++) {
                int k = signal_subtree(m, n->children[i], sig, sent);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int manager_signal_node(Manager *m, NodeId id, int sig) {
        unsigned sent = 0;
        int r;

        if (id >= m->config->n_nodes)
                return -EINVAL;
        r = signal_subtree(m, node(m, id), sig, &sent);
        if (r < 0)
                return r;
        return sent > 0 ? 0 : -ESRCH;
}

int manager_request_shutdown(Manager *m) {
        (void) sd_notify(0, "STOPPING=1");
        manager_after_input(m, engine_shutdown(m->engine, manager_now(m), &m->actions));
        return 0;
}

void manager_set_listener(Manager *m, const ManagerListener *l) {
        m->listener = l ? *l : (ManagerListener) {};
}
