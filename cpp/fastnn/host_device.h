// FASTNN_HOST_DEVICE marks a function that both the CPU kernels and the CUDA kernels compile (nvcc makes a host and a
// device version of it; other compilers see a plain inline function).
#pragma once

#if defined(__CUDACC__)
#define FASTNN_HOST_DEVICE __host__ __device__
#else
#define FASTNN_HOST_DEVICE
#endif
