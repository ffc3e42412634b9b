/* SPDX-License-Identifier: MIT */
/*
 * INI files -> ConfigDraft -> Config, in three stages with one job each:
 *
 *  1. Reading (I/O). on_read_line() hands inih exactly one physical line per
 *     call, so inih's line count is ours. It numbers the lines and catches what
 *     Debian's inih would otherwise mangle without a word: lines over 199 bytes,
 *     NUL bytes, section names over 49 bytes, text after ']'. To do that it
 *     classifies each line the way inih's ini_parse_stream() will (comment,
 *     continuation, section, key), and the inih handler only records
 *     (section, key, value, line) into the draft.
 *  2. Includes (I/O). The globs of the main file's `[arbor] include` are read in
 *     byte order and their sections spliced in right after that [arbor]
 *     section, as if they had been written there.
 *  3. Validation (pure: no I/O, no clock, no globals). The draft becomes a
 *     Config, or a list of every error found, each with file, line, section and
 *     key, and what would have been valid.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "macro.h"
#include "signal-util.h"
#include "time-util.h"

/* OTP's defaults (supervisor(3)), and ours where OTP has no such setting. */
#define DEFAULT_INTENSITY 1U
#define DEFAULT_PERIOD (5 * USEC_PER_SEC)
#define DEFAULT_SERVICE_SHUTDOWN (5 * USEC_PER_SEC)
#define DEFAULT_READY_TIMEOUT (30 * USEC_PER_SEC)

#define ROOT_NAME "root"
#define SECTION_ARBOR "arbor"
#define SECTION_SUPERVISOR "supervisor"
#define SECTION_SERVICE "service"

/* inih cuts section names to MAX_SECTION - 1 bytes (ini.c; the header does not export it). */
#define INIH_MAX_SECTION 50

#define UTF8_BOM "\xEF\xBB\xBF"

/* Node names: safe in paths ("root/web/api"), in logs and on a command line. */
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
/* Words config_print_tree() can print without quotes. */
#define PLAIN_WORD_CHARS NAME_CHARS "/:=,+@%^"

/* "Did you mean": only close typos, and only against short known words. */
#define SUGGEST_MAX_DISTANCE 2U
#define SUGGEST_MAX_LEN 64U

#define NO_PARENT SIZE_MAX

#define DURATION_EXAMPLES "a duration such as 500ms, 5s, 2m, 1h or 1m30s"

/* Appends a zeroed element to a heap array of n elements; evaluates to it, or to NULL on OOM. */
#define APPEND(array, n)                                                                \
        ({                                                                              \
                __typeof__(array) _a_ = reallocarray((array), (n) + 1, sizeof(*(array))); \
                __typeof__(array) _e_ = NULL;                                           \
                if (_a_) {                                                              \
                        (array) = _a_;                                                  \
                        _e_ = &_a_[(n)++];                                              \
                        memset(_e_, 0, sizeof(*_e_));                                   \
                }                                                                       \
                _e_;                                                                    \
        })

/* Fills names[] with every value of an enum's to_string() table. */
#define ENUM_NAMES(names, to_string, max)                                               \
        do {                                                                            \
                for (int _i_ = 0; _i_ < (max); _i_++)                                   \
                        (names)[_i_] = to_string(_i_);                                  \
        } while (0)

static void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

/* ------------------------------------------------------------------------------------------ */
/* Errors */

static int errors_addv(ConfigErrors *errors, const char *file, unsigned line, const char *fmt, va_list ap)
        _printf_(4, 0);
static int errors_addv(ConfigErrors *errors, const char *file, unsigned line, const char *fmt, va_list ap) {
        _cleanup_free_ char *message = NULL, *f = NULL;
        ConfigError *e;
        char *m;

        if (vasprintf(&m, fmt, ap) < 0)
                return -ENOMEM;
        message = m;
        if (file) {
                f = strdup(file);
                if (!f)
                        return -ENOMEM;
        }
        e = APPEND(errors->items, errors->n);
        if (!e)
                return -ENOMEM;
        *e = (ConfigError) { .file = TAKE_PTR(f), .line = line, .message = TAKE_PTR(message) };
        return 0;
}

static int errors_add(ConfigErrors *errors, const char *file, unsigned line, const char *fmt, ...)
        _printf_(4, 5);
static int errors_add(ConfigErrors *errors, const char *file, unsigned line, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = errors_addv(errors, file, line, fmt, ap);
        va_end(ap);
        return r;
}

/* Position of an error's file among the files read (main first); errors without a file come first. */
static size_t error_file_rank(const ConfigError *e, char *const *files, size_t n_files) {
        if (!e->file)
                return 0;
        for (size_t i = 0; i < n_files; i++)
                if (streq(files[i], e->file))
                        return i + 1;
        return n_files + 1;
}

static bool error_before(const ConfigError *a, const ConfigError *b, char *const *files, size_t n_files) {
        size_t ra = error_file_rank(a, files, n_files), rb = error_file_rank(b, files, n_files);

        return ra < rb || (ra == rb && a->line < b->line);
}

/*
 * Orders errors[first..] by file (in reading order) and line, so they read like one pass down
 * each file. Insertion sort: stable (errors on one line keep the order they were found in), and
 * error lists are short.
 */
static void errors_sort(ConfigErrors *errors, size_t first, char *const *files, size_t n_files) {
        for (size_t i = first + 1; i < errors->n; i++) {
                ConfigError e = errors->items[i];
                size_t j = i;

                while (j > first && error_before(&e, &errors->items[j - 1], files, n_files)) {
                        errors->items[j] = errors->items[j - 1];
                        j--;
                }
                errors->items[j] = e;
        }
}

void config_errors_print(const ConfigErrors *errors, FILE *f) {
        for (size_t i = 0; i < errors->n; i++) {
                const ConfigError *e = &errors->items[i];

                if (e->file && e->line > 0)
                        fprintf(f, "%s:%u: %s\n", e->file, e->line, e->message);
                else if (e->file)
                        fprintf(f, "%s: %s\n", e->file, e->message);
                else
                        fprintf(f, "%s\n", e->message);
        }
}

void config_errors_done(ConfigErrors *errors) {
        for (size_t i = 0; i < errors->n; i++) {
                free(errors->items[i].file);
                free(errors->items[i].message);
        }
        free(errors->items);
        *errors = (ConfigErrors) {};
}

/* ------------------------------------------------------------------------------------------ */
/* The draft: what the files say, before anything is checked */

typedef struct DraftEntry {
        char *key;
        char *value;         /* continuation lines joined with one space */
        unsigned line;       /* of the "key = value" line */
        bool cut_by_comment; /* a line of it had " ;": the rest of that line was a comment */
        bool damaged;        /* a line of it was too long to read: its value is incomplete */
} DraftEntry;

typedef struct DraftSection {
        char *name; /* between the brackets: "service:api" */
        size_t file; /* index in ConfigDraft.files */
        unsigned line;
        DraftEntry *entries;
        size_t n_entries;
        bool damaged; /* held a line too long to read: a "missing key" would be no news */
} DraftSection;

typedef struct ConfigDraft {
        char **files; /* every file read, main first */
        size_t n_files;
        DraftSection *sections; /* in declaration order, includes spliced in */
        size_t n_sections;
} ConfigDraft;

static void draft_section_done(DraftSection *s) {
        for (size_t i = 0; i < s->n_entries; i++) {
                free(s->entries[i].key);
                free(s->entries[i].value);
        }
        free(s->entries);
        free(s->name);
}

static void draft_done(ConfigDraft *d) {
        for (size_t i = 0; i < d->n_sections; i++)
                draft_section_done(&d->sections[i]);
        free(d->sections);
        for (size_t i = 0; i < d->n_files; i++)
                free(d->files[i]);
        free(d->files);
        *d = (ConfigDraft) {};
}

static int draft_add_file(ConfigDraft *d, const char *path, size_t *ret) {
        _cleanup_free_ char *copy = strdup(path);
        char **slot;

        if (!copy)
                return -ENOMEM;
        slot = APPEND(d->files, d->n_files);
        if (!slot)
                return -ENOMEM;
        *slot = TAKE_PTR(copy);
        *ret = d->n_files - 1;
        return 0;
}

