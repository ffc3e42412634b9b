/* SPDX-License-Identifier: MIT */
/*
 * The control socket and arborctl, against the real arbord and arborctl.
 *
 * Every wait has a deadline and keeps reading arbord's output (a crash-looping
 * tree logs a lot: an undrained stderr pipe would stall arbord). Outputs that
 * claim to be JSON are checked by jq.
 */

#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "control-api.h"
#include "harness.h"
#include "macro.h"

#define ARBORCTL TEST_BUILD_DIR "/arborctl"
#define NOBODY "65534"

/* A tree with a supervisor, a transient, a temporary and a service that crashes on SIGUSR1. */
static const char tree_ini[] =
        "[arbor]\n"
        "control = @TMP@/arbor.sock\n"
        "\n"
        "[supervisor:root]\n"
        "intensity = 10\n"
        "period = 10s\n"
        "\n"
        "[service:db]\n"
        "command = @HELPERS@/exit-after -t forever\n"
        "\n"
        "[service:crash]\n"
        "command = @HELPERS@/exit-after -t forever -c 3 -p\n"
        "\n"
        "[supervisor:web]\n"
        "strategy = rest_for_one\n"
        "\n"
        "[service:api]\n"
        "parent = web\n"
        "command = @HELPERS@/exit-after -t forever -c 3\n"
        "restart = transient\n"
        "\n"
        "[service:job]\n"
        "parent = web\n"
        "command = @HELPERS@/exit-after -t forever\n"
        "restart = temporary\n";

/* A service that crashes every few ms, forever (the intensity is far away), beside a quiet one. */
static const char crashloop_ini[] =
        "[arbor]\n"
        "control = @TMP@/arbor.sock\n"
        "\n"
        "[supervisor:root]\n"
        "intensity = 100000\n"
        "period = 1s\n"
        "\n"
        "[service:db]\n"
        "command = @HELPERS@/exit-after -t forever\n"
        "\n"
        "[service:loop]\n"
        "command = @HELPERS@/exit-after -c 1 -t 5\n";

/* ---- running commands -------------------------------------------------------------------- */

typedef struct Cmd {
        pid_t pid;
        int out_fd, err_fd;
        char *out, *err;
        size_t out_len, err_len;
        bool exited;
        int status; /* exit code, or 128+N */
} Cmd;

static void cmd_done(Cmd *c) {
        if (c->pid > 0 && !c->exited) {
                (void) kill(c->pid, SIGKILL);
                (void) waitpid(c->pid, NULL, 0);
        }
        c->out_fd = safe_close(c->out_fd);
        c->err_fd = safe_close(c->err_fd);
        free(c->out);
        free(c->err);
        *c = (Cmd) { .out_fd = -EBADF, .err_fd = -EBADF };
}

