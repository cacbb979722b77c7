/* In-process cost of colscope's compute model: seconds per evaluation of
 * every layer of a topology (dense closed forms, SCALE-Sim report fields),
 * best of 5 batches of repeated calls. Prints one number.
 * usage: cs_bench_layer_time CFG TOPOLOGY.csv gemm|conv */
#include "colscope/systolic.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    cs_array_config cfg;
    cs_topology topo;
    cs_error err;
    if (cs_array_config_load(argv[1], &cfg, &err) != CS_OK ||
        cs_topology_load(argv[2], strcmp(argv[3], "gemm") == 0 ? CS_TOPOLOGY_GEMM : CS_TOPOLOGY_CONV, cfg.version,
                         &topo, &err) != CS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double best = 1e30;
    uint64_t sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        long n = 0;
        double t0 = cs_now_seconds(), t;
        do {
            for (size_t i = 0; i < topo.count; i++) {
                cs_compute_stats s;
                cs_systolic_dense(&cfg, &topo.layers[i], &s, &err);
                sink += s.cycles;
            }
            n++;
            t = cs_now_seconds() - t0;
        } while (t < 0.05);
        if (t / (double)n < best)
            best = t / (double)n;
    }
    printf("%.9f\n", best);
    cs_topology_free(&topo);
    cs_array_config_free(&cfg);
    return sink == 0;
}