/* Moves sections [from, n_sections) to position at, keeping the order inside both runs. */
static int draft_move_sections(ConfigDraft *d, size_t at, size_t from) {
        size_t moved = d->n_sections - from;
        _cleanup_free_ DraftSection *tmp = NULL;

        if (moved == 0 || at == from)
                return 0;
        tmp = reallocarray(NULL, moved, sizeof(DraftSection));
        if (!tmp)
                return -ENOMEM;
        memcpy(tmp, d->sections + from, moved * sizeof(DraftSection));
        memmove(d->sections + at + moved, d->sections + at, (from - at) * sizeof(DraftSection));
        memcpy(d->sections + at, tmp, moved * sizeof(DraftSection));
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading: our line reader and the inih handler */

typedef enum LineKind {
        LINE_BLANK,        /* empty, a comment, or a line we hid from inih */
        LINE_SECTION,      /* "[name]" */
        LINE_KEY,          /* "key = value" */
        LINE_CONTINUATION, /* indented: inih hands it over as more of the previous key */
        LINE_BAD,          /* inih will reject it; we have said why */
        LINE_HIDDEN_KEY,   /* a key line we could not give inih: it gets HIDDEN_KEY_LINE */
} LineKind;

typedef struct LineSource {
        FILE *f;          /* either a file */
        const char *text; /* or a string */
} LineSource;

typedef struct Reader {
        LineSource src;
        ConfigDraft *draft;
        ConfigErrors *errors;
        size_t file;        /* index in draft->files */
        unsigned line;      /* the physical line inih is parsing now */
        LineKind kind;      /* what that line is */
        bool line_has_comment;
        bool have_section;
        size_t section;     /* index in draft->sections, when have_section */
        bool skipping;      /* in a section we could not read: drop its keys */
        bool drop_continuations; /* continuations of a line we hid or rejected: drop them */
        bool prev_name;     /* mirrors inih's prev_name: when set, an indented line continues it */
        unsigned first_syntax_error; /* the line number inih should return */
        int r;              /* a hard failure (-ENOMEM): stop */
} Reader;

static int source_getc(LineSource *s) {
        if (s->f)
                return getc(s->f);
        if (!*s->text)
                return EOF;
        return (unsigned char) *s->text++;
}

static const char *skip_space(const char *s) {
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* Length of s without trailing whitespace, as an int for "%.*s". */
static int trimmed_len(const char *s) {
        size_t n = strlen(s);

        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        return (int) MIN(n, (size_t) INT_MAX);
}

/*
 * inih's ini_find_chars_or_comment(): the first of chars, or the first ';' that follows
 * whitespace (an inline comment), or the end. Used to predict what inih will make of a line.
 */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;

        for (; *s; s++) {
                if (chars && strchr(chars, *s))
                        break;
                if (was_space && strchr(INI_INLINE_COMMENT_PREFIXES, *s))
                        break;
                was_space = isspace((unsigned char) *s);
        }
        return s;
}

static void reader_errorv(Reader *rd, const char *fmt, va_list ap) _printf_(2, 0);
static void reader_errorv(Reader *rd, const char *fmt, va_list ap) {
        int r = errors_addv(rd->errors, rd->draft->files[rd->file], rd->line, fmt, ap);

        if (r < 0 && rd->r >= 0)
                rd->r = r;
}

static void reader_error(Reader *rd, const char *fmt, ...) _printf_(2, 3);
static void reader_error(Reader *rd, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reader_errorv(rd, fmt, ap);
        va_end(ap);
}

/* An error on a line inih itself will reject: it returns the first such line, we check that. */
static LineKind syntax_error(Reader *rd, const char *fmt, ...) _printf_(2, 3);
static LineKind syntax_error(Reader *rd, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        reader_errorv(rd, fmt, ap);
        va_end(ap);
        if (rd->first_syntax_error == 0)
                rd->first_syntax_error = rd->line;
        return LINE_BAD;
}

static DraftSection *reader_section(Reader *rd) {
        return rd->have_section ? &rd->draft->sections[rd->section] : NULL;
}

static void reader_add_section(Reader *rd, const char *name, size_t len) {
        _cleanup_free_ char *copy = strndup(name, len);
        DraftSection *s;

        if (!copy) {
                rd->r = -ENOMEM;
                return;
        }
        s = APPEND(rd->draft->sections, rd->draft->n_sections);
        if (!s) {
                rd->r = -ENOMEM;
                return;
        }
        *s = (DraftSection) { .name = TAKE_PTR(copy), .file = rd->file, .line = rd->line };
        rd->have_section = true;
        rd->section = rd->draft->n_sections - 1;
        rd->skipping = false;
}

static LineKind classify_section_line(Reader *rd, const char *start) {
        const char *name = start + 1, *end = find_chars_or_comment(name, "]"), *rest;
        size_t len = (size_t) (end - name);

        if (*end != ']') {
                /* inih keeps the previous section: what follows would land in it */
                rd->skipping = true;
                return syntax_error(rd, "'%.*s' has no closing ']'%s", trimmed_len(start), start,
                                    strchr(end, ']') ? " before ' ;', which starts a comment" : "");
        }

        /* inih accepts this header: its prev_name is gone, nothing can continue across it */
        rd->prev_name = false;
        rd->drop_continuations = false;

        if (len >= INIH_MAX_SECTION) {
                rd->skipping = true;
                reader_error(rd, "section name '%.*s' is longer than %d bytes, which inih cuts short",
                             (int) len, name, INIH_MAX_SECTION - 1);
                return LINE_SECTION;
        }
        reader_add_section(rd, name, len);

        rest = skip_space(end + 1);
        if (*rest && !strchr(INI_START_COMMENT_PREFIXES, *rest))
                reader_error(rd, "[%.*s] unexpected text after ']': '%.*s' (inih ignores it)",
                             (int) len, name, trimmed_len(rest), rest);
        return LINE_SECTION;
}

static LineKind classify_key_line(Reader *rd, const char *start) {
        const char *end = find_chars_or_comment(start, "=:");
        DraftSection *s = reader_section(rd);

        if (*end == '=' || *end == ':')
                return LINE_KEY;
        /* it may have been the key a "missing" error would then blame */
        if (s && !rd->skipping)
                s->damaged = true;
        return syntax_error(rd, "'%.*s' is not 'key = value', a [section] header or a comment",
                            trimmed_len(start), start);
}

/* Tells, in inih's order of checks, what inih is going to make of this line. */
static void classify_line(Reader *rd, const char *buf) {
        const char *start = buf;

        if (rd->line == 1 && strncmp(start, UTF8_BOM, strlen(UTF8_BOM)) == 0)
                start += strlen(UTF8_BOM);
        start = skip_space(start);
        rd->line_has_comment = *find_chars_or_comment(start, NULL) != '\0';

        if (!*start || strchr(INI_START_COMMENT_PREFIXES, *start))
                rd->kind = LINE_BLANK;
        else if (rd->prev_name && start > buf)
                rd->kind = LINE_CONTINUATION;
        else if (*start == '[')
                rd->kind = classify_section_line(rd, start);
        else
                rd->kind = classify_key_line(rd, start);
}

/*
 * What inih gets instead of a line it would mangle: one line still, so that its line count stays
 * ours. For a key line, a key of our own, so that inih treats the indented lines after it as its
 * continuation (which we then drop) rather than as more of the key before it, or as keys.
 */
#define HIDDEN_KEY_LINE "hidden=\n"

/* Replaces a line inih cannot be given, and keeps what follows from landing on the wrong key or section. */
static char *hide_line(Reader *rd, char *buf, const char *why, const char *hint) {
        const char *start = skip_space(buf);
        bool continuation = rd->prev_name && start > buf;
        DraftSection *s = reader_section(rd);

        rd->kind = LINE_BLANK;
        if (*start && strchr(INI_START_COMMENT_PREFIXES, *start))
                ; /* a comment harms nobody once inih does not see its pieces */
        else if (!continuation && *start == '[') {
                /* a section header we cannot read: its keys have nowhere to go */
                rd->skipping = true;
                reader_error(rd, "%s", why);
        } else {
                if (s && !rd->skipping) {
                        s->damaged = true;
                        if (continuation && s->n_entries > 0)
                                s->entries[s->n_entries - 1].damaged = true;
                }
                if (!continuation)
                        rd->kind = LINE_HIDDEN_KEY;
                reader_error(rd, "%s%s", why, hint);
        }

        strcpy(buf, rd->kind == LINE_HIDDEN_KEY ? HIDDEN_KEY_LINE : "\n");
        return buf;
}

/*
 * inih's ini_reader: one physical line per call, like fgets(). A line that does not fit in
 * inih's buffer (size, 200 as Debian builds it) or that holds a NUL byte is read to its end and
 * replaced (hide_line()), instead of reaching inih in pieces or cut short.
 */
static char *on_read_line(char *buf, int size, void *stream) {
        Reader *rd = stream;
        size_t max, len = 0, total = 0;
        char why[96];
        bool nul = false;
        int c;

        /* inih's buffer is INI_MAX_LINE (200) bytes: never too small for a hidden line */
        if (rd->r < 0 || (size_t) size < sizeof(HIDDEN_KEY_LINE))
                return NULL; /* makes inih stop */
        max = (size_t) size - 1;

        while ((c = source_getc(&rd->src)) != EOF) {
                total++;
                nul = nul || c == '\0';
                if (len < max)
                        buf[len++] = (char) c;
                if (c == '\n')
                        break;
        }
        if (total == 0)
                return NULL;
        buf[len] = '\0';
        rd->line++;

        if (total > max) {
                (void) snprintf(why, sizeof(why), "line too long (max %zu bytes including the newline)", max);
                return hide_line(rd, buf, why, "; continue a long value on indented lines");
        }
        if (nul)
                return hide_line(rd, buf, "line contains a NUL byte", "");
        classify_line(rd, buf);
        return buf;
}

static int record_entry(Reader *rd, const char *section, const char *name, const char *value) {
        _cleanup_free_ char *key = NULL, *val = NULL;
        DraftSection *s = reader_section(rd);
        DraftEntry *e;

        /* as inih: an empty name cannot be continued */
        rd->prev_name = name[0] != '\0';
        rd->drop_continuations = false;

        if (rd->skipping)
                return 0;
        if (!s) {
                rd->drop_continuations = true;
                reader_error(rd, "'%s' is outside of any section; put it under a [section] header", name);
                return 0;
        }
        if (!streq(section, s->name)) {
                /* our idea of the line disagrees with inih's: never expected, so say so */
                rd->drop_continuations = true;
                reader_error(rd, "[%s] %s: internal error: inih reports section [%s]", s->name, name, section);
                return 0;
        }
        if (!*name) {
                reader_error(rd, "[%s] missing key name before '='", s->name);
                return 0;
        }

        key = strdup(name);
        val = strdup(value);
        if (!key || !val)
                return -ENOMEM;
        e = APPEND(s->entries, s->n_entries);
        if (!e)
                return -ENOMEM;
        *e = (DraftEntry) {
                .key = TAKE_PTR(key),
                .value = TAKE_PTR(val),
                .line = rd->line,
                .cut_by_comment = rd->line_has_comment,
        };
        return 0;
}

/*
 * An indented line: inih passes it as more of the previous key's value. Joined with one space,
 * which is what makes a long `command` possible. inih 55 leaves " ; comment" in continuation
 * lines (it strips it only from key lines): we strip it too, so the rule is the same everywhere.
 */
static int record_continuation(Reader *rd, const char *value) {
        DraftSection *s = reader_section(rd);
        DraftEntry *e;
        size_t old, add;
        char *joined;

        if (rd->skipping || rd->drop_continuations || !s || s->n_entries == 0)
                return 0;
        e = &s->entries[s->n_entries - 1];
        e->cut_by_comment = e->cut_by_comment || rd->line_has_comment;

        add = (size_t) (find_chars_or_comment(value, NULL) - value);
        while (add > 0 && isspace((unsigned char) value[add - 1]))
                add--;
        if (add == 0)
                return 0;

        old = strlen(e->value);
        joined = realloc(e->value, old + 1 + add + 1);
        if (!joined)
                return -ENOMEM;
        if (old > 0)
                joined[old++] = ' ';
        memcpy(joined + old, value, add);
        joined[old + add] = '\0';
        e->value = joined;
        return 0;
}

/* The inih handler: records, never judges. Returns 0 (inih: error) only on a hard failure. */
static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
        Reader *rd = user;
        int r;

        if (rd->r < 0)
                return 0;

        if (rd->kind == LINE_HIDDEN_KEY) {
                /* inih now continues our stand-in: drop what would have continued the real line */
                rd->prev_name = true;
                rd->drop_continuations = true;
                r = 0;
        } else if (rd->kind == LINE_CONTINUATION)
                r = record_continuation(rd, value);
        else if (rd->kind == LINE_KEY)
                r = record_entry(rd, section, name, value);
        else {
                reader_error(rd, "'%s': internal error: inih found a key where arbor expected none", name);
                r = 0;
        }
        if (r < 0) {
                rd->r = r;
                return 0;
        }
        return 1;
}

