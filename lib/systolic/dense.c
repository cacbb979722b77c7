/* Dense compute cycles and utilisation, as SCALE-Sim's CALC mode reports
 * them, in closed form (docs/MODEL.md, "Compute model"). Every quantity was
 * checked against every SCALE-Sim report in the shared reference folder. */
#include "systolic_internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t cs__mapped_K(const cs_array_config *cfg, const cs_layer *l)
{
    if (cfg->rowwise)
        return cs__cdiv(l->K, 2 * cfg->block_size) * cfg->block_size;
    if (cfg->sparsity) /* keep the first N of every M along K */
        return l->K / l->nm_m * l->nm_n + (l->K % l->nm_m < l->nm_n ? l->K % l->nm_m : l->nm_n);
    return l->K;
}

void cs__fold_grid_init(const cs_array_config *cfg, const cs_layer *l, uint64_t Kc, cs__fold_grid *g)
{
    g->R = cfg->rows;
    g->C = cfg->cols;
    g->Kc = Kc;
    switch (cfg->dataflow) {
    case CS_DATAFLOW_OS:
        g->Sr = l->M, g->Sc = l->N, g->T = Kc;
        break;
    case CS_DATAFLOW_WS:
        g->Sr = Kc, g->Sc = l->N, g->T = l->M;
        break;
    default:
        g->Sr = Kc, g->Sc = l->M, g->T = l->N;
        break;
    }
    g->nr = cs__cdiv(g->Sr, g->R);
    g->nc = cs__cdiv(g->Sc, g->C);
    /* OS: K streamed, R-1 + C-1 skew. WS/IS: R rows to load the stationary
     * operand, T streamed, C-1 drain, R-1 skew. */
    g->P = cfg->dataflow == CS_DATAFLOW_OS ? g->T + g->R + g->C - 2 : 2 * g->R + g->C + g->T - 2;
}

/* MT19937 as numpy's legacy seeding (init_genrand) and bounded integers
 * (masked rejection sampling), so row-wise sparsity draws the same ratios. */
typedef struct cs__mt {
    uint32_t s[624];
    int i;
} cs__mt;

static void cs__mt_seed(cs__mt *m, uint32_t seed)
{
    m->s[0] = seed;
    for (int i = 1; i < 624; i++)
        m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

static uint32_t cs__mt_next(cs__mt *m)
{
    if (m->i >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (m->s[i] & 0x80000000u) | (m->s[(i + 1) % 624] & 0x7fffffffu);
            m->s[i] = m->s[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0);
        }
        m->i = 0;
    }
    uint32_t y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

void cs__rowwise_ratios(uint64_t seed, uint64_t block, uint64_t n, uint32_t *out)
{
    cs__mt m;
    cs__mt_seed(&m, (uint32_t)seed);
    uint32_t range = (uint32_t)(block / 2 - 1), mask = range;
    for (int s = 1; s <= 16; s *= 2)
        mask |= mask >> s;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t v = 0;
        if (range)
            do
                v = cs__mt_next(&m) & mask;
            while (v > range);
        out[i] = 1 + v;
    }
}

bool cs__rowwise_real(uint64_t r, uint64_t K, uint64_t block, uint32_t ratio)
{
    uint64_t chunk = r / block, off = r % block, half = off / (block / 2), j = off % (block / 2);
    uint64_t start = chunk * 2 * block + half * block;
    uint64_t ones = start >= K ? 0 : (K - start < ratio ? K - start : ratio);
    return j < (ones < block / 2 ? ones : block / 2);
}

cs_status cs_systolic_dense(const cs_array_config *cfg, const cs_layer *l, cs_compute_stats *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs__fold_grid g;
    uint64_t Kc = cs__mapped_K(cfg, l);
    cs__fold_grid_init(cfg, l, Kc, &g);
    uint32_t *ratios = NULL;
    if (cfg->rowwise) {
        ratios = malloc(l->N * sizeof *ratios);
        if (!ratios)
            return cs_error_set(err, CS_ERUNTIME, "out of memory");
        cs__rowwise_ratios(cfg->seed, cfg->block_size, l->N, ratios);
    }
    const uint64_t R = g.R, C = g.C, RC = R * C;
    out->folds = g.nr * g.nc;
    out->K_mapped = Kc;
    out->cycles = out->folds * g.P - 1;
    out->stall_cycles = 0;
    /* Overall util uses the dense K: exact int/int division like Python's. */
    out->overall_util = (double)(l->M * l->N * l->K * 100) / (double)(out->cycles * RC);
    if (l->M * l->N * l->K * 100 > ((uint64_t)1 << 53) || out->cycles * RC > ((uint64_t)1 << 53)) {
        /* Both operands exceed 2^53: divide exactly in long double first. */
        out->overall_util = (double)((long double)l->M * l->N * l->K * 100 / ((long double)out->cycles * RC));
    }
    /* Unweighted means over folds, in SCALE-Sim's order (column folds
     * outside), summed left to right as CPython <= 3.11's sum() does. */
    const uint64_t Lc = cfg->dataflow == CS_DATAFLOW_OS ? g.P : g.P + C - 1;
    double me = 0, cu = 0;
    for (uint64_t fc = 0; fc < g.nc; fc++) {
        uint64_t cols = g.Sc - fc * C < C ? g.Sc - fc * C : C;
        for (uint64_t fr = 0; fr < g.nr; fr++) {
            uint64_t rows = g.Sr - fr * R < R ? g.Sr - fr * R : R;
            uint64_t used = rows * cols;
            if (ratios) { /* row-wise: only real compressed weights count as mapped */
                used = 0;
                for (uint64_t c = fc * C; c < fc * C + cols; c++)
                    for (uint64_t r = fr * R; r < fr * R + rows; r++)
                        used += cs__rowwise_real(r, l->K, cfg->block_size, ratios[c]);
            }
            me += (double)used / (double)RC;
            cu += (double)(rows * cols * g.T) / (double)(RC * Lc);
        }
    }
    out->mapping_efficiency = me / (double)out->folds * 100;
    out->compute_util = cu / (double)out->folds * 100;
    /* Only SCALE-Sim v3 reports it, and it costs a walk over the OFMAP drains. */
    cs_status rc = CS_OK;
    if (cfg->version >= 3)
        rc = cs__incl_prefetch(cfg, l, &g, out->cycles, ratios, &out->cycles_incl_prefetch, err);
    free(ratios);
    return rc;
}
