/* colscope simulate: an accelerator (array + double-buffered SRAM + memory
 * back end) running a topology, for each memory layout, dense and with zero
 * activation columns skipped. */
#include "cli.h"
#include "colscope/accel.h"
#include "colscope/json.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef COLSCOPE_CONFIG_DIR
#define COLSCOPE_CONFIG_DIR "configs"
#endif

static const char cs_simulate_help[] =
    "usage: colscope simulate [--machine FILE.ini] -t TOPOLOGY.csv [options]\n"
    "\n"
    "Runs every layer of a topology on an accelerator: an R x C systolic array with\n"
    "double-buffered SRAMs and a memory back end, fetching the 32-byte atoms each fold\n"
    "needs under each memory layout of the activations, dense and with zero columns\n"
    "skipped. Reports total, compute and memory-stall cycles and DRAM traffic.\n"
    "\n"
    "options:\n"
    "      --machine FILE      machine INI (default configs/machines/default.ini)\n"
    "  -t, --topology FILE     SCALE-Sim topology CSV\n"
    "  -i, --input-type T      conv (default) or gemm\n"
    "      --activation L=PATH[:TENSOR]\n"
    "                          captured tensor (rows = M, last axis = K) as layer L's A; repeatable\n"
    "      --column-sparsity L=S[@H]\n"
    "                          no tensor, only a statistic, zero columns drawn at random: L=S makes\n"
    "                          a share S of the channels zero in every tile (concentration);\n"
    "                          L=S@H makes each column zero with S^(h/H), S measured at tile\n"
    "                          height H, independently (dispersion)\n"
    "      --threshold T       |x| < T is zero (default 0.01)\n"
    "      --layout L          row, col, tiled, compact, a comma-separated list of them, or all\n"
    "                          (default all)\n"
    "      --weights W         weight layout: row (K-major) or col (as torch.nn.Linear)\n"
    "      --memory M          ideal, bandwidth or gddr6 (default: the machine's)\n"
    "      --bandwidth GBPS    bytes/s / 1e9 for --memory bandwidth\n"
    "      --channels N        GDDR6 channels\n"
    "      --dataflow DF       os, ws or is (default: the machine's)\n"
    "      --skip-policy P     compact or fold (default: the machine's)\n"
    "      --ws-token-block N  WS token rows sharing one compaction (default: the machine's)\n"
    "  -j, --threads N         parallel runs (default: one per CPU)\n"
    "      --json FILE         {\"runs\": [...], \"totals\": [...]} with the machine at top level\n"
    "      --csv FILE          one row per (layer, layout, dense|skip)\n"
    "  -q, --quiet             no table on stdout\n"
    "  -h, --help              this text\n"
    "\n"
    "The model, the layouts and the machine presets: docs/MODEL.md, \"Accelerator\".\n";

typedef struct cs_sim_bind {
    char *layer, *spec;
    double col_sparsity;
    uint64_t stat_h;
    bool is_stat;
} cs_sim_bind;

typedef struct cs_sim_layer {
    const cs_layer *layer;
    cs_colmask *skip_mask, *layout_mask; /* owned */
    const char *source;                  /* "tensor", "statistics", "none" */
    const char *activation;
    double element_sparsity, column_sparsity;
} cs_sim_layer;

typedef struct cs_sim_task {
    size_t layer;
    cs_layout layout;
    bool skip;
    size_t same_as; /* an earlier task bound to give the same result (SIZE_MAX: none): copied, not run */
    double cost;    /* work estimate, for scheduling only */
    cs_accel_result res;
    cs_status status;
    cs_error err;
} cs_sim_task;

typedef struct cs_sim_pool {
    const cs_machine *m;
    cs_sim_layer *layers;
    cs_sim_task *tasks;
    const size_t *order; /* the tasks to run, most work first */
    size_t ntasks, next;
    pthread_mutex_t lock;
} cs_sim_pool;

static void *cs_sim_worker(void *arg)
{
    cs_sim_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->ntasks)
            return NULL;
        cs_sim_task *t = &p->tasks[p->order[i]];
        cs_sim_layer *L = &p->layers[t->layer];
        cs_accel_layer al = {L->layer, L->skip_mask, L->layout_mask};
        t->status = cs_accel_simulate(p->m, &al, t->layout, t->skip, &t->res, &t->err);
    }
}

