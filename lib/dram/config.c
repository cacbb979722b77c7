/* GDDR6 presets, INI overrides, consistency checks and the timing-rule table. */
#include "colscope/ini.h"
#include "dram_internal.h"

#include <string.h>
#include <strings.h>

static const char *const cs__param_names[CS_DRAM_NPARAMS] = {
    "nBL",   "nCL",   "nRCDRD", "nRCDWR", "nRP",    "nRAS",  "nRC",    "nWR",
    "nRTP",  "nCWL",  "nCCDS",  "nCCDL",  "nRRDS",  "nRRDL", "nWTRS",  "nWTRL",
    "nFAW",  "nRFCpb", "nRREFD", "nREFI", "nRFCab", "nPPD",  "nRTW_extra",
};

static const char *const cs__cmd_names[CS_DRAM_NCMDS] = {"ACT", "PREab", "PREpb", "RD", "WR",
                                                         "RDA", "WRA",   "REFab", "REFpb"};

const char *cs_dram_param_name(cs_dram_param p)
{
    return (unsigned)p < CS_DRAM_NPARAMS ? cs__param_names[p] : "?";
}

const char *cs_dram_cmd_name(cs_dram_cmd c)
{
    return (unsigned)c < CS_DRAM_NCMDS ? cs__cmd_names[c] : "?";
}

/* Ramulator 2.1, python/ramulator/dram/gddr6.py: timing preset
 * GDDR6_14000_1350mV_double, as resolved in
 * ../shared/reference/dram/configs/ramulator2.1_gddr6_resolved.json. */
static const uint32_t cs__gddr6_14_1350mv[CS_DRAM_NPARAMS] = {
    [CS_DRAM_nBL] = 2,     [CS_DRAM_nCL] = 24,    [CS_DRAM_nRCDRD] = 27,   [CS_DRAM_nRCDWR] = 16,
    [CS_DRAM_nRP] = 27,    [CS_DRAM_nRAS] = 53,   [CS_DRAM_nRC] = 79,      [CS_DRAM_nWR] = 27,
    [CS_DRAM_nRTP] = 4,    [CS_DRAM_nCWL] = 6,    [CS_DRAM_nCCDS] = 2,     [CS_DRAM_nCCDL] = 4,
    [CS_DRAM_nRRDS] = 8,   [CS_DRAM_nRRDL] = 8,   [CS_DRAM_nWTRS] = 9,     [CS_DRAM_nWTRL] = 11,
    [CS_DRAM_nFAW] = 29,   [CS_DRAM_nRFCpb] = 106, [CS_DRAM_nRREFD] = 15,  [CS_DRAM_nREFI] = 3333,
    [CS_DRAM_nRFCab] = 211, [CS_DRAM_nPPD] = 1,   [CS_DRAM_nRTW_EXTRA] = 1,
};

/* GDDR6_14000_1250mV_double differs only in these (same tCK). */
static void cs__apply_1250mv(uint32_t *t)
{
    t[CS_DRAM_nRCDRD] = t[CS_DRAM_nRP] = t[CS_DRAM_nWR] = 30;
    t[CS_DRAM_nRCDWR] = 20;
    t[CS_DRAM_nRAS] = 60;
    t[CS_DRAM_nRC] = 90;
    t[CS_DRAM_nRRDS] = t[CS_DRAM_nRRDL] = 11;
    t[CS_DRAM_nFAW] = 43;
    t[CS_DRAM_nRREFD] = 22;
    t[CS_DRAM_nPPD] = 2;
}

/* Parameters the GDDR6 standard defines in clock cycles rather than
 * nanoseconds: they keep their cycle count when tCK changes. */
static bool cs__param_in_clocks(cs_dram_param p)
{
    return p == CS_DRAM_nBL || p == CS_DRAM_nCCDS || p == CS_DRAM_nCCDL || p == CS_DRAM_nPPD ||
           p == CS_DRAM_nRTW_EXTRA;
}

