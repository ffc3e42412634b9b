/* SPDX-License-Identifier: MIT */
/*
 * The integration-test harness: see harness.h for the model. This file has
 * four parts: the flat-JSON event parser and pattern matcher (pure), running
 * arbord (fork/exec, optionally as PID 1 of a new pid namespace), waiting
 * (poll with deadlines), and file/proc utilities. Self-tests of the pure parts
 * are at the end, as criterion tests of the "harness" suite.
 */

#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "macro.h"
#include "signal-util.h"

extern char **environ;

_noreturn_ static void oom(void) {
        fputs("harness: out of memory\n", stderr);
        abort();
}

static void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

static char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d)
                oom();
        return d;
}

_printf_(1, 2) static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return s;
}

/* Grows *array (of *cap elements of size sz) to hold at least n elements. */
static void grow(void *array, size_t *cap, size_t n, size_t sz) {
        if (n <= *cap)
                return;
        size_t c = MAX(*cap * 2, MAX(n, (size_t) 16));
        *(void **) array = xrealloc(*(void **) array, c * sz);
        *cap = c;
}

static int64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int harness_timeout(int timeout_ms) {
        const char *e = getenv("ARBOR_TEST_TIMEOUT_SCALE");
        long long t = timeout_ms < 0 ? HARNESS_TIMEOUT_MS : timeout_ms;
        long scale = 1;

        if (e) {
                char *end;
                long v = strtol(e, &end, 10);
                if (*e && !*end && v >= 1)
                        scale = v;
        }
        t *= scale;
        return t > INT_MAX ? INT_MAX : (int) t;
}

/* --- the flat-JSON parser --------------------------------------------------------- */

static void skip_ws(const char **p) {
        while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
                (*p)++;
}

static int parse_hex4(const char *p, unsigned *ret) {
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static size_t utf8_encode(unsigned cp, char *out) {
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xC0 | (cp >> 6));
                out[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xE0 | (cp >> 12));
                out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (cp >> 18));
        out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        return 4;
}

/* *pp points at the opening quote; on success it points past the closing one. */
static int parse_string(const char **pp, char **ret) {
        const char *p = *pp + 1;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        /* Unescaping never makes a string longer: \uXXXX (6) -> at most 3 bytes, a pair (12) -> 4. */
        buf = malloc(strlen(p) + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                unsigned char c = (unsigned char) *p;
                unsigned cp, lo;

                if (c == '\0' || c < 0x20)
                        return -EINVAL; /* unterminated, or a raw control character */
                if (c == '"')
                        break;
                if (c != '\\') {
                        buf[n++] = (char) c;
                        p++;
                        continue;
                }
                p++;
                switch (*p) {
                case '"':
                case '\\':
                case '/':
                        buf[n++] = *p;
                        break;
                case 'b':
                        buf[n++] = '\b';
                        break;
                case 'f':
                        buf[n++] = '\f';
                        break;
                case 'n':
                        buf[n++] = '\n';
                        break;
                case 'r':
                        buf[n++] = '\r';
                        break;
                case 't':
                        buf[n++] = '\t';
                        break;
                case 'u':
                        if (parse_hex4(p + 1, &cp) < 0)
                                return -EINVAL;
                        p += 4;
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                                if (p[1] != '\\' || p[2] != 'u' || parse_hex4(p + 3, &lo) < 0 || lo < 0xDC00 ||
                                    lo > 0xDFFF)
                                        return -EINVAL; /* a high surrogate alone */
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                p += 6;
                        } else if (cp >= 0xDC00 && cp <= 0xDFFF)
                                return -EINVAL; /* a low surrogate alone */
                        if (cp == 0)
                                return -EINVAL; /* would cut the C string */
                        n += utf8_encode(cp, buf + n);
                        break;
                default:
                        return -EINVAL;
                }
                p++;
        }
        buf[n] = '\0';
        *pp = p + 1;
        *ret = TAKE_PTR(buf);
        return 0;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(const char **pp, HarnessField *f) {
        const char *p = *pp, *start = *pp;
        bool integer = true;

        if (*p == '-')
                p++;
        if (*p == '0')
                p++;
        else if (is_digit(*p))
                while (is_digit(*p))
                        p++;
        else
                return -EINVAL;
        if (*p == '.') {
                integer = false;
                p++;
                if (!is_digit(*p))
                        return -EINVAL;
                while (is_digit(*p))
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                integer = false;
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!is_digit(*p))
                        return -EINVAL;
                while (is_digit(*p))
                        p++;
        }

        f->text = strndup(start, (size_t) (p - start));
        if (!f->text)
                return -ENOMEM;
        errno = 0;
        if (integer)
                f->number = strtoll(f->text, NULL, 10);
        else
                f->number = (long long) strtod(f->text, NULL);
        if (errno == ERANGE)
                return -ERANGE;
        f->type = HARNESS_VALUE_NUMBER;
        *pp = p;
        return 0;
}

static int parse_value(const char **pp, HarnessField *f) {
        static const struct {
                const char *word;
                HarnessValueType type;
                long long number;
        } literals[] = {
                { "true", HARNESS_VALUE_BOOL, 1 },
                { "false", HARNESS_VALUE_BOOL, 0 },
                { "null", HARNESS_VALUE_NULL, 0 },
        };

        if (**pp == '"') {
                int r = parse_string(pp, &f->text);
                if (r < 0)
                        return r;
                f->type = HARNESS_VALUE_STRING;
                return 0;
        }
        if (**pp == '-' || is_digit(**pp))
                return parse_number(pp, f);
        for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
                size_t len = strlen(literals[i].word);
                if (strncmp(*pp, literals[i].word, len) == 0) {
                        f->text = strdup(literals[i].word);
                        if (!f->text)
                                return -ENOMEM;
                        f->type = literals[i].type;
                        f->number = literals[i].number;
                        *pp += len;
                        return 0;
                }
        }
        return -EINVAL; /* objects and arrays included: events are flat */
}

static void fields_free(HarnessField *fields, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(fields[i].key);
                free(fields[i].text);
        }
        free(fields);
}

/* Parses a flat object into fields. */
static int parse_object(const char *line, HarnessField **ret, size_t *ret_n) {
        HarnessField *fields = NULL;
        size_t n = 0, cap = 0;
        const char *p = line;
        int r = -EINVAL;

        skip_ws(&p);
        if (*p != '{')
                goto fail;
        p++;
        skip_ws(&p);
        if (*p == '}')
                p++;
        else
                for (;;) {
                        HarnessField *f;

                        if (*p != '"')
                                goto fail;
                        grow(&fields, &cap, n + 1, sizeof *fields);
                        f = &fields[n++];
                        *f = (HarnessField) {};
                        r = parse_string(&p, &f->key);
                        if (r < 0)
                                goto fail;
                        r = -EINVAL;
                        skip_ws(&p);
                        if (*p != ':')
                                goto fail;
                        p++;
                        skip_ws(&p);
                        r = parse_value(&p, f);
                        if (r < 0)
                                goto fail;
                        r = -EINVAL;
                        skip_ws(&p);
                        if (*p == '}') {
                                p++;
                                break;
                        }
                        if (*p != ',')
                                goto fail;
                        p++;
                        skip_ws(&p);
                }
        skip_ws(&p);
        if (*p != '\0')
                goto fail;
        *ret = fields;
        *ret_n = n;
        return 0;
fail:
        fields_free(fields, n);
        return r;
}

static const HarnessField *fields_find(const HarnessField *fields, size_t n, const char *key, size_t keylen) {
        for (size_t i = 0; i < n; i++)
                if (strlen(fields[i].key) == keylen && memcmp(fields[i].key, key, keylen) == 0)
                        return &fields[i];
        return NULL;
}

const HarnessField *harness_event_field(const HarnessEvent *ev, const char *key) {
        return fields_find(ev->fields, ev->n_fields, key, strlen(key));
}

static const HarnessField *field_typed(const HarnessEvent *ev, const char *key, HarnessValueType type) {
        const HarnessField *f = harness_event_field(ev, key);
        return f && f->type == type ? f : NULL;
}

int harness_event_parse(const char *line, HarnessEvent *ret) {
        HarnessEvent ev = { .ts = -1, .code = -1, .normal = -1, .path = "" };
        const HarnessField *f;
        int r;

        r = parse_object(line, &ev.fields, &ev.n_fields);
        if (r < 0)
                return r;
        f = field_typed(&ev, "event", HARNESS_VALUE_STRING);
        if (!f) {
                fields_free(ev.fields, ev.n_fields);
                return -ENOMSG;
        }
        ev.event = f->text;
        if ((f = field_typed(&ev, "path", HARNESS_VALUE_STRING)))
                ev.path = f->text;
        if ((f = field_typed(&ev, "ts", HARNESS_VALUE_NUMBER)))
                ev.ts = f->number;
        if ((f = field_typed(&ev, "pid", HARNESS_VALUE_NUMBER)))
                ev.pid = f->number;
        if ((f = field_typed(&ev, "code", HARNESS_VALUE_NUMBER)) && f->number >= 0 && f->number <= INT_MAX)
                ev.code = (int) f->number;
        if ((f = field_typed(&ev, "signal", HARNESS_VALUE_STRING)))
                ev.signal = f->text;
        if ((f = field_typed(&ev, "normal", HARNESS_VALUE_BOOL)))
                ev.normal = (int) f->number;
        if ((f = field_typed(&ev, "error", HARNESS_VALUE_STRING)))
                ev.error = f->text;
        ev.line = strdup(line);
        if (!ev.line) {
                fields_free(ev.fields, ev.n_fields);
                return -ENOMEM;
        }
        *ret = ev;
        return 0;
}

