/* The machine's streaming-read bandwidth, the ceiling a streaming profiler is
 * judged against: (1) reading an in-memory buffer, (2) reading a file from
 * the page cache through mmap, the path colscope uses. Both with 1..N
 * threads, best of 5. Prints one JSON object.
 *
 * usage: cs_membw [FILE]   (without FILE only the memory figure) */
#include "colscope/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef uint64_t cs_v8 __attribute__((vector_size(64)));

typedef struct job {
    const unsigned char *base;
    size_t begin, end;
    bool drop; /* release pages of a file mapping after reading */
    int fd;    /* >= 0: read the range with pread into a small buffer instead */
    uint64_t sink;
} job;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void *read_range(void *arg)
{
    job *j = arg;
    cs_v8 acc = {0};
    if (j->fd >= 0) { /* pread in 512 KB pieces, as colscope profile reads */
        const size_t piece = (size_t)512 << 10;
        unsigned char *buf = aligned_alloc(64, piece);
        if (!buf)
            return NULL;
        for (size_t o = j->begin; o < j->end; o += piece) {
            size_t len = o + piece < j->end ? piece : j->end - o;
            if (pread(j->fd, buf, len, (off_t)o) != (ssize_t)len)
                break;
            for (size_t i = 0; i + 64 <= len; i += 64) {
                cs_v8 v;
                memcpy(&v, buf + i, 64);
                acc ^= v;
            }
        }
        free(buf);
        j->sink = acc[0] ^ acc[7];
        return NULL;
    }
    const size_t chunk = (size_t)4 << 20;
    for (size_t o = j->begin; o < j->end; o += chunk) {
        size_t e = o + chunk < j->end ? o + chunk : j->end;
        for (size_t i = o; i + 64 <= e; i += 64) {
            cs_v8 v;
            memcpy(&v, j->base + i, 64);
            acc ^= v;
        }
        if (j->drop)
            madvise((void *)(j->base + o), e - o, MADV_DONTNEED);
    }
    j->sink = acc[0] ^ acc[7];
    return NULL;
}

static double run(const unsigned char *base, int fd, size_t n, int threads, bool drop)
{
    pthread_t th[64];
    job jobs[64];
    size_t page = 4096, per = (n / (size_t)threads) & ~(page - 1);
    double t0 = cs_now_seconds();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){base, per * (size_t)i, i + 1 == threads ? n : per * (size_t)(i + 1), drop, fd, 0};
        pthread_create(&th[i], NULL, read_range, &jobs[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    return (double)n / (cs_now_seconds() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    int ncpu = cs_cpu_count();
    if (ncpu > 64)
        ncpu = 64;
    size_t n = (size_t)1 << 30;
    unsigned char *buf = aligned_alloc(64, n);
    if (!buf)
        return 1;
    memset(buf, 1, n);
    printf("{\"cpus\": %d, \"memory_read_gbps\": {", ncpu);
    double best_all = 0;
    for (int t = 1; t <= ncpu; t++) {
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            double g = run(buf, -1, n, t, false);
            best = g > best ? g : best;
        }
        printf("%s\"%d\": %.2f", t > 1 ? ", " : "", t, best);
        best_all = best > best_all ? best : best_all;
    }
    printf("}, \"memory_read_best_gbps\": %.2f", best_all);
    free(buf);
    if (argc > 1) {
        int fd = open(argv[1], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            fprintf(stderr, "cs_membw: %s: cannot open\n", argv[1]);
            return 1;
        }
        size_t fn = (size_t)st.st_size & ~(size_t)63;
        printf(", \"file_mmap_read_gbps\": {");
        best_all = 0;
        for (int t = 1; t <= ncpu; t++) {
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                const unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
                if (p == MAP_FAILED)
                    return 1;
                madvise((void *)p, fn, MADV_SEQUENTIAL);
                double g = run(p, -1, fn, t, true);
                munmap((void *)p, (size_t)st.st_size);
                best = g > best ? g : best;
            }
            printf("%s\"%d\": %.2f", t > 1 ? ", " : "", t, best);
            best_all = best > best_all ? best : best_all;
        }
        printf("}, \"file_mmap_read_best_gbps\": %.2f, \"file_pread_gbps\": {", best_all);
        double best_pread = 0;
        for (int t = 1; t <= ncpu; t++) {
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                double g = run(NULL, fd, fn, t, false);
                best = g > best ? g : best;
            }
            printf("%s\"%d\": %.2f", t > 1 ? ", " : "", t, best);
            best_pread = best > best_pread ? best : best_pread;
        }
        printf("}, \"file_pread_best_gbps\": %.2f", best_pread);
        printf(", \"file_read_best_gbps\": %.2f", best_pread > best_all ? best_pread : best_all);
        close(fd);
    }
    printf("}\n");
    return 0;
}