/* Starts argv (searched in $PATH) with stdin from /dev/null, stdout and stderr on pipes. */
static void cmd_start(Cmd *c, const char *const *argv) {
        int out[2], err[2];

        *c = (Cmd) { .out_fd = -EBADF, .err_fd = -EBADF };
        cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe2: %m");
        c->pid = fork();
        cr_assert(c->pid >= 0, "fork: %m");
        if (c->pid == 0) {
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
                        _exit(126);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        (void) close(out[1]);
        (void) close(err[1]);
        c->out_fd = out[0];
        c->err_fd = err[0];
        cr_assert(fcntl(c->out_fd, F_SETFL, O_NONBLOCK) == 0 && fcntl(c->err_fd, F_SETFL, O_NONBLOCK) == 0);
}

/* Reads what is there (non-blocking); returns false at EOF. */
static bool pump_fd(int *fd, char **buf, size_t *len) {
        char tmp[65536];
        ssize_t n;

        while (*fd >= 0) {
                n = read(*fd, tmp, sizeof(tmp));
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
                if (n == 0) {
                        *fd = safe_close(*fd);
                        return false;
                }
                *buf = realloc(*buf, *len + (size_t) n + 1);
                cr_assert(*buf);
                memcpy(*buf + *len, tmp, (size_t) n);
                *len += (size_t) n;
                (*buf)[*len] = 0;
        }
        return false;
}

static void cmd_pump(Cmd *c) {
        int st;

        (void) pump_fd(&c->out_fd, &c->out, &c->out_len);
        (void) pump_fd(&c->err_fd, &c->err, &c->err_len);
        if (!c->exited && waitpid(c->pid, &st, WNOHANG) == c->pid) {
                c->exited = true;
                c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
}

static bool cmd_finished(void *userdata) {
        Cmd *c = userdata;

        cmd_pump(c);
        return c->exited && c->out_fd < 0 && c->err_fd < 0;
}

/* Waits for c to end while reading arbord's output (a stalled arbord would never answer). */
static void cmd_wait(Arbord *a, Cmd *c) {
        bool ok = a ? arbord_wait_until(a, cmd_finished, c, -1) : harness_retry(cmd_finished, c, -1);

        cr_assert(ok, "a command did not finish in time");
        if (!c->out)
                c->out = strdup("");
        if (!c->err)
                c->err = strdup("");
}

/* Runs argv to its end; the result is in *c (cmd_done() it). */
static void run(Arbord *a, Cmd *c, const char *const *argv) {
        cmd_start(c, argv);
        cmd_wait(a, c);
}

static char *socket_path(Arbord *a) {
        char *p = arbord_tmpfile(a, "arbor.sock");
        cr_assert(p);
        return p;
}

/* arborctl --socket @TMP@/arbor.sock ARGS...; up to 4 arguments (NULL ends them). */
static void ctl(Arbord *a, Cmd *c, const char *a1, const char *a2, const char *a3, const char *a4) {
        _cleanup_free_ char *sock = socket_path(a);
        const char *argv[] = { ARBORCTL, "--socket", sock, a1, a2, a3, a4, NULL };

        run(a, c, argv);
}

/* Checks that json is valid JSON for which the jq filter is true (jq -e). */
static void assert_jq(Arbord *a, const char *json, const char *filter) {
        _cleanup_free_ char *file = arbord_tmpfile(a, "check.json");
        FILE *f;
        Cmd c;

        cr_assert(file);
        f = fopen(file, "we");
        cr_assert(f, "%s: %m", file);
        fputs(json, f);
        cr_assert(fclose(f) == 0);
        run(a, &c, (const char *const[]) { "jq", "-e", filter, file, NULL });
        cr_assert(c.status == 0, "jq -e '%s' is not true (status %d) of:\n%s\njq: %s", filter, c.status, json, c.err);
        cmd_done(&c);
}

static Arbord *start_tree(const char *ini) {
        Arbord *a = arbord_start(ini, NULL);

        cr_assert(a, "arbord did not start");
        cr_assert(arbord_wait_event(a, "ready", "root", -1, NULL), "%s", arbord_last_error(a));
        return a;
}

/* exit-after -p says "pid N" once SIGUSR1 is blocked for its wait: from then on SIGUSR1 means "exit now". */
static void wait_usr1_ready(Arbord *a, const char *path) {
        _cleanup_free_ char *pattern = NULL, *needle = NULL;
        const HarnessEvent *evs;
        long long pid = 0;
        size_t n;

        cr_assert(asprintf(&pattern, "start %s", path) > 0);
        evs = arbord_events(a, &n);
        for (size_t i = n; i-- > 0 && pid == 0;)
                if (harness_event_matches(&evs[i], pattern))
                        pid = evs[i].pid;
        cr_assert(pid > 0, "no start event of %s", path);
        cr_assert(asprintf(&needle, "pid %lld\n", pid) > 0);
        cr_assert(arbord_wait_stdout(a, needle, -1), "%s", arbord_last_error(a));
}

#define assert_status(c, code)                                                                               \
        cr_assert((c)->status == (code), "exit status %d, expected %d\nstdout: %s\nstderr: %s", (c)->status, \
                  (code), (c)->out, (c)->err)

/* ---- commands ------------------------------------------------------------------------------ */

Test(control, status_text_and_json) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "status", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "NAME") && strstr(c.out, "db") && strstr(c.out, "api") && strstr(c.out, "running"),
                  "%s", c.out);
        cr_assert(!strchr(c.out, '\033'), "colour on a pipe:\n%s", c.out);
        cmd_done(&c);

        ctl(a, &c, "--json", "status", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out,
                  "(.nodes | map(.path)) == [\"root\", \"root/db\", \"root/crash\", \"root/web\", \"root/web/api\", "
                  "\"root/web/job\"] and all(.nodes[]; .state == \"running\" and .uptime_ms >= 0 and .restarts == 0)"
                  " and (.nodes[1] | .kind == \"service\" and .restart == \"permanent\" and .pid > 0 and .parent == "
                  "\"root\" and .last_exit == null)"
                  " and (.nodes[0] | .kind == \"supervisor\" and .strategy == \"one_for_one\" and .intensity == 10 "
                  "and .period_ms == 10000 and .window_restarts == 0 and .pid == null and .parent == null)");
        cmd_done(&c);

        /* a subtree, by its unique name */
        ctl(a, &c, "status", "--json", "web", NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, "(.nodes | map(.path)) == [\"root/web\", \"root/web/api\", \"root/web/job\"]");
        cmd_done(&c);
}

