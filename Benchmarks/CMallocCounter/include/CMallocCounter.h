// Counts heap allocations of the whole process (the benchmark links this in place of glibc's malloc entry points).
#pragma once
#include <stdint.h>
/// Number of malloc/calloc/realloc/memalign/posix_memalign/aligned_alloc calls so far.
uint64_t audiocap_malloc_count(void);
