/* SPDX-License-Identifier: MIT */
#include "log-sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

/* At exit, how long arbord still waits for a stalled reader to take the buffered lines. */
#define LOG_SINK_FINAL_TRIES 10
#define LOG_SINK_FINAL_TRY_MS 100

static struct {
        int fd;         /* -EBADF: not attached, lines go straight to stderr */
        bool owned;     /* fd is our own reopen of stderr, closed on detach */
        bool is_socket; /* written with send(MSG_DONTWAIT): the file description is shared */
        char *buf;      /* lines not written yet, oldest first */
        size_t len;
        uint64_t dropped;
        sd_event_source *source; /* EPOLLOUT on fd, enabled only while buf holds something */
} sink = { .fd = -EBADF };

/* Writes what the reader takes now: bytes written, or -errno (-EAGAIN: nothing now). */
static ssize_t sink_try_write(const char *p, size_t n) {
        ssize_t k;

        do
                k = sink.is_socket ? send(sink.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(sink.fd, p, n);
        while (k < 0 && errno == EINTR);
        return k < 0 ? -errno : k;
}

/* Writes from the front of the buffer; true when it is empty. A reader that is gone takes everything. */
static bool sink_flush(void) {
        while (sink.len > 0) {
                ssize_t k = sink_try_write(sink.buf, sink.len);

                if (k == -EAGAIN || k == 0)
                        return false; /* 0: nothing taken now; wait for EPOLLOUT rather than spin */
                if (k < 0)
                        k = (ssize_t) sink.len; /* EPIPE and the like: nobody will ever read these */
                memmove(sink.buf, sink.buf + k, sink.len - (size_t) k);
                sink.len -= (size_t) k;
        }
        return true;
}

static void sink_watch(bool on) {
        if (sink.source)
                (void) sd_event_source_set_enabled(sink.source, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        if (!sink_flush())
                return 0;
        if (sink.dropped > 0) {
                uint64_t n = sink.dropped;

                sink.dropped = 0;
                /* written through the sink like any line: into the buffer, which is empty now */
                log_warning("%" PRIu64 " log lines were dropped: stderr was not read fast enough", n);
                if (!sink_flush())
                        return 0;
        }
        sink_watch(false);
        return 0;
}

/* A file description of stderr's own for a pipe or terminal, non-blocking, so that O_NONBLOCK is not the services'. */
static int reopen_stderr_nonblocking(void) {
        int fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

        return fd < 0 ? -errno : fd;
}

int log_sink_attach(sd_event *e) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        bool is_socket;
        int r;

        if (sink.fd >= 0)
                return 0;
        if (fstat(STDERR_FILENO, &st) < 0)
                return -errno;
        is_socket = S_ISSOCK(st.st_mode);
        if (!is_socket && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
                return 0; /* a regular file: writes do not wait on a reader */
        if (!is_socket) {
                fd = reopen_stderr_nonblocking();
                if (fd < 0)
                        return fd; /* no /proc: direct writes, as before */
        }
        sink.buf = malloc(LOG_SINK_BUFFER_SIZE);
        if (!sink.buf)
                return -ENOMEM;
        r = sd_event_add_io(e, &sink.source, is_socket ? STDERR_FILENO : fd, EPOLLOUT, on_writable, NULL);
        if (r < 0) {
                /* e.g. /dev/null, which epoll refuses: it never blocks anyway */
                free(sink.buf);
                sink.buf = NULL;
                return r == -EPERM ? 0 : r;
        }
        sink_watch(false);
        sink.is_socket = is_socket;
        sink.owned = !is_socket;
        sink.fd = is_socket ? STDERR_FILENO : TAKE_FD(fd);
        return 0;
}

void log_sink_detach(void) {
        if (sink.fd < 0)
                return;
        for (int i = 0; i < LOG_SINK_FINAL_TRIES && !sink_flush(); i++) {
                struct pollfd p = { .fd = sink.fd, .events = POLLOUT };
                (void) poll(&p, 1, LOG_SINK_FINAL_TRY_MS);
        }
        sink.source = sd_event_source_disable_unref(sink.source);
        if (sink.owned)
                (void) close(sink.fd);
        free(sink.buf);
        sink.buf = NULL;
        sink.len = 0;
        sink.fd = -EBADF;
        sink.owned = sink.is_socket = false;
}

void log_sink_write(const char *line, size_t len) {
        if (sink.fd < 0) {
                (void) fwrite(line, 1, len, stderr);
                (void) fflush(stderr);
                return;
        }
        if (sink.len == 0) {
                ssize_t k = sink_try_write(line, len);

                if (k >= 0 && (size_t) k == len)
                        return;
                if (k < 0 && k != -EAGAIN)
                        return; /* the reader is gone */
                if (k > 0) {
                        /* the rest of a line that is half out must follow it, or the stream breaks */
                        line += k;
                        len -= (size_t) k;
                }
        }
        if (len > LOG_SINK_BUFFER_SIZE - sink.len) {
                sink.dropped++;
                return;
        }
        memcpy(sink.buf + sink.len, line, len);
        sink.len += len;
        sink_watch(true);
}

void log_sink_drop(void) {
        sink.dropped++;
}
