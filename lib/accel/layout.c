/* Memory layouts: where each element of A, B and C lives in DRAM, and the
 * 32-byte atoms a unit of the schedule touches. A unit is turned into byte
 * intervals (one per contiguous run the layout gives it), sorted, merged and
 * rounded out to atoms, so an atom shared by two runs is fetched once. */
#include "accel_internal.h"

#include <stdlib.h>
#include <string.h>

const char *cs_layout_name(cs_layout l)
{
    static const char *const names[] = {"row", "col", "tiled", "compact"};
    return l < CS_LAYOUT_COUNT ? names[l] : "?";
}

bool cs_layout_from_name(const char *s, cs_layout *out)
{
    for (int i = 0; i < CS_LAYOUT_COUNT; i++)
        if (strcmp(s, cs_layout_name((cs_layout)i)) == 0) {
            *out = (cs_layout)i;
            return true;
        }
    return false;
}

static uint64_t cs__cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

void cs__layout_free(cs__layout_ctx *c)
{
    free(c->tile_start);
    free(c->word_rank);
    memset(c, 0, sizeof *c);
}

cs_status cs__layout_init(cs__layout_ctx *c, const cs_machine *m, const cs_layer *l, cs_layout layout,
                          const cs_colmask *layout_mask, cs_error *err)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->l = l;
    c->layout = layout;
    c->es = m->word_bytes;
    c->h = cs_accel_layout_tile_rows(m, l);
    c->a_bytes = l->M * l->K * c->es;
    if (layout == CS_LAYOUT_COMPACT) {
        if (!layout_mask) {
            /* No zeros known: every column of every tile is stored. */
            c->mask = NULL;
        } else {
            if (layout_mask->rows != l->M || layout_mask->features != l->K || layout_mask->tile_rows != c->h)
                return cs_error_set(err, CS_EINPUT, "layer '%s': compact layout needs a %llu x %llu mask in tiles of %llu",
                                    l->name, (unsigned long long)l->M, (unsigned long long)l->K,
                                    (unsigned long long)c->h);
            c->mask = layout_mask;
        }
        uint64_t tiles = cs__cdiv(l->M, c->h), words = cs__cdiv(l->K, 64);
        c->tile_start = malloc((tiles + 1) * sizeof *c->tile_start);
        c->word_rank = c->mask ? malloc(tiles * words * sizeof *c->word_rank) : NULL;
        if (!c->tile_start || (c->mask && !c->word_rank)) {
            cs__layout_free(c);
            return cs_error_set(err, CS_ERUNTIME, "out of memory");
        }
        uint64_t off = 0;
        for (uint64_t t = 0; t < tiles; t++) {
            uint64_t ht = l->M - t * c->h < c->h ? l->M - t * c->h : c->h;
            c->tile_start[t] = off;
            uint64_t stored = c->mask ? c->mask->nonzero[t] : l->K;
            if (c->mask) {
                uint32_t r = 0;
                for (uint64_t w = 0; w < words; w++) {
                    c->word_rank[t * words + w] = r;
                    r += (uint32_t)__builtin_popcountll(c->mask->bits[t * c->mask->words_per_tile + w]);
                }
            }
            off += stored * ht;
        }
        c->tile_start[tiles] = off;
        c->a_bytes = off * c->es;
        c->meta_bytes = tiles * cs__cdiv(l->K, 8);
    }
    /* Regions: A, B, C and the bitmaps one after another, each aligned to a
     * 2 KB DRAM page so no two operands share a row. */
    uint64_t sizes[CS__NOPS] = {c->a_bytes, l->K * l->N * c->es, c->meta_bytes, l->M * l->N * c->es};
    uint64_t order[CS__NOPS] = {CS__OP_A, CS__OP_B, CS__OP_C, CS__OP_META};
    uint64_t at = 0;
    for (int i = 0; i < CS__NOPS; i++) {
        c->base[order[i]] = at;
        at += (sizes[order[i]] + 2047) / 2048 * 2048;
    }
    return CS_OK;
}

typedef struct cs__iv {
    uint64_t lo, hi;
} cs__iv;

/* Where a unit's byte intervals go. First pass (direct): while they come
 * in ascending order of their start, each is rounded out to atoms and merged
 * into the output runs at once, which is what sorting and merging them
 * would give; the first one out of order stops that and the unit is
 * generated again collecting the intervals (v), to be sorted and merged. */
