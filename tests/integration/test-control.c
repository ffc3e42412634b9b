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
#include "test-util.h"

#define ARBORCTL TEST_BUILD_DIR "/arborctl"
#define NOBODY "65534"

/* A tree with a supervisor, a transient, a temporary and a service that crashes on SIGUSR1. */
static const char tree_ini[] =
        HEADER
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
        HEADER
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

/* An arbord with a control socket elsewhere than @TMP@ (a_live_socket_is_never_stolen, a_stale_socket_is_replaced). */
#define INI_WITH_CONTROL "[arbor]\ncontrol = %s\n[service:x]\ncommand = @HELPERS@/exit-after -t forever\n"

/* ---- running commands -------------------------------------------------------------------- */

typedef struct Cmd {
        char *what; /* the command line, for messages */
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
        free(c->what);
        free(c->out);
        free(c->err);
        *c = (Cmd) { .out_fd = -EBADF, .err_fd = -EBADF };
}

/* "argv[0] argv[1] ...", malloc'd. */
static char *join_argv(const char *const *argv) {
        char *s = NULL;
        size_t size;
        FILE *f = open_memstream(&s, &size);

        cr_assert(f);
        for (size_t i = 0; argv[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", argv[i]);
        cr_assert(fclose(f) == 0);
        return s;
}

/* Starts argv (searched in $PATH) with stdin from /dev/null, stdout and stderr on pipes. */
static void cmd_start(Cmd *c, const char *const *argv) {
        int out[2], err[2];

        *c = (Cmd) { .out_fd = -EBADF, .err_fd = -EBADF, .what = join_argv(argv) };
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

        cr_assert(ok, "%s did not finish in time", c->what);
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

#define assert_status(c, code)                                                                               \
        cr_assert((c)->status == (code), "%s: exit status %d, expected %d\nstdout: %s\nstderr: %s", (c)->what,  \
                  (c)->status, (code), (c)->out, (c)->err)

/* Runs argv to its end, which must be exit status code. */
static void run_expect(Arbord *a, int code, const char *const *argv) {
        Cmd c;

        run(a, &c, argv);
        assert_status(&c, code);
        cmd_done(&c);
}

static char *socket_path(Arbord *a) {
        char *p = arbord_tmpfile(a, "arbor.sock");
        cr_assert(p);
        return p;
}

/* Starts arborctl --socket @TMP@/arbor.sock ARGS... (NULL-terminated). */
static void ctl_start_argv(Arbord *a, Cmd *c, const char *const *args) {
        _cleanup_free_ char *sock = socket_path(a);
        const char *argv[16] = { ARBORCTL, "--socket", sock };
        size_t n = 3;

        for (; *args; args++) {
                cr_assert(n < ELEMENTSOF(argv) - 1, "too many arguments");
                argv[n++] = *args;
        }
        argv[n] = NULL;
        cmd_start(c, argv);
}

static void ctl_argv(Arbord *a, Cmd *c, const char *const *args) {
        ctl_start_argv(a, c, args);
        cmd_wait(a, c);
}

/* Runs arborctl ARGS, which must end with code and, unless err_needle is NULL, say err_needle on stderr. */
static void ctl_expect_argv(Arbord *a, int code, const char *err_needle, const char *const *args) {
        Cmd c;

        ctl_argv(a, &c, args);
        assert_status(&c, code);
        if (err_needle)
                cr_assert(strstr(c.err, err_needle), "%s: expected on stderr: %s\nstderr: %s", c.what, err_needle,
                          c.err);
        cmd_done(&c);
}

/* arborctl --socket @TMP@/arbor.sock ARGS...: ctl_start() starts it, ctl() runs it to its end (cmd_done() *c). */
#define ctl_start(a, c, ...) ctl_start_argv((a), (c), (const char *const[]) { __VA_ARGS__, NULL })
#define ctl(a, c, ...) ctl_argv((a), (c), (const char *const[]) { __VA_ARGS__, NULL })
/* ctl() when only its exit status matters: it must be code. */
#define ctl_expect(a, code, ...) ctl_expect_argv((a), (code), NULL, (const char *const[]) { __VA_ARGS__, NULL })
/* ctl() that must end with code and say needle on stderr (a refusal). */
#define ctl_expect_err(a, code, needle, ...)                                                                  \
        ctl_expect_argv((a), (code), (needle), (const char *const[]) { __VA_ARGS__, NULL })

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

/* c ended with code and printed JSON for which the jq filter is true; cmd_done(c). */
static void expect_json(Arbord *a, Cmd *c, int code, const char *filter) {
        assert_status(c, code);
        assert_jq(a, c->out, filter);
        cmd_done(c);
}

static Arbord *start_tree(const char *ini) {
        Arbord *a = start(ini);

        cr_assert(arbord_wait_event(a, "ready", "root", -1, NULL), "%s", arbord_last_error(a));
        return a;
}

/* arborctl stop NAME, which must succeed, then arbord's stop event for PATH, a normal one. */
static void stop_by_command(Arbord *a, const char *name, const char *path) {
        ctl_expect(a, ARBORCTL_EXIT_OK, "stop", name);
        cr_assert(arbord_wait_match(a, fmt("stop %s normal=true", path), -1, NULL), "%s", arbord_last_error(a));
}

/*
 * `arborctl kill -s SIGNAME crash`, SIGNAME a spelling of SIGUSR1: exit-after
 * exits with its code (3) on it, a crash, restarted and counted.
 */
static void crash_by_command(Arbord *a, const char *signame) {
        (void) wait_cue_ready(a, "root/crash");
        ctl_expect(a, ARBORCTL_EXIT_OK, "kill", "-s", signame, "crash");
        EXPECT_SEQ(a, "exit root/crash code=3 normal=false", RESTARTED("root/crash"));
}

/* ---- commands ------------------------------------------------------------------------------ */

Test(control, status_text_and_json) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "status");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "NAME") && strstr(c.out, "db") && strstr(c.out, "api") && strstr(c.out, "running"),
                  "%s", c.out);
        cr_assert(!strchr(c.out, '\033'), "colour on a pipe:\n%s", c.out);
        cmd_done(&c);

        ctl(a, &c, "--json", "status");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    "(.nodes | map(.path)) == [\"root\", \"root/db\", \"root/crash\", \"root/web\", \"root/web/api\", "
                    "\"root/web/job\"] and all(.nodes[]; .state == \"running\" and .uptime_ms >= 0 and .restarts == 0)"
                    " and (.nodes[1] | .kind == \"service\" and .restart == \"permanent\" and .pid > 0 and .parent == "
                    "\"root\" and .last_exit == null)"
                    " and (.nodes[0] | .kind == \"supervisor\" and .strategy == \"one_for_one\" and .intensity == 10 "
                    "and .period_ms == 10000 and .window_restarts == 0 and .pid == null and .parent == null)");

        /* a subtree, by its unique name */
        ctl(a, &c, "status", "--json", "web");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    "(.nodes | map(.path)) == [\"root/web\", \"root/web/api\", \"root/web/job\"]");
}

