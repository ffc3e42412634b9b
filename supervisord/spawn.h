/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The only place that forks. spawn_start() builds nothing after fork(): the
 * caller prepares argv and envp beforehand. The child reports a failure
 * before exec as one SpawnReport {stage, errno} on a close-on-exec pipe; the
 * parent never blocks on it: the read end is non-blocking and watched by the
 * event loop, and EOF without a report means exec() succeeded.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef enum SpawnStage {
        SPAWN_STAGE_SIGNALS,
        SPAWN_STAGE_SESSION,
        SPAWN_STAGE_PROCESS_GROUP,
        SPAWN_STAGE_STDIN,
        SPAWN_STAGE_TERMINAL,
        SPAWN_STAGE_FDS,
        SPAWN_STAGE_RLIMITS,
        SPAWN_STAGE_CHDIR,
        SPAWN_STAGE_EXEC,
        _SPAWN_STAGE_MAX,
        _SPAWN_STAGE_INVALID = -EINVAL,
} SpawnStage;

/* Smaller than PIPE_BUF: written with one atomic write(). */
typedef struct SpawnReport {
        int32_t stage;
        int32_t error;
} SpawnReport;

typedef struct SpawnRequest {
        char *const *argv;            /* argv[0] searched in $PATH when it has no '/' */
        char *const *envp;
        const char *working_directory; /* NULL: arbord's */
        const struct rlimit *nofile;  /* RLIMIT_NOFILE to give the child back (arbord raises its own) */
        /*
         * As tini runs its command: arbord's session and stdin, a process group
         * of its own, made the terminal's foreground group when stdin is
         * arbord's controlling terminal. false: a session of its own, stdin
         * from /dev/null.
         */
        bool foreground;
} SpawnRequest;

typedef struct Spawned {
        pid_t pid;
        int pidfd;     /* signals go through it: never to a recycled pid. -EBADF: no pidfd support */
        int report_fd; /* read end of the report pipe */
} Spawned;

/* Returns 0 and fills ret, or -errno when nothing was started. */
int spawn_start(const SpawnRequest *req, Spawned *ret);

/*
 * Reads the child's report: returns 0 when exec succeeded (EOF), 1 with
 * *ret filled when setup failed, -EAGAIN when nothing is there yet, -EPROTO
 * for a short or garbled report, or another -errno.
 */
int spawn_read_report(int fd, SpawnReport *ret);

/* "changing directory" for SPAWN_STAGE_CHDIR; used in error messages. */
const char *spawn_stage_to_string(SpawnStage s);
