/* colscope dram: plays a memory trace through the GDDR6 model. */
#include "cli.h"
#include "colscope/dram.h"
#include "colscope/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char cs_dram_help[] =
    "usage: colscope dram [options] --trace FILE\n"
    "\n"
    "Cycle-level GDDR6 DRAM model: Ramulator 2.1's GDDR6 device, GenericDDR controller\n"
    "and FRFCFS scheduler, reproduced cycle for cycle. Plays a memory trace and reports\n"
    "cycles, bandwidth, read latency and row-buffer behaviour, when the last request is\n"
    "accepted (as Ramulator reports) and when all have completed.\n"
    "\n"
    "options:\n"
    "  -t, --trace FILE          the trace: Ramulator LoadStore ('LD|ST ADDRESS', sent as\n"
    "                            fast as accepted) or DRAMsim3 ('ADDRESS READ|WRITE CYCLE')\n"
    "      --format F            auto (default: from the first line), loadstore, dramsim3\n"
    "  -p, --preset NAME         gddr6-14 (default), gddr6-14-1250mv, gddr6-16, gddr6-16-1250mv\n"
    "  -c, --config FILE.ini     overrides of the preset: [organization], [timing],\n"
    "                            [controller] (docs/FORMATS.md)\n"
    "      --channels N          channels, a power of two (32-B blocks interleave over them)\n"
    "      --mapping ORDER       address bit order MSB..LSB: RoBaRaCoCh (default), RoCoBaRaCh, ...\n"
    "      --refresh MODE        all-bank (default), per-bank, none\n"
    "      --wrap-addresses      ignore address bits above the capacity, as Ramulator does\n"
    "                            (default: such an address is an error)\n"
    "      --json FILE           write the results as JSON (docs/FORMATS.md)\n"
    "      --command-trace FILE  write every issued command as CSV\n"
    "      --print-config        print the effective configuration as INI and exit\n"
    "  -q, --quiet               no table on stdout\n"
    "  -h, --help                this text\n"
    "\n"
    "The model and its validation: docs/MODEL.md, section 3. Exit status 2 on bad input\n"
    "(the message names the file and line), 1 on runtime errors.\n";

typedef struct cs_dram_opts {
    const char *trace, *preset, *config, *json, *command_trace, *mapping;
    cs_dram_trace_format format;
    uint64_t channels;
    int refresh; /* -1: from the configuration */
    bool wrap, quiet, print_config;
} cs_dram_opts;

static int cs_dram_parse(int argc, char **argv, cs_dram_opts *o)
{
    static const struct option longopts[] = {
        {"trace", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'F'},
        {"preset", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},
        {"channels", required_argument, NULL, 'C'},
        {"mapping", required_argument, NULL, 'M'},
        {"refresh", required_argument, NULL, 'R'},
        {"wrap-addresses", no_argument, NULL, 'W'},
        {"json", required_argument, NULL, 'J'},
        {"command-trace", required_argument, NULL, 'T'},
        {"print-config", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const refresh_modes[] = {"all-bank", "per-bank", "none"};
    o->preset = "gddr6-14";
    o->refresh = -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":t:p:c:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            o->trace = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "auto") == 0)
                o->format = CS_DRAM_TRACE_AUTO;
            else if (strcmp(optarg, "loadstore") == 0)
                o->format = CS_DRAM_TRACE_LOADSTORE;
            else if (strcmp(optarg, "dramsim3") == 0)
                o->format = CS_DRAM_TRACE_DRAMSIM3;
            else
                return cs_cli_usage("dram", "--format: '%s' is not auto, loadstore or dramsim3", optarg);
            break;
        case 'p':
            o->preset = optarg;
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'C':
            if (!cs_parse_u64(optarg, &o->channels) || o->channels < 1 || o->channels > CS_DRAM_MAX_CHANNELS)
                return cs_cli_usage("dram", "--channels: '%s' is not a number in 1..%d", optarg,
                                    CS_DRAM_MAX_CHANNELS);
            break;
        case 'M':
            o->mapping = optarg;
            break;
        case 'R':
            o->refresh = -2;
            for (int i = 0; i < 3; i++)
                if (strcmp(optarg, refresh_modes[i]) == 0)
                    o->refresh = i;
            if (o->refresh == -2)
                return cs_cli_usage("dram", "--refresh: '%s' is not all-bank, per-bank or none", optarg);
            break;
        case 'W':
            o->wrap = true;
            break;
        case 'J':
            o->json = optarg;
            break;
        case 'T':
            o->command_trace = optarg;
            break;
        case 'P':
            o->print_config = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            fputs(cs_dram_help, stdout);
            return -1;
        default:
            return cs_cli_bad_option("dram", c, argv);
        }
    }
    if (optind < argc)
        return cs_cli_usage("dram", "unexpected argument '%s'", argv[optind]);
    if (!o->trace && !o->print_config)
        return cs_cli_usage("dram", "no --trace given");
    return 0;
}