/* Most work first, so the long runs do not start last on a busy pool; ties
 * in task order. */
static int cs_sim_by_cost(const void *a, const void *b, void *arg)
{
    const cs_sim_task *t = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (t[i].cost != t[j].cost)
        return t[i].cost > t[j].cost ? -1 : 1;
    return i < j ? -1 : i > j;
}

static void cs_mask_free(cs_colmask *m)
{
    if (m) {
        cs_colmask_free(m);
        free(m);
    }
}

/* A mask drawn from a column-sparsity statistic (docs/MODEL.md 4.4),
 * deterministically. Hs == 0: a share S of the channels, the same in every
 * tile, is zero (concentration: S at every height). Otherwise each (tile,
 * column) is zero with S^(h/Hs), independently (dispersion). */
static cs_colmask *cs_mask_from_stat(const cs_layer *l, uint64_t h, double S, uint64_t Hs, uint64_t seed)
{
    cs_colmask *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->rows = l->M, m->features = l->K, m->tile_rows = (uint32_t)h;
    m->tiles = (l->M + h - 1) / h, m->words_per_tile = (l->K + 63) / 64;
    m->bits = calloc(m->tiles * m->words_per_tile, 8);
    m->nonzero = calloc(m->tiles, 8);
    if (!m->bits || !m->nonzero) {
        cs_mask_free(m);
        return NULL;
    }
    double p_zero = S <= 0 ? 0 : Hs ? pow(S, (double)h / (double)Hs) : S;
    uint64_t st = seed;
    for (uint64_t t = 0; t < m->tiles; t++) {
        if (!Hs && t > 0) { /* concentration: every tile like the first */
            memcpy(m->bits + t * m->words_per_tile, m->bits, m->words_per_tile * 8);
            m->nonzero[t] = m->nonzero[0];
            continue;
        }
        for (uint64_t k = 0; k < l->K; k++) {
            uint64_t z = (st += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            z ^= z >> 31;
            if ((double)(z >> 11) * 0x1.0p-53 >= p_zero) {
                m->bits[t * m->words_per_tile + k / 64] |= 1ull << (k % 64);
                m->nonzero[t]++;
            }
        }
    }
    return m;
}

static cs_colmask *cs_take_mask(cs_profile *p, size_t hi)
{
    cs_colmask *m = malloc(sizeof *m);
    if (m) {
        *m = p->cells[hi].mask;
        memset(&p->cells[hi].mask, 0, sizeof p->cells[hi].mask);
    }
    return m;
}

static void cs_write_run_json(FILE *fp, const cs_sim_layer *L, const cs_sim_task *t,
                              const cs_sim_task *dense_same_layout, const cs_sim_task *row_same_mode, bool first)
{
    const cs_accel_result *r = &t->res;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "layer", L->layer->name);
    cJSON_AddStringToObject(o, "layout", cs_layout_name(t->layout));
    cJSON_AddBoolToObject(o, "skip", t->skip);
    cs_json_add_uint(o, "M", L->layer->M);
    cs_json_add_uint(o, "N", L->layer->N);
    cs_json_add_uint(o, "K", L->layer->K);
    cs_json_add_uint(o, "total_cycles", r->total_cycles);
    cs_json_add_uint(o, "compute_cycles", r->compute_cycles);
    cs_json_add_uint(o, "stall_cycles", r->stall_cycles);
    cs_json_add_number(o, "stall_share", r->total_cycles ? (double)r->stall_cycles / (double)r->total_cycles : 0);
    cs_json_add_uint(o, "dram_read_bytes", r->read_bytes[0] + r->read_bytes[1] + r->read_bytes[2]);
    cs_json_add_uint(o, "dram_write_bytes", r->write_bytes);
    cs_json_add_uint(o, "read_bytes_a", r->read_bytes[CS_OPERAND_A]);
    cs_json_add_uint(o, "read_bytes_b", r->read_bytes[CS_OPERAND_B]);
    cs_json_add_uint(o, "read_bytes_metadata", r->read_bytes[CS_OPERAND_META]);
    cs_json_add_uint(o, "a_stored_bytes", r->a_stored_bytes);
    cs_json_add_uint(o, "metadata_bytes", r->metadata_bytes);
    cs_json_add_uint(o, "dram_requests", r->dram_requests);
    cs_json_add_number(o, "achieved_bandwidth_gbps", r->achieved_gbps);
    cs_json_add_number(o, "row_hit_rate", r->row_hit_rate);
    cs_json_add_number(o, "seconds", r->seconds);
    double red = dense_same_layout->res.total_cycles
                     ? 1.0 - (double)r->total_cycles / (double)dense_same_layout->res.total_cycles
                     : 0;
    cs_json_add_number(o, "cycle_reduction", red);
    if (row_same_mode)
        cs_json_add_number(o, "layout_sensitivity",
                           row_same_mode->res.total_cycles
                               ? (double)r->total_cycles / (double)row_same_mode->res.total_cycles - 1.0
                               : 0);
    cJSON_AddStringToObject(o, "activation_source", L->source);
    if (L->activation)
        cJSON_AddStringToObject(o, "activation", L->activation);
    if (strcmp(L->source, "none"))
        cs_json_add_number(o, "column_sparsity", L->column_sparsity);
    if (!strcmp(L->source, "tensor"))
        cs_json_add_number(o, "element_sparsity", L->element_sparsity);
    if (!first)
        fputc(',', fp);
    cs_cli_write_json(fp, o);
    cJSON_Delete(o);
}

