/* colscope profile: element- vs column-level sparsity of captured activations. */
#include "cli.h"
#include "colscope/json.h"
#include "colscope/profile.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char cs_profile_help[] =
    "usage: colscope profile [options] INPUT...\n"
    "\n"
    "Element- vs column-level sparsity of activation tensors. Rows are all leading\n"
    "axes flattened (what a GEMM sees), features the last axis. An element is zero\n"
    "when |x| < threshold; a column (one feature over a tile of rows) is zero when\n"
    "all its elements are. One pass over the data computes every threshold and tile\n"
    "height.\n"
    "\n"
    "INPUT is FILE.npy, FILE.safetensors (all tensors), FILE.safetensors:NAME[,NAME],\n"
    "a manifest .json (docs/FORMATS.md) or a directory (its manifest.json, else its\n"
    ".npy and .safetensors files).\n"
    "\n"
    "options:\n"
    "  -t, --thresholds LIST   |x| < t counts as zero (default 0.001,0.005,0.01,0.05,0.1)\n"
    "  -r, --tile-rows LIST    tile heights in rows (default 16,32,64,128,256)\n"
    "      --feature-axis N    axis holding the features (default -1, the last)\n"
    "      --u2-bf16           read numpy '<u2' arrays as bfloat16 bit patterns\n"
    "      --json FILE         write {\"records\": [...], \"summary\": [...]} to FILE\n"
    "      --csv FILE          write one row per (tensor, threshold, tile height)\n"
    "      --channels          add per-channel zero rates to the JSON output\n"
    "  -j, --threads N         worker threads (default: one per CPU)\n"
    "  -q, --quiet             no table on stdout\n"
    "      --[no-]progress     progress on stderr (default: when stderr is a terminal)\n"
    "  -h, --help              this text\n"
    "\n"
    "Definitions, predictions and the taxonomy: docs/MODEL.md. Exit status 2 on bad\n"
    "input (the message names the file and the problem), 1 on runtime errors.\n";

static const char cs_csv_header[] =
    "file,tensor,layer,step,cfg,shape,dtype,rows,features,threshold,tile_rows,elements,zero_elements,"
    "element_sparsity,columns,zero_columns,column_sparsity,gap_pp,pred_independent,pred_channel,"
    "dead_channel_share,gini_nonzero,taxonomy\n";

typedef struct cs_profile_opts {
    double *thresholds;
    size_t nthresholds;
    uint32_t *tile_rows;
    size_t ntile_rows;
    int feature_axis;
    int threads;
    bool quiet, channels;
    int progress;
    const char *json_path, *csv_path;
    cs_open_options open;
} cs_profile_opts;

/* Totals over all tensors, per (threshold, tile height). */
typedef struct cs_profile_total {
    uint64_t elements, zero_elements, columns, zero_columns;
} cs_profile_total;

static void cs_csv_field(FILE *fp, const char *s)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\n")) {
        fputc('"', fp);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', fp);
            fputc(*s, fp);
        }
        fputc('"', fp);
    } else
        fputs(s, fp);
}

static void cs_shape_x(const cs_tensor *t, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%llu", i ? "x" : "", (unsigned long long)t->shape[i]);
}

static cJSON *cs_record_json(const cs_tensor *t, const cs_profile *p, size_t ti, size_t hi)
{
    const cs_profile_cell *c = cs_profile_at(p, ti, hi);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "file", t->file);
    cJSON_AddStringToObject(r, "tensor", t->name);
    if (t->meta.model)
        cJSON_AddStringToObject(r, "model", t->meta.model);
    if (t->meta.layer)
        cJSON_AddStringToObject(r, "layer", t->meta.layer);
    if (t->meta.block_kind)
        cJSON_AddStringToObject(r, "block_kind", t->meta.block_kind);
    if (t->meta.step >= 0)
        cs_json_add_uint(r, "step", (uint64_t)t->meta.step);
    if (t->meta.cfg)
        cJSON_AddStringToObject(r, "cfg", t->meta.cfg);
    cJSON *shape = cJSON_AddArrayToObject(r, "shape");
    for (int i = 0; i < t->ndim; i++)
        cJSON_AddItemToArray(shape, cs_json_uint(t->shape[i]));
    cJSON_AddStringToObject(r, "dtype", cs_dtype_name(t->dtype));
    cs_json_add_uint(r, "rows", (uint64_t)p->rows);
    cs_json_add_uint(r, "features", (uint64_t)p->features);
    cs_json_add_number(r, "threshold", c->threshold);
    cs_json_add_uint(r, "tile_rows", c->tile_rows);
    cs_json_add_uint(r, "elements", (uint64_t)c->elements);
    cs_json_add_uint(r, "zero_elements", (uint64_t)c->zero_elements);
    cs_json_add_number(r, "element_sparsity", c->element_sparsity);
    cs_json_add_uint(r, "columns", (uint64_t)c->columns);
    cs_json_add_uint(r, "zero_columns", (uint64_t)c->zero_columns);
    cs_json_add_number(r, "column_sparsity", c->column_sparsity);
    cs_json_add_number(r, "gap_pp", c->gap_pp);
    cs_json_add_number(r, "pred_independent", c->pred_independent);
    cs_json_add_number(r, "pred_channel", c->pred_channel);
    cs_json_add_number(r, "dead_channel_share", c->dead_channel_share);
    cs_json_add_number(r, "gini_nonzero", p->gini_nonzero[ti]);
    cJSON_AddStringToObject(r, "taxonomy", cs_taxonomy_name(c->taxonomy));
    cJSON_AddItemToObject(r, "nnz_rows_hist", cs_json_uint_array(c->nnz_rows_hist, (size_t)c->tile_rows + 1));
    return r;
}

