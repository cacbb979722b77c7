/* Shared between the systolic model's files. */
#ifndef COLSCOPE_SYSTOLIC_INTERNAL_H
#define COLSCOPE_SYSTOLIC_INTERNAL_H

#include "colscope/systolic.h"

/* The fold grid of one layer (SCALE-Sim systolic_compute_*.py::set_params):
 * Sr on array rows, Sc on array columns, T streamed; folds enumerate column
 * folds outside and row folds inside. */
typedef struct cs__fold_grid {
    uint64_t R, C;
    uint64_t Sr, Sc, T;
    uint64_t nr, nc;
    uint64_t P;      /* demand rows per fold */
    uint64_t Kc;     /* K as mapped (after N:M) */
} cs__fold_grid;

static inline uint64_t cs__cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Row-wise N:M (v3 OptimizedMapping): keep counts per filter column, drawn
 * as numpy's legacy RandomState(seed).randint(1, B/2 + 1, ...) would. */
void cs__rowwise_ratios(uint64_t seed, uint64_t block, uint64_t n, uint32_t *out);
/* Whether compressed row r of column `col` holds a real weight. */
bool cs__rowwise_real(uint64_t r, uint64_t K, uint64_t block, uint32_t ratio);

void cs__fold_grid_init(const cs_array_config *cfg, const cs_layer *l, uint64_t Kc, cs__fold_grid *g);
uint64_t cs__mapped_K(const cs_array_config *cfg, const cs_layer *l);

/* v3 "Total Cycles (incl. prefetch)" (docs/MODEL.md). */
cs_status cs__incl_prefetch(const cs_array_config *cfg, const cs_layer *l, const cs__fold_grid *g,
                            uint64_t total, const uint32_t *ratios, int64_t *out, cs_error *err);

#endif
