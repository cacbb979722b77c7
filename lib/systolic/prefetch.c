/* SCALE-Sim v3's "Total Cycles (incl. prefetch)" in CALC mode, in closed
 * form: the span from the first ifmap/filter DRAM read (the SRAM fill before
 * cycle 0, at SCALE-Sim's fixed 10 words/cycle) to the last OFMAP DRAM write
 * (the write buffer draining at ArrayWidth words/cycle). Derivation and
 * checks: docs/MODEL.md, "Compute model", 2.5. */
#include "systolic_internal.h"

#include <stdlib.h>
#include <string.h>

/* Cycle of the first DRAM read of an operand with D distinct addresses whose
 * first demand row is r0, through a read buffer of S words (100 sets, half
 * active): the active half is filled before first use, or the whole operand
 * before cycle 0 when it fits. */
static int64_t cs__dram_start(uint64_t D, int64_t r0, uint64_t S)
{
    uint64_t ips = S / 100, E = 50 * ips;
    if (D >= E)
        return r0 - (int64_t)cs__cdiv(50 * ips, 10);
    return -(int64_t)cs__cdiv(cs__cdiv(D, ips) * ips, 10);
}

/* Input rows (or columns) touched by O windows of size F and stride S. */
static uint64_t cs__touched(uint64_t H, uint64_t F, uint64_t S, uint64_t O)
{
    if (S < F) {
        uint64_t span = (O - 1) * S + F;
        return span < H ? span : H;
    }
    uint64_t n = 0;
    for (uint64_t o = 0; o < O; o++)
        if (H > o * S)
            n += H - o * S < F ? H - o * S : F;
    return n;
}

/* Distinct ifmap addresses of a conv layer whose im2col keeps only the
 * columns k with k mod M < N (layer-wise N:M): no product form, so count. */
static cs_status cs__sparse_conv_ifmap(const cs_layer *l, uint64_t *out, cs_error *err)
{
    uint64_t cells = l->H * l->W * l->C;
    uint8_t *seen = calloc(cells, 1);
    if (!seen)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    uint64_t n = 0;
    for (uint64_t k = 0; k < l->K; k++) {
        if (k % l->nm_m >= l->nm_n)
            continue;
        uint64_t crow = k / (l->Fw * l->C), rest = k % (l->Fw * l->C), ccol = rest / l->C, ch = rest % l->C;
        for (uint64_t orow = 0; orow < l->Ho; orow++) {
            uint64_t row = orow * l->Sh + crow;
            if (row >= l->H)
                break;
            for (uint64_t ocol = 0; ocol < l->Wo; ocol++) {
                uint64_t col = ocol * l->Sw + ccol;
                if (col >= l->W)
                    break;
                uint64_t a = (row * l->W + col) * l->C + ch;
                n += !seen[a];
                seen[a] = 1;
            }
        }
    }
    free(seen);
    *out = n;
    return CS_OK;
}

/* Lines of the OFMAP write buffer, run-length encoded: runs of lines with the
 * same fill, consumed from the front. */
typedef struct cs__line_runs {
    struct {
        uint64_t fill, count;
    } *run;
    size_t n, cap, head;
    uint64_t head_used; /* lines already taken from run[head] */
    uint64_t lines;     /* lines not yet drained */
    bool oom;
} cs__line_runs;

static void cs__runs_push(cs__line_runs *q, uint64_t fill, uint64_t count)
{
    if (!count)
        return;
    q->lines += count;
    if (q->n > q->head && q->run[q->n - 1].fill == fill) {
        q->run[q->n - 1].count += count;
        return;
    }
    void *r = cs_grow(q->run, &q->cap, q->n, sizeof *q->run, 64);
    if (!r) {
        q->oom = true;
        return;
    }
    q->run = r;
    q->run[q->n].fill = fill;
    q->run[q->n].count = count;
    q->n++;
}

