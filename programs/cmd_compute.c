/* colscope compute: SCALE-Sim-exact dense cycles of a topology on a systolic
 * array, and the cycles with zero activation columns skipped. */
#include "cli.h"
#include "colscope/json.h"
#include "colscope/systolic.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char cs_compute_help[] =
    "usage: colscope compute (-c FILE.cfg | --array RxC --dataflow os|ws|is) -t TOPOLOGY.csv [options]\n"
    "\n"
    "Cycles of every layer of a SCALE-Sim topology on a systolic array: dense cycles\n"
    "identical to SCALE-Sim v2/v3 (CALC mode), and cycles when the zero columns of the\n"
    "activation operand A (one feature over a token tile) are skipped.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE       SCALE-Sim .cfg (v2 or v3)\n"
    "      --array RxC         array rows x columns, instead of a .cfg\n"
    "      --dataflow DF       os, ws or is (with --array; default ws)\n"
    "  -t, --topology FILE     SCALE-Sim topology CSV\n"
    "  -i, --input-type T      conv (default, as SCALE-Sim) or gemm (Layer, M, N, K,)\n"
    "  -p, --path DIR          write DIR/<run_name>/COMPUTE_REPORT.csv in SCALE-Sim's format\n"
    "      --format v2|v3      report layout (default: v3 when the .cfg is v3)\n"
    "      --activation L=PATH[:TENSOR]\n"
    "                          bind a captured tensor (rows = M, last axis = K) as the A\n"
    "                          operand of every layer named L; repeatable\n"
    "      --threshold T       |x| < T is zero (default 0.01)\n"
    "      --skip-policy P     compact (default: K compacts to the non-zero columns) or\n"
    "                          fold (a K-fold is skipped only when all its columns are zero)\n"
    "      --ws-token-block N  WS: token rows per block sharing one compaction (default M)\n"
    "      --repeat N          multiply totals by N (e.g. denoising steps)\n"
    "      --json FILE         write {\"layers\": [...], \"total\": {...}}\n"
    "  -q, --quiet             no table on stdout\n"
    "  -h, --help              this text\n"
    "\n"
    "Formulas, SCALE-Sim quirks reproduced on purpose and the skipping model:\n"
    "docs/MODEL.md, \"Compute model\".\n";

typedef struct cs_binding {
    char *layer, *spec;
} cs_binding;

typedef struct cs_layer_result {
    cs_compute_stats dense;
    cs_skip_stats skip;
    bool bound;
    const char *activation;
    double element_sparsity, column_sparsity;
} cs_layer_result;

/* One profiled activation, reused by every layer bound to the same spec at
 * the same tile height. */
typedef struct cs_act_cache {
    char *spec;
    uint32_t tile_rows;
    cs_profile profile;
} cs_act_cache;

static cs_status cs_parse_array(const char *s, uint64_t *r, uint64_t *c)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *x = strchr(buf, 'x');
    if (!x)
        return CS_EINPUT;
    *x = '\0';
    return cs_parse_u64(buf, r) && cs_parse_u64(x + 1, c) && *r >= 1 && *c >= 1 && *r <= (1u << 20) &&
                   *c <= (1u << 20)
               ? CS_OK
               : CS_EINPUT;
}

/* mkdir -p for the report directory. */
static cs_status cs_mkdirs(const char *path, cs_error *err)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return cs_error_set(err, CS_EINPUT, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = c;
        }
        if (end)
            break;
    }
    return CS_OK;
}

/* Profiles of bound activations, one per (tensor, tile height), shared by
 * every layer bound to the same tensor. */
