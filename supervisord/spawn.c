/* SPDX-License-Identifier: MIT */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "child-setup.h"
#include "macro.h"
#include "string-table.h"

static const char *const spawn_stage_table[_SPAWN_STAGE_MAX] = {
        [SPAWN_STAGE_SIGNALS] = "resetting signals",
        [SPAWN_STAGE_SESSION] = "creating a session",
        [SPAWN_STAGE_PROCESS_GROUP] = "creating a process group",
        [SPAWN_STAGE_STDIN] = "setting up stdin",
        [SPAWN_STAGE_TERMINAL] = "taking the terminal",
        [SPAWN_STAGE_FDS] = "closing inherited file descriptors",
        [SPAWN_STAGE_RLIMITS] = "restoring resource limits",
        [SPAWN_STAGE_CHDIR] = "changing to the working directory",
        [SPAWN_STAGE_EXEC] = "executing",
};

DEFINE_STRING_TABLE_TO_STRING(spawn_stage, SpawnStage, spawn_stage_table)

static int pidfd_open_for(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : fd;
}

int spawn_start(const SpawnRequest *req, Spawned *ret) {
        _cleanup_close_ int report_read = -EBADF, report_write = -EBADF, pidfd = -EBADF;
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        report_read = p[0];
        report_write = p[1];

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* the child's write must not fail with EAGAIN: a report is tiny, but be sure */
                (void) fcntl(report_write, F_SETFL, 0);
                child_setup_and_exec(req, report_write);
        }

        /*
         * The child cannot have been reaped yet (we are the only reaper and
         * have not waited), so the pid is still its own here.
         */
        pidfd = pidfd_open_for(pid);
        if (pidfd == -ENOSYS)
                /*
                 * No pidfds (valgrind does not know the syscall): signals then
                 * go to the pid, still safe because it stays unreaped, and so
                 * reserved, until our reaper takes it.
                 */
                pidfd = -EBADF;
        else if (pidfd < 0) {
                int r = pidfd;
                /* no way to signal it safely later: stop it now, the reaper collects it */
                (void) kill(pid, SIGKILL);
                return r;
        }

        *ret = (Spawned) {
                .pid = pid,
                .pidfd = TAKE_FD(pidfd),
                .report_fd = TAKE_FD(report_read),
        };
        return 0;
}

int spawn_read_report(int fd, SpawnReport *ret) {
        SpawnReport r;
        ssize_t n = read(fd, &r, sizeof(r));

        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;
        if ((size_t) n != sizeof(r) || r.stage < 0 || r.stage >= _SPAWN_STAGE_MAX || r.error <= 0)
                return -EPROTO;
        *ret = r;
        return 1;
}
