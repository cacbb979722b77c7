/* SCALE-Sim .cfg files. Keys are those SCALE-Sim v2 and v3 read
 * (scale_config.py::read_conf_file); anything else is reported with its file
 * and line instead of being ignored. Where SCALE-Sim silently falls back
 * (an unknown Dataflow runs as OS, an unknown InterfaceBandwidth aborts the
 * parse), colscope reports the error. */
#include "colscope/ini.h"
#include "colscope/systolic.h"

#include <stdlib.h>
#include <string.h>

const char *cs_dataflow_name(cs_dataflow df)
{
    static const char *const names[] = {"os", "ws", "is"};
    return df <= CS_DATAFLOW_IS ? names[df] : "?";
}

bool cs_dataflow_from_name(const char *s, cs_dataflow *out)
{
    for (int i = CS_DATAFLOW_OS; i <= CS_DATAFLOW_IS; i++)
        if (strcmp(s, cs_dataflow_name((cs_dataflow)i)) == 0) {
            *out = (cs_dataflow)i;
            return true;
        }
    return false;
}

void cs_array_config_init(cs_array_config *cfg, uint64_t rows, uint64_t cols, cs_dataflow df)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->rows = rows;
    cfg->cols = cols;
    cfg->dataflow = df;
    cfg->ifmap_sram_kb = cfg->filter_sram_kb = cfg->ofmap_sram_kb = 64;
    cfg->filter_offset = 10000000;
    cfg->ofmap_offset = 20000000;
    cfg->bandwidth = 10;
    cfg->version = 2;
    cfg->block_size = 8;
    cfg->seed = 40;
}

void cs_array_config_free(cs_array_config *cfg)
{
    free(cfg->run_name);
    free(cfg->sparse_rep);
    memset(cfg, 0, sizeof *cfg);
}

/* Dataflow and InterfaceBandwidth are case-sensitive in SCALE-Sim, which
 * does not reject other spellings but misbehaves silently; here they are
 * errors that say so. */
static cs_status cs__exact_choice(cs_ini *ini, const char *section, const char *key, const char *const *choices,
                                  size_t n, const char *consequence, size_t *index, cs_error *err)
{
    cs_ini_entry *e = cs_ini_find(ini, section, key);
    if (!e)
        return cs_error_set(err, CS_EINPUT, "%s: [%s] %s is missing", ini->path, section, key);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e->value, choices[i]) == 0) {
            *index = i;
            return CS_OK;
        }
    char list[128] = "";
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", choices[i]);
    return cs_error_set(err, CS_EINPUT, "%s:%d: [%s] %s: '%s' is not one of %s (case matters; %s)", ini->path,
                        e->line, section, key, e->value, list, consequence);
}

#define CS__MAX_DIM ((uint64_t)1 << 20)
#define CS__MAX_KB ((uint64_t)1 << 30)

