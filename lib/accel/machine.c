/* Machine descriptions: INI files under configs/machines/ (docs/MODEL.md,
 * "Accelerator", lists the keys and the presets' rationale). */
#include "colscope/ini.h"
#include "accel_internal.h"

#include <stdlib.h>
#include <string.h>

const char *cs_mem_kind_name(cs_mem_kind k)
{
    static const char *const names[] = {"ideal", "bandwidth", "gddr6"};
    return k <= CS_MEM_GDDR6 ? names[k] : "?";
}

void cs_machine_init_default(cs_machine *m)
{
    memset(m, 0, sizeof *m);
    m->name = strdup("default");
    m->description = strdup("128x128 fp16 array at 1 GHz, 2 MB SRAM, 8 GDDR6 channels at 14 Gb/s");
    m->core_clock_ghz = 1.0;
    m->word_bytes = 2;
    cs_array_config_init(&m->array, 128, 128, CS_DATAFLOW_WS);
    m->ifmap_sram_bytes = 1024 * 1024;
    m->filter_sram_bytes = 512 * 1024;
    m->ofmap_sram_bytes = 512 * 1024;
    m->memory = CS_MEM_GDDR6;
    m->bandwidth_gbps = 224;
    m->channels = 8;
    m->dram_preset = strdup("gddr6-14");
    m->dram_mapping = strdup("RoBaRaCoCh");
    m->weight_layout = CS_WEIGHTS_ROW;
}

void cs_machine_free(cs_machine *m)
{
    free(m->name);
    free(m->description);
    free(m->dram_preset);
    free(m->dram_mapping);
    free(m->dram_config);
    cs_array_config_free(&m->array);
    memset(m, 0, sizeof *m);
}

double cs_machine_peak_gbps(const cs_machine *m)
{
    switch (m->memory) {
    case CS_MEM_BANDWIDTH:
        return m->bandwidth_gbps;
    case CS_MEM_GDDR6: {
        /* 32 B per BL16 burst of 2 tCK per channel: 16 Gb/s per pin x 16 pins */
        double gbps_pin = strstr(m->dram_preset, "16") ? 16.0 : 14.0;
        return m->channels * gbps_pin * 16 / 8;
    }
    default:
        return 0;
    }
}

static cs_status cs__set_string(char **dst, const char *v, cs_error *err)
{
    char *s = strdup(v);
    if (!s)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    free(*dst);
    *dst = s;
    return CS_OK;
}