/* Takes nl lines from the front; returns the fill of the last one. */
static uint64_t cs__runs_pop(cs__line_runs *q, uint64_t nl)
{
    uint64_t last = 0;
    q->lines -= nl;
    while (nl) {
        uint64_t avail = q->run[q->head].count - q->head_used;
        uint64_t take = nl < avail ? nl : avail;
        last = q->run[q->head].fill;
        q->head_used += take;
        nl -= take;
        if (q->head_used == q->run[q->head].count) {
            q->head++;
            q->head_used = 0;
        }
    }
    return last;
}

typedef struct cs__drain_trigger {
    uint64_t word; /* the word whose arrival triggered the drain (1-based) */
    uint64_t lines;
} cs__drain_trigger;

/* SCALE-Sim's write buffer (write_buffer.py) driven by the word count alone:
 * a drain of the oldest ceil(D/C) lines starts when more than D = S/2 words
 * are held, sealing the open line; the rest drains after the last cycle. */
static cs_status cs__ofmap_drains(uint64_t W, uint64_t S, uint64_t C, uint64_t *lines_left,
                                  cs__drain_trigger **trig, size_t *ntrig, cs_error *err)
{
    const uint64_t D = S / 2, L = cs__cdiv(D, C);
    cs__line_runs q;
    memset(&q, 0, sizeof q);
    uint64_t cur = 0, occ = 0, stored = 0;
    size_t tcap = 0;
    *trig = NULL;
    *ntrig = 0;
#define CS__ADD(nwords)                                                                                          \
    do {                                                                                                         \
        uint64_t n_ = (nwords);                                                                                  \
        if (cur) {                                                                                               \
            uint64_t k_ = n_ < C - cur ? n_ : C - cur;                                                           \
            cur += k_;                                                                                           \
            n_ -= k_;                                                                                            \
            if (cur == C) {                                                                                      \
                cs__runs_push(&q, C, 1);                                                                         \
                cur = 0;                                                                                         \
            }                                                                                                    \
        }                                                                                                        \
        cs__runs_push(&q, C, n_ / C);                                                                            \
        cur += n_ % C;                                                                                           \
    } while (0)
    while (occ <= D && stored + (D + 1 - occ) <= W) {
        uint64_t need = D + 1 - occ;
        CS__ADD(need);
        stored += need;
        occ += need;
        if (cur) {
            cs__runs_push(&q, cur, 1);
            cur = 0;
        }
        uint64_t nl = L < q.lines ? L : q.lines;
        uint64_t last = cs__runs_pop(&q, nl);
        occ -= nl * C - (C - last);
        cs__drain_trigger *t = cs_grow(*trig, &tcap, *ntrig, sizeof *t, 16);
        if (!t) {
            q.oom = true;
            break;
        }
        *trig = t;
        (*trig)[(*ntrig)++] = (cs__drain_trigger){stored, nl};
    }
    CS__ADD(W - stored);
#undef CS__ADD
    if (cur)
        cs__runs_push(&q, cur, 1);
    *lines_left = q.lines;
    free(q.run);
    if (q.oom) {
        free(*trig);
        *trig = NULL;
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    }
    return CS_OK;
}

/* Demand row holding the w-th (1-based) OFMAP SRAM write: outputs leave a
 * fold skewed over its columns (lo, len as in docs/MODEL.md). */
