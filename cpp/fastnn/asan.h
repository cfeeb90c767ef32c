// Under AddressSanitizer (FASTNN_SANITIZE), memory that is allocated but must not be touched (a
// block's rounded-up tail, cached free blocks, unused packing space) is poisoned, so overruns and
// use-after-free are still reported in buffers fastnn reuses. Elsewhere these are no-ops.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define FASTNN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define FASTNN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define FASTNN_POISON(p, n) ((void)(p), (void)(n))
#define FASTNN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
