/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "test-util.h"

const char *fmt(const char *f, ...) {
        static char bufs[32][512];
        static unsigned next;
        char *b = bufs[next++ % ELEMENTSOF(bufs)];
        va_list ap;

        va_start(ap, f);
        (void) vsnprintf(b, sizeof bufs[0], f, ap);
        va_end(ap);
        return b;
}

long long now_ms(void) {
        struct timespec ts;

        cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Arbord *start_opts(const ArbordOptions *opts) {
        Arbord *a = arbord_start_opts(opts);

        cr_assert_not_null(a, "arbord could not be started");
        return a;
}

Arbord *start(const char *ini) {
        return start_opts(&(ArbordOptions) { .ini = ini });
}

/* arbord -- argv (its control socket: the harness's $ARBOR_SOCKET, @TMP@/arbor.sock). */
Arbord *start_argv(const char *const *argv) {
        return start_opts(&(ArbordOptions) { .command = argv });
}

void signal_arbord(Arbord *a, int sig) {
        int r = arbord_signal(a, sig);

        cr_assert_eq(r, 0, "arbord_signal: %s", strerror(-r));
}

void signal_hup_usr1_usr2(Arbord *a) {
        static const struct {
                int sig;
                const char *name;
        } sigs[] = { { SIGHUP, "SIGHUP" }, { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" } };

        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                signal_arbord(a, sigs[i].sig);
                cr_assert(arbord_wait_log(a, sigs[i].name, -1), "%s", arbord_last_error(a));
        }
}

const HarnessEvent *last_event(Arbord *a, const char *pattern) {
        size_t n;
        const HarnessEvent *evs = arbord_events(a, &n);

        for (size_t i = n; i > 0; i--)
                if (harness_event_matches(&evs[i - 1], pattern))
                        return &evs[i - 1];
        cr_assert_fail("no event '%s' so far", pattern);
        return NULL;
}

pid_t pid_of(Arbord *a, const char *path) {
        const HarnessEvent *ev = last_event(a, fmt("start %s", path));

        cr_assert_gt(ev->pid, 1, "start %s without a pid: %s", path, ev->line);
        return (pid_t) ev->pid;
}

pid_t wait_cue_ready(Arbord *a, const char *path) {
        pid_t pid = pid_of(a, path);

        cr_assert(arbord_wait_stdout(a, fmt("pid %d\n", (int) pid), -1), "%s", arbord_last_error(a));
        return pid;
}

void cue(Arbord *a, const char *path) {
        pid_t pid = wait_cue_ready(a, path);

        cr_assert_eq(kill(pid, SIGUSR1), 0, "kill(%d): %s", (int) pid, strerror(errno));
}

void expect_status(Arbord *a, int status) {
        int st = -1;

        cr_assert(arbord_wait_exit(a, -1, &st), "%s", arbord_last_error(a));
        cr_assert_eq(st, status, "arbord exited with %d, expected %d", st, status);
}

char *children_text(pid_t parent) {
        return read_whole_file(fmt("/proc/%d/task/%d/children", (int) parent, (int) parent), NULL);
}

/* "pid (comm) state" of each child of parent, for messages. */
static const char *describe_children(pid_t parent) {
        _cleanup_free_ char *list = children_text(parent);
        char out[1024] = "";
        size_t len = 0;

        for (char *tok = list ? strtok(list, " \n") : NULL; tok && len < sizeof out - 100; tok = strtok(NULL, " \n")) {
                _cleanup_free_ char *stat = read_whole_file(fmt("/proc/%s/stat", tok), NULL);
                char *end = stat ? strrchr(stat, ')') : NULL;

                if (end)
                        end[3] = '\0'; /* "pid (comm) S" */
                len += (size_t) snprintf(out + len, sizeof out - len, " [%s]", end ? stat : tok);
        }
        return fmt("%s", out);
}

void expect_exit(Arbord *a, int status) {
        int n;

        expect_status(a, status);
        n = count_children(getpid());
        cr_assert_eq(n, 0, "arbord exited leaving %d process(es) to its parent:%s", n, describe_children(getpid()));
}

typedef struct Census {
        pid_t parent;
        int children; /* what is wanted; and no zombie */
} Census;

static bool cond_census(void *userdata) {
        const Census *c = userdata;

        return count_zombies(c->parent) == 0 && count_children(c->parent) == c->children;
}

void expect_children(Arbord *a, int n) {
        Census census = { .parent = arbord_pid(a), .children = n };

        cr_assert(arbord_wait_until(a, cond_census, &census, -1),
                  "%d children, %d of them zombies, under arbord (wanted %d, no zombie)", count_children(census.parent),
                  count_zombies(census.parent), n);
}