/* Re-times a preset to a new tCK keeping each parameter's nanoseconds:
 * minimum delays round up (ceil), the refresh interval, a maximum, rounds
 * down, so the derived part is never faster or refreshed less often than the
 * source values allow. Integer picoseconds, so no floating-point rounding. */
static void cs__retime(uint32_t *t, uint32_t from_ps, uint32_t to_ps)
{
    for (int p = 0; p < CS_DRAM_NPARAMS; p++) {
        if (cs__param_in_clocks((cs_dram_param)p))
            continue;
        uint64_t ps = (uint64_t)t[p] * from_ps;
        t[p] = (uint32_t)(p == CS_DRAM_nREFI ? ps / to_ps : (ps + to_ps - 1) / to_ps);
    }
}

static const char *const cs__preset_names[] = {"gddr6-14", "gddr6-14-1250mv", "gddr6-16", "gddr6-16-1250mv"};
#define CS__NPRESETS (sizeof cs__preset_names / sizeof cs__preset_names[0])

size_t cs_dram_preset_count(void) { return CS__NPRESETS; }

const char *cs_dram_preset_name(size_t i) { return i < CS__NPRESETS ? cs__preset_names[i] : NULL; }

cs_status cs_dram_config_preset(cs_dram_config *cfg, const char *name, cs_error *err)
{
    size_t idx = CS__NPRESETS;
    for (size_t i = 0; i < CS__NPRESETS; i++)
        if (name && strcasecmp(name, cs__preset_names[i]) == 0)
            idx = i;
    if (idx == CS__NPRESETS) {
        char list[128] = "";
        size_t off = 0;
        for (size_t i = 0; i < CS__NPRESETS; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", cs__preset_names[i]);
        return cs_error_set(err, CS_EINPUT, "unknown DRAM preset '%s' (presets: %s)", name ? name : "", list);
    }
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->preset, sizeof cfg->preset, "%s", cs__preset_names[idx]);
    memcpy(cfg->timing, cs__gddr6_14_1350mv, sizeof cfg->timing);
    cfg->tck_ps = 570;
    if (idx == 1 || idx == 3)
        cs__apply_1250mv(cfg->timing);
    if (idx >= 2) {
        cs__retime(cfg->timing, 570, 500);
        cfg->tck_ps = 500;
    }
    /* Ramulator 2.1 GDDR6_8Gb_x16, one 16-bit channel per controller. */
    cfg->bank_groups = 4;
    cfg->banks_per_group = 4;
    cfg->rows = 16384;
    cfg->columns = 1024;
    cfg->channels = 1;
    snprintf(cfg->mapping, sizeof cfg->mapping, "RoBaRaCoCh");
    /* Ramulator 2.1 GenericDDR defaults. */
    cfg->read_queue = 32;
    cfg->write_queue = 32;
    cfg->write_high_watermark = 0.8;
    cfg->write_low_watermark = 0.2;
    cfg->row_policy = CS_DRAM_ROW_OPEN;
    cfg->refresh = CS_DRAM_REFRESH_ALL_BANK;
    return CS_OK;
}

double cs_dram_tck_ns(const cs_dram_config *cfg) { return cfg->tck_ps / 1000.0; }

double cs_dram_peak_gbps_per_channel(const cs_dram_config *cfg)
{
    uint32_t burst = cfg->timing[CS_DRAM_nBL] > cfg->timing[CS_DRAM_nCCDS] ? cfg->timing[CS_DRAM_nBL]
                                                                         : cfg->timing[CS_DRAM_nCCDS];
    return CS_DRAM_TX_BYTES / (burst * cs_dram_tck_ns(cfg));
}

uint64_t cs_dram_capacity_bytes(const cs_dram_config *cfg)
{
    return (uint64_t)cfg->channels * cfg->bank_groups * cfg->banks_per_group * cfg->rows * (cfg->columns / 16) *
           CS_DRAM_TX_BYTES;
}

