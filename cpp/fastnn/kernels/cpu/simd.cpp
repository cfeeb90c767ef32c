#include "fastnn/kernels/cpu/simd.h"

#include <atomic>

#include "fastnn/error.h"

namespace fastnn::kernels {
namespace {

Isa best_isa() {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (cpu_supports(isa)) return isa;
  return Isa::Generic;
}

std::atomic<Isa> g_isa{best_isa()};

}  // namespace

bool cpu_supports(Isa isa) {
#ifdef FASTNN_X86
  __builtin_cpu_init();
  if (isa == Isa::Avx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (isa == Isa::Avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == Isa::Generic;
}

Isa kernel_isa() { return g_isa.load(std::memory_order_relaxed); }

void set_kernel_isa(Isa isa) {
  FASTNN_CHECK(cpu_supports(isa), "[set_kernel_isa] this CPU does not support the requested instruction set");
  g_isa.store(isa, std::memory_order_relaxed);
}

}  // namespace fastnn::kernels
