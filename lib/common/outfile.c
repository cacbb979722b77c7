/* Output files written under a temporary name and renamed when complete. */
#include "colscope/common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Temporary files still open, so a SIGINT/SIGTERM handler can delete them.
 * The handler only calls unlink(), which is async-signal-safe. */
#define CS__MAX_PENDING 64
static char *cs__pending[CS__MAX_PENDING];
static volatile sig_atomic_t cs__handlers_installed;

static void cs__cleanup_signal(int sig)
{
    for (int i = 0; i < CS__MAX_PENDING; i++)
        if (cs__pending[i])
            unlink(cs__pending[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void cs__install_handlers(void)
{
    if (cs__handlers_installed)
        return;
    cs__handlers_installed = 1;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = cs__cleanup_signal;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
}

static void cs__pending_add(char *path)
{
    for (int i = 0; i < CS__MAX_PENDING; i++)
        if (!cs__pending[i]) {
            cs__pending[i] = path;
            return;
        }
}

static void cs__pending_remove(const char *path)
{
    for (int i = 0; i < CS__MAX_PENDING; i++)
        if (cs__pending[i] == path)
            cs__pending[i] = NULL;
}

cs_status cs_outfile_open(cs_outfile *out, const char *path, cs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return cs_error_set(err, CS_EINPUT, "output file name is empty");
    if (strcmp(path, "-") == 0) {
        out->fp = stdout;
        return CS_OK;
    }
    size_t len = strlen(path);
    out->final_path = strdup(path);
    out->tmp_path = malloc(len + 48);
    if (!out->final_path || !out->tmp_path) {
        free(out->final_path);
        free(out->tmp_path);
        memset(out, 0, sizeof *out);
        return cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
    }
    cs__install_handlers();
    /* A name no other process or output of ours uses: pid and a counter,
     * created exclusively, with the umask's mode like any other result file. */
    static unsigned counter;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(out->tmp_path, len + 48, "%s.tmp.%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        fd = open(out->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(out->final_path);
        free(out->tmp_path);
        memset(out, 0, sizeof *out);
        return cs_error_set(err, e == ENOENT || e == ENOTDIR || e == EACCES ? CS_EINPUT : CS_ERUNTIME,
                            "%s: cannot create output file: %s", path, strerror(e));
    }
    cs__pending_add(out->tmp_path);
    out->fp = fdopen(fd, "w");
    if (!out->fp) {
        int e = errno;
        close(fd);
        cs_outfile_abort(out);
        return cs_error_set(err, CS_ERUNTIME, "%s: %s", path, strerror(e));
    }
    return CS_OK;
}

cs_status cs_outfile_commit(cs_outfile *out, cs_error *err)
{
    if (!out->fp)
        return cs_error_set(err, CS_ERUNTIME, "output file is not open");
    if (!out->tmp_path) { /* stdout */
        int bad = fflush(out->fp) != 0 || ferror(out->fp);
        out->fp = NULL;
        return bad ? cs_error_set(err, CS_ERUNTIME, "-: write to stdout failed") : CS_OK;
    }
    int bad = ferror(out->fp) != 0;
    int e = bad ? EIO : 0;
    if (fflush(out->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (fclose(out->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    out->fp = NULL;
    if (!bad && rename(out->tmp_path, out->final_path) != 0) {
        bad = 1;
        e = errno;
    }
    cs_status st = CS_OK;
    if (bad) {
        unlink(out->tmp_path);
        st = cs_error_set(err, CS_ERUNTIME, "%s: write failed: %s", out->final_path, strerror(e));
    }
    cs__pending_remove(out->tmp_path);
    free(out->tmp_path);
    free(out->final_path);
    memset(out, 0, sizeof *out);
    return st;
}

void cs_outfile_abort(cs_outfile *out)
{
    if (out->tmp_path) {
        if (out->fp)
            fclose(out->fp);
        unlink(out->tmp_path);
        cs__pending_remove(out->tmp_path);
    }
    free(out->tmp_path);
    free(out->final_path);
    memset(out, 0, sizeof *out);
}

cs_status cs_write_file_atomic(const char *path, const void *data, size_t len, cs_error *err)
{
    cs_outfile out;
    cs_status st = cs_outfile_open(&out, path, err);
    if (st != CS_OK)
        return st;
    if (len && fwrite(data, 1, len, out.fp) != len) {
        int e = errno;
        cs_outfile_abort(&out);
        return cs_error_set(err, CS_ERUNTIME, "%s: write failed: %s", path, strerror(e));
    }
    return cs_outfile_commit(&out, err);
}
