// Counts heap allocations of the whole process (the benchmark links this in place of glibc's malloc entry points).
#pragma once
#include <stdint.h>

/// Number of malloc/calloc/realloc/reallocarray/memalign/posix_memalign/aligned_alloc/valloc/pvalloc
/// calls so far, over all threads.
uint64_t audiocap_malloc_count(void);

/// The same count for the calling thread only.
uint64_t audiocap_thread_malloc_count(void);

/// The calling thread's kernel thread id (gettid).
int32_t audiocap_gettid(void);

/// Copies up to `max` per-thread counters (kernel thread id, allocations) into `tids` and `counts` and
/// returns how many threads have allocated so far (which may exceed `max`). A thread gets its counter at
/// its first allocation; threads past the table's size share one counter with tid -1. Does not allocate.
int32_t audiocap_malloc_threads(int32_t *tids, uint64_t *counts, int32_t max);

/// Starts recording the call stacks of the next `max` allocations (at most 256) made by thread `tid`
/// (0: any thread), at most `per_thread` of them from any one thread. Clears earlier records.
/// Allocations made while a stack is taken are not counted.
void audiocap_malloc_trace_start(int32_t tid, int32_t max, int32_t per_thread);

/// Stops recording; returns how many stacks were recorded.
int32_t audiocap_malloc_trace_stop(void);

/// Copies the return addresses of recorded stack `index` into `frames` (up to `max`) and returns how
/// many there are; `tid` and `size` receive the allocating thread and the requested size.
int32_t audiocap_malloc_trace_get(int32_t index, void **frames, int32_t max, int32_t *tid, uint64_t *size);

/// Where `address` lies: the file of the loaded object holding it and the address relative to that
/// object's load base (what addr2line and llvm-symbolizer take), plus the nearest dynamic symbol, if any.
/// Returns 0 when the address is in no loaded object.
int32_t audiocap_locate(const void *address, const char **object, uint64_t *offset, const char **symbol);