void harness_event_done(HarnessEvent *ev) {
        if (!ev)
                return;
        fields_free(ev->fields, ev->n_fields);
        free(ev->line);
        *ev = (HarnessEvent) {};
}

/* The next space-separated token of *pp, as pointer and length; false at the end. */
static bool next_token(const char **pp, const char **ret, size_t *ret_len) {
        const char *p = *pp + strspn(*pp, " \t");
        size_t len = strcspn(p, " \t");

        if (len == 0)
                return false;
        *ret = p;
        *ret_len = len;
        *pp = p + len;
        return true;
}

static bool token_is(const char *tok, size_t len, const char *s) {
        return strlen(s) == len && memcmp(tok, s, len) == 0;
}

/* A KIND or PATH token: exact, or a prefix when it ends with '*' (as "*", or "root/web/" then "*"). */
static bool token_matches(const char *tok, size_t len, const char *s) {
        if (len > 0 && tok[len - 1] == '*')
                return strncmp(s, tok, len - 1) == 0;
        return token_is(tok, len, s);
}

bool harness_event_matches(const HarnessEvent *ev, const char *pattern) {
        const char *p = pattern, *tok;
        size_t len;

        if (!next_token(&p, &tok, &len))
                return true; /* the empty pattern matches anything */
        if (!token_matches(tok, len, ev->event))
                return false;
        if (!next_token(&p, &tok, &len))
                return true;
        if (!token_matches(tok, len, ev->path))
                return false;

        while (next_token(&p, &tok, &len)) {
                size_t klen = strcspn(tok, "=~");
                const HarnessField *f;
                const char *value;
                size_t vlen;

                if (klen >= len || klen == 0) {
                        fprintf(stderr, "harness: invalid constraint '%.*s' in pattern '%s' (key=value or key~text)\n",
                                (int) len, tok, pattern);
                        return false;
                }
                value = tok + klen + 1;
                vlen = len - klen - 1;
                f = fields_find(ev->fields, ev->n_fields, tok, klen);
                if (tok[klen] == '=') {
                        if (!f) {
                                if (!token_is(value, vlen, "null"))
                                        return false;
                        } else if (!token_is(value, vlen, f->text))
                                return false;
                } else {
                        if (!f || !memmem(f->text, strlen(f->text), value, vlen))
                                return false;
                }
        }
        return true;
}

char *harness_event_format(const HarnessEvent *ev) {
        char *s = NULL;
        size_t size;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                return NULL;
        fprintf(f, "%s %s", ev->event, ev->path[0] ? ev->path : "\"\"");
        for (size_t i = 0; i < ev->n_fields; i++) {
                const HarnessField *fl = &ev->fields[i];
                if (streq(fl->key, "ts") || streq(fl->key, "event") || streq(fl->key, "path"))
                        continue;
                fprintf(f, " %s=%s", fl->key, fl->text);
        }
        if (fclose(f) == EOF) {
                free(s);
                return NULL;
        }
        return s;
}

/* --- running arbord --------------------------------------------------------------- */

/* What a child tells the harness while it starts arbord; see the "start" comments. */
typedef enum ReportKind {
        REPORT_FAILED, /* stage, errno: arbord could not be run */
        REPORT_PID,    /* pid: the pid-namespace keeper forked arbord */
        REPORT_EXECED, /* the keeper saw arbord's exec succeed */
        REPORT_STATUS, /* wait status: the keeper reaped arbord */
        _REPORT_KIND_MAX,
} ReportKind;

typedef enum StartStage {
        STAGE_SETPGID,
        STAGE_SETSID,
        STAGE_PTY,
        STAGE_PDEATHSIG,
        STAGE_SIGNALS,
        STAGE_FDS,
        STAGE_EXEC,
        STAGE_UNSHARE,
        STAGE_SETGROUPS,
        STAGE_UID_MAP,
        STAGE_GID_MAP,
        STAGE_MOUNT_PRIVATE,
        STAGE_MOUNT_PROC,
        STAGE_FORK,
        _STAGE_MAX,
} StartStage;

