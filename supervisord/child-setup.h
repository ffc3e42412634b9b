/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What runs in the child between fork() and exec(). Only async-signal-safe
 * work on data prepared before the fork; any failure is reported on
 * report_fd as {stage, errno} and ends the child with _exit().
 */

#include "macro.h"
#include "spawn.h"

/* Exit code of a child that failed before exec (it is never seen as a service's code). */
#define EXIT_SPAWN_FAILED 127

_noreturn_ void child_setup_and_exec(const SpawnRequest *req, int report_fd);