uint32_t cs_dram_read_latency(const cs_dram_config *cfg)
{
    return cfg->timing[CS_DRAM_nCL] + cfg->timing[CS_DRAM_nBL];
}

/* ---- mapping names ---- */

size_t cs__dram_parse_mapping(const char *name, char order[6])
{
    static const struct {
        const char *tok;
        char id;
    } toks[] = {{"Ro", 'o'}, {"Ba", 'a'}, {"Bg", 'g'}, {"Ra", 'r'}, {"Co", 'c'}, {"Ch", 'h'}};
    size_t len = strlen(name), n = len / 2;
    if (len % 2 || n < 3 || n > 6)
        return 0;
    char seen[6] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *t = name + 2 * i;
        char id = 0;
        for (size_t k = 0; k < 6; k++)
            if (strncasecmp(t, toks[k].tok, 2) == 0)
                id = toks[k].id;
        if (!id || memchr(seen, id, 6))
            return 0;
        seen[i] = id;
        order[n - 1 - i] = id; /* the name reads MSB first */
    }
    if (!memchr(seen, 'o', 6) || !memchr(seen, 'a', 6) || !memchr(seen, 'c', 6))
        return 0;
    return n;
}

/* ---- checks ---- */

static bool cs__pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* The first problem of cfg, as a message, and the INI key(s) it concerns so
 * the INI loader can name the line. NULL message: no problem. */
typedef struct cs__problem {
    char msg[256];
    const char *key, *other_key; /* the keys involved, most to blame first */
} cs__problem;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool cs__problem_set(cs__problem *p, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    p->key = key;
    p->other_key = NULL;
    return true;
}

/* Pairs where the first must not exceed the second, and why. */
static const struct {
    cs_dram_param lo, hi;
    const char *why;
} cs__orderings[] = {
    {CS_DRAM_nRAS, CS_DRAM_nRC, "a row cycle (ACT to ACT) contains the row's minimum active time"},
    {CS_DRAM_nCCDS, CS_DRAM_nCCDL, "same-bank-group column spacing cannot be shorter than across groups"},
    {CS_DRAM_nRRDS, CS_DRAM_nRRDL, "same-bank-group ACT spacing cannot be shorter than across groups"},
    {CS_DRAM_nWTRS, CS_DRAM_nWTRL, "same-bank-group write-to-read cannot be shorter than across groups"},
    {CS_DRAM_nRCDRD, CS_DRAM_nRAS, "a row must stay open at least until a read can reach it"},
    {CS_DRAM_nRCDWR, CS_DRAM_nRAS, "a row must stay open at least until a write can reach it"},
};

