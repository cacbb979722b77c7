/* Derived statistics of a profile: sparsities, the two predictions of column
 * sparsity, concentration measures and the taxonomy (docs/MODEL.md,
 * "Profile"). Everything here is computed from the exact counts of the pass. */
#include "colscope/profile.h"
#include "profile_internal.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


/* Sorts n counts ascending: least-significant byte first, skipping the
 * bytes all counts share. Counts of at most a few million rows take three
 * passes; qsort's comparisons were a tenth of a profile's fixed cost. */
static void cs__sort_counts(uint64_t *x, uint64_t *tmp, size_t n)
{
    uint64_t all_or = 0, all_and = ~0ull;
    for (size_t i = 0; i < n; i++) {
        all_or |= x[i];
        all_and &= x[i];
    }
    for (unsigned shift = 0; shift < 64; shift += 8) {
        if (!((all_or ^ all_and) >> shift & 0xff))
            continue; /* every count has this byte */
        size_t start[257] = {0};
        for (size_t i = 0; i < n; i++)
            start[(x[i] >> shift & 0xff) + 1]++;
        for (int d = 0; d < 256; d++)
            start[d + 1] += start[d];
        for (size_t i = 0; i < n; i++)
            tmp[start[x[i] >> shift & 0xff]++] = x[i];
        memcpy(x, tmp, n * sizeof *x);
    }
}

/* Gini index of the channels' non-zero rates 1 - zero[k] / rows: 0 when all
 * are equal, towards 1 when one channel holds everything. Sorted form: G =
 * sum_i (2i - n - 1) x_(i) / (n sum x), over the rates in ascending order,
 * i.e. the zero counts in descending order. */
static double cs__gini(const uint64_t *zero, uint64_t rows, size_t n, uint64_t *scratch)
{
    uint64_t *z = scratch, *tmp = scratch + n;
    memcpy(z, zero, n * sizeof *z);
    cs__sort_counts(z, tmp, n);
    double sum = 0, weighted = 0;
    for (size_t i = 0; i < n; i++) {
        double x = 1.0 - (double)z[n - 1 - i] / (double)rows;
        sum += x;
        weighted += (2.0 * (double)(i + 1) - (double)n - 1.0) * x;
    }
    return sum > 0 ? weighted / ((double)n * sum) : 0.0;
}

/* x^n (0 <= x <= 1, n >= 1) by squaring. A power below DBL_MIN is taken as
 * 0 (an error under 2.3e-308 per channel): arithmetic on subnormals takes a
 * microcode assist of ~100 cycles, which made these few multiplications
 * most of a profile's final statistics for channels with rare zeros. */
static double cs__pow_u64(double x, uint64_t n)
{
    double r = 1.0;
    for (;;) {
        if (n & 1)
            r = r * x < DBL_MIN ? 0.0 : r * x;
        n >>= 1;
        if (!n || r == 0.0)
            return r;
        x = x < 0x1p-511 ? 0.0 : x * x; /* x * x < 2^-1022 = DBL_MIN */
    }
}

/* Taxonomy thresholds, see docs/MODEL.md. */
#define CS__DENSE_BELOW 0.10      /* element sparsity under which nothing is worth classifying */
#define CS__DISPERSED_BELOW 0.10  /* share of element sparsity that survives at column level */
#define CS__EXPLAINS 0.5          /* a prediction "explains" a measurement reaching half of it */

static cs_taxonomy cs__classify(const cs_profile_cell *c)
{
    double s = c->element_sparsity, col = c->column_sparsity;
    if (s < CS__DENSE_BELOW)
        return CS_TAXONOMY_DENSE;
    if (col < CS__DISPERSED_BELOW * s)
        return CS_TAXONOMY_DISPERSION;
    if (c->pred_independent >= CS__EXPLAINS * col)
        return CS_TAXONOMY_DIMENSION;
    if (c->pred_channel >= CS__EXPLAINS * col)
        return CS_TAXONOMY_CONCENTRATION;
    return CS_TAXONOMY_COLOCATION;
}

