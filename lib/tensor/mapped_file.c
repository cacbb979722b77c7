#include "colscope/tensor.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

cs_status cs_mapped_file_open(cs_mapped_file *mf, const char *path, cs_error *err)
{
    memset(mf, 0, sizeof *mf);
    mf->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cs_error_set(err, CS_ERUNTIME, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cs_error_set(err, CS_EINPUT, "%s: not a regular file", path);
    }
    mf->fd = fd;
    mf->size = (uint64_t)st.st_size;
    if (mf->size == 0)
        return CS_OK; /* nothing to map; callers reject empty files themselves */
    void *p = mmap(NULL, mf->size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        mf->fd = -1;
        return cs_error_set(err, CS_ERUNTIME, "%s: cannot map: %s", path, strerror(e));
    }
    madvise(p, mf->size, MADV_SEQUENTIAL);
    mf->base = p;
    return CS_OK;
}

void cs_mapped_file_close(cs_mapped_file *mf)
{
    if (mf->base)
        munmap((void *)mf->base, mf->size);
    if (mf->fd >= 0)
        close(mf->fd);
    memset(mf, 0, sizeof *mf);
    mf->fd = -1;
}
