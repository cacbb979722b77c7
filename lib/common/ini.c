#include "colscope/ini.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* inih does not pass line numbers to the handler, so the handler finds each
 * key's line itself by scanning forward through the text in step with the
 * parser (entries arrive in file order). */
typedef struct cs__ini_ctx {
    cs_ini *ini;
    const char *text;
    const char *cursor;
    int line;
    bool oom;
} cs__ini_ctx;

static int cs__ini_locate(cs__ini_ctx *c, const char *name)
{
    size_t n = strlen(name);
    const char *p = c->cursor;
    int line = c->line;
    while (*p) {
        const char *s = p;
        while (*s == ' ' || *s == '\t')
            s++;
        const char *eol = strchr(p, '\n');
        if (strncmp(s, name, n) == 0) {
            const char *t = s + n;
            while (*t == ' ' || *t == '\t')
                t++;
            if (*t == '=' || *t == ':') {
                c->cursor = eol ? eol + 1 : p + strlen(p);
                c->line = line + 1;
                return line;
            }
        }
        if (!eol)
            break;
        p = eol + 1;
        line++;
    }
    return c->line; /* not found (cannot happen for a key inih accepted) */
}

static int cs__ini_handler(void *user, const char *section, const char *name, const char *value)
{
    cs__ini_ctx *c = user;
    cs_ini *ini = c->ini;
    cs_ini_entry *grown = cs_grow(ini->entries, &ini->cap, ini->count, sizeof *grown, 32);
    if (!grown) {
        c->oom = true;
        return 0;
    }
    ini->entries = grown;
    cs_ini_entry *e = &ini->entries[ini->count];
    e->section = strdup(section);
    e->key = strdup(name);
    e->value = strdup(value ? value : "");
    e->used = false;
    e->line = cs__ini_locate(c, name);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        c->oom = true;
        return 0;
    }
    ini->count++;
    return 1;
}

cs_status cs_ini_load(cs_ini *ini, const char *path, cs_error *err)
{
    memset(ini, 0, sizeof *ini);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    while (text) {
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        if (cap >= ((size_t)16 << 20)) {
            fclose(f);
            free(text);
            return cs_error_set(err, CS_EINPUT, "%s: configuration file larger than 16 MB", path);
        }
        cap *= 2;
        char *t = realloc(text, cap + 1);
        if (!t) {
            free(text);
            text = NULL;
        } else
            text = t;
    }
    fclose(f);
    if (!text)
        return cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        free(text);
        return cs_error_set(err, CS_EINPUT, "%s: binary data in a configuration file", path);
    }
    ini->path = strdup(path);
    cs__ini_ctx ctx = {ini, text, text, 1, false};
    int rc = ini_parse_string(text, cs__ini_handler, &ctx);
    free(text);
    if (ctx.oom) {
        cs_ini_free(ini);
        return cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
    }
    if (rc != 0) {
        cs_ini_free(ini);
        return cs_error_set(err, CS_EINPUT, "%s:%d: malformed line (expected [section] or key = value)", path, rc);
    }
    if (ini->count == 0) {
        cs_ini_free(ini);
        return cs_error_set(err, CS_EINPUT, "%s: no settings found (empty configuration file?)", path);
    }
    return CS_OK;
}

void cs_ini_free(cs_ini *ini)
{
    for (size_t i = 0; i < ini->count; i++) {
        free(ini->entries[i].section);
        free(ini->entries[i].key);
        free(ini->entries[i].value);
    }
    free(ini->entries);
    free(ini->path);
    memset(ini, 0, sizeof *ini);
}

cs_ini_entry *cs_ini_find(cs_ini *ini, const char *section, const char *key)
{
    cs_ini_entry *found = NULL;
    for (size_t i = 0; i < ini->count; i++) {
        cs_ini_entry *e = &ini->entries[i];
        if (strcmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0) {
            e->used = true;
            found = e; /* the last one wins, as in configparser */
        }
    }
    return found;
}

bool cs_ini_has_section(const cs_ini *ini, const char *section)
{
    for (size_t i = 0; i < ini->count; i++)
        if (strcmp(ini->entries[i].section, section) == 0)
            return true;
    return false;
}

static cs_status cs__missing(cs_ini *ini, const char *section, const char *key, cs_error *err)
{
    return cs_error_set(err, CS_EINPUT, "%s: [%s] %s is missing", ini->path, section, key);
}

cs_status cs_ini_get_u64(cs_ini *ini, const char *section, const char *key, bool required, uint64_t min,
                         uint64_t max, uint64_t *out, cs_error *err)
{
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return required ? cs__missing(ini, section, key, err) : CS_OK;
    uint64_t v;
    if (!cs_parse_u64(e->value, &v))
        return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: '%s' is not a non-negative integer", ini->path, e->line,
                            section, key, e->value);
    if (v < min || v > max)
        return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: %llu is outside %llu..%llu", ini->path, e->line, section,
                            key, (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return CS_OK;
}

cs_status cs_ini_get_double(cs_ini *ini, const char *section, const char *key, bool required, double min,
                            double max, double *out, cs_error *err)
{
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return required ? cs__missing(ini, section, key, err) : CS_OK;
    double v;
    if (!cs_parse_double(e->value, &v) || !isfinite(v))
        return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: '%s' is not a number", ini->path, e->line, section, key,
                            e->value);
    if (v < min || v > max)
        return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: %g is outside %g..%g", ini->path, e->line, section, key,
                            v, min, max);
    *out = v;
    return CS_OK;
}

cs_status cs_ini_get_bool(cs_ini *ini, const char *section, const char *key, bool required, bool *out,
                          cs_error *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return required ? cs__missing(ini, section, key, err) : CS_OK;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = true;
            return CS_OK;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *out = false;
            return CS_OK;
        }
    }
    return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: '%s' is not true or false", ini->path, e->line, section, key,
                        e->value);
}

cs_status cs_ini_get_string(cs_ini *ini, const char *section, const char *key, bool required, const char **out,
                            cs_error *err)
{
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return required ? cs__missing(ini, section, key, err) : CS_OK;
    *out = e->value;
    return CS_OK;
}

cs_status cs_ini_get_choice(cs_ini *ini, const char *section, const char *key, bool required,
                            const char *const *choices, size_t nchoices, size_t *index, cs_error *err)
{
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return required ? cs__missing(ini, section, key, err) : CS_OK;
    for (size_t i = 0; i < nchoices; i++)
        if (strcasecmp(e->value, choices[i]) == 0) {
            *index = i;
            return CS_OK;
        }
    char list[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < nchoices && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", choices[i]);
    return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: '%s' is not one of %s", ini->path, e->line, section, key,
                        e->value, list);
}

cs_status cs_ini_check_unused(const cs_ini *ini, cs_error *err)
{
    for (size_t i = 0; i < ini->count; i++) {
        const cs_ini_entry *e = &ini->entries[i];
        if (!e->used)
            return cs_error_set(err, CS_EINPUT, "%s:%d: unknown key '%s' in [%s]", ini->path, e->line, e->key,
                                e->section);
    }
    return CS_OK;
}