static int read_stream(ConfigDraft *d, ConfigErrors *errors, size_t file, LineSource src) {
        Reader rd = { .src = src, .draft = d, .errors = errors, .file = file };
        int k;

        k = ini_parse_stream(on_read_line, &rd, on_ini_entry, &rd);
        if (rd.r < 0)
                return rd.r;
        if (k == -2)
                return -ENOMEM;
        if (k > 0 && (unsigned) k != rd.first_syntax_error)
                /* inih saw a problem we did not foresee: at least say where */
                return errors_add(errors, d->files[file], (unsigned) k, "syntax error (inih cannot parse this line)");
        return 0;
}

/*
 * Reads path into the draft. skip names a file not to read (the main file, when including).
 * Returns 0 (syntax problems go to errors), -ELOOP when path is skip, -EISDIR, or the -errno of
 * opening it.
 */
static int read_file(ConfigDraft *d, ConfigErrors *errors, const char *path, const struct stat *skip,
                     struct stat *ret_st) {
        _cleanup_(fclosep) FILE *f = NULL;
        struct stat st;
        size_t file;
        int r;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (fstat(fileno(f), &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (skip && st.st_dev == skip->st_dev && st.st_ino == skip->st_ino)
                return -ELOOP;

        r = draft_add_file(d, path, &file);
        if (r < 0)
                return r;
        r = read_stream(d, errors, file, (LineSource) { .f = f });
        if (r < 0)
                return r;
        if (ferror(f)) {
                r = errors_add(errors, path, 0, "read error: %s", strerror(EIO));
                if (r < 0)
                        return r;
        }
        if (ret_st)
                *ret_st = st;
        return 0;
}

static int read_text(ConfigDraft *d, ConfigErrors *errors, const char *name, const char *text) {
        size_t file;
        int r;

        r = draft_add_file(d, name, &file);
        if (r < 0)
                return r;
        return read_stream(d, errors, file, (LineSource) { .text = text });
}

/* ------------------------------------------------------------------------------------------ */
/* Words: command, environment and include values, split like a shell would, without one */

/*
 * Scans one word at *p into out (which has room for the whole value): single quotes are
 * literal, double quotes take \" \\ \$ \` escapes, a backslash outside quotes escapes any
 * character. Returns 0, or -EINVAL with *ret_problem saying what is unbalanced.
 */
static int scan_word(const char **p, char *out, const char **ret_problem) {
        const char *s = *p;
        size_t len = 0;

        while (*s && !isspace((unsigned char) *s)) {
                if (*s == '\'') {
                        const char *end = strchr(s + 1, '\'');

                        if (!end) {
                                *ret_problem = "unbalanced single quote";
                                return -EINVAL;
                        }
                        memcpy(out + len, s + 1, (size_t) (end - s - 1));
                        len += (size_t) (end - s - 1);
                        s = end + 1;
                } else if (*s == '"') {
                        for (s++; *s != '"'; s++) {
                                if (!*s) {
                                        *ret_problem = "unbalanced double quote";
                                        return -EINVAL;
                                }
                                if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
                                        s++;
                                out[len++] = *s;
                        }
                        s++;
                } else if (*s == '\\') {
                        if (!s[1]) {
                                *ret_problem = "a lone backslash at the end";
                                return -EINVAL;
                        }
                        out[len++] = s[1];
                        s += 2;
                } else
                        out[len++] = *s++;
        }
        out[len] = '\0';
        *p = s;
        return 0;
}

/* Splits value into a NULL-terminated word list (possibly empty). 0, -EINVAL (+ *ret_problem), -ENOMEM. */
static int split_words(const char *value, char ***ret, const char **ret_problem) {
        _cleanup_strv_free_ char **words = calloc(1, sizeof(char *));
        _cleanup_free_ char *word = malloc(strlen(value) + 1);
        size_t n = 0;
        int r;

        if (!words || !word)
                return -ENOMEM;

        for (const char *p = skip_space(value); *p; p = skip_space(p)) {
                char **grown;

                r = scan_word(&p, word, ret_problem);
                if (r < 0)
                        return r;
                grown = reallocarray(words, n + 2, sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                words = grown;
                words[n] = strdup(word);
                if (!words[n])
                        return -ENOMEM;
                words[++n] = NULL;
        }
        *ret = TAKE_PTR(words);
        return 0;
}

static char **strv_copy(char *const *l) {
        _cleanup_strv_free_ char **copy = calloc(strv_length(l) + 1, sizeof(char *));

        if (!copy)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                copy[i] = strdup(l[i]);
                if (!copy[i])
                        return NULL;
        }
        return TAKE_PTR(copy);
}

/* ------------------------------------------------------------------------------------------ */
/* Includes */

static char *path_join(const char *dir, const char *pattern) {
        char *p;

        if (pattern[0] == '/' || streq(dir, "."))
                return strdup(pattern);
        if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", pattern) < 0)
                return NULL;
        return p;
}

static char *dir_of(const char *path) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return NULL;
        return strdup(dirname(copy));
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int include_error(ConfigDraft *d, ConfigErrors *errors, unsigned line, const char *path, int error) {
        if (error == -ELOOP)
                return errors_add(errors, d->files[0], line,
                                  "[" SECTION_ARBOR "] include: '%s' is the main file itself", path);
        return errors_add(errors, d->files[0], line, "[" SECTION_ARBOR "] include: cannot read '%s': %s",
                          path, strerror(-error));
}

/*
 * Why glob() could not read the directory a pattern's wildcards are in: the -errno of opening
 * it, or 0 when it opens (then a directory further down failed). -ENOMEM.
 */
static int glob_directory_error(const char *full) {
        _cleanup_free_ char *dir = strndup(full, strcspn(full, "*?["));
        char *slash;
        DIR *d;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                d = opendir(".");
        else {
                slash[slash == dir ? 1 : 0] = '\0';
                d = opendir(dir);
        }
        if (!d)
                return -errno;
        (void) closedir(d);
        return 0;
}

/*
 * Reads what one include pattern matches, in byte order. A wildcard may match nothing (an empty
 * conf.d), but a directory that is missing or unreadable is an error: a typo must not make a
 * whole directory of services silently disappear.
 */
static int include_pattern(ConfigDraft *d, ConfigErrors *errors, const char *dir, const char *pattern,
                           unsigned line, const struct stat *main_st) {
        _cleanup_(globfree) glob_t g = {};
        _cleanup_free_ char *full = path_join(dir, pattern);
        int k, r;

        if (!full)
                return -ENOMEM;
        k = glob(full, GLOB_NOSORT | GLOB_ERR, NULL, &g);
        if (k == GLOB_NOSPACE)
                return -ENOMEM;
        if (k == GLOB_NOMATCH)
                return strpbrk(pattern, "*?[") ? 0 : include_error(d, errors, line, full, -ENOENT);
        if (k != 0) {
                r = glob_directory_error(full);
                if (r == -ENOMEM)
                        return r;
                return include_error(d, errors, line, full, r < 0 ? r : -EACCES);
        }

        /* glob() sorts by the locale's collation: we want the same order everywhere */
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), compare_strings);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                r = read_file(d, errors, g.gl_pathv[i], main_st, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = include_error(d, errors, line, g.gl_pathv[i], r);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static const DraftEntry *section_find_entry(const DraftSection *s, const char *key) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (streq(s->entries[i].key, key))
                        return &s->entries[i];
        return NULL;
}

/*
 * Reads the files the main file's `[arbor] include` names and places their sections right after
 * that [arbor] section. Only the main file may include, so includes nest one level and cannot
 * loop; a glob matching the main file itself is an error rather than a second reading.
 */
static int expand_includes(ConfigDraft *d, ConfigErrors *errors, const char *main_path, const struct stat *main_st) {
        _cleanup_strv_free_ char **patterns = NULL;
        _cleanup_free_ char *dir = NULL;
        const DraftEntry *include = NULL;
        const char *problem = NULL;
        size_t at, n_main = d->n_sections;
        unsigned line;
        int r;

        for (at = 0; at < n_main; at++)
                if (d->sections[at].file == 0 && streq(d->sections[at].name, SECTION_ARBOR))
                        break;
        if (at == n_main)
                return 0;
        include = section_find_entry(&d->sections[at], "include");
        if (!include || include->damaged)
                return 0;

        /* include points into d->sections, which reading more files moves: take what we need now */
        line = include->line;
        r = split_words(include->value, &patterns, &problem);
        if (r == -EINVAL)
                return errors_add(errors, d->files[0], line, "[" SECTION_ARBOR "] include: %s in '%s'",
                                  problem, include->value);
        if (r < 0)
                return r;

        dir = dir_of(main_path);
        if (!dir)
                return -ENOMEM;
        for (char **p = patterns; *p; p++) {
                r = include_pattern(d, errors, dir, *p, line, main_st);
                if (r < 0)
                        return r;
        }
        return draft_move_sections(d, at + 1, n_main);
}

/* ------------------------------------------------------------------------------------------ */
/* Building nodes */

/* Defaults: OTP's child spec and supervisor flags, and ours for what OTP does not have. */
static void node_set_defaults(NodeSpec *n) {
        n->restart = RESTART_PERMANENT;
        n->significant = false;
        if (n->kind == NODE_SUPERVISOR)
                n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_INFINITY };
        else
                n->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_TIMEOUT, .timeout = DEFAULT_SERVICE_SHUTDOWN };
        n->strategy = STRATEGY_ONE_FOR_ONE;
        n->intensity = DEFAULT_INTENSITY;
        n->period = DEFAULT_PERIOD;
        n->auto_shutdown = AUTO_SHUTDOWN_NEVER;
        n->stop_signal = SIGTERM;
        n->ready = READY_EXEC;
        n->ready_timeout = DEFAULT_READY_TIMEOUT;
}

