/* SPDX-License-Identifier: MIT */
#include "child-setup.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <termios.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

_noreturn_ static void child_fail(int report_fd, SpawnStage stage, int error) {
        SpawnReport r = { .stage = stage, .error = error };

        /* nothing to do if this fails: the parent then sees EOF and an exit 127 */
        (void) !write(report_fd, &r, sizeof(r));
        _exit(EXIT_SPAWN_FAILED);
}

/*
 * Every disposition back to SIG_DFL: arbord handles signals through
 * signalfd with them blocked, but a SIG_IGN would survive exec, so walk all of
 * them rather than a hand-picked list. The mask is still "all blocked" here.
 */
/* The kernel's struct sigaction, for the signals glibc's wrapper refuses to touch. */
struct kernel_sigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
};

static int reset_signal_dispositions(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };

        for (int sig = 1; sig < NSIG; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP)
                        continue;
                if (sigaction(sig, &sa, NULL) >= 0)
                        continue;
                if (errno != EINVAL)
                        return -errno;
                /*
                 * glibc reserves two real-time signals (32, 33) for itself and
                 * refuses them with EINVAL; one inherited as SIG_IGN would still
                 * reach the service. We are about to exec: set them directly.
                 */
                struct kernel_sigaction ksa = { .handler = SIG_DFL };
                if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask)) < 0)
                        return -errno;
        }
        return 0;
}

static int stdin_from_dev_null(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return -errno;
        if (fd != STDIN_FILENO) {
                /* dup2() onto a different fd clears close-on-exec on the target */
                if (dup2(fd, STDIN_FILENO) < 0)
                        return -errno;
                (void) close(fd);
        } else if (fcntl(fd, F_SETFD, 0) < 0)
                return -errno; /* dup2(fd, fd) would not have cleared it */
        return 0;
}

/*
 * The foreground command reads arbord's stdin. An fd 0 that is closed or
 * close-on-exec is no stdin arbord was given: an inherited fd cannot carry
 * the flag across exec, and every fd arbord opens has it, so such an fd 0 is
 * one of arbord's own, opened after it started without a stdin. The command
 * then gets /dev/null, never arbord's epoll or signalfd.
 */
static int stdin_from_arbord(void) {
        int flags = fcntl(STDIN_FILENO, F_GETFD);

        if (flags < 0 && errno != EBADF)
                return -errno;
        if (flags < 0 || (flags & FD_CLOEXEC))
                return stdin_from_dev_null();
        return 0;
}

/*
 * Makes our new process group the foreground group of stdin's terminal, so
 * that ^C and ^Z from it reach the command, not arbord. From a background
 * group this raises SIGTTOU, unless it is blocked, as every signal still is
 * here: the kernel then lets it through. There is nothing to take when the
 * kernel says ENOTTY: stdin is no terminal, or one that is not our
 * controlling terminal (another session's, or none at all), or one that was
 * hung up; Linux answers ENOTTY to all of them. ENXIO is what illumos' lx
 * zones answer, and tini lets it pass too.
 */
static int take_terminal(void) {
        if (tcsetpgrp(STDIN_FILENO, getpid()) >= 0)
                return 0;
        if (errno == ENOTTY || errno == ENXIO)
                return 0;
        return -errno;
}

/*
 * Marks every fd above stderr close-on-exec: a guard for fds that some
 * library opened without O_CLOEXEC. The report pipe keeps working until exec.
 */
static int close_other_fds_on_exec(void) {
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return -errno;
        return 0;
}

void child_setup_and_exec(const SpawnRequest *req, int report_fd) {
        sigset_t all, none;
        int r;

        /* 1. nothing may interrupt the setup */
        if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, NULL) < 0)
                child_fail(report_fd, SPAWN_STAGE_SIGNALS, errno);
        r = reset_signal_dispositions();
        if (r < 0)
                child_fail(report_fd, SPAWN_STAGE_SIGNALS, -r);

        /*
         * 2. its own process group: stopping it signals the whole group. A
         * service gets a session of its own too; the foreground command stays
         * in arbord's, where arbord's controlling terminal is.
         */
        if (req->foreground) {
                if (setpgid(0, 0) < 0)
                        child_fail(report_fd, SPAWN_STAGE_PROCESS_GROUP, errno);
        } else if (setsid() < 0)
                child_fail(report_fd, SPAWN_STAGE_SESSION, errno);

        /*
         * 3. stdin from /dev/null, or arbord's for the foreground command,
         * which then takes the terminal (after setpgid(): it hands the
         * terminal to our own group); stdout and stderr are arbord's
         */
        r = req->foreground ? stdin_from_arbord() : stdin_from_dev_null();
        if (r < 0)
                child_fail(report_fd, SPAWN_STAGE_STDIN, -r);
        if (req->foreground) {
                r = take_terminal();
                if (r < 0)
                        child_fail(report_fd, SPAWN_STAGE_TERMINAL, -r);
        }
        r = close_other_fds_on_exec();
        if (r < 0)
                child_fail(report_fd, SPAWN_STAGE_FDS, -r);

        /* 4. the fd limit arbord had before raising its own */
        if (req->nofile && setrlimit(RLIMIT_NOFILE, req->nofile) < 0)
                child_fail(report_fd, SPAWN_STAGE_RLIMITS, errno);

        if (req->working_directory && chdir(req->working_directory) < 0)
                child_fail(report_fd, SPAWN_STAGE_CHDIR, errno);

        /* 5. an empty mask, last: the service starts with nothing blocked */
        if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(report_fd, SPAWN_STAGE_SIGNALS, errno);

        execvpe(req->argv[0], req->argv, req->envp);
        child_fail(report_fd, SPAWN_STAGE_EXEC, errno);
}
