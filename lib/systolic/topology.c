/* SCALE-Sim topology CSVs (topology_utils.py): the first line is a header
 * whatever it holds, blank lines are skipped, and every data row ends with a
 * comma because SCALE-Sim drops the last field. A row without the comma is
 * an error here rather than a silently shorter row. */
#include "colscope/systolic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CS__MAX_FIELD ((uint64_t)1 << 32)

static char *cs__strip(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

void cs_topology_free(cs_topology *topo)
{
    for (size_t i = 0; i < topo->count; i++)
        free(topo->layers[i].name);
    free(topo->layers);
    memset(topo, 0, sizeof *topo);
}

const cs_layer *cs_topology_find(const cs_topology *topo, const char *name)
{
    for (size_t i = 0; i < topo->count; i++)
        if (strcmp(topo->layers[i].name, name) == 0)
            return &topo->layers[i];
    return NULL;
}

static cs_status cs__push(cs_topology *topo, const cs_layer *l, cs_error *err)
{
    cs_layer *n = cs_grow(topo->layers, &topo->cap, topo->count, sizeof *n, 64);
    if (!n)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    topo->layers = n;
    topo->layers[topo->count] = *l;
    topo->layers[topo->count].name = strdup(l->name ? l->name : "");
    if (!topo->layers[topo->count].name)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    topo->count++;
    return CS_OK;
}

/* Output size as SCALE-Sim computes it: ceil((H - F + S) / S), no padding.
 * When the stride does not divide H - F this counts one more output whose
 * window runs off the map, as SCALE-Sim does. */
static uint64_t cs__out_size(uint64_t H, uint64_t F, uint64_t S) { return (H - F + S + S - 1) / S; }

static void cs__lower(cs_layer *l)
{
    l->Ho = cs__out_size(l->H, l->Fh, l->Sh);
    l->Wo = cs__out_size(l->W, l->Fw, l->Sw);
    l->M = l->Ho * l->Wo;
    l->K = l->Fh * l->Fw * l->C;
}

cs_status cs_topology_add_gemm(cs_topology *topo, const char *name, uint64_t M, uint64_t N, uint64_t K,
                               cs_error *err)
{
    cs_layer l;
    memset(&l, 0, sizeof l);
    l.name = (char *)name;
    /* SCALE-Sim's GEMM form is the conv [H=M, W=K, Fh=1, Fw=K, C=1, N, 1, 1]. */
    l.H = M;
    l.W = K;
    l.Fh = 1;
    l.Fw = K;
    l.C = 1;
    l.Sh = l.Sw = 1;
    l.N = N;
    l.nm_n = l.nm_m = 1;
    cs__lower(&l);
    return cs__push(topo, &l, err);
}

static bool cs__parse_nm(const char *s, uint64_t *n, uint64_t *m)
{
    const char *colon = strchr(s, ':');
    if (!colon)
        return false;
    char a[32], b[32];
    size_t la = (size_t)(colon - s);
    if (la == 0 || la >= sizeof a || strlen(colon + 1) >= sizeof b)
        return false;
    memcpy(a, s, la);
    a[la] = '\0';
    strcpy(b, colon + 1);
    return cs_parse_u64(a, n) && cs_parse_u64(b, m) && *n >= 1 && *m >= 1 && *n <= *m && *m <= 4096;
}

cs_status cs_topology_load(const char *path, cs_topology_kind kind, int version, cs_topology *topo, cs_error *err)
{
    memset(topo, 0, sizeof *topo);
    FILE *f = fopen(path, "r");
    if (!f)
        return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    static const char *const gemm_names[] = {"M", "N", "K"};
    static const char *const conv_names[] = {"IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                                             "Channels",     "Num Filter",  "Stride Height", "Stride Width"};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    cs_status rc = CS_OK;
    while ((got = getline(&line, &cap, f)) != -1) {
        lineno++;
        if ((size_t)got != strlen(line)) {
            rc = cs_error_set(err, CS_EINPUT, "%s:%d: NUL byte (not a text file)", path, lineno);
            break;
        }
        char *row = cs__strip(line);
        if (lineno == 1 || !*row)
            continue; /* header, blank */
        size_t len = strlen(row);
        if (row[len - 1] != ',') {
            rc = cs_error_set(err, CS_EINPUT,
                              "%s:%d: row must end with a comma (SCALE-Sim drops the field after the last comma)", path,
                              lineno);
            break;
        }
        row[len - 1] = '\0';
        char *fields[16];
        int nf = 0;
        for (char *p = row;;) {
            char *c = strchr(p, ',');
            if (nf == 16) {
                nf++;
                break;
            }
            if (c)
                *c = '\0';
            fields[nf++] = cs__strip(p);
            if (!c)
                break;
            p = c + 1;
        }
        cs_layer l;
        memset(&l, 0, sizeof l);
        l.line = lineno;
        l.name = fields[0];
        l.nm_n = l.nm_m = 1;
        int need = kind == CS_TOPOLOGY_GEMM ? 4 : 8;
        int maxf = kind == CS_TOPOLOGY_GEMM ? 5 : 10;
        if (nf < need || nf > maxf) {
            rc = cs_error_set(err, CS_EINPUT, "%s:%d: %d fields, a %s row has %d to %d (name, %s)", path, lineno, nf,
                              kind == CS_TOPOLOGY_GEMM ? "GEMM" : "conv", need, maxf,
                              kind == CS_TOPOLOGY_GEMM ? "M, N, K[, N:M]" : "H, W, Fh, Fw, C, filters, stride[, stride W][, N:M]");
            break;
        }
        uint64_t v[8] = {0};
        int nnum = need - 1;
        /* Conv: a 9th field is the stride width unless it is N:M. */
        if (kind == CS_TOPOLOGY_CONV && nf >= 9 && !strchr(fields[8], ':'))
            nnum = 8;
        for (int i = 0; i < nnum; i++) {
            const char *fname = kind == CS_TOPOLOGY_GEMM ? gemm_names[i] : conv_names[i];
            if (!cs_parse_u64(fields[i + 1], &v[i]) || v[i] == 0 || v[i] > CS__MAX_FIELD) {
                rc = cs_error_set(err, CS_EINPUT, "%s:%d: field '%s': '%s' is not a positive integer", path, lineno,
                                  fname, fields[i + 1]);
                goto done;
            }
        }
        int rest = 1 + nnum;
        if (rest < nf) {
            if (rest + 1 < nf || !cs__parse_nm(fields[rest], &l.nm_n, &l.nm_m)) {
                rc = cs_error_set(err, CS_EINPUT, "%s:%d: field 'Sparsity': '%s' is not N:M with 1 <= N <= M", path,
                                  lineno, fields[rest]);
                goto done;
            }
        }
        if (kind == CS_TOPOLOGY_GEMM) {
            l.H = v[0];
            l.W = v[2];
            l.Fh = 1;
            l.Fw = v[2];
            l.C = 1;
            l.N = v[1];
            l.Sh = l.Sw = 1;
        } else {
            l.conv = true;
            l.H = v[0];
            l.W = v[1];
            l.Fh = v[2];
            l.Fw = v[3];
            l.C = v[4];
            l.N = v[5];
            l.Sh = v[6];
            l.Sw = nnum == 8 ? v[7] : v[6];
            if (l.Fh > l.H || l.Fw > l.W) {
                rc = cs_error_set(err, CS_EINPUT, "%s:%d: filter %llux%llu larger than the %llux%llu input", path, lineno,
                                  (unsigned long long)l.Fh, (unsigned long long)l.Fw, (unsigned long long)l.H,
                                  (unsigned long long)l.W);
                goto done;
            }
        }
        (void)version; /* v2 and v3 read the same fields here; v3 differs only in what it rejects */
        cs__lower(&l);
        if (l.M > CS__MAX_FIELD || l.K > CS__MAX_FIELD || l.M * l.K > ((uint64_t)1 << 50) ||
            l.K * l.N > ((uint64_t)1 << 50) || l.M * l.N > ((uint64_t)1 << 50)) {
            rc = cs_error_set(err, CS_EINPUT, "%s:%d: layer '%s' is absurdly large (M=%llu, N=%llu, K=%llu)", path,
                              lineno, l.name, (unsigned long long)l.M, (unsigned long long)l.N, (unsigned long long)l.K);
            goto done;
        }
        if (kind == CS_TOPOLOGY_CONV && strstr(l.name, "DP")) {
            /* Depthwise: SCALE-Sim runs one single-channel layer per channel. */
            uint64_t channels = l.C;
            char *base = l.name;
            l.C = 1;
            cs__lower(&l);
            for (uint64_t c = 0; c < channels && rc == CS_OK; c++) {
                char name[512];
                snprintf(name, sizeof name, "%sChannel_%llu", base, (unsigned long long)c);
                l.name = name;
                rc = cs__push(topo, &l, err);
            }
            if (rc != CS_OK)
                goto done;
        } else if ((rc = cs__push(topo, &l, err)) != CS_OK)
            goto done;
    }
    if (rc == CS_OK && ferror(f))
        rc = cs_error_set(err, CS_ERUNTIME, "%s: read error", path);
    if (rc == CS_OK && topo->count == 0)
        rc = cs_error_set(err, CS_EINPUT, "%s: no layers (a header line and at least one row are needed)", path);
done:
    free(line);
    fclose(f);
    if (rc != CS_OK)
        cs_topology_free(topo);
    return rc;
}
