/* colscope profile: element- vs column-level sparsity of activation tensors.
 *
 * An element is "zero" at threshold t when |x| < t. A column is one feature
 * over a tile of h consecutive rows (tokens); it is zero when every element
 * in it is zero, which is what a systolic array can skip. One pass over the
 * data computes every (threshold, tile height) pair. Definitions, the
 * predictions and the taxonomy rule: docs/MODEL.md, "Profile". */
#ifndef COLSCOPE_PROFILE_H
#define COLSCOPE_PROFILE_H

#include "colscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_PROFILE_MAX_THRESHOLDS 64
#define CS_PROFILE_MAX_TILE_HEIGHTS 64

typedef struct cs_profile_config {
    const double *thresholds;  /* finite, >= 0 */
    size_t nthresholds;
    const uint32_t *tile_rows; /* >= 1 */
    size_t ntile_rows;
    int feature_axis;          /* -1 = last axis */
    int threads;               /* 0 = one per CPU */
    bool want_masks;           /* keep the non-zero-column mask of every cell */
} cs_profile_config;

/* How a tensor's column sparsity arises (docs/MODEL.md, "Taxonomy"). */
typedef enum cs_taxonomy {
    CS_TAXONOMY_DENSE = 0,       /* little element sparsity to begin with */
    CS_TAXONOMY_DISPERSION,      /* zeros spread over channels: columns rarely all-zero */
    CS_TAXONOMY_DIMENSION,       /* columns are short: independence alone explains it */
    CS_TAXONOMY_CONCENTRATION,   /* zeros confined to channels: per-channel rates explain it */
    CS_TAXONOMY_COLOCATION,      /* zeros cluster on the same tokens beyond per-channel rates */
} cs_taxonomy;
const char *cs_taxonomy_name(cs_taxonomy t);

/* Bit (tile, feature) set when the column is NOT zero, i.e. must be computed. */
typedef struct cs_colmask {
    uint64_t rows, features, tiles;
    uint32_t tile_rows;
    double threshold;
    uint64_t words_per_tile;   /* 64-bit words per tile row of the bitmap */
    uint64_t *bits;            /* tiles * words_per_tile */
    uint64_t *nonzero;         /* [tiles]: non-zero columns in each tile */
} cs_colmask;

static inline bool cs_colmask_get(const cs_colmask *m, uint64_t tile, uint64_t feature)
{
    return (m->bits[tile * m->words_per_tile + feature / 64] >> (feature % 64)) & 1;
}
void cs_colmask_free(cs_colmask *m);

/* Results for one (threshold, tile height). */
typedef struct cs_profile_cell {
    double threshold;
    uint32_t tile_rows;
    uint64_t elements, zero_elements;
    uint64_t columns, zero_columns;
    double element_sparsity, column_sparsity;
    double gap_pp;             /* (element - column sparsity) in percentage points */
    double pred_independent;   /* expected column sparsity if zeros were i.i.d.: mean of s^h_i */
    double pred_channel;       /* expected column sparsity from per-channel rates: mean of p_k^h_i */
    double dead_channel_share; /* share of channels whose column is zero in >= 99% of tiles */
    uint64_t *nnz_rows_hist;   /* [tile_rows + 1]: columns by number of non-zero rows */
    cs_taxonomy taxonomy;
    cs_colmask mask;           /* only with want_masks */
} cs_profile_cell;

typedef struct cs_profile {
    uint64_t rows, features;
    size_t nthresholds, ntile_rows;
    cs_profile_cell *cells;    /* [ti * ntile_rows + hi] */
    double *channel_zero_rate; /* [ti * features + k]: fraction of rows with |x| < t */
    double *gini_nonzero;      /* [ti]: Gini index of per-channel non-zero rates */
} cs_profile;

static inline cs_profile_cell *cs_profile_at(const cs_profile *p, size_t ti, size_t hi)
{
    return &p->cells[ti * p->ntile_rows + hi];
}

/* Profiles one tensor; out must be freed with cs_profile_free. */
cs_status cs_profile_tensor(const cs_tensor *t, const cs_profile_config *cfg, cs_profile *out, cs_error *err);
void cs_profile_free(cs_profile *p);

/* The non-zero-column mask at one threshold and tile height (used by the
 * compute and accelerator models). */
cs_status cs_colmask_compute(const cs_tensor *t, int feature_axis, double threshold, uint32_t tile_rows,
                             int threads, cs_colmask *out, cs_error *err);

/* Validates a configuration; err names the offending option. */
cs_status cs_profile_config_check(const cs_profile_config *cfg, cs_error *err);

/* Smallest bit pattern of a non-negative value of the dtype that is >= t:
 * for non-NaN x, |x| < t  <=>  (bits(x) & magnitude_mask) < result. */
uint64_t cs_threshold_bits(cs_dtype dt, double t);

#ifdef __cplusplus
}
#endif
#endif