Test(control, stop_start_restart_follow_otp) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        /* terminate_child: stopped, not restarted, not counted */
        ctl(a, &c, "stop", "api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_match(a, "stop root/web/api normal=true", -1, NULL), "%s", arbord_last_error(a));

        ctl(a, &c, "stop", "root/web/api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(c.err, "root/web/api is already stopped"), "%s", c.err);
        cmd_done(&c);

        /* something else happens in the tree; api stays down meanwhile */
        ctl(a, &c, "restart", "db", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_expect_sequence(a, (const char *const[]) { "stop root/db", "start root/db", "ready root/db", NULL },
                                         -1), "%s", arbord_last_error(a));
        cr_assert_eq(arbord_count_events(a, "start root/web/api"), 1, "a child stopped by command was restarted");

        ctl(a, &c, "--json", "status", "api", NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, ".nodes[0] | .state == \"stopped\" and .restarts == 0 and .pid == null and .uptime_ms == null");
        cmd_done(&c);

        /* restart_child */
        ctl(a, &c, "start", "api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_expect_sequence(a, (const char *const[]) { "start root/web/api", "ready root/web/api", NULL }, -1),
                  "%s", arbord_last_error(a));

        ctl(a, &c, "start", "api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(c.err, "root/web/api is already running"), "%s", c.err);
        cmd_done(&c);

        /* a whole subtree */
        ctl(a, &c, "restart", "web", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_event(a, "ready", "root/web", -1, NULL), "%s", arbord_last_error(a));

        /* none of it counted against intensity */
        ctl(a, &c, "status", "--json", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, "all(.nodes[]; .restarts == 0) and all(.nodes[] | select(.kind == \"supervisor\"); "
                            ".window_restarts == 0)");
        cmd_done(&c);

        /* the root is not a child */
        ctl(a, &c, "stop", "root", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(c.err, "shutdown"), "%s", c.err);
        cmd_done(&c);
}

Test(control, unknown_names_list_candidates) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "stop", "ap", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_NO_SUCH_CHILD);
        cr_assert(strstr(c.err, "no child named 'ap'") && strstr(c.err, "root/web/api"), "%s", c.err);
        cmd_done(&c);

        ctl(a, &c, "status", "nothing-like-it", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_NO_SUCH_CHILD);
        cr_assert(strstr(c.err, "root/db") && strstr(c.err, "root/web/job"), "the small tree is listed: %s", c.err);
        cmd_done(&c);

        ctl(a, &c, "kill", "-s", "HUP", "zz");
        assert_status(&c, ARBORCTL_EXIT_NO_SUCH_CHILD);
        cmd_done(&c);
}

Test(control, kill_sends_signals) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        /* exit-after exits with its code on SIGUSR1: a crash, restarted and counted */
        wait_usr1_ready(a, "root/crash");
        ctl(a, &c, "kill", "-s", "USR1", "crash");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_expect_sequence(a, (const char *const[]) { "exit root/crash code=3 normal=false",
                                                                    "restart root/crash", "start root/crash",
                                                                    "ready root/crash", NULL }, -1),
                  "%s", arbord_last_error(a));

        ctl(a, &c, "status", "--json", "crash", NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, ".nodes[0] | .restarts == 1 and .last_exit == {\"code\": 3, \"signal\": null}");
        cmd_done(&c);
        ctl(a, &c, "status", "--json", "root", NULL);
        assert_jq(a, c.out, ".nodes[0].window_restarts == 1");
        cmd_done(&c);

        /* by number, to a subtree */
        ctl(a, &c, "kill", "--signal=15", "web", NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_match(a, "exit root/web/api signal=SIGTERM", -1, NULL), "%s", arbord_last_error(a));

        ctl(a, &c, "kill", "-s", "NOSUCHSIG", "crash");
        assert_status(&c, ARBORCTL_EXIT_USAGE);
        cmd_done(&c);

        ctl(a, &c, "stop", "db", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_event(a, "stop", "root/db", -1, NULL), "%s", arbord_last_error(a));
        ctl(a, &c, "kill", "db", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(c.err, "no process of root/db is running"), "%s", c.err);
        cmd_done(&c);
}