/* Adds a node with its defaults at the end of c->nodes, which owns it at once. NULL on OOM. */
static NodeSpec *config_add_node(Config *c, NodeKind kind, const char *name) {
        NodeSpec **slot, *n;

        n = calloc(1, sizeof(NodeSpec));
        if (!n)
                return NULL;
        slot = APPEND(c->nodes, c->n_nodes);
        if (!slot) {
                free(n);
                return NULL;
        }
        *slot = n;

        n->kind = kind;
        node_set_defaults(n);
        n->name = strdup(name);
        if (!n->name)
                return NULL;
        if (kind == NODE_SERVICE) {
                /* never NULL for a service, so the spawner can always walk it */
                n->environment = calloc(1, sizeof(char *));
                if (!n->environment)
                        return NULL;
        }
        return n;
}

/* Gives n and its subtree their place in pre-order, their index and their path. */
static int tree_place(NodeSpec *n, NodeSpec **pre, size_t *k) {
        char *path;
        int r;

        n->index = *k;
        pre[(*k)++] = n;
        if (n->parent) {
                if (asprintf(&path, "%s/%s", n->parent->path, n->name) < 0)
                        return -ENOMEM;
        } else {
                path = strdup(n->name);
                if (!path)
                        return -ENOMEM;
        }
        n->path = path;

        for (size_t i = 0; i < n->n_children; i++) {
                r = tree_place(n->children[i], pre, k);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Turns c->nodes, in declaration order with the root first, into the tree: parent_of[i] is the
 * declaration index of node i's parent (ignored for the root, which must reach every node).
 * Children keep declaration order, which is start order, wherever the parent was declared;
 * then c->nodes is rewritten in pre-order.
 */
static int tree_build(Config *c, const size_t *parent_of) {
        _cleanup_free_ NodeSpec **pre = NULL;
        NodeSpec **decl = c->nodes;
        size_t n = c->n_nodes, k = 0;
        int r;

        for (size_t i = 1; i < n; i++)
                decl[parent_of[i]]->n_children++;
        for (size_t i = 0; i < n; i++) {
                if (decl[i]->n_children == 0)
                        continue;
                decl[i]->children = calloc(decl[i]->n_children, sizeof(NodeSpec *));
                if (!decl[i]->children)
                        return -ENOMEM;
                decl[i]->n_children = 0;
        }
        for (size_t i = 1; i < n; i++) {
                NodeSpec *p = decl[parent_of[i]];

                decl[i]->parent = p;
                decl[i]->child_index = p->n_children;
                p->children[p->n_children++] = decl[i];
        }

        pre = calloc(n, sizeof(NodeSpec *));
        if (!pre)
                return -ENOMEM;
        r = tree_place(decl[0], pre, &k);
        if (r < 0)
                return r;
        if (k != n)
                return -EINVAL; /* a node the root does not reach: a caller's bug */
        free(c->nodes);
        c->nodes = TAKE_PTR(pre);
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation: pure */

typedef struct NodeLink {
        const DraftSection *section;      /* NULL: the implicit root */
        const DraftEntry *parent_entry;   /* NULL: a child of root */
        const DraftEntry *significant;
        const DraftEntry *ready_timeout;
        bool has_command;
        bool discarded;                   /* a duplicate or reserved name: not part of the tree */
        size_t parent;                    /* declaration index, or NO_PARENT */
} NodeLink;

typedef struct Validator {
        const ConfigDraft *draft;
        ConfigErrors *errors;
        Config *config;   /* nodes in declaration order, root first, until tree_build() */
        NodeLink *links;  /* parallel to config->nodes */
        size_t n_links;
        const DraftSection *arbor_section;
} Validator;

typedef struct KeyContext {
        Validator *v;
        const DraftSection *section;
        const DraftEntry *entry;
        NodeSpec *node;   /* NULL in [arbor] */
        NodeLink *link;
} KeyContext;

typedef int (*KeyParser)(KeyContext *k);

typedef struct KeyDef {
        const char *key;
        KeyParser parse;
        bool child_only; /* describes a node as its parent's child: not on the root */
} KeyDef;

static void validator_done(Validator *v) {
        config_free(v->config);
        free(v->links);
}

static const char *section_file(const Validator *v, const DraftSection *s) {
        return v->draft->files[s->file];
}

/* "[section] key: message" (key NULL: "[section] message") at line. */
static int section_verror(Validator *v, const DraftSection *s, unsigned line, const char *key, const char *fmt,
                          va_list ap) _printf_(5, 0);
static int section_verror(Validator *v, const DraftSection *s, unsigned line, const char *key, const char *fmt,
                          va_list ap) {
        _cleanup_free_ char *message = NULL;

        if (vasprintf(&message, fmt, ap) < 0) {
                message = NULL; /* its contents are undefined on failure */
                return -ENOMEM;
        }
        if (key)
                return errors_add(v->errors, section_file(v, s), line, "[%s] %s: %s", s->name, key, message);
        return errors_add(v->errors, section_file(v, s), line, "[%s] %s", s->name, message);
}

static int entry_error(Validator *v, const DraftSection *s, const DraftEntry *e, const char *fmt, ...)
        _printf_(4, 5);
static int entry_error(Validator *v, const DraftSection *s, const DraftEntry *e, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = section_verror(v, s, e->line, e->key, fmt, ap);
        va_end(ap);
        return r;
}

static int section_error(Validator *v, const DraftSection *s, const char *fmt, ...) _printf_(3, 4);
static int section_error(Validator *v, const DraftSection *s, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = section_verror(v, s, s->line, NULL, fmt, ap);
        va_end(ap);
        return r;
}

/* "'VALUE' is not valid; expected WHAT" at the key's line. */
static int invalid_value(KeyContext *k, const char *expected) {
        return entry_error(k->v, k->section, k->entry, "'%s' is not valid; expected %s", k->entry->value, expected);
}

/* "a, b or c" (or "a, b, c" with last_sep ", "). NULL on OOM. */
static char *join_words(const char *const *words, size_t n, const char *last_sep) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; i < n; i++)
                len += strlen(words[i]) + MAX(strlen(", "), strlen(last_sep));
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        p = stpcpy(p, i + 1 == n ? last_sep : ", ");
                p = stpcpy(p, words[i]);
        }
        return s;
}

