// What this build of fastnn._C is: version (pyproject.toml's, via CMake), compiler, build type, the
// kernels' instruction sets (compiled in, supported by this CPU, chosen), threads, CUDA.
// fastnn.show_config() prints it; tests read the dict.
#include "bindings/common.h"
#include "fastnn/kernels/cpu/simd.h"
#include "fastnn/parallel.h"

namespace fastnn::bindings {
namespace {

using kernels::Isa;

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Generic: break;
  }
  return "generic";
}

// Every x86-64 build carries the AVX2 and AVX-512 variants (target attributes, chosen at run time);
// elsewhere the kernels are the generic ones only.
std::vector<Isa> compiled_isas() {
#ifdef FASTNN_X86
  return {Isa::Generic, Isa::Avx2, Isa::Avx512};
#else
  return {Isa::Generic};
#endif
}

std::string compiler() {
#if defined(__clang__)
  return str("Clang ", __clang_major__, ".", __clang_minor__, ".", __clang_patchlevel__);
#elif defined(__GNUC__)
  return str("GCC ", __GNUC__, ".", __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

}  // namespace

void bind_config(py::module_& m) {
  m.attr("__version__") = FASTNN_VERSION;
  m.def("_build_config", [] {
    py::list compiled, supported;
    for (Isa isa : compiled_isas()) {
      compiled.append(isa_name(isa));
      if (kernels::cpu_supports(isa)) supported.append(isa_name(isa));
    }
    py::dict d;
    d["version"] = FASTNN_VERSION;
    d["compiler"] = compiler();
    d["build_type"] = FASTNN_BUILD_TYPE;
    d["native"] = bool(FASTNN_NATIVE_BUILD);  // -march=native: tuned for (and tied to) the build machine
    d["isa_compiled"] = compiled;
    d["isa_supported"] = supported;
    d["isa"] = isa_name(kernels::kernel_isa());
    d["threads"] = get_num_threads();
    d["cuda"] = !cuda::built()     ? std::string("not built")
                : cuda::emulated() ? std::string("emulated on the CPU (FASTNN_CUDA_EMULATOR: for tests, not speed)")
                                   : str("built, ", cuda::device_count(), " GPU(s) visible");
    return d;
  });
}

}  // namespace fastnn::bindings
