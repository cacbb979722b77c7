/* Column skipping: the cycles of a GEMM when the all-zero columns of its
 * activation operand A (one feature over a token tile, exactly the columns
 * colscope profile counts as zero) are not computed. docs/MODEL.md,
 * "Compute model", 2.6 has the derivations and the two policies. */
#include "systolic_internal.h"

#include <string.h>

uint64_t cs_skip_tile_rows(const cs_array_config *cfg, const cs_layer *l, const cs_skip_options *opt)
{
    switch (cfg->dataflow) {
    case CS_DATAFLOW_OS:
        return cfg->rows; /* a fold's rows hold R tokens */
    case CS_DATAFLOW_IS:
        return cfg->cols; /* a fold's columns hold C tokens */
    default:
        return opt && opt->ws_token_block && opt->ws_token_block < l->M ? opt->ws_token_block : l->M;
    }
}

/* Whether K-fold f (columns [f*R, f*R + R)) of a token tile holds a
 * non-zero column. */
static bool cs__kfold_busy(const cs_colmask *m, uint64_t tile, uint64_t R, uint64_t f)
{
    uint64_t k1 = (f + 1) * R < m->features ? (f + 1) * R : m->features;
    for (uint64_t k = f * R; k < k1; k++)
        if (cs_colmask_get(m, tile, k))
            return true;
    return false;
}

cs_status cs_systolic_skip(const cs_array_config *cfg, const cs_layer *l, const cs_colmask *mask,
                           const cs_skip_options *opt, cs_skip_stats *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_skip_options defaults = {CS_SKIP_COMPACT, 0};
    if (!opt)
        opt = &defaults;
    if (cfg->sparsity && (l->nm_n != l->nm_m || cfg->rowwise))
        return cs_error_set(err, CS_EINPUT,
                            "layer '%s': activation column skipping cannot be combined with N:M weight sparsity",
                            l->name);
    uint64_t h = cs_skip_tile_rows(cfg, l, opt);
    if (mask->rows != l->M || mask->features != l->K || mask->tile_rows != h)
        return cs_error_set(err, CS_EINPUT,
                            "layer '%s': activation mask is %llu x %llu in tiles of %u rows, the layer needs %llu x %llu "
                            "in tiles of %llu",
                            l->name, (unsigned long long)mask->rows, (unsigned long long)mask->features,
                            mask->tile_rows, (unsigned long long)l->M, (unsigned long long)l->K,
                            (unsigned long long)h);
    cs_compute_stats dense;
    cs_status rc = cs_systolic_dense(cfg, l, &dense, err);
    if (rc != CS_OK)
        return rc;
    out->dense_cycles = dense.cycles;
    out->folds_dense = dense.folds;
    out->tile_rows = (uint32_t)h;
    const uint64_t R = cfg->rows, C = cfg->cols, RC = R * C, M = l->M, N = l->N;
    uint64_t rows_total = 0, folds = 0;
    double me = 0, cu = 0;
    switch (cfg->dataflow) {
    case CS_DATAFLOW_OS: {
        /* Fold (fc, fr): array rows hold token tile fr, K streamed. Only the
         * tile's non-zero columns stream (compact), or the whole K unless
         * the tile has none (fold). A tile with none skips its folds. */
        uint64_t nc = cs__cdiv(N, C), nr = cs__cdiv(M, R);
        for (uint64_t fc = 0; fc < nc; fc++) {
            uint64_t cols = N - fc * C < C ? N - fc * C : C;
            for (uint64_t fr = 0; fr < nr; fr++) {
                uint64_t ki = mask->nonzero[fr];
                if (!ki)
                    continue;
                uint64_t T = opt->policy == CS_SKIP_COMPACT ? ki : l->K;
                uint64_t rows = M - fr * R < R ? M - fr * R : R;
                uint64_t P = T + R + C - 2;
                rows_total += P;
                folds++;
                me += (double)(rows * cols) / (double)RC;
                cu += (double)(rows * cols * ki) / (double)(RC * P);
            }
        }
        break;
    }
    case CS_DATAFLOW_WS:
    case CS_DATAFLOW_IS: {
        /* WS: per token block, the stationary K dimension holds only the
         * block's non-zero columns; the block's tokens stream, N on columns.
         * IS: per tile of C tokens (the array columns), K compacts the same
         * way and N streams. */
        bool ws = cfg->dataflow == CS_DATAFLOW_WS;
        uint64_t nc_ws = cs__cdiv(N, C);
        for (uint64_t tile = 0; tile < mask->tiles; tile++) {
            uint64_t tokens = M - tile * h < h ? M - tile * h : h;
            uint64_t kn = mask->nonzero[tile];
            uint64_t T = ws ? tokens : N;
            uint64_t P = 2 * R + C + T - 2, Lc = P + C - 1;
            uint64_t ncols = ws ? nc_ws : 1;
            /* compact: ceil(kn/R) folds of packed columns; fold: the K-folds
             * at their own place in K that hold a non-zero column */
            uint64_t kfolds = opt->policy == CS_SKIP_COMPACT ? cs__cdiv(kn, R) : cs__cdiv(l->K, R);
            for (uint64_t fc = 0; fc < ncols; fc++) {
                uint64_t cols = ws ? (N - fc * C < C ? N - fc * C : C) : tokens;
                for (uint64_t f = 0; f < kfolds; f++) {
                    uint64_t rows;
                    if (opt->policy == CS_SKIP_COMPACT)
                        rows = kn - f * R < R ? kn - f * R : R;
                    else if (cs__kfold_busy(mask, tile, R, f))
                        rows = l->K - f * R < R ? l->K - f * R : R;
                    else
                        continue;
                    rows_total += P;
                    folds++;
                    me += (double)(rows * cols) / (double)RC;
                    cu += (double)(rows * cols * T) / (double)(RC * Lc);
                }
            }
        }
        break;
    }
    }
    out->folds = folds;
    out->cycles = rows_total ? rows_total - 1 : 0;
    out->cycle_reduction = out->dense_cycles ? 1.0 - (double)out->cycles / (double)out->dense_cycles : 0.0;
    out->mapping_efficiency = folds ? me / (double)folds * 100 : 0.0;
    out->compute_util = folds ? cu / (double)folds * 100 : 0.0;
    return CS_OK;
}