Test(control, stop_start_restart_follow_otp) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        /* terminate_child: stopped, not restarted, not counted */
        stop_by_command(a, "api", "root/web/api");

        ctl_expect_err(a, ARBORCTL_EXIT_FAILED, "root/web/api is already stopped", "stop", "root/web/api");

        /* something else happens in the tree; api stays down meanwhile */
        ctl_expect(a, ARBORCTL_EXIT_OK, "restart", "db");
        EXPECT_SEQ(a, "stop root/db", "start root/db", "ready root/db");
        cr_assert_eq(arbord_count_events(a, "start root/web/api"), 1, "a child stopped by command was restarted");

        ctl(a, &c, "--json", "status", "api");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    ".nodes[0] | .state == \"stopped\" and .restarts == 0 and .pid == null and .uptime_ms == null");

        /* restart_child */
        ctl_expect(a, ARBORCTL_EXIT_OK, "start", "api");
        EXPECT_SEQ(a, "start root/web/api", "ready root/web/api");

        ctl_expect_err(a, ARBORCTL_EXIT_FAILED, "root/web/api is already running", "start", "api");

        /* a whole subtree */
        ctl_expect(a, ARBORCTL_EXIT_OK, "restart", "web");
        cr_assert(arbord_wait_event(a, "ready", "root/web", -1, NULL), "%s", arbord_last_error(a));

        /* none of it counted against intensity */
        ctl(a, &c, "status", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    "all(.nodes[]; .restarts == 0) and all(.nodes[] | select(.kind == \"supervisor\"); "
                    ".window_restarts == 0)");

        /* the root is not a child */
        ctl_expect_err(a, ARBORCTL_EXIT_FAILED, "shutdown", "stop", "root");
}

