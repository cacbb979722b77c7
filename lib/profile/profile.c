/* The profile engine: one streaming pass over a tensor computes, for every
 * (threshold, tile height), element and column zero counts, the histogram of
 * non-zero rows per column and the per-channel rates the predictions need.
 *
 * Work split: the rows are cut into chunks of about 32 MB whose size is a
 * multiple of every tile height, so no tile straddles two chunks, and the
 * threads take chunks in turn, each with its own counters for all features
 * (summed at the end). A thread reads its chunk with pread() in pieces of
 * whole base tiles of about 512 KB, so the data it counts is in cache and
 * resident memory stays a few MB whatever the file size (a memory mapping
 * grows the resident set to the file and, measured here, makes two threads
 * contend on page-table updates). When the tile heights' least common
 * multiple is too large for such chunks, one thread walks all rows.
 *
 * Per-element work is only the counting kernel (profile_kernel.c). Everything
 * else happens once per "base tile" of b = gcd(tile heights) rows: the base
 * tile's per-feature zero counts are added into per-height accumulators, and
 * when a tile of height h completes, its column is zero iff its count equals
 * its height. */
#include "colscope/profile.h"
#include "profile_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


/* Workers take chunks of about this size in turn from a shared counter:
 * small enough that the last ones even out the threads' finishing times
 * (a thread slowed by the rest of the machine just takes fewer), large
 * enough that taking one costs nothing next to counting it. */
#define CS__CHUNK_BYTES ((uint64_t)4 << 20)
/* Chunks are rounded up to whole tiles of every height; threads are used
 * only while that keeps them below this. */
#define CS__MAX_CHUNK_BYTES ((uint64_t)128 << 20)
/* Rows counted from one mapping: about this many bytes, whole base tiles. */
#define CS__MAP_BYTES ((uint64_t)4 << 20)
/* Mappings start and end on this (the x86-64 PMD size; see cs__count_mapped). */
#define CS__MAP_BLOCK ((uint64_t)2 << 20)
/* Linux 5.14+; job.page_size stays 0 (pread only) where the headers lack it. */
#ifdef MADV_POPULATE_READ
#define CS__MADV_POPULATE MADV_POPULATE_READ
#else
#define CS__MADV_POPULATE (-1)
#endif
#define CS__READ_BYTES ((uint64_t)512 << 10)

int cs__profile_force_pread, cs__profile_force_words;

typedef struct cs__prof_job cs__prof_job;

typedef struct cs__prof_worker {
    cs__prof_job *job;
    pthread_t thread;
    int index;
    bool failed;                /* a read error */
    unsigned char *gather_buf;  /* read_rows x features: the piece being counted */
    uint32_t *tile_zero;        /* [T][F]: zero rows in the current base tile */
    uint8_t *tile_zero8;        /* the same in bytes, where job->bytes (and tile_zero unused) */
    uint32_t *h_zero;           /* [H][T][F]: zero rows in the current tile of each height */
    uint8_t *h_zero8;           /* the same in bytes, for the heights counted in bytes (job->h_bytes) */
    bool h_fresh[CS_PROFILE_MAX_TILE_HEIGHTS]; /* h_zero[h] holds a completed tile's counts: overwrite */
    uint64_t *chan_zero;        /* [T][F]: zero rows per channel, whole tensor */
    uint64_t *chan_zero_tiles;  /* [T][H][F]: tiles whose column is zero */
    uint8_t *recent_zero_tiles; /* [T][H][F]: the same over the tiles not yet added to chan_zero_tiles */
    uint32_t recent_tiles[CS_PROFILE_MAX_TILE_HEIGHTS]; /* tiles of each height in recent_zero_tiles */
    uint64_t *hist;             /* [T][H][CS__HIST_COPIES][h + 1 bins], at hist_off * CS__HIST_COPIES */
    uint64_t *zero_cols;        /* [T][H] */
} cs__prof_worker;

