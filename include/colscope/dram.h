/* colscope GDDR6 DRAM model: a cycle-level device and controller in the
 * command clock, validated cycle for cycle against Ramulator 2.1 (GenericDDR
 * controller, FRFCFS, GDDR6_14000_1350mV preset), and driven request by
 * request so the same model serves traces and co-simulation.
 *
 * Time is counted in command-clock cycles (tCK). The model has executed
 * cs_dram_cycle(d) controller ticks; a request sent now is stamped with that
 * cycle and can be scheduled from the next tick on (this is Ramulator's
 * convention, so an unloaded read to a closed bank completes after
 * 1 + nRCDRD + nCL + nBL cycles).
 *
 * Typical co-simulation loop:
 *
 *     cs_dram_config cfg;
 *     cs_dram_config_preset(&cfg, "gddr6-14", &err);
 *     cfg.channels = 8;                              // optional overrides
 *     cs_dram *d = cs_dram_create(&cfg, on_complete, me, &err);
 *     for (;;) {
 *         while (have_request() && cs_dram_try_send(d, addr, is_write, tag))
 *             next_request();                        // false: that channel's queue is full
 *         uint64_t t = min(my_next_event(), cs_dram_next_event(d));
 *         cs_dram_advance_to(d, t);                  // calls on_complete for what finished
 *         ...
 *     }
 *
 * Model choices and their validation: docs/MODEL.md, section 3. */
#ifndef COLSCOPE_DRAM_H
#define COLSCOPE_DRAM_H

#include "colscope/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CS_DRAM_MAX_CHANNELS = 64,
    CS_DRAM_MAX_BANKS = 32, /* bank groups x banks per group, per channel */
    CS_DRAM_TX_BYTES = 32,  /* one access: 16n prefetch x 16-bit channel */
};

/* Timing parameters, in command-clock cycles, named as in Ramulator 2.1's
 * GDDR6 standard (and the GDDR6 datasheets). */
typedef enum cs_dram_param {
    CS_DRAM_nBL,     /* burst: BL16 = 2 tCK */
    CS_DRAM_nCL,     /* read latency (CAS) */
    CS_DRAM_nRCDRD,  /* ACT to RD */
    CS_DRAM_nRCDWR,  /* ACT to WR */
    CS_DRAM_nRP,     /* PRE to ACT */
    CS_DRAM_nRAS,    /* ACT to PRE */
    CS_DRAM_nRC,     /* ACT to ACT, same bank */
    CS_DRAM_nWR,     /* write recovery */
    CS_DRAM_nRTP,    /* RD to PRE */
    CS_DRAM_nCWL,    /* write latency */
    CS_DRAM_nCCDS,   /* column to column, different bank group */
    CS_DRAM_nCCDL,   /* column to column, same bank group */
    CS_DRAM_nRRDS,   /* ACT to ACT, different bank group */
    CS_DRAM_nRRDL,   /* ACT to ACT, same bank group */
    CS_DRAM_nWTRS,   /* end of write data to RD, different bank group */
    CS_DRAM_nWTRL,   /* end of write data to RD, same bank group */
    CS_DRAM_nFAW,    /* four-activate window */
    CS_DRAM_nRFCpb,  /* per-bank refresh cycle */
    CS_DRAM_nRREFD,  /* REFpb to REFpb / ACT, different bank */
    CS_DRAM_nREFI,   /* average all-bank refresh interval */
    CS_DRAM_nRFCab,  /* all-bank refresh cycle */
    CS_DRAM_nPPD,    /* PRE to PRE */
    CS_DRAM_nRTW_EXTRA, /* RD to WR = nCL + this (Ramulator 2.1 assumes 1) */
    CS_DRAM_NPARAMS
} cs_dram_param;

typedef enum cs_dram_row_policy {
    CS_DRAM_ROW_OPEN,   /* rows stay open until a conflict or refresh closes them (default) */
    CS_DRAM_ROW_CLOSED, /* a column command auto-precharges when no queued request wants its row */
} cs_dram_row_policy;

typedef enum cs_dram_refresh {
    CS_DRAM_REFRESH_ALL_BANK, /* REFab every nREFI (default, Ramulator's AllBank) */
    CS_DRAM_REFRESH_PER_BANK, /* REFpb to one bank every nREFI / banks, round robin */
    CS_DRAM_REFRESH_NONE,
} cs_dram_refresh;

/* DRAM commands, in Ramulator 2.1's GDDR6 order. */
typedef enum cs_dram_cmd {
    CS_DRAM_ACT,
    CS_DRAM_PREAB,
    CS_DRAM_PREPB,
    CS_DRAM_RD,
    CS_DRAM_WR,
    CS_DRAM_RDA,
    CS_DRAM_WRA,
    CS_DRAM_REFAB,
    CS_DRAM_REFPB,
    CS_DRAM_NCMDS
} cs_dram_cmd;

