/* The schedule of one layer: the folds colscope's compute model runs (the
 * same folds and fold lengths as lib/systolic, so with an ideal memory the
 * total is the compute model's cycles exactly), and for each fold the pieces
 * of A and B it reads and of C it writes, with the offset in the fold at
 * which each is first needed (or produced) and at which its buffer space
 * frees. Loop orders and reuse rules: docs/MODEL.md, "Accelerator". */
#include "accel_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t cs__cdiv64(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t cs__min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t cs__max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

void cs__schedule_free(cs__schedule *s)
{
    for (size_t i = 0; i < s->nklists; i++)
        free(s->klists[i]);
    free(s->klists);
    free(s->folds);
    free(s->units);
    free(s->events);
    memset(s, 0, sizeof *s);
}

/* Room for one more element of arr (n used of cap), or return false. */
#define CS__GROW(arr, n, cap)                                                                                    \
    do {                                                                                                         \
        void *p_ = cs_grow((arr), &(cap), (n), sizeof *(arr), 256);                                             \
        if (!p_)                                                                                                 \
            return false;                                                                                        \
        (arr) = p_;                                                                                              \
    } while (0)

static bool cs__add_fold(cs__schedule *s, uint64_t rows)
{
    CS__GROW(s->folds, s->nfolds, s->cap_folds);
    s->folds[s->nfolds].rows = rows;
    s->folds[s->nfolds].ev0 = s->folds[s->nfolds].ev1 = 0;
    s->nfolds++;
    s->compute_cycles += rows;
    return true;
}

static bool cs__add_unit(cs__schedule *s, const cs__unit *u)
{
    CS__GROW(s->units, s->nunits, s->cap_units);
    s->units[s->nunits++] = *u;
    return true;
}

static uint32_t *cs__klist(cs__schedule *s, uint64_t n)
{
    if (s->nklists == s->cap_klists) {
        size_t cap = s->cap_klists ? s->cap_klists * 2 : 64;
        uint32_t **p = realloc(s->klists, cap * sizeof *p);
        if (!p)
            return NULL;
        s->klists = p;
        s->cap_klists = cap;
    }
    uint32_t *k = malloc((n ? n : 1) * sizeof *k);
    if (k)
        s->klists[s->nklists++] = k;
    return k;
}

/* The non-zero columns of tile t of mask. */
static uint32_t *cs__nonzero_list(cs__schedule *s, const cs_colmask *mask, uint64_t t, uint64_t *n)
{
    uint32_t *k = cs__klist(s, mask->nonzero[t]);
    if (!k)
        return NULL;
    uint64_t c = 0;
    for (uint64_t f = 0; f < mask->features; f++)
        if (cs_colmask_get(mask, t, f))
            k[c++] = (uint32_t)f;
    *n = c;
    return k;
}

static bool cs__kfold_busy(const cs_colmask *m, uint64_t t, uint64_t j0, uint64_t j1)
{
    for (uint64_t k = j0; k < j1; k++)
        if (cs_colmask_get(m, t, k))
            return true;
    return false;
}

/* A read unit needed at `need` and released at `release` of the current fold. */
static bool cs__read(cs__schedule *s, uint8_t op, uint64_t m0, uint64_t m1, const uint32_t *kl, uint64_t j0,
                     uint64_t j1, uint64_t n0, uint64_t n1, uint64_t need, uint64_t release, bool meta)
{
    uint32_t f = (uint32_t)(s->nfolds - 1);
    if (meta) { /* the compact layout's bitmaps of the tiles this piece of A spans */
        cs__unit mu = {.op = CS__OP_META, .m0 = m0, .m1 = m1, .fold = f, .need = need, .release_fold = f,
                       .release = release};
        if (!cs__add_unit(s, &mu))
            return false;
    }
    cs__unit u = {.op = op, .m0 = m0, .m1 = m1, .klist = kl, .j0 = j0, .j1 = j1, .n0 = n0, .n1 = n1,
                  .fold = f, .need = need, .release_fold = f, .release = release};
    return cs__add_unit(s, &u);
}

static bool cs__write(cs__schedule *s, uint64_t m0, uint64_t m1, uint64_t n0, uint64_t n1, uint64_t produced)
{
    uint32_t f = (uint32_t)(s->nfolds - 1);
    cs__unit u = {.op = CS__OP_C, .m0 = m0, .m1 = m1, .n0 = n0, .n1 = n1, .fold = f, .need = produced};
    return cs__add_unit(s, &u);
}