static int64_t cs__ofmap_row_of_word(const cs_array_config *cfg, const cs__fold_grid *g, uint64_t w)
{
    uint64_t done = 0;
    for (uint64_t fc = 0; fc < g->nc; fc++) {
        uint64_t cu = g->Sc - fc * g->C < g->C ? g->Sc - fc * g->C : g->C;
        for (uint64_t fr = 0; fr < g->nr; fr++) {
            uint64_t ru = g->Sr - fr * g->R < g->R ? g->Sr - fr * g->R : g->R;
            uint64_t lo, len;
            if (cfg->dataflow == CS_DATAFLOW_OS)
                lo = g->T - 1 + g->R - ru, len = ru;
            else
                lo = 2 * g->R - 1, len = g->T;
            if (done + cu * len < w) {
                done += cu * len;
                continue;
            }
            for (uint64_t t = 0; t < g->P; t++) {
                if (t >= lo) {
                    int64_t a = (int64_t)(t - lo) < (int64_t)cu - 1 ? (int64_t)(t - lo) : (int64_t)cu - 1;
                    int64_t b = (int64_t)(t - lo) - (int64_t)len + 1 > 0 ? (int64_t)(t - lo) - (int64_t)len + 1 : 0;
                    if (a - b + 1 > 0)
                        done += (uint64_t)(a - b + 1);
                }
                if (done >= w)
                    return (int64_t)((fc * g->nr + fr) * g->P + t);
            }
        }
    }
    return (int64_t)(g->nr * g->nc * g->P); /* not reached for w <= total words */
}

cs_status cs__incl_prefetch(const cs_array_config *cfg, const cs_layer *l, const cs__fold_grid *g,
                            uint64_t total, const uint32_t *ratios, int64_t *out, cs_error *err)
{
    const uint64_t R = g->R, Si = cfg->ifmap_sram_kb * 1024, Sf = cfg->filter_sram_kb * 1024,
                   So = cfg->ofmap_sram_kb * 1024;
    uint64_t ru0 = g->Sr < R ? g->Sr : R;
    int64_t r0_if, r0_f;
    switch (cfg->dataflow) {
    case CS_DATAFLOW_OS:
        r0_if = 0, r0_f = 0;
        break;
    case CS_DATAFLOW_WS:
        r0_if = (int64_t)R, r0_f = (int64_t)(R - ru0);
        break;
    default:
        r0_if = (int64_t)(R - ru0), r0_f = (int64_t)R;
        break;
    }
    uint64_t D_if = 0, D_f = g->Kc * l->N;
    if (ratios) {
        D_if = l->M * l->K;
        D_f = 0;
        for (uint64_t c = 0; c < l->N; c++)
            for (uint64_t r = 0; r < g->Kc; r++)
                D_f += cs__rowwise_real(r, l->K, cfg->block_size, ratios[c]);
    } else if (!l->conv) {
        D_if = l->M * g->Kc;
    } else if (g->Kc == l->K) {
        D_if = cs__touched(l->H, l->Fh, l->Sh, l->Ho) * cs__touched(l->W, l->Fw, l->Sw, l->Wo) * l->C;
    } else {
        cs_status rc = cs__sparse_conv_ifmap(l, &D_if, err);
        if (rc != CS_OK)
            return rc;
    }
    int64_t s_if = cs__dram_start(D_if, r0_if, Si), s_f = cs__dram_start(D_f, r0_f, Sf);
    /* OFMAP words reaching the write buffer: WS and IS write a partial sum
     * per row fold. */
    uint64_t Wo = cfg->dataflow == CS_DATAFLOW_OS ? l->M * l->N : l->M * l->N * g->nr;
    uint64_t lines_left;
    cs__drain_trigger *trig;
    size_t ntrig;
    cs_status rc = cs__ofmap_drains(Wo, So, g->C, &lines_left, &trig, &ntrig, err);
    if (rc != CS_OK)
        return rc;
    int64_t stop = (int64_t)total + (int64_t)lines_left - 1;
    /* v3 takes the latest drain line, which can be a drain started during
     * the run that outlasts the final flush. */
    for (size_t i = 0; i < ntrig; i++) {
        int64_t end = cs__ofmap_row_of_word(cfg, g, trig[i].word) + (int64_t)trig[i].lines - 1;
        if (end > stop)
            stop = end;
    }
    free(trig);
    *out = stop - (s_if < s_f ? s_if : s_f);
    return CS_OK;
}
