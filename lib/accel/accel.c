/* One simulated (layer, layout, dense|skip) run. */
#include "accel_internal.h"

#include <string.h>

cs_status cs__engine_run(const cs_machine *m, const cs__schedule *s, const cs__layout_ctx *lc, cs_accel_result *out,
                         cs_error *err);

uint64_t cs_accel_layout_tile_rows(const cs_machine *m, const cs_layer *l)
{
    if (m->layout_tile_rows)
        return m->layout_tile_rows;
    return cs_skip_tile_rows(&m->array, l, &m->skip);
}

cs_status cs_accel_simulate(const cs_machine *m, const cs_accel_layer *L, cs_layout layout, bool skip,
                            cs_accel_result *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    const cs_layer *l = L->layer;
    if (skip && L->skip_mask) {
        uint64_t h = cs_skip_tile_rows(&m->array, l, &m->skip);
        const cs_colmask *k = L->skip_mask;
        if (k->rows != l->M || k->features != l->K || k->tile_rows != h)
            return cs_error_set(err, CS_EINPUT, "layer '%s': skip mask is %llu x %llu in tiles of %u, needs %llu x %llu in tiles of %llu",
                                l->name, (unsigned long long)k->rows, (unsigned long long)k->features, k->tile_rows,
                                (unsigned long long)l->M, (unsigned long long)l->K, (unsigned long long)h);
    }
    cs__layout_ctx lc;
    cs_status rc = cs__layout_init(&lc, m, l, layout, L->layout_mask, err);
    if (rc != CS_OK)
        return rc;
    cs__schedule s;
    rc = cs__schedule_build(m, L, skip && L->skip_mask, layout == CS_LAYOUT_COMPACT, &s, err);
    if (rc == CS_OK) {
        rc = cs__engine_run(m, &s, &lc, out, err);
        cs__schedule_free(&s);
    }
    cs__layout_free(&lc);
    return rc;
}

static bool cs__same_mask(const cs_colmask *a, const cs_colmask *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->rows != b->rows || a->features != b->features || a->tiles != b->tiles ||
        a->tile_rows != b->tile_rows || a->words_per_tile != b->words_per_tile)
        return false;
    size_t nbits = a->tiles * a->words_per_tile * sizeof *a->bits, nnz = a->tiles * sizeof *a->nonzero;
    return (!nbits || memcmp(a->bits, b->bits, nbits) == 0) && (!nnz || memcmp(a->nonzero, b->nonzero, nnz) == 0);
}

/* A mask of the shape the run checks for (tiles of h rows) whose every tile
 * has all K columns non-zero. */
static bool cs__mask_full(const cs_colmask *k, const cs_layer *l, uint64_t h)
{
    if (l->M == 0 || l->K == 0 || h == 0 || k->rows != l->M || k->features != l->K || k->tile_rows != h ||
        k->tiles != (l->M + h - 1) / h || k->words_per_tile != (l->K + 63) / 64)
        return false;
    for (uint64_t t = 0; t < k->tiles; t++) {
        if (k->nonzero[t] != l->K)
            return false;
        const uint64_t *w = k->bits + t * k->words_per_tile;
        for (uint64_t i = 0; i < l->K / 64; i++)
            if (w[i] != UINT64_MAX)
                return false;
        if (l->K % 64 && (~w[l->K / 64] & ((1ull << (l->K % 64)) - 1)))
            return false;
    }
    return true;
}

/* The skip mask a run reads, or NULL where the run is the dense one: no
 * skipping, no mask, or a mask without zeros in tiles that give the dense
 * folds (cs__schedule_build takes a tile without zero columns as dense;
 * only WS folds depend on the tile height, and with one tile of all M rows
 * they are the dense ones). */
static const cs_colmask *cs__skip_read(const cs_machine *m, const cs_accel_layer *L, bool skip)
{
    const cs_colmask *k = skip ? L->skip_mask : NULL;
    const cs_layer *l = L->layer;
    uint64_t h = cs_skip_tile_rows(&m->array, l, &m->skip);
    if (k && cs__mask_full(k, l, h) && (m->array.dataflow != CS_DATAFLOW_WS || h >= l->M))
        return NULL;
    return k;
}

/* The layout mask a run reads, or NULL where the layout is the one without
 * a mask: not compact, no mask, or a mask without zeros (every column
 * stored, ranks equal to column indices: cs__layout_init). */
static const cs_colmask *cs__layout_read(const cs_machine *m, const cs_accel_layer *L, cs_layout layout)
{
    const cs_colmask *k = layout == CS_LAYOUT_COMPACT ? L->layout_mask : NULL;
    if (k && cs__mask_full(k, L->layer, cs_accel_layout_tile_rows(m, L->layer)))
        return NULL;
    return k;
}

/* Mirrors what cs_accel_simulate reads: of the layer its shape (M, N, K; the
 * name only in errors), the skip mask when skipping, the layout mask for the
 * compact layout (cs__layout_init ignores it otherwise), each taken as no
 * mask where it makes no difference. */
bool cs_accel_same_run(const cs_machine *m, const cs_accel_layer *a, cs_layout la, bool sa,
                       const cs_accel_layer *b, cs_layout lb, bool sb)
{
    const cs_layer *x = a->layer, *y = b->layer;
    if (la != lb || x->M != y->M || x->N != y->N || x->K != y->K || x->nm_n != y->nm_n || x->nm_m != y->nm_m)
        return false;
    return cs__same_mask(cs__skip_read(m, a, sa), cs__skip_read(m, b, sb)) &&
           cs__same_mask(cs__layout_read(m, a, la), cs__layout_read(m, b, lb));
}
