/* colscope command line: dispatches to one subcommand per file (cmd_*.c).
 * Exit status: 0 success, 1 runtime error, 2 usage error or bad input. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#ifndef COLSCOPE_VERSION
#define COLSCOPE_VERSION "0.1.0"
#endif

static const struct cs_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cs_commands[] = {
    {"profile", cs_cmd_profile, "element- vs column-level sparsity of activation tensors"},
    {"compute", cs_cmd_compute, "systolic-array cycles, SCALE-Sim-exact, dense and with zero columns skipped"},
    {"simulate", cs_cmd_simulate, "accelerator with SRAM and DRAM: compute vs stall cycles per memory layout"},
    {"dram", cs_cmd_dram, "cycle-level GDDR6 DRAM model: play a memory trace"},
};

#define CS_NCOMMANDS (sizeof cs_commands / sizeof cs_commands[0])

static void cs_usage(FILE *fp)
{
    fprintf(fp, "usage: colscope <command> [options]\n\n"
                "How much activation sparsity can a systolic array exploit?\n\ncommands:\n");
    for (size_t i = 0; i < CS_NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", cs_commands[i].name, cs_commands[i].summary);
    fprintf(fp, "\n'colscope <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cs_usage(stderr);
        return CS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2 && strcmp(cmd, "help") == 0)
            for (size_t i = 0; i < CS_NCOMMANDS; i++)
                if (strcmp(argv[2], cs_commands[i].name) == 0) {
                    char *args[] = {argv[2], "--help", NULL};
                    return cs_commands[i].run(2, args);
                }
        cs_usage(stdout);
        return CS_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("colscope %s\n", COLSCOPE_VERSION);
        return CS_EXIT_OK;
    }
    for (size_t i = 0; i < CS_NCOMMANDS; i++)
        if (strcmp(cmd, cs_commands[i].name) == 0)
            return cs_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "colscope: unknown command '%s' (see 'colscope --help')\n", cmd);
    return CS_EXIT_USAGE;
}