static bool cs__find_problem(const cs_dram_config *c, cs__problem *p)
{
    static const cs_dram_param positive[] = {CS_DRAM_nBL,  CS_DRAM_nCL,   CS_DRAM_nRCDRD, CS_DRAM_nRCDWR,
                                             CS_DRAM_nRP,  CS_DRAM_nRAS,  CS_DRAM_nRC,    CS_DRAM_nCCDS,
                                             CS_DRAM_nCCDL, CS_DRAM_nREFI, CS_DRAM_nRFCab, CS_DRAM_nRFCpb};
    if (c->tck_ps < 1 || c->tck_ps > 100000)
        return cs__problem_set(p, "tCK_ps", "tCK_ps = %u is outside 1..100000", c->tck_ps);
    for (size_t i = 0; i < sizeof positive / sizeof positive[0]; i++)
        if (c->timing[positive[i]] == 0)
            return cs__problem_set(p, cs__param_names[positive[i]], "%s must be at least 1 cycle",
                                   cs__param_names[positive[i]]);
    for (int i = 0; i < CS_DRAM_NPARAMS; i++)
        if (c->timing[i] > 10000000)
            return cs__problem_set(p, cs__param_names[i], "%s = %u is implausibly large (over 10^7 cycles)",
                                   cs__param_names[i], c->timing[i]);
    for (size_t i = 0; i < sizeof cs__orderings / sizeof cs__orderings[0]; i++) {
        cs_dram_param lo = cs__orderings[i].lo, hi = cs__orderings[i].hi;
        if (c->timing[lo] > c->timing[hi]) {
            cs__problem_set(p, cs__param_names[lo], "impossible timing: %s = %u exceeds %s = %u (%s)",
                            cs__param_names[lo], c->timing[lo], cs__param_names[hi], c->timing[hi],
                            cs__orderings[i].why);
            p->other_key = cs__param_names[hi];
            return true;
        }
    }
    if (c->refresh == CS_DRAM_REFRESH_ALL_BANK && c->timing[CS_DRAM_nREFI] <= c->timing[CS_DRAM_nRFCab]) {
        cs__problem_set(p, "nREFI",
                        "impossible timing: nREFI = %u is not longer than nRFCab = %u (the device would never "
                        "leave refresh)",
                        c->timing[CS_DRAM_nREFI], c->timing[CS_DRAM_nRFCab]);
        p->other_key = "nRFCab";
        return true;
    }
    if (c->refresh == CS_DRAM_REFRESH_PER_BANK) {
        uint32_t banks = c->bank_groups * c->banks_per_group;
        if (banks && c->timing[CS_DRAM_nREFI] / banks <= c->timing[CS_DRAM_nRREFD])
            return cs__problem_set(p, "nREFI",
                                   "impossible timing: per-bank refresh every nREFI / %u = %u cycles is not longer "
                                   "than nRREFD = %u",
                                   banks, c->timing[CS_DRAM_nREFI] / banks, c->timing[CS_DRAM_nRREFD]);
    }
    if (!cs__pow2(c->bank_groups) || c->bank_groups > CS__MAX_BG)
        return cs__problem_set(p, "bank_groups", "bank_groups = %u is not a power of two in 1..%d", c->bank_groups,
                               CS__MAX_BG);
    if (!cs__pow2(c->banks_per_group) || c->bank_groups * c->banks_per_group > CS_DRAM_MAX_BANKS)
        return cs__problem_set(p, "banks_per_group",
                               "banks_per_group = %u: must be a power of two with at most %d banks per channel",
                               c->banks_per_group, CS_DRAM_MAX_BANKS);
    if (!cs__pow2(c->rows) || c->rows > (1u << 24))
        return cs__problem_set(p, "rows", "rows = %u is not a power of two in 1..16777216", c->rows);
    if (!cs__pow2(c->columns) || c->columns < 16 || c->columns > (1u << 20))
        return cs__problem_set(p, "columns", "columns = %u is not a power of two in 16..1048576 (one access = 16)",
                               c->columns);
    if (!cs__pow2(c->channels) || c->channels > CS_DRAM_MAX_CHANNELS)
        return cs__problem_set(p, "channels", "channels = %u is not a power of two in 1..%d", c->channels,
                               CS_DRAM_MAX_CHANNELS);
    char order[6];
    if (!cs__dram_parse_mapping(c->mapping, order))
        return cs__problem_set(p, "mapping",
                               "mapping '%s' is not a bit order of Ro, Ba, Co (each once) and optionally Bg, Ra, "
                               "Ch, e.g. RoBaRaCoCh",
                               c->mapping);
    if (c->read_queue < 1 || c->read_queue > 4096)
        return cs__problem_set(p, "read_queue", "read_queue = %u is outside 1..4096", c->read_queue);
    if (c->write_queue < 1 || c->write_queue > 4096)
        return cs__problem_set(p, "write_queue", "write_queue = %u is outside 1..4096", c->write_queue);
    if (!(c->write_low_watermark >= 0 && c->write_low_watermark < c->write_high_watermark &&
          c->write_high_watermark <= 1))
        return cs__problem_set(p, "write_low_watermark",
                               "write watermarks must satisfy 0 <= low < high <= 1 (low %g, high %g)",
                               c->write_low_watermark, c->write_high_watermark);
    if ((unsigned)c->row_policy > CS_DRAM_ROW_CLOSED || (unsigned)c->refresh > CS_DRAM_REFRESH_NONE)
        return cs__problem_set(p, "row_policy", "unknown row policy or refresh mode");
    return false;
}