typedef struct cs__ivs {
    cs__iv *v;
    size_t n, cap;
    bool oom;
    bool direct, unsorted;
    uint64_t last_lo;
    cs__atom_run **runs;
    size_t *nruns, *cap_runs;
} cs__ivs;

/* Appends atoms [lo / 32, ceil(hi / 32)) to the runs, merged with the last
 * run when they overlap or touch it (the intervals come sorted by lo). */
static inline bool cs__runs_add(cs__atom_run **runs, size_t *nruns, size_t *cap, uint64_t lo, uint64_t hi)
{
    const uint64_t a0 = lo / CS_ATOM_BYTES, a1 = (hi + CS_ATOM_BYTES - 1) / CS_ATOM_BYTES;
    if (*nruns && (*runs)[*nruns - 1].first + (*runs)[*nruns - 1].count >= a0) {
        cs__atom_run *r = &(*runs)[*nruns - 1];
        if (a1 > r->first + r->count)
            r->count = a1 - r->first;
        return true;
    }
    if (*nruns == *cap) {
        cs__atom_run *p = cs_grow(*runs, cap, *nruns, sizeof *p, 256);
        if (!p)
            return false;
        *runs = p;
    }
    (*runs)[(*nruns)++] = (cs__atom_run){a0, a1 - a0};
    return true;
}

/* cs__iv_add's other cases: an interval out of order (direct), or collecting. */
static void cs__iv_other(cs__ivs *s, uint64_t lo, uint64_t len)
{
    if (!len)
        return;
    if (s->direct) { /* reached only out of order */
        s->unsorted = true;
        return;
    }
    if (s->n && s->v[s->n - 1].hi == lo) { /* extend the previous run */
        s->v[s->n - 1].hi = lo + len;
        return;
    }
    if (s->n == s->cap) {
        cs__iv *v = cs_grow(s->v, &s->cap, s->n, sizeof *v, 1024);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
    }
    s->v[s->n++] = (cs__iv){lo, lo + len};
}

/* Inlined into the layouts' loops: the in-order case is a few instructions. */
static inline __attribute__((always_inline)) void cs__iv_add(cs__ivs *s, uint64_t lo, uint64_t len)
{
    if (s->direct && len && lo >= s->last_lo && !s->unsorted) {
        s->last_lo = lo;
        if (!cs__runs_add(s->runs, s->nruns, s->cap_runs, lo, lo + len))
            s->oom = true;
        return;
    }
    cs__iv_other(s, lo, len);
}