static cs_status cs_profile_activation(cs_act_cache **cache, size_t *ncache, const char *spec, uint32_t h,
                                       double threshold, const cs_layer *l, cs_profile **out, cs_error *err)
{
    for (size_t i = 0; i < *ncache; i++)
        if (strcmp((*cache)[i].spec, spec) == 0 && (*cache)[i].tile_rows == h) {
            *out = &(*cache)[i].profile;
            return cs_cli_check_operand(l, spec, *out, err);
        }
    cs_act_cache *n = realloc(*cache, (*ncache + 1) * sizeof *n);
    if (!n)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    *cache = n;
    cs_act_cache *c = &n[*ncache];
    memset(c, 0, sizeof *c);
    cs_status rc = cs_cli_profile_operand(l, spec, threshold, &h, 1, &c->profile, err);
    if (rc != CS_OK)
        return rc;
    c->spec = strdup(spec);
    c->tile_rows = h;
    (*ncache)++;
    *out = &c->profile;
    return CS_OK;
}

static void cs_write_compute_report(FILE *fp, const cs_array_config *cfg, const cs_topology *topo,
                                    const cs_layer_result *res)
{
    char a[64], b[64], c[64];
    if (cfg->version >= 3)
        fputs("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
              "Mapping Efficiency %, Compute Util %,\n",
              fp);
    else
        fputs("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n", fp);
    for (size_t i = 0; i < topo->count; i++) {
        const cs_compute_stats *d = &res[i].dense;
        cs_format_pyfloat(d->overall_util, a, sizeof a);
        cs_format_pyfloat(d->mapping_efficiency, b, sizeof b);
        cs_format_pyfloat(d->compute_util, c, sizeof c);
        fprintf(fp, "%zu, ", i);
        if (cfg->version >= 3)
            fprintf(fp, "%lld, ", (long long)d->cycles_incl_prefetch);
        fprintf(fp, "%llu, %llu, %s, %s, %s,\n", (unsigned long long)d->cycles, (unsigned long long)d->stall_cycles, a,
                b, c);
    }
}