cs_status cs_dram_config_check(const cs_dram_config *cfg, cs_error *err)
{
    cs__problem p;
    if (cs__find_problem(cfg, &p))
        return cs_error_set(err, CS_EINPUT, "DRAM config: %s", p.msg);
    return CS_OK;
}

/* ---- INI ---- */

static const char *const cs__row_policies[] = {"open", "closed"};
static const char *const cs__refresh_modes[] = {"all-bank", "per-bank", "none"};

static cs_status cs__ini_u32(cs_ini *ini, const char *section, const char *key, uint32_t *v, cs_error *err)
{
    uint64_t x = *v;
    cs_status st = cs_ini_get_u64(ini, section, key, false, 0, UINT32_MAX, &x, err);
    *v = (uint32_t)x;
    return st;
}

cs_status cs_dram_config_load_ini(cs_dram_config *cfg, const char *path, cs_error *err)
{
    cs_ini ini;
    cs_status st = cs_ini_load(&ini, path, err);
    if (st != CS_OK)
        return st;
    cs_dram_config c = *cfg;
    const char *s = NULL;
    size_t choice;
    if ((st = cs__ini_u32(&ini, "organization", "channels", &c.channels, err)) ||
        (st = cs__ini_u32(&ini, "organization", "bank_groups", &c.bank_groups, err)) ||
        (st = cs__ini_u32(&ini, "organization", "banks_per_group", &c.banks_per_group, err)) ||
        (st = cs__ini_u32(&ini, "organization", "rows", &c.rows, err)) ||
        (st = cs__ini_u32(&ini, "organization", "columns", &c.columns, err)) ||
        (st = cs__ini_u32(&ini, "timing", "tCK_ps", &c.tck_ps, err)))
        goto out;
    for (int i = 0; i < CS_DRAM_NPARAMS; i++)
        if ((st = cs__ini_u32(&ini, "timing", cs__param_names[i], &c.timing[i], err)))
            goto out;
    if ((st = cs_ini_get_string(&ini, "controller", "mapping", false, &s, err)))
        goto out;
    if (s)
        snprintf(c.mapping, sizeof c.mapping, "%.15s", s);
    if ((st = cs__ini_u32(&ini, "controller", "read_queue", &c.read_queue, err)) ||
        (st = cs__ini_u32(&ini, "controller", "write_queue", &c.write_queue, err)) ||
        (st = cs_ini_get_double(&ini, "controller", "write_high_watermark", false, 0, 1, &c.write_high_watermark,
                                err)) ||
        (st = cs_ini_get_double(&ini, "controller", "write_low_watermark", false, 0, 1, &c.write_low_watermark,
                                err)))
        goto out;
    choice = (size_t)c.row_policy;
    if ((st = cs_ini_get_choice(&ini, "controller", "row_policy", false, cs__row_policies, 2, &choice, err)))
        goto out;
    c.row_policy = (cs_dram_row_policy)choice;
    choice = (size_t)c.refresh;
    if ((st = cs_ini_get_choice(&ini, "controller", "refresh", false, cs__refresh_modes, 3, &choice, err)))
        goto out;
    c.refresh = (cs_dram_refresh)choice;
    if ((st = cs_ini_check_unused(&ini, err)))
        goto out;
    cs__problem p;
    if (cs__find_problem(&c, &p)) {
        /* Name the line that set an offending key, if this file set one. */
        static const char *const sections[] = {"timing", "organization", "controller"};
        const char *keys[2] = {p.key, p.other_key};
        cs_ini_entry *e = NULL;
        for (size_t k = 0; k < 2 && !e && keys[k]; k++)
            for (size_t i = 0; i < 3 && !e; i++)
                e = cs_ini_find(&ini, sections[i], keys[k]);
        if (e)
            st = cs_error_set(err, CS_EINPUT, "%s:%d: %s", path, e->line, p.msg);
        else
            st = cs_error_set(err, CS_EINPUT, "%s: %s", path, p.msg);
        goto out;
    }
    *cfg = c;
out:
    cs_ini_free(&ini);
    return st;
}

