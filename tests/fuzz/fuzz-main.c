/* SPDX-License-Identifier: MIT */
/*
 * The driver of the fuzz targets when they are not built with libFuzzer: runs
 * LLVMFuzzerTestOneInput() once over every file given, and over every regular
 * file in every directory given (in byte order, dot files skipped). Without
 * arguments it replays FUZZ_CORPUS_DIR, the target's seed corpus, which is what
 * `make check` does. Each input is in a heap block of exactly its size, so that
 * a sanitizer build sees a read past its end.
 *
 * Exit status: 0, or 1 when an input cannot be read or a directory holds no
 * input (a corpus that went missing must not pass as replayed). A target that
 * fails aborts on its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"

/* LLVMFuzzerInitialize is optional: weak, NULL when a target has none. */
#pragma weak LLVMFuzzerInitialize

/* Reads all of fd into a block of exactly its size (a 0-byte file gives a 1-byte block). */
static int read_all(int fd, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0, cap = 0;

        for (;;) {
                ssize_t n;

                if (size == cap) {
                        uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 4096);
                        if (!grown)
                                return -ENOMEM;
                        buf = grown;
                }
                n = read(fd, buf + size, cap - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        /* exact size: a target that reads past the input trips ASan */
        *ret = malloc(size ? size : 1);
        if (!*ret)
                return -ENOMEM;
        if (size)
                memcpy(*ret, buf, size);
        *ret_size = size;
        return 0;
}

static int run_file(int dir_fd, const char *name, const char *shown) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        if (fd < 0) {
                fprintf(stderr, "%s: %s\n", shown, strerror(errno));
                return -errno;
        }
        r = read_all(fd, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", shown, strerror(-r));
                return r;
        }
        /* like libFuzzer's own replay: the log then names the input a failure came from */
        printf("Running: %s (%zu bytes)\n", shown, size);
        (void) fflush(stdout);
        (void) LLVMFuzzerTestOneInput(data, size);
        return 0;
}

/* Runs every regular file of path; returns how many ran, or -errno. */
static int run_dir(const char *path) {
        struct dirent **entries = NULL;
        _cleanup_close_ int dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int n, ran = 0, r = 0;

        if (dir_fd < 0)
                return -errno;
        n = scandir(path, &entries, NULL, alphasort); /* alphasort: strcoll, and we run in the C locale */
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                struct stat st;
                char shown[4096];

                (void) snprintf(shown, sizeof(shown), "%s/%s", path, entries[i]->d_name);
                if (r >= 0 && entries[i]->d_name[0] != '.' &&
                    fstatat(dir_fd, entries[i]->d_name, &st, 0) == 0 && S_ISREG(st.st_mode)) {
                        r = run_file(dir_fd, entries[i]->d_name, shown);
                        ran++;
                }
                free(entries[i]);
        }
        free(entries);
        return r < 0 ? r : ran;
}

int main(int argc, char **argv) {
#ifdef FUZZ_CORPUS_DIR
        static char *corpus[] = { NULL, (char *) FUZZ_CORPUS_DIR, NULL };
#endif
        unsigned total = 0;

        if (LLVMFuzzerInitialize)
                (void) LLVMFuzzerInitialize(&argc, &argv);
#ifdef FUZZ_CORPUS_DIR
        if (argc < 2) {
                corpus[0] = argv[0];
                argv = corpus;
                argc = 2;
        }
#endif
        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        r = run_dir(argv[i]);
                        if (r == 0) {
                                fprintf(stderr, "%s: no input in this directory\n", argv[i]);
                                return 1;
                        }
                } else
                        r = run_file(AT_FDCWD, argv[i], argv[i]);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                total += r > 0 ? (unsigned) r : 1;
        }
        printf("%s: %u inputs, no failure\n", argv[0], total);
        return 0;
}
