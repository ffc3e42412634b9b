/* SPDX-License-Identifier: MIT */
/*
 * loop: the physical limits the benchmark compares supervisors with, and its
 * stopwatch. No event loop, no bookkeeping: the least a program can do.
 *
 *   loop restart N PROG [ARG...]  fork+exec+waitpid PROG, N times in a row:
 *                                 the fastest "restart" of a dying service
 *   loop spawn N PROG [ARG...]    fork+exec PROG N times without waiting, then
 *                                 wait for SIGTERM/SIGINT; on it, SIGTERM every
 *                                 child, reap them all and exit 0: the fastest
 *                                 start-up and (unordered) shutdown of N services
 *   loop spawn-seq N PROG [ARG...] as spawn, but one at a time: each fork waits
 *                                 for its child's exec (EOF on a close-on-exec
 *                                 pipe) before the next, as an OTP supervisor
 *                                 starts its children in order
 *   loop init PROG [ARG...]       a minimal PID 1: fork+exec PROG, then
 *                                 wait(-1) in a loop, reaping whatever comes,
 *                                 until PROG has exited; exits with its status
 *   loop time N PROG [ARG...]     run PROG N times (stdout and stderr to
 *                                 /dev/null) and print, per run, the wall time
 *                                 in ns and the wait status: the stopwatch for
 *                                 one-shot commands such as `sv status`
 *
 * PROG is executed as given (a path, no $PATH search), in a child whose signal
 * mask and dispositions are reset, as any supervisor does.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

_Noreturn static void die(const char *what) {
        fprintf(stderr, "loop: %s: %s\n", what, strerror(errno));
        exit(1);
}

static unsigned long long now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long) ts.tv_sec * 1000000000ull + (unsigned long long) ts.tv_nsec;
}

static sigset_t saved_mask;

static pid_t spawn_reporting(char **argv, bool quiet, int report_fd) {
        pid_t pid = fork();

        if (pid < 0)
                die("fork");
        if (pid == 0) {
                (void) signal(SIGTERM, SIG_DFL);
                (void) signal(SIGINT, SIG_DFL);
                (void) sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                if (quiet) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (fd >= 0) {
                                (void) dup2(fd, STDOUT_FILENO);
                                (void) dup2(fd, STDERR_FILENO);
                        }
                }
                execve(argv[0], argv, environ);
                fprintf(stderr, "loop: exec %s: %s\n", argv[0], strerror(errno));
                if (report_fd >= 0)
                        (void) !write(report_fd, "x", 1);
                _exit(127);
        }
        return pid;
}

static pid_t spawn(char **argv, bool quiet) {
        return spawn_reporting(argv, quiet, -1);
}

/* fork+exec, and return once the exec has happened: EOF on a close-on-exec pipe */
static pid_t spawn_and_wait_exec(char **argv) {
        int p[2];
        char c;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                die("pipe2");
        pid = spawn_reporting(argv, false, p[1]);
        (void) close(p[1]);
        while (read(p[0], &c, 1) < 0)
                if (errno != EINTR)
                        die("read");
        (void) close(p[0]);
        return pid;
}

static int do_restart(long n, char **argv) {
        for (long i = 0; i < n; i++) {
                pid_t pid = spawn(argv, false);
                int st;

                while (waitpid(pid, &st, 0) < 0)
                        if (errno != EINTR)
                                die("waitpid");
        }
        return 0;
}

static int do_time(long n, char **argv) {
        for (long i = 0; i < n; i++) {
                unsigned long long t0 = now_ns();
                pid_t pid = spawn(argv, true);
                int st;

                while (waitpid(pid, &st, 0) < 0)
                        if (errno != EINTR)
                                die("waitpid");
                printf("%llu %d\n", now_ns() - t0, st);
        }
        return 0;
}

static int do_spawn(long n, char **argv, bool one_at_a_time) {
        pid_t *pids = calloc((size_t) n, sizeof(pid_t));
        sigset_t set;
        int sig;

        if (!pids)
                die("calloc");
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        /* blocked before the first fork, so that an early SIGTERM waits for sigwait() */
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                die("sigprocmask");
        for (long i = 0; i < n; i++)
                pids[i] = one_at_a_time ? spawn_and_wait_exec(argv) : spawn(argv, false);
        if (sigwait(&set, &sig) != 0)
                die("sigwait");
        for (long i = 0; i < n; i++)
                (void) kill(pids[i], SIGTERM);
        while (wait(NULL) >= 0 || errno == EINTR)
                ;
        free(pids);
        return 0;
}

static int do_init(char **argv) {
        pid_t main_pid = spawn(argv, false), pid;
        int st, main_status = 0;
        bool main_done = false;

        for (;;) {
                pid = wait(&st);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* ECHILD: nothing left */
                }
                if (pid == main_pid) {
                        main_done = true;
                        main_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
                if (main_done) {
                        /* reap what is already dead, then end like tini does */
                        while (waitpid(-1, &st, WNOHANG) > 0)
                                ;
                        break;
                }
        }
        return main_status;
}

int main(int argc, char **argv) {
        long n = 0;
        char *end;

        if (sigprocmask(SIG_SETMASK, NULL, &saved_mask) < 0)
                die("sigprocmask");
        if (argc >= 3 && strcmp(argv[1], "init") == 0)
                return do_init(argv + 2);
        if (argc < 4) {
                fprintf(stderr, "usage: loop restart|spawn|spawn-seq|time N PROG [ARG...]\n"
                                "       loop init PROG [ARG...]\n");
                return 2;
        }
        errno = 0;
        n = strtol(argv[2], &end, 10);
        if (errno || *end || n < 0) {
                fprintf(stderr, "loop: '%s' is not a count\n", argv[2]);
                return 2;
        }
        if (strcmp(argv[1], "restart") == 0)
                return do_restart(n, argv + 3);
        if (strcmp(argv[1], "spawn") == 0)
                return do_spawn(n, argv + 3, false);
        if (strcmp(argv[1], "spawn-seq") == 0)
                return do_spawn(n, argv + 3, true);
        if (strcmp(argv[1], "time") == 0)
                return do_time(n, argv + 3);
        fprintf(stderr, "loop: unknown mode '%s'\n", argv[1]);
        return 2;
}
