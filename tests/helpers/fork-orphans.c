/* SPDX-License-Identifier: MIT */
/*
 * fork-orphans: leaves orphans for the subreaper / PID 1 to reap.
 *
 *   fork-orphans [-t MS] [-w] N
 *
 * Forks N children that exit with status 0 at once (or after MS ms) and never
 * waits for them, then prints "forked N" on stdout.
 *
 *   (default)  the parent then exits 0: its children, exited or not, are
 *              reparented to the nearest subreaper (arbord) or PID 1.
 *   -w         the parent stays up until a signal kills it (SIGTERM: its
 *              default action). So that the children are orphans while it
 *              runs, each is started through a short-lived intermediate
 *              process (fork, fork, the intermediate exits and is reaped
 *              here): the grandchildren go to the subreaper at once.
 *   -t MS      the children live MS ms before exiting (default 0).
 *
 * Built for N in the tens of thousands: no per-child output, no waiting,
 * vfork() when the child does nothing but exit.
 * A failed fork ends the program with status 1 after saying how many
 * children were started.
 */

#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-t MS] [-w] N"

_Noreturn static void orphan(long long ms) {
        if (ms > 0) {
                struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
                while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                        ;
        }
        _exit(0);
}

/* vfork(): the child does nothing but exit, and the parent skips copying its page tables. */
static pid_t quick_orphan(void) {
        pid_t pid = vfork();

        if (pid == 0)
                _exit(0);
        return pid;
}

int main(int argc, char **argv) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        bool stay = false;
        long long n, ms = 0;
        int opt;

        helper_name = "fork-orphans";
        while ((opt = getopt(argc, argv, "t:w")) != -1)
                switch (opt) {
                case 't':
                        if (helper_parse_ms(optarg, &ms) < 0 || ms == HELPER_MS_INFINITY)
                                helper_usage(USAGE, "invalid time '%s' (milliseconds)", optarg);
                        break;
                case 'w':
                        stay = true;
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (argc - optind != 1)
                helper_usage(USAGE, "expected the number of children");
        if (helper_parse_ll(argv[optind], 0, INT_MAX, &n) < 0)
                helper_usage(USAGE, "invalid number of children '%s'", argv[optind]);

        /* SIG_IGN on SIGCHLD would let the kernel reap them for us: no orphans left. */
        if (sigaction(SIGCHLD, &sa, NULL) < 0)
                helper_die("sigaction(SIGCHLD): %s", strerror(errno));
        /* Nothing buffered may be flushed twice by a child. */
        if (fflush(stdout) == EOF)
                helper_die("writing to stdout: %s", strerror(errno));

        for (long long i = 0; i < n; i++) {
                pid_t pid = !stay && ms == 0 ? quick_orphan() : fork();

                if (pid < 0)
                        helper_die("fork: %s (after %lld of %lld children)", strerror(errno), i, n);
                if (pid == 0) {
                        if (!stay)
                                orphan(ms);
                        /* The intermediate: its child is orphaned as soon as it exits. */
                        pid = fork();
                        if (pid < 0)
                                _exit(HELPER_EXIT_FAILURE);
                        if (pid == 0)
                                orphan(ms);
                        _exit(0);
                }
                if (stay) {
                        int status;

                        while (waitpid(pid, &status, 0) < 0)
                                if (errno != EINTR)
                                        helper_die("waitpid: %s", strerror(errno));
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                helper_die("fork: the intermediate process failed (after %lld of %lld children)", i,
                                           n);
                }
        }

        helper_say("forked %lld\n", n);
        while (stay)
                (void) pause();
        return 0;
}
