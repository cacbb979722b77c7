/* Memory traces: Ramulator's LoadStore format and DRAMsim3's timed format
 * (docs/FORMATS.md), and the frontend that plays them into the model. */
#include "dram_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct cs__tok {
    const char *s;
    size_t len;
} cs__tok;

static size_t cs__split(const char *line, size_t len, cs__tok *tok, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        if (n < max)
            tok[n] = (cs__tok){line + start, i - start};
        n++;
    }
    return n;
}

static bool cs__tok_is(cs__tok t, const char *word) { return t.len == strlen(word) && !strncmp(t.s, word, t.len); }

static bool cs__tok_is_ci(cs__tok t, const char *word)
{
    return t.len == strlen(word) && !strncasecmp(t.s, word, t.len);
}

/* Unsigned integer in base 16 (hex: optional 0x) or 10 (0x switches to 16). */
static bool cs__parse_uint(cs__tok t, bool hex, uint64_t *out)
{
    const char *p = t.s, *end = t.s + t.len;
    if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
        p += 2;
    }
    if (p == end)
        return false;
    uint64_t v = 0;
    unsigned base = hex ? 16 : 10;
    for (; p < end; p++) {
        unsigned dg;
        if (*p >= '0' && *p <= '9')
            dg = (unsigned)(*p - '0');
        else if (hex && isxdigit((unsigned char)*p))
            dg = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        else
            return false;
        if (v > (UINT64_MAX - dg) / base)
            return false;
        v = v * base + dg;
    }
    *out = v;
    return true;
}

typedef struct cs__trace_builder {
    cs_dram_trace *t;
    size_t cap;
} cs__trace_builder;

static bool cs__trace_push(cs__trace_builder *b, uint64_t addr, bool is_write, uint64_t cycle)
{
    cs_dram_trace *t = b->t;
    if (t->count == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4096;
        uint64_t *a = realloc(t->addr, cap * sizeof *a);
        if (a)
            t->addr = a;
        uint8_t *w = realloc(t->is_write, cap);
        if (w)
            t->is_write = w;
        uint64_t *c = t->format == CS_DRAM_TRACE_DRAMSIM3 ? realloc(t->cycle, cap * sizeof *c) : NULL;
        if (c)
            t->cycle = c;
        if (!a || !w || (t->format == CS_DRAM_TRACE_DRAMSIM3 && !c))
            return false;
        b->cap = cap;
    }
    t->addr[t->count] = addr;
    t->is_write[t->count] = is_write;
    if (t->cycle)
        t->cycle[t->count] = cycle;
    t->count++;
    return true;
}