static const char *const stage_table[_STAGE_MAX] = {
        [STAGE_SETPGID] = "setpgid",
        [STAGE_SETSID] = "setsid",
        [STAGE_PTY] = "making the pseudo-terminal the controlling terminal",
        [STAGE_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
        [STAGE_SIGNALS] = "resetting signals",
        [STAGE_FDS] = "setting up fds",
        [STAGE_EXEC] = "execve",
        [STAGE_UNSHARE] = "unshare",
        [STAGE_SETGROUPS] = "writing /proc/self/setgroups",
        [STAGE_UID_MAP] = "writing /proc/self/uid_map",
        [STAGE_GID_MAP] = "writing /proc/self/gid_map",
        [STAGE_MOUNT_PRIVATE] = "making / private",
        [STAGE_MOUNT_PROC] = "mounting /proc",
        [STAGE_FORK] = "fork",
};

static const char *stage_to_string(int stage) {
        return stage >= 0 && stage < _STAGE_MAX ? stage_table[stage] : "?";
}

typedef struct StartReport {
        int kind;  /* ReportKind */
        int stage; /* StartStage, for REPORT_FAILED */
        int value; /* errno, pid or wait status */
} StartReport;
_Static_assert(sizeof(StartReport) <= PIPE_BUF, "reports must be written atomically");

/* Everything the forked side needs, prepared before fork(): it only makes syscalls. */
typedef struct StartContext {
        const char *binary;
        char **argv;
        char **envp;
        int stdin_fd, stdout_fd, stderr_fd, report_fd;
        pid_t parent; /* for the PR_SET_PDEATHSIG race check; 0 as PID 1 of a new namespace */
        unsigned flags;
        char pty_path[64]; /* ARBORD_PTY: the terminal side, which becomes arbord's stdin */
        char uid_map[64], gid_map[64];
} StartContext;

/* A stderr line that is not an event; a JSON object also keeps its string values, unescaped. */
typedef struct LogLine {
        char *line;
        char *strings; /* the object's string values joined by newlines; NULL if not an object */
} LogLine;

struct Arbord {
        pid_t pid;       /* arbord, in the test's pid namespace */
        int pidfd;       /* arbord's; -EBADF if it was gone before we could open it */
        pid_t child;     /* our child: arbord, or the pid-namespace keeper */
        int child_pidfd; /* the child's; the same fd as pidfd when child == pid */
        int err_fd;      /* read end of arbord's stderr */
        int report_fd;   /* the keeper's reports; -EBADF without a pid namespace */
        int pty_fd;      /* the master side of arbord's terminal; -EBADF without ARBORD_PTY */
        bool reaped, eof;
        int status; /* once reaped: exit code, 128+N for signal N, -1 if unknown */
        bool verbose;
        char *tmpdir;
        char *control; /* the socket the harness gave arbord; NULL: the test chose */

        char *partial; /* an incomplete line read from err_fd */
        size_t partial_len, partial_cap;

        HarnessEvent *events;
        size_t n_events, events_cap, cursor;
        LogLine *log;
        size_t n_log, log_cap;
        char *last_error;

        Arbord *next_live; /* in live_list while not reaped */
        Arbord *next_all;  /* in all_list until freed */
};

/* Every arbord not yet reaped, so that the orphan sweep leaves them alone. */
static Arbord *live_list;

/*
 * Every arbord not yet freed. A failed cr_assert() leaves the test through
 * longjmp, past any _cleanup_arbord_, but criterion then exits the worker
 * with exit(): an atexit handler frees what is left (stops arbord, sweeps,
 * removes the directory). Only in the process that started them.
 */
static Arbord *all_list;
static pid_t all_list_owner;

static void all_remove(Arbord *a) {
        for (Arbord **p = &all_list; *p; p = &(*p)->next_all)
                if (*p == a) {
                        *p = a->next_all;
                        a->next_all = NULL;
                        return;
                }
}

static void live_remove(Arbord *a) {
        for (Arbord **p = &live_list; *p; p = &(*p)->next_live)
                if (*p == a) {
                        *p = a->next_live;
                        a->next_live = NULL;
                        return;
                }
}

static bool live_pid(pid_t pid) {
        for (Arbord *a = live_list; a; a = a->next_live)
                if (a->child == pid || a->pid == pid)
                        return true;
        return false;
}

_printf_(2, 3) static void arbord_fail(Arbord *a, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                oom();
        va_end(ap);
        fprintf(stderr, "harness: %s\n", s);
        if (a) {
                free(a->last_error);
                a->last_error = s;
        } else
                free(s);
}

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_send_signal_(int pidfd, int sig) {
        return (int) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/*
 * Replaces every @HELPERS@ and @TMP@. @HELPERS@ becomes the short link that
 * link_helpers() made in tmpdir, so that a test's INI lines stay the same
 * length wherever the tree was built (inih cuts lines at 199 bytes, and
 * distcheck builds deep down).
 */
static char *substitute(const char *s, const char *tmpdir) {
        static const char helpers[] = "@HELPERS@", tmp[] = "@TMP@";
        char *out = NULL;
        size_t size;
        FILE *f;

        f = open_memstream(&out, &size);
        if (!f)
                oom();
        while (*s) {
                if (strncmp(s, helpers, sizeof helpers - 1) == 0) {
                        fprintf(f, "%s/helpers", tmpdir);
                        s += sizeof helpers - 1;
                } else if (strncmp(s, tmp, sizeof tmp - 1) == 0) {
                        fputs(tmpdir, f);
                        s += sizeof tmp - 1;
                } else
                        fputc(*s++, f);
        }
        if (fclose(f) == EOF)
                oom();
        return out;
}

/* tmpdir/helpers -> the helper programs' directory. */
static int link_helpers(const char *tmpdir) {
        _cleanup_free_ char *link = xasprintf("%s/helpers", tmpdir);

        return symlink(HARNESS_HELPERS, link) < 0 ? -errno : 0;
}

/* Writes text to a new file at path. Returns 0, or -1 with errno set. */
static int write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                return -1;
        if (fputs(text, f) == EOF) {
                int saved = errno;
                (void) fclose(f);
                errno = saved;
                return -1;
        }
        return fclose(f) == EOF ? -1 : 0;
}

/* A new pseudo-terminal: returns its master side, and the path of its terminal side in path; or -errno. */
static int open_pty(char *path, size_t size) {
        _cleanup_close_ int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        if (grantpt(fd) < 0 || unlockpt(fd) < 0)
                return -errno;
        r = ptsname_r(fd, path, size);
        if (r != 0)
                return -r;
        return TAKE_FD(fd);
}

/* The line [start, end) with blanks trimmed, as pointer and length. */
static const char *trim(const char *start, const char *end, size_t *ret_len) {
        while (start < end && (*start == ' ' || *start == '\t' || *start == '\r'))
                start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        *ret_len = (size_t) (end - start);
        return start;
}

/*
 * Gives the INI text a control socket of its own, `control = socket`, unless
 * its [arbor] section sets one: right after the [arbor] line, or in an [arbor]
 * section appended at the end, so the test's own lines keep their numbers.
 * Returns the new text (malloc'd), or NULL when the text sets control itself.
 */
static char *ini_add_control(const char *ini, const char *socket) {
        const char *insert_at = NULL, *p = ini;
        bool in_arbor = false;
        size_t len = strlen(ini);

        while (*p) {
                const char *eol = p + strcspn(p, "\n"), *t;
                size_t n;

                t = trim(p, eol, &n);
                if (n > 0 && t[0] == '[') {
                        in_arbor = n >= 7 && strncmp(t, "[arbor]", 7) == 0;
                        if (in_arbor)
                                insert_at = *eol ? eol + 1 : eol;
                } else if (in_arbor && n > 7 && strncmp(t, "control", 7) == 0 &&
                           (t[7] == ' ' || t[7] == '\t' || t[7] == '=' || t[7] == ':'))
                        return NULL;
                p = *eol ? eol + 1 : eol;
        }
        if (!insert_at)
                return xasprintf("%s%s\n[arbor]\ncontrol = %s\n", ini, len > 0 && ini[len - 1] != '\n' ? "\n" : "",
                                 socket);
        return xasprintf("%.*s%scontrol = %s\n%s", (int) (insert_at - ini), ini,
                         insert_at > ini && insert_at[-1] != '\n' ? "\n" : "", socket, insert_at);
}

static void strv_push(char ***l, size_t *n, char *s) {
        *l = xrealloc(*l, (*n + 2) * sizeof(char *));
        (*l)[(*n)++] = s;
        (*l)[*n] = NULL;
}

static bool env_key_is(const char *entry, const char *key) {
        size_t n = strlen(key);
        return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

/* The length of "KEY" in "KEY=value". */
static size_t env_key_len(const char *entry) {
        return strcspn(entry, "=");
}

static char **build_env(const char *const *extra, const char *tmpdir) {
        static const char *const removed[] = { "NOTIFY_SOCKET", "LISTEN_FDS",      "LISTEN_PID",
                                               "LISTEN_FDNAMES", "XDG_RUNTIME_DIR", "ARBOR_SOCKET" };
        char **env = NULL;
        size_t n = 0;

        for (char **e = environ; e && *e; e++) {
                bool skip = false;
                for (size_t i = 0; i < ELEMENTSOF(removed) && !skip; i++)
                        skip = env_key_is(*e, removed[i]);
                for (const char *const *x = extra; x && *x && !skip; x++)
                        skip = env_key_len(*x) == env_key_len(*e) && strncmp(*x, *e, env_key_len(*e)) == 0;
                if (!skip)
                        strv_push(&env, &n, xstrdup(*e));
        }
        strv_push(&env, &n, xasprintf("XDG_RUNTIME_DIR=%s", tmpdir));
        strv_push(&env, &n, xasprintf("ARBOR_SOCKET=%s/arbor.sock", tmpdir));
        for (const char *const *x = extra; x && *x; x++)
                strv_push(&env, &n, substitute(*x, tmpdir));
        return env;
}

/* In a forked child: say what failed and end. Only syscalls from here on. */
_noreturn_ static void child_fail(int report_fd, int stage, int err) {
        StartReport r = { .kind = REPORT_FAILED, .stage = stage, .value = err };
        (void) !write(report_fd, &r, sizeof r);
        _exit(127);
}

/*
 * In the forked child, with ARBORD_PTY, after setsid(): opens the terminal
 * side of the pseudo-terminal and makes it our controlling terminal (which
 * also makes our process group its foreground group). Returns the fd.
 */
static int open_controlling_pty(const StartContext *c) {
        int fd = open(c->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                child_fail(c->report_fd, STAGE_PTY, errno);
        if (ioctl(fd, TIOCSCTTY, 0) < 0)
                child_fail(c->report_fd, STAGE_PTY, errno);
        return fd;
}

/*
 * In the forked child: becomes arbord. Its own process group (with
 * ARBORD_PTY its own session, the pseudo-terminal as controlling terminal
 * and stdin); SIGTERM when its parent dies; every signal blocked while
 * dispositions are reset, an empty mask at exec; fds 0-2 placed, everything
 * else close-on-exec.
 */
_noreturn_ static void child_exec(const StartContext *c) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        int fds[] = { c->stdin_fd, c->stdout_fd, c->stderr_fd }, report = c->report_fd;
        sigset_t all, none;

        if (sigfillset(&all) < 0 || sigprocmask(SIG_SETMASK, &all, NULL) < 0)
                child_fail(report, STAGE_SIGNALS, errno);
        if (c->flags & ARBORD_PTY) {
                if (setsid() < 0)
                        child_fail(report, STAGE_SETSID, errno);
                fds[0] = open_controlling_pty(c);
        } else if (setpgid(0, 0) < 0)
                child_fail(report, STAGE_SETPGID, errno);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
                child_fail(report, STAGE_PDEATHSIG, errno);
        if (getppid() != c->parent)
                _exit(127); /* the test died before the death signal was armed */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
                        child_fail(report, STAGE_SIGNALS, errno);

        /* Out of the way of 0-2 first, in case the test closed its own stdio. */
        report = fcntl(report, F_DUPFD_CLOEXEC, 3);
        if (report < 0)
                child_fail(c->report_fd, STAGE_FDS, errno);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (fds[i] < 0)
                        child_fail(report, STAGE_FDS, errno);
        }
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (dup2(fds[i], (int) i) < 0) /* never dup2(fd, fd): fds[i] >= 3 */
                        child_fail(report, STAGE_FDS, errno);
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                for (int fd = 3; fd < 65536; fd++)
                        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);

        if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(report, STAGE_SIGNALS, errno);
        execve(c->binary, c->argv, c->envp);
        child_fail(report, STAGE_EXEC, errno);
}

static int write_proc_file(const char *path, const char *text) {
        size_t len = strlen(text);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, text, len) != (ssize_t) len) {
                int r = -errno;
                (void) close(fd);
                return r ? r : -EIO;
        }
        return close(fd) < 0 ? -errno : 0;
}

static void keeper_report(int fd, int kind, int stage, int value) {
        StartReport r = { .kind = kind, .stage = stage, .value = value };
        (void) !write(fd, &r, sizeof r);
}

/*
 * In the forked child, with ARBORD_PIDNS: the keeper. Enters new pid and
 * mount (and user) namespaces, forks arbord as PID 1 of them, reports its
 * pid, whether its exec worked, and finally its wait status, and exits with
 * the same exit code. It holds no fd of arbord's but the report pipe.
 */
