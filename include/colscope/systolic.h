/* colscope systolic: GEMMs on an R x C systolic array (SCALE-Sim's compute
 * model in closed form, cycle for cycle), and the same GEMMs with the zero
 * activation columns found by colscope profile skipped.
 *
 * GEMM C[M x N] = A[M x K] . B[K x N]. Dataflows: OS (outputs stationary: M
 * on rows, N on cols, K streamed), WS (weights: K on rows, N on cols, M
 * streamed), IS (inputs: K on rows, M on cols, N streamed). Formulas and
 * their derivation: docs/MODEL.md, "Compute model". */
#ifndef COLSCOPE_SYSTOLIC_H
#define COLSCOPE_SYSTOLIC_H

#include "colscope/common.h"
#include "colscope/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cs_dataflow { CS_DATAFLOW_OS = 0, CS_DATAFLOW_WS = 1, CS_DATAFLOW_IS = 2 } cs_dataflow;
const char *cs_dataflow_name(cs_dataflow df);
/* "os", "ws" or "is" (exactly, as SCALE-Sim spells them). */
bool cs_dataflow_from_name(const char *s, cs_dataflow *out);

/* A SCALE-Sim .cfg (v2, or v3 with its [layout]/[sparsity] sections). */
typedef struct cs_array_config {
    char *run_name;
    uint64_t rows, cols;                 /* ArrayHeight, ArrayWidth */
    uint64_t ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb;
    uint64_t ifmap_offset, filter_offset, ofmap_offset;
    cs_dataflow dataflow;
    bool user_bandwidth;                 /* InterfaceBandwidth USER (else CALC) */
    uint64_t bandwidth;                  /* first value of Bandwidth, words/cycle (USER) */
    int version;                         /* 2 or 3: which SCALE-Sim's report layout to write */
    bool sparsity;                       /* v3 SparsitySupport */
    bool rowwise;                        /* v3 OptimizedMapping (row-wise N:M) */
    uint64_t block_size, seed;           /* v3 BlockSize, RandomNumberGeneratorSeed */
    char *sparse_rep;                    /* v3 SparseRep */
} cs_array_config;

cs_status cs_array_config_load(const char *path, cs_array_config *cfg, cs_error *err);
void cs_array_config_free(cs_array_config *cfg);
/* A config from values, for library users and tests (CALC, v2 layout,
 * 64 kB SRAMs, SCALE-Sim's default offsets). */
void cs_array_config_init(cs_array_config *cfg, uint64_t rows, uint64_t cols, cs_dataflow df);

typedef enum cs_topology_kind { CS_TOPOLOGY_CONV = 0, CS_TOPOLOGY_GEMM = 1 } cs_topology_kind;

/* One layer as the GEMM SCALE-Sim lowers it to. */
typedef struct cs_layer {
    char *name;
    int line;                 /* line of the topology file */
    uint64_t M, N, K;         /* dense GEMM: M = Ho*Wo, N = filters, K = Fh*Fw*C */
    uint64_t nm_n, nm_m;      /* v3 N:M weight sparsity (1:1 = dense) */
    bool conv;                /* from a conv row (else a GEMM row) */
    uint64_t H, W, Fh, Fw, C, Sh, Sw, Ho, Wo; /* conv geometry; GEMM rows as SCALE-Sim maps them */
} cs_layer;

typedef struct cs_topology {
    cs_layer *layers;
    size_t count, cap;
} cs_topology;

/* Reads a SCALE-Sim topology CSV: the first line is a header, every data row
 * ends with a comma. version selects the v2 or v3 reading of extra fields. */
cs_status cs_topology_load(const char *path, cs_topology_kind kind, int version, cs_topology *topo, cs_error *err);
cs_status cs_topology_add_gemm(cs_topology *topo, const char *name, uint64_t M, uint64_t N, uint64_t K,
                               cs_error *err);
void cs_topology_free(cs_topology *topo);
/* The first layer named `name`, or NULL. */
const cs_layer *cs_topology_find(const cs_topology *topo, const char *name);

/* SCALE-Sim's COMPUTE_REPORT quantities for one layer. */
typedef struct cs_compute_stats {
    uint64_t cycles;              /* "Total Cycles": demand rows - 1 (stall-free) */
    uint64_t stall_cycles;        /* always 0: CALC has no stalls (docs/MODEL.md) */
    int64_t cycles_incl_prefetch; /* v3 "Total Cycles (incl. prefetch)"; computed for version 3 only */
    double overall_util;          /* % */
    double mapping_efficiency;    /* % */
    double compute_util;          /* % */
    uint64_t folds;
    uint64_t K_mapped;            /* K after N:M compression */
} cs_compute_stats;

/* Dense (no activation sparsity) results, identical to SCALE-Sim CALC mode. */
cs_status cs_systolic_dense(const cs_array_config *cfg, const cs_layer *layer, cs_compute_stats *out,
                            cs_error *err);

/* How weight- and input-stationary arrays use zero activation columns. */
typedef enum cs_skip_policy {
    CS_SKIP_COMPACT = 0, /* the stationary K dimension compacts to the non-zero columns (default) */
    CS_SKIP_FOLD = 1,    /* a K-fold is skipped only when all its R columns are zero (no re-indexing) */
} cs_skip_policy;

typedef struct cs_skip_options {
    cs_skip_policy policy;
    uint64_t ws_token_block; /* WS: rows per token block; 0 = all of M */
} cs_skip_options;

/* Column-skipping results for one layer. */
typedef struct cs_skip_stats {
    uint64_t dense_cycles, cycles;
    double cycle_reduction;      /* 1 - cycles/dense_cycles */
    uint32_t tile_rows;          /* token tile the dataflow implies */
    uint64_t folds_dense, folds;
    double mapping_efficiency, compute_util; /* % over the folds executed */
} cs_skip_stats;

/* The token tile height the dataflow skips at: OS R, IS C, WS the token block. */
uint64_t cs_skip_tile_rows(const cs_array_config *cfg, const cs_layer *layer, const cs_skip_options *opt);
/* Cycles with zero columns of A skipped. mask must be the non-zero-column
 * mask of A (rows = M, features = K) at cs_skip_tile_rows(). */
cs_status cs_systolic_skip(const cs_array_config *cfg, const cs_layer *layer, const cs_colmask *mask,
                           const cs_skip_options *opt, cs_skip_stats *out, cs_error *err);

/* Python repr() of a double, as SCALE-Sim prints report floats. */
void cs_format_pyfloat(double v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