struct cs__prof_job {
    const cs_matrix_view *view;
    int T, H;
    uint64_t kt[CS_PROFILE_MAX_THRESHOLDS];
    uint16_t kt16[CS_PROFILE_MAX_THRESHOLDS];
    uint32_t kt32[CS_PROFILE_MAX_THRESHOLDS];
    uint32_t heights[CS_PROFILE_MAX_TILE_HEIGHTS];
    uint64_t hist_off[CS_PROFILE_MAX_TILE_HEIGHTS];
    uint64_t hist_total; /* bins per threshold: sum of (h + 1) */
    uint32_t base;
    int order[CS_PROFILE_MAX_TILE_HEIGHTS];  /* height indices, smallest height first */
    int parent[CS_PROFILE_MAX_TILE_HEIGHTS]; /* largest smaller height dividing it, -1 = base tile */
    int tallest;                             /* index of the largest height */
    int last_base_reader; /* position in order[] of the last height accumulating the base tile's counts, or -1 */
    uint64_t chunk_rows;       /* a multiple of every tile height when nworkers > 1 */
    uint64_t read_rows;        /* rows read at a time: whole base tiles, about CS__READ_BYTES */
    uint64_t map_rows;         /* rows mapped at a time: whole base tiles, about CS__MAP_BYTES */
    bool bytes;                /* base tiles counted in bytes by the byte kernel (16-bit data, base <= 255) */
    bool h_bytes[CS_PROFILE_MAX_TILE_HEIGHTS]; /* taller heights counted in bytes too: bytes and height <= 255 */
    cs_colmask *masks;         /* [T][H] or NULL; workers write disjoint tiles */
    int nworkers;
    atomic_uint_fast64_t next_chunk; /* index of the next chunk to take */
    long page_size;                  /* 0: read with pread, never from the mapping */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_cond;
    int gate; /* 0 = wait, 1 = run, -1 = give up */
};

void cs__height_order(const uint32_t *heights, int H, int *order, int *parent)
{
    for (int i = 0; i < H; i++) {
        int j = i;
        for (; j > 0 && heights[order[j - 1]] > heights[i]; j--) /* insertion, stable */
            order[j] = order[j - 1];
        order[j] = i;
        parent[i] = -1;
        for (int k = 0; k < H; k++)
            if (heights[k] < heights[i] && heights[i] % heights[k] == 0 &&
                (parent[i] < 0 || heights[k] > heights[parent[i]]))
                parent[i] = k;
    }
}

static uint64_t cs__gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