/* Preset, then the INI file, then the command-line overrides. */
static cs_status cs_dram_build_config(const cs_dram_opts *o, cs_dram_config *cfg, cs_error *err)
{
    cs_status st = cs_dram_config_preset(cfg, o->preset, err);
    if (st == CS_OK && o->config)
        st = cs_dram_config_load_ini(cfg, o->config, err);
    if (st != CS_OK)
        return st;
    if (o->channels)
        cfg->channels = (uint32_t)o->channels;
    if (o->mapping)
        snprintf(cfg->mapping, sizeof cfg->mapping, "%.15s", o->mapping);
    if (o->refresh >= 0)
        cfg->refresh = (cs_dram_refresh)o->refresh;
    return cs_dram_config_check(cfg, err);
}

static void cs_dram_command_csv(void *user, uint64_t cycle, uint32_t channel, cs_dram_cmd cmd, int bank_group,
                                int bank, int64_t row, int column)
{
    fprintf(user, "%llu,%s,%u,%d,%d,%lld,%d\n", (unsigned long long)cycle, cs_dram_cmd_name(cmd), channel,
            bank_group, bank, (long long)row, column);
}

static double cs_gbps(uint64_t requests, uint64_t cycles, double tck_ns)
{
    return cycles ? (double)requests * CS_DRAM_TX_BYTES / ((double)cycles * tck_ns) : 0;
}

static double cs_ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

static cJSON *cs_stats_json(const cs_dram_stats *s, double tck_ns)
{
    cJSON *o = cJSON_CreateObject();
    uint64_t classified = s->row_hits + s->row_misses + s->row_conflicts;
    cs_json_add_uint(o, "cycles", s->cycles);
    cs_json_add_uint(o, "reads", s->reads);
    cs_json_add_uint(o, "writes", s->writes);
    cs_json_add_uint(o, "reads_forwarded", s->reads_forwarded);
    cs_json_add_uint(o, "writes_coalesced", s->writes_coalesced);
    cs_json_add_uint(o, "reads_served", s->reads_served);
    cs_json_add_uint(o, "writes_served", s->writes_served);
    cs_json_add_uint(o, "reads_done", s->reads_done);
    cs_json_add_uint(o, "writes_done", s->writes_done);
    cs_json_add_number(o, "bandwidth_gbps", cs_gbps(s->reads + s->writes, s->cycles, tck_ns));
    cs_json_add_number(o, "served_bandwidth_gbps", cs_gbps(s->reads_served + s->writes_served, s->cycles, tck_ns));
    cs_json_add_uint(o, "read_latency_sum", s->read_latency_sum);
    cs_json_add_number(o, "avg_read_latency_cycles", cs_ratio(s->read_latency_sum, s->reads_served));
    cs_json_add_number(o, "mean_read_latency_cycles", cs_ratio(s->read_latency_sum, s->reads_done));
    cs_json_add_uint(o, "max_read_latency_cycles", s->read_latency_max);
    cs_json_add_number(o, "row_hit_rate", cs_ratio(s->row_hits, classified));
    cs_json_add_uint(o, "row_hits", s->row_hits);
    cs_json_add_uint(o, "row_misses", s->row_misses);
    cs_json_add_uint(o, "row_conflicts", s->row_conflicts);
    cs_json_add_uint(o, "read_row_hits", s->read_row_hits);
    cs_json_add_uint(o, "read_row_misses", s->read_row_misses);
    cs_json_add_uint(o, "read_row_conflicts", s->read_row_conflicts);
    cs_json_add_uint(o, "write_row_hits", s->write_row_hits);
    cs_json_add_uint(o, "write_row_misses", s->write_row_misses);
    cs_json_add_uint(o, "write_row_conflicts", s->write_row_conflicts);
    cs_json_add_uint(o, "refreshes", s->commands[CS_DRAM_REFAB] + s->commands[CS_DRAM_REFPB]);
    cs_json_add_uint(o, "refreshes_requested", s->refreshes_requested);
    cJSON *cmds = cJSON_AddObjectToObject(o, "commands");
    for (int c = 0; c < CS_DRAM_NCMDS; c++)
        cs_json_add_uint(cmds, cs_dram_cmd_name((cs_dram_cmd)c), s->commands[c]);
    cs_json_add_uint(o, "read_queue_sum", s->read_queue_sum);
    cs_json_add_uint(o, "write_queue_sum", s->write_queue_sum);
    cs_json_add_uint(o, "priority_queue_sum", s->priority_queue_sum);
    return o;
}