Test(control, check_is_a_health_probe) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "check", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);

        /* a temporary child may be down */
        ctl(a, &c, "stop", "job", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_event(a, "stop", "root/web/job", -1, NULL), "%s", arbord_last_error(a));
        ctl(a, &c, "check", "--json", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, ".healthy == true and .not_running == []");
        cmd_done(&c);

        /* any other may not */
        ctl(a, &c, "stop", "api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_event(a, "stop", "root/web/api", -1, NULL), "%s", arbord_last_error(a));
        ctl(a, &c, "check", "--json", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_FAILED);
        assert_jq(a, c.out, ".healthy == false and .not_running == [{\"path\": \"root/web/api\", \"state\": \"stopped\"}]");
        cmd_done(&c);
}

Test(control, version_and_usage) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "version", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "arborctl " PACKAGE_VERSION) && strstr(c.out, "arbord " PACKAGE_VERSION), "%s", c.out);
        cmd_done(&c);
        ctl(a, &c, "version", "--json", NULL, NULL);
        assert_jq(a, c.out, ".arborctl == \"" PACKAGE_VERSION "\" and .arbord == \"" PACKAGE_VERSION "\"");
        cmd_done(&c);

        ctl(a, &c, "frobnicate", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_USAGE);
        cmd_done(&c);
        ctl(a, &c, "stop", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_USAGE);
        cmd_done(&c);
        ctl(a, &c, "stop", "--json", "api", NULL);
        assert_status(&c, ARBORCTL_EXIT_USAGE);
        cmd_done(&c);

        run(a, &c, (const char *const[]) { ARBORCTL, "--help", NULL });
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "Exit codes") && strstr(c.out, "permission denied"), "%s", c.out);
        cmd_done(&c);
}

Test(control, completion_names) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "list-names", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "root/web/api\n") && strstr(c.out, "\napi\n"), "%s", c.out);
        cmd_done(&c);
}

Test(control, shutdown_ends_arbord_and_removes_the_socket) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        _cleanup_free_ char *sock = socket_path(a);
        struct stat st;
        int status = -1;
        Cmd c;

        cr_assert(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0600, "mode %o",
                  st.st_mode & 07777);
        ctl(a, &c, "shutdown", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_match(a, "shutdown root code=0", -1, NULL), "%s", arbord_last_error(a));
        cr_assert(arbord_wait_exit(a, -1, &status), "%s", arbord_last_error(a));
        cr_assert_eq(status, 0);
        cr_assert(stat(sock, &st) < 0 && errno == ENOENT, "the socket was left behind");

        ctl(a, &c, "status", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_UNREACHABLE);
        cmd_done(&c);
}

/* ---- events --------------------------------------------------------------------------------- */

typedef struct LinesWait {
        Cmd *cmd;
        size_t n;
} LinesWait;

static size_t count_lines(const char *s) {
        size_t n = 0;
        for (; s && *s; s++)
                n += *s == '\n';
        return n;
}

static bool has_lines(void *userdata) {
        LinesWait *w = userdata;

        cmd_pump(w->cmd);
        return count_lines(w->cmd->out) >= w->n;
}

