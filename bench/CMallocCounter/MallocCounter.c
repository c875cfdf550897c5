// Interposes glibc's allocation entry points to count calls; forwards to glibc's own implementations.
//
// The executable defines malloc & co., so the dynamic linker binds every shared library's calls (the
// Swift runtime, Foundation, libdispatch, libstdc++) to these. Counts are kept per thread in a fixed
// table so that the benchmark can tell which thread allocates; nothing here allocates.
#define _GNU_SOURCE
#include "CMallocCounter.h"
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern void __libc_free(void *);

#define MAX_THREADS 4096
#define MAX_TRACES 256
#define TRACE_DEPTH 64

static uint64_t counter;

// One slot per thread, claimed at the thread's first allocation; the last slot is shared by overflow.
static int32_t slot_tids[MAX_THREADS];
static uint64_t slot_counts[MAX_THREADS];
static int32_t slots_used;
static __thread int32_t my_slot __attribute__((tls_model("initial-exec"))) = -1;
static __thread int32_t my_tid __attribute__((tls_model("initial-exec")));
// Set while this thread takes a stack trace: backtrace() may allocate on its first use.
static __thread int32_t tracing __attribute__((tls_model("initial-exec")));

static int32_t trace_on;
static int32_t trace_tid;
static int32_t trace_max;
static int32_t trace_per_thread;
static int32_t trace_next;
// Stacks recorded per thread slot, so that one busy thread does not use up the whole record.
static int32_t slot_traced[MAX_THREADS];
static void *trace_frames[MAX_TRACES][TRACE_DEPTH];
static int32_t trace_depth[MAX_TRACES];
static int32_t trace_thread[MAX_TRACES];
static uint64_t trace_size[MAX_TRACES];

static int32_t current_tid(void) {
    if (my_tid == 0) my_tid = (int32_t)syscall(SYS_gettid);
    return my_tid;
}

static void take_trace(int32_t slot, size_t size) {
    if (__atomic_load_n(&trace_on, __ATOMIC_RELAXED) == 0) return;
    int32_t wanted = __atomic_load_n(&trace_tid, __ATOMIC_RELAXED);
    if (wanted != 0 && wanted != current_tid()) return;
    if (__atomic_fetch_add(&slot_traced[slot], 1, __ATOMIC_RELAXED) >= __atomic_load_n(&trace_per_thread, __ATOMIC_RELAXED)) return;
    int32_t index = __atomic_fetch_add(&trace_next, 1, __ATOMIC_RELAXED);
    if (index >= __atomic_load_n(&trace_max, __ATOMIC_RELAXED)) return;
    tracing = 1;
    trace_depth[index] = backtrace(trace_frames[index], TRACE_DEPTH);
    trace_thread[index] = current_tid();
    trace_size[index] = size;
    tracing = 0;
}

static inline void count(size_t size) {
    if (tracing) return;
    __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    int32_t slot = my_slot;
    if (slot < 0) {
        slot = __atomic_fetch_add(&slots_used, 1, __ATOMIC_RELAXED);
        if (slot >= MAX_THREADS - 1) {
            slot = MAX_THREADS - 1;
            __atomic_store_n(&slot_tids[slot], -1, __ATOMIC_RELAXED);
        } else {
            __atomic_store_n(&slot_tids[slot], current_tid(), __ATOMIC_RELEASE);
        }
        my_slot = slot;
    }
    __atomic_fetch_add(&slot_counts[slot], 1, __ATOMIC_RELAXED);
    take_trace(slot, size);
}

uint64_t audiocap_malloc_count(void) { return __atomic_load_n(&counter, __ATOMIC_RELAXED); }

uint64_t audiocap_thread_malloc_count(void) {
    return my_slot < 0 ? 0 : __atomic_load_n(&slot_counts[my_slot], __ATOMIC_RELAXED);
}

int32_t audiocap_gettid(void) { return current_tid(); }

int32_t audiocap_malloc_threads(int32_t *tids, uint64_t *counts, int32_t max) {
    int32_t used = __atomic_load_n(&slots_used, __ATOMIC_ACQUIRE);
    int32_t n = used < MAX_THREADS ? used : MAX_THREADS;
    for (int32_t i = 0; i < n && i < max; i++) {
        tids[i] = __atomic_load_n(&slot_tids[i], __ATOMIC_ACQUIRE);
        counts[i] = __atomic_load_n(&slot_counts[i], __ATOMIC_RELAXED);
    }
    return n;
}

void audiocap_malloc_trace_start(int32_t tid, int32_t max, int32_t per_thread) {
    // Let backtrace() load its unwinder now, not inside a traced allocation.
    void *warm[2];
    tracing = 1;
    backtrace(warm, 2);
    tracing = 0;
    __atomic_store_n(&trace_on, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&trace_next, 0, __ATOMIC_SEQ_CST);
    for (int32_t i = 0; i < MAX_THREADS; i++) __atomic_store_n(&slot_traced[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&trace_per_thread, per_thread, __ATOMIC_SEQ_CST);
    __atomic_store_n(&trace_tid, tid, __ATOMIC_SEQ_CST);
    __atomic_store_n(&trace_max, max < MAX_TRACES ? max : MAX_TRACES, __ATOMIC_SEQ_CST);
    __atomic_store_n(&trace_on, 1, __ATOMIC_SEQ_CST);
}

int32_t audiocap_malloc_trace_stop(void) {
    __atomic_store_n(&trace_on, 0, __ATOMIC_SEQ_CST);
    int32_t n = __atomic_load_n(&trace_next, __ATOMIC_SEQ_CST);
    int32_t max = __atomic_load_n(&trace_max, __ATOMIC_SEQ_CST);
    return n < max ? n : max;
}

int32_t audiocap_malloc_trace_get(int32_t index, void **frames, int32_t max, int32_t *tid, uint64_t *size) {
    if (index < 0 || index >= MAX_TRACES) return 0;
    int32_t depth = trace_depth[index] < max ? trace_depth[index] : max;
    memcpy(frames, trace_frames[index], (size_t)depth * sizeof(void *));
    *tid = trace_thread[index];
    *size = trace_size[index];
    return depth;
}

int32_t audiocap_locate(const void *address, const char **object, uint64_t *offset, const char **symbol) {
    Dl_info info;
    if (dladdr(address, &info) == 0 || info.dli_fname == NULL) return 0;
    *object = info.dli_fname;
    *offset = (uint64_t)((const char *)address - (const char *)info.dli_fbase);
    *symbol = info.dli_sname;
    return 1;
}

void *malloc(size_t n) { count(n); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(a * b); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(n); return __libc_realloc(p, n); }
void *reallocarray(void *p, size_t a, size_t b) {
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    count(n);
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
void *memalign(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(n); return __libc_memalign(a, n); }
void *valloc(size_t n) { count(n); return __libc_valloc(n); }
void *pvalloc(size_t n) { count(n); return __libc_pvalloc(n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count(n);
    // posix_memalign must reject an alignment that is not a power of two times sizeof(void *).
    if (a % sizeof(void *) != 0 || (a & (a - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
