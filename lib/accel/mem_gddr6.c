/* The GDDR6 back end: lib/dram's cycle-level model behind the accelerator's
 * memory interface. Requests and completions keep lib/dram's own clock (its
 * tCK); the engine converts to and from picoseconds. */
#include "colscope/dram.h"
#include "accel_internal.h"

#include <math.h>
#include <string.h>

/* The back end's self is the model itself. */
static double cs__g_hits(void *self)
{
    cs_dram_stats st;
    cs_dram_get_stats(self, &st);
    uint64_t n = st.row_hits + st.row_misses + st.row_conflicts;
    return n ? (double)st.row_hits / (double)n : NAN;
}

static void cs__g_destroy(void *self) { cs_dram_free(self); }

cs_status cs__mem_gddr6_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err)
{
    cs_dram_config cfg;
    cs_status rc = cs_dram_config_preset(&cfg, m->dram_preset, err);
    if (rc == CS_OK && m->dram_config)
        rc = cs_dram_config_load_ini(&cfg, m->dram_config, err);
    if (rc != CS_OK)
        return rc;
    cfg.channels = m->channels;
    if (m->dram_mapping) {
        if (strlen(m->dram_mapping) >= sizeof cfg.mapping)
            return cs_error_set(err, CS_EINPUT, "machine '%s': DRAM mapping '%s' is too long", m->name,
                                m->dram_mapping);
        strcpy(cfg.mapping, m->dram_mapping);
    }
    if ((rc = cs_dram_config_check(&cfg, err)) != CS_OK)
        return rc;
    /* the engine's callback has lib/dram's signature: no wrapper per completion */
    cs_dram *d = cs_dram_create(&cfg, done, user, err);
    if (!d)
        return err && err->status ? err->status : CS_ERUNTIME;
    *out = (cs__mem){d, (double)cfg.tck_ps, NULL, NULL, NULL, NULL, cs__g_hits, cs__g_destroy, d};
    return CS_OK;
}
