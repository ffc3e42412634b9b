/* SPDX-License-Identifier: MIT */
/*
 * The INI reader and validator (supervisord/config.c) on arbitrary bytes: every
 * input is loaded twice, once as a string (config_load_string(), which stops at
 * the first NUL) and once as a file (config_load() on a memfd, where NUL bytes
 * and all reach the line reader). Errors are printed, a valid tree is printed,
 * and everything is freed.
 *
 * Oracles:
 *   - a load returns 0 with a Config and no error, or -EINVAL with errors;
 *   - our line classifier and inih never disagree (those are the "internal
 *     error" and "inih cannot parse this line" messages);
 *   - a valid tree is in pre-order, root first, and every node is found by its
 *     path;
 *   - without NUL bytes and includes, the string and the file give the same errors.
 *
 * Includes: `[arbor] include` runs glob() and reads what matches. Here glob() is
 * replaced (below) by one that only looks inside a sandbox directory of fixtures
 * made at start-up, which the main file's name points into: a fuzzer must not read
 * /dev/zero, /dev/stdin or the whole file system because an input said so.
 */
#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "macro.h"

static char sandbox[PATH_MAX];
static char main_name[PATH_MAX + 16];
static char memfd_name[64];
static int memfd = -EBADF;
static FILE *devnull;

/* What the includes of the seed corpus find; mirrors tests/data/config/good/include.d. */
static const struct {
        const char *path;
        const char *text; /* NULL: a directory */
        size_t len;       /* of text, when it holds a NUL */
} fixtures[] = {
        { .path = "include.d" },
        { .path = "include.d/10-api.ini", .text = "[service:api]\nparent = web\ncommand = /bin/api\n" },
        { .path = "include.d/20-web.ini", .text = "[supervisor:web]\nstrategy = one_for_all\n" },
        { .path = "include.d/9-last.ini", .text = "[service:nine]\ncommand = /bin/nine\n" },
        { .path = "include.d/sub.d" }, /* a directory that a wildcard matches */
        { .path = "include.d/x-broken.ini",
          .text = "[arbor]\ninclude = *.ini\n[service:api]\nrestart = sometimes\n"
          "not a key\n[service:bad\n  continued\n[supervisor:web]\nparent = api\n" },
        { .path = "fragments" },
        { .path = "fragments/arbor.ini", .text = "[arbor]\ncontrol = /run/frag.sock\n\n[service:frag]\nrestart = sometimes\ncommand = /bin/true\n" },
        { .path = "fragments/nul.ini", .text = "[service:n]\ncommand = /bin/n\0ul\n", .len = 32 },
        { .path = "fragments/empty.ini", .text = "" },
};

static void fixtures_remove(void) {
        char p[sizeof(sandbox) + 64];

        if (!sandbox[0])
                return;
        for (size_t i = ELEMENTSOF(fixtures); i > 0; i--) {
                (void) snprintf(p, sizeof(p), "%s/%s", sandbox, fixtures[i - 1].path);
                (void) (fixtures[i - 1].text ? unlink(p) : rmdir(p));
        }
        (void) rmdir(sandbox);
}

static int fixtures_make(void) {
        const char *tmp = getenv("TMPDIR");
        char p[sizeof(sandbox) + 64];

        if (!tmp || !*tmp || strlen(tmp) > sizeof(sandbox) - 64)
                tmp = "/tmp";
        (void) snprintf(sandbox, sizeof(sandbox), "%s/arbor-fuzz-config-XXXXXX", tmp);
        if (!mkdtemp(sandbox)) {
                sandbox[0] = '\0';
                return -errno;
        }
        (void) atexit(fixtures_remove);
        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
                FILE *f;

                (void) snprintf(p, sizeof(p), "%s/%s", sandbox, fixtures[i].path);
                if (!fixtures[i].text) {
                        if (mkdir(p, 0755) < 0)
                                return -errno;
                        continue;
                }
                f = fopen(p, "we");
                if (!f)
                        return -errno;
                (void) fwrite(fixtures[i].text, 1, fixtures[i].len ?: strlen(fixtures[i].text), f);
                if (fclose(f) != 0)
                        return -EIO;
        }
        (void) snprintf(main_name, sizeof(main_name), "%s/main.ini", sandbox);
        return 0;
}

/* Includes may only reach the fixtures: anything outside the sandbox matches nothing. */
static bool in_sandbox(const char *pattern) {
        size_t l = strlen(sandbox);

        return strncmp(pattern, sandbox, l) == 0 && pattern[l] == '/' &&
               !strstr(pattern + l, "..") && !strchr(pattern + l, '\\');
}

