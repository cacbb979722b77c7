/* bench/dram: simulation speed of the GDDR6 model on 1M-request stream and
 * random traces, against Ramulator 2.1's rate recorded on the same kind of
 * traces and machine (../shared/reference/dram/NOTES.md 6.3).
 *
 * The traces come from the generator of NOTES.md 6.1: stream = reads of
 * 32*r, except every fifth request (i mod 5 = 4) is a write to
 * 0x10000000 + 32*w; random = uniform 32-B-aligned addresses in [0, 512 MiB),
 * 20% writes. The random trace uses splitmix64 with seed 0, not the
 * reference generator's RNG, so its addresses differ (its statistics do not).
 *
 * Each trace runs --repeat times (default 5) through a fresh model; the best
 * run counts, since other jobs share the machine. Prints a table and, with
 * --json FILE, the numbers. --write-traces DIR also writes the traces in
 * LoadStore format, to run another simulator on exactly the same requests.
 *
 * usage: cs_bench_dram [--requests N] [--repeat K] [--json FILE] [--write-traces DIR] */
#include "colscope/dram.h"
#include "colscope/json.h"

#include <stdlib.h>
#include <string.h>

/* Ramulator 2.1 on 1M-request traces, one core of this kind of machine
 * (NOTES.md 6.3: loop wall time, excluding trace reading). */
static const struct {
    const char *name;
    double req_per_s, cycles_per_s;
} cs_ramulator[] = {{"stream", 574e3, 1.98e6}, {"random", 161e3, 1.45e6}};

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void make_trace(cs_dram_trace *t, const char *kind, size_t n)
{
    memset(t, 0, sizeof *t);
    t->count = n;
    t->format = CS_DRAM_TRACE_LOADSTORE;
    t->addr = malloc(n * sizeof *t->addr);
    t->is_write = malloc(n);
    if (!t->addr || !t->is_write) {
        fprintf(stderr, "cs_bench_dram: out of memory\n");
        exit(1);
    }
    uint64_t seed = 0, r = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kind, "stream") == 0) {
            t->is_write[i] = i % 5 == 4;
            t->addr[i] = t->is_write[i] ? 0x10000000 + 32 * w++ : 32 * r++;
        } else {
            t->addr[i] = (splitmix64(&seed) % ((512ull << 20) / 32)) * 32;
            t->is_write[i] = (double)(splitmix64(&seed) >> 11) * 0x1.0p-53 < 0.2;
        }
    }
}

static void write_trace(const cs_dram_trace *t, const char *dir, const char *kind)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%zu.ldst", dir, kind, t->count);
    cs_outfile out;
    cs_error err;
    if (cs_outfile_open(&out, path, &err) != CS_OK) {
        fprintf(stderr, "cs_bench_dram: %s\n", err.msg);
        exit(2);
    }
    for (size_t i = 0; i < t->count; i++)
        fprintf(out.fp, "%s 0x%llx\n", t->is_write[i] ? "ST" : "LD", (unsigned long long)t->addr[i]);
    if (cs_outfile_commit(&out, &err) != CS_OK) {
        fprintf(stderr, "cs_bench_dram: %s\n", err.msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int repeat = 5;
    const char *json_path = NULL, *trace_dir = NULL;
    for (int i = 1; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc && cs_parse_u64(argv[i + 1], &v) && v > 0)
            n = (size_t)v, i++;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc && cs_parse_u64(argv[i + 1], &v) && v > 0 &&
                 v < 1000)
            repeat = (int)v, i++;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--write-traces") == 0 && i + 1 < argc)
            trace_dir = argv[++i];
        else {
            fprintf(stderr, "usage: cs_bench_dram [--requests N] [--repeat K] [--json FILE] [--write-traces DIR]\n");
            return 2;
        }
    }
    cs_error err;
    cs_dram_config cfg;
    cs_dram_config_preset(&cfg, "gddr6-14", &err);
    cJSON *results = cJSON_CreateArray();
    printf("GDDR6 gddr6-14, 1 channel, %zu requests per trace, best of %d runs\n", n, repeat);
    printf("%-7s %12s %10s %12s %12s | %12s %12s | %7s\n", "trace", "cycles", "best s", "M req/s", "M cycles/s",
           "Ramulator2.1", "M cycles/s", "speedup");
    for (size_t k = 0; k < 2; k++) {
        cs_dram_trace tr;
        make_trace(&tr, cs_ramulator[k].name, n);
        if (trace_dir)
            write_trace(&tr, trace_dir, cs_ramulator[k].name);
        double best = 1e30;
        cs_dram_trace_result res;
        for (int rep = 0; rep < repeat; rep++) {
            cs_dram *d = cs_dram_create(&cfg, NULL, NULL, &err);
            if (!d || cs_dram_run_trace(d, &tr, &res, &err) != CS_OK) {
                fprintf(stderr, "cs_bench_dram: %s\n", err.msg);
                return 1;
            }
            if (res.wall_seconds < best)
                best = res.wall_seconds;
            cs_dram_free(d);
        }
        uint64_t cycles = res.at_last_accept.cycles;
        double rps = (double)n / best, cps = (double)res.cycles_all_done / best;
        double speedup = rps / cs_ramulator[k].req_per_s;
        printf("%-7s %12llu %10.4f %12.2f %12.1f | %12.2f %12.2f | %6.1fx\n", cs_ramulator[k].name,
               (unsigned long long)cycles, best, rps / 1e6, cps / 1e6, cs_ramulator[k].req_per_s / 1e6,
               cs_ramulator[k].cycles_per_s / 1e6, speedup);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "trace", cs_ramulator[k].name);
        cs_json_add_uint(o, "requests", n);
        cs_json_add_uint(o, "cycles", cycles);
        cs_json_add_uint(o, "cycles_all_done", res.cycles_all_done);
        cs_json_add_number(o, "best_seconds", best);
        cs_json_add_number(o, "requests_per_second", rps);
        cs_json_add_number(o, "cycles_per_second", cps);
        cs_json_add_number(o, "ramulator21_requests_per_second", cs_ramulator[k].req_per_s);
        cs_json_add_number(o, "speedup_vs_ramulator21", speedup);
        cJSON_AddItemToArray(results, o);
        cs_dram_trace_free(&tr);
    }
    printf("(Ramulator 2.1: recorded, NOTES.md 6.3; colscope: simulation loop incl. drain, trace in memory)\n");
    if (json_path) {
        char *s = cJSON_PrintUnformatted(results);
        if (!s || cs_write_file_atomic(json_path, s, strlen(s), &err) != CS_OK) {
            fprintf(stderr, "cs_bench_dram: %s\n", s ? err.msg : "out of memory");
            free(s);
            return 1;
        }
        free(s);
    }
    cJSON_Delete(results);
    return 0;
}
