/* SPDX-License-Identifier: MIT */
/*
 * arbord as the entry point of a real OCI container, run by runc: the tree
 * starts, `runc kill ID TERM` (what `docker stop` does) stops it in order,
 * and the container's exit status is arbord's documented one.
 *
 * The harness runs tests/integration/container.sh in place of arbord
 * ($ARBOR_TEST_ARBORD): it assembles a busybox root filesystem holding
 * arbord and its libraries and becomes `runc run`, so the harness reads the
 * container's stderr as arbord's and gets runc's exit status, which is the
 * container's. Pids in events are the container's.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "macro.h"
#include "test-util.h"

#define CONTAINER_SH TEST_DATA_DIR "/../integration/container.sh"

/* Runs argv (searched in $PATH) with stdin and stdout on /dev/null; returns its exit code, 128+N, or -errno. */
static int run_opt(const char *const *argv, bool quiet) {
        int status;
        pid_t pid;

        (void) fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

                /* errors on stderr; stdout (runc state's JSON, --version) is not wanted */
                if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
                    (quiet && dup2(fd, STDERR_FILENO) < 0))
                        _exit(126);
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(const char *const *argv) {
        return run_opt(argv, false);
}

static bool have_runc(void) {
        return run((const char *const[]) { "runc", "--version", NULL }) == 0;
}

/* The test's container. */
typedef struct Container {
        char id[64];
} Container;

static Container current;

/*
 * Whatever happened, no container is left behind: a .fini, which criterion
 * runs even after a failed assertion (cleanup attributes would not run then).
 */
static void container_done(void) {
        if (current.id[0])
                (void) run_opt((const char *const[]) { "runc", "delete", "--force", current.id, NULL }, true);
}

TestSuite(container, .fini = container_done);

static Arbord *start_container(const char *ini, const char *const *command) {
        Container *c = &current;
        static const char *const env[] = {
                "ARBOR_CONTAINER_DIR=@TMP@",
                "ARBOR_CONTAINER_ARBORD=" HARNESS_ARBORD,
                "ARBOR_CONTAINER_HELPERS=" HARNESS_HELPERS,
                NULL,
        };
        const char *full_env[ELEMENTSOF(env) + 2];
        char id_env[128];
        size_t n = 0;

        if (!have_runc())
                cr_skip_test("runc is not installed");
        cr_assert_eq(access(CONTAINER_SH, X_OK), 0, "%s: %s", CONTAINER_SH, strerror(errno));
        /* each test is its own process: this changes only this test's harness */
        cr_assert_eq(setenv("ARBOR_TEST_ARBORD", CONTAINER_SH, 1), 0);

        /*
         * The id must be known before the start, the directory only after:
         * take a unique id of our own (our pid is unique while we run).
         */
        (void) snprintf(c->id, sizeof c->id, "arbor-test-%d", (int) getpid());
        (void) snprintf(id_env, sizeof id_env, "ARBOR_CONTAINER_ID=%s", c->id);
        for (; env[n]; n++)
                full_env[n] = env[n];
        full_env[n++] = id_env;
        full_env[n] = NULL;

        return start_opts(&(ArbordOptions) { .ini = ini, .command = command, .env = full_env });
}

static void runc_kill(Container *c, const char *sig) {
        int r = run((const char *const[]) { "runc", "kill", c->id, sig, NULL });

        cr_assert_eq(r, 0, "runc kill %s %s: status %d", c->id, sig, r);
}

static void expect_container_gone(Container *c) {
        /* without --keep, runc run deletes the container once it has ended */
        cr_assert_neq(run_opt((const char *const[]) { "runc", "state", c->id, NULL }, true), 0,
                      "container %s still exists after its end", c->id);
}

#define TREE                                                                                         \
        HEADER "[service:a]\ncommand = " ON_CUE(0) "\n"                                              \
               "[supervisor:sub]\n"                                                                  \
               "[service:s1]\nparent = sub\ncommand = " ON_CUE(0) "\n"                               \
               "[service:s2]\nparent = sub\ncommand = " ON_CUE(0) "\n"

#define TREE_STARTED                                                                                 \
        "start root", "start root/a", "ready root/a", "start root/sub", "start root/sub/s1",          \
                "ready root/sub/s1", "start root/sub/s2", "ready root/sub/s2", "ready root/sub"

Test(container, runc_kill_term_stops_the_tree_in_order_and_the_container_exits_0) {
        Container *c = &current;
        _cleanup_arbord_ Arbord *a = start_container(TREE "[service:c]\ncommand = " ON_CUE(0) "\n", NULL);

        EXPECT_SEQ(a, TREE_STARTED, "start root/c", "ready root/c", "ready root");

        runc_kill(c, "TERM");
        EXPECT_SEQ(a, "stop root/c signal=SIGTERM normal=true", "stop root/sub/s2 signal=SIGTERM normal=true",
                   "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=0");
        expect_status(a, 0);
        expect_container_gone(c);
}

Test(container, a_significant_childs_status_3_is_the_containers) {
        Container *c = &current;
        _cleanup_arbord_ Arbord *a = start_container(TREE "[supervisor:root]\nauto_shutdown = any_significant\n"
                                                          "[service:main]\nrestart = temporary\nsignificant = yes\n"
                                                          "command = " ON_CUE(3) "\n",
                                                     NULL);
        pid_t pid;

        EXPECT_SEQ(a, TREE_STARTED, "start root/main", "ready root/main", "ready root");
        /* main says "pid N" (the container's pid) once SIGUSR1 makes it exit 3; sent from inside */
        pid = wait_cue_ready(a, "root/main");
        cr_assert_eq(run((const char *const[]) { "runc", "exec", c->id, "/bin/kill", "-USR1", fmt("%d", (int) pid),
                                                 NULL }),
                     0);

        EXPECT_SEQ(a, "exit root/main code=3 normal=false", "stop root/sub/s2 signal=SIGTERM normal=true",
                   "stop root/sub/s1 signal=SIGTERM normal=true", "stop root/sub",
                   "stop root/a signal=SIGTERM normal=true", "shutdown root code=3");
        expect_status(a, 3);
        expect_container_gone(c);
}

Test(container, arbord_dash_dash_command_gives_the_container_the_commands_status) {
        Container *c = &current;
        _cleanup_arbord_ Arbord *a =
                start_container(NULL, (const char *const[]) { "/bin/sh", "-c", "echo hello; exit 3", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root",
                   "exit root/main code=3 normal=false", "shutdown root code=3");
        expect_status(a, 3);
        cr_assert(arbord_wait_stdout(a, "hello\n", 0));
        expect_container_gone(c);
}

Test(container, runc_kill_term_stops_a_dash_dash_command_and_the_container_exits_0) {
        Container *c = &current;
        _cleanup_arbord_ Arbord *a =
                start_container(NULL, (const char *const[]) { EXIT_AFTER, "-t", "forever", NULL });

        EXPECT_SEQ(a, "start root", "start root/main", "ready root/main", "ready root");
        runc_kill(c, "TERM");
        EXPECT_SEQ(a, "stop root/main signal=SIGTERM normal=true", "shutdown root code=0");
        expect_status(a, 0);
        expect_container_gone(c);
}
