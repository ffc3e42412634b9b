/* SPDX-License-Identifier: MIT */
/*
 * orphans: how fast does PID 1 reap orphans?
 *
 *   orphans N [TIMEOUT_MS]
 *
 * Run as the one child of the init under test, in a new PID namespace. An
 * intermediate process vforks N children that exit at once, then exits
 * itself: its N zombies are reparented to PID 1 together. This program reaps
 * the intermediate, then watches the N pids (kill(pid, 0) fails with ESRCH
 * once a zombie is reaped; the namespace is fresh, so no pid is reused) until
 * all are gone or TIMEOUT_MS (default 30000) has passed, and prints one JSON
 * line:
 *
 *   {"n": N, "fork_ms": F, "reap_ms": R, "left": L}
 *
 * fork_ms: making the orphans; reap_ms: from their reparenting (the
 * intermediate reaped) until the last one was reaped; left: zombies not
 * reaped at the end. The watcher sleeps 100 us between checks.
 */

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

static double now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static bool reaped(pid_t pid) {
        return kill(pid, 0) < 0 && errno == ESRCH;
}

int main(int argc, char **argv) {
        struct timespec nap = { .tv_sec = 0, .tv_nsec = 100000 };
        long n, timeout_ms = argc > 2 ? atol(argv[2]) : 30000, i = 0, left = 0;
        double t0, t_orphaned, t_end;
        pid_t *pids, mid;
        int st;

        if (argc < 2 || (n = atol(argv[1])) <= 0) {
                fprintf(stderr, "usage: orphans N [TIMEOUT_MS]\n");
                return 2;
        }
        /* shared with the intermediate, which fills it */
        pids = mmap(NULL, (size_t) n * sizeof(pid_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (pids == MAP_FAILED) {
                perror("orphans: mmap");
                return 1;
        }

        t0 = now_ms();
        mid = fork();
        if (mid < 0) {
                perror("orphans: fork");
                return 1;
        }
        if (mid == 0) {
                for (long k = 0; k < n; k++) {
                        pid_t pid = vfork();
                        if (pid == 0)
                                _exit(0);
                        if (pid < 0)
                                _exit(1);
                        pids[k] = pid;
                }
                _exit(0);
        }
        if (waitpid(mid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "orphans: the intermediate failed to fork %ld children\n", n);
                return 1;
        }
        t_orphaned = now_ms();

        for (;;) {
                while (i < n && reaped(pids[i]))
                        i++;
                if (i == n || now_ms() - t_orphaned > (double) timeout_ms)
                        break;
                (void) nanosleep(&nap, NULL);
        }
        t_end = now_ms();
        for (long k = i; k < n; k++)
                left += !reaped(pids[k]);

        printf("{\"n\": %ld, \"fork_ms\": %.3f, \"reap_ms\": %.3f, \"left\": %ld}\n", n, t_orphaned - t0,
               t_end - t_orphaned, left);
        return left ? 1 : 0;
}
