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