typedef struct cs__sched_ctx {
    const cs_machine *m;
    const cs_layer *l;
    const cs_colmask *mask; /* skip mask, NULL for dense */
    cs_skip_policy policy;
    bool meta;              /* compact layout: A pieces come with bitmaps */
    uint64_t R, C, es;
    uint64_t chunk[CS__NOPS];
    const uint32_t *identity;
} cs__sched_ctx;

/* The K columns a token tile t computes: all of them (dense, fold policy) or
 * its non-zero ones (compact). */
static const uint32_t *cs__tile_klist(cs__schedule *s, const cs__sched_ctx *c, uint64_t t, uint64_t *n)
{
    /* a tile without zero columns computes all of K, exactly as dense */
    if (!c->mask || c->policy == CS_SKIP_FOLD || c->mask->nonzero[t] == c->l->K) {
        *n = c->l->K;
        return c->identity;
    }
    return cs__nonzero_list(s, c->mask, t, n);
}

/* K-folds of a tile as [j0, j1) ranges of its klist; returns false when the
 * fold policy skips this one. */
static bool cs__kfold_runs(const cs__sched_ctx *c, uint64_t t, uint64_t j0, uint64_t j1)
{
    if (!c->mask || c->policy == CS_SKIP_COMPACT)
        return true;
    return cs__kfold_busy(c->mask, t, j0, j1);
}

/* WS, loop order token block > K-fold > column fold: the block's activation
 * slice streams in every column fold, so with the slice in the on-chip cache
 * (when it fits) the column folds after the first read it from SRAM;
 * SCALE-Sim's order (column fold outside) would re-stream it per column
 * fold. The folds and their lengths are the compute model's; only their
 * order differs. */
static bool cs__build_ws(cs__schedule *s, const cs__sched_ctx *c)
{
    const cs_layer *l = c->l;
    const uint64_t R = c->R, C = c->C, M = l->M, N = l->N;
    uint64_t h = c->mask ? c->mask->tile_rows : M;
    for (uint64_t b = 0; b * h < M; b++) {
        uint64_t m0 = b * h, m1 = cs__min64(M, m0 + h), T = m1 - m0, nk;
        const uint32_t *kl = cs__tile_klist(s, c, b, &nk);
        if (!kl)
            return false;
        for (uint64_t j0 = 0; j0 < nk; j0 += R) {
            uint64_t j1 = cs__min64(nk, j0 + R), ru = j1 - j0;
            if (!cs__kfold_runs(c, b, j0, j1))
                continue;
            for (uint64_t n0 = 0; n0 < N; n0 += C) {
                uint64_t n1 = cs__min64(N, n0 + C), cu = n1 - n0;
                uint64_t P = 2 * R + C + T - 2;
                if (!cs__add_fold(s, P))
                    return false;
                /* weights: loaded during the first R rows, held to the end */
                if (!cs__read(s, CS__OP_B, 0, 0, kl, j0, j1, n0, n1, 0, P, false))
                    return false;
                /* activations stream one token per row from row R */
                uint64_t tc = cs__max64(1, c->chunk[CS__OP_A] / (ru * c->es));
                for (uint64_t t = m0; t < m1; t += tc) {
                    uint64_t t2 = cs__min64(m1, t + tc);
                    if (!cs__read(s, CS__OP_A, t, t2, kl, j0, j1, 0, 0, R + (t - m0), R + (t2 - m0), c->meta))
                        return false;
                }
                /* partial sums leave a token's row R - 1 + C - 1 rows later */
                uint64_t wc = cs__max64(1, c->chunk[CS__OP_C] / (cu * c->es));
                for (uint64_t t = m0; t < m1; t += wc) {
                    uint64_t t2 = cs__min64(m1, t + wc);
                    if (!cs__write(s, t, t2, n0, n1, cs__min64(P - 1, (t2 - m0) + 2 * R + C - 3)))
                        return false;
                }
            }
        }
    }
    return true;
}

/* One IS fold: a tile of tokens stationary, the weights' K slice streaming
 * one output column per row. */
