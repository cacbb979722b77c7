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

int cs_cli_bad_option(const char *cmd, int ch, char **argv)
{
    return cs_cli_usage(cmd, ch == ':' ? "option '%s' needs a value" : "unknown option '%s'", argv[optind - 1]);
}

bool cs_cli_split_binding(const char *arg, char **layer, char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return false;
    *layer = strndup(arg, (size_t)(eq - arg));
    *value = strdup(eq + 1);
    if (*layer && *value)
        return true;
    free(*layer);
    free(*value);
    return false;
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

cs_status cs_cli_check_operand(const cs_layer *l, const char *spec, const cs_profile *p, cs_error *err)
{
    if (p->rows != l->M || p->features != l->K)
        return cs_error_set(err, CS_EINPUT,
                            "--activation %s=%s: tensor is %llu x %llu (rows x last axis) but layer '%s' has M=%llu, K=%llu",
                            l->name, spec, (unsigned long long)p->rows, (unsigned long long)p->features, l->name,
                            (unsigned long long)l->M, (unsigned long long)l->K);
    return CS_OK;
}

cs_status cs_cli_profile_operand(const cs_layer *l, const char *spec, double threshold, const uint32_t *heights,
                                 size_t nheights, cs_profile *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_tensor_list list = {0};
    cs_status rc = cs_tensor_list_add_input(&list, spec, NULL, err);
    if (rc == CS_OK && list.count != 1)
        rc = cs_error_set(err, CS_EINPUT, "--activation %s: names %zu tensors, bind exactly one (use FILE:TENSOR)",
                          spec, list.count);
    if (rc == CS_OK) {
        cs_profile_config pc = {&threshold, 1, heights, nheights, -1, 0, true};
        rc = cs_profile_tensor(&list.items[0], &pc, out, err);
    }
    cs_tensor_list_free(&list);
    if (rc == CS_OK && (rc = cs_cli_check_operand(l, spec, out, err)) != CS_OK)
        cs_profile_free(out);
    return rc;
}