_noreturn_ static void keeper_run(StartContext *c) {
        int flags = CLONE_NEWPID | CLONE_NEWNS, ep[2], status, r;
        StartReport rep;
        ssize_t n;
        pid_t pid;

        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail(c->report_fd, STAGE_PDEATHSIG, errno);
        if (getppid() != c->parent)
                _exit(127);
        if (c->flags & ARBORD_USERNS)
                flags |= CLONE_NEWUSER;
        if (unshare(flags) < 0)
                child_fail(c->report_fd, STAGE_UNSHARE, errno);
        if (c->flags & ARBORD_USERNS) {
                r = write_proc_file("/proc/self/setgroups", "deny");
                if (r < 0)
                        child_fail(c->report_fd, STAGE_SETGROUPS, -r);
                r = write_proc_file("/proc/self/uid_map", c->uid_map);
                if (r < 0)
                        child_fail(c->report_fd, STAGE_UID_MAP, -r);
                r = write_proc_file("/proc/self/gid_map", c->gid_map);
                if (r < 0)
                        child_fail(c->report_fd, STAGE_GID_MAP, -r);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(c->report_fd, STAGE_MOUNT_PRIVATE, errno);
        if (pipe2(ep, O_CLOEXEC) < 0)
                child_fail(c->report_fd, STAGE_FORK, errno);

        pid = fork();
        if (pid < 0)
                child_fail(c->report_fd, STAGE_FORK, errno);
        if (pid == 0) {
                /* PID 1 of the new namespace: its parent is outside, getppid() says 0. */
                c->report_fd = ep[1];
                c->parent = 0;
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        child_fail(ep[1], STAGE_MOUNT_PROC, errno);
                child_exec(c);
        }
        (void) close(ep[1]);
        keeper_report(c->report_fd, REPORT_PID, 0, pid);
        do
                n = read(ep[0], &rep, sizeof rep);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof rep)
                keeper_report(c->report_fd, REPORT_FAILED, rep.stage, rep.value);
        else
                keeper_report(c->report_fd, REPORT_EXECED, 0, 0);
        (void) close(ep[0]);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        _exit(127);
        keeper_report(c->report_fd, REPORT_STATUS, 0, status);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int wait_status_to_code(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

/* For a JSON log line ({"level": "error", "message": "..."}), its string values, unescaped. */
static char *log_strings(const char *line) {
        HarnessField *fields;
        char *s = NULL;
        size_t n, size;
        FILE *f;
        int r;

        r = parse_object(line, &fields, &n);
        if (r == -ENOMEM)
                oom();
        if (r < 0)
                return NULL;
        f = open_memstream(&s, &size);
        if (!f)
                oom();
        for (size_t i = 0; i < n; i++)
                if (fields[i].type == HARNESS_VALUE_STRING)
                        fprintf(f, "%s\n", fields[i].text);
        if (fclose(f) == EOF)
                oom();
        fields_free(fields, n);
        return s;
}

static void arbord_add_line(Arbord *a, char *line) {
        HarnessEvent ev;
        int r;

        if (a->verbose)
                fprintf(stderr, "arbord[%d]: %s\n", (int) a->pid, line);
        r = harness_event_parse(line, &ev);
        if (r == -ENOMEM)
                oom();
        if (r >= 0) {
                grow(&a->events, &a->events_cap, a->n_events + 1, sizeof *a->events);
                ev.index = a->n_events;
                a->events[a->n_events++] = ev;
                return;
        }
        grow(&a->log, &a->log_cap, a->n_log + 1, sizeof *a->log);
        a->log[a->n_log++] = (LogLine) { .line = xstrdup(line), .strings = log_strings(line) };
}

/* Cuts complete lines out of the partial buffer. */
static void arbord_split_lines(Arbord *a, bool at_eof) {
        size_t start = 0;

        for (size_t i = 0; i < a->partial_len; i++)
                if (a->partial[i] == '\n') {
                        a->partial[i] = '\0';
                        arbord_add_line(a, a->partial + start);
                        start = i + 1;
                }
        memmove(a->partial, a->partial + start, a->partial_len - start);
        a->partial_len -= start;
        if (at_eof && a->partial_len > 0) {
                grow(&a->partial, &a->partial_cap, a->partial_len + 1, 1);
                a->partial[a->partial_len] = '\0';
                arbord_add_line(a, a->partial);
                a->partial_len = 0;
        }
}

/* Reads whatever arbord's stderr holds, without blocking. */
static void arbord_read_output(Arbord *a) {
        while (!a->eof) {
                ssize_t n;

                grow(&a->partial, &a->partial_cap, a->partial_len + 65536, 1);
                n = read(a->err_fd, a->partial + a->partial_len, a->partial_cap - a->partial_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN) {
                                arbord_fail(a, "reading arbord's stderr: %s", strerror(errno));
                                a->eof = true; /* nothing more can be read: do not spin on it */
                                arbord_split_lines(a, true);
                        }
                        break;
                }
                if (n == 0)
                        a->eof = true;
                a->partial_len += (size_t) n;
                arbord_split_lines(a, a->eof);
        }
}

/* Reaps our child if it has exited, and takes the keeper's last report. */
static void arbord_check_exit(Arbord *a) {
        pid_t pid;
        int status;

        if (a->reaped)
                return;
        pid = waitpid(a->child, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno != ECHILD))
                return;
        a->reaped = true;
        live_remove(a);
        if (pid < 0) {
                /* Someone else reaped it (a waitpid(-1) in the test?): the status is lost. */
                arbord_fail(a, "arbord (pid %d) was reaped behind the harness's back", (int) a->child);
                a->status = -1;
        } else
                a->status = wait_status_to_code(status);
        if (a->report_fd >= 0) {
                StartReport r;
                ssize_t n;

                /* The keeper wrote arbord's status before it exited: it is in the pipe. */
                while ((n = read(a->report_fd, &r, sizeof r)) == (ssize_t) sizeof r)
                        if (r.kind == REPORT_STATUS)
                                a->status = wait_status_to_code(r.value);
        }
        /* Everything arbord wrote is in the pipe by now. */
        arbord_read_output(a);
}

/* arbord can write nothing more: it exited (and its output was read) or closed stderr. */
static bool arbord_done(const Arbord *a) {
        return a->reaped || a->eof;
}

/* Waits up to timeout_ms for output, arbord's exit or extra_fd, then reads and reaps. */
static void arbord_pump(Arbord *a, int timeout_ms, int extra_fd) {
        struct pollfd p[3];
        nfds_t n = 0;

        if (a && !a->eof)
                p[n++] = (struct pollfd) { .fd = a->err_fd, .events = POLLIN };
        if (a && !a->reaped)
                p[n++] = (struct pollfd) { .fd = a->child_pidfd, .events = POLLIN };
        if (extra_fd >= 0)
                p[n++] = (struct pollfd) { .fd = extra_fd, .events = POLLIN };
        if (timeout_ms > 0 && poll(p, n, timeout_ms) < 0 && errno != EINTR)
                fprintf(stderr, "harness: poll: %s\n", strerror(errno));
        if (extra_fd >= 0) {
                char buf[4096];
                while (read(extra_fd, buf, sizeof buf) > 0)
                        ; /* inotify: only the wake-up matters */
        }
        if (a) {
                arbord_read_output(a);
                arbord_check_exit(a);
        }
}

typedef enum WaitFlags {
        WAIT_STOP_WHEN_DONE = 1 << 0, /* give up when arbord can write nothing more */
        WAIT_BACKOFF = 1 << 1,        /* re-check at growing intervals, for conditions without events */
} WaitFlags;

/* The one waiting loop: every wait of the harness ends up here. a may be NULL. */
static bool wait_cond(Arbord *a, bool (*cond)(Arbord *a, void *userdata), void *userdata, int timeout_ms,
                      int extra_fd, WaitFlags flags) {
        int64_t deadline = now_ms() + harness_timeout(timeout_ms);
        int interval = 1;

        for (;;) {
                int64_t left;
                int t;

                arbord_pump(a, 0, extra_fd);
                if (cond(a, userdata))
                        return true;
                if ((flags & WAIT_STOP_WHEN_DONE) && a && arbord_done(a))
                        return false;
                left = deadline - now_ms();
                if (left <= 0)
                        return false;
                t = (int) MIN(left, (int64_t) INT_MAX);
                if (flags & WAIT_BACKOFF) {
                        t = MIN(t, interval);
                        interval = MIN(interval * 2, 50);
                }
                arbord_pump(a, t, extra_fd);
        }
}