static void cs_write_csv_rows(FILE *fp, const cs_tensor *t, const cs_profile *p)
{
    char shape[256], step[32];
    cs_shape_x(t, shape, sizeof shape);
    if (t->meta.step >= 0)
        snprintf(step, sizeof step, "%lld", (long long)t->meta.step);
    else
        step[0] = '\0';
    for (size_t ti = 0; ti < p->nthresholds; ti++)
        for (size_t hi = 0; hi < p->ntile_rows; hi++) {
            const cs_profile_cell *c = cs_profile_at(p, ti, hi);
            cs_csv_field(fp, t->file);
            fputc(',', fp);
            cs_csv_field(fp, t->name);
            fputc(',', fp);
            cs_csv_field(fp, t->meta.layer);
            fprintf(fp, ",%s,", step);
            cs_csv_field(fp, t->meta.cfg);
            fprintf(fp, ",%s,%s,%llu,%llu,%.17g,%u,%llu,%llu,%.17g,%llu,%llu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n",
                    shape, cs_dtype_name(t->dtype), (unsigned long long)p->rows, (unsigned long long)p->features,
                    c->threshold, c->tile_rows, (unsigned long long)c->elements,
                    (unsigned long long)c->zero_elements, c->element_sparsity, (unsigned long long)c->columns,
                    (unsigned long long)c->zero_columns, c->column_sparsity, c->gap_pp, c->pred_independent,
                    c->pred_channel, c->dead_channel_share, p->gini_nonzero[ti], cs_taxonomy_name(c->taxonomy));
        }
}

static void cs_print_table(const cs_tensor *t, const cs_profile *p)
{
    char shape[256];
    cs_tensor_shape_str(t, shape, sizeof shape);
    printf("%s%s%s  %s %s  rows %llu  features %llu", t->file, t->name[0] ? ":" : "", t->name, shape,
           cs_dtype_name(t->dtype), (unsigned long long)p->rows, (unsigned long long)p->features);
    if (t->meta.layer)
        printf("  layer %s", t->meta.layer);
    if (t->meta.step >= 0)
        printf("  step %lld", (long long)t->meta.step);
    if (t->meta.cfg)
        printf("  cfg %s", t->meta.cfg);
    printf("\n  %9s %6s %8s %8s %8s %9s %9s %7s %6s  %s\n", "threshold", "tile", "element", "column", "gap",
           "pred.iid", "pred.chan", "dead.ch", "gini", "taxonomy");
    for (size_t ti = 0; ti < p->nthresholds; ti++)
        for (size_t hi = 0; hi < p->ntile_rows; hi++) {
            const cs_profile_cell *c = cs_profile_at(p, ti, hi);
            printf("  %9g %6u %7.2f%% %7.2f%% %6.1fpp %8.2f%% %8.2f%% %6.1f%% %6.3f  %s\n", c->threshold,
                   c->tile_rows, 100 * c->element_sparsity, 100 * c->column_sparsity, c->gap_pp,
                   100 * c->pred_independent, 100 * c->pred_channel, 100 * c->dead_channel_share,
                   p->gini_nonzero[ti], cs_taxonomy_name(c->taxonomy));
        }
}