void cs_dram_config_write_ini(const cs_dram_config *c, FILE *fp)
{
    fprintf(fp, "; colscope DRAM configuration (preset %s)\n[organization]\n", c->preset);
    fprintf(fp, "channels = %u\nbank_groups = %u\nbanks_per_group = %u\nrows = %u\ncolumns = %u\n", c->channels,
            c->bank_groups, c->banks_per_group, c->rows, c->columns);
    fprintf(fp, "\n[timing]\ntCK_ps = %u\n", c->tck_ps);
    for (int i = 0; i < CS_DRAM_NPARAMS; i++)
        fprintf(fp, "%s = %u\n", cs__param_names[i], c->timing[i]);
    fprintf(fp, "\n[controller]\nmapping = %s\nread_queue = %u\nwrite_queue = %u\n", c->mapping, c->read_queue,
            c->write_queue);
    fprintf(fp, "write_high_watermark = %.17g\nwrite_low_watermark = %.17g\n", c->write_high_watermark,
            c->write_low_watermark);
    fprintf(fp, "row_policy = %s\nrefresh = %s\n", cs__row_policies[c->row_policy], cs__refresh_modes[c->refresh]);
}

/* ---- timing rules ---- */

typedef struct cs__rule_builder {
    cs__rule *out;
    size_t n;
} cs__rule_builder;

/* Adds level: preceding[] -> following[] >= latency (window), expanded into
 * pairs in the same order as Ramulator's load_config. */
static void cs__add(cs__rule_builder *b, int level, const int *pre, int npre, const int *fol, int nfol,
                    uint32_t latency, int window)
{
    for (int i = 0; i < npre; i++)
        for (int j = 0; j < nfol; j++)
            if (b->n < CS__MAX_RULES)
                b->out[b->n++] = (cs__rule){(uint8_t)level, (uint8_t)pre[i], (uint8_t)fol[j], (uint8_t)window,
                                            latency};
}

#define CS__L(...) ((const int[]){__VA_ARGS__}), (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