static int invalid_choice(KeyContext *k, const char *const *names, size_t n) {
        _cleanup_free_ char *expected = join_words(names, n, " or ");

        if (!expected)
                return -ENOMEM;
        return invalid_value(k, expected);
}

/* Levenshtein distance, or SIZE_MAX when b is too long to bother. */
static size_t edit_distance(const char *a, const char *b) {
        size_t row[SUGGEST_MAX_LEN + 1], lb = strlen(b);

        if (lb > SUGGEST_MAX_LEN)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; a[i - 1]; i++) {
                size_t diagonal = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t above = row[j];

                        row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] != b[j - 1]));
                        diagonal = above;
                }
        }
        return row[lb];
}

typedef struct Suggestion {
        const char *word;
        const char *best;
        size_t distance;
} Suggestion;

static Suggestion suggestion_start(const char *word) {
        return (Suggestion) { .word = word, .distance = SIZE_MAX };
}

/* Keeps candidate when it is the closest so far and close enough to be a typo of word. */
static void suggestion_consider(Suggestion *s, const char *candidate) {
        size_t d = edit_distance(s->word, candidate);

        if (d <= SUGGEST_MAX_DISTANCE && d < strlen(s->word) && d < s->distance) {
                s->best = candidate;
                s->distance = d;
        }
}

static int parse_boolean(const char *s) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        _Static_assert(ELEMENTSOF(yes) == ELEMENTSOF(no), "every spelling has its opposite");
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int parse_unsigned(const char *s, unsigned *ret) {
        unsigned long long v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                v = v * 10 + (unsigned long long) (*s - '0');
                if (v > UINT_MAX)
                        return -ERANGE;
        }
        *ret = (unsigned) v;
        return 0;
}

static bool name_is_valid(const char *name) {
        return *name && strspn(name, NAME_CHARS) == strlen(name);
}

/* POSIX portable environment names: letters, digits and '_', not starting with a digit. */
static bool env_name_is_valid(const char *s, size_t len) {
        if (len == 0 || isdigit((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

static int duration_error(KeyContext *k, int error, const char *also) {
        if (error == -ERANGE)
                return entry_error(k->v, k->section, k->entry, "'%s' is too long", k->entry->value);
        return entry_error(k->v, k->section, k->entry, "'%s' is not valid; expected %s" DURATION_EXAMPLES,
                           k->entry->value, also);
}

/* A duration that must not be 0 (a period of nothing, a timeout that has always expired). */
static int parse_positive_duration(KeyContext *k, bool allow_infinity, const char *also, usec_t *ret) {
        usec_t u;
        int r;

        r = duration_parse(k->entry->value, allow_infinity, &u);
        if (r < 0)
                return duration_error(k, r, also);
        if (u == 0)
                return entry_error(k->v, k->section, k->entry, "'%s' is not valid; expected a duration longer than 0",
                                   k->entry->value);
        *ret = u;
        return 0;
}

/* Splits a value into words; a problem becomes an error, with a word about inih's comments when
 * that is the likely cause. Returns 1 and *ret, 0 after an error, or -ENOMEM. */
static int split_value(KeyContext *k, char ***ret) {
        const char *problem = NULL;
        int r;

        r = split_words(k->entry->value, ret, &problem);
        if (r == -EINVAL)
                r = entry_error(k->v, k->section, k->entry, "%s in '%s'%s", problem, k->entry->value,
                                k->entry->cut_by_comment
                                        ? "; inih cut the line at ' ;' because a ';' after whitespace starts a "
                                          "comment: write 'a; b' instead of 'a ; b'"
                                        : "");
        else if (r == 0)
                r = 1;
        return r;
}

/*
 * parse_<name>(): one of an enum's names into the node's field, or an error
 * that lists every valid name (from the same table the names come from).
 */
#define DEFINE_PARSE_ENUM(name, type, field, max)                                       \
        static int parse_##name(KeyContext *k) {                                        \
                const char *names[max];                                                 \
                type v = name##_from_string(k->entry->value);                           \
                                                                                        \
                if (v >= 0) {                                                           \
                        k->node->field = v;                                             \
                        return 0;                                                       \
                }                                                                       \
                ENUM_NAMES(names, name##_to_string, max);                               \
                return invalid_choice(k, names, ELEMENTSOF(names));                     \
        }

DEFINE_PARSE_ENUM(strategy, Strategy, strategy, _STRATEGY_MAX)
DEFINE_PARSE_ENUM(restart_policy, RestartPolicy, restart, _RESTART_MAX)
DEFINE_PARSE_ENUM(auto_shutdown, AutoShutdown, auto_shutdown, _AUTO_SHUTDOWN_MAX)
DEFINE_PARSE_ENUM(ready_kind, ReadyKind, ready, _READY_KIND_MAX)

static int parse_intensity(KeyContext *k) {
        if (parse_unsigned(k->entry->value, &k->node->intensity) < 0)
                return entry_error(k->v, k->section, k->entry,
                                   "'%s' is not valid; expected a whole number from 0 to %u", k->entry->value, UINT_MAX);
        return 0;
}

static int parse_period(KeyContext *k) {
        return parse_positive_duration(k, false, "", &k->node->period);
}

static int parse_shutdown(KeyContext *k) {
        const char *value = k->entry->value;
        usec_t u;
        int r;

        if (streq(value, "brutal_kill")) {
                k->node->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_BRUTAL_KILL };
                return 0;
        }
        r = duration_parse(value, true, &u);
        if (r < 0)
                return duration_error(k, r, "brutal_kill, infinity or ");
        if (u == USEC_INFINITY)
                k->node->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_INFINITY };
        else
                k->node->shutdown = (ShutdownSpec) { .kind = SHUTDOWN_TIMEOUT, .timeout = u };
        return 0;
}

static int parse_significant(KeyContext *k) {
        int b = parse_boolean(k->entry->value);

        if (b < 0)
                return invalid_value(k, "yes, no, true, false, on, off, 1 or 0");
        k->node->significant = b;
        k->link->significant = k->entry;
        return 0;
}

static int parse_parent(KeyContext *k) {
        /* resolved once every node is known: a parent may be declared after its children */
        k->link->parent_entry = k->entry;
        return 0;
}

static int parse_command(KeyContext *k) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        k->link->has_command = true;
        r = split_value(k, &argv);
        if (r <= 0)
                return r;
        if (!argv[0])
                return entry_error(k->v, k->section, k->entry, "empty; expected the program to run and its arguments");
        strv_free(k->node->argv);
        k->node->argv = TAKE_PTR(argv);
        return 0;
}

static int parse_stop_signal(KeyContext *k) {
        int sig = signal_from_string(k->entry->value);

        if (sig < 0)
                return invalid_value(k, "a signal name such as SIGTERM, TERM or SIGINT, or a signal number");
        k->node->stop_signal = sig;
        return 0;
}

static int parse_success_exit_codes(KeyContext *k) {
        _cleanup_strv_free_ char **words = NULL;
        _cleanup_free_ int *codes = NULL;
        size_t n;
        int r;

        r = split_value(k, &words);
        if (r <= 0)
                return r;
        n = strv_length(words);
        codes = calloc(MAX(n, (size_t) 1), sizeof(int));
        if (!codes)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                unsigned code;

                if (parse_unsigned(words[i], &code) < 0 || code > 255)
                        return entry_error(k->v, k->section, k->entry,
                                           "'%s' is not valid; expected exit codes from 0 to 255, separated by spaces",
                                           words[i]);
                codes[i] = (int) code;
        }
        free(k->node->success_exit_codes);
        k->node->success_exit_codes = TAKE_PTR(codes);
        k->node->n_success_exit_codes = n;
        return 0;
}

