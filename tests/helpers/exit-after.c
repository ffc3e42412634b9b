/* SPDX-License-Identifier: MIT */
/*
 * exit-after: a service that ends on its own, on cue.
 *
 *   exit-after [-c CODE] [-t MS] [-s SIGNAL] [-p]
 *
 *   -c CODE    exit status (default 0)
 *   -t MS      run this many milliseconds first (default 0; "forever" or -1:
 *              until SIGUSR1 or a signal kills it)
 *   -s SIGNAL  instead of exiting, kill itself with SIGNAL ("SIGSEGV", "KILL",
 *              "9"); no core file is written
 *   -p         first print "pid N" on stdout
 *
 * SIGUSR1 ends the wait at once: the program then exits with CODE (or dies of
 * SIGNAL), as if the time had run out ("exit on command"). Every other signal
 * keeps its default action, so SIGTERM kills it.
 */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-c CODE] [-t MS] [-s SIGNAL] [-p]"

_Noreturn static void die_by_signal(int sig, int code) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        struct rlimit no_core = { 0, 0 };
        sigset_t set;

        /* A helper that dies of SIGSEGV must not leave core files behind. */
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                helper_die("setrlimit(RLIMIT_CORE): %s", strerror(errno));
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                helper_die("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
        if (sigaction(sig, &sa, NULL) < 0)
                helper_die("sigaction(%s): %s", sigabbrev_np(sig), strerror(errno));
        if (sigemptyset(&set) < 0 || sigaddset(&set, sig) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
                helper_die("sigprocmask: %s", strerror(errno));
        if (raise(sig) != 0)
                helper_die("raise(%s): %s", sigabbrev_np(sig), strerror(errno));
        /* Signals whose default is to ignore (SIGCHLD, SIGURG, SIGWINCH) or to stop land here. */
        _exit(code);
}

int main(int argc, char **argv) {
        long long code = 0, ms = 0;
        int sig = 0, opt;
        bool print_pid = false;
        sigset_t set;

        helper_name = "exit-after";
        while ((opt = getopt(argc, argv, "c:t:s:p")) != -1)
                switch (opt) {
                case 'c':
                        if (helper_parse_ll(optarg, 0, 255, &code) < 0)
                                helper_usage(USAGE, "invalid exit code '%s' (0..255)", optarg);
                        break;
                case 't':
                        if (helper_parse_ms(optarg, &ms) < 0)
                                helper_usage(USAGE, "invalid time '%s' (milliseconds or 'forever')", optarg);
                        break;
                case 's':
                        sig = helper_parse_signal(optarg);
                        if (sig < 0)
                                helper_usage(USAGE, "invalid signal '%s'", optarg);
                        break;
                case 'p':
                        print_pid = true;
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (optind != argc)
                helper_usage(USAGE, "unexpected argument '%s'", argv[optind]);

        if (sigemptyset(&set) < 0 || sigaddset(&set, SIGUSR1) < 0)
                helper_die("sigset: %s", strerror(errno));
        helper_block(&set);

        if (print_pid)
                helper_say("pid %d\n", (int) getpid());

        if (ms != 0)
                (void) helper_wait_signal(&set, ms);

        if (sig > 0)
                die_by_signal(sig, (int) code);
        if (fflush(stdout) == EOF)
                helper_die("writing to stdout: %s", strerror(errno));
        _exit((int) code);
}
