/* SPDX-License-Identifier: MIT */
/*
 * ignore-term: a service that will not stop politely.
 *
 *   ignore-term [-m MARKER]
 *
 * Ignores SIGTERM and SIGINT, prints "ready" on stdout, creates the empty file
 * MARKER if given (after "ready" was flushed), then waits forever. Only a
 * signal it does not ignore (SIGKILL, or e.g. SIGQUIT) ends it: the case of
 * `shutdown = <duration>` running out and of `brutal_kill`.
 */

#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-m MARKER]"

int main(int argc, char **argv) {
        struct sigaction sa = { .sa_handler = SIG_IGN };
        const char *marker = NULL;
        sigset_t set;
        int opt;

        helper_name = "ignore-term";
        while ((opt = getopt(argc, argv, "m:")) != -1)
                switch (opt) {
                case 'm':
                        marker = optarg;
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (optind != argc)
                helper_usage(USAGE, "unexpected argument '%s'", argv[optind]);

        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
                helper_die("sigaction: %s", strerror(errno));
        /* Ignoring is not enough if they arrive blocked and are unblocked later: unblock now. */
        if (sigemptyset(&set) < 0 || sigaddset(&set, SIGTERM) < 0 || sigaddset(&set, SIGINT) < 0 ||
            sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
                helper_die("sigprocmask: %s", strerror(errno));

        helper_say("ready\n");
        if (marker)
                helper_touch(marker);

        for (;;)
                (void) pause();
}