static cJSON *cs_result_json(const cs_dram_opts *o, const cs_dram_config *cfg, const cs_dram_trace *tr,
                             const cs_dram_trace_result *r, const cs_dram *d)
{
    double tck = cs_dram_tck_ns(cfg);
    const cs_dram_stats *a = &r->at_last_accept, *z = &r->all_done;
    uint64_t requests = a->reads + a->writes;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "trace", o->trace);
    cJSON_AddStringToObject(j, "format", tr->format == CS_DRAM_TRACE_LOADSTORE ? "loadstore" : "dramsim3");
    cJSON_AddStringToObject(j, "preset", cfg->preset);
    cs_json_add_uint(j, "channels", cfg->channels);
    cJSON_AddStringToObject(j, "mapping", cfg->mapping);
    cs_json_add_number(j, "tck_ns", tck);
    cs_json_add_number(j, "peak_bandwidth_gbps", cfg->channels * cs_dram_peak_gbps_per_channel(cfg));
    cs_json_add_uint(j, "cycles", a->cycles);
    cs_json_add_uint(j, "cycles_all_done", r->cycles_all_done);
    cs_json_add_uint(j, "requests", requests);
    cs_json_add_uint(j, "reads", a->reads);
    cs_json_add_uint(j, "writes", a->writes);
    cs_json_add_uint(j, "bytes", requests * CS_DRAM_TX_BYTES);
    cs_json_add_number(j, "bandwidth_gbps", cs_gbps(requests, a->cycles, tck));
    cs_json_add_number(j, "bandwidth_all_done_gbps", cs_gbps(requests, r->cycles_all_done, tck));
    uint64_t classified = a->row_hits + a->row_misses + a->row_conflicts;
    cs_json_add_number(j, "row_hit_rate", cs_ratio(a->row_hits, classified));
    cs_json_add_number(j, "avg_read_latency_cycles", cs_ratio(a->read_latency_sum, a->reads_served));
    cs_json_add_number(j, "mean_read_latency_all_cycles", cs_ratio(z->read_latency_sum, z->reads_done));
    cs_json_add_uint(j, "p50_read_latency_cycles", r->read_latency_p50);
    cs_json_add_uint(j, "p99_read_latency_cycles", r->read_latency_p99);
    cs_json_add_uint(j, "refreshes", a->commands[CS_DRAM_REFAB] + a->commands[CS_DRAM_REFPB]);
    cJSON_AddItemToObject(j, "at_last_accept", cs_stats_json(a, tck));
    cJSON_AddItemToObject(j, "all_done", cs_stats_json(z, tck));
    cJSON *act = cJSON_AddArrayToObject(j, "activations_per_bank");
    uint32_t banks = cfg->bank_groups * cfg->banks_per_group;
    for (uint32_t c = 0; c < cfg->channels; c++) {
        cJSON *row = cJSON_CreateArray();
        for (uint32_t b = 0; b < banks; b++)
            cJSON_AddItemToArray(row, cs_json_number((double)cs_dram_bank_activations(d, c, b)));
        cJSON_AddItemToArray(act, row);
    }
    cs_json_add_number(j, "sim_seconds", r->wall_seconds);
    return j;
}