cs_status cs_machine_load(const char *path, cs_machine *m, cs_error *err)
{
    cs_machine_init_default(m);
    cs_ini ini;
    cs_status rc = cs_ini_load(&ini, path, err);
    if (rc != CS_OK) {
        cs_machine_free(m);
        return rc;
    }
    static const char *const words[] = {"int8", "fp16", "fp32"};
    static const uint32_t word_bytes[] = {1, 2, 4};
    static const char *const dfs[] = {"os", "ws", "is"};
    static const char *const mems[] = {"ideal", "bandwidth", "gddr6"};
    static const char *const wl[] = {"row", "col"};
    static const char *const pol[] = {"compact", "fold"};
    size_t word = 1, df = (size_t)m->array.dataflow, mem = (size_t)m->memory, w = 0, p = 0;
    uint64_t rows = m->array.rows, cols = m->array.cols, ik = m->ifmap_sram_bytes / 1024,
             fk = m->filter_sram_bytes / 1024, ok_ = m->ofmap_sram_bytes / 1024, ch = m->channels, tile = 0,
             block = 0;
    const char *name = NULL, *desc = NULL, *preset = NULL, *mapping = NULL, *dcfg = NULL;
    if ((rc = cs_ini_get_string(&ini, "machine", "name", true, &name, err)) ||
        (rc = cs_ini_get_string(&ini, "machine", "description", false, &desc, err)) ||
        (rc = cs_ini_get_double(&ini, "machine", "core_clock_ghz", false, 0.01, 100, &m->core_clock_ghz, err)) ||
        (rc = cs_ini_get_choice(&ini, "machine", "word", false, words, 3, &word, err)) ||
        (rc = cs_ini_get_u64(&ini, "array", "rows", false, 1, 4096, &rows, err)) ||
        (rc = cs_ini_get_u64(&ini, "array", "cols", false, 1, 4096, &cols, err)) ||
        (rc = cs_ini_get_choice(&ini, "array", "dataflow", false, dfs, 3, &df, err)) ||
        (rc = cs_ini_get_u64(&ini, "sram", "ifmap_kb", false, 1, 1u << 22, &ik, err)) ||
        (rc = cs_ini_get_u64(&ini, "sram", "filter_kb", false, 1, 1u << 22, &fk, err)) ||
        (rc = cs_ini_get_u64(&ini, "sram", "ofmap_kb", false, 1, 1u << 22, &ok_, err)) ||
        (rc = cs_ini_get_choice(&ini, "memory", "backend", false, mems, 3, &mem, err)) ||
        (rc = cs_ini_get_double(&ini, "memory", "bandwidth_gbps", false, 0.001, 1e6, &m->bandwidth_gbps, err)) ||
        (rc = cs_ini_get_u64(&ini, "memory", "channels", false, 1, 64, &ch, err)) ||
        (rc = cs_ini_get_string(&ini, "memory", "preset", false, &preset, err)) ||
        (rc = cs_ini_get_string(&ini, "memory", "mapping", false, &mapping, err)) ||
        (rc = cs_ini_get_string(&ini, "memory", "config", false, &dcfg, err)) ||
        (rc = cs_ini_get_choice(&ini, "layout", "weights", false, wl, 2, &w, err)) ||
        (rc = cs_ini_get_u64(&ini, "layout", "tile_rows", false, 0, 1u << 24, &tile, err)) ||
        (rc = cs_ini_get_choice(&ini, "skip", "policy", false, pol, 2, &p, err)) ||
        (rc = cs_ini_get_u64(&ini, "skip", "ws_token_block", false, 0, 1u << 30, &block, err)) ||
        (rc = cs_ini_check_unused(&ini, err)))
        goto done;
    m->word_bytes = word_bytes[word];
    m->array.rows = rows;
    m->array.cols = cols;
    m->array.dataflow = (cs_dataflow)df;
    m->ifmap_sram_bytes = ik * 1024;
    m->filter_sram_bytes = fk * 1024;
    m->ofmap_sram_bytes = ok_ * 1024;
    m->memory = (cs_mem_kind)mem;
    m->channels = (uint32_t)ch;
    m->weight_layout = (cs_weight_layout)w;
    m->layout_tile_rows = (uint32_t)tile;
    m->skip.policy = (cs_skip_policy)p;
    m->skip.ws_token_block = block;
    if ((rc = cs__set_string(&m->name, name, err)) || (desc && (rc = cs__set_string(&m->description, desc, err))) ||
        (preset && (rc = cs__set_string(&m->dram_preset, preset, err))) ||
        (mapping && (rc = cs__set_string(&m->dram_mapping, mapping, err))))
        goto done;
    if (dcfg) {
        /* relative to the machine file's directory */
        const char *slash = strrchr(path, '/');
        size_t dl = dcfg[0] == '/' || !slash ? 0 : (size_t)(slash - path + 1);
        char *full = malloc(dl + strlen(dcfg) + 1);
        if (!full) {
            rc = cs_error_set(err, CS_ERUNTIME, "out of memory");
            goto done;
        }
        memcpy(full, path, dl);
        strcpy(full + dl, dcfg);
        free(m->dram_config);
        m->dram_config = full;
    }
    /* The double buffer must hold two stationary tiles (R x C words) and the
     * OFMAP buffer two output tiles. */
    uint64_t tile_bytes = rows * cols * m->word_bytes;
    uint64_t stationary = df == CS_DATAFLOW_WS ? m->filter_sram_bytes : df == CS_DATAFLOW_IS ? m->ifmap_sram_bytes
                                                                                             : m->ofmap_sram_bytes;
    if (2 * tile_bytes > stationary)
        rc = cs_error_set(err, CS_EINPUT,
                          "%s: [sram] the %s SRAM (%llu KB) cannot double-buffer a %llux%llu tile of %u-byte words "
                          "(%llu KB)",
                          path, df == CS_DATAFLOW_WS ? "filter" : df == CS_DATAFLOW_IS ? "ifmap" : "ofmap",
                          (unsigned long long)(stationary / 1024), (unsigned long long)rows, (unsigned long long)cols,
                          m->word_bytes, (unsigned long long)(2 * tile_bytes / 1024));
done:
    cs_ini_free(&ini);
    if (rc != CS_OK)
        cs_machine_free(m);
    return rc;
}