Test(control, events_json_is_exactly_the_lifecycle) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        _cleanup_free_ char *sock = socket_path(a), *subscribed = NULL;
        const HarnessEvent *evs;
        size_t first, n;
        char *line;
        Cmd ev, c;

        cmd_start(&ev, (const char *const[]) { ARBORCTL, "--socket", sock, "events", "--json", NULL });
        cr_assert(asprintf(&subscribed, "control: pid %d (uid 0) subscribed to events", (int) ev.pid) > 0);
        cr_assert(arbord_wait_log(a, subscribed, -1), "%s", arbord_last_error(a));
        (void) arbord_events(a, &first);

        /* a scripted crash, then a stop by command */
        wait_usr1_ready(a, "root/crash");
        ctl(a, &c, "kill", "-s", "SIGUSR1", "crash");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_expect_sequence(a, (const char *const[]) { "exit root/crash code=3 normal=false",
                                                                    "restart root/crash", "start root/crash",
                                                                    "ready root/crash", NULL }, -1),
                  "%s", arbord_last_error(a));
        ctl(a, &c, "stop", "crash", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_match(a, "stop root/crash normal=true", -1, NULL), "%s", arbord_last_error(a));

        evs = arbord_events(a, &n);
        cr_assert_eq(n - first, 5, "arbord logged %zu events, expected 5", n - first);
        cr_assert(arbord_wait_until(a, has_lines, &(LinesWait) { &ev, 5 }, -1), "arborctl events printed:\n%s",
                  ev.out ? ev.out : "");

        /* the same JSON, line for line, as arbord's own event log */
        line = ev.out;
        for (size_t i = first; i < n; i++) {
                char *nl = strchr(line, '\n');
                cr_assert(nl);
                *nl = 0;
                cr_assert_str_eq(line, evs[i].line);
                *nl = '\n';
                line = nl + 1;
        }
        cr_assert_str_eq(line, "", "more lines than events: %s", line);
        assert_jq(a, ev.out, "true");

        /* interrupted: a clean end */
        cr_assert(kill(ev.pid, SIGINT) == 0);
        cmd_wait(a, &ev);
        assert_status(&ev, ARBORCTL_EXIT_OK);
        cmd_done(&ev);
}

Test(control, events_text_for_people) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        _cleanup_free_ char *sock = socket_path(a), *subscribed = NULL;
        Cmd ev, c;

        cmd_start(&ev, (const char *const[]) { ARBORCTL, "--socket", sock, "events", NULL });
        cr_assert(asprintf(&subscribed, "control: pid %d (uid 0) subscribed to events", (int) ev.pid) > 0);
        cr_assert(arbord_wait_log(a, subscribed, -1), "%s", arbord_last_error(a));
        ctl(a, &c, "stop", "api", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        cr_assert(arbord_wait_until(a, has_lines, &(LinesWait) { &ev, 1 }, -1));
        cr_assert(strstr(ev.out, "root/web/api: stop pid=") && strstr(ev.out, "signal=SIGTERM (normal)"), "%s", ev.out);

        /* the tree ends: so does the follower, successfully */
        ctl(a, &c, "shutdown", NULL, NULL, NULL);
        cmd_done(&c);
        cmd_wait(a, &ev);
        assert_status(&ev, ARBORCTL_EXIT_OK);
        cr_assert(strstr(ev.out, "root: shutdown code=0"), "%s", ev.out);
        cmd_done(&ev);
}

/* ---- the socket ----------------------------------------------------------------------------- */

Test(control, a_live_socket_is_never_stolen) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        _cleanup_arbord_ Arbord *b = NULL;
        _cleanup_free_ char *sock = socket_path(a), *ini = NULL, *msg = NULL;
        int status = -1;
        Cmd c;

        cr_assert(asprintf(&ini, "[arbor]\ncontrol = %s\n[service:x]\ncommand = @HELPERS@/exit-after -t forever\n", sock) > 0);
        b = arbord_start(ini, NULL);
        cr_assert(b);
        cr_assert(arbord_wait_exit(b, -1, &status), "%s", arbord_last_error(b));
        cr_assert_eq(status, 1);
        cr_assert(asprintf(&msg, "control socket %s is in use by a running process (pid %d)", sock,
                           (int) arbord_pid(a)) > 0);
        cr_assert(arbord_log_contains(b, msg), "expected in the log: %s", msg);
        cr_assert_eq(arbord_count_events(b, "start"), 0, "the second arbord started services");

        ctl(a, &c, "check", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
}

Test(control, a_stale_socket_is_replaced) {
        _cleanup_arbord_ Arbord *a = NULL;
        char dir[] = "/tmp/arbor-stale-XXXXXX";
        _cleanup_free_ char *rundir = NULL, *ini = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;
        Cmd c;

        /* what a killed arbord leaves: a socket inode nobody listens on (in a directory arbord must create) */
        cr_assert(mkdtemp(dir));
        cr_assert(asprintf(&rundir, "%s/run", dir) > 0);
        cr_assert(mkdir(rundir, 0755) == 0);
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/arbor.sock", rundir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0, "bind: %m");
        (void) close(fd);

        cr_assert(asprintf(&ini, "[arbor]\ncontrol = %s\n[service:x]\ncommand = @HELPERS@/exit-after -t forever\n",
                           sa.sun_path) > 0);
        a = start_tree(ini);
        cr_assert(arbord_log_contains(a, "was left by a process that is gone; replacing it"));
        run(a, &c, (const char *const[]) { ARBORCTL, "--socket", sa.sun_path, "check", NULL });
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);

        /* and the directory is created when missing */
        a = arbord_free(a);
        cr_assert(unlink(sa.sun_path) < 0 && errno == ENOENT, "arbord left its socket");
        cr_assert(rmdir(rundir) == 0);
        a = start_tree(ini);
        run(a, &c, (const char *const[]) { ARBORCTL, "--socket", sa.sun_path, "check", NULL });
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        a = arbord_free(a);
        (void) rmdir(rundir);
        (void) rmdir(dir);
}

