// SIMD support shared by the kernels: GCC vector types, and the instruction set chosen at run time.
// Kernels are written once as always_inline bodies over Vec<T, L> and compiled per instruction set
// by thin wrappers carrying __attribute__((target(...))), so one binary runs on any x86-64.
#pragma once
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#define FASTNN_X86 1
#endif

#define FASTNN_INLINE inline __attribute__((always_inline))
#define FASTNN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FASTNN_TARGET_AVX512 __attribute__((target("avx512f,fma")))

// In a function of fastnn::kernels: return NAME_<isa>(args...) for the instruction set kernel_isa() picks, where
// NAME_avx512, NAME_avx2 and NAME_generic are one body compiled per instruction set.
#ifdef FASTNN_X86
#define FASTNN_PICK_ISA(NAME, ...)                       \
  switch (kernel_isa()) {                                \
    case Isa::Avx512: return NAME##_avx512(__VA_ARGS__); \
    case Isa::Avx2: return NAME##_avx2(__VA_ARGS__);     \
    default: return NAME##_generic(__VA_ARGS__);         \
  }
#else
#define FASTNN_PICK_ISA(NAME, ...) return NAME##_generic(__VA_ARGS__);
#endif

namespace fastnn::kernels {

template <class T, int L>
struct VecOf {
  typedef T type __attribute__((vector_size(L * sizeof(T))));
};
// L lanes of T.
template <class T, int L>
using Vec = typename VecOf<T, L>::type;

// Instruction sets the kernels are written for.
enum class Isa { Generic, Avx2, Avx512 };

// The instruction set the kernels use now (the best one this CPU supports, unless overridden).
Isa kernel_isa();

// Whether this CPU can run `isa`.
bool cpu_supports(Isa isa);

// For tests and benchmarks: makes the kernels use `isa`; throws std::invalid_argument if the CPU lacks it.
void set_kernel_isa(Isa isa);

}  // namespace fastnn::kernels
