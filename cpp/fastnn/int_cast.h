// Floating values as integers the way torch's casts give them on x86, compiled for the CPU and the GPU alike: through
// int64 (narrower ints wrap); nan, inf and values beyond 2^63 become INT64_MIN instead of C++'s undefined behaviour.
#pragma once
#include <cstdint>

#include "fastnn/host_device.h"

namespace fastnn {

// Whether a double has an int64 value: inside [-2^63, 2^63), not nan (converting any other is undefined behaviour).
FASTNN_HOST_DEVICE inline bool fits_int64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

template <class T>
FASTNN_HOST_DEVICE inline T float_to_int(double v) {
  return T(fits_int64(v) ? int64_t(v) : INT64_MIN);
}

}  // namespace fastnn
