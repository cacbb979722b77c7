#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cs_cli_fail(const cs_error *err)
{
    fprintf(stderr, "colscope: %s\n", err->msg[0] ? err->msg : "unknown error");
    return err->status == CS_EINPUT ? CS_EXIT_USAGE : CS_EXIT_RUNTIME;
}

int cs_cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "colscope %s: %s (see 'colscope %s --help')\n", cmd, msg, cmd);
    return CS_EXIT_USAGE;
}

void cs_progress_init(cs_progress *p, int mode)
{
    memset(p, 0, sizeof *p);
    p->enabled = mode < 0 ? isatty(STDERR_FILENO) != 0 : mode != 0;
}

void cs_progress_update(cs_progress *p, const char *fmt, ...)
{
    if (!p->enabled)
        return;
    double now = cs_now_seconds();
    if (p->width && now - p->last < 0.16)
        return;
    p->last = now;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
    p->width = n;
    fflush(stderr);
}

void cs_progress_done(cs_progress *p)
{
    if (p->enabled && p->width) {
        fprintf(stderr, "\r%*s\r", p->width, "");
        fflush(stderr);
    }
    p->width = 0;
}

bool cs_cli_write_json(FILE *fp, const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return false;
    bool ok = fputs(s, fp) >= 0;
    free(s);
    return ok;
}
