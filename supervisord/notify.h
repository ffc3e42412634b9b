/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The datagrams services send to $NOTIFY_SOCKET (sd_notify(3)): newline-separated
 * VAR=VALUE assignments. The bytes come from any process that can reach the
 * socket, so this is a parser of outside input (tests/fuzz/fuzz-notify.c). Pure.
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Does the message msg[0..len) hold a line that is exactly "READY=1"? msg need
 * not be NUL-terminated and may hold NUL bytes (a line with one never matches).
 */
bool notify_message_is_ready(const char *msg, size_t len);