typedef struct cs_dram_config {
    char preset[32];
    uint32_t tck_ps;                    /* command clock period */
    uint32_t timing[CS_DRAM_NPARAMS];   /* cycles, indexed by cs_dram_param */
    /* Organisation of one channel. columns counts device columns as Ramulator
     * does (1024 for 8Gb x16); one access covers 16 of them (16n prefetch),
     * so a row holds columns / 16 accesses of 32 B. */
    uint32_t bank_groups, banks_per_group, rows, columns;
    uint32_t channels;                  /* power of two; 32-B blocks interleave over them */
    char mapping[16];                   /* bit order MSB..LSB, e.g. "RoBaRaCoCh" (docs/MODEL.md) */
    uint32_t read_queue, write_queue;   /* controller buffer entries per channel */
    double write_high_watermark;        /* enter write drain above this fraction of write_queue */
    double write_low_watermark;         /* leave it below this fraction */
    cs_dram_row_policy row_policy;
    cs_dram_refresh refresh;
} cs_dram_config;

/* Presets: "gddr6-14" (Ramulator 2.1 GDDR6_8Gb_x16 + GDDR6_14000_1350mV),
 * "gddr6-14-1250mv", and "gddr6-16", "gddr6-16-1250mv" derived from them at
 * tCK = 500 ps (docs/MODEL.md 3.2). Controller settings are Ramulator 2.1's
 * GenericDDR defaults, one channel, RoBaRaCoCh. */
cs_status cs_dram_config_preset(cs_dram_config *cfg, const char *name, cs_error *err);
size_t cs_dram_preset_count(void);
const char *cs_dram_preset_name(size_t i);
/* Applies the overrides of an INI file (sections [organization], [timing],
 * [controller]; docs/FORMATS.md) to cfg and checks the result. Errors name
 * the file and line: an unknown key, a bad value, an impossible timing set. */
cs_status cs_dram_config_load_ini(cs_dram_config *cfg, const char *path, cs_error *err);
/* CS_EINPUT with a one-line reason if cfg is unusable or physically
 * impossible (e.g. nRAS > nRC, nCCDL < nCCDS, nREFI <= nRFCab). */
cs_status cs_dram_config_check(const cs_dram_config *cfg, cs_error *err);
/* Writes cfg as an INI file that cs_dram_config_load_ini reads back. */
void cs_dram_config_write_ini(const cs_dram_config *cfg, FILE *fp);

const char *cs_dram_param_name(cs_dram_param p);
const char *cs_dram_cmd_name(cs_dram_cmd c);
double cs_dram_tck_ns(const cs_dram_config *cfg);
/* Data-bus peak of one channel: 32 B every max(nBL, nCCDS) cycles. */
double cs_dram_peak_gbps_per_channel(const cs_dram_config *cfg);
/* Bytes addressable over all channels; higher address bits are ignored. */
uint64_t cs_dram_capacity_bytes(const cs_dram_config *cfg);
/* nCL + nBL: RD issue to data returned. */
uint32_t cs_dram_read_latency(const cs_dram_config *cfg);

typedef struct cs_dram cs_dram;

/* Called for every request when it completes: a read when its data has
 * returned (RD issue + nCL + nBL), a write when its WR issues (posted, as in
 * Ramulator). A read served from the write buffer completes one cycle after it
 * was sent, and a write merged into a buffered write to the same address one
 * cycle after it was sent. Calls come from cs_dram_advance_to in
 * non-decreasing cycle order; the callback must not call back into d. */
typedef void (*cs_dram_complete_fn)(void *user, uint64_t tag, uint64_t cycle, bool is_write);

/* NULL on failure (bad config: CS_EINPUT; out of memory: CS_ERUNTIME). */
cs_dram *cs_dram_create(const cs_dram_config *cfg, cs_dram_complete_fn on_complete, void *user, cs_error *err);
void cs_dram_free(cs_dram *d);

/* Offers one 32-B request (CS_DRAM_TX_BYTES; split larger transfers) at the
 * current cycle. Returns false, and keeps nothing, when the target channel's
 * read (or write) queue is full; retry after advancing (cs_dram_next_event
 * says when something may change; a retry before that is cheap). Several
 * requests may be sent in one cycle. Address bits above
 * cs_dram_capacity_bytes are ignored. */
bool cs_dram_try_send(cs_dram *d, uint64_t addr, bool is_write, uint64_t tag);
/* Right after cs_dram_try_send refused a request: a counter that keeps the
 * value stored in *value for as long as that same request would be refused
 * again (it moves when its channel frees a buffer entry or accepts any
 * request). A frontend with several blocked streams can test it instead of
 * retrying each one; the pointer stays valid until cs_dram_free. */
const uint64_t *cs_dram_refusal_watch(const cs_dram *d, uint64_t *value);
/* Simulates every controller tick up to and including `cycle`. Idle stretches
 * cost nothing: the model jumps to the next cycle at which a command can
 * issue, a read completes or a refresh falls due. */
