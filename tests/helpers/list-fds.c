/* SPDX-License-Identifier: MIT */
/*
 * list-fds: reports what a service inherited, for hygiene tests.
 *
 *   list-fds [-o FILE] [-w]
 *
 * Prints, one per line:
 *   fds: 0 1 2                  its open fds, sorted (from /proc/self/fd)
 *   sigblk: 0000000000000000    its blocked signals  (SigBlk of /proc/self/status)
 *   sigign: 0000000000000000    its ignored signals  (SigIgn of /proc/self/status)
 *   session-leader: yes|no      getsid(0) == getpid()
 *   pgrp-leader: yes|no         getpgrp() == getpid()
 *
 *   -o FILE  write the report to FILE instead of stdout, atomically (written to
 *            FILE.tmp, then renamed), so a test can wait for FILE to appear
 *   -w       then wait forever instead of exiting 0
 *
 * Everything is measured before the report's own file is opened.
 */

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper-util.h"

#define USAGE "[-o FILE] [-w]"

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;
        return (x > y) - (x < y);
}

/* Returns a malloc'd "0 1 2". */
static char *list_fds(void) {
        int *fds = NULL, dfd;
        size_t n = 0, cap = 0, len = 0;
        struct dirent *de;
        char *text;
        DIR *d;

        d = opendir("/proc/self/fd");
        if (!d)
                helper_die("opendir(/proc/self/fd): %s", strerror(errno));
        dfd = dirfd(d);
        if (dfd < 0)
                helper_die("dirfd: %s", strerror(errno));
        for (;;) {
                long long fd;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                helper_die("readdir(/proc/self/fd): %s", strerror(errno));
                        break;
                }
                if (helper_parse_ll(de->d_name, 0, INT_MAX, &fd) < 0 || fd == dfd)
                        continue; /* ".", "..", and the directory's own fd */
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        fds = realloc(fds, cap * sizeof(int));
                        if (!fds)
                                helper_die("out of memory");
                }
                fds[n++] = (int) fd;
        }
        if (closedir(d) < 0)
                helper_die("closedir: %s", strerror(errno));

        qsort(fds, n, sizeof(int), cmp_int);
        text = malloc(n * 12 + 1);
        if (!text)
                helper_die("out of memory");
        text[0] = '\0';
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(text + len, i ? " %d" : "%d", fds[i]);
        free(fds);
        return text;
}

/* Copies the value of "Key:\t<value>" from /proc/self/status into ret (16 hex digits). */
static void status_field(const char *key, char ret[static 64]) {
        size_t klen = strlen(key);
        char line[256];
        FILE *f;

        f = fopen("/proc/self/status", "re");
        if (!f)
                helper_die("fopen(/proc/self/status): %s", strerror(errno));
        ret[0] = '\0';
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        const char *v = line + klen + 1;
                        v += strspn(v, " \t");
                        snprintf(ret, 64, "%.*s", (int) strcspn(v, "\n"), v);
                        break;
                }
        if (ferror(f))
                helper_die("reading /proc/self/status: %s", strerror(errno));
        (void) fclose(f);
        if (!ret[0])
                helper_die("no %s line in /proc/self/status", key);
}

int main(int argc, char **argv) {
        char sigblk[64], sigign[64], *fds, *tmp = NULL;
        const char *out = NULL;
        bool wait_forever = false;
        pid_t sid, pid = getpid();
        FILE *f = stdout;
        int opt;

        helper_name = "list-fds";
        while ((opt = getopt(argc, argv, "o:w")) != -1)
                switch (opt) {
                case 'o':
                        out = optarg;
                        break;
                case 'w':
                        wait_forever = true;
                        break;
                default:
                        helper_usage(USAGE, "invalid option");
                }
        if (optind != argc)
                helper_usage(USAGE, "unexpected argument '%s'", argv[optind]);

        /* Measure first: nothing of ours may be open while we look. */
        fds = list_fds();
        status_field("SigBlk", sigblk);
        status_field("SigIgn", sigign);
        sid = getsid(0);
        if (sid < 0)
                helper_die("getsid: %s", strerror(errno));

        if (out) {
                if (asprintf(&tmp, "%s.tmp", out) < 0)
                        helper_die("out of memory");
                f = fopen(tmp, "we");
                if (!f)
                        helper_die("creating %s: %s", tmp, strerror(errno));
        }
        fprintf(f, "fds: %s\nsigblk: %s\nsigign: %s\nsession-leader: %s\npgrp-leader: %s\n", fds, sigblk, sigign,
                sid == pid ? "yes" : "no", getpgrp() == pid ? "yes" : "no");
        if (fflush(f) == EOF || ferror(f))
                helper_die("writing the report: %s", strerror(errno));
        if (out) {
                if (fclose(f) == EOF)
                        helper_die("closing %s: %s", tmp, strerror(errno));
                if (rename(tmp, out) < 0)
                        helper_die("renaming %s to %s: %s", tmp, out, strerror(errno));
        }
        free(tmp);
        free(fds);

        while (wait_forever)
                (void) pause();
        return 0;
}