typedef int (*glob_fn)(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob);

/* Takes the place of libc's glob() in this program; config.c's calls land here. */
int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *pglob) {
        static glob_fn real;

        if (!in_sandbox(pattern))
                return GLOB_NOMATCH;
        if (!real)
                real = (glob_fn) dlsym(RTLD_NEXT, "glob");
        FUZZ_CHECK(real);
        return real(pattern, flags, errfunc, pglob);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int r = fixtures_make();

        if (r < 0) {
                fprintf(stderr, "fuzz-config: cannot make the fixtures in %s: %s\n", sandbox, strerror(-r));
                exit(1);
        }
        devnull = fopen("/dev/null", "we");
        FUZZ_CHECK(devnull);
        memfd = memfd_create("fuzz-config.ini", MFD_CLOEXEC);
        if (memfd >= 0)
                (void) snprintf(memfd_name, sizeof(memfd_name), "/proc/self/fd/%d", memfd);
        if (memfd < 0 || access(memfd_name, R_OK) < 0) /* no /proc: strings only */
                memfd = safe_close(memfd);
        return 0;
}

static void check_tree(const Config *c) {
        FUZZ_CHECK(c->n_nodes > 0);
        FUZZ_CHECK(!c->nodes[0]->parent);
        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodeSpec *n = c->nodes[i];

                FUZZ_CHECK(n->index == i);
                FUZZ_CHECK(n->name && n->path);
                /* a linear search: over every node of a big tree, it would cost more than the load */
                if (i < 16 || i + 16 >= c->n_nodes)
                        FUZZ_CHECK(config_find_node(c, n->path) == n);
                if (i > 0)
                        FUZZ_CHECK(n->parent && n->parent->index < i);
                if (n->kind == NODE_SERVICE)
                        FUZZ_CHECK(n->n_children == 0 && n->argv && n->argv[0] && n->environment);
                for (size_t k = 0; k < n->n_children; k++)
                        FUZZ_CHECK(n->children[k]->parent == n);
        }
        config_print_tree(c, devnull);
}

/* Loads text (or, when text is NULL, the memfd), checks, prints; returns the result, errors kept. */
static int load_one(const char *text, ConfigErrors *errors, bool internal_errors_possible) {
        Config *c = NULL;
        int r;

        r = text ? config_load_string(text, main_name, &c, errors) : config_load(memfd_name, &c, errors);
        FUZZ_CHECK(r == 0 || r == -EINVAL);
        FUZZ_CHECK((r == 0) == (c != NULL));
        FUZZ_CHECK((r == 0) == (errors->n == 0));
        for (size_t i = 0; i < errors->n; i++) {
                const ConfigError *e = &errors->items[i];

                FUZZ_CHECK(e->message);
                FUZZ_CHECK(!streq(e->message, "syntax error (inih cannot parse this line)"));
                if (!internal_errors_possible)
                        FUZZ_CHECK(!strstr(e->message, "internal error"));
        }
        config_errors_print(errors, devnull);
        if (c)
                check_tree(c);
        config_free(c);
        return r;
}

/* Are a and b the same message, once file name name_a in a is read as name_b in b? */
static bool same_message(const char *a, const char *name_a, const char *b, const char *name_b) {
        size_t la = strlen(name_a), lb = strlen(name_b);

        while (*a || *b) {
                if (strncmp(a, name_a, la) == 0 && strncmp(b, name_b, lb) == 0) {
                        a += la;
                        b += lb;
                } else if (*a++ != *b++)
                        return false;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_errors_done) ConfigErrors from_string = {}, from_file = {};
        _cleanup_free_ char *text = malloc(size + 1);
        bool has_nul = memchr(data, 0, size);
        /* an input can spell the words of the message itself, as a key or a value */
        bool internal = memmem(data, size, "internal error", strlen("internal error"));
        int r, q;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = load_one(text, &from_string, internal);
        if (memfd < 0)
                return 0;

        FUZZ_CHECK(ftruncate(memfd, 0) == 0);
        FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t) size);
        q = load_one(NULL, &from_file, internal);

        /* the same text read two ways; includes would be looked up beside two different names */
        if (!has_nul && !memmem(data, size, "include", strlen("include"))) {
                FUZZ_CHECK(r == q);
                FUZZ_CHECK(from_string.n == from_file.n);
                for (size_t i = 0; i < from_string.n; i++) {
                        FUZZ_CHECK(from_string.items[i].line == from_file.items[i].line);
                        FUZZ_CHECK(same_message(from_string.items[i].message, main_name, from_file.items[i].message,
                                                memfd_name));
                }
        }
        return 0;
}