static int parse_environment(KeyContext *k) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        r = split_value(k, &env);
        if (r <= 0)
                return r;
        for (char **e = env; *e; e++) {
                const char *eq = strchr(*e, '=');

                if (!eq || !env_name_is_valid(*e, (size_t) (eq - *e)))
                        return entry_error(k->v, k->section, k->entry,
                                           "'%s' is not valid; expected KEY=VALUE entries separated by spaces, "
                                           "KEY made of letters, digits and '_', not starting with a digit",
                                           *e);
        }
        strv_free(k->node->environment);
        k->node->environment = TAKE_PTR(env);
        return 0;
}

static int parse_working_directory(KeyContext *k) {
        char *copy;

        if (k->entry->value[0] != '/')
                return invalid_value(k, "an absolute path");
        copy = strdup(k->entry->value);
        if (!copy)
                return -ENOMEM;
        free(k->node->working_directory);
        k->node->working_directory = copy;
        return 0;
}

static int parse_ready_timeout(KeyContext *k) {
        k->link->ready_timeout = k->entry;
        return parse_positive_duration(k, true, "infinity or ", &k->node->ready_timeout);
}

static int parse_control(KeyContext *k) {
        size_t max = sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1;
        const char *value = k->entry->value;
        char *copy, expected[64];

        if (value[0] != '/' || strlen(value) > max) {
                (void) snprintf(expected, sizeof(expected), "an absolute path of at most %zu bytes", max);
                return invalid_value(k, expected);
        }
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(k->v->config->control);
        k->v->config->control = copy;
        return 0;
}

static int parse_control_group(KeyContext *k) {
        const char *value = k->entry->value;
        char *copy;

        /* resolved by arbord, not here: NSS has no place in a pure validation */
        if (!*value || strpbrk(value, " \t:/"))
                return invalid_value(k, "a group name or number");
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(k->v->config->control_group);
        k->v->config->control_group = copy;
        return 0;
}

static int parse_include(KeyContext *k) {
        /* read, and any problem reported, by expand_includes() before validation */
        return 0;
}

static const KeyDef arbor_keys[] = {
        { .key = "control", .parse = parse_control },
        { .key = "control_group", .parse = parse_control_group },
        { .key = "include", .parse = parse_include },
};

static const KeyDef supervisor_keys[] = {
        { .key = "parent", .parse = parse_parent, .child_only = true },
        { .key = "strategy", .parse = parse_strategy },
        { .key = "intensity", .parse = parse_intensity },
        { .key = "period", .parse = parse_period },
        { .key = "auto_shutdown", .parse = parse_auto_shutdown },
        { .key = "restart", .parse = parse_restart_policy, .child_only = true },
        { .key = "shutdown", .parse = parse_shutdown, .child_only = true },
        { .key = "significant", .parse = parse_significant, .child_only = true },
};

static const KeyDef service_keys[] = {
        { .key = "command", .parse = parse_command },
        { .key = "parent", .parse = parse_parent },
        { .key = "restart", .parse = parse_restart_policy },
        { .key = "shutdown", .parse = parse_shutdown },
        { .key = "stop_signal", .parse = parse_stop_signal },
        { .key = "success_exit_codes", .parse = parse_success_exit_codes },
        { .key = "significant", .parse = parse_significant },
        { .key = "environment", .parse = parse_environment },
        { .key = "working_directory", .parse = parse_working_directory },
        { .key = "ready", .parse = parse_ready_kind },
        { .key = "ready_timeout", .parse = parse_ready_timeout },
};

static const KeyDef *key_lookup(const KeyDef *keys, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(keys[i].key, key))
                        return &keys[i];
        return NULL;
}

/* "a, b, c": the keys valid in this section. NULL on OOM. */
static char *valid_keys(const KeyDef *keys, size_t n, bool is_root) {
        _cleanup_free_ const char **names = calloc(MAX(n, (size_t) 1), sizeof(char *));
        size_t m = 0;

        if (!names)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(is_root && keys[i].child_only))
                        names[m++] = keys[i].key;
        return join_words(names, m, ", ");
}

static int unknown_key(KeyContext *k, const KeyDef *keys, size_t n, bool is_root) {
        _cleanup_free_ char *valid = valid_keys(keys, n, is_root), *hint = NULL;
        Suggestion s = suggestion_start(k->entry->key);

        if (!valid)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(is_root && keys[i].child_only))
                        suggestion_consider(&s, keys[i].key);
        if (s.best && asprintf(&hint, " (did you mean '%s'?)", s.best) < 0)
                return -ENOMEM;
        return entry_error(k->v, k->section, k->entry, "unknown key%s; valid keys: %s", hint ?: "", valid);
}

static int root_only_key(KeyContext *k, const KeyDef *keys, size_t n) {
        _cleanup_free_ char *valid = valid_keys(keys, n, true);

        if (!valid)
                return -ENOMEM;
        return entry_error(k->v, k->section, k->entry,
                           "not allowed on the root supervisor, which is nobody's child; valid keys: %s", valid);
}

