/* SPDX-License-Identifier: MIT */
#pragma once

/* Signal names, as users write them in INI files and on arborctl's command line. */

/* "SIGTERM", "TERM", "term" or "15" -> 15. Returns -EINVAL when not a signal. */
int signal_from_string(const char *s);

/* 15 -> "SIGTERM"; NULL for numbers that are not signals. */
const char *signal_to_string(int sig);