/* A service that ignores SIGTERM and waits as long as it takes (shutdown = infinity), beside a plain one. */
static const char stubborn_ini[] =
        HEADER
        "[service:stubborn]\n"
        "command = @HELPERS@/ignore-term\n"
        "shutdown = infinity\n"
        "[service:db]\n"
        "command = @HELPERS@/exit-after -t forever\n";

/* db, and a service that fails to start (exits before it is ready) once @TMP@/broken exists. */
static const char gated_ini[] =
        HEADER
        "[service:db]\n"
        "command = @HELPERS@/exit-after -t forever\n"
        "[service:gated]\n"
        "ready = notify\n"
        "command = /bin/sh -c '[ ! -e @TMP@/broken ] && exec @HELPERS@/notify-ready'\n";

/* Starts `arborctl CMD NAME` and waits until arbord has taken it: commands then reach it in a known order. */
static void ctl_start_taken(Arbord *a, Cmd *c, const char *cmd, const char *name, const char *path) {
        ctl_start(a, c, cmd, name);
        cr_assert(arbord_wait_log(a, fmt("asks to %s %s", cmd, path), -1), "%s", arbord_last_error(a));
}

/* As OTP's terminate_child/restart_child return once done: arborctl answers when the child is stopped or up. */
Test(control, commands_answer_once_carried_out) {
        _cleanup_arbord_ Arbord *a = start_tree(gated_ini);
        _cleanup_free_ char *broken = arbord_tmpfile(a, "broken");
        Cmd c;
        int fd;

        ctl_expect(a, ARBORCTL_EXIT_OK, "stop", "db");
        /* no wait for the event: the answer came after the stop */
        ctl(a, &c, "--json", "status", "db");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".nodes[0].state == \"stopped\"");
        ctl_expect(a, ARBORCTL_EXIT_OK, "start", "db");
        ctl(a, &c, "--json", "status", "db");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".nodes[0].state == \"running\" and .nodes[0].pid > 0");

        /* a start that fails is an error that says why; the child stays stopped, and nothing is counted */
        ctl_expect(a, ARBORCTL_EXIT_OK, "stop", "gated");
        cr_assert(broken);
        fd = open(broken, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0, "%s: %m", broken);
        cr_assert_eq(close(fd), 0);
        ctl_expect_err(a, ARBORCTL_EXIT_FAILED, "root/gated failed to start: ", "start", "gated");
        ctl(a, &c, "--json", "status", "gated");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".nodes[0].state == \"stopped\" and .nodes[0].restarts == 0");
}

/* Commands that arrive while their supervisor is busy wait their turn, in order, instead of being refused. */
Test(control, commands_wait_their_turn) {
        _cleanup_arbord_ Arbord *a = start_tree(stubborn_ini);
        Cmd first, second;

        (void) arbord_wait_stdout(a, "ready\n", -1); /* stubborn ignores SIGTERM from here on */
        ctl_start_taken(a, &first, "stop", "stubborn", "root/stubborn");
        ctl_start_taken(a, &second, "restart", "db", "root/db");
        /* the stop waits for stubborn, which waits for this */
        ctl_expect(a, ARBORCTL_EXIT_OK, "kill", "-s", "KILL", "stubborn");
        cmd_wait(a, &first);
        assert_status(&first, ARBORCTL_EXIT_OK);
        cmd_wait(a, &second);
        assert_status(&second, ARBORCTL_EXIT_OK);
        EXPECT_SEQ(a, "stop root/stubborn signal=SIGKILL", "stop root/db signal=SIGTERM", "start root/db",
                   "ready root/db");
        cmd_done(&first);
        cmd_done(&second);
}