/* Applies every entry of s through the key table; an entry's error does not stop the others. */
static int apply_entries(Validator *v, const DraftSection *s, const KeyDef *keys, size_t n, bool is_root,
                         NodeSpec *node, NodeLink *lk) {
        int r;

        for (size_t i = 0; i < s->n_entries; i++) {
                KeyContext k = { .v = v, .section = s, .entry = &s->entries[i], .node = node, .link = lk };
                const DraftEntry *earlier = section_find_entry(s, k.entry->key);
                const KeyDef *def;

                if (earlier != k.entry) {
                        r = entry_error(v, s, k.entry, "set twice (first on line %u); a key may appear once per section",
                                        earlier->line);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k.entry->damaged) {
                        if (lk && streq(k.entry->key, "command"))
                                lk->has_command = true;
                        continue;
                }

                def = key_lookup(keys, n, k.entry->key);
                if (!def)
                        r = unknown_key(&k, keys, n, is_root);
                else if (is_root && def->child_only)
                        r = root_only_key(&k, keys, n);
                else
                        r = def->parse(&k);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Checks that need the whole section: a key's meaning can depend on another's. */
static int node_check(Validator *v, const DraftSection *s, const NodeSpec *n, const NodeLink *lk) {
        int r;

        if (n->kind == NODE_SERVICE && !lk->has_command && !s->damaged) {
                r = section_error(v, s, "command is missing; a service needs the program to run and its arguments");
                if (r < 0)
                        return r;
        }
        /* OTP: "significant" is allowed only for transient and temporary children */
        if (n->significant && n->restart == RESTART_PERMANENT) {
                r = entry_error(v, s, lk->significant,
                                "a permanent child cannot be significant; set restart = transient or temporary");
                if (r < 0)
                        return r;
        }
        if (lk->ready_timeout && n->ready != READY_NOTIFY) {
                r = entry_error(v, s, lk->ready_timeout, "only used with ready = notify");
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The declaration index of the (not discarded) node called name, or NO_PARENT. */
static size_t validator_find_node(const Validator *v, const char *name) {
        for (size_t i = 0; i < v->config->n_nodes; i++)
                if (!v->links[i].discarded && streq(v->config->nodes[i]->name, name))
                        return i;
        return NO_PARENT;
}

static int validator_add_node(Validator *v, NodeKind kind, const char *name, const DraftSection *s,
                              NodeSpec **ret, NodeLink **ret_link) {
        NodeLink *lk;
        NodeSpec *n;

        lk = APPEND(v->links, v->n_links);
        if (!lk)
                return -ENOMEM;
        *lk = (NodeLink) { .section = s, .parent = NO_PARENT };
        n = config_add_node(v->config, kind, name);
        if (!n)
                return -ENOMEM;
        if (s)
                n->where = (SourceLocation) { .file = v->config->files[s->file], .line = s->line };
        *ret = n;
        *ret_link = lk;
        return 0;
}

static int duplicate_section(Validator *v, const DraftSection *s, const DraftSection *first) {
        return section_error(v, s, "declared twice (first at %s:%u); declare each section once",
                             section_file(v, first), first->line);
}

static int validate_root_section(Validator *v, const DraftSection *s) {
        NodeLink *lk = &v->links[0];
        NodeSpec *root = v->config->nodes[0];

        if (lk->section)
                return duplicate_section(v, s, lk->section);
        lk->section = s;
        root->where = (SourceLocation) { .file = v->config->files[s->file], .line = s->line };
        return apply_entries(v, s, supervisor_keys, ELEMENTSOF(supervisor_keys), true, root, lk);
}

static int validate_node_section(Validator *v, const DraftSection *s, NodeKind kind, const char *name) {
        const KeyDef *keys = kind == NODE_SUPERVISOR ? supervisor_keys : service_keys;
        size_t n_keys = kind == NODE_SUPERVISOR ? ELEMENTSOF(supervisor_keys) : ELEMENTSOF(service_keys);
        bool discard = false;
        NodeLink *lk;
        NodeSpec *n;
        size_t other;
        int r = 0;

        if (kind == NODE_SUPERVISOR && streq(name, ROOT_NAME))
                return validate_root_section(v, s);

        other = validator_find_node(v, name);
        if (streq(name, ROOT_NAME)) {
                discard = true;
                r = section_error(v, s, "'" ROOT_NAME "' is reserved for the root supervisor; "
                                        "use [" SECTION_SUPERVISOR ":" ROOT_NAME "] to set its options");
        } else if (!name_is_valid(name))
                r = section_error(v, s, "'%s' is not a valid name; use letters, digits, '_', '.' and '-'", name);
        else if (other != NO_PARENT) {
                const DraftSection *first = v->links[other].section;

                discard = true;
                if (streq(first->name, s->name))
                        r = duplicate_section(v, s, first);
                else
                        r = section_error(v, s,
                                          "'%s' is already the name of [%s] (%s:%u); services and supervisors share "
                                          "one namespace",
                                          name, first->name, section_file(v, first), first->line);
        }
        if (r < 0)
                return r;

        /* a discarded node is still checked, so that one run reports its errors too */
        r = validator_add_node(v, kind, name, s, &n, &lk);
        if (r < 0)
                return r;
        lk->discarded = discard;
        r = apply_entries(v, s, keys, n_keys, false, n, lk);
        if (r < 0)
                return r;
        return node_check(v, s, n, lk);
}

static int validate_arbor_section(Validator *v, const DraftSection *s) {
        if (s->file != 0)
                return section_error(v, s, "only allowed in the main file, %s", v->draft->files[0]);
        if (v->arbor_section)
                return duplicate_section(v, s, v->arbor_section);
        v->arbor_section = s;
        return apply_entries(v, s, arbor_keys, ELEMENTSOF(arbor_keys), false, NULL, NULL);
}

static int unknown_section(Validator *v, const DraftSection *s) {
        static const char *const types[] = { SECTION_ARBOR, SECTION_SUPERVISOR, SECTION_SERVICE };
        const char *colon = strchr(s->name, ':');
        _cleanup_free_ char *type = strndup(s->name, colon ? (size_t) (colon - s->name) : strlen(s->name));
        _cleanup_free_ char *hint = NULL;
        Suggestion sg;
        int r = 0;

        if (!type)
                return -ENOMEM;
        sg = suggestion_start(type);
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                if (streq(type, types[i])) {
                        /* the right type, used the wrong way: [arbor:x] or [service] */
                        sg.best = types[i];
                        break;
                }
                suggestion_consider(&sg, types[i]);
        }
        if (sg.best && streq(sg.best, SECTION_ARBOR))
                r = asprintf(&hint, " (did you mean [%s]?)", SECTION_ARBOR);
        else if (sg.best)
                r = asprintf(&hint, " (did you mean [%s:%s]?)", sg.best, colon && colon[1] ? colon + 1 : "NAME");
        if (r < 0)
                return -ENOMEM;
        return section_error(v, s, "unknown section%s; expected [" SECTION_ARBOR "], [" SECTION_SUPERVISOR
                                   ":NAME] or [" SECTION_SERVICE ":NAME]",
                             hint ?: "");
}

static int validate_section(Validator *v, const DraftSection *s) {
        static const struct {
                const char *prefix;
                NodeKind kind;
        } node_sections[] = {
                { SECTION_SUPERVISOR ":", NODE_SUPERVISOR },
                { SECTION_SERVICE ":", NODE_SERVICE },
        };

        if (streq(s->name, SECTION_ARBOR))
                return validate_arbor_section(v, s);
        for (size_t i = 0; i < ELEMENTSOF(node_sections); i++) {
                size_t len = strlen(node_sections[i].prefix);

                if (strncmp(s->name, node_sections[i].prefix, len) == 0)
                        return validate_node_section(v, s, node_sections[i].kind, s->name + len);
        }
        return unknown_section(v, s);
}

/* Resolves every parent= by name, now that every node is known. */
static int link_parents(Validator *v) {
        Config *c = v->config;
        int r;

        for (size_t i = 1; i < c->n_nodes; i++) {
                NodeLink *lk = &v->links[i];
                const char *name;
                size_t p;

                if (lk->discarded)
                        continue;
                if (!lk->parent_entry) {
                        lk->parent = 0;
                        continue;
                }
                name = lk->parent_entry->value;
                p = validator_find_node(v, name);
                if (p == NO_PARENT) {
                        _cleanup_free_ char *hint = NULL;
                        Suggestion sg = suggestion_start(name);

                        for (size_t j = 0; j < c->n_nodes; j++)
                                if (j != i && !v->links[j].discarded && c->nodes[j]->kind == NODE_SUPERVISOR)
                                        suggestion_consider(&sg, c->nodes[j]->name);
                        if (sg.best && asprintf(&hint, " (did you mean '%s'?)", sg.best) < 0)
                                return -ENOMEM;
                        r = entry_error(v, lk->section, lk->parent_entry, "no supervisor named '%s'%s", name, hint ?: "");
                } else if (c->nodes[p]->kind != NODE_SUPERVISOR)
                        r = entry_error(v, lk->section, lk->parent_entry,
                                        "'%s' is a service; only a supervisor can be a parent", name);
                else {
                        lk->parent = p;
                        r = 0;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "a -> b -> a", starting from start. NULL on OOM. */
static char *cycle_text(const Validator *v, size_t start) {
        size_t len = strlen(v->config->nodes[start]->name) + 1, j = start;
        char *s, *p;

        do {
                len += strlen(v->config->nodes[j]->name) + strlen(" -> ");
                j = v->links[j].parent;
        } while (j != start);

        s = p = malloc(len);
        if (!s)
                return NULL;
        j = start;
        do {
                p = stpcpy(stpcpy(p, v->config->nodes[j]->name), " -> ");
                j = v->links[j].parent;
        } while (j != start);
        stpcpy(p, v->config->nodes[start]->name);
        return s;
}

/* Reports a cycle once, at its member declared first, whichever member the walk entered by. */
static int report_cycle(Validator *v, size_t entered) {
        _cleanup_free_ char *text = NULL;
        size_t first = entered, j = entered;

        do {
                first = MIN(first, j);
                j = v->links[j].parent;
        } while (j != entered);

        text = cycle_text(v, first);
        if (!text)
                return -ENOMEM;
        return entry_error(v, v->links[first].section, v->links[first].parent_entry,
                           "cycle %s; a chain of parents must end at " ROOT_NAME, text);
}

typedef enum WalkState {
        WALK_NEW,
        WALK_ON_PATH, /* on the chain being followed now */
        WALK_ROOTED,  /* its chain of parents ends at the root */
        WALK_BROKEN,  /* it does not: a bad parent (reported) or a cycle */
} WalkState;

/* Follows every chain of parents; each cycle becomes one error. */
static int check_cycles(Validator *v) {
        size_t n = v->config->n_nodes;
        _cleanup_free_ WalkState *state = calloc(n, sizeof(WalkState));
        int r;

        if (!state)
                return -ENOMEM;
        state[0] = WALK_ROOTED;
        for (size_t i = 1; i < n; i++) {
                WalkState result;
                size_t j = i;

                if (state[i] != WALK_NEW)
                        continue;
                for (;;) {
                        if (state[j] == WALK_ROOTED || state[j] == WALK_BROKEN) {
                                result = state[j];
                                break;
                        }
                        if (state[j] == WALK_ON_PATH) {
                                r = report_cycle(v, j);
                                if (r < 0)
                                        return r;
                                result = WALK_BROKEN;
                                break;
                        }
                        state[j] = WALK_ON_PATH;
                        if (v->links[j].discarded || v->links[j].parent == NO_PARENT) {
                                result = WALK_BROKEN;
                                break;
                        }
                        j = v->links[j].parent;
                }
                for (j = i; state[j] == WALK_ON_PATH; j = v->links[j].parent) {
                        state[j] = result;
                        if (v->links[j].discarded || v->links[j].parent == NO_PARENT)
                                break;
                }
        }
        return 0;
}

static int validator_init(Validator *v) {
        const ConfigDraft *d = v->draft;
        NodeSpec *root;
        NodeLink *lk;
        int r;

        v->config = calloc(1, sizeof(Config));
        if (!v->config)
                return -ENOMEM;
        v->config->files = calloc(MAX(d->n_files, (size_t) 1), sizeof(char *));
        if (!v->config->files)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_files; i++) {
                v->config->files[i] = strdup(d->files[i]);
                if (!v->config->files[i])
                        return -ENOMEM;
                v->config->n_files++;
        }

        r = validator_add_node(v, NODE_SUPERVISOR, ROOT_NAME, NULL, &root, &lk);
        if (r < 0)
                return r;
        /* the implicit root: declared, if anywhere, by the main file */
        root->where = (SourceLocation) { .file = v->config->n_files > 0 ? v->config->files[0] : NULL };
        return 0;
}

/*
 * The pure pass: draft -> Config. Every problem goes to errors; *ret is set only when there was
 * none. Returns 0, or -ENOMEM.
 */
static int config_validate(const ConfigDraft *d, Config **ret, ConfigErrors *errors) {
        _cleanup_(validator_done) Validator v = { .draft = d, .errors = errors };
        _cleanup_free_ size_t *parent_of = NULL;
        size_t first = errors->n;
        int r;

        *ret = NULL;
        r = validator_init(&v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_sections; i++) {
                r = validate_section(&v, &d->sections[i]);
                if (r < 0)
                        return r;
        }
        r = link_parents(&v);
        if (r < 0)
                return r;
        r = check_cycles(&v);
        if (r < 0)
                return r;
        if (errors->n > first)
                return 0;

        parent_of = calloc(v.n_links, sizeof(size_t));
        if (!parent_of)
                return -ENOMEM;
        for (size_t i = 1; i < v.n_links; i++)
                parent_of[i] = v.links[i].parent;
        r = tree_build(v.config, parent_of);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v.config);
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Public API */

static int load(const char *name, const char *text, Config **ret, ConfigErrors *errors) {
        _cleanup_(config_errors_done) ConfigErrors discarded = {};
        _cleanup_(draft_done) ConfigDraft draft = {};
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors *e = errors ?: &discarded;
        size_t first = e->n;
        struct stat st;
        int r;

        if (!name || !ret)
                return -EINVAL;

        if (text)
                r = read_text(&draft, e, name, text);
        else {
                r = read_file(&draft, e, name, NULL, &st);
                if (r < 0 && r != -ENOMEM) {
                        int q = errors_add(e, name, 0, "cannot read: %s", strerror(-r));
                        return q < 0 ? q : r;
                }
        }
        if (r < 0)
                return r;

        r = expand_includes(&draft, e, name, text ? NULL : &st);
        if (r < 0)
                return r;
        r = config_validate(&draft, &c, e);
        if (r < 0)
                return r;

        errors_sort(e, first, draft.files, draft.n_files);
        if (e->n > first)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, Config **ret, ConfigErrors *errors) {
        return load(path, NULL, ret, errors);
}

int config_load_string(const char *text, const char *name, Config **ret, ConfigErrors *errors) {
        if (!text)
                return -EINVAL;
        return load(name, text, ret, errors);
}

int config_new_single_command(char *const *argv, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        static const size_t parent_of[] = { NO_PARENT, 0 };
        NodeSpec *root, *main_service;
        int r;

        if (!argv || !argv[0] || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        root = config_add_node(c, NODE_SUPERVISOR, ROOT_NAME);
        if (!root)
                return -ENOMEM;
        /* tini's contract: when the command exits, everything ends, with its status */
        root->auto_shutdown = AUTO_SHUTDOWN_ANY_SIGNIFICANT;

        main_service = config_add_node(c, NODE_SERVICE, "main");
        if (!main_service)
                return -ENOMEM;
        main_service->argv = strv_copy(argv);
        if (!main_service->argv)
                return -ENOMEM;
        main_service->restart = RESTART_TEMPORARY;
        main_service->significant = true;
        /* run from a shell or `docker run -it`, the command is what the user talks to */
        main_service->foreground = true;

        _Static_assert(ELEMENTSOF(parent_of) == 2, "root and main");
        r = tree_build(c, parent_of);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Printing the tree */

/* A word as split_words() would read it back: bare when it can be, else in single quotes. */
static void print_word(FILE *f, const char *w) {
        if (*w && strspn(w, PLAIN_WORD_CHARS) == strlen(w)) {
                fputs(w, f);
                return;
        }
        fputc('\'', f);
        for (const char *p = w; *p; p++)
                if (*p == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*p, f);
        fputc('\'', f);
}

static const char *shutdown_to_text(const ShutdownSpec *s, char buf[static DURATION_MAX]) {
        if (s->kind == SHUTDOWN_BRUTAL_KILL)
                return "brutal_kill";
        if (s->kind == SHUTDOWN_INFINITY)
                return "infinity";
        return duration_format(s->timeout, buf);
}

static void print_supervisor_settings(const NodeSpec *n, FILE *f) {
        char buf[DURATION_MAX];

        fprintf(f, " %s intensity=%u period=%s", strategy_to_string(n->strategy), n->intensity,
                duration_format(n->period, buf));
        if (n->auto_shutdown != AUTO_SHUTDOWN_NEVER)
                fprintf(f, " auto_shutdown=%s", auto_shutdown_to_string(n->auto_shutdown));
}

/* Service settings; the optional ones only when not at their default, and command last. */
static void print_service_settings(const NodeSpec *n, FILE *f) {
        char buf[DURATION_MAX];

        if (n->stop_signal != SIGTERM)
                fprintf(f, " stop_signal=%s", signal_to_string(n->stop_signal) ?: "?");
        for (size_t i = 0; i < n->n_success_exit_codes; i++)
                fprintf(f, "%s%d", i == 0 ? " success_exit_codes=" : ",", n->success_exit_codes[i]);
        if (n->ready != READY_EXEC)
                fprintf(f, " ready=%s ready_timeout=%s", ready_kind_to_string(n->ready),
                        duration_format(n->ready_timeout, buf));
        if (n->working_directory) {
                fputs(" working_directory=", f);
                print_word(f, n->working_directory);
        }
        for (char **e = n->environment; e && *e; e++) {
                fputs(" environment=", f);
                print_word(f, *e);
        }
        fputs(" command=", f);
        for (char **a = n->argv; a && *a; a++) {
                if (a != n->argv)
                        fputc(' ', f);
                print_word(f, *a);
        }
}

void config_print_tree(const Config *c, FILE *f) {
        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodeSpec *n = c->nodes[i];
                char buf[DURATION_MAX];
                unsigned depth = 0;

                for (const NodeSpec *p = n->parent; p; p = p->parent)
                        depth++;
                fprintf(f, "%*s%s  %s", (int) (2 * depth), "", n->name, node_kind_to_string(n->kind));
                if (n->parent) {
                        fprintf(f, " %s shutdown=%s", restart_policy_to_string(n->restart),
                                shutdown_to_text(&n->shutdown, buf));
                        if (n->significant)
                                fputs(" significant", f);
                }
                if (n->kind == NODE_SUPERVISOR)
                        print_supervisor_settings(n, f);
                else
                        print_service_settings(n, f);
                fputc('\n', f);
        }
}
