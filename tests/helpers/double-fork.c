/* SPDX-License-Identifier: MIT */
/*
 * double-fork: a classic daemon that escapes its supervisor's sight.
 *
 *   double-fork [-t MS]
 *
 * fork(); the child calls setsid() and fork()s again and exits; the
 * grandchild lives MS ms (default 200) and exits 0. The original process
 * prints "grandchild N" (the grandchild's pid) on stdout and exits 0 at once,
 * after reaping the intermediate child, so the grandchild is the only
 * process left: reparented to the nearest subreaper (arbord) or PID 1.
 */

#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-t MS]"

int main(int argc, char **argv) {
        long long ms = 200;
        int p[2], status, opt;
        pid_t pid, grandchild;
        ssize_t n;

        helper_name = "double-fork";
        while ((opt = getopt(argc, argv, "t:")) != -1)
                switch (opt) {
                case 't':
                        if (helper_parse_ms(optarg, &ms) < 0)
                                helper_usage(USAGE, "invalid time '%s' (milliseconds or 'forever')", optarg);
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (optind != argc)
                helper_usage(USAGE, "unexpected argument '%s'", argv[optind]);

        if (pipe2(p, O_CLOEXEC) < 0)
                helper_die("pipe2: %s", strerror(errno));
        if (fflush(stdout) == EOF)
                helper_die("writing to stdout: %s", strerror(errno));

        pid = fork();
        if (pid < 0)
                helper_die("fork: %s", strerror(errno));
        if (pid == 0) {
                (void) close(p[0]);
                if (setsid() < 0)
                        helper_die("setsid: %s", strerror(errno));
                grandchild = fork();
                if (grandchild < 0)
                        helper_die("fork: %s", strerror(errno));
                if (grandchild == 0) {
                        sigset_t none;

                        (void) close(p[1]);
                        if (sigemptyset(&none) < 0)
                                helper_die("sigemptyset: %s", strerror(errno));
                        (void) helper_wait_signal(&none, ms);
                        _exit(0);
                }
                n = write(p[1], &grandchild, sizeof grandchild);
                if (n != (ssize_t) sizeof grandchild)
                        helper_die("write: %s", n < 0 ? strerror(errno) : "short write");
                _exit(0);
        }

        (void) close(p[1]);
        do
                n = read(p[0], &grandchild, sizeof grandchild);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof grandchild)
                helper_die("reading the grandchild's pid: %s", n < 0 ? strerror(errno) : "the child failed");
        (void) close(p[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        helper_die("waitpid: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                helper_die("the intermediate child failed");

        helper_say("grandchild %d\n", (int) grandchild);
        return 0;
}
