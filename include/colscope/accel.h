/* colscope accel: a systolic-array accelerator with double-buffered SRAMs
 * and a memory back end (ideal, fixed bandwidth, or the cycle-level GDDR6
 * model), running the folds of colscope's compute model and fetching exactly
 * the 32-byte atoms each fold needs under a chosen memory layout. Answers:
 * total cycles, compute vs memory-stall cycles, DRAM traffic per operand,
 * for each layout, dense and with zero activation columns skipped.
 * The model: docs/MODEL.md, "Accelerator". */
#ifndef COLSCOPE_ACCEL_H
#define COLSCOPE_ACCEL_H

#include "colscope/profile.h"
#include "colscope/systolic.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cs_mem_kind { CS_MEM_IDEAL = 0, CS_MEM_BANDWIDTH = 1, CS_MEM_GDDR6 = 2 } cs_mem_kind;
const char *cs_mem_kind_name(cs_mem_kind k);

/* How the activation operand A (tokens x features) is laid out in DRAM. */
typedef enum cs_layout {
    CS_LAYOUT_ROW = 0,     /* token-major, what PyTorch writes */
    CS_LAYOUT_COL = 1,     /* feature-major */
    CS_LAYOUT_TILED = 2,   /* per token tile of h rows, each feature's h values contiguous */
    CS_LAYOUT_COMPACT = 3, /* tiled, storing only the non-zero columns of each tile, plus a bitmap */
} cs_layout;
#define CS_LAYOUT_COUNT 4
const char *cs_layout_name(cs_layout l);
bool cs_layout_from_name(const char *s, cs_layout *out);

/* How the weights B (K x N) are laid out: row = K-major (B[k] contiguous),
 * col = N-major (torch.nn.Linear.weight, [N, K]). */
typedef enum cs_weight_layout { CS_WEIGHTS_ROW = 0, CS_WEIGHTS_COL = 1 } cs_weight_layout;

#define CS_ATOM_BYTES 32u /* one GDDR6 access: 16n prefetch on a 16-bit channel */

typedef struct cs_machine {
    char *name, *description;
    double core_clock_ghz;
    uint32_t word_bytes;             /* 2 = fp16 (default), 1 = int8, 4 = fp32 */
    cs_array_config array;           /* rows, cols, dataflow (SRAM sizes below) */
    uint64_t ifmap_sram_bytes, filter_sram_bytes, ofmap_sram_bytes;
    cs_mem_kind memory;
    double bandwidth_gbps;           /* CS_MEM_BANDWIDTH: bytes/s / 1e9, shared by all operands */
    uint32_t channels;               /* CS_MEM_GDDR6 */
    char *dram_preset;               /* e.g. "gddr6-14" */
    char *dram_mapping;              /* e.g. "RoBaRaCoCh" */
    char *dram_config;               /* optional INI with timing overrides */
    cs_weight_layout weight_layout;
    uint32_t layout_tile_rows;       /* tiled/compact layouts; 0 = the dataflow's token tile */
    cs_skip_options skip;            /* skipping policy and WS token block */
} cs_machine;

void cs_machine_init_default(cs_machine *m);
cs_status cs_machine_load(const char *path, cs_machine *m, cs_error *err);
void cs_machine_free(cs_machine *m);
/* Peak DRAM bandwidth in GB/s of the configured back end (0 for ideal). */
double cs_machine_peak_gbps(const cs_machine *m);

/* What one simulated (layer, layout, dense|skip) produced. Cycles are core
 * cycles. */
typedef struct cs_accel_result {
    uint64_t total_cycles;
    uint64_t compute_cycles;        /* equals colscope compute's (skipped) cycles */
    uint64_t stall_cycles;          /* total - compute */
    uint64_t folds;
    uint64_t read_bytes[3];         /* A (ifmap), B (filter), metadata */
    uint64_t write_bytes;           /* C (outputs and partial sums) */
    uint64_t a_stored_bytes;        /* A's footprint in DRAM under the layout (compact < dense) */
    uint64_t metadata_bytes;        /* compact layout bitmaps stored */
    uint64_t dram_requests;
    double achieved_gbps;
    double row_hit_rate;            /* GDDR6 only, else NAN */
    double seconds;                 /* total_cycles / core clock */
} cs_accel_result;

enum { CS_OPERAND_A = 0, CS_OPERAND_B = 1, CS_OPERAND_META = 2 };

/* One layer's GEMM with an optional non-zero-column mask of A at the tile
 * height the skipping dataflow needs (mask->tile_rows ==
 * cs_skip_tile_rows()) and one at the layout's tile height (for tiled and
 * compact layouts); NULL masks mean a dense A without zero columns. */
typedef struct cs_accel_layer {
    const cs_layer *layer;
    const cs_colmask *skip_mask;
    const cs_colmask *layout_mask;
} cs_accel_layer;

/* Tile height the layouts use for this layer. */
uint64_t cs_accel_layout_tile_rows(const cs_machine *m, const cs_layer *l);

cs_status cs_accel_simulate(const cs_machine *m, const cs_accel_layer *layer, cs_layout layout, bool skip,
                            cs_accel_result *out, cs_error *err);

/* Whether two runs on machine m are bound to give the same result: the same
 * GEMM shape and layout, and the same content of the masks each run reads
 * (the skip mask only when skipping, the layout mask only for the compact
 * layout), where a mask without zero columns counts as none if the run then
 * builds the same schedule and addresses as without it. Layer names differ
 * at most; they only appear in errors. Lets a caller simulate repeated
 * layers once. */
bool cs_accel_same_run(const cs_machine *m, const cs_accel_layer *a, cs_layout la, bool sa,
                       const cs_accel_layer *b, cs_layout lb, bool sb);

#ifdef __cplusplus
}
#endif
#endif