static bool cs__is_fold(cs__schedule *s, const cs__sched_ctx *c, uint64_t m0, uint64_t m1, const uint32_t *kl,
                        uint64_t j0, uint64_t j1)
{
    const uint64_t R = c->R, C = c->C, N = c->l->N, ru = j1 - j0;
    uint64_t P = 2 * R + C + N - 2;
    if (!cs__add_fold(s, P))
        return false;
    if (!cs__read(s, CS__OP_A, m0, m1, kl, j0, j1, 0, 0, 0, P, c->meta))
        return false;
    uint64_t nc = cs__max64(1, c->chunk[CS__OP_B] / (ru * c->es));
    for (uint64_t n0 = 0; n0 < N; n0 += nc) {
        uint64_t n1 = cs__min64(N, n0 + nc);
        if (!cs__read(s, CS__OP_B, 0, 0, kl, j0, j1, n0, n1, R + n0, R + n1, false))
            return false;
    }
    uint64_t wc = cs__max64(1, c->chunk[CS__OP_C] / ((m1 - m0) * c->es));
    for (uint64_t n0 = 0; n0 < N; n0 += wc) {
        uint64_t n1 = cs__min64(N, n0 + wc);
        if (!cs__write(s, m0, m1, n0, n1, cs__min64(P - 1, n1 + 2 * R + C - 3)))
            return false;
    }
    return true;
}

/* IS, loop order K-fold position > token tile: consecutive folds stream the
 * same weight rows (dense, fold policy) or mostly the same (compaction keeps
 * each tile's non-zero columns, which overlap), so the on-chip cache serves
 * them after the first token tile. */
static bool cs__build_is(cs__schedule *s, const cs__sched_ctx *c)
{
    const cs_layer *l = c->l;
    const uint64_t R = c->R, C = c->C, M = l->M;
    const uint64_t ntiles = cs__cdiv64(M, C);
    const uint32_t **kls = calloc(ntiles, sizeof *kls);
    uint64_t *nks = calloc(ntiles, sizeof *nks), maxk = 0;
    bool ok = kls && nks;
    for (uint64_t t = 0; ok && t < ntiles; t++) {
        kls[t] = cs__tile_klist(s, c, t, &nks[t]);
        ok = kls[t] != NULL;
        maxk = cs__max64(maxk, nks[t]);
    }
    for (uint64_t j0 = 0; ok && j0 < maxk; j0 += R)
        for (uint64_t t = 0; ok && t < ntiles; t++) {
            if (j0 >= nks[t])
                continue;
            uint64_t j1 = cs__min64(nks[t], j0 + R);
            if (!cs__kfold_runs(c, t, j0, j1))
                continue;
            ok = cs__is_fold(s, c, t * C, cs__min64(M, t * C + C), kls[t], j0, j1);
        }
    free(kls);
    free(nks);
    return ok;
}

/* OS, loop order column fold > token tile: a column fold's weights (K x C)
 * stream in every token tile's fold, so with them in the on-chip cache the
 * token tiles after the first read them from SRAM (compaction reads subsets
 * of the same rows). */
static bool cs__build_os(cs__schedule *s, const cs__sched_ctx *c)
{
    const cs_layer *l = c->l;
    const uint64_t R = c->R, C = c->C, M = l->M, N = l->N;
    const uint64_t ntiles = cs__cdiv64(M, R);
    const uint32_t **kls = calloc(ntiles, sizeof *kls);
    uint64_t *nks = calloc(ntiles, sizeof *nks);
    bool ok = kls && nks;
    for (uint64_t t = 0; ok && t < ntiles; t++) {
        kls[t] = cs__tile_klist(s, c, t, &nks[t]);
        ok = kls[t] != NULL;
    }
    for (uint64_t n0 = 0; ok && n0 < N; n0 += C) {
        uint64_t n1 = cs__min64(N, n0 + C), cu = n1 - n0;
        for (uint64_t t = 0; ok && t < ntiles; t++) {
            uint64_t m0 = t * R, m1 = cs__min64(M, m0 + R), ru = m1 - m0, nk = nks[t];
            const uint32_t *kl = kls[t];
            if (c->mask && c->mask->nonzero[t] == 0)
                continue; /* no non-zero column: the fold is skipped */
            uint64_t P = R + C + nk - 2;
            if (!(ok = cs__add_fold(s, P)))
                break;
            uint64_t ac = cs__max64(1, c->chunk[CS__OP_A] / (ru * c->es));
            for (uint64_t j = 0; ok && j < nk; j += ac)
                ok = cs__read(s, CS__OP_A, m0, m1, kl, j, cs__min64(nk, j + ac), 0, 0, j, cs__min64(nk, j + ac),
                              c->meta);
            uint64_t bc = cs__max64(1, c->chunk[CS__OP_B] / (cu * c->es));
            for (uint64_t j = 0; ok && j < nk; j += bc)
                ok = cs__read(s, CS__OP_B, 0, 0, kl, j, cs__min64(nk, j + bc), n0, n1, j, cs__min64(nk, j + bc), false);
            if (ok) /* outputs drain after the last K step */
                ok = cs__write(s, m0, m1, n0, n1, P - 1);
        }
    }
    free(kls);
    free(nks);
    return ok;
}