void cs_dram_advance_to(cs_dram *d, uint64_t cycle);
/* The next cycle > cs_dram_cycle(d) at which the model's state can change (a
 * command issue, a completion, a refresh), or UINT64_MAX if never without new
 * requests. Advancing to any earlier cycle changes nothing but the clock. It
 * is exact, except just after a request that changes the scheduler's plan
 * (e.g. flips the write mode) was sent: then it is the next cycle. */
uint64_t cs_dram_next_event(const cs_dram *d);
uint64_t cs_dram_cycle(const cs_dram *d);
/* Requests accepted but not yet completed. */
uint64_t cs_dram_in_flight(const cs_dram *d);
const cs_dram_config *cs_dram_get_config(const cs_dram *d);

/* Counters, summed over channels, as of the current cycle. */
typedef struct cs_dram_stats {
    uint64_t cycles;                      /* controller ticks executed */
    uint64_t reads, writes;               /* accepted (including forwarded / coalesced) */
    uint64_t reads_forwarded;             /* served from the write buffer */
    uint64_t writes_coalesced;            /* merged into a buffered write */
    uint64_t reads_served, writes_served; /* RD / WR issued */
    uint64_t reads_done, writes_done;     /* completed (callback made) */
    uint64_t read_latency_sum;            /* over reads_done, send to data returned */
    uint64_t read_latency_max;
    /* Each request is classified once, at the first command issued for it:
     * hit (its row open), miss (bank closed), conflict (another row open). */
    uint64_t row_hits, row_misses, row_conflicts;
    uint64_t read_row_hits, read_row_misses, read_row_conflicts;
    uint64_t write_row_hits, write_row_misses, write_row_conflicts;
    uint64_t commands[CS_DRAM_NCMDS];     /* issued, by cs_dram_cmd */
    uint64_t refreshes_requested;         /* refresh requests generated */
    /* Sums over ticks of the queue occupancies (active requests, whose ACT
     * has issued, excluded, as in Ramulator); divide by cycles for averages. */
    uint64_t read_queue_sum, write_queue_sum, priority_queue_sum;
} cs_dram_stats;

void cs_dram_get_stats(const cs_dram *d, cs_dram_stats *out);
/* Activations of one bank (flat index bank_group * banks_per_group + bank). */
uint64_t cs_dram_bank_activations(const cs_dram *d, uint32_t channel, uint32_t bank);
/* Read latency (cycles) at quantile q in [0, 1] over the completed reads
 * (nearest rank); 0 if none. Latencies above 2^20 - 1 cycles count as that. */
uint64_t cs_dram_read_latency_quantile(const cs_dram *d, double q);

/* Optional observer of every issued command (command traces, tests). */
typedef void (*cs_dram_command_fn)(void *user, uint64_t cycle, uint32_t channel, cs_dram_cmd cmd, int bank_group,
                                   int bank, int64_t row, int column);
void cs_dram_set_command_hook(cs_dram *d, cs_dram_command_fn fn, void *user);

/* ---- Traces (docs/FORMATS.md) ---- */

typedef enum cs_dram_trace_format {
    CS_DRAM_TRACE_AUTO,      /* from the first request line */
    CS_DRAM_TRACE_LOADSTORE, /* Ramulator: "LD 0x..." / "ST 0x...", issued as fast as accepted */
    CS_DRAM_TRACE_DRAMSIM3,  /* DRAMsim3: "0xADDR READ|WRITE CYCLE", timed */
} cs_dram_trace_format;

typedef struct cs_dram_trace {
    size_t count;
    uint64_t *addr;
    uint64_t *cycle;  /* NULL for LoadStore traces */
    uint8_t *is_write;
    cs_dram_trace_format format;
} cs_dram_trace;

/* Reads a whole trace. Addresses at or above capacity_bytes are an error
 * naming the line unless wrap is set (then their high bits are ignored, as
 * Ramulator does); capacity_bytes 0 skips the check. */
cs_status cs_dram_trace_load(const char *path, cs_dram_trace_format format, uint64_t capacity_bytes, bool wrap,
                             cs_dram_trace *trace, cs_error *err);
void cs_dram_trace_free(cs_dram_trace *trace);

typedef struct cs_dram_trace_result {
    /* As Ramulator reports: stats when the last request has been accepted
     * (at_last_accept.cycles is Ramulator's "cycles") ... */
    cs_dram_stats at_last_accept;
    /* ... and after every request has completed. */
    cs_dram_stats all_done;
    uint64_t cycles_all_done; /* cycle of the last completion */
    uint64_t read_latency_p50, read_latency_p99; /* over all reads */
    double wall_seconds;      /* simulation only, trace reading excluded */
} cs_dram_trace_result;

/* Runs a trace: each request is offered at its cycle (LoadStore: at once),
 * in order, one per cycle, and retried until accepted, as Ramulator's
 * LoadStoreTrace frontend does. d must be fresh (cycle 0); it is left drained
 * so per-bank counters can be read afterwards. */
cs_status cs_dram_run_trace(cs_dram *d, const cs_dram_trace *trace, cs_dram_trace_result *res, cs_error *err);

#ifdef __cplusplus
}
#endif
#endif