static char *cs__read_all(const char *path, size_t *len, cs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cs_error_set(err, errno == ENOMEM ? CS_ERUNTIME : CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *b = realloc(buf, 2 * cap + 1);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!buf) {
        cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        cs_error_set(err, CS_EINPUT, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A short, printable excerpt of a bad line for the message. */
static const char *cs__excerpt(const char *line, size_t len, char *buf, size_t size)
{
    size_t n = len < size - 4 ? len : size - 4;
    for (size_t i = 0; i < n; i++)
        buf[i] = isprint((unsigned char)line[i]) ? line[i] : '?';
    strcpy(buf + n, len > n ? "..." : "");
    return buf;
}

cs_status cs_dram_trace_load(const char *path, cs_dram_trace_format format, uint64_t capacity_bytes, bool wrap,
                             cs_dram_trace *trace, cs_error *err)
{
    memset(trace, 0, sizeof *trace);
    size_t len;
    char *text = cs__read_all(path, &len, err);
    if (!text)
        return err ? err->status : CS_EINPUT;
    if (memchr(text, '\0', len)) {
        free(text);
        return cs_error_set(err, CS_EINPUT, "%s: binary data in a trace file", path);
    }
    cs__trace_builder b = {trace, 0};
    cs_status st = CS_OK;
    uint64_t last_cycle = 0;
    char ex[48];
    size_t lineno = 0;
    for (char *line = text, *next; line < text + len; line = next) {
        char *eol = memchr(line, '\n', (size_t)(text + len - line));
        next = eol ? eol + 1 : text + len;
        size_t n = (size_t)((eol ? eol : text + len) - line);
        lineno++;
        if (n && line[n - 1] == '\r')
            n--;
        cs__tok tok[4];
        size_t ntok = cs__split(line, n, tok, 4);
        if (ntok == 0 || tok[0].s[0] == '#') /* blank line or comment */
            continue;
        if (format == CS_DRAM_TRACE_AUTO)
            format = cs__tok_is(tok[0], "LD") || cs__tok_is(tok[0], "ST") ? CS_DRAM_TRACE_LOADSTORE
                                                                          : CS_DRAM_TRACE_DRAMSIM3;
        trace->format = format;
        uint64_t addr = 0, cycle = 0;
        bool is_write;
        if (format == CS_DRAM_TRACE_LOADSTORE) {
            if (ntok != 2 || !(cs__tok_is(tok[0], "LD") || cs__tok_is(tok[0], "ST"))) {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: expected 'LD ADDRESS' or 'ST ADDRESS', got '%s'", path,
                                  lineno, cs__excerpt(line, n, ex, sizeof ex));
                break;
            }
            is_write = tok[0].s[0] == 'S';
            if (!cs__parse_uint(tok[1], false, &addr)) {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: '%s' is not an address (0x-prefixed hex or decimal)",
                                  path, lineno, cs__excerpt(tok[1].s, tok[1].len, ex, sizeof ex));
                break;
            }
        } else {
            if (ntok != 3) {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: expected 'ADDRESS READ|WRITE CYCLE', got '%s'", path,
                                  lineno, cs__excerpt(line, n, ex, sizeof ex));
                break;
            }
            if (!cs__parse_uint(tok[0], true, &addr)) {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: '%s' is not a hexadecimal address", path, lineno,
                                  cs__excerpt(tok[0].s, tok[0].len, ex, sizeof ex));
                break;
            }
            if (cs__tok_is_ci(tok[1], "READ") || cs__tok_is(tok[1], "P_MEM_RD") || cs__tok_is(tok[1], "P_FETCH"))
                is_write = false;
            else if (cs__tok_is_ci(tok[1], "WRITE") || cs__tok_is(tok[1], "P_MEM_WR") || cs__tok_is(tok[1], "BOFF"))
                is_write = true;
            else {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: '%s' is not READ or WRITE", path, lineno,
                                  cs__excerpt(tok[1].s, tok[1].len, ex, sizeof ex));
                break;
            }
            if (!cs__parse_uint(tok[2], false, &cycle)) {
                st = cs_error_set(err, CS_EINPUT, "%s:%zu: '%s' is not a cycle number", path, lineno,
                                  cs__excerpt(tok[2].s, tok[2].len, ex, sizeof ex));
                break;
            }
            if (cycle < last_cycle) {
                st = cs_error_set(err, CS_EINPUT,
                                  "%s:%zu: cycle %llu is earlier than the previous request's %llu (requests must be "
                                  "in time order)",
                                  path, lineno, (unsigned long long)cycle, (unsigned long long)last_cycle);
                break;
            }
            last_cycle = cycle;
        }
        if (capacity_bytes && addr >= capacity_bytes) {
            if (!wrap) {
                st = cs_error_set(err, CS_EINPUT,
                                  "%s:%zu: address 0x%llx is beyond the DRAM's capacity of %llu bytes (0x%llx)",
                                  path, lineno, (unsigned long long)addr, (unsigned long long)capacity_bytes,
                                  (unsigned long long)capacity_bytes);
                break;
            }
            addr &= capacity_bytes - 1;
        }
        if (!cs__trace_push(&b, addr, is_write, cycle)) {
            st = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
            break;
        }
    }
    free(text);
    if (st == CS_OK && trace->count == 0)
        st = cs_error_set(err, CS_EINPUT, "%s: no requests in the trace", path);
    if (st != CS_OK)
        cs_dram_trace_free(trace);
    return st;
}

void cs_dram_trace_free(cs_dram_trace *trace)
{
    free(trace->addr);
    free(trace->cycle);
    free(trace->is_write);
    memset(trace, 0, sizeof *trace);
}

/* Advances to the next cycle at which anything can change. */
static bool cs__wait_for_event(cs_dram *d)
{
    uint64_t next = cs_dram_next_event(d);
    if (next == UINT64_MAX)
        return false;
    cs_dram_advance_to(d, next);
    return true;
}

cs_status cs_dram_run_trace(cs_dram *d, const cs_dram_trace *trace, cs_dram_trace_result *res, cs_error *err)
{
    memset(res, 0, sizeof *res);
    if (cs_dram_cycle(d) != 0 || cs_dram_in_flight(d) != 0)
        return cs_error_set(err, CS_ERUNTIME, "DRAM trace run needs a fresh model");
    double t0 = cs_now_seconds();
    for (size_t i = 0; i < trace->count; i++) {
        /* One request per cycle, in order, each first offered at its cycle. */
        if (i)
            cs_dram_advance_to(d, cs_dram_cycle(d) + 1);
        if (trace->cycle && trace->cycle[i] > cs_dram_cycle(d))
            cs_dram_advance_to(d, trace->cycle[i]);
        while (!cs_dram_try_send(d, trace->addr[i], trace->is_write[i], i))
            if (!cs__wait_for_event(d))
                return cs_error_set(err, CS_ERUNTIME, "DRAM model stalled at cycle %llu (request %zu)",
                                    (unsigned long long)cs_dram_cycle(d), i);
    }
    cs_dram_get_stats(d, &res->at_last_accept);
    while (cs_dram_in_flight(d))
        if (!cs__wait_for_event(d))
            return cs_error_set(err, CS_ERUNTIME, "DRAM model stalled at cycle %llu while draining",
                                (unsigned long long)cs_dram_cycle(d));
    res->wall_seconds = cs_now_seconds() - t0;
    cs_dram_get_stats(d, &res->all_done);
    res->cycles_all_done = d->last_completion;
    res->read_latency_p50 = cs_dram_read_latency_quantile(d, 0.5);
    res->read_latency_p99 = cs_dram_read_latency_quantile(d, 0.99);
    return CS_OK;
}