static int cs__event_cmp(const void *a, const void *b)
{
    const cs__event *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* Events per fold: each read unit's need, each write unit's production, and
 * each read unit's release, in the fold where it happens. */
static bool cs__build_events(cs__schedule *s)
{
    uint32_t *count = calloc(s->nfolds + 1, sizeof *count);
    if (!count)
        return false;
    for (size_t i = 0; i < s->nunits; i++) {
        const cs__unit *u = &s->units[i];
        count[u->fold]++;
        if (u->op != CS__OP_C)
            count[u->release_fold]++;
    }
    size_t total = 0;
    for (size_t f = 0; f < s->nfolds; f++) {
        s->folds[f].ev0 = (uint32_t)total;
        total += count[f];
        s->folds[f].ev1 = (uint32_t)s->folds[f].ev0;
    }
    s->events = malloc((total ? total : 1) * sizeof *s->events);
    free(count);
    if (!s->events)
        return false;
    s->nevents = s->cap_events = total;
    for (size_t i = 0; i < s->nunits; i++) {
        const cs__unit *u = &s->units[i];
        /* release: 2*offset; need/produce: 2*offset+1, so space that frees
         * at the offset where the next piece is needed frees first (a buffer
         * holding one piece at a time then stalls instead of deadlocking) */
        s->events[s->folds[u->fold].ev1++] = (cs__event){2 * u->need + 1, (uint32_t)i, u->op == CS__OP_C};
        if (u->op != CS__OP_C)
            s->events[s->folds[u->release_fold].ev1++] = (cs__event){2 * u->release, (uint32_t)i, false};
    }
    for (size_t f = 0; f < s->nfolds; f++)
        qsort(s->events + s->folds[f].ev0, s->folds[f].ev1 - s->folds[f].ev0, sizeof *s->events, cs__event_cmp);
    return true;
}

cs_status cs__schedule_build(const cs_machine *m, const cs_accel_layer *L, bool skip, bool metadata,
                             cs__schedule *s, cs_error *err)
{
    memset(s, 0, sizeof *s);
    const cs_layer *l = L->layer;
    cs__sched_ctx c = {
        .m = m, .l = l, .mask = skip ? L->skip_mask : NULL, .policy = m->skip.policy, .R = m->array.rows,
        .C = m->array.cols, .es = m->word_bytes, .meta = metadata,
    };
    c.chunk[CS__OP_A] = m->ifmap_sram_bytes / 4;
    c.chunk[CS__OP_B] = m->filter_sram_bytes / 4;
    c.chunk[CS__OP_C] = m->ofmap_sram_bytes / 4;
    uint32_t *id = cs__klist(s, l->K);
    if (!id)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    for (uint64_t k = 0; k < l->K; k++)
        id[k] = (uint32_t)k;
    c.identity = id;
    bool ok;
    switch (m->array.dataflow) {
    case CS_DATAFLOW_WS:
        ok = cs__build_ws(s, &c);
        break;
    case CS_DATAFLOW_IS:
        ok = cs__build_is(s, &c);
        break;
    default:
        ok = cs__build_os(s, &c);
        break;
    }
    if (ok)
        ok = cs__build_events(s);
    if (!ok) {
        cs__schedule_free(s);
        return cs_error_set(err, CS_ERUNTIME, "out of memory building the schedule of layer '%s'", l->name);
    }
    s->compute_cycles = s->compute_cycles ? s->compute_cycles - 1 : 0;
    return CS_OK;
}