cs_status cs_array_config_load(const char *path, cs_array_config *cfg, cs_error *err)
{
    cs_array_config_init(cfg, 0, 0, CS_DATAFLOW_OS);
    cs_ini ini;
    cs_status rc = cs_ini_load(&ini, path, err);
    if (rc != CS_OK)
        return rc;
    const char *A = "architecture_presets";
    const char *run_name = NULL, *bw = NULL, *rep = NULL;
    size_t df = 0, mode = 0;
    static const char *const dataflows[] = {"os", "ws", "is"};
    static const char *const modes[] = {"CALC", "USER"};
    /* v3 if any of its sections or keys is present; its reports differ. */
    cfg->version = cs_ini_has_section(&ini, "sparsity") || cs_ini_has_section(&ini, "layout") ? 3 : 2;
    if ((rc = cs_ini_get_string(&ini, "general", "run_name", true, &run_name, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "ArrayHeight", true, 1, CS__MAX_DIM, &cfg->rows, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "ArrayWidth", true, 1, CS__MAX_DIM, &cfg->cols, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "IfmapSramSzkB", true, 1, CS__MAX_KB, &cfg->ifmap_sram_kb, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "FilterSramSzkB", true, 1, CS__MAX_KB, &cfg->filter_sram_kb, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "OfmapSramSzkB", true, 1, CS__MAX_KB, &cfg->ofmap_sram_kb, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "IfmapOffset", true, 0, UINT64_MAX / 4, &cfg->ifmap_offset, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "FilterOffset", true, 0, UINT64_MAX / 4, &cfg->filter_offset, err)) ||
        (rc = cs_ini_get_u64(&ini, A, "OfmapOffset", true, 0, UINT64_MAX / 4, &cfg->ofmap_offset, err)) ||
        (rc = cs__exact_choice(&ini, A, "Dataflow", dataflows, 3, "SCALE-Sim would silently run it as os", &df, err)) ||
        (rc = cs__exact_choice(&ini, "run_presets", "InterfaceBandwidth", modes, 2,
                               "SCALE-Sim would silently stop reading the file", &mode, err)) ||
        (rc = cs_ini_get_string(&ini, A, "Bandwidth", mode == 1, &bw, err)))
        goto done;
    cfg->dataflow = (cs_dataflow)df;
    cfg->user_bandwidth = mode == 1;
    if (bw) {
        /* A comma list of which SCALE-Sim uses the first value. */
        char first[64];
        size_t n = strcspn(bw, ",");
        cs_ini_entry *e = cs_ini_find(&ini, A, "Bandwidth");
        snprintf(first, sizeof first, "%.*s", (int)(n < 63 ? n : 63), bw);
        if (!cs_parse_u64(first, &cfg->bandwidth) || cfg->bandwidth == 0) {
            rc = cs_error_set(err, CS_EINPUT, "%s:%d: [%s] Bandwidth: '%s' is not a positive integer list", path,
                              e ? e->line : 0, A, bw);
            goto done;
        }
    }
    /* Read by SCALE-Sim's configs but without effect on its compute reports. */
    uint64_t unused;
    bool flag;
    const char *str;
    const char *const ignored_u64[][2] = {
        {A, "MemoryBanks"},         {A, "ReadRequestBuffer"},          {A, "WriteRequestBuffer"},
        {"layout", "IfmapSRAMBankBandwidth"}, {"layout", "IfmapSRAMBankNum"}, {"layout", "IfmapSRAMBankPort"},
        {"layout", "FilterSRAMBankBandwidth"}, {"layout", "FilterSRAMBankNum"}, {"layout", "FilterSRAMBankPort"},
    };
    for (size_t i = 0; i < sizeof ignored_u64 / sizeof ignored_u64[0]; i++)
        if ((rc = cs_ini_get_u64(&ini, ignored_u64[i][0], ignored_u64[i][1], false, 0, UINT64_MAX, &unused, err)))
            goto done;
    if ((rc = cs_ini_get_bool(&ini, "layout", "IfmapCustomLayout", false, &flag, err)) ||
        (rc = cs_ini_get_bool(&ini, "layout", "FilterCustomLayout", false, &flag, err)) ||
        (rc = cs_ini_get_bool(&ini, "run_presets", "UseRamulatorTrace", false, &flag, err)) ||
        (rc = cs_ini_get_string(&ini, A, "TopologyCsvLoc", false, &str, err)) ||
        (rc = cs_ini_get_string(&ini, "network_presets", "TopologyCsvLoc", false, &str, err)))
        goto done;
    if (cs_ini_has_section(&ini, "sparsity")) {
        if ((rc = cs_ini_get_bool(&ini, "sparsity", "SparsitySupport", true, &cfg->sparsity, err)) ||
            (rc = cs_ini_get_string(&ini, "sparsity", "SparseRep", cfg->sparsity, &rep, err)) ||
            (rc = cs_ini_get_bool(&ini, "sparsity", "OptimizedMapping", cfg->sparsity, &cfg->rowwise, err)) ||
            (rc = cs_ini_get_u64(&ini, "sparsity", "BlockSize", cfg->sparsity && cfg->rowwise, 2, cfg->rows,
                                 &cfg->block_size, err)) ||
            (rc = cs_ini_get_u64(&ini, "sparsity", "RandomNumberGeneratorSeed", false, 0, 0xffffffffu, &cfg->seed,
                                 err)))
            goto done;
        if (!cfg->sparsity)
            cfg->rowwise = false;
        if (cfg->rowwise && cfg->block_size % 2) {
            cs_ini_entry *e = cs_ini_find(&ini, "sparsity", "BlockSize");
            rc = cs_error_set(err, CS_EINPUT, "%s:%d: [sparsity] BlockSize: %llu is odd (row-wise packing halves it)",
                              path, e ? e->line : 0, (unsigned long long)cfg->block_size);
            goto done;
        }
    }
    if ((rc = cs_ini_check_unused(&ini, err)))
        goto done;
    cfg->run_name = strdup(run_name);
    cfg->sparse_rep = strdup(rep ? rep : "ellpack_block");
    if (!cfg->run_name || !cfg->sparse_rep)
        rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
    else if (!*cfg->run_name || strchr(cfg->run_name, '/'))
        rc = cs_error_set(err, CS_EINPUT, "%s: [general] run_name '%s' must be a non-empty name without '/'", path,
                          cfg->run_name);
done:
    cs_ini_free(&ini);
    if (rc != CS_OK)
        cs_array_config_free(cfg);
    return rc;
}