size_t cs__dram_rules(const cs_dram_config *cfg, cs__rule *out)
{
    const uint32_t *t = cfg->timing;
    enum { ACT = CS_DRAM_ACT, PREab = CS_DRAM_PREAB, PREpb = CS_DRAM_PREPB, RD = CS_DRAM_RD, WR = CS_DRAM_WR,
           RDA = CS_DRAM_RDA, WRA = CS_DRAM_WRA, REFab = CS_DRAM_REFAB, REFpb = CS_DRAM_REFPB };
    enum { CH = CS__LEVEL_CHANNEL, BG = CS__LEVEL_BANKGROUP, BA = CS__LEVEL_BANK };
    uint32_t nBL = t[CS_DRAM_nBL], nCL = t[CS_DRAM_nCL], nCWL = t[CS_DRAM_nCWL], nRP = t[CS_DRAM_nRP];
    uint32_t nRTP = t[CS_DRAM_nRTP], nWR = t[CS_DRAM_nWR];
    uint32_t wr_to_pre = nCWL + nBL + nWR; /* end of write data + write recovery */
    cs__rule_builder b = {out, 0};
    /* Channel: the shared data bus, command bus and power budget. */
    cs__add(&b, CH, CS__L(RD, RDA), CS__L(RD, RDA), nBL, 1);
    cs__add(&b, CH, CS__L(WR, WRA), CS__L(WR, WRA), nBL, 1);
    cs__add(&b, CH, CS__L(RD, RDA), CS__L(RD, RDA), t[CS_DRAM_nCCDS], 1);
    cs__add(&b, CH, CS__L(WR, WRA), CS__L(WR, WRA), t[CS_DRAM_nCCDS], 1);
    cs__add(&b, CH, CS__L(RD, RDA), CS__L(WR, WRA), nCL + t[CS_DRAM_nRTW_EXTRA], 1);
    cs__add(&b, CH, CS__L(WR, WRA), CS__L(RD, RDA), nCWL + nBL + t[CS_DRAM_nWTRS], 1);
    cs__add(&b, CH, CS__L(RD), CS__L(PREab), nRTP, 1);
    cs__add(&b, CH, CS__L(WR), CS__L(PREab), wr_to_pre, 1);
    cs__add(&b, CH, CS__L(ACT), CS__L(ACT), t[CS_DRAM_nRRDS], 1);
    cs__add(&b, CH, CS__L(ACT), CS__L(ACT, REFpb), t[CS_DRAM_nFAW], 4);
    cs__add(&b, CH, CS__L(REFpb), CS__L(ACT, REFpb), t[CS_DRAM_nFAW], 4);
    cs__add(&b, CH, CS__L(ACT), CS__L(PREab), t[CS_DRAM_nRAS], 1);
    cs__add(&b, CH, CS__L(PREab), CS__L(ACT), nRP, 1);
    cs__add(&b, CH, CS__L(PREab, PREpb), CS__L(PREab, PREpb), t[CS_DRAM_nPPD], 1);
    cs__add(&b, CH, CS__L(ACT), CS__L(REFab), t[CS_DRAM_nRC], 1);
    cs__add(&b, CH, CS__L(PREab), CS__L(REFab), nRP, 1);
    cs__add(&b, CH, CS__L(RDA), CS__L(REFab), nRP + nRTP, 1);
    cs__add(&b, CH, CS__L(WRA), CS__L(REFab), wr_to_pre + nRP, 1);
    cs__add(&b, CH, CS__L(REFab), CS__L(ACT, PREab, PREpb, RD, WR, RDA, WRA, REFab, REFpb), t[CS_DRAM_nRFCab], 1);
    cs__add(&b, CH, CS__L(ACT), CS__L(REFpb), t[CS_DRAM_nRRDS], 1);
    cs__add(&b, CH, CS__L(PREab), CS__L(REFpb), nRP, 1);
    cs__add(&b, CH, CS__L(RDA), CS__L(REFpb), nRP + nRTP, 1);
    cs__add(&b, CH, CS__L(WRA), CS__L(REFpb), wr_to_pre + nRP, 1);
    cs__add(&b, CH, CS__L(REFpb), CS__L(ACT), t[CS_DRAM_nRREFD], 1);
    cs__add(&b, CH, CS__L(REFpb), CS__L(REFpb), t[CS_DRAM_nRREFD], 1);
    cs__add(&b, CH, CS__L(REFpb), CS__L(REFab), t[CS_DRAM_nRFCpb], 1);
    /* Bank group: shared I/O gating within a group (the "long" spacings). */
    cs__add(&b, BG, CS__L(RD, RDA), CS__L(RD, RDA), t[CS_DRAM_nCCDL], 1);
    cs__add(&b, BG, CS__L(WR, WRA), CS__L(WR, WRA), t[CS_DRAM_nCCDL], 1);
    cs__add(&b, BG, CS__L(WR, WRA), CS__L(RD, RDA), nCWL + nBL + t[CS_DRAM_nWTRL], 1);
    cs__add(&b, BG, CS__L(ACT), CS__L(ACT, REFpb), t[CS_DRAM_nRRDL], 1);
    /* Bank: the row cycle. */
    cs__add(&b, BA, CS__L(ACT), CS__L(ACT), t[CS_DRAM_nRC], 1);
    cs__add(&b, BA, CS__L(ACT), CS__L(RD, RDA), t[CS_DRAM_nRCDRD], 1);
    cs__add(&b, BA, CS__L(ACT), CS__L(WR, WRA), t[CS_DRAM_nRCDWR], 1);
    cs__add(&b, BA, CS__L(ACT), CS__L(PREpb), t[CS_DRAM_nRAS], 1);
    cs__add(&b, BA, CS__L(PREpb), CS__L(ACT), nRP, 1);
    cs__add(&b, BA, CS__L(RD), CS__L(PREpb), nRTP, 1);
    cs__add(&b, BA, CS__L(WR), CS__L(PREpb), wr_to_pre, 1);
    cs__add(&b, BA, CS__L(RDA), CS__L(ACT), nRTP + nRP, 1);
    cs__add(&b, BA, CS__L(WRA), CS__L(ACT), wr_to_pre + nRP, 1);
    cs__add(&b, BA, CS__L(ACT), CS__L(REFpb), t[CS_DRAM_nRC], 1);
    cs__add(&b, BA, CS__L(PREpb), CS__L(REFpb), nRP, 1);
    cs__add(&b, BA, CS__L(RDA), CS__L(REFpb), nRTP + nRP, 1);
    cs__add(&b, BA, CS__L(WRA), CS__L(REFpb), wr_to_pre + nRP, 1);
    cs__add(&b, BA, CS__L(REFpb), CS__L(ACT, REFpb), t[CS_DRAM_nRFCpb], 1);
    return b.n;
}