static void cs_print_table(const cs_dram_opts *o, const cs_dram_config *cfg, const cs_dram_trace *tr,
                           const cs_dram_trace_result *r, const cs_dram *d)
{
    double tck = cs_dram_tck_ns(cfg);
    const cs_dram_stats *a = &r->at_last_accept, *z = &r->all_done;
    uint64_t requests = a->reads + a->writes, classified = a->row_hits + a->row_misses + a->row_conflicts;
    printf("%s: %zu requests (%llu reads, %llu writes), %s format\n", o->trace, tr->count,
           (unsigned long long)a->reads, (unsigned long long)a->writes,
           tr->format == CS_DRAM_TRACE_LOADSTORE ? "LoadStore" : "DRAMsim3");
    printf("  DRAM       %s, %u channel%s, %s, tCK %.3f ns, peak %.2f GB/s\n", cfg->preset, cfg->channels,
           cfg->channels > 1 ? "s" : "", cfg->mapping, tck, cfg->channels * cs_dram_peak_gbps_per_channel(cfg));
    printf("  %-34s %14s %14s\n", "", "last accepted", "all done");
    printf("  %-34s %14llu %14llu\n", "cycles", (unsigned long long)a->cycles,
           (unsigned long long)r->cycles_all_done);
    printf("  %-34s %14.3f %14.3f\n", "time (us)", (double)a->cycles * tck / 1000,
           (double)r->cycles_all_done * tck / 1000);
    printf("  %-34s %14.3f %14.3f\n", "bandwidth (GB/s, accepted bytes)", cs_gbps(requests, a->cycles, tck),
           cs_gbps(requests, r->cycles_all_done, tck));
    printf("  %-34s %14llu %14llu\n", "reads / writes served", (unsigned long long)(a->reads_served + a->writes_served),
           (unsigned long long)(z->reads_served + z->writes_served));
    printf("  %-34s %14.3f %14.3f\n", "avg read latency (cycles)", cs_ratio(a->read_latency_sum, a->reads_served),
           cs_ratio(z->read_latency_sum, z->reads_done));
    printf("  read latency, all reads (cycles)   p50 %llu, p99 %llu, max %llu\n",
           (unsigned long long)r->read_latency_p50, (unsigned long long)r->read_latency_p99,
           (unsigned long long)z->read_latency_max);
    printf("  row hits / misses / conflicts      %llu / %llu / %llu (hit rate %.2f%%)\n",
           (unsigned long long)a->row_hits, (unsigned long long)a->row_misses, (unsigned long long)a->row_conflicts,
           100 * cs_ratio(a->row_hits, classified));
    printf("  commands (all done)               ");
    for (int c = 0; c < CS_DRAM_NCMDS; c++)
        if (z->commands[c])
            printf(" %s %llu", cs_dram_cmd_name((cs_dram_cmd)c), (unsigned long long)z->commands[c]);
    printf("\n  forwarded reads / coalesced writes %llu / %llu\n", (unsigned long long)z->reads_forwarded,
           (unsigned long long)z->writes_coalesced);
    uint32_t banks = cfg->bank_groups * cfg->banks_per_group;
    for (uint32_t c = 0; c < cfg->channels && c < 4; c++) {
        printf("  activations per bank, channel %-4u", c);
        for (uint32_t b = 0; b < banks; b++)
            printf(" %llu", (unsigned long long)cs_dram_bank_activations(d, c, b));
        printf("\n");
    }
    if (cfg->channels > 4)
        printf("  (activations of all %u channels: --json)\n", cfg->channels);
    printf("  simulated in %.3f s (%.2f M requests/s)\n", r->wall_seconds,
           r->wall_seconds > 0 ? (double)requests / r->wall_seconds / 1e6 : 0);
}

int cs_cmd_dram(int argc, char **argv)
{
    cs_dram_opts o;
    memset(&o, 0, sizeof o);
    int rc = cs_dram_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CS_EXIT_OK : rc;
    cs_error err;
    cs_error_clear(&err);
    cs_dram_config cfg;
    if (cs_dram_build_config(&o, &cfg, &err) != CS_OK)
        return cs_cli_fail(&err);
    if (o.print_config) {
        cs_dram_config_write_ini(&cfg, stdout);
        return CS_EXIT_OK;
    }
    cs_dram_trace tr;
    if (cs_dram_trace_load(o.trace, o.format, cs_dram_capacity_bytes(&cfg), o.wrap, &tr, &err) != CS_OK)
        return cs_cli_fail(&err);
    cs_outfile json = {0}, cmds = {0};
    bool json_open = false, cmds_open = false;
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, &err);
    if (!d)
        goto fail;
    /* Open outputs before the run so an unwritable path fails fast. */
    if (o.json) {
        if (cs_outfile_open(&json, o.json, &err) != CS_OK)
            goto fail;
        json_open = true;
    }
    if (o.command_trace) {
        if (cs_outfile_open(&cmds, o.command_trace, &err) != CS_OK)
            goto fail;
        cmds_open = true;
        fputs("cycle,command,channel,bank_group,bank,row,column\n", cmds.fp);
        cs_dram_set_command_hook(d, cs_dram_command_csv, cmds.fp);
    }
    cs_dram_trace_result res;
    if (cs_dram_run_trace(d, &tr, &res, &err) != CS_OK)
        goto fail;
    if (!o.quiet)
        cs_print_table(&o, &cfg, &tr, &res, d);
    if (json_open) {
        cJSON *j = cs_result_json(&o, &cfg, &tr, &res, d);
        bool ok = cs_cli_write_json(json.fp, j) && fputc('\n', json.fp) != EOF;
        cJSON_Delete(j);
        if (!ok) {
            cs_error_set(&err, CS_ERUNTIME, "%s: out of memory writing JSON", o.json);
            goto fail;
        }
        json_open = false;
        if (cs_outfile_commit(&json, &err) != CS_OK)
            goto fail;
    }
    if (cmds_open) {
        cmds_open = false;
        if (cs_outfile_commit(&cmds, &err) != CS_OK)
            goto fail;
    }
    if (fflush(stdout) != 0) {
        cs_error_set(&err, CS_ERUNTIME, "-: write to stdout failed");
        goto fail;
    }
    cs_dram_free(d);
    cs_dram_trace_free(&tr);
    return CS_EXIT_OK;

fail:
    if (json_open)
        cs_outfile_abort(&json);
    if (cmds_open)
        cs_outfile_abort(&cmds);
    cs_dram_free(d);
    cs_dram_trace_free(&tr);
    return cs_cli_fail(&err);
}
