/* SPDX-License-Identifier: MIT */
/*
 * notify-ready: a `ready = notify` service, without libsystemd.
 *
 *   notify-ready [-d MS] [-n] [-M MESSAGE]
 *
 * Waits MS ms (default 0), sends "READY=1" as one datagram to the unix socket
 * named by $NOTIFY_SOCKET (a path, or "@name" for an abstract socket), then
 * runs until SIGTERM or SIGINT, on which it exits 0.
 *
 *   -d MS       delay before the notification
 *   -n          never notify (a service whose readiness times out)
 *   -M MESSAGE  send MESSAGE instead of "READY=1" (e.g. "STATUS=x\nREADY=1";
 *               "\n" in MESSAGE is sent as a newline)
 *
 * SIGTERM/SIGINT during the delay also end it with status 0. An unset or
 * unusable $NOTIFY_SOCKET is an error (status 1), unless -n.
 */

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-d MS] [-n] [-M MESSAGE]"

/* Turns the two characters "\n" into a newline, in place. */
static void unescape_newlines(char *s) {
        char *w = s;

        for (const char *r = s; *r; r++, w++) {
                if (r[0] == '\\' && r[1] == 'n') {
                        *w = '\n';
                        r++;
                } else
                        *w = *r;
        }
        *w = '\0';
}

static void notify(const char *message) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *e = getenv("NOTIFY_SOCKET");
        size_t len, msglen = strlen(message);
        socklen_t salen;
        ssize_t n;
        int fd;

        if (!e || !*e)
                helper_die("NOTIFY_SOCKET is not set");
        len = strlen(e);
        if (e[0] != '/' && e[0] != '@')
                helper_die("NOTIFY_SOCKET='%s' is neither an absolute path nor an abstract name (@...)", e);
        if (len >= sizeof sa.sun_path)
                helper_die("NOTIFY_SOCKET='%s' is too long for a unix socket address", e);
        memcpy(sa.sun_path, e, len);
        if (e[0] == '@') {
                sa.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
                salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
        } else
                salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                helper_die("socket: %s", strerror(errno));
        do
                n = sendto(fd, message, msglen, MSG_NOSIGNAL, (const struct sockaddr *) &sa, salen);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                helper_die("sending to NOTIFY_SOCKET=%s: %s", e, strerror(errno));
        if ((size_t) n != msglen)
                helper_die("sending to NOTIFY_SOCKET=%s: short write", e);
        if (close(fd) < 0)
                helper_die("close: %s", strerror(errno));
}

int main(int argc, char **argv) {
        char *message = NULL;
        bool never = false;
        long long ms = 0;
        sigset_t set;
        int opt;

        helper_name = "notify-ready";
        while ((opt = getopt(argc, argv, "d:nM:")) != -1)
                switch (opt) {
                case 'd':
                        if (helper_parse_ms(optarg, &ms) < 0)
                                helper_usage(USAGE, "invalid delay '%s' (milliseconds or 'forever')", optarg);
                        break;
                case 'n':
                        never = true;
                        break;
                case 'M':
                        message = optarg;
                        unescape_newlines(message);
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (optind != argc)
                helper_usage(USAGE, "unexpected argument '%s'", argv[optind]);

        /* Taken synchronously, so that a stop during the delay also ends cleanly with 0. */
        if (sigemptyset(&set) < 0 || sigaddset(&set, SIGTERM) < 0 || sigaddset(&set, SIGINT) < 0)
                helper_die("sigset: %s", strerror(errno));
        helper_block(&set);

        if (!never) {
                if (ms != 0 && helper_wait_signal(&set, ms) > 0)
                        return 0;
                notify(message ? message : "READY=1");
        }
        (void) helper_wait_signal(&set, HELPER_MS_INFINITY);
        return 0;
}