static int cs_profile_parse(int argc, char **argv, cs_profile_opts *o, int *first_input)
{
    static const struct option longopts[] = {
        {"thresholds", required_argument, NULL, 't'},
        {"tile-rows", required_argument, NULL, 'r'},
        {"feature-axis", required_argument, NULL, 'A'},
        {"u2-bf16", no_argument, NULL, 'B'},
        {"json", required_argument, NULL, 'J'},
        {"csv", required_argument, NULL, 'C'},
        {"channels", no_argument, NULL, 'H'},
        {"threads", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, 'P'},
        {"no-progress", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cs_error err;
    const char *thr = "0.001,0.005,0.01,0.05,0.1", *tiles = "16,32,64,128,256";
    o->feature_axis = -1;
    o->progress = -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":t:r:j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            thr = optarg;
            break;
        case 'r':
            tiles = optarg;
            break;
        case 'A': {
            int64_t v;
            if (!cs_parse_i64(optarg, &v) || v < -CS_TENSOR_MAX_DIMS || v >= CS_TENSOR_MAX_DIMS)
                return cs_cli_usage("profile", "--feature-axis: '%s' is not an axis index", optarg);
            o->feature_axis = (int)v;
            break;
        }
        case 'B':
            o->open.u2_as_bf16 = true;
            break;
        case 'J':
            o->json_path = optarg;
            break;
        case 'C':
            o->csv_path = optarg;
            break;
        case 'H':
            o->channels = true;
            break;
        case 'j': {
            uint64_t v;
            if (!cs_parse_u64(optarg, &v) || v > 1024)
                return cs_cli_usage("profile", "--threads: '%s' is not a number in 0..1024", optarg);
            o->threads = (int)v;
            break;
        }
        case 'q':
            o->quiet = true;
            break;
        case 'P':
            o->progress = 1;
            break;
        case 'N':
            o->progress = 0;
            break;
        case 'h':
            fputs(cs_profile_help, stdout);
            return -1;
        default:
            return cs_cli_bad_option("profile", c, argv);
        }
    }
    o->thresholds = cs_parse_double_list(thr, &o->nthresholds, "--thresholds", &err);
    if (!o->thresholds)
        return cs_cli_usage("profile", "%s", err.msg);
    uint64_t *h = cs_parse_u64_list(tiles, &o->ntile_rows, "--tile-rows", &err);
    if (!h)
        return cs_cli_usage("profile", "%s", err.msg);
    o->tile_rows = malloc(o->ntile_rows * sizeof *o->tile_rows);
    if (!o->tile_rows) {
        free(h);
        return cs_cli_usage("profile", "out of memory");
    }
    for (size_t i = 0; i < o->ntile_rows; i++) {
        if (h[i] < 1 || h[i] > (1u << 24)) {
            unsigned long long bad = (unsigned long long)h[i];
            free(h);
            return cs_cli_usage("profile", "--tile-rows: %llu is outside 1..16777216", bad);
        }
        o->tile_rows[i] = (uint32_t)h[i];
    }
    free(h);
    cs_profile_config check = {o->thresholds, o->nthresholds, o->tile_rows, o->ntile_rows, -1, 0, false};
    if (cs_profile_config_check(&check, &err) != CS_OK)
        return cs_cli_usage("profile", "%s", err.msg);
    if (optind >= argc)
        return cs_cli_usage("profile", "no input given");
    *first_input = optind;
    return 0;
}