int cs_cmd_compute(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"array", required_argument, NULL, 'A'},
        {"dataflow", required_argument, NULL, 'D'}, {"topology", required_argument, NULL, 't'},
        {"input-type", required_argument, NULL, 'i'}, {"path", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'F'},   {"activation", required_argument, NULL, 'a'},
        {"threshold", required_argument, NULL, 'T'}, {"skip-policy", required_argument, NULL, 'S'},
        {"ws-token-block", required_argument, NULL, 'B'}, {"repeat", required_argument, NULL, 'r'},
        {"json", required_argument, NULL, 'J'},     {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *cfg_path = NULL, *array = NULL, *df_name = "ws", *topo_path = NULL, *json_path = NULL,
               *outdir = NULL, *format = NULL;
    cs_topology_kind kind = CS_TOPOLOGY_CONV;
    double threshold = 0.01;
    uint64_t repeat = 1;
    bool quiet = false;
    cs_skip_options skip = {CS_SKIP_COMPACT, 0};
    cs_binding *bind = NULL;
    size_t nbind = 0;
    int status = CS_EXIT_USAGE;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:t:i:p:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cfg_path = optarg;
            break;
        case 'A':
            array = optarg;
            break;
        case 'D':
            df_name = optarg;
            break;
        case 't':
            topo_path = optarg;
            break;
        case 'i':
            if (strcmp(optarg, "conv") == 0)
                kind = CS_TOPOLOGY_CONV;
            else if (strcmp(optarg, "gemm") == 0)
                kind = CS_TOPOLOGY_GEMM;
            else {
                status = cs_cli_usage("compute", "--input-type: '%s' is not conv or gemm", optarg);
                goto out;
            }
            break;
        case 'p':
            outdir = optarg;
            break;
        case 'F':
            format = optarg;
            if (strcmp(format, "v2") && strcmp(format, "v3")) {
                status = cs_cli_usage("compute", "--format: '%s' is not v2 or v3", optarg);
                goto out;
            }
            break;
        case 'a': {
            cs_binding *nb = realloc(bind, (nbind + 1) * sizeof *nb);
            if (!nb)
                goto out;
            bind = nb;
            if (!cs_cli_split_binding(optarg, &bind[nbind].layer, &bind[nbind].spec)) {
                status = cs_cli_usage("compute", "--activation: '%s' is not LAYER=PATH[:TENSOR]", optarg);
                goto out;
            }
            nbind++;
            break;
        }
        case 'T':
            if (!cs_parse_double(optarg, &threshold) || !(threshold >= 0) || threshold > 1e300) {
                status = cs_cli_usage("compute", "--threshold: '%s' is not a finite non-negative number", optarg);
                goto out;
            }
            break;
        case 'S':
            if (strcmp(optarg, "compact") == 0)
                skip.policy = CS_SKIP_COMPACT;
            else if (strcmp(optarg, "fold") == 0)
                skip.policy = CS_SKIP_FOLD;
            else {
                status = cs_cli_usage("compute", "--skip-policy: '%s' is not compact or fold", optarg);
                goto out;
            }
            break;
        case 'B':
            if (!cs_parse_u64(optarg, &skip.ws_token_block) || skip.ws_token_block == 0) {
                status = cs_cli_usage("compute", "--ws-token-block: '%s' is not a positive integer", optarg);
                goto out;
            }
            break;
        case 'r':
            if (!cs_parse_u64(optarg, &repeat) || repeat == 0 || repeat > 1000000) {
                status = cs_cli_usage("compute", "--repeat: '%s' is not in 1..1000000", optarg);
                goto out;
            }
            break;
        case 'J':
            json_path = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(cs_compute_help, stdout);
            status = CS_EXIT_OK;
            goto out;
        default:
            status = cs_cli_bad_option("compute", ch, argv);
            goto out;
        }
    }
    if (optind < argc) {
        status = cs_cli_usage("compute", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!topo_path) {
        status = cs_cli_usage("compute", "no topology given (-t FILE.csv)");
        goto out;
    }
    if (!cfg_path == !array) {
        status = cs_cli_usage("compute", "give either -c FILE.cfg or --array RxC");
        goto out;
    }

    cs_error err;
    cs_error_clear(&err);
    cs_array_config cfg;
    cs_topology topo = {0};
    cs_layer_result *res = NULL;
    cs_act_cache *cache = NULL;
    size_t ncache = 0;
    cs_outfile json = {0}, report = {0};
    bool json_open = false, report_open = false;
    memset(&cfg, 0, sizeof cfg);
    if (cfg_path) {
        if (cs_array_config_load(cfg_path, &cfg, &err) != CS_OK)
            goto fail;
    } else {
        uint64_t r, c;
        if (cs_parse_array(array, &r, &c) != CS_OK) {
            status = cs_cli_usage("compute", "--array: '%s' is not RxC (e.g. 128x128)", array);
            goto out;
        }
        cs_dataflow df;
        if (!cs_dataflow_from_name(df_name, &df)) {
            status = cs_cli_usage("compute", "--dataflow: '%s' is not os, ws or is", df_name);
            goto out;
        }
        cs_array_config_init(&cfg, r, c, df);
        cfg.run_name = strdup("colscope");
    }
    if (format)
        cfg.version = format[1] - '0';
    if (cfg.user_bandwidth)
        fprintf(stderr, "colscope: note: %s uses InterfaceBandwidth USER; colscope reports the stall-free compute "
                        "cycles (SCALE-Sim's USER stalls are artefacts of its buffer model; see 'colscope simulate')\n",
                cfg_path);
    if (cs_topology_load(topo_path, kind, cfg.version, &topo, &err) != CS_OK)
        goto fail;
    res = calloc(topo.count, sizeof *res);
    if (!res) {
        cs_error_set(&err, CS_ERUNTIME, "out of memory");
        goto fail;
    }
    for (size_t b = 0; b < nbind; b++)
        if (!cs_topology_find(&topo, bind[b].layer)) {
            cs_error_set(&err, CS_EINPUT, "--activation %s=%s: %s has no layer named '%s'", bind[b].layer,
                         bind[b].spec, topo_path, bind[b].layer);
            goto fail;
        }
    for (size_t i = 0; i < topo.count; i++) {
        const cs_layer *l = &topo.layers[i];
        cs_layer_result *r = &res[i];
        if (cs_systolic_dense(&cfg, l, &r->dense, &err) != CS_OK)
            goto fail;
        const cs_binding *b = NULL;
        for (size_t j = 0; j < nbind; j++)
            if (strcmp(bind[j].layer, l->name) == 0)
                b = &bind[j];
        if (!b) {
            r->skip.dense_cycles = r->skip.cycles = r->dense.cycles;
            continue;
        }
        uint32_t h = (uint32_t)cs_skip_tile_rows(&cfg, l, &skip);
        cs_profile *p = NULL;
        if (cs_profile_activation(&cache, &ncache, b->spec, h, threshold, l, &p, &err) != CS_OK)
            goto fail;
        if (cs_systolic_skip(&cfg, l, &p->cells[0].mask, &skip, &r->skip, &err) != CS_OK)
            goto fail;
        r->bound = true;
        r->activation = b->spec;
        r->element_sparsity = p->cells[0].element_sparsity;
        r->column_sparsity = p->cells[0].column_sparsity;
    }

    if (outdir) {
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/%s", outdir, cfg.run_name);
        if (cs_mkdirs(dir, &err) != CS_OK)
            goto fail;
        snprintf(path, sizeof path, "%s/COMPUTE_REPORT.csv", dir);
        if (cs_outfile_open(&report, path, &err) != CS_OK)
            goto fail;
        report_open = true;
        cs_write_compute_report(report.fp, &cfg, &topo, res);
        report_open = false;
        if (cs_outfile_commit(&report, &err) != CS_OK)
            goto fail;
    }

    uint64_t sum_dense = 0, sum_cycles = 0;
    for (size_t i = 0; i < topo.count; i++) {
        sum_dense += res[i].skip.dense_cycles;
        sum_cycles += res[i].skip.cycles;
    }
    if (!quiet) {
        printf("%s: %llux%llu %s array, %zu layers, threshold %g\n", cfg.run_name, (unsigned long long)cfg.rows,
               (unsigned long long)cfg.cols, cs_dataflow_name(cfg.dataflow), topo.count, threshold);
        printf("  %-28s %8s %8s %8s %12s %12s %8s %8s %8s\n", "layer", "M", "N", "K", "dense cyc", "skip cyc",
               "reduct", "elem.sp", "col.sp");
        for (size_t i = 0; i < topo.count; i++) {
            const cs_layer *l = &topo.layers[i];
            const cs_layer_result *r = &res[i];
            printf("  %-28.28s %8llu %8llu %8llu %12llu %12llu", l->name, (unsigned long long)l->M,
                   (unsigned long long)l->N, (unsigned long long)l->K, (unsigned long long)r->skip.dense_cycles,
                   (unsigned long long)r->skip.cycles);
            if (r->bound)
                printf(" %7.2f%% %7.2f%% %7.2f%%\n", 100 * r->skip.cycle_reduction, 100 * r->element_sparsity,
                       100 * r->column_sparsity);
            else
                printf(" %8s %8s %8s\n", "-", "-", "-");
        }
        printf("  %-28s %8s %8s %8s %12llu %12llu %7.2f%%", "total", "", "", "",
               (unsigned long long)(sum_dense * repeat), (unsigned long long)(sum_cycles * repeat),
               sum_dense ? 100.0 * (1.0 - (double)sum_cycles / (double)sum_dense) : 0.0);
        printf(repeat > 1 ? "   (x%llu)\n" : "\n", (unsigned long long)repeat);
    }
    if (json_path) {
        if (cs_outfile_open(&json, json_path, &err) != CS_OK)
            goto fail;
        json_open = true;
        fprintf(json.fp, "{\"run_name\":");
        cJSON *s = cJSON_CreateString(cfg.run_name);
        cs_cli_write_json(json.fp, s);
        cJSON_Delete(s);
        fprintf(json.fp, ",\"array_rows\":%llu,\"array_cols\":%llu,\"dataflow\":\"%s\",\"threshold\":",
                (unsigned long long)cfg.rows, (unsigned long long)cfg.cols, cs_dataflow_name(cfg.dataflow));
        s = cs_json_number(threshold);
        cs_cli_write_json(json.fp, s);
        cJSON_Delete(s);
        fprintf(json.fp, ",\"skip_policy\":\"%s\",\"layers\":[", skip.policy == CS_SKIP_COMPACT ? "compact" : "fold");
        for (size_t i = 0; i < topo.count; i++) {
            const cs_layer *l = &topo.layers[i];
            const cs_layer_result *r = &res[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "layer", l->name);
            cJSON_AddStringToObject(o, "dataflow", cs_dataflow_name(cfg.dataflow));
            cs_json_add_uint(o, "M", l->M);
            cs_json_add_uint(o, "N", l->N);
            cs_json_add_uint(o, "K", l->K);
            cs_json_add_uint(o, "dense_cycles", r->skip.dense_cycles);
            cs_json_add_uint(o, "cycles", r->skip.cycles);
            cs_json_add_number(o, "cycle_reduction", r->bound ? r->skip.cycle_reduction : 0.0);
            if (r->bound) {
                cs_json_add_number(o, "element_sparsity", r->element_sparsity);
                cs_json_add_number(o, "column_sparsity", r->column_sparsity);
                cJSON_AddStringToObject(o, "activation", r->activation);
                cs_json_add_uint(o, "tile_rows", r->skip.tile_rows);
                cs_json_add_uint(o, "folds", r->skip.folds);
            } else {
                cJSON_AddNullToObject(o, "element_sparsity");
                cJSON_AddNullToObject(o, "column_sparsity");
                cJSON_AddNullToObject(o, "activation");
            }
            cs_json_add_uint(o, "dense_folds", r->dense.folds);
            cs_json_add_uint(o, "stall_cycles", r->dense.stall_cycles);
            cs_json_add_number(o, "overall_util", r->dense.overall_util);
            cs_json_add_number(o, "mapping_efficiency", r->dense.mapping_efficiency);
            cs_json_add_number(o, "compute_util", r->dense.compute_util);
            if (cfg.version >= 3)
                cs_json_add_number(o, "cycles_incl_prefetch", (double)r->dense.cycles_incl_prefetch);
            if (i)
                fputc(',', json.fp);
            cs_cli_write_json(json.fp, o);
            cJSON_Delete(o);
        }
        cJSON *t = cJSON_CreateObject();
        cs_json_add_uint(t, "layers", topo.count);
        cs_json_add_uint(t, "repeat", repeat);
        cs_json_add_uint(t, "dense_cycles", sum_dense * repeat);
        cs_json_add_uint(t, "cycles", sum_cycles * repeat);
        cs_json_add_number(t, "cycle_reduction", sum_dense ? 1.0 - (double)sum_cycles / (double)sum_dense : 0.0);
        fputs("],\"total\":", json.fp);
        cs_cli_write_json(json.fp, t);
        cJSON_Delete(t);
        fputs("}\n", json.fp);
        json_open = false;
        if (cs_outfile_commit(&json, &err) != CS_OK)
            goto fail;
    }
    status = CS_EXIT_OK;
    goto cleanup;
fail:
    if (json_open)
        cs_outfile_abort(&json);
    if (report_open)
        cs_outfile_abort(&report);
    status = cs_cli_fail(&err);
cleanup:
    for (size_t i = 0; i < ncache; i++) {
        free(cache[i].spec);
        cs_profile_free(&cache[i].profile);
    }
    free(cache);
    free(res);
    cs_topology_free(&topo);
    cs_array_config_free(&cfg);
out:
    for (size_t i = 0; i < nbind; i++) {
        free(bind[i].layer);
        free(bind[i].spec);
    }
    free(bind);
    return status;
}