uint64_t cs_threshold_bits(cs_dtype dt, double t)
{
    /* Binary search for the smallest non-negative finite-or-inf pattern whose
     * value is >= t; the value order of such patterns is their integer order. */
    uint64_t lo = 0, hi;
    switch (dt) {
    case CS_DTYPE_F16:
        hi = 0x7c00;
        break;
    case CS_DTYPE_BF16:
        hi = 0x7f80;
        break;
    case CS_DTYPE_F32:
        hi = 0x7f800000;
        break;
    default:
        hi = 0x7ff0000000000000ull;
        break;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        double v;
        if (dt == CS_DTYPE_F16)
            v = cs_f16_to_double((uint16_t)mid);
        else if (dt == CS_DTYPE_BF16)
            v = cs_bf16_to_double((uint16_t)mid);
        else if (dt == CS_DTYPE_F32) {
            float f;
            uint32_t b = (uint32_t)mid;
            memcpy(&f, &b, 4);
            v = f;
        } else
            memcpy(&v, &mid, 8);
        if (v >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void cs__count(const cs__prof_job *job, const unsigned char *x, size_t nrows, size_t nk, uint32_t *zero,
                      size_t zstride)
{
    size_t ld = job->view->features;
    switch (job->view->elem_size) {
    case 2:
        cs__count_zeros_u16(x, ld, nrows, nk, job->kt16, job->T, zero, zstride);
        break;
    case 4:
        cs__count_zeros_u32(x, ld, nrows, nk, job->kt32, job->T, zero, zstride);
        break;
    default:
        cs__count_zeros_u64(x, ld, nrows, nk, job->kt, job->T, zero, zstride);
        break;
    }
}

/* Adds the zero tiles of height index hi counted in bytes since the last
 * call to the per-channel totals. The kernels count them in bytes: a quarter
 * of the memory the totals span, touched at every tile. */
static void cs__add_recent_zero_tiles(cs__prof_worker *w, int hi)
{
    const cs__prof_job *job = w->job;
    const uint64_t nk = job->view->features;
    for (int t = 0; t < job->T; t++) {
        uint8_t *recent = w->recent_zero_tiles + ((size_t)t * job->H + hi) * nk;
        uint64_t *total = w->chan_zero_tiles + ((size_t)t * job->H + hi) * nk;
        for (uint64_t k = 0; k < nk; k++)
            total[k] += recent[k];
        memset(recent, 0, nk);
    }
    w->recent_tiles[hi] = 0;
}

/* A tile of height index hi ending at row `end` (exclusive) is complete;
 * zero[t * zstride + k] (or zero8[...], the base tile's counts in bytes)
 * holds its zero rows per threshold and feature. */
CS__CLONES static void cs__complete_tile(cs__prof_worker *w, int hi, uint64_t end, uint32_t tile_height,
                                         const uint32_t *zero, const uint8_t *zero8, size_t zstride)
{
    const cs__prof_job *job = w->job;
    const uint64_t nk = job->view->features;
    const uint64_t tile = (end - 1) / job->heights[hi];
    for (int t = 0; t < job->T; t++) {
        const uint32_t *hz = zero ? zero + (size_t)t * zstride : NULL;
        const uint8_t *hz8 = zero8 ? zero8 + (size_t)t * zstride : NULL;
        uint8_t *czt = w->recent_zero_tiles + ((size_t)t * job->H + hi) * nk;
        uint64_t *hist = w->hist + ((size_t)t * job->hist_total + job->hist_off[hi]) * CS__HIST_COPIES;
        size_t bins = (size_t)job->heights[hi] + 1;
        w->zero_cols[t * job->H + hi] += hz ? cs__tile_stats(hz, nk, tile_height, czt, hist, bins)
                                            : cs__tile_stats_u8(hz8, nk, tile_height, czt, hist, bins);
        if (job->masks) {
            cs_colmask *m = &job->masks[t * job->H + hi];
            uint64_t *mbits = m->bits + tile * m->words_per_tile;
            for (uint64_t f = 0; f < nk; f++)
                if ((hz ? hz[f] : hz8[f]) != tile_height)
                    mbits[f / 64] |= 1ull << (f % 64);
        }
    }
    if (++w->recent_tiles[hi] == CS__TILES_ZERO_SPAN)
        cs__add_recent_zero_tiles(w, hi);
}

/* hz (+)= from, both in bytes: a tile of at most 255 rows from the counts
 * of its parts. */
CS__CLONES static void cs__accumulate_u8(uint8_t *restrict hz, const uint8_t *restrict from, size_t n, bool fresh)
{
    if (fresh)
        memcpy(hz, from, n);
    else
        for (size_t j = 0; j < n; j++)
            hz[j] = (uint8_t)(hz[j] + from[j]);
}

/* hz (+)= the base tile's counts in bytes (which the byte kernel stores
 * afresh for every tile, so they need no clearing). */
CS__CLONES static void cs__accumulate_bytes(uint32_t *restrict hz, const uint8_t *restrict from, size_t n, bool fresh)
{
    if (fresh)
        for (size_t j = 0; j < n; j++)
            hz[j] = from[j];
    else
        for (size_t j = 0; j < n; j++)
            hz[j] += from[j];
}

/* hz (+)= from over n counters; from is cleared on the way when it is the
 * last reader of the base tile's counts (which the kernel adds to, so they
 * must be zero for the next tile), saving a separate pass over them. */
CS__CLONES static void cs__accumulate(uint32_t *restrict hz, uint32_t *restrict from, size_t n, bool fresh,
                                      bool clear_from)
{
    if (fresh && clear_from)
        for (size_t j = 0; j < n; j++) {
            hz[j] = from[j];
            from[j] = 0;
        }
    else if (fresh)
        memcpy(hz, from, n * sizeof *hz);
    else if (clear_from)
        for (size_t j = 0; j < n; j++) {
            hz[j] += from[j];
            from[j] = 0;
        }
    else
        for (size_t j = 0; j < n; j++)
            hz[j] += from[j];
}

/* totals (64-bit) += counts (32-bit) or counts8 (bytes). */
CS__CLONES static void cs__add_to_totals(uint64_t *restrict totals, const uint32_t *restrict counts,
                                         const uint8_t *restrict counts8, size_t n)
{
    if (counts8)
        for (size_t j = 0; j < n; j++)
            totals[j] += counts8[j];
    else
        for (size_t j = 0; j < n; j++)
            totals[j] += counts[j];
}

/* The base tile ending at row `end` is complete. Heights are visited from
 * the smallest up; each accumulates the counts of its parent, the largest
 * smaller height dividing it (else the base tile), when the parent's tile
 * completes, so 16/64/256 costs one accumulation per 16 rows, one per 64
 * and none for the base height itself. A completed height's counters are
 * not cleared but marked fresh: its next accumulation stores instead of
 * adding. Per-channel totals come from the tallest height's completed
 * tiles. */
static void cs__fold_base_tile(cs__prof_worker *w, uint64_t end)
{
    const cs__prof_job *job = w->job;
    const uint64_t nk = job->view->features, rows = job->view->rows;
    const size_t n = (size_t)job->T * nk;
    bool completed[CS_PROFILE_MAX_TILE_HEIGHTS];
    for (int i = 0; i < job->H; i++) {
        int hi = job->order[i];
        uint32_t h = job->heights[hi];
        completed[hi] = end % h == 0 || end == rows;
        const uint32_t *counts = job->bytes ? NULL : w->tile_zero;
        const uint8_t *counts8 = job->bytes ? w->tile_zero8 : NULL;
        if (h != job->base) {
            int p = job->parent[hi];
            uint32_t *hz = w->h_zero + (size_t)hi * n;
            bool from_base = p < 0 || job->heights[p] == job->base;
            if (job->h_bytes[hi]) { /* so is its parent, shorter: all in bytes */
                uint8_t *hz8 = w->h_zero8 + (size_t)hi * n;
                if (from_base || completed[p]) {
                    cs__accumulate_u8(hz8, from_base ? w->tile_zero8 : w->h_zero8 + (size_t)p * n, n, w->h_fresh[hi]);
                    w->h_fresh[hi] = false;
                }
                counts = NULL;
                counts8 = hz8;
            } else if (!from_base && job->h_bytes[p]) {
                if (completed[p]) {
                    cs__accumulate_bytes(hz, w->h_zero8 + (size_t)p * n, n, w->h_fresh[hi]);
                    w->h_fresh[hi] = false;
                }
            } else if (from_base && job->bytes) {
                cs__accumulate_bytes(hz, w->tile_zero8, n, w->h_fresh[hi]);
                w->h_fresh[hi] = false;
            } else if (from_base || completed[p]) { /* a parent of the base height always completes here */
                uint32_t *from = from_base ? w->tile_zero : w->h_zero + (size_t)p * n;
                cs__accumulate(hz, from, n, w->h_fresh[hi], from_base && i == job->last_base_reader);
                w->h_fresh[hi] = false;
            }
            if (!job->h_bytes[hi]) {
                counts = hz;
                counts8 = NULL;
            }
        }
        if (completed[hi]) {
            uint32_t tile_height = (uint32_t)(end - (end - 1) / h * h);
            cs__complete_tile(w, hi, end, tile_height, counts, counts8, nk);
            if (hi == job->tallest)
                cs__add_to_totals(w->chan_zero, counts, counts8, n);
        }
    }
    for (int hi = 0; hi < job->H; hi++)
        if (completed[hi] && job->heights[hi] != job->base)
            w->h_fresh[hi] = true;
    if (!job->bytes && job->last_base_reader < 0) /* no taller height took the counts and cleared them */
        memset(w->tile_zero, 0, n * sizeof *w->tile_zero);
}

/* Counts rows [p0, p1) of whole base tiles (the last may end the tensor),
 * held at data. */
static void cs__count_rows(cs__prof_worker *w, const unsigned char *data, uint64_t p0, uint64_t p1)
{
    const cs__prof_job *job = w->job;
    const uint64_t rows = job->view->rows, F = job->view->features;
    const size_t es = job->view->elem_size;
    for (uint64_t r = p0; r < p1;) {
        uint64_t next_base = (r / job->base + 1) * job->base;
        uint64_t end = next_base < p1 ? next_base : p1;
        if (end - r > CS__KERNEL_MAX_ROWS)
            end = r + CS__KERNEL_MAX_ROWS;
        if (job->bytes) /* a whole base tile per call: chunks and pieces hold whole base tiles */
            cs__count_zeros_u16_bytes(data + (r - p0) * F * es, (size_t)F, (size_t)(end - r), (size_t)F, job->kt16,
                                      job->T, w->tile_zero8, (size_t)F);
        else
            cs__count(job, data + (r - p0) * F * es, (size_t)(end - r), (size_t)F, w->tile_zero, (size_t)F);
        r = end;
        if (r % job->base == 0 || r == rows)
            cs__fold_base_tile(w, r);
    }
}

/* Counts rows [p0, p1) from a mapping of their own, or returns false if
 * the rows cannot be mapped and populated. Filling the page-table entries
 * in one call is cheaper than faulting them in, and than copying the data
 * out with pread; unmapping after the piece frees them and their page
 * tables, so resident memory stays at a piece or two however large the
 * file, and threads never touch each other's mappings. Populating fails on
 * Linux before 5.14, and where the file is shorter than it was. */
static bool cs__count_mapped(cs__prof_worker *w, uint64_t p0, uint64_t p1)
{
    const cs__prof_job *job = w->job;
    const cs_matrix_view *v = job->view;
    const uint64_t row_bytes = v->features * v->elem_size;
    if (!job->page_size)
        return false;
    const uint64_t off = v->tensor->data_offset + p0 * row_bytes, end = off + (p1 - p0) * row_bytes;
    /* The mapping covers whole 2 MB blocks of the file: the page cache holds
     * a file that was read in folios of up to 2 MB, and the kernel maps a
     * 2 MB folio with one PMD entry only where the mapping covers all of it
     * (at an address it aligns with the offset). Populating then writes one
     * entry instead of 512, and unmapping frees them as cheaply. Only the
     * piece's own pages are populated; what lies around them stays unmapped
     * unless a 2 MB folio brings it along. */
    const uint64_t block = CS__MAP_BLOCK;
    const uint64_t start = off & ~(block - 1), map_end = (end + block - 1) & ~(block - 1);
    const uint64_t pop = off & ~(uint64_t)(job->page_size - 1);
    const size_t len = (size_t)(map_end - start);
    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, v->map.fd, (off_t)start);
    if (m == MAP_FAILED)
        return false;
    bool ok = madvise(m + (pop - start), (size_t)(end - pop), CS__MADV_POPULATE) == 0;
    if (ok)
        cs__count_rows(w, m + (off - start), p0, p1);
    munmap(m, len);
    return ok;
}

static void *cs__worker_main(void *arg)
{
    cs__prof_worker *w = arg;
    cs__prof_job *job = w->job;
    const cs_matrix_view *v = job->view;
    const size_t es = v->elem_size;
    const uint64_t rows = v->rows, F = v->features;
    for (;;) {
        uint64_t c0 = atomic_fetch_add(&job->next_chunk, 1) * job->chunk_rows;
        if (c0 >= rows)
            break;
        uint64_t c1 = c0 + job->chunk_rows < rows ? c0 + job->chunk_rows : rows;
        for (uint64_t m0 = c0; m0 < c1; m0 += job->map_rows) {
            uint64_t m1 = m0 + job->map_rows < c1 ? m0 + job->map_rows : c1;
            /* a contiguous tensor is counted in place where it can be mapped */
            if (v->contiguous && cs__count_mapped(w, m0, m1))
                continue;
            /* otherwise read in pieces of whole base tiles that stay in cache */
            for (uint64_t p0 = m0; p0 < m1; p0 += job->read_rows) {
                uint64_t p1 = p0 + job->read_rows < m1 ? p0 + job->read_rows : m1;
                if (!v->contiguous) {
                    cs_matrix_view_gather(v, p0, p1 - p0, 0, F, w->gather_buf, F);
                } else {
                    uint64_t off = v->tensor->data_offset + p0 * F * es, len = (p1 - p0) * F * es, got = 0;
                    while (got < len) {
                        ssize_t n = pread(v->map.fd, w->gather_buf + got, len - got, (off_t)(off + got));
                        if (n <= 0)
                            break;
                        got += (uint64_t)n;
                    }
                    if (got < len) {
                        w->failed = true;
                        return NULL;
                    }
                }
                cs__count_rows(w, w->gather_buf, p0, p1);
            }
        }
    }
    for (int hi = 0; hi < job->H; hi++)
        cs__add_recent_zero_tiles(w, hi);
    return NULL;
}

static void *cs__worker_gate(void *arg)
{
    cs__prof_worker *w = arg;
    cs__prof_job *job = w->job;
    pthread_mutex_lock(&job->gate_lock);
    while (job->gate == 0)
        pthread_cond_wait(&job->gate_cond, &job->gate_lock);
    int go = job->gate;
    pthread_mutex_unlock(&job->gate_lock);
    return go > 0 ? cs__worker_main(w) : NULL;
}

static void cs__worker_free(cs__prof_worker *w)
{
    free(w->tile_zero);
    free(w->tile_zero8);
    free(w->h_zero);
    free(w->h_zero8);
    free(w->chan_zero);
    free(w->chan_zero_tiles);
    free(w->recent_zero_tiles);
    free(w->hist);
    free(w->zero_cols);
    free(w->gather_buf);
}

const char *cs_taxonomy_name(cs_taxonomy t)
{
    switch (t) {
    case CS_TAXONOMY_DENSE:
        return "dense";
    case CS_TAXONOMY_DISPERSION:
        return "dispersion";
    case CS_TAXONOMY_DIMENSION:
        return "dimension-driven";
    case CS_TAXONOMY_CONCENTRATION:
        return "concentration";
    case CS_TAXONOMY_COLOCATION:
        return "co-location";
    }
    return "?";
}

cs_status cs_profile_config_check(const cs_profile_config *cfg, cs_error *err)
{
    if (cfg->nthresholds == 0 || cfg->nthresholds > CS_PROFILE_MAX_THRESHOLDS)
        return cs_error_set(err, CS_EINPUT, "--thresholds: give 1 to %d thresholds", CS_PROFILE_MAX_THRESHOLDS);
    for (size_t i = 0; i < cfg->nthresholds; i++)
        if (!isfinite(cfg->thresholds[i]) || cfg->thresholds[i] < 0)
            return cs_error_set(err, CS_EINPUT, "--thresholds: %g is not a finite non-negative number",
                                cfg->thresholds[i]);
    if (cfg->ntile_rows == 0 || cfg->ntile_rows > CS_PROFILE_MAX_TILE_HEIGHTS)
        return cs_error_set(err, CS_EINPUT, "--tile-rows: give 1 to %d tile heights", CS_PROFILE_MAX_TILE_HEIGHTS);
    for (size_t i = 0; i < cfg->ntile_rows; i++)
        if (cfg->tile_rows[i] < 1 || cfg->tile_rows[i] > (1u << 24))
            return cs_error_set(err, CS_EINPUT, "--tile-rows: %u is outside 1..16777216", cfg->tile_rows[i]);
    if (cfg->threads < 0 || cfg->threads > 1024)
        return cs_error_set(err, CS_EINPUT, "--threads: %d is outside 0..1024", cfg->threads);
    return CS_OK;
}

void cs_colmask_free(cs_colmask *m)
{
    free(m->bits);
    free(m->nonzero);
    memset(m, 0, sizeof *m);
}

void cs_profile_free(cs_profile *p)
{
    if (p->cells)
        for (size_t i = 0; i < p->nthresholds * p->ntile_rows; i++) {
            free(p->cells[i].nnz_rows_hist);
            cs_colmask_free(&p->cells[i].mask);
        }
    free(p->cells);
    free(p->channel_zero_rate);
    free(p->gini_nonzero);
    memset(p, 0, sizeof *p);
}

cs_status cs_profile_tensor(const cs_tensor *t, const cs_profile_config *cfg, cs_profile *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_status rc = cs_profile_config_check(cfg, err);
    if (rc != CS_OK)
        return rc;
    cs_matrix_view view;
    if ((rc = cs_matrix_view_open(&view, t, cfg->feature_axis, err)) != CS_OK)
        return rc;

    const int T = (int)cfg->nthresholds, H = (int)cfg->ntile_rows;
    const uint64_t F = view.features, rows = view.rows;
    cs__prof_job job;
    memset(&job, 0, sizeof job);
    atomic_init(&job.next_chunk, 0);
#ifdef MADV_POPULATE_READ
    job.page_size = sysconf(_SC_PAGESIZE);
    if (job.page_size < 0 || (job.page_size & (job.page_size - 1)) || cs__profile_force_pread)
        job.page_size = 0;
#endif
    job.view = &view;
    pthread_mutex_init(&job.gate_lock, NULL);
    pthread_cond_init(&job.gate_cond, NULL);
    job.T = T;
    job.H = H;
    for (int i = 0; i < T; i++) {
        job.kt[i] = cs_threshold_bits(t->dtype, cfg->thresholds[i]);
        job.kt16[i] = (uint16_t)job.kt[i];
        job.kt32[i] = (uint32_t)job.kt[i];
    }
    uint64_t base = 0;
    for (int i = 0; i < H; i++) {
        job.heights[i] = cfg->tile_rows[i];
        job.hist_off[i] = job.hist_total;
        job.hist_total += cfg->tile_rows[i] + 1ull;
        base = cs__gcd(base, cfg->tile_rows[i]);
    }
    job.base = (uint32_t)base;
    cs__height_order(job.heights, H, job.order, job.parent);
    job.tallest = job.order[H - 1];
    job.last_base_reader = -1;
    for (int i = 0; i < H; i++) {
        int hi = job.order[i], p = job.parent[hi];
        if (job.heights[hi] != base && (p < 0 || job.heights[p] == base))
            job.last_base_reader = i;
    }
    const uint64_t row_bytes = F * view.elem_size;
    /* whole base tiles, so each kernel call counts one whole base tile */
    job.chunk_rows = CS__CHUNK_BYTES / row_bytes ? CS__CHUNK_BYTES / row_bytes : 1; /* rows over 4 MB: one */
    job.chunk_rows = (job.chunk_rows + job.base - 1) / job.base * job.base;
    job.bytes = view.elem_size == 2 && job.base <= 255 && cs__have_avx512bw() && !cs__profile_force_words;
    for (int i = 0; i < H; i++)
        job.h_bytes[i] = job.bytes && job.heights[i] <= 255 && job.heights[i] != job.base;
    int nthreads = cfg->threads > 0 ? cfg->threads : cs_cpu_count();
    if (rows * F < (1u << 20))
        nthreads = 1; /* small tensors: threads would cost more than they save */
    if (nthreads > 1) {
        /* chunks must hold whole tiles of every height */
        uint64_t lcm = 1;
        for (int i = 0; i < H && lcm <= rows; i++)
            lcm = lcm / cs__gcd(lcm, job.heights[i]) * job.heights[i];
        if (lcm > rows / 2 || lcm * row_bytes > CS__MAX_CHUNK_BYTES)
            nthreads = 1;
        else
            job.chunk_rows = (job.chunk_rows + lcm - 1) / lcm * lcm;
    }
    if ((uint64_t)nthreads > (rows + job.chunk_rows - 1) / job.chunk_rows)
        nthreads = (int)((rows + job.chunk_rows - 1) / job.chunk_rows);
    job.nworkers = nthreads;
    job.read_rows = CS__READ_BYTES / row_bytes / job.base * job.base;
    if (job.read_rows < job.base)
        job.read_rows = job.base;
    if (job.read_rows > job.chunk_rows)
        job.read_rows = job.chunk_rows;
    /* chunks split into equal mappings of about CS__MAP_BYTES (a 5 MB chunk
     * into one, not into 4 MB and a remainder) */
    uint64_t nmaps = (job.chunk_rows * row_bytes + CS__MAP_BYTES / 2) / CS__MAP_BYTES;
    nmaps = nmaps ? nmaps : 1;
    job.map_rows = (job.chunk_rows / nmaps + job.base - 1) / job.base * job.base;
    if (job.map_rows < job.read_rows)
        job.map_rows = job.read_rows;

    cs__prof_worker *workers = calloc((size_t)nthreads, sizeof *workers);
    out->cells = calloc((size_t)T * H, sizeof *out->cells);
    out->channel_zero_rate = calloc((size_t)T * F, sizeof(double));
    out->gini_nonzero = calloc((size_t)T, sizeof(double));
    bool ok = workers && out->cells && out->channel_zero_rate && out->gini_nonzero;
    out->nthresholds = (size_t)T;
    out->ntile_rows = (size_t)H;
    out->rows = rows;
    out->features = F;
    for (int i = 0; ok && i < T * H; i++) {
        cs_profile_cell *c = &out->cells[i];
        c->threshold = cfg->thresholds[i / H];
        c->tile_rows = cfg->tile_rows[i % H];
        c->nnz_rows_hist = calloc(c->tile_rows + 1ull, sizeof(uint64_t));
        ok = c->nnz_rows_hist != NULL;
    }
    if (ok && cfg->want_masks) {
        job.masks = calloc((size_t)T * H, sizeof *job.masks);
        ok = job.masks != NULL;
        for (int i = 0; ok && i < T * H; i++) {
            cs_colmask *m = &job.masks[i];
            m->rows = rows;
            m->features = F;
            m->tile_rows = cfg->tile_rows[i % H];
            m->tiles = (rows + m->tile_rows - 1) / m->tile_rows;
            m->threshold = cfg->thresholds[i / H];
            m->words_per_tile = (F + 63) / 64;
            m->bits = calloc(m->tiles * m->words_per_tile, sizeof(uint64_t));
            m->nonzero = calloc(m->tiles, sizeof(uint64_t));
            ok = m->bits && m->nonzero;
        }
    }
    for (int i = 0; ok && i < nthreads; i++) {
        cs__prof_worker *w = &workers[i];
        w->job = &job;
        w->index = i;
        size_t nk = (size_t)F;
        w->gather_buf = malloc(job.read_rows * row_bytes);
        w->tile_zero = calloc((size_t)T * nk, sizeof *w->tile_zero);
        w->tile_zero8 = calloc((size_t)T * nk, 1);
        w->h_zero = calloc((size_t)H * T * nk, sizeof *w->h_zero);
        w->h_zero8 = calloc((size_t)H * T * nk, 1);
        w->chan_zero = calloc((size_t)T * nk, sizeof *w->chan_zero);
        w->chan_zero_tiles = calloc((size_t)T * H * nk, sizeof *w->chan_zero_tiles);
        w->recent_zero_tiles = calloc((size_t)T * H * nk, 1);
        w->hist = calloc((size_t)T * job.hist_total * CS__HIST_COPIES, sizeof *w->hist);
        w->zero_cols = calloc((size_t)T * H, sizeof *w->zero_cols);
        ok = w->gather_buf && w->tile_zero && w->tile_zero8 && w->h_zero && w->h_zero8 && w->chan_zero &&
             w->chan_zero_tiles && w->recent_zero_tiles && w->hist && w->zero_cols;
    }
    if (!ok) {
        rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory profiling a [%llu x %llu] tensor", t->file,
                          (unsigned long long)rows, (unsigned long long)F);
        goto done;
    }

    /* Threads wait at a gate until all of them exist: if one cannot be
     * created the others give up before doing any work. */
    int started = 1;
    for (int i = 1; i < nthreads; i++) {
        if (pthread_create(&workers[i].thread, NULL, cs__worker_gate, &workers[i]) != 0)
            break;
        started++;
    }
    pthread_mutex_lock(&job.gate_lock);
    job.gate = started == nthreads ? 1 : -1;
    pthread_cond_broadcast(&job.gate_cond);
    pthread_mutex_unlock(&job.gate_lock);
    if (started == nthreads)
        cs__worker_main(&workers[0]);
    for (int i = 1; i < started; i++)
        pthread_join(workers[i].thread, NULL);
    if (started != nthreads) {
        rc = cs_error_set(err, CS_ERUNTIME, "cannot start %d profiling threads (try --threads 1)", nthreads);
        goto done;
    }
    for (int i = 0; i < nthreads; i++)
        if (workers[i].failed) {
            rc = cs_error_set(err, CS_ERUNTIME, "%s: read error (did the file shrink while being profiled?)",
                              t->file);
            goto done;
        }

    /* Sum the workers' counters, the per-channel ones into the first
     * worker's (warm in this thread's cache, where fresh totals would first
     * have to be faulted in). */
    uint64_t *chan_zero = workers[0].chan_zero, *chan_zero_tiles = workers[0].chan_zero_tiles;
    for (int i = 0; i < nthreads; i++) {
        const cs__prof_worker *w = &workers[i];
        for (int tt = 0; tt < T; tt++) {
            for (uint64_t k = 0; i && k < F; k++)
                chan_zero[(size_t)tt * F + k] += w->chan_zero[(size_t)tt * F + k];
            for (int hi = 0; hi < H; hi++) {
                for (uint64_t k = 0; i && k < F; k++)
                    chan_zero_tiles[((size_t)tt * H + hi) * F + k] += w->chan_zero_tiles[((size_t)tt * H + hi) * F + k];
                cs_profile_cell *c = cs_profile_at(out, (size_t)tt, (size_t)hi);
                c->zero_columns += w->zero_cols[tt * H + hi];
                const uint64_t *hist = w->hist + ((size_t)tt * job.hist_total + job.hist_off[hi]) * CS__HIST_COPIES;
                const size_t bins = c->tile_rows + 1ull;
                for (size_t copy = 0; copy < CS__HIST_COPIES; copy++)
                    for (size_t b = 0; b < bins; b++)
                        c->nnz_rows_hist[b] += hist[copy * bins + b];
            }
        }
    }
    if (job.masks) {
        for (int i = 0; i < T * H; i++) {
            cs_colmask *m = &job.masks[i];
            for (uint64_t tile = 0; tile < m->tiles; tile++) {
                uint64_t n = 0;
                for (uint64_t wd = 0; wd < m->words_per_tile; wd++)
                    n += (uint64_t)__builtin_popcountll(m->bits[tile * m->words_per_tile + wd]);
                m->nonzero[tile] = n;
            }
            out->cells[i].mask = *m;
        }
        free(job.masks);
        job.masks = NULL;
    }
    cs__profile_finish(out, chan_zero, chan_zero_tiles, job.order, job.parent, nthreads);

done:
    if (job.masks) {
        for (int i = 0; i < T * H; i++)
            cs_colmask_free(&job.masks[i]);
        free(job.masks);
    }
    if (workers)
        for (int i = 0; i < nthreads; i++)
            cs__worker_free(&workers[i]);
    free(workers);
    pthread_mutex_destroy(&job.gate_lock);
    pthread_cond_destroy(&job.gate_cond);
    cs_matrix_view_close(&view);
    if (rc != CS_OK)
        cs_profile_free(out);
    return rc;
}

cs_status cs_colmask_compute(const cs_tensor *t, int feature_axis, double threshold, uint32_t tile_rows,
                             int threads, cs_colmask *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
    cs_profile_config cfg = {
        .thresholds = &threshold,
        .nthresholds = 1,
        .tile_rows = &tile_rows,
        .ntile_rows = 1,
        .feature_axis = feature_axis,
        .threads = threads,
        .want_masks = true,
    };
    cs_profile p;
    cs_status rc = cs_profile_tensor(t, &cfg, &p, err);
    if (rc != CS_OK)
        return rc;
    *out = p.cells[0].mask;
    memset(&p.cells[0].mask, 0, sizeof p.cells[0].mask);
    cs_profile_free(&p);
    return CS_OK;
}
