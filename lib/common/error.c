#include "colscope/common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

cs_status cs_error_set(cs_error *err, cs_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* Keep the promise of a one-line message even if a file name or a
         * quoted field contained a newline. */
        for (char *p = err->msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        err->status = status;
    }
    return status;
}

void cs_error_clear(cs_error *err)
{
    if (err) {
        err->status = CS_OK;
        err->msg[0] = '\0';
    }
}

double cs_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cs_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
