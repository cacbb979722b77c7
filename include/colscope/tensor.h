/* colscope tensors: readers for captured activations (.npy, .safetensors,
 * directories and JSON manifests of them) and a row-major view of any tensor
 * as the matrix a GEMM sees (rows = all leading axes flattened, features = one
 * axis). Readers parse headers only; data stays in the file and is streamed
 * through a memory mapping, so a tensor of any size is read in constant
 * memory. Formats: docs/FORMATS.md. */
#ifndef COLSCOPE_TENSOR_H
#define COLSCOPE_TENSOR_H

#include "colscope/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cs_dtype {
    CS_DTYPE_F16 = 0,
    CS_DTYPE_BF16 = 1,
    CS_DTYPE_F32 = 2,
    CS_DTYPE_F64 = 3,
} cs_dtype;

size_t cs_dtype_size(cs_dtype dt);
/* Name as written in manifests and outputs: "F16", "BF16", "F32", "F64". */
const char *cs_dtype_name(cs_dtype dt);
/* Accepts the safetensors names (F16, BF16, F32, F64) and numpy-style ones
 * (float16, bfloat16, float32, float64). */
bool cs_dtype_from_name(const char *name, cs_dtype *out);

/* Exact conversions of IEEE binary16 and bfloat16 bit patterns. */
double cs_f16_to_double(uint16_t bits);
double cs_bf16_to_double(uint16_t bits);
/* Round-to-nearest-even conversions, for writers and tests. */
uint16_t cs_double_to_f16(double v);
uint16_t cs_double_to_bf16(double v);

#define CS_TENSOR_MAX_DIMS 16

/* Where a captured tensor came from; every field optional (NULL / -1 / NAN)
 * and filled from a manifest entry. */
typedef struct cs_tensor_meta {
    char *model;
    char *layer;
    char *block_kind;
    char *cfg;        /* which classifier-free-guidance half: "cond", "uncond", "both", "none" */
    int64_t step;     /* denoiser call index, -1 if unknown */
    double timestep;  /* scheduler timestep, NAN if unknown */
} cs_tensor_meta;

/* A tensor stored in a file: header facts only, no data. */
typedef struct cs_tensor {
    char *file;             /* path of the file holding the data */
    char *name;             /* tensor name in a safetensors file; "" for .npy */
    cs_dtype dtype;
    bool fortran_order;
    int ndim;
    uint64_t shape[CS_TENSOR_MAX_DIMS];
    uint64_t data_offset;   /* byte offset of the first element in the file */
    uint64_t data_bytes;
    cs_tensor_meta meta;
} cs_tensor;

uint64_t cs_tensor_numel(const cs_tensor *t);
/* "[2, 4096, 1280]" into buf. */
void cs_tensor_shape_str(const cs_tensor *t, char *buf, size_t len);

typedef struct cs_tensor_list {
    cs_tensor *items;
    size_t count, cap;
} cs_tensor_list;

typedef struct cs_open_options {
    bool u2_as_bf16; /* read numpy '<u2' arrays as bfloat16 bit patterns */
} cs_open_options;

/* Parses a .npy header (format 1.0, 2.0 or 3.0). */
cs_status cs_npy_read_header(const char *path, const cs_open_options *opts, cs_tensor *out, cs_error *err);
/* Lists the tensors of a .safetensors file; all of them (in file order) when
 * nnames is 0, else exactly the named ones in the order given. */
cs_status cs_safetensors_list(const char *path, const char *const *names, size_t nnames,
                              cs_tensor_list *out, cs_error *err);
/* Loads a colscope activation manifest (docs/FORMATS.md). */
cs_status cs_manifest_load(const char *path, const cs_open_options *opts, cs_tensor_list *out, cs_error *err);
/* Adds the tensors named by one command-line input: FILE.npy,
 * FILE.safetensors, FILE.safetensors:NAME[,NAME...], a manifest .json, or a
 * directory (its manifest.json if present, else its .npy and .safetensors
 * files in name order). */
cs_status cs_tensor_list_add_input(cs_tensor_list *list, const char *spec, const cs_open_options *opts,
                                   cs_error *err);
void cs_tensor_list_free(cs_tensor_list *list);
/* Deep-copies t into the list. */
cs_status cs_tensor_list_push(cs_tensor_list *list, const cs_tensor *t, cs_error *err);
void cs_tensor_free(cs_tensor *t);

/* A read-only memory mapping of a whole file. */
typedef struct cs_mapped_file {
    int fd;
    const unsigned char *base;
    uint64_t size;
} cs_mapped_file;

cs_status cs_mapped_file_open(cs_mapped_file *mf, const char *path, cs_error *err);
void cs_mapped_file_close(cs_mapped_file *mf);

/* The tensor as a rows x features matrix. rows are all axes except the
 * feature axis, flattened in C order (for [B, T, F] with the last axis as
 * features: row = b*T + t). */
typedef struct cs_matrix_view {
    const cs_tensor *tensor;
    cs_mapped_file map;
    const unsigned char *data; /* first element */
    size_t elem_size;
    uint64_t rows, features;
    int feature_axis;
    /* True when row r is the contiguous run data[r*features .. ), the layout
     * PyTorch writes; otherwise rows are gathered through the strides. */
    bool contiguous;
    /* For gathering: element strides of the non-feature axes in C order. */
    int nrow_axes;
    uint64_t row_axis_size[CS_TENSOR_MAX_DIMS];
    uint64_t row_axis_stride[CS_TENSOR_MAX_DIMS];
    uint64_t feature_stride;
} cs_matrix_view;

/* feature_axis < 0 counts from the end (-1 = last axis). */
cs_status cs_matrix_view_open(cs_matrix_view *v, const cs_tensor *t, int feature_axis, cs_error *err);
void cs_matrix_view_close(cs_matrix_view *v);
/* Copies rows [r0, r0+n) x features [k0, k1) into dst (row-major, dst_ld
 * elements between rows). Works for every layout. */
void cs_matrix_view_gather(const cs_matrix_view *v, uint64_t r0, uint64_t n, uint64_t k0, uint64_t k1,
                           void *dst, uint64_t dst_ld);

#ifdef __cplusplus
}
#endif
#endif