/* "all", or a comma-separated list of layout names: each layout once, in
 * the canonical order (one invocation shares its threads among them all). */
static bool cs_sim_parse_layouts(const char *s, cs_layout *out, size_t *n)
{
    bool want[CS_LAYOUT_COUNT] = {false}, all = strcmp(s, "all") == 0;
    for (const char *at = s; !all; at++) {
        size_t len = strcspn(at, ",");
        char name[16];
        cs_layout one;
        if (len == 0 || len >= sizeof name) /* also an empty list or a stray comma */
            return false;
        memcpy(name, at, len);
        name[len] = '\0';
        if (!cs_layout_from_name(name, &one))
            return false;
        want[one] = true;
        at += len;
        if (!*at)
            break;
    }
    *n = 0;
    for (int i = 0; i < CS_LAYOUT_COUNT; i++)
        if (all || want[i])
            out[(*n)++] = (cs_layout)i;
    return true;
}

int cs_cmd_simulate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"machine", required_argument, NULL, 'M'},   {"topology", required_argument, NULL, 't'},
        {"input-type", required_argument, NULL, 'i'}, {"activation", required_argument, NULL, 'a'},
        {"column-sparsity", required_argument, NULL, 'S'}, {"threshold", required_argument, NULL, 'T'},
        {"layout", required_argument, NULL, 'L'},    {"weights", required_argument, NULL, 'W'},
        {"memory", required_argument, NULL, 'm'},    {"bandwidth", required_argument, NULL, 'B'},
        {"channels", required_argument, NULL, 'c'},  {"dataflow", required_argument, NULL, 'D'},
        {"threads", required_argument, NULL, 'j'},   {"json", required_argument, NULL, 'J'},
        {"csv", required_argument, NULL, 'C'},       {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},            {"skip-policy", required_argument, NULL, 'P'},
        {"ws-token-block", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0},
    };
    char default_machine[4096];
    const char *cfgdir = getenv("COLSCOPE_CONFIG_DIR");
    snprintf(default_machine, sizeof default_machine, "%s/machines/default.ini",
             cfgdir && *cfgdir ? cfgdir : COLSCOPE_CONFIG_DIR);
    const char *machine_path = default_machine, *topo_path = NULL, *json_path = NULL, *csv_path = NULL,
               *layout_name = "all", *weights = NULL, *memory = NULL, *dataflow = NULL;
    cs_topology_kind kind = CS_TOPOLOGY_CONV;
    double threshold = 0.01, bandwidth = 0;
    uint64_t channels = 0, threads = 0, token_block = 0;
    const char *policy = NULL;
    bool quiet = false;
    cs_sim_bind *bind = NULL;
    size_t nbind = 0;
    int status = CS_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":t:i:j:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'M':
            machine_path = optarg;
            break;
        case 't':
            topo_path = optarg;
            break;
        case 'i':
            if (strcmp(optarg, "conv") && strcmp(optarg, "gemm")) {
                status = cs_cli_usage("simulate", "--input-type: '%s' is not conv or gemm", optarg);
                goto out;
            }
            kind = strcmp(optarg, "gemm") == 0 ? CS_TOPOLOGY_GEMM : CS_TOPOLOGY_CONV;
            break;
        case 'a':
        case 'S': {
            cs_sim_bind *nb = realloc(bind, (nbind + 1) * sizeof *nb);
            if (!nb)
                goto out;
            bind = nb;
            cs_sim_bind *b = &bind[nbind];
            memset(b, 0, sizeof *b);
            if (!cs_cli_split_binding(optarg, &b->layer, &b->spec)) {
                status = cs_cli_usage("simulate", "%s: '%s' is not LAYER=VALUE",
                                      ch == 'a' ? "--activation" : "--column-sparsity", optarg);
                goto out;
            }
            nbind++;
            if (ch == 'S') {
                b->is_stat = true;
                char *at = strchr(b->spec, '@');
                if (at)
                    *at = '\0';
                if (!cs_parse_double(b->spec, &b->col_sparsity) || !(b->col_sparsity >= 0 && b->col_sparsity <= 1) ||
                    (at && (!cs_parse_u64(at + 1, &b->stat_h) || b->stat_h == 0))) {
                    status = cs_cli_usage("simulate", "--column-sparsity: '%s' is not LAYER=S[@H] with 0 <= S <= 1",
                                          optarg);
                    goto out;
                }
            }
            break;
        }
        case 'T':
            if (!cs_parse_double(optarg, &threshold) || !(threshold >= 0) || threshold > 1e300) {
                status = cs_cli_usage("simulate", "--threshold: '%s' is not a finite non-negative number", optarg);
                goto out;
            }
            break;
        case 'L':
            layout_name = optarg;
            break;
        case 'W':
            weights = optarg;
            break;
        case 'm':
            memory = optarg;
            break;
        case 'B':
            if (!cs_parse_double(optarg, &bandwidth) || !(bandwidth > 0) || bandwidth > 1e6) {
                status = cs_cli_usage("simulate", "--bandwidth: '%s' is not a positive number of GB/s", optarg);
                goto out;
            }
            break;
        case 'c':
            if (!cs_parse_u64(optarg, &channels) || channels < 1 || channels > 64) {
                status = cs_cli_usage("simulate", "--channels: '%s' is not in 1..64", optarg);
                goto out;
            }
            break;
        case 'D':
            dataflow = optarg;
            break;
        case 'P':
            policy = optarg;
            if (strcmp(policy, "compact") && strcmp(policy, "fold")) {
                status = cs_cli_usage("simulate", "--skip-policy: '%s' is not compact or fold", optarg);
                goto out;
            }
            break;
        case 'K':
            if (!cs_parse_u64(optarg, &token_block) || token_block == 0) {
                status = cs_cli_usage("simulate", "--ws-token-block: '%s' is not a positive integer", optarg);
                goto out;
            }
            break;
        case 'j':
            if (!cs_parse_u64(optarg, &threads) || threads > 256) {
                status = cs_cli_usage("simulate", "--threads: '%s' is not in 0..256", optarg);
                goto out;
            }
            break;
        case 'J':
            json_path = optarg;
            break;
        case 'C':
            csv_path = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(cs_simulate_help, stdout);
            status = CS_EXIT_OK;
            goto out;
        default:
            status = cs_cli_bad_option("simulate", ch, argv);
            goto out;
        }
    }
    if (optind < argc) {
        status = cs_cli_usage("simulate", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!topo_path) {
        status = cs_cli_usage("simulate", "no topology given (-t FILE.csv)");
        goto out;
    }
    cs_layout layouts[CS_LAYOUT_COUNT];
    size_t nlayouts;
    if (!cs_sim_parse_layouts(layout_name, layouts, &nlayouts)) {
        status = cs_cli_usage("simulate",
                              "--layout: '%s' is not all or a comma-separated list of row, col, tiled, compact",
                              layout_name);
        goto out;
    }

    cs_error err;
    cs_error_clear(&err);
    cs_machine m;
    cs_topology topo = {0};
    cs_sim_layer *layers = NULL;
    cs_sim_task *tasks = NULL;
    size_t *order = NULL;
    size_t ntasks = 0;
    cs_outfile json = {0}, csv = {0};
    bool json_open = false, csv_open = false;
    memset(&m, 0, sizeof m);
    if (cs_machine_load(machine_path, &m, &err) != CS_OK)
        goto fail;
    if (memory) {
        if (!strcmp(memory, "ideal"))
            m.memory = CS_MEM_IDEAL;
        else if (!strcmp(memory, "bandwidth"))
            m.memory = CS_MEM_BANDWIDTH;
        else if (!strcmp(memory, "gddr6"))
            m.memory = CS_MEM_GDDR6;
        else {
            cs_error_set(&err, CS_EINPUT, "--memory: '%s' is not ideal, bandwidth or gddr6", memory);
            goto fail;
        }
    }
    if (bandwidth > 0)
        m.bandwidth_gbps = bandwidth;
    if (channels)
        m.channels = (uint32_t)channels;
    if (weights) {
        if (!strcmp(weights, "row"))
            m.weight_layout = CS_WEIGHTS_ROW;
        else if (!strcmp(weights, "col"))
            m.weight_layout = CS_WEIGHTS_COL;
        else {
            cs_error_set(&err, CS_EINPUT, "--weights: '%s' is not row or col", weights);
            goto fail;
        }
    }
    if (dataflow && !cs_dataflow_from_name(dataflow, &m.array.dataflow)) {
        cs_error_set(&err, CS_EINPUT, "--dataflow: '%s' is not os, ws or is", dataflow);
        goto fail;
    }
    if (policy)
        m.skip.policy = strcmp(policy, "fold") == 0 ? CS_SKIP_FOLD : CS_SKIP_COMPACT;
    if (token_block)
        m.skip.ws_token_block = token_block;
    if (cs_topology_load(topo_path, kind, 2, &topo, &err) != CS_OK)
        goto fail;
    layers = calloc(topo.count, sizeof *layers);
    if (!layers) {
        cs_error_set(&err, CS_ERUNTIME, "out of memory");
        goto fail;
    }
    for (size_t b = 0; b < nbind; b++) {
        if (!cs_topology_find(&topo, bind[b].layer)) {
            cs_error_set(&err, CS_EINPUT, "%s: %s has no layer named '%s'",
                         bind[b].is_stat ? "--column-sparsity" : "--activation", topo_path, bind[b].layer);
            goto fail;
        }
    }
    for (size_t i = 0; i < topo.count; i++) {
        cs_sim_layer *L = &layers[i];
        const cs_layer *l = &topo.layers[i];
        L->layer = l;
        L->source = "none";
        const cs_sim_bind *b = NULL;
        for (size_t j = 0; j < nbind; j++)
            if (strcmp(bind[j].layer, l->name) == 0)
                b = &bind[j];
        if (!b)
            continue;
        uint64_t hs = cs_skip_tile_rows(&m.array, l, &m.skip), hl = cs_accel_layout_tile_rows(&m, l);
        if (b->is_stat) {
            /* the same channels in both masks under concentration */
            L->skip_mask = cs_mask_from_stat(l, hs, b->col_sparsity, b->stat_h, 0x5eed + i);
            L->layout_mask = cs_mask_from_stat(l, hl, b->col_sparsity, b->stat_h, b->stat_h ? 0x1a70 + i : 0x5eed + i);
            if (!L->skip_mask || !L->layout_mask) {
                cs_error_set(&err, CS_ERUNTIME, "out of memory");
                goto fail;
            }
            L->source = "statistics";
            L->column_sparsity = b->col_sparsity;
            continue;
        }
        uint32_t hts[2] = {(uint32_t)hs, (uint32_t)hl};
        cs_profile p;
        if (cs_cli_profile_operand(l, b->spec, threshold, hts, hs == hl ? 1 : 2, &p, &err) != CS_OK)
            goto fail;
        L->element_sparsity = p.cells[0].element_sparsity;
        L->column_sparsity = p.cells[0].column_sparsity;
        L->skip_mask = cs_take_mask(&p, 0);
        L->layout_mask = cs_take_mask(&p, hs == hl ? 0 : 1);
        if (hs == hl && L->skip_mask && L->layout_mask) { /* one mask serves both: copy it */
            const cs_colmask *src = L->skip_mask;
            cs_colmask *c = L->layout_mask;
            *c = *src;
            c->bits = malloc(src->tiles * src->words_per_tile * 8);
            c->nonzero = malloc(src->tiles * 8);
            if (c->bits && c->nonzero) {
                memcpy(c->bits, src->bits, src->tiles * src->words_per_tile * 8);
                memcpy(c->nonzero, src->nonzero, src->tiles * 8);
            }
        }
        cs_profile_free(&p);
        if (!L->skip_mask || !L->layout_mask || !L->layout_mask->bits || !L->layout_mask->nonzero) {
            cs_error_set(&err, CS_ERUNTIME, "out of memory");
            goto fail;
        }
        L->source = "tensor";
        L->activation = b->spec;
    }

    /* Every (layer, layout, dense|skip) is an independent run. */
    ntasks = topo.count * nlayouts * 2;
    tasks = calloc(ntasks, sizeof *tasks);
    if (!tasks) {
        cs_error_set(&err, CS_ERUNTIME, "out of memory");
        goto fail;
    }
    order = malloc(ntasks * sizeof *order);
    if (!order) {
        cs_error_set(&err, CS_ERUNTIME, "out of memory");
        goto fail;
    }
    size_t nrun = 0;
    for (size_t i = 0, k = 0; i < topo.count; i++)
        for (size_t li = 0; li < nlayouts; li++)
            for (int s = 0; s < 2; s++, k++) {
                const cs_layer *l = layers[i].layer;
                tasks[k] = (cs_sim_task){.layer = i, .layout = layouts[li], .skip = s, .same_as = SIZE_MAX,
                                         .cost = (double)l->M * (double)l->N * (double)l->K};
                /* Repeated layers (same shape, same masks) run once. */
                cs_accel_layer ak = {l, layers[i].skip_mask, layers[i].layout_mask};
                for (size_t j = 0; j < k && tasks[k].same_as == SIZE_MAX; j++) {
                    const cs_sim_layer *J = &layers[tasks[j].layer];
                    cs_accel_layer aj = {J->layer, J->skip_mask, J->layout_mask};
                    if (tasks[j].same_as == SIZE_MAX &&
                        cs_accel_same_run(&m, &aj, tasks[j].layout, tasks[j].skip, &ak, tasks[k].layout, s))
                        tasks[k].same_as = j;
                }
                if (tasks[k].same_as == SIZE_MAX)
                    order[nrun++] = k;
            }
    qsort_r(order, nrun, sizeof *order, cs_sim_by_cost, tasks);
    cs_sim_pool pool = {&m, layers, tasks, order, nrun, 0, PTHREAD_MUTEX_INITIALIZER};
    int nth = threads ? (int)threads : cs_cpu_count();
    if ((size_t)nth > nrun)
        nth = (int)nrun;
    pthread_t th[256];
    int started = 0;
    for (int i = 1; i < nth; i++)
        if (pthread_create(&th[started], NULL, cs_sim_worker, &pool) == 0)
            started++;
    cs_sim_worker(&pool);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t k = 0; k < ntasks; k++)
        if (tasks[k].same_as != SIZE_MAX) { /* its source comes earlier, so a failure of it is reported first */
            cs_sim_task *src = &tasks[tasks[k].same_as];
            tasks[k].res = src->res;
            tasks[k].status = src->status;
            tasks[k].err = src->err;
        }
    for (size_t k = 0; k < ntasks; k++)
        if (tasks[k].status != CS_OK) {
            err = tasks[k].err;
            goto fail;
        }

    /* index helpers: task of (layer, layout index, skip) */