/* A shutdown answers the commands it overtakes: nobody is left waiting. */
Test(control, commands_overtaken_by_shutdown_are_cancelled) {
        _cleanup_arbord_ Arbord *a = start_tree(stubborn_ini);
        Cmd first, second;

        (void) arbord_wait_stdout(a, "ready\n", -1);
        ctl_start_taken(a, &first, "stop", "stubborn", "root/stubborn");
        ctl_start_taken(a, &second, "restart", "db", "root/db");
        ctl_expect(a, ARBORCTL_EXIT_OK, "shutdown");
        cmd_wait(a, &first);
        assert_status(&first, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(first.err, "root/stubborn was not stopped: its supervisor root stopped first"), "%s",
                  first.err);
        cmd_wait(a, &second);
        assert_status(&second, ARBORCTL_EXIT_FAILED);
        cr_assert(strstr(second.err, "root/db was not restarted: its supervisor root stopped first"), "%s",
                  second.err);
        /* the shutdown still waits for stubborn (infinity) */
        ctl_expect(a, ARBORCTL_EXIT_OK, "kill", "-s", "KILL", "stubborn");
        expect_exit(a, 0);
        cmd_done(&first);
        cmd_done(&second);
}

Test(control, unknown_names_list_candidates) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "stop", "ap");
        assert_status(&c, ARBORCTL_EXIT_NO_SUCH_CHILD);
        cr_assert(strstr(c.err, "no child named 'ap'") && strstr(c.err, "root/web/api"), "%s", c.err);
        cmd_done(&c);

        ctl(a, &c, "status", "nothing-like-it");
        assert_status(&c, ARBORCTL_EXIT_NO_SUCH_CHILD);
        cr_assert(strstr(c.err, "root/db") && strstr(c.err, "root/web/job"), "the small tree is listed: %s", c.err);
        cmd_done(&c);

        ctl_expect(a, ARBORCTL_EXIT_NO_SUCH_CHILD, "kill", "-s", "HUP", "zz");
}

Test(control, kill_sends_signals) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        crash_by_command(a, "USR1");
        ctl(a, &c, "status", "--json", "crash");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    ".nodes[0] | .restarts == 1 and .last_exit == {\"code\": 3, \"signal\": null}");
        ctl(a, &c, "status", "--json", "root");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".nodes[0].window_restarts == 1");

        /* by number, to a subtree */
        ctl_expect(a, ARBORCTL_EXIT_OK, "kill", "--signal=15", "web");
        cr_assert(arbord_wait_match(a, "exit root/web/api signal=SIGTERM", -1, NULL), "%s", arbord_last_error(a));

        ctl_expect(a, ARBORCTL_EXIT_USAGE, "kill", "-s", "NOSUCHSIG", "crash");

        stop_by_command(a, "db", "root/db");
        ctl_expect_err(a, ARBORCTL_EXIT_FAILED, "no process of root/db is running", "kill", "db");
}

Test(control, check_is_a_health_probe) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl_expect(a, ARBORCTL_EXIT_OK, "check");

        /* a temporary child may be down */
        stop_by_command(a, "job", "root/web/job");
        ctl(a, &c, "check", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".healthy == true and .not_running == []");

        /* any other may not */
        stop_by_command(a, "api", "root/web/api");
        ctl(a, &c, "check", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_FAILED,
                    ".healthy == false and .not_running == [{\"path\": \"root/web/api\", \"state\": \"stopped\"}]");
}