/* Everything of threshold t; scratch holds 2F counts, or is NULL. */
static void cs__finish_threshold(cs_profile *p, size_t t, const uint64_t *chan_zero, const uint64_t *chan_zero_tiles,
                                 const int *order, const int *parent, uint64_t *scratch)
{
    const uint64_t F = p->features, rows = p->rows;
    const size_t H = p->ntile_rows;
    double *rate = p->channel_zero_rate + t * F;
    uint64_t zero_total = 0;
    for (uint64_t k = 0; k < F; k++) {
        zero_total += chan_zero[t * F + k];
        rate[k] = (double)chan_zero[t * F + k] / (double)rows;
    }
    if (scratch)
        p->gini_nonzero[t] = cs__gini(chan_zero + t * F, rows, F, scratch);
    else
        p->gini_nonzero[t] = NAN;
    double s = (double)zero_total / ((double)rows * (double)F);
    /* The channel prediction needs rate^h per channel and height: by
     * squaring (at most (h - 1) rounding errors, 2.8e-14 relative at h =
     * 256), and a height that a smaller one divides (16, 64, 256) from that
     * one's result (two squarings from 16 to 64). pow() per channel, height
     * and threshold was a sixth of a profile's fixed cost. */
    uint64_t ratio[CS_PROFILE_MAX_TILE_HEIGHTS];
    double full_tiles[CS_PROFILE_MAX_TILE_HEIGHTS];
    bool partial = false;
    for (size_t hi = 0; hi < H; hi++) {
        uint64_t h = cs_profile_at(p, t, hi)->tile_rows;
        full_tiles[hi] = (double)(rows / h);
        partial |= rows % h != 0;
        ratio[hi] = parent[hi] < 0 ? 0 : h / cs_profile_at(p, t, (size_t)parent[hi])->tile_rows;
    }
    double pc[CS_PROFILE_MAX_TILE_HEIGHTS] = {0};
    for (uint64_t k = 0; k < F; k++) {
        const double r = rate[k];
        double power[CS_PROFILE_MAX_TILE_HEIGHTS];
        for (size_t i = 0; i < H; i++) {
            int hi = order[i];
            if (r == 0.0 || r == 1.0)
                power[hi] = r;
            else if (parent[hi] >= 0)
                power[hi] = cs__pow_u64(power[parent[hi]], ratio[hi]);
            else
                power[hi] = cs__pow_u64(r, cs_profile_at(p, t, (size_t)hi)->tile_rows);
        }
        for (size_t hi = 0; hi < H; hi++)
            pc[hi] += full_tiles[hi] * power[hi];
        if (partial)
            for (size_t hi = 0; hi < H; hi++) {
                uint64_t rem = rows % cs_profile_at(p, t, hi)->tile_rows;
                pc[hi] += rem ? pow(r, (double)rem) : 0.0;
            }
    }
    for (size_t hi = 0; hi < H; hi++) {
        cs_profile_cell *c = cs_profile_at(p, t, hi);
        uint64_t h = c->tile_rows;
        uint64_t full = rows / h, rem = rows % h, tiles = full + (rem != 0);
        c->elements = rows * F;
        c->zero_elements = zero_total;
        c->columns = tiles * F;
        c->element_sparsity = s;
        c->column_sparsity = (double)c->zero_columns / (double)c->columns;
        c->gap_pp = 100.0 * (c->element_sparsity - c->column_sparsity);
        /* Predictions average over tiles of their actual height. */
        c->pred_independent =
            ((double)full * pow(s, (double)h) + (rem ? pow(s, (double)rem) : 0.0)) / (double)tiles;
        uint64_t dead = 0;
        const uint64_t *czt = chan_zero_tiles + (t * H + hi) * F;
        for (uint64_t k = 0; k < F; k++)
            dead += (double)czt[k] >= 0.99 * (double)tiles;
        c->pred_channel = pc[hi] / ((double)tiles * (double)F);
        c->dead_channel_share = (double)dead / (double)F;
        c->taxonomy = cs__classify(c);
    }
}

typedef struct cs__finish_part {
    cs_profile *p;
    const uint64_t *chan_zero, *chan_zero_tiles;
    const int *order, *parent;
    size_t t0, t1;
} cs__finish_part;

static void *cs__finish_run(void *arg)
{
    const cs__finish_part *part = arg;
    uint64_t *scratch = malloc(2 * part->p->features * sizeof *scratch);
    for (size_t t = part->t0; t < part->t1; t++)
        cs__finish_threshold(part->p, t, part->chan_zero, part->chan_zero_tiles, part->order, part->parent, scratch);
    free(scratch);
    return NULL;
}

void cs__profile_finish(cs_profile *p, const uint64_t *chan_zero, const uint64_t *chan_zero_tiles, const int *order,
                        const int *parent, int threads)
{
    /* A sort per threshold and powers per channel, height and threshold:
     * worth a second thread on wide tensors (5 thresholds x 3 heights x 2560
     * channels). */
    const size_t T = p->nthresholds;
    cs__finish_part whole = {p, chan_zero, chan_zero_tiles, order, parent, 0, T}, second = whole;
    pthread_t th;
    bool split = threads > 1 && T > 1 && p->features * p->ntile_rows * T >= 4096;
    if (split) {
        second.t0 = whole.t1 = T / 2;
        split = pthread_create(&th, NULL, cs__finish_run, &second) == 0;
        if (!split)
            whole.t1 = T;
    }
    cs__finish_run(&whole);
    if (split)
        pthread_join(th, NULL);
}