#define CS_TASK(i, li, s) (&tasks[((i) * nlayouts + (li)) * 2 + (s)])
    size_t row_li = SIZE_MAX;
    for (size_t li = 0; li < nlayouts; li++)
        if (layouts[li] == CS_LAYOUT_ROW)
            row_li = li;
    if (!quiet) {
        printf("%s: %llux%llu %s at %g GHz, %s memory (%.1f GB/s peak), %zu layers, threshold %g\n", m.name,
               (unsigned long long)m.array.rows, (unsigned long long)m.array.cols, cs_dataflow_name(m.array.dataflow),
               m.core_clock_ghz, cs_mem_kind_name(m.memory), cs_machine_peak_gbps(&m), topo.count, threshold);
        printf("  %-22s %-8s %13s %7s %13s %7s %8s %10s\n", "layer", "layout", "dense cycles", "stall", "skip cycles",
               "stall", "reduct", "A read MB");
        for (size_t i = 0; i < topo.count; i++)
            for (size_t li = 0; li < nlayouts; li++) {
                const cs_accel_result *d = &CS_TASK(i, li, 0)->res, *s = &CS_TASK(i, li, 1)->res;
                printf("  %-22.22s %-8s %13llu %6.1f%% %13llu %6.1f%% %7.2f%% %10.2f\n", li ? "" : topo.layers[i].name,
                       cs_layout_name(layouts[li]), (unsigned long long)d->total_cycles,
                       d->total_cycles ? 100.0 * (double)d->stall_cycles / (double)d->total_cycles : 0,
                       (unsigned long long)s->total_cycles,
                       s->total_cycles ? 100.0 * (double)s->stall_cycles / (double)s->total_cycles : 0,
                       d->total_cycles ? 100.0 * (1.0 - (double)s->total_cycles / (double)d->total_cycles) : 0,
                       (double)s->read_bytes[0] / 1e6);
            }
    }
    /* per (layout, mode) totals over the layers */
    cJSON *totals = cJSON_CreateArray();
    if (!quiet)
        printf("  %-22s\n", "total");
    for (size_t li = 0; li < nlayouts; li++) {
        uint64_t tot[2] = {0, 0}, comp[2] = {0, 0}, rd[2] = {0, 0}, wr[2] = {0, 0};
        for (size_t i = 0; i < topo.count; i++)
            for (int s = 0; s < 2; s++) {
                const cs_accel_result *r = &CS_TASK(i, li, s)->res;
                tot[s] += r->total_cycles;
                comp[s] += r->compute_cycles;
                rd[s] += r->read_bytes[0] + r->read_bytes[1] + r->read_bytes[2];
                wr[s] += r->write_bytes;
            }
        if (!quiet)
            printf("  %-22s %-8s %13llu %6.1f%% %13llu %6.1f%% %7.2f%%\n", "", cs_layout_name(layouts[li]),
                   (unsigned long long)tot[0], tot[0] ? 100.0 * (double)(tot[0] - comp[0]) / (double)tot[0] : 0,
                   (unsigned long long)tot[1], tot[1] ? 100.0 * (double)(tot[1] - comp[1]) / (double)tot[1] : 0,
                   tot[0] ? 100.0 * (1.0 - (double)tot[1] / (double)tot[0]) : 0);
        for (int s = 0; s < 2; s++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "layout", cs_layout_name(layouts[li]));
            cJSON_AddBoolToObject(o, "skip", s);
            cs_json_add_uint(o, "total_cycles", tot[s]);
            cs_json_add_uint(o, "compute_cycles", comp[s]);
            cs_json_add_uint(o, "stall_cycles", tot[s] - comp[s]);
            cs_json_add_number(o, "stall_share", tot[s] ? (double)(tot[s] - comp[s]) / (double)tot[s] : 0);
            cs_json_add_uint(o, "dram_read_bytes", rd[s]);
            cs_json_add_uint(o, "dram_write_bytes", wr[s]);
            cs_json_add_number(o, "cycle_reduction", tot[0] ? 1.0 - (double)tot[s] / (double)tot[0] : 0);
            cJSON_AddItemToArray(totals, o);
        }
    }
    if (json_path) {
        if (cs_outfile_open(&json, json_path, &err) != CS_OK) {
            cJSON_Delete(totals);
            goto fail;
        }
        json_open = true;
        cJSON *hdr = cJSON_CreateObject();
        cJSON_AddStringToObject(hdr, "machine", m.name);
        cJSON_AddStringToObject(hdr, "machine_file", machine_path);
        cs_json_add_uint(hdr, "array_rows", m.array.rows);
        cs_json_add_uint(hdr, "array_cols", m.array.cols);
        cJSON_AddStringToObject(hdr, "dataflow", cs_dataflow_name(m.array.dataflow));
        cs_json_add_number(hdr, "core_clock_ghz", m.core_clock_ghz);
        cs_json_add_number(hdr, "peak_bandwidth_gbps", cs_machine_peak_gbps(&m));
        cJSON_AddStringToObject(hdr, "memory", cs_mem_kind_name(m.memory));
        cs_json_add_uint(hdr, "word_bytes", m.word_bytes);
        cs_json_add_number(hdr, "threshold", threshold);
        char *h = cJSON_PrintUnformatted(hdr);
        cJSON_Delete(hdr);
        if (h) {
            h[strlen(h) - 1] = '\0'; /* drop the closing brace to append runs */
            fputs(h, json.fp);
            free(h);
        }
        fputs(",\"runs\":[", json.fp);
        bool first = true;
        for (size_t i = 0; i < topo.count; i++)
            for (size_t li = 0; li < nlayouts; li++)
                for (int s = 0; s < 2; s++) {
                    cs_write_run_json(json.fp, &layers[i], CS_TASK(i, li, s), CS_TASK(i, li, 0),
                                      row_li == SIZE_MAX ? NULL : CS_TASK(i, row_li, s), first);
                    first = false;
                }
        fputs("],\"totals\":", json.fp);
        cs_cli_write_json(json.fp, totals);
        fputs("}\n", json.fp);
        json_open = false;
        if (cs_outfile_commit(&json, &err) != CS_OK) {
            cJSON_Delete(totals);
            goto fail;
        }
    }
    cJSON_Delete(totals);
    if (csv_path) {
        if (cs_outfile_open(&csv, csv_path, &err) != CS_OK)
            goto fail;
        csv_open = true;
        fputs("layer,layout,skip,M,N,K,total_cycles,compute_cycles,stall_cycles,dram_read_bytes,dram_write_bytes,"
              "read_bytes_a,read_bytes_b,read_bytes_metadata,a_stored_bytes,metadata_bytes,achieved_bandwidth_gbps,"
              "row_hit_rate,activation_source\n",
              csv.fp);
        for (size_t i = 0; i < topo.count; i++)
            for (size_t li = 0; li < nlayouts; li++)
                for (int s = 0; s < 2; s++) {
                    const cs_accel_result *r = &CS_TASK(i, li, s)->res;
                    fprintf(csv.fp, "%s,%s,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.6f,%.6f,%s\n",
                            topo.layers[i].name, cs_layout_name(layouts[li]), s, (unsigned long long)topo.layers[i].M,
                            (unsigned long long)topo.layers[i].N, (unsigned long long)topo.layers[i].K,
                            (unsigned long long)r->total_cycles, (unsigned long long)r->compute_cycles,
                            (unsigned long long)r->stall_cycles,
                            (unsigned long long)(r->read_bytes[0] + r->read_bytes[1] + r->read_bytes[2]),
                            (unsigned long long)r->write_bytes, (unsigned long long)r->read_bytes[0],
                            (unsigned long long)r->read_bytes[1], (unsigned long long)r->read_bytes[2],
                            (unsigned long long)r->a_stored_bytes, (unsigned long long)r->metadata_bytes,
                            r->achieved_gbps, r->row_hit_rate, layers[i].source);
                }
        csv_open = false;
        if (cs_outfile_commit(&csv, &err) != CS_OK)
            goto fail;
    }
#undef CS_TASK
    status = CS_EXIT_OK;
    goto cleanup;
fail:
    if (json_open)
        cs_outfile_abort(&json);
    if (csv_open)
        cs_outfile_abort(&csv);
    status = cs_cli_fail(&err);
cleanup:
    if (layers)
        for (size_t i = 0; i < topo.count; i++) {
            cs_mask_free(layers[i].skip_mask);
            cs_mask_free(layers[i].layout_mask);
        }
    free(layers);
    free(tasks);
    free(order);
    cs_topology_free(&topo);
    cs_machine_free(&m);
out:
    for (size_t i = 0; i < nbind; i++) {
        free(bind[i].layer);
        free(bind[i].spec);
    }
    free(bind);
    return status;
}