Test(control, arbor_socket_variable_for_both_sides) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *env = NULL;
        Cmd c;

        /* no control= at all: the harness gives arbord ARBOR_SOCKET=@TMP@/arbor.sock */
        a = arbord_start_opts(&(ArbordOptions) {
                .ini = "[service:x]\ncommand = @HELPERS@/exit-after -t forever\n",
                .flags = ARBORD_KEEP_CONTROL,
        });
        cr_assert(a);
        cr_assert(arbord_wait_event(a, "ready", "root", -1, NULL), "%s", arbord_last_error(a));
        cr_assert(asprintf(&env, "ARBOR_SOCKET=%s/arbor.sock", arbord_tmpdir(a)) > 0);
        run(a, &c, (const char *const[]) { "env", env, ARBORCTL, "check", NULL });
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
}

/* ---- who may connect ------------------------------------------------------------------------ */

static bool have_setpriv(void) {
        return access("/usr/bin/setpriv", X_OK) == 0 || access("/bin/setpriv", X_OK) == 0;
}

/* arborctl as uid 65534 with the given gid and supplementary groups ("" : none). */
static void ctl_as_nobody(Arbord *a, Cmd *c, const char *gid, const char *groups, const char *command) {
        _cleanup_free_ char *sock = socket_path(a), *regid = NULL, *grp = NULL;

        cr_assert(asprintf(&regid, "--regid=%s", gid) > 0);
        cr_assert(asprintf(&grp, groups[0] ? "--groups=%s" : "--clear-groups", groups) > 0);
        run(a, c, (const char *const[]) { "setpriv", "--reuid=" NOBODY, regid, grp, ARBORCTL, "--socket", sock,
                                          command, NULL });
}

Test(control, permission_denied_for_others) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *sock = NULL, *refused = NULL;
        Cmd c;

        if (getuid() != 0 || !have_setpriv())
                cr_skip("needs root and setpriv");
        a = start_tree(tree_ini);
        sock = socket_path(a);
        cr_assert(chmod(arbord_tmpdir(a), 0711) == 0, "%m"); /* traversable, so the socket's own mode decides */

        /* the socket's mode (0600) refuses */
        ctl_as_nobody(a, &c, NOBODY, "", "status");
        assert_status(&c, ARBORCTL_EXIT_PERMISSION);
        cr_assert(strstr(c.err, "permission denied"), "%s", c.err);
        cmd_done(&c);

        /* past the mode, the peer credentials refuse, and the refusal is logged */
        cr_assert(chmod(sock, 0666) == 0);
        ctl_as_nobody(a, &c, NOBODY, "", "status");
        assert_status(&c, ARBORCTL_EXIT_PERMISSION);
        cmd_done(&c);
        cr_assert(asprintf(&refused, "control: refused a connection from uid %s (pid ", NOBODY) > 0);
        cr_assert(arbord_wait_log(a, refused, -1), "%s", arbord_last_error(a));

        /* root still may */
        ctl(a, &c, "check", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
}