void cs__timing_compile(cs__timing *tm, const cs_dram_config *cfg)
{
    cs__rule rules[CS__MAX_RULES];
    size_t n = cs__dram_rules(cfg, rules);
    memset(tm, 0, sizeof *tm);
    for (int l = 0; l < CS__NLEVELS; l++)
        for (int c = 0; c < CS_DRAM_NCMDS; c++)
            for (int f = 0; f < CS_DRAM_NCMDS; f++)
                *(f < 8 ? &tm->after[l][c][f] : &tm->after_tail[l][c][f - 8]) = CS__NO_RULE;
    for (size_t i = 0; i < n; i++) {
        const cs__rule *r = &rules[i];
        bool windowed = r->window > 1;
        if (!windowed) { /* duplicates (nBL and nCCDS) merge: the longer wins */
            int64_t *lat = r->following < 8 ? &tm->after[r->level][r->preceding][r->following]
                                            : &tm->after_tail[r->level][r->preceding][r->following - 8];
            if (r->latency > *lat)
                *lat = r->latency;
        } else {
            cs__follow *list = tm->windowed[r->level][r->preceding];
            uint8_t *k = &tm->nwindowed[r->level][r->preceding];
            uint8_t j = 0;
            while (j < *k && !(list[j].following == r->following && list[j].window == r->window))
                j++;
            if (j == *k && *k < 4)
                list[(*k)++] = (cs__follow){r->following, r->window, r->latency};
            else if (j < *k && r->latency > list[j].latency)
                list[j].latency = r->latency;
        }
        if (windowed && r->window > tm->history[r->level][r->preceding])
            tm->history[r->level][r->preceding] = r->window;
        if (r->level == CS__LEVEL_BANKGROUP) {
            int f = r->following;
            if (f == CS_DRAM_RD || f == CS_DRAM_WR || f == CS_DRAM_RDA || f == CS_DRAM_WRA)
                tm->group_delays_column[r->preceding] = true;
            if (f == CS_DRAM_ACT || f == CS_DRAM_PREPB)
                tm->group_delays_row[r->preceding] = true;
        }
    }
    for (int l = 0; l < CS__NLEVELS; l++)
        for (int c = 0; c < CS_DRAM_NCMDS; c++) {
            bool tail = false;
            for (int f = 8; f < CS_DRAM_NCMDS; f++)
                tail |= tm->after_tail[l][c][f - 8] != CS__NO_RULE;
            tm->beyond_line[l][c] = tail || tm->history[l][c];
        }
}