/* A one-shot transient task that finished (exit 0) is done, not down; one that crashed is restarted. */
Test(control, check_accepts_a_finished_transient_task) {
        _cleanup_arbord_ Arbord *a = start_tree("[service:setup]\nrestart = transient\ncommand = " EXIT_AFTER " -c 0\n"
                                                "[service:keep]\ncommand = " EXIT_AFTER " -t forever\n");
        Cmd c;

        /* it may end before or after root is ready: count, do not follow the cursor */
        cr_assert(arbord_wait_count(a, "exit root/setup code=0 normal=true", 1, -1), "%s", arbord_last_error(a));
        ctl(a, &c, "check", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".healthy == true and .checked == 2");
        /* stopped by command, with a signal: down, not done */
        stop_by_command(a, "keep", "root/keep");
        ctl(a, &c, "check", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_FAILED, ".not_running == [{\"path\": \"root/keep\", \"state\": \"stopped\"}]");
}

Test(control, version_and_usage) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "version");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "arborctl " PACKAGE_VERSION) && strstr(c.out, "arbord " PACKAGE_VERSION), "%s", c.out);
        cmd_done(&c);
        ctl(a, &c, "version", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_OK,
                    ".arborctl == \"" PACKAGE_VERSION "\" and .arbord == \"" PACKAGE_VERSION "\"");

        ctl_expect(a, ARBORCTL_EXIT_USAGE, "frobnicate");
        ctl_expect(a, ARBORCTL_EXIT_USAGE, "stop");
        ctl_expect(a, ARBORCTL_EXIT_USAGE, "stop", "--json", "api");

        run(a, &c, (const char *const[]) { ARBORCTL, "--help", NULL });
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "Exit codes") && strstr(c.out, "permission denied"), "%s", c.out);
        cmd_done(&c);
}

Test(control, completion_names) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        Cmd c;

        ctl(a, &c, "list-names");
        assert_status(&c, ARBORCTL_EXIT_OK);
        cr_assert(strstr(c.out, "root/web/api\n") && strstr(c.out, "\napi\n"), "%s", c.out);
        cmd_done(&c);
}

Test(control, shutdown_ends_arbord_and_removes_the_socket) {
        _cleanup_arbord_ Arbord *a = start_tree(tree_ini);
        _cleanup_free_ char *sock = socket_path(a);
        struct stat st;

        cr_assert(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0600, "mode %o",
                  st.st_mode & 07777);
        ctl_expect(a, ARBORCTL_EXIT_OK, "shutdown");
        cr_assert(arbord_wait_match(a, "shutdown root code=0", -1, NULL), "%s", arbord_last_error(a));
        expect_status(a, 0);
        cr_assert(stat(sock, &st) < 0 && errno == ENOENT, "the socket was left behind");

        ctl_expect(a, ARBORCTL_EXIT_UNREACHABLE, "status");
}

/* ---- events --------------------------------------------------------------------------------- */

/* Starts `arborctl events [FORMAT]` (FORMAT: "--json", or NULL) in *ev and waits until arbord has it subscribed. */
static void follow_events(Arbord *a, Cmd *ev, const char *format) {
        ctl_start(a, ev, "events", format);
        cr_assert(arbord_wait_log(a, fmt("control: pid %d (uid 0) subscribed to events", (int) ev->pid), -1), "%s",
                  arbord_last_error(a));
}

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
        const HarnessEvent *evs;
        size_t first, n;
        char *line;
        Cmd ev;

        follow_events(a, &ev, "--json");
        (void) arbord_events(a, &first);

        /* a scripted crash, then a stop by command */
        crash_by_command(a, "SIGUSR1");
        stop_by_command(a, "crash", "root/crash");

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
        Cmd ev, c;

        follow_events(a, &ev, NULL);
        ctl_expect(a, ARBORCTL_EXIT_OK, "stop", "api");
        cr_assert(arbord_wait_until(a, has_lines, &(LinesWait) { &ev, 1 }, -1));
        cr_assert(strstr(ev.out, "root/web/api: stop pid=") && strstr(ev.out, "signal=SIGTERM (normal)"), "%s", ev.out);

        /* the tree ends: so does the follower, successfully */
        ctl(a, &c, "shutdown");
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
        _cleanup_free_ char *sock = socket_path(a), *msg = NULL;

        b = start(fmt(INI_WITH_CONTROL, sock));
        expect_status(b, 1);
        cr_assert(asprintf(&msg, "control socket %s is in use by a running process (pid %d)", sock,
                           (int) arbord_pid(a)) > 0);
        cr_assert(arbord_log_contains(b, msg), "expected in the log: %s", msg);
        cr_assert_eq(arbord_count_events(b, "start"), 0, "the second arbord started services");

        ctl_expect(a, ARBORCTL_EXIT_OK, "check");
}

