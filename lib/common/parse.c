#include "colscope/common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool cs_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || errno == ERANGE || end == s)
        return false;
    *out = v;
    return true;
}

bool cs_parse_u64(const char *s, uint64_t *out)
{
    if (!s)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return false; /* rejects signs, which strtoull would wrap */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || errno == ERANGE)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool cs_parse_i64(const char *s, int64_t *out)
{
    if (!s)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || errno == ERANGE || end == s)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Splits s at commas into a malloc'ed copy and calls parse_one for each item. */
static void *cs__parse_list(const char *s, size_t *n, size_t elem, const char *what, cs_error *err,
                            bool (*parse_one)(const char *, void *))
{
    *n = 0;
    if (!s || !*s) {
        cs_error_set(err, CS_EINPUT, "%s: empty list", what);
        return NULL;
    }
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char *copy = strdup(s);
    unsigned char *vals = malloc(cap * elem);
    if (!copy || !vals) {
        free(copy);
        free(vals);
        cs_error_set(err, CS_ERUNTIME, "%s: out of memory", what);
        return NULL;
    }
    size_t k = 0;
    char *save = NULL;
    for (char *tok = copy;; tok = NULL) {
        char *item = strtok_r(tok, ",", &save);
        if (!item)
            break;
        if (!parse_one(item, vals + k * elem)) {
            cs_error_set(err, CS_EINPUT, "%s: '%s' is not a valid number", what, item);
            free(copy);
            free(vals);
            return NULL;
        }
        k++;
    }
    free(copy);
    if (k == 0) {
        free(vals);
        cs_error_set(err, CS_EINPUT, "%s: empty list", what);
        return NULL;
    }
    *n = k;
    return vals;
}

static bool cs__parse_double_item(const char *s, void *out) { return cs_parse_double(s, out); }
static bool cs__parse_u64_item(const char *s, void *out) { return cs_parse_u64(s, out); }

double *cs_parse_double_list(const char *s, size_t *n, const char *what, cs_error *err)
{
    return cs__parse_list(s, n, sizeof(double), what, err, cs__parse_double_item);
}

uint64_t *cs_parse_u64_list(const char *s, size_t *n, const char *what, cs_error *err)
{
    return cs__parse_list(s, n, sizeof(uint64_t), what, err, cs__parse_u64_item);
}