Test(control, control_group_grants_access) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *sock = NULL, *ini = NULL;
        struct group *g;
        struct stat st;
        Cmd c;

        if (getuid() != 0 || !have_setpriv())
                cr_skip("needs root and setpriv");
        g = getgrgid(65534);
        if (!g)
                cr_skip("no group 65534 here");
        cr_assert(asprintf(&ini, "[arbor]\ncontrol_group = %s\n%s", g->gr_name, tree_ini + strlen("[arbor]\n")) > 0);
        a = start_tree(ini);
        sock = socket_path(a);
        cr_assert(chmod(arbord_tmpdir(a), 0711) == 0, "%m");
        cr_assert(stat(sock, &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
        cr_assert_eq(st.st_gid, 65534);

        /* by the primary group */
        ctl_as_nobody(a, &c, "65534", "", "check");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        /* by a supplementary group */
        ctl_as_nobody(a, &c, "12345", "65534", "check");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
        /* neither */
        ctl_as_nobody(a, &c, "12345", "", "check");
        assert_status(&c, ARBORCTL_EXIT_PERMISSION);
        cmd_done(&c);
        /* with the file mode out of the way, the peer check alone decides */
        cr_assert(chmod(sock, 0666) == 0);
        ctl_as_nobody(a, &c, "12345", "", "check");
        assert_status(&c, ARBORCTL_EXIT_PERMISSION);
        cmd_done(&c);
        ctl_as_nobody(a, &c, "12345", "65534", "check");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cmd_done(&c);
}

/* ---- robustness: the tree keeps being supervised ------------------------------------------------ */

/* Waits for n more restarts of root/loop than there are now: supervision goes on. */
static void assert_restarts_continue(Arbord *a, size_t more) {
        size_t now = arbord_count_events(a, "restart root/loop");

        cr_assert(arbord_wait_count(a, "restart root/loop", now + more, -1), "restarts stopped at %zu: %s", now,
                  arbord_last_error(a));
        cr_assert_eq(arbord_signal(a, 0), 0, "arbord is gone");
}

static int connect_raw(Arbord *a) {
        _cleanup_free_ char *sock = socket_path(a);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(fd >= 0);
        cr_assert(connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0, "connect: %m");
        return fd;
}

/* An sd-bus client of our own, authenticated; never processed unless we say so. */
static sd_bus *connect_bus(Arbord *a) {
        sd_bus *bus = NULL;

        cr_assert(sd_bus_new(&bus) >= 0);
        int fd = connect_raw(a);
        cr_assert(sd_bus_set_fd(bus, fd, fd) >= 0);
        cr_assert(sd_bus_start(bus) >= 0);
        return bus;
}

typedef struct Many {
        Cmd *cmds;
        size_t n;
} Many;

static bool all_finished(void *userdata) {
        Many *m = userdata;
        bool all = true;

        for (size_t i = 0; i < m->n; i++)
                all = cmd_finished(&m->cmds[i]) && all;
        return all;
}

Test(control, hundred_concurrent_clients) {
        _cleanup_arbord_ Arbord *a = start_tree(crashloop_ini);
        _cleanup_free_ char *sock = socket_path(a);
        enum { N = 100 };
        Cmd cmds[N];
        char *all = NULL;
        size_t len = 0;

        cr_assert(arbord_wait_count(a, "restart root/loop", 3, -1), "%s", arbord_last_error(a));
        for (size_t i = 0; i < N; i++)
                cmd_start(&cmds[i], (const char *const[]) { ARBORCTL, "--socket", sock, "--json",
                                                            i % 2 ? "status" : "check", NULL });
        cr_assert(arbord_wait_until(a, all_finished, &(Many) { cmds, N }, -1), "the clients did not all finish");
        for (size_t i = 0; i < N; i++) {
                cr_assert(cmds[i].exited);
                /* check may catch loop between a crash and its restart: 0 or 1, never a failure to talk */
                cr_assert(cmds[i].status == 0 || (i % 2 == 0 && cmds[i].status == ARBORCTL_EXIT_FAILED),
                          "client %zu: status %d: %s", i, cmds[i].status, cmds[i].err ? cmds[i].err : "");
                all = realloc(all, len + cmds[i].out_len + 1);
                cr_assert(all);
                memcpy(all + len, cmds[i].out ? cmds[i].out : "", cmds[i].out_len);
                len += cmds[i].out_len;
                all[len] = 0;
                cmd_done(&cmds[i]);
        }
        assert_jq(a, all, "true"); /* every object parses */
        free(all);
        assert_restarts_continue(a, 20);
}

Test(control, a_subscriber_that_never_reads_is_dropped) {
        _cleanup_arbord_ Arbord *a = start_tree(crashloop_ini);
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = connect_bus(a);
        _cleanup_free_ char *dropped = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Cmd c;

        cr_assert(sd_bus_call_method(bus, NULL, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE, ARBOR_METHOD_SUBSCRIBE,
                                     &error, NULL, NULL) >= 0, "Subscribe: %s", error.message);
        /* from here on the bus is never read: events pile up in the socket, then in arbord */
        cr_assert(asprintf(&dropped, "control: dropping the client pid %d (uid 0)", (int) getpid()) > 0);
        cr_assert(arbord_wait_log(a, dropped, harness_timeout(-1) * 3), "%s", arbord_last_error(a));
        assert_restarts_continue(a, 20);

        ctl(a, &c, "check", NULL, NULL, NULL);
        cr_assert(c.status == ARBORCTL_EXIT_OK || c.status == ARBORCTL_EXIT_FAILED, "%s", c.err);
        cmd_done(&c);
}

/* Waits for arbord to close fd, reading (and discarding) what it sends. */
static bool closed_by_peer(void *userdata) {
        int fd = *(int *) userdata;
        char buf[4096];
        ssize_t n;

        for (;;) {
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return true;
                if (n < 0)
                        return false;
        }
}

Test(control, garbage_and_vanishing_clients) {
        _cleanup_arbord_ Arbord *a = start_tree(crashloop_ini);
        unsigned char junk[65536];
        int fd;
        Cmd c;

        /* random bytes instead of the D-Bus handshake */
        fd = connect_raw(a);
        cr_assert(getentropy(junk, 256) == 0);
        for (size_t i = 256; i < sizeof(junk); i++)
                junk[i] = (unsigned char) (junk[i % 256] * 31 + i);
        (void) send(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL);
        cr_assert(arbord_wait_until(a, closed_by_peer, &fd, -1), "arbord kept a connection that sent garbage");
        (void) close(fd);

        /* a valid handshake, then garbage where a message should be */
        fd = connect_raw(a);
        {
                static const char auth[] = "\0AUTH EXTERNAL 30\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";
                cr_assert(send(fd, auth, sizeof(auth) - 1, MSG_NOSIGNAL) == (ssize_t) sizeof(auth) - 1);
                (void) send(fd, junk, 4096, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        cr_assert(arbord_wait_until(a, closed_by_peer, &fd, -1), "arbord kept a connection that sent garbage");
        (void) close(fd);

        /* calls whose callers vanish before the answer */
        for (unsigned i = 0; i < 50; i++) {
                sd_bus *bus = connect_bus(a);
                cr_assert(sd_bus_call_method_async(bus, NULL, NULL, ARBOR_CONTROL_PATH, ARBOR_CONTROL_INTERFACE,
                                                   ARBOR_METHOD_STATUS, NULL, NULL, "s", "") >= 0);
                cr_assert(sd_bus_flush(bus) >= 0);
                sd_bus_close_unref(bus);
        }
        /* and a connection that says nothing at all, held open */
        fd = connect_raw(a);

        assert_restarts_continue(a, 20);
        ctl(a, &c, "status", "--json", NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_OK);
        assert_jq(a, c.out, ".nodes | length == 3");
        cmd_done(&c);
        (void) close(fd);
}

Test(control, connections_are_capped) {
        _cleanup_arbord_ Arbord *a = start_tree(crashloop_ini);
        enum { N = 300 };
        int fds[N];
        Cmd c;

        for (size_t i = 0; i < N; i++)
                fds[i] = connect_raw(a);
        cr_assert(arbord_wait_log(a, "connections are open, the most allowed", -1), "%s", arbord_last_error(a));
        /* the ones past the cap are closed at once */
        cr_assert(arbord_wait_until(a, closed_by_peer, &fds[N - 1], -1));
        assert_restarts_continue(a, 10);

        ctl(a, &c, "status", NULL, NULL, NULL);
        assert_status(&c, ARBORCTL_EXIT_UNREACHABLE);
        cmd_done(&c);

        for (size_t i = 0; i < N; i++)
                (void) close(fds[i]);
        /* slots free up as arbord notices the hang-ups; then it serves again */
        for (unsigned tries = 0;; tries++) {
                ctl(a, &c, "check", NULL, NULL, NULL);
                if (c.status != ARBORCTL_EXIT_UNREACHABLE)
                        break;
                cmd_done(&c);
                cr_assert(tries < 100, "arbord never served again after the connections closed");
                assert_restarts_continue(a, 1); /* let the loop turn: no sleeping */
        }
        cr_assert(c.status == ARBORCTL_EXIT_OK || c.status == ARBORCTL_EXIT_FAILED, "%s", c.err);
        cmd_done(&c);
}