Test(control, a_stale_socket_is_replaced) {
        _cleanup_arbord_ Arbord *a = NULL;
        char dir[] = "/tmp/arbor-stale-XXXXXX";
        _cleanup_free_ char *rundir = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *const check[] = { ARBORCTL, "--socket", sa.sun_path, "check", NULL };
        int fd;

        /* what a killed arbord leaves: a socket inode nobody listens on (in a directory arbord must create) */
        cr_assert(mkdtemp(dir));
        cr_assert(asprintf(&rundir, "%s/run", dir) > 0);
        cr_assert(mkdir(rundir, 0755) == 0);
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/arbor.sock", rundir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert(fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0, "bind: %m");
        (void) close(fd);

        a = start_tree(fmt(INI_WITH_CONTROL, sa.sun_path));
        cr_assert(arbord_log_contains(a, "was left by a process that is gone; replacing it"));
        run_expect(a, ARBORCTL_EXIT_OK, check);

        /* and the directory is created when missing */
        a = arbord_free(a);
        cr_assert(unlink(sa.sun_path) < 0 && errno == ENOENT, "arbord left its socket");
        cr_assert(rmdir(rundir) == 0);
        a = start_tree(fmt(INI_WITH_CONTROL, sa.sun_path));
        run_expect(a, ARBORCTL_EXIT_OK, check);
        a = arbord_free(a);
        (void) rmdir(rundir);
        (void) rmdir(dir);
}

Test(control, arbor_socket_variable_for_both_sides) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *env = NULL;

        /* no control= at all: the harness gives arbord ARBOR_SOCKET=@TMP@/arbor.sock */
        a = start_opts(&(ArbordOptions) {
                .ini = "[service:x]\ncommand = @HELPERS@/exit-after -t forever\n",
                .flags = ARBORD_KEEP_CONTROL,
        });
        cr_assert(arbord_wait_event(a, "ready", "root", -1, NULL), "%s", arbord_last_error(a));
        cr_assert(asprintf(&env, "ARBOR_SOCKET=%s/arbor.sock", arbord_tmpdir(a)) > 0);
        run_expect(a, ARBORCTL_EXIT_OK, (const char *const[]) { "env", env, ARBORCTL, "check", NULL });
}

/* ---- who may connect ------------------------------------------------------------------------ */

static void require_root_and_setpriv(void) {
        if (getuid() != 0 || (access("/usr/bin/setpriv", X_OK) < 0 && access("/bin/setpriv", X_OK) < 0))
                cr_skip("needs root and setpriv");
}

/* arborctl as uid 65534 with the given gid and supplementary groups ("" : none). */
static void ctl_as_nobody(Arbord *a, Cmd *c, const char *gid, const char *groups, const char *command) {
        _cleanup_free_ char *sock = socket_path(a), *regid = NULL, *grp = NULL;

        cr_assert(asprintf(&regid, "--regid=%s", gid) > 0);
        cr_assert(asprintf(&grp, groups[0] ? "--groups=%s" : "--clear-groups", groups) > 0);
        run(a, c, (const char *const[]) { "setpriv", "--reuid=" NOBODY, regid, grp, ARBORCTL, "--socket", sock,
                                          command, NULL });
}

