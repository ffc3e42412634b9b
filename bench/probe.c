/* SPDX-License-Identifier: MIT */
/*
 * probe: the service that every contender of the benchmark runs.
 *
 *   probe [exit|pause]
 *
 * On start it writes one 16-byte record to the FIFO named by
 * $ARBOR_BENCH_FIFO: the CLOCK_MONOTONIC time in ns, its pid and a magic
 * number. Then it exits 0 at once ("exit": a service that keeps dying) or
 * waits until a signal kills it ("pause": an idle service; SIGTERM keeps its
 * default action). The mode comes from argv[1], else $ARBOR_BENCH_MODE, else
 * "pause". runit and s6 start ./run without a mode (s6-supervise passes the
 * service's name as argv[1]), so there ./run is a symlink to this program and
 * the mode comes from the environment.
 *
 * The record costs one open, one write and one close: the same for every
 * contender, and small next to the fork and exec around it.
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAGIC 0x61726272u /* "arbr" */

struct record {
        uint64_t ns;
        uint32_t pid;
        uint32_t magic;
};

int main(int argc, char **argv) {
        const char *mode = getenv("ARBOR_BENCH_MODE");
        const char *fifo = getenv("ARBOR_BENCH_FIFO");
        struct timespec ts;
        struct record rec;
        int fd;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        if (argc > 1 && (strcmp(argv[1], "exit") == 0 || strcmp(argv[1], "pause") == 0))
                mode = argv[1];
        rec = (struct record) {
                .ns = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec,
                .pid = (uint32_t) getpid(),
                .magic = PROBE_MAGIC,
        };
        if (fifo) {
                fd = open(fifo, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        /* 16 bytes < PIPE_BUF: one atomic write */
                        (void) !write(fd, &rec, sizeof(rec));
                        (void) close(fd);
                }
        }
        if (mode && strcmp(mode, "exit") == 0)
                return 0;
        for (;;)
                pause();
}