static int cs__iv_cmp(const void *a, const void *b)
{
    const cs__iv *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Column rank of k among the stored columns of compact tile t. */
static uint64_t cs__rank(const cs__layout_ctx *c, uint64_t t, uint64_t k)
{
    uint64_t words = cs__cdiv(c->l->K, 64);
    uint64_t w = c->mask->bits[t * c->mask->words_per_tile + k / 64];
    return c->word_rank[t * words + k / 64] + (uint64_t)__builtin_popcountll(w & ((1ull << (k % 64)) - 1));
}

/* The maximal runs of consecutive columns in klist[j0, j1) as (first, length)
 * pairs, the same for every row a unit covers; NULL when out of memory. */
static cs__iv *cs__k_runs(const uint32_t *klist, uint64_t j0, uint64_t j1, size_t *n)
{
    cs__iv *r = malloc((j1 > j0 ? j1 - j0 : 1) * sizeof *r);
    *n = 0;
    if (!r)
        return NULL;
    for (uint64_t j = j0; j < j1;) {
        uint64_t k = klist[j], run = 1;
        while (j + run < j1 && klist[j + run] == k + run)
            run++;
        r[(*n)++] = (cs__iv){k, run};
        j += run;
    }
    return r;
}

/* Each row of [r0, r1) holds the column runs at base + (row * stride + first) * es. */
static void cs__rows_of_runs(cs__ivs *iv, const uint32_t *klist, uint64_t j0, uint64_t j1, uint64_t r0, uint64_t r1,
                             uint64_t base, uint64_t stride, uint64_t es)
{
    size_t n;
    cs__iv *runs = cs__k_runs(klist, j0, j1, &n);
    if (!runs) {
        iv->oom = true;
        return;
    }
    for (uint64_t r = r0; r < r1; r++)
        for (size_t i = 0; i < n; i++)
            cs__iv_add(iv, base + (r * stride + runs[i].lo) * es, runs[i].hi * es);
    free(runs);
}

static void cs__a_intervals(const cs__layout_ctx *c, const cs__unit *u, cs__ivs *iv)
{
    const cs_layer *l = c->l;
    const uint64_t es = c->es, K = l->K, M = l->M, base = c->base[CS__OP_A];
    switch (c->layout) {
    case CS_LAYOUT_ROW:
        cs__rows_of_runs(iv, u->klist, u->j0, u->j1, u->m0, u->m1, base, K, es);
        break;
    case CS_LAYOUT_COL:
        for (uint64_t j = u->j0; j < u->j1; j++)
            cs__iv_add(iv, base + (u->klist[j] * M + u->m0) * es, (u->m1 - u->m0) * es);
        break;
    default: { /* tiled and compact: tile t holds its columns one after another */
        const uint64_t h = c->h;
        for (uint64_t t = u->m0 / h; t * h < u->m1; t++) {
            uint64_t t0 = t * h, ht = M - t0 < h ? M - t0 : h;
            uint64_t r0 = u->m0 > t0 ? u->m0 - t0 : 0, r1 = u->m1 < t0 + ht ? u->m1 - t0 : ht;
            for (uint64_t j = u->j0; j < u->j1; j++) {
                uint64_t k = u->klist[j], col;
                if (c->layout == CS_LAYOUT_TILED)
                    col = t0 * K + k * ht;
                else if (!c->mask)
                    col = c->tile_start[t] + k * ht;
                else if (!cs_colmask_get(c->mask, t, k))
                    continue; /* a zero column is not stored: nothing to fetch */
                else
                    col = c->tile_start[t] + cs__rank(c, t, k) * ht;
                cs__iv_add(iv, base + (col + r0) * es, (r1 - r0) * es);
            }
        }
        break;
    }
    }
}

static void cs__b_intervals(const cs__layout_ctx *c, const cs__unit *u, cs__ivs *iv)
{
    const uint64_t es = c->es, K = c->l->K, N = c->l->N, base = c->base[CS__OP_B];
    if (c->m->weight_layout == CS_WEIGHTS_ROW) {
        for (uint64_t j = u->j0; j < u->j1; j++)
            cs__iv_add(iv, base + (u->klist[j] * N + u->n0) * es, (u->n1 - u->n0) * es);
        return;
    }
    cs__rows_of_runs(iv, u->klist, u->j0, u->j1, u->n0, u->n1, base, K, es); /* [N, K] as torch.nn.Linear stores it */
}

static void cs__unit_intervals(const cs__layout_ctx *c, const cs__unit *u, cs__ivs *iv)
{
    const uint64_t N = c->l->N, es = c->es;
    switch (u->op) {
    case CS__OP_A:
        cs__a_intervals(c, u, iv);
        break;
    case CS__OP_B:
        cs__b_intervals(c, u, iv);
        break;
    case CS__OP_META: {
        uint64_t mb = cs__cdiv(c->l->K, 8);
        for (uint64_t t = u->m0 / c->h; t * c->h < u->m1; t++)
            cs__iv_add(iv, c->base[CS__OP_META] + t * mb, mb);
        break;
    }
    default:
        for (uint64_t m = u->m0; m < u->m1; m++)
            cs__iv_add(iv, c->base[CS__OP_C] + (m * N + u->n0) * es, (u->n1 - u->n0) * es);
        break;
    }
}

cs_status cs__layout_atoms(const cs__layout_ctx *c, const cs__unit *u, cs__atom_run **runs, size_t *nruns,
                           size_t *cap, cs_error *err)
{
    *nruns = 0;
    cs__ivs iv = {.direct = true, .runs = runs, .nruns = nruns, .cap_runs = cap};
    cs__unit_intervals(c, u, &iv);
    if (iv.oom)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    if (!iv.unsorted)
        return CS_OK;
    iv = (cs__ivs){0};
    cs__unit_intervals(c, u, &iv);
    if (iv.oom) {
        free(iv.v);
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    }
    /* Sorted only when the layout produced them out of order. */
    bool sorted = true;
    for (size_t i = 1; i < iv.n && sorted; i++)
        sorted = iv.v[i - 1].lo <= iv.v[i].lo;
    if (!sorted)
        qsort(iv.v, iv.n, sizeof *iv.v, cs__iv_cmp);
    *nruns = 0;
    for (size_t i = 0; i < iv.n; i++)
        if (!cs__runs_add(runs, nruns, cap, iv.v[i].lo, iv.v[i].hi)) {
            free(iv.v);
            return cs_error_set(err, CS_ERUNTIME, "out of memory");
        }
    free(iv.v);
    return CS_OK;
}