/* ctl_as_nobody() when only its exit status matters: it must be code. */
static void ctl_as_nobody_expect(Arbord *a, int code, const char *gid, const char *groups, const char *command) {
        Cmd c;

        ctl_as_nobody(a, &c, gid, groups, command);
        assert_status(&c, code);
        cmd_done(&c);
}

/*
 * start_tree(ini) with @TMP@ traversable by others (0711), so that the
 * socket's own mode decides who reaches it; *ret_sock: the socket's path.
 */
static Arbord *start_tree_for_others(const char *ini, char **ret_sock) {
        Arbord *a = start_tree(ini);

        *ret_sock = socket_path(a);
        cr_assert(chmod(arbord_tmpdir(a), 0711) == 0, "%m");
        return a;
}

Test(control, permission_denied_for_others) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *sock = NULL;
        Cmd c;

        require_root_and_setpriv();
        a = start_tree_for_others(tree_ini, &sock);

        /* the socket's mode (0600) refuses */
        ctl_as_nobody(a, &c, NOBODY, "", "status");
        assert_status(&c, ARBORCTL_EXIT_PERMISSION);
        cr_assert(strstr(c.err, "permission denied"), "%s", c.err);
        cmd_done(&c);

        /* past the mode, the peer credentials refuse, and the refusal is logged */
        cr_assert(chmod(sock, 0666) == 0);
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_PERMISSION, NOBODY, "", "status");
        cr_assert(arbord_wait_log(a, "control: refused a connection from uid " NOBODY " (pid ", -1), "%s",
                  arbord_last_error(a));

        /* root still may */
        ctl_expect(a, ARBORCTL_EXIT_OK, "check");
}

Test(control, control_group_grants_access) {
        _cleanup_arbord_ Arbord *a = NULL;
        _cleanup_free_ char *sock = NULL, *ini = NULL;
        struct group *g;
        struct stat st;

        require_root_and_setpriv();
        g = getgrgid(65534);
        if (!g)
                cr_skip("no group 65534 here");
        cr_assert(asprintf(&ini, "[arbor]\ncontrol_group = %s\n%s", g->gr_name, tree_ini + strlen("[arbor]\n")) > 0);
        a = start_tree_for_others(ini, &sock);
        cr_assert(stat(sock, &st) == 0);
        cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
        cr_assert_eq(st.st_gid, 65534);

        /* by the primary group */
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_OK, "65534", "", "check");
        /* by a supplementary group */
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_OK, "12345", "65534", "check");
        /* neither */
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_PERMISSION, "12345", "", "check");
        /* with the file mode out of the way, the peer check alone decides */
        cr_assert(chmod(sock, 0666) == 0);
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_PERMISSION, "12345", "", "check");
        ctl_as_nobody_expect(a, ARBORCTL_EXIT_OK, "12345", "65534", "check");
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
        enum { N = 100 };
        Cmd cmds[N];
        char *all = NULL;
        size_t len = 0;

        cr_assert(arbord_wait_count(a, "restart root/loop", 3, -1), "%s", arbord_last_error(a));
        for (size_t i = 0; i < N; i++)
                ctl_start(a, &cmds[i], "--json", i % 2 ? "status" : "check");
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

        ctl(a, &c, "check");
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
        ctl(a, &c, "status", "--json");
        expect_json(a, &c, ARBORCTL_EXIT_OK, ".nodes | length == 3");
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

        ctl_expect(a, ARBORCTL_EXIT_UNREACHABLE, "status");

        for (size_t i = 0; i < N; i++)
                (void) close(fds[i]);
        /* slots free up as arbord notices the hang-ups; then it serves again */
        for (unsigned tries = 0;; tries++) {
                ctl(a, &c, "check");
                if (c.status != ARBORCTL_EXIT_UNREACHABLE)
                        break;
                cmd_done(&c);
                cr_assert(tries < 100, "arbord never served again after the connections closed");
                assert_restarts_continue(a, 1); /* let the loop turn: no sleeping */
        }
        cr_assert(c.status == ARBORCTL_EXIT_OK || c.status == ARBORCTL_EXIT_FAILED, "%s", c.err);
        cmd_done(&c);
}
