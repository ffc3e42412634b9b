/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Where arbord's own log lines go: stderr, without ever blocking the loop.
 *
 * Until log_sink_attach() (and always in --check, the tools and the tests) a
 * line is written to stderr at once. Once attached, a line that the reader
 * of stderr (a container runtime's log pipe, journald's socket, a terminal
 * stopped with ^S) cannot take now waits in a bounded buffer, flushed when
 * stderr becomes writable; when the buffer is full, whole lines are dropped
 * and counted, and the count is logged once the reader has caught up. A
 * stalled log reader never stops the supervision (STYLE G9).
 */

#include <stddef.h>
#include <systemd/sd-event.h>

#define LOG_SINK_BUFFER_SIZE (64 * 1024)

/*
 * Stops writing to stderr directly when that could block: a pipe or a
 * terminal is reopened non-blocking (a file description of our own, so
 * services that share stderr keep theirs blocking); a socket is written with
 * MSG_DONTWAIT. A regular file, or anything that cannot be watched, keeps the
 * direct writes (they do not wait on a reader). Returns 0, or -errno when it
 * kept the direct writes for a reason worth a debug line.
 */
int log_sink_attach(sd_event *e);

/* Tries for a short while to write what is still buffered, then goes back to direct writes. */
void log_sink_detach(void);

/* One whole line (with its newline): written, buffered, or dropped and counted. */
void log_sink_write(const char *line, size_t len);

/* A line that could not even be formatted (out of memory): counted as dropped. */
void log_sink_drop(void);
