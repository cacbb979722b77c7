/* GDDR6 back end: adapter to lib/dram (joined when lib/dram lands). */
#include "accel_internal.h"

cs_status cs__mem_gddr6_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err);

cs_status cs__mem_gddr6_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err)
{
    (void)m;
    (void)done;
    (void)user;
    (void)out;
    return cs_error_set(err, CS_EINPUT, "the gddr6 memory back end needs lib/dram, which this build lacks");
}