int cs_cmd_profile(int argc, char **argv)
{
    cs_profile_opts o;
    memset(&o, 0, sizeof o);
    int first = 0;
    int rc = cs_profile_parse(argc, argv, &o, &first);
    if (rc != 0) {
        free(o.thresholds);
        free(o.tile_rows);
        return rc < 0 ? CS_EXIT_OK : rc;
    }

    cs_error err;
    cs_error_clear(&err);
    cs_tensor_list list = {0};
    cs_outfile json = {0}, csv = {0};
    cs_profile_total *totals = calloc(o.nthresholds * o.ntile_rows, sizeof *totals);
    bool json_open = false, csv_open = false, first_record = true;
    cs_progress prog;
    cs_progress_init(&prog, o.progress);
    if (!totals) {
        cs_error_set(&err, CS_ERUNTIME, "out of memory");
        goto fail;
    }
    /* Read every header first: a bad input fails before any work. */
    for (int i = first; i < argc; i++)
        if (cs_tensor_list_add_input(&list, argv[i], &o.open, &err) != CS_OK)
            goto fail;
    if (o.json_path) {
        if (cs_outfile_open(&json, o.json_path, &err) != CS_OK)
            goto fail;
        json_open = true;
        fputs("{\"records\":[", json.fp);
    }
    if (o.csv_path) {
        if (cs_outfile_open(&csv, o.csv_path, &err) != CS_OK)
            goto fail;
        csv_open = true;
        fputs(cs_csv_header, csv.fp);
    }
    cJSON *tensors_json = o.channels ? cJSON_CreateArray() : NULL;
    cs_profile_config cfg = {o.thresholds, o.nthresholds, o.tile_rows, o.ntile_rows, o.feature_axis, o.threads, false};
    for (size_t i = 0; i < list.count; i++) {
        const cs_tensor *t = &list.items[i];
        cs_progress_update(&prog, "profiling %zu/%zu %s%s%s", i + 1, list.count, t->file, t->name[0] ? ":" : "",
                           t->name);
        cs_profile p;
        if (cs_profile_tensor(t, &cfg, &p, &err) != CS_OK) {
            cJSON_Delete(tensors_json);
            goto fail;
        }
        cs_progress_done(&prog);
        if (!o.quiet)
            cs_print_table(t, &p);
        for (size_t ti = 0; ti < o.nthresholds; ti++)
            for (size_t hi = 0; hi < o.ntile_rows; hi++) {
                const cs_profile_cell *c = cs_profile_at(&p, ti, hi);
                cs_profile_total *tot = &totals[ti * o.ntile_rows + hi];
                tot->elements += c->elements;
                tot->zero_elements += c->zero_elements;
                tot->columns += c->columns;
                tot->zero_columns += c->zero_columns;
                if (json_open) {
                    cJSON *r = cs_record_json(t, &p, ti, hi);
                    if (!first_record)
                        fputc(',', json.fp);
                    first_record = false;
                    cs_cli_write_json(json.fp, r);
                    cJSON_Delete(r);
                }
            }
        if (csv_open)
            cs_write_csv_rows(csv.fp, t, &p);
        if (tensors_json) {
            cJSON *tj = cJSON_CreateObject();
            cJSON_AddStringToObject(tj, "file", t->file);
            cJSON_AddStringToObject(tj, "tensor", t->name);
            cJSON *rates = cJSON_AddArrayToObject(tj, "channel_zero_rate");
            for (size_t ti = 0; ti < o.nthresholds; ti++) {
                cJSON *row = cs_json_number_array(p.channel_zero_rate + ti * p.features, p.features);
                cJSON_AddItemToArray(rates, row);
            }
            cJSON_AddItemToArray(tensors_json, tj);
        }
        cs_profile_free(&p);
    }
    if (!o.quiet && list.count > 1) {
        printf("all %zu tensors\n  %9s %6s %8s %8s %8s\n", list.count, "threshold", "tile", "element", "column",
               "gap");
        for (size_t ti = 0; ti < o.nthresholds; ti++)
            for (size_t hi = 0; hi < o.ntile_rows; hi++) {
                const cs_profile_total *tot = &totals[ti * o.ntile_rows + hi];
                double es = (double)tot->zero_elements / (double)tot->elements;
                double cs = (double)tot->zero_columns / (double)tot->columns;
                printf("  %9g %6u %7.2f%% %7.2f%% %6.1fpp\n", o.thresholds[ti], o.tile_rows[hi], 100 * es, 100 * cs,
                       100 * (es - cs));
            }
    }
    if (json_open) {
        fputs("],\"summary\":[", json.fp);
        for (size_t ti = 0; ti < o.nthresholds; ti++)
            for (size_t hi = 0; hi < o.ntile_rows; hi++) {
                const cs_profile_total *tot = &totals[ti * o.ntile_rows + hi];
                cJSON *r = cJSON_CreateObject();
                cs_json_add_uint(r, "tensors", (uint64_t)list.count);
                cs_json_add_number(r, "threshold", o.thresholds[ti]);
                cs_json_add_uint(r, "tile_rows", o.tile_rows[hi]);
                cs_json_add_uint(r, "elements", (uint64_t)tot->elements);
                cs_json_add_uint(r, "zero_elements", (uint64_t)tot->zero_elements);
                cs_json_add_number(r, "element_sparsity", (double)tot->zero_elements / (double)tot->elements);
                cs_json_add_uint(r, "columns", (uint64_t)tot->columns);
                cs_json_add_uint(r, "zero_columns", (uint64_t)tot->zero_columns);
                cs_json_add_number(r, "column_sparsity", (double)tot->zero_columns / (double)tot->columns);
                if (ti || hi)
                    fputc(',', json.fp);
                cs_cli_write_json(json.fp, r);
                cJSON_Delete(r);
            }
        fputc(']', json.fp);
        if (tensors_json) {
            fputs(",\"tensors\":", json.fp);
            cs_cli_write_json(json.fp, tensors_json);
        }
        fputs("}\n", json.fp);
    }
    cJSON_Delete(tensors_json);
    if (json_open) {
        json_open = false;
        if (cs_outfile_commit(&json, &err) != CS_OK)
            goto fail;
    }
    if (csv_open) {
        csv_open = false;
        if (cs_outfile_commit(&csv, &err) != CS_OK)
            goto fail;
    }
    if (fflush(stdout) != 0) {
        cs_error_set(&err, CS_ERUNTIME, "-: write to stdout failed");
        goto fail;
    }
    cs_tensor_list_free(&list);
    free(totals);
    free(o.thresholds);
    free(o.tile_rows);
    return CS_EXIT_OK;

fail:
    cs_progress_done(&prog);
    if (json_open)
        cs_outfile_abort(&json);
    if (csv_open)
        cs_outfile_abort(&csv);
    cs_tensor_list_free(&list);
    free(totals);
    free(o.thresholds);
    free(o.tile_rows);
    return cs_cli_fail(&err);
}
