/* Internal structures of the accelerator model: the schedule (folds, the
 * operand units they fetch, the output units they produce), the memory
 * back ends, and the engine that plays the schedule against a back end. */
#ifndef COLSCOPE_ACCEL_INTERNAL_H
#define COLSCOPE_ACCEL_INTERNAL_H

#include "colscope/accel.h"

enum { CS__OP_A = 0, CS__OP_B = 1, CS__OP_META = 2, CS__OP_C = 3, CS__NOPS = 4 };

/* A unit is one piece of an operand a fold reads (or of the output it
 * writes): a rectangle of the operand, fetched as the 32-byte atoms that
 * cover it under the layout. */
typedef struct cs__unit {
    uint8_t op;
    uint64_t m0, m1;         /* A, C: token rows; META: layout tiles [m0, m1) */
    const uint32_t *klist;   /* A, B: the K columns (A) / rows (B) the fold uses */
    uint64_t j0, j1;         /* ... klist[j0 .. j1) */
    uint64_t n0, n1;         /* B, C: output columns */
    uint32_t fold;           /* fold whose events reference it */
    uint64_t need;           /* reads: offset in the fold when first needed; writes: when produced */
    uint32_t release_fold;   /* reads: fold at whose release offset the buffer space frees */
    uint64_t release;        /* offset in release_fold */
} cs__unit;

typedef struct cs__fold {
    uint64_t rows;            /* demand rows (compute cycles) of the fold */
    uint32_t ev0, ev1;        /* its events */
} cs__fold;

typedef struct cs__event {
    uint64_t offset;
    uint32_t unit;
    bool produce;             /* write unit produced (else read unit needed) */
} cs__event;

typedef struct cs__schedule {
    cs__fold *folds;
    size_t nfolds, cap_folds;
    cs__unit *units;
    size_t nunits, cap_units;
    cs__event *events;
    size_t nevents, cap_events;
    uint32_t **klists;        /* owned column lists */
    size_t nklists, cap_klists;
    uint64_t compute_cycles;  /* sum of fold rows - 1 */
} cs__schedule;

void cs__schedule_free(cs__schedule *s);
/* metadata: A's layout stores bitmaps that every piece of A comes with. */
cs_status cs__schedule_build(const cs_machine *m, const cs_accel_layer *L, bool skip, bool metadata,
                             cs__schedule *s, cs_error *err);

/* ---- layouts: units to atoms ---------------------------------------- */

typedef struct cs__atom_run {
    uint64_t first, count;    /* atoms [first, first + count) */
} cs__atom_run;

typedef struct cs__layout_ctx {
    const cs_machine *m;
    const cs_layer *l;
    cs_layout layout;
    uint64_t es;                      /* element bytes */
    uint64_t base[CS__NOPS];          /* byte address of each region */
    uint64_t h;                       /* layout tile height */
    const cs_colmask *mask;           /* compact: which columns each tile stores */
    uint64_t *tile_start;             /* compact: element offset of each tile */
    uint32_t *word_rank;              /* compact: columns stored before each mask word */
    uint64_t a_bytes, meta_bytes;     /* A's footprint and the bitmaps' */
} cs__layout_ctx;

cs_status cs__layout_init(cs__layout_ctx *c, const cs_machine *m, const cs_layer *l, cs_layout layout,
                          const cs_colmask *layout_mask, cs_error *err);
void cs__layout_free(cs__layout_ctx *c);
/* The atoms covering a unit, sorted and merged, appended to *runs. */
cs_status cs__layout_atoms(const cs__layout_ctx *c, const cs__unit *u, cs__atom_run **runs, size_t *nruns,
                           size_t *cap, cs_error *err);

/* ---- memory back ends ----------------------------------------------- */

/* The signature of lib/dram's completion callback, so the GDDR6 back end
 * hands the engine's straight to it (is_write: the simple back ends pass
 * false; the engine does not read it). */
typedef void (*cs__mem_done_fn)(void *user, uint64_t tag, uint64_t cycle, bool is_write);

struct cs_dram;

typedef struct cs__mem {
    void *self;
    double tck_ps;                                             /* back-end clock period */
    /* The per-request operations, for the simple back ends; NULL for GDDR6,
     * whose model the engine calls directly (`dram`): an indirect call per
     * request was a measurable share of the engine's time. */
    bool (*try_send)(void *self, uint64_t addr, bool write, uint64_t tag);
    /* Optional (NULL: retry always): right after try_send refused, a counter
     * that keeps the value put in *value while the same request would be
     * refused again. */
    const uint64_t *(*refusal_watch)(void *self, uint64_t *value);
    void (*advance_to)(void *self, uint64_t cycle);            /* completions up to cycle fire */
    uint64_t (*next_event)(void *self);                        /* UINT64_MAX when idle */
    double (*row_hit_rate)(void *self);
    void (*destroy)(void *self);
    struct cs_dram *dram;                                      /* GDDR6: the model; else NULL */
} cs__mem;

/* The back ends (mem_simple.c: ideal and bandwidth; mem_gddr6.c). */
cs_status cs__mem_simple_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err);
cs_status cs__mem_gddr6_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err);

#endif
