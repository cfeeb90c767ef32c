// embedding_bag's loops: bags of rows of a weight (N, D) reduced by sum, mean or max, and their
// gradients. Every output element is written by one thread and sums run in index order, so results are
// the same bits at any thread count (no atomics).
#pragma once
#include <cstdint>

#include "fastnn/dtype.h"

namespace fastnn::kernels {

enum class BagMode { Sum = 0, Mean = 1, Max = 2 };

// Bag b holds positions [start[b], end[b]) of `index`; positions whose index equals `padding_idx` are
// skipped. out (B, D) gets the sum (times psw[i] when given), the mean, or the max of the bag's rows; an
// empty bag gives zeros. bag_size[b] = rows used; argmax (B, D, Max only) = the row chosen (the first of
// equal values), -1 for an empty bag.
void embedding_bag_forward(DType dtype, const void* weight, int64_t dim, const int64_t* index, const int64_t* start,
                           const int64_t* end, int64_t bags, int64_t padding_idx, BagMode mode, const void* psw,
                           void* out, int64_t* bag_size, int64_t* argmax);

// grad_weight (N, D, zeroed by the caller) for Sum/Mean: row r gets, in position order, the gradient of
// each bag that used it times psw[i] (Sum) or 1 / bag_size (Mean), divided by r's count among the used
// positions when scale_by_freq. bag_of[i] is -1 for a position in no bag (or a padding one).
void embedding_bag_backward_sum(DType dtype, const void* grad, int64_t dim, const int64_t* index, const int64_t* bag_of,
                                int64_t n, int64_t num_rows, BagMode mode, const void* psw, const int64_t* bag_size,
                                bool scale_by_freq, void* grad_weight);

// grad_weight (N, D, zeroed) for Max: grad[b, d] added at (argmax[b, d], d), bags in order.
void embedding_bag_backward_max(DType dtype, const void* grad, int64_t dim, int64_t bags, const int64_t* argmax,
                                void* grad_weight);

// grad_psw[i] = <grad[bag_of[i]], weight[index[i]]> (0 for positions in no bag).
void embedding_bag_backward_psw(DType dtype, const void* grad, const void* weight, int64_t dim, const int64_t* index,
                                const int64_t* bag_of, int64_t n, void* grad_psw);

}  // namespace fastnn::kernels