static void set_nonblock(int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
                (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reads one report from the starting child; false at EOF. */
static bool read_report(int fd, StartReport *ret) {
        ssize_t n;

        do
                n = read(fd, ret, sizeof *ret);
        while (n < 0 && errno == EINTR);
        return n == (ssize_t) sizeof *ret;
}

static int rm_rf_cb(const char *path, _unused_ const struct stat *st, _unused_ int type, _unused_ struct FTW *ftw) {
        if (remove(path) < 0 && errno != ENOENT)
                fprintf(stderr, "harness: removing %s: %s\n", path, strerror(errno));
        return 0;
}

static void rm_rf(const char *dir) {
        (void) nftw(dir, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static Arbord *arbord_new(void) {
        Arbord *a = calloc(1, sizeof *a);
        if (!a)
                oom();
        a->pidfd = a->child_pidfd = a->err_fd = a->report_fd = a->pty_fd = -EBADF;
        a->verbose = getenv("ARBOR_TEST_VERBOSE") && streq(getenv("ARBOR_TEST_VERBOSE"), "1");
        return a;
}

static void arbord_release(Arbord *a) {
        live_remove(a);
        all_remove(a);
        if (a->child_pidfd != a->pidfd)
                safe_close(a->child_pidfd);
        safe_close(a->pidfd);
        safe_close(a->err_fd);
        safe_close(a->report_fd);
        safe_close(a->pty_fd);
        if (a->tmpdir) {
                rm_rf(a->tmpdir);
                free(a->tmpdir);
        }
        free(a->partial);
        for (size_t i = 0; i < a->n_events; i++)
                harness_event_done(&a->events[i]);
        free(a->events);
        for (size_t i = 0; i < a->n_log; i++) {
                free(a->log[i].line);
                free(a->log[i].strings);
        }
        free(a->log);
        free(a->last_error);
        free(a->control);
        free(a);
}

/* So that services arbord leaves behind when it dies come back to the test, to be swept. */
static void harness_become_subreaper(void) {
        static bool done;

        if (!done && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                fprintf(stderr, "harness: cannot become a child subreaper: %s\n", strerror(errno));
        done = true;
}

static void free_left_behind(void) {
        if (getpid() != all_list_owner)
                return; /* a child of the test that called exit(): not its arbords */
        while (all_list) {
                if (!all_list->reaped)
                        fprintf(stderr, "harness: stopping arbord (pid %d), left running by the test\n",
                                (int) all_list->pid);
                (void) arbord_free(all_list);
        }
}

Arbord *arbord_start_opts(const ArbordOptions *opts) {
        _cleanup_close_ int in = -EBADF, out = -EBADF, err_r = -EBADF, err_w = -EBADF, rep_r = -EBADF,
                            rep_w = -EBADF;
        _cleanup_strv_free_ char **argv = NULL, **envp = NULL;
        _cleanup_free_ char *ini_path = NULL, *out_path = NULL, *in_path = NULL;
        const char *binary = getenv("ARBOR_TEST_ARBORD");
        char tmpl[] = "/tmp/arbor-test.XXXXXX";
        StartContext ctx;
        StartReport rep;
        bool pidns = opts->flags & ARBORD_PIDNS, failed = false;
        size_t n = 0;
        Arbord *a;
        int fds[2];
        pid_t pid;

        if (!binary || !*binary)
                binary = HARNESS_ARBORD;
        harness_become_subreaper();

        a = arbord_new();
        if (!mkdtemp(tmpl)) {
                arbord_fail(NULL, "mkdtemp(%s): %s", tmpl, strerror(errno));
                arbord_release(a);
                return NULL;
        }
        a->tmpdir = xstrdup(tmpl);
        if (link_helpers(a->tmpdir) < 0) {
                arbord_fail(NULL, "symlink to %s in %s: %s", HARNESS_HELPERS, a->tmpdir, strerror(errno));
                arbord_release(a);
                return NULL;
        }

        strv_push(&argv, &n, xstrdup(binary));
        a->control = xasprintf("%s/arbor.sock", a->tmpdir);
        if (opts->ini) {
                _cleanup_free_ char *text = substitute(opts->ini, a->tmpdir);

                if (!(opts->flags & ARBORD_KEEP_CONTROL)) {
                        char *with = ini_add_control(text, a->control);
                        if (with) {
                                free(text);
                                text = with;
                        } else {
                                free(a->control);
                                a->control = NULL;
                        }
                }

                ini_path = xasprintf("%s/arbor.ini", a->tmpdir);
                if (write_file(ini_path, text) < 0) {
                        arbord_fail(NULL, "writing %s: %s", ini_path, strerror(errno));
                        arbord_release(a);
                        return NULL;
                }
                strv_push(&argv, &n, xstrdup("-c"));
                strv_push(&argv, &n, xstrdup(ini_path));
        }
        strv_push(&argv, &n, xstrdup("--log-format"));
        strv_push(&argv, &n, xstrdup("json"));
        for (const char *const *x = opts->args; x && *x; x++)
                strv_push(&argv, &n, substitute(*x, a->tmpdir));
        if (opts->command) {
                strv_push(&argv, &n, xstrdup("--"));
                for (const char *const *x = opts->command; *x; x++)
                        strv_push(&argv, &n, substitute(*x, a->tmpdir));
        }
        envp = build_env(opts->env, a->tmpdir);

        out_path = xasprintf("%s/stdout", a->tmpdir);
        out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
        if (opts->stdin_text) {
                in_path = xasprintf("%s/stdin", a->tmpdir);
                if (write_file(in_path, opts->stdin_text) < 0) {
                        arbord_fail(NULL, "writing %s: %s", in_path, strerror(errno));
                        arbord_release(a);
                        return NULL;
                }
        }
        in = open(in_path ?: "/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (out < 0 || in < 0 || pipe2(fds, O_CLOEXEC) < 0) {
                arbord_fail(NULL, "setting up arbord's stdio: %s", strerror(errno));
                arbord_release(a);
                return NULL;
        }
        err_r = fds[0];
        err_w = fds[1];
        /* Room for bursts (10^4 orphans, a restart storm) while the test is not reading. */
        if (fcntl(err_r, F_SETPIPE_SZ, opts->flags & ARBORD_SMALL_STDERR ? 1 : 1 << 20) < 0 &&
            opts->flags & ARBORD_SMALL_STDERR) {
                arbord_fail(NULL, "shrinking arbord's stderr pipe: %s", strerror(errno));
                arbord_release(a);
                return NULL;
        }
        if (pipe2(fds, O_CLOEXEC) < 0) {
                arbord_fail(NULL, "pipe2: %s", strerror(errno));
                arbord_release(a);
                return NULL;
        }
        rep_r = fds[0];
        rep_w = fds[1];

        ctx = (StartContext) {
                .binary = binary,
                .argv = argv,
                .envp = envp,
                .stdin_fd = in,
                .stdout_fd = out,
                .stderr_fd = err_w,
                .report_fd = rep_w,
                .parent = getpid(),
                .flags = opts->flags,
        };
        (void) snprintf(ctx.uid_map, sizeof ctx.uid_map, "0 %u 1\n", (unsigned) geteuid());
        (void) snprintf(ctx.gid_map, sizeof ctx.gid_map, "0 %u 1\n", (unsigned) getegid());
        if (opts->flags & ARBORD_PTY) {
                a->pty_fd = open_pty(ctx.pty_path, sizeof ctx.pty_path);
                if (a->pty_fd < 0) {
                        arbord_fail(NULL, "opening a pseudo-terminal: %s", strerror(-a->pty_fd));
                        arbord_release(a);
                        return NULL;
                }
        }
        if (fflush(NULL) == EOF)
                fprintf(stderr, "harness: fflush: %s\n", strerror(errno));

        pid = fork();
        if (pid < 0) {
                arbord_fail(NULL, "fork: %s", strerror(errno));
                arbord_release(a);
                return NULL;
        }
        if (pid == 0) {
                if (pidns)
                        keeper_run(&ctx);
                child_exec(&ctx);
        }
        a->child = a->pid = pid;
        rep_w = safe_close(rep_w);
        err_w = safe_close(err_w);
        a->err_fd = TAKE_FD(err_r);
        set_nonblock(a->err_fd);

        /*
         * Without a namespace, EOF on the report pipe means exec worked (it is
         * close-on-exec). With one, the keeper sends PID, then EXECED or FAILED.
         */
        for (;;) {
                if (!read_report(rep_r, &rep)) {
                        if (pidns) {
                                arbord_fail(NULL, "the pid-namespace keeper died while starting arbord");
                                failed = true;
                        }
                        break;
                }
                if (rep.kind == REPORT_PID)
                        a->pid = rep.value;
                else if (rep.kind == REPORT_FAILED) {
                        arbord_fail(NULL, "cannot run %s: %s: %s", binary, stage_to_string(rep.stage),
                                    strerror(rep.value));
                        failed = true;
                        break;
                } else if (rep.kind == REPORT_EXECED)
                        break;
        }
        if (failed) {
                /* It ends by itself; a keeper must be left to reap the failed arbord, or it would come back to us. */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                a->reaped = true;
                arbord_release(a);
                return NULL;
        }

        a->child_pidfd = pidfd_open_(a->child);
        if (a->child_pidfd < 0) {
                arbord_fail(NULL, "pidfd_open(%d): %s", (int) a->child, strerror(errno));
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                arbord_release(a);
                return NULL;
        }
        if (pidns) {
                /* arbord may already be gone (and reaped by the keeper): then it cannot be signalled. */
                a->pidfd = pidfd_open_(a->pid);
                a->report_fd = TAKE_FD(rep_r);
                set_nonblock(a->report_fd);
        } else
                a->pidfd = a->child_pidfd;

        a->next_live = live_list;
        live_list = a;
        if (all_list_owner != getpid()) {
                all_list_owner = getpid();
                if (atexit(free_left_behind) != 0)
                        fprintf(stderr, "harness: atexit failed: arbord may outlive a failed test\n");
        }
        a->next_all = all_list;
        all_list = a;
        return a;
}

Arbord *arbord_start(const char *ini_text, const char *const *extra_args) {
        return arbord_start_opts(&(ArbordOptions) { .ini = ini_text, .args = extra_args });
}

Arbord *arbord_start_argv(const char *const *argv) {
        return arbord_start_opts(&(ArbordOptions) { .command = argv });
}

pid_t arbord_pid(const Arbord *a) {
        return a->pid;
}

int arbord_pty(const Arbord *a) {
        return a->pty_fd;
}

const char *arbord_tmpdir(const Arbord *a) {
        return a->tmpdir;
}

char *arbord_tmpfile(const Arbord *a, const char *name) {
        char *s;
        return asprintf(&s, "%s/%s", a->tmpdir, name) < 0 ? NULL : s;
}

const char *arbord_control_socket(const Arbord *a) {
        return a->control;
}

const char *arbord_last_error(const Arbord *a) {
        return a && a->last_error ? a->last_error : "";
}

int arbord_signal(Arbord *a, int sig) {
        arbord_check_exit(a);
        if (a->reaped || a->pidfd < 0)
                return -ESRCH;
        if (pidfd_send_signal_(a->pidfd, sig) < 0)
                return -errno;
        return 0;
}

static bool cond_reaped(Arbord *a, _unused_ void *userdata) {
        return a->reaped;
}

bool arbord_wait_exit(Arbord *a, int timeout_ms, int *ret_status) {
        if (!wait_cond(a, cond_reaped, NULL, timeout_ms, -EBADF, 0)) {
                arbord_fail(a, "arbord (pid %d) did not exit within %d ms", (int) a->pid,
                            harness_timeout(timeout_ms));
                return false;
        }
        if (ret_status)
                *ret_status = a->status;
        return true;
}

/*
 * Every child of ours that is not a running arbord and lives in another
 * process group: what arbord left behind (services have sessions of their
 * own; the command of `arbord -- COMMAND` a process group in arbord's).
 */
static void sweep_orphans(void) {
        pid_t self = getpid(), pgrp = getpgrp();

        for (int round = 0; round < 1000; round++) {
                bool found = false;
                struct dirent *de;
                DIR *d;

                d = opendir("/proc");
                if (!d)
                        return;
                while ((de = readdir(d))) {
                        char path[64], buf[1024], *p;
                        int ppid, group, fd;
                        long pid;
                        ssize_t n;
                        char state;

                        pid = strtol(de->d_name, &p, 10);
                        if (*p || pid <= 0 || live_pid((pid_t) pid))
                                continue;
                        (void) snprintf(path, sizeof path, "/proc/%ld/stat", pid);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        n = read(fd, buf, sizeof buf - 1);
                        (void) close(fd);
                        if (n <= 0)
                                continue;
                        buf[n] = '\0';
                        p = strrchr(buf, ')');
                        if (!p || sscanf(p + 1, " %c %d %d", &state, &ppid, &group) != 3)
                                continue;
                        if (ppid != self || group == pgrp)
                                continue;
                        found = true;
                        if (state != 'Z')
                                (void) kill((pid_t) pid, SIGKILL); /* our unreaped child: the pid cannot be reused */
                        while (waitpid((pid_t) pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                }
                (void) closedir(d);
                if (!found)
                        return;
        }
}

Arbord *arbord_free(Arbord *a) {
        if (!a)
                return NULL;
        if (!a->reaped) {
                (void) arbord_signal(a, SIGTERM);
                if (!wait_cond(a, cond_reaped, NULL, -1, -EBADF, 0)) {
                        fprintf(stderr, "harness: arbord (pid %d) ignored SIGTERM, killing it\n", (int) a->pid);
                        /*
                         * A keeper is left alive to reap arbord and exit: killed first, it would hand
                         * arbord's zombie to us. Without a keeper, a->child is arbord and unreaped.
                         */
                        if (arbord_signal(a, SIGKILL) < 0 && a->child == a->pid)
                                (void) kill(a->child, SIGKILL);
                        while (waitpid(a->child, NULL, 0) < 0 && errno == EINTR)
                                ;
                        a->reaped = true;
                }
        }
        live_remove(a);
        sweep_orphans();
        arbord_release(a);
        return NULL;
}

void arbord_freep(Arbord **a) {
        *a = arbord_free(*a);
}

/* --- waiting for events --------------------------------------------------------------- */

typedef struct EventQuery {
        const char *event, *path, *pattern;
        size_t scanned, found;
} EventQuery;

static bool query_matches(const EventQuery *q, const HarnessEvent *ev) {
        if (q->pattern)
                return harness_event_matches(ev, q->pattern);
        return (!q->event || streq(q->event, "*") || streq(q->event, ev->event)) &&
               (!q->path || streq(q->path, "*") || streq(q->path, ev->path));
}

static bool cond_event(Arbord *a, void *userdata) {
        EventQuery *q = userdata;

        for (; q->scanned < a->n_events; q->scanned++)
                if (query_matches(q, &a->events[q->scanned])) {
                        q->found = q->scanned;
                        return true;
                }
        return false;
}

/* Appends the recent history to f: events from `from` on, the last log lines. */
static void describe_recent(Arbord *a, FILE *f, size_t from) {
        size_t first_log = a->n_log > 5 ? a->n_log - 5 : 0;

        if (from < a->n_events)
                fputs("\n  events read since:", f);
        else
                fputs("\n  no event read since", f);
        for (size_t i = from; i < a->n_events; i++) {
                _cleanup_free_ char *s = harness_event_format(&a->events[i]);
                fprintf(f, "\n    #%zu %s", i, s ? s : "?");
        }
        if (a->n_log > 0)
                fputs("\n  last log lines:", f);
        for (size_t i = first_log; i < a->n_log; i++)
                fprintf(f, "\n    %s", a->log[i].line);
        if (a->reaped)
                fprintf(f, "\n  arbord exited with status %d", a->status);
}

/* Why a wait ended without success, for arbord_fail(). */
static void fail_wait(Arbord *a, const char *what, int timeout_ms, size_t from) {
        _cleanup_free_ char *s = NULL;
        size_t size;
        FILE *f;

        f = open_memstream(&s, &size);
        if (!f)
                oom();
        if (arbord_done(a))
                fprintf(f, "arbord %s before %s", a->reaped ? "exited" : "closed its stderr", what);
        else
                fprintf(f, "timed out after %d ms waiting for %s", harness_timeout(timeout_ms), what);
        describe_recent(a, f, from);
        if (fclose(f) == EOF)
                oom();
        arbord_fail(a, "%s", s);
}

static bool wait_query(Arbord *a, EventQuery *q, const char *what, int timeout_ms, HarnessEvent *ret) {
        size_t from = a->cursor;

        q->scanned = a->cursor;
        if (!wait_cond(a, cond_event, q, timeout_ms, -EBADF, WAIT_STOP_WHEN_DONE)) {
                fail_wait(a, what, timeout_ms, from);
                return false;
        }
        a->cursor = q->found + 1;
        if (ret)
                *ret = a->events[q->found];
        return true;
}

bool arbord_wait_event(Arbord *a, const char *event, const char *path, int timeout_ms, HarnessEvent *ret) {
        _cleanup_free_ char *what = xasprintf("event '%s %s'", event ? event : "*", path ? path : "*");
        EventQuery q = { .event = event, .path = path };

        return wait_query(a, &q, what, timeout_ms, ret);
}

bool arbord_wait_match(Arbord *a, const char *pattern, int timeout_ms, HarnessEvent *ret) {
        _cleanup_free_ char *what = xasprintf("event '%s'", pattern);
        EventQuery q = { .pattern = pattern };

        return wait_query(a, &q, what, timeout_ms, ret);
}

const HarnessEvent *arbord_events(Arbord *a, size_t *ret_n) {
        arbord_pump(a, 0, -EBADF);
        *ret_n = a->n_events;
        return a->events;
}

size_t arbord_count_events(Arbord *a, const char *pattern) {
        size_t n = 0;

        arbord_pump(a, 0, -EBADF);
        for (size_t i = 0; i < a->n_events; i++)
                n += harness_event_matches(&a->events[i], pattern);
        return n;
}

typedef struct CountQuery {
        const char *pattern;
        size_t want, scanned, count;
} CountQuery;

static bool cond_count(Arbord *a, void *userdata) {
        CountQuery *q = userdata;

        for (; q->scanned < a->n_events; q->scanned++)
                q->count += harness_event_matches(&a->events[q->scanned], q->pattern);
        return q->count >= q->want;
}

bool arbord_wait_count(Arbord *a, const char *pattern, size_t n, int timeout_ms) {
        CountQuery q = { .pattern = pattern, .want = n };

        if (!wait_cond(a, cond_count, &q, timeout_ms, -EBADF, WAIT_STOP_WHEN_DONE)) {
                _cleanup_free_ char *what = xasprintf("%zu events '%s' (saw %zu)", n, pattern, q.count);
                fail_wait(a, what, timeout_ms, a->n_events > 10 ? a->n_events - 10 : 0);
                return false;
        }
        return true;
}

static bool cond_sequence(Arbord *a, void *userdata) {
        return a->n_events - a->cursor >= *(size_t *) userdata;
}

bool arbord_expect_sequence(Arbord *a, const char *const *seq, int timeout_ms) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0, width = strlen("expected"), from = a->cursor, have, size;
        bool ok = true;
        FILE *f;

        for (; seq[n]; n++)
                width = MAX(width, strlen(seq[n]));
        (void) wait_cond(a, cond_sequence, &n, timeout_ms, -EBADF, WAIT_STOP_WHEN_DONE);
        have = MIN(a->n_events - from, n);
        for (size_t i = 0; i < n && ok; i++)
                ok = i < have && harness_event_matches(&a->events[from + i], seq[i]);
        a->cursor = from + have;
        if (ok)
                return true;

        f = open_memstream(&s, &size);
        if (!f)
                oom();
        fprintf(f, "event sequence mismatch (from event #%zu; '!' marks a difference):\n", from);
        fprintf(f, "      #  %-*s  actual", (int) width, "expected");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *actual = NULL;
                bool match = i < have && harness_event_matches(&a->events[from + i], seq[i]);

                if (i < have)
                        actual = harness_event_format(&a->events[from + i]);
                else if (arbord_done(a))
                        actual = xasprintf("(none: arbord %s)", a->reaped ? "exited" : "closed stderr");
                else
                        actual = xasprintf("(none: timed out after %d ms)", harness_timeout(timeout_ms));
                fprintf(f, "\n  %c %3zu  %-*s  %s", match ? ' ' : '!', from + i, (int) width, seq[i],
                        actual ? actual : "?");
        }
        /* What came next, if anything, often explains the difference. */
        for (size_t i = from + n; i < a->n_events && i < from + n + 3; i++) {
                _cleanup_free_ char *actual = harness_event_format(&a->events[i]);
                fprintf(f, "\n    %3zu  %-*s  %s", i, (int) width, "(then)", actual ? actual : "?");
        }
        if (a->reaped)
                fprintf(f, "\n  arbord exited with status %d", a->status);
        if (fclose(f) == EOF)
                oom();
        arbord_fail(a, "%s", s);
        return false;
}

/* --- logs and files ---------------------------------------------------------------- */

typedef struct LogQuery {
        const char *needle;
        size_t scanned;
} LogQuery;

static bool cond_log(Arbord *a, void *userdata) {
        LogQuery *q = userdata;

        for (; q->scanned < a->n_log; q->scanned++)
                if (strstr(a->log[q->scanned].line, q->needle) ||
                    (a->log[q->scanned].strings && strstr(a->log[q->scanned].strings, q->needle)))
                        return true;
        return false;
}

bool arbord_log_contains(Arbord *a, const char *needle) {
        LogQuery q = { .needle = needle };

        arbord_pump(a, 0, -EBADF);
        return cond_log(a, &q);
}

bool arbord_wait_log(Arbord *a, const char *needle, int timeout_ms) {
        LogQuery q = { .needle = needle };

        if (!wait_cond(a, cond_log, &q, timeout_ms, -EBADF, WAIT_STOP_WHEN_DONE)) {
                _cleanup_free_ char *what = xasprintf("a log line containing '%s'", needle);
                fail_wait(a, what, timeout_ms, a->cursor);
                return false;
        }
        return true;
}

char *read_whole_file(const char *path, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        for (;;) {
                ssize_t k;

                grow(&buf, &cap, n + 4096, 1);
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        if (ret_size)
                *ret_size = n;
        return TAKE_PTR(buf);
}

char *arbord_stdout(Arbord *a) {
        _cleanup_free_ char *path = arbord_tmpfile(a, "stdout");
        return path ? read_whole_file(path, NULL) : NULL;
}

typedef struct FileQuery {
        const char *path, *needle; /* needle NULL: existence only */
} FileQuery;

static bool cond_file(_unused_ Arbord *a, void *userdata) {
        const FileQuery *q = userdata;
        _cleanup_free_ char *text = NULL;

        if (!q->needle)
                return access(q->path, F_OK) == 0;
        text = read_whole_file(q->path, NULL);
        return text && strstr(text, q->needle);
}

/* An inotify fd watching path's directory for anything that creates or changes a file. */
static int watch_dir_of(const char *path) {
        _cleanup_free_ char *dir = xstrdup(path);
        _cleanup_close_ int fd = -EBADF;
        char *slash = strrchr(dir, '/');

        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                slash[1] = '\0';
        else
                *slash = '\0';
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
                int r = -errno;
                fprintf(stderr, "harness: watching %s: %s\n", dir, strerror(-r));
                return r;
        }
        return TAKE_FD(fd);
}

static bool wait_file(Arbord *a, const char *path, const char *needle, int timeout_ms) {
        FileQuery q = { .path = path, .needle = needle };
        _cleanup_close_ int fd = watch_dir_of(path);
        bool ok;

        if (fd < 0)
                return cond_file(a, &q);
        /* Set up before the first look: nothing can happen unseen in between. */
        ok = wait_cond(a, cond_file, &q, timeout_ms, fd, a ? WAIT_STOP_WHEN_DONE : 0);
        if (!ok && a && arbord_done(a))
                ok = cond_file(a, &q); /* a last look: a service may have written as arbord ended */
        return ok;
}

bool wait_for_file(const char *path, int timeout_ms) {
        if (wait_file(NULL, path, NULL, timeout_ms))
                return true;
        fprintf(stderr, "harness: %s did not appear within %d ms\n", path, harness_timeout(timeout_ms));
        return false;
}

bool wait_for_file_contains(const char *path, const char *needle, int timeout_ms) {
        if (wait_file(NULL, path, needle, timeout_ms))
                return true;
        fprintf(stderr, "harness: %s did not contain '%s' within %d ms\n", path, needle, harness_timeout(timeout_ms));
        return false;
}

bool arbord_wait_stdout(Arbord *a, const char *needle, int timeout_ms) {
        _cleanup_free_ char *path = arbord_tmpfile(a, "stdout"), *what = NULL;

        if (!path)
                oom();
        if (wait_file(a, path, needle, timeout_ms))
                return true;
        what = xasprintf("'%s' on stdout (%s)", needle, path);
        fail_wait(a, what, timeout_ms, a->cursor);
        return false;
}

typedef struct UserCond {
        bool (*cond)(void *userdata);
        void *userdata;
} UserCond;

static bool cond_user(_unused_ Arbord *a, void *userdata) {
        const UserCond *u = userdata;
        return u->cond(u->userdata);
}

bool arbord_wait_until(Arbord *a, bool (*cond)(void *userdata), void *userdata, int timeout_ms) {
        UserCond u = { cond, userdata };

        if (wait_cond(a, cond_user, &u, timeout_ms, -EBADF, WAIT_BACKOFF))
                return true;
        arbord_fail(a, "timed out after %d ms waiting for a condition", harness_timeout(timeout_ms));
        return false;
}

bool harness_retry(bool (*cond)(void *userdata), void *userdata, int timeout_ms) {
        UserCond u = { cond, userdata };

        return wait_cond(NULL, cond_user, &u, timeout_ms, -EBADF, WAIT_BACKOFF);
}

/* --- /proc ------------------------------------------------------------------------------ */

/* Counts processes with that parent (0: any), only zombies if zombies_only. */
static int count_processes(pid_t parent, bool zombies_only) {
        struct dirent *de;
        int n = 0;
        DIR *d;

        d = opendir("/proc");
        if (!d)
                return -errno;
        for (;;) {
                char path[64], buf[1024], *p;
                _cleanup_close_ int fd = -EBADF;
                long pid;
                ssize_t k;
                char state;
                int ppid;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        int r = -errno;
                        (void) closedir(d);
                        return r < 0 ? r : n;
                }
                pid = strtol(de->d_name, &p, 10);
                if (*p || pid <= 0)
                        continue;
                (void) snprintf(path, sizeof path, "/proc/%ld/stat", pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue; /* gone meanwhile */
                k = read(fd, buf, sizeof buf - 1);
                if (k <= 0)
                        continue;
                buf[k] = '\0';
                /* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
                p = strrchr(buf, ')');
                if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
                        continue;
                if ((parent == 0 || ppid == parent) && (!zombies_only || state == 'Z'))
                        n++;
        }
}

int count_zombies(pid_t parent) {
        return count_processes(parent, true);
}

int count_children(pid_t parent) {
        return count_processes(parent, false);
}

bool harness_flags_supported(unsigned flags) {
        StartContext ctx = { .flags = flags, .parent = getpid() };
        int p[2], status;
        StartReport rep;
        bool ok = false;
        pid_t pid;

        if (!(flags & ARBORD_PIDNS))
                return !(flags & ARBORD_USERNS);
        if (pipe2(p, O_CLOEXEC) < 0)
                return false;
        (void) snprintf(ctx.uid_map, sizeof ctx.uid_map, "0 %u 1\n", (unsigned) geteuid());
        (void) snprintf(ctx.gid_map, sizeof ctx.gid_map, "0 %u 1\n", (unsigned) getegid());
        ctx.report_fd = p[1];
        ctx.binary = "/bin/true";
        ctx.argv = (char *[]) { (char *) "true", NULL };
        ctx.envp = (char *[]) { NULL };
        ctx.stdin_fd = ctx.stdout_fd = ctx.stderr_fd = STDERR_FILENO;
        if (fflush(NULL) == EOF)
                fprintf(stderr, "harness: fflush: %s\n", strerror(errno));
        pid = fork();
        if (pid == 0)
                keeper_run(&ctx);
        (void) close(p[1]);
        if (pid > 0) {
                while (read_report(p[0], &rep))
                        if (rep.kind == REPORT_STATUS)
                                ok = WIFEXITED(rep.value) && WEXITSTATUS(rep.value) == 0;
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
        }
        (void) close(p[0]);
        return ok;
}

/* --- self-tests of the parser, the matcher and the sequence diff ------------------------ */

#ifndef HARNESS_NO_SELFTEST

/* An Arbord with no process, fed with text as if arbord had written it. */
static Arbord *arbord_offline(const char *text) {
        Arbord *a = arbord_new();
        size_t len = strlen(text);

        a->reaped = a->eof = true;
        grow(&a->partial, &a->partial_cap, len + 1, 1);
        memcpy(a->partial, text, len);
        a->partial_len = len;
        arbord_split_lines(a, true);
        return a;
}

Test(harness, parse_event) {
        HarnessEvent ev;

        cr_assert_eq(harness_event_parse("{\"ts\": 12, \"event\": \"exit\", \"path\": \"root/web/api\", \"pid\": 42, "
                                         "\"code\": null, \"signal\": \"SIGKILL\", \"normal\": false}",
                                         &ev),
                     0);
        cr_assert_eq(ev.ts, 12);
        cr_assert_str_eq(ev.event, "exit");
        cr_assert_str_eq(ev.path, "root/web/api");
        cr_assert_eq(ev.pid, 42);
        cr_assert_eq(ev.code, -1);
        cr_assert_str_eq(ev.signal, "SIGKILL");
        cr_assert_eq(ev.normal, 0);
        cr_assert_null(ev.error);
        cr_assert_eq(ev.n_fields, 7);
        cr_assert_eq(harness_event_field(&ev, "code")->type, HARNESS_VALUE_NULL);
        harness_event_done(&ev);

        cr_assert_eq(harness_event_parse("  {\"event\":\"start\",\"path\":\"root\",\"code\":3,\"normal\":true,"
                                         "\"extra\":-1.5e3}\r",
                                         &ev),
                     0);
        cr_assert_eq(ev.code, 3);
        cr_assert_eq(ev.normal, 1);
        cr_assert_eq(ev.pid, 0);
        cr_assert_eq(ev.ts, -1);
        cr_assert_eq(harness_event_field(&ev, "extra")->number, -1500);
        cr_assert_str_eq(harness_event_field(&ev, "extra")->text, "-1.5e3");
        harness_event_done(&ev);
}

Test(harness, parse_strings) {
        HarnessEvent ev;

        cr_assert_eq(harness_event_parse("{\"event\": \"exit\", \"error\": \"a \\\"b\\\" \\\\ \\/ \\n\\t\\u00e9\\u20ac"
                                         "\\ud83d\\ude00\"}",
                                         &ev),
                     0);
        cr_assert_str_eq(ev.error, "a \"b\" \\ / \n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        cr_assert_str_eq(ev.path, "");
        harness_event_done(&ev);
}

Test(harness, parse_rejects) {
        static const char *const bad[] = {
                "",
                "not json",
                "[1]",
                "{",
                "{\"event\": \"exit\"",
                "{\"event\": \"exit\"} trailing",
                "{\"event\" \"exit\"}",
                "{\"event\": \"exit\",}",
                "{\"event\": \"exit\" \"path\": \"x\"}",
                "{\"event\": \"ex\tit\"}",
                "{\"event\": \"exit\\x\"}",
                "{\"event\": \"\\ud83d\"}",
                "{\"event\": \"\\ude00\"}",
                "{\"event\": \"\\u0000\"}",
                "{\"event\": \"\\u12\"}",
                "{\"event\": {\"nested\": 1}}",
                "{\"event\": \"exit\", \"a\": [1]}",
                "{\"event\": \"exit\", \"a\": 01}",
                "{\"event\": \"exit\", \"a\": -}",
                "{\"event\": \"exit\", \"a\": 1.}",
                "{\"event\": \"exit\", \"a\": tru}",
                "{\"event\": \"exit\", \"a\": 99999999999999999999}",
                "{event: \"exit\"}",
        };
        HarnessEvent ev;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = harness_event_parse(bad[i], &ev);
                cr_expect(r == -EINVAL || r == -ERANGE, "accepted or wrong error %d: %s", r, bad[i]);
        }
        cr_assert_eq(harness_event_parse("{}", &ev), -ENOMSG);
        cr_assert_eq(harness_event_parse("{\"level\": \"info\", \"message\": \"x\"}", &ev), -ENOMSG);
        cr_assert_eq(harness_event_parse("{\"event\": 3}", &ev), -ENOMSG);
}

Test(harness, match_and_format) {
        HarnessEvent ev;
        _cleanup_free_ char *s = NULL;

        cr_assert_eq(harness_event_parse("{\"ts\": 5, \"event\": \"exit\", \"path\": \"root/a\", \"pid\": 7, "
                                         "\"code\": 1, \"signal\": null, \"normal\": false, \"error\": \"No such file\"}",
                                         &ev),
                     0);
        cr_assert(harness_event_matches(&ev, ""));
        cr_assert(harness_event_matches(&ev, "exit"));
        cr_assert(harness_event_matches(&ev, "exit root/a"));
        cr_assert(harness_event_matches(&ev, "* root/a"));
        cr_assert(harness_event_matches(&ev, "exit *"));
        cr_assert(harness_event_matches(&ev, "  exit   root/a  code=1 normal=false signal=null"));
        cr_assert(harness_event_matches(&ev, "exit root/a absent=null error~such"));
        cr_assert(harness_event_matches(&ev, "exit root/*"));
        cr_assert(harness_event_matches(&ev, "* root*"));
        cr_assert_not(harness_event_matches(&ev, "exit root/b*"));
        cr_assert_not(harness_event_matches(&ev, "exit root"));
        cr_assert_not(harness_event_matches(&ev, "exit root/ab"));
        cr_assert_not(harness_event_matches(&ev, "stop root/a"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a code=0"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a code=10"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a absent=1"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a absent~1"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a error~nope"));
        cr_assert_not(harness_event_matches(&ev, "exit root/a bogus"));
        s = harness_event_format(&ev);
        cr_assert_str_eq(s, "exit root/a pid=7 code=1 signal=null normal=false error=No such file");
        harness_event_done(&ev);
}

/* A stream of events and log lines, read in order; the cursor and its consumers. */
Test(harness, event_stream) {
        static const char text[] =
                "{\"ts\": 1, \"event\": \"start\", \"path\": \"root/a\", \"pid\": 10}\n"
                "arbord: a log line\n"
                "{\"ts\": 2, \"event\": \"exit\", \"path\": \"root/a\", \"pid\": 10, \"code\": null, \"signal\": \"SIGTERM\", "
                "\"normal\": true}\n"
                "{\"level\": \"error\", \"message\": \"spawn \\\"b\\\": No such file or directory\"}\n"
                "{\"ts\": 3, \"event\": \"restart\", \"path\": \"root/a\"}\n"
                "{\"ts\": 4, \"event\": \"start\", \"path\": \"root/a\", \"pid\": 11}\n"
                "{\"ts\": 5, \"event\": \"shutdown\", \"path\": \"root\", \"code\": 0, \"signal\": null}";
        Arbord *a = arbord_offline(text);
        HarnessEvent ev;
        size_t n;

        arbord_events(a, &n);
        cr_assert_eq(n, 5);
        cr_assert_eq(a->n_log, 2);
        cr_assert(arbord_log_contains(a, "No such file"));
        cr_assert(arbord_log_contains(a, "spawn \"b\": No such"), "a JSON log line is also searched unescaped");
        cr_assert(arbord_log_contains(a, "a log line"));
        cr_assert_not(arbord_log_contains(a, "restart"));
        cr_assert_eq(arbord_count_events(a, "start root/a"), 2);
        cr_assert(arbord_wait_event(a, "exit", "root/a", 0, &ev));
        cr_assert_eq(ev.index, 1);
        cr_assert_str_eq(ev.signal, "SIGTERM");
        cr_assert(arbord_expect_sequence(a, (const char *const[]) { "restart root/a", "start root/a pid=11", NULL }, 0));
        cr_assert_not(arbord_wait_event(a, "start", NULL, 0, NULL));
        cr_assert(arbord_wait_match(a, "shutdown root code=0", 0, NULL));
        cr_assert_not(arbord_wait_event(a, NULL, NULL, 0, NULL));
        arbord_release(a);
}

/* The contract with supervisord/event.c: what event_write_json() writes, the harness reads. */
Test(harness, parses_event_write_json) {
        static const Event evs[] = {
                { .kind = EVENT_EXIT, .ts = 12 * USEC_PER_MSEC, .path = "root/web/api", .pid = 42, .code = -1,
                  .signal = SIGKILL, .normal = 0 },
                { .kind = EVENT_EXIT, .ts = 13 * USEC_PER_MSEC, .path = "root/b", .code = -1, .normal = 0,
                  .error = "exec \"/no/such\": No such file or directory\n\ttab \x01" },
                { .kind = EVENT_SHUTDOWN, .path = "root", .code = 4, .normal = -1 },
                { .kind = EVENT_START, .path = "root/a", .pid = 7, .code = -1, .normal = -1 },
                { .kind = EVENT_READY, .path = "root/a", .code = -1, .normal = -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(evs); i++) {
                const Event *e = &evs[i];
                _cleanup_free_ char *line = NULL;
                HarnessEvent ev;
                size_t size;
                FILE *f = open_memstream(&line, &size);

                cr_assert_not_null(f);
                event_write_json(e, f);
                cr_assert_eq(fclose(f), 0);
                cr_assert_eq(harness_event_parse(line, &ev), 0, "%s", line);
                cr_expect_str_eq(ev.event, event_kind_to_string(e->kind));
                cr_expect_str_eq(ev.path, e->path);
                cr_expect_eq(ev.ts, (long long) (e->ts / USEC_PER_MSEC));
                cr_expect_eq(ev.pid, e->pid);
                cr_expect_eq(ev.code, e->code, "%s", line);
                if (e->signal > 0)
                        cr_expect_str_eq(ev.signal, signal_to_string(e->signal));
                else
                        cr_expect_null(ev.signal);
                cr_expect_eq(ev.normal, e->normal, "%s", line);
                if (e->error)
                        cr_expect_str_eq(ev.error, e->error);
                else
                        cr_expect_null(ev.error);
                harness_event_done(&ev);
        }
}

Test(harness, ini_add_control) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "\n[arbor]\ncontrol = /s\n" },
                { "[service:a]\ncommand = x", "[service:a]\ncommand = x\n\n[arbor]\ncontrol = /s\n" },
                { "[arbor]\n[service:a]\n", "[arbor]\ncontrol = /s\n[service:a]\n" },
                { "; c\n  [arbor]  \nlog = x\n", "; c\n  [arbor]  \ncontrol = /s\nlog = x\n" },
                { "[arbor]", "[arbor]\ncontrol = /s\n" },
                { "[arbor]\ncontrol_x = 1\n", "[arbor]\ncontrol = /s\ncontrol_x = 1\n" },
                { "[service:a]\ncontrol = 1\n", "[service:a]\ncontrol = 1\n\n[arbor]\ncontrol = /s\n" },
                { "[arbor]\n  control=/mine\n", NULL },
                { "[arbor]\ncontrol : /mine\n", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *out = ini_add_control(cases[i].in, "/s");
                if (cases[i].out)
                        cr_expect_str_eq(out, cases[i].out, "case %zu", i);
                else
                        cr_expect_null(out, "case %zu", i);
        }
}

Test(harness, sequence_mismatch) {
        static const char text[] = "{\"event\": \"exit\", \"path\": \"root/a\", \"code\": 1}\n"
                                   "{\"event\": \"restart\", \"path\": \"root/b\"}\n";
        Arbord *a = arbord_offline(text);

        cr_assert_not(arbord_expect_sequence(
                a, (const char *const[]) { "exit root/a code=1", "restart root/a", "start root/a", NULL }, 0));
        cr_assert(strstr(arbord_last_error(a), "!   1  restart root/a"), "%s", arbord_last_error(a));
        cr_assert(strstr(arbord_last_error(a), "restart root/b"));
        cr_assert(strstr(arbord_last_error(a), "(none: arbord exited)"));
        cr_assert_eq(a->cursor, 2);
        arbord_release(a);
}

#endif
