// Every public op of the engine. Each op validates its arguments (errors name the op and the
// numbers), computes its result with the kernels, and records its backward node when grad mode
// is on and an input requires grad. Names and argument orders follow torch.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fastnn/ops/unary_table.h"
#include "fastnn/tensor.h"

namespace fastnn {

class Generator;
using IntList = std::vector<int64_t>;
using OptDouble = std::optional<double>;

// ---- factories (factory.cpp) ----
TensorPtr empty(const Shape& shape, DType dtype);
TensorPtr zeros(const Shape& shape, DType dtype);
TensorPtr zeros_on(const Shape& shape, DType dtype, Device device);  // on `device` (a gradient's)
TensorPtr full(const Shape& shape, double value, DType dtype);
TensorPtr arange(double start, double end, double step, DType dtype);
TensorPtr eye(int64_t n, int64_t m, DType dtype);
// A 0-d tensor holding a Python number (takes part in type promotion by kind only).
TensorPtr scalar_tensor(double value, DType dtype, bool wrapped_number);
// A tensor filled with the 0-d tensor `value` converted to `dtype` (exact for int64 values).
TensorPtr full(const Shape& shape, const TensorPtr& value, DType dtype, const char* op = "full");
// The same for an int64 value, exactly (a double holds integers only up to 2^53).
TensorPtr int_scalar_tensor(int64_t value, bool wrapped_number);

// ---- copies and conversions (copy.cpp) ----
TensorPtr contiguous(const TensorPtr& t);
TensorPtr clone(const TensorPtr& t);
TensorPtr to_dtype(const TensorPtr& t, DType dtype);
// Always a new tensor, even for the same dtype (torch's _to_copy: to(copy=True)).
TensorPtr to_copy(const TensorPtr& t, DType dtype);
// t on `device` (t itself when it is there already), recorded as ToCopyBackward0 (the gradient goes back to
// t's device).
TensorPtr to_device(const TensorPtr& t, Device device);
// self <- src (broadcast, converted to self's dtype); differentiable like torch's copy_.
void copy_(TensorPtr& self, const TensorPtr& src);
void fill_(TensorPtr& self, double value);
// self <- the 0-d tensor `value` converted to self's dtype (exact for int64); `op` names errors.
void fill_(TensorPtr& self, const TensorPtr& value, const char* op = "fill_");
void zero_(TensorPtr& self);
// Checks that an in-place op may write `self` (leaf that requires grad, views under autograd, and unless
// `may_overlap` -- fill_ and zero_ write one value -- elements sharing memory, e.g. from expand).
void check_inplace(const TensorPtr& self, const char* op, bool may_overlap = false);

// ---- views (view.cpp): metadata only, storage shared ----
TensorPtr view(const TensorPtr& t, IntList shape);
TensorPtr reshape(const TensorPtr& t, IntList shape);
TensorPtr flatten(const TensorPtr& t, int64_t start_dim, int64_t end_dim);
TensorPtr squeeze(const TensorPtr& t);
TensorPtr squeeze(const TensorPtr& t, int64_t dim);
TensorPtr unsqueeze(const TensorPtr& t, int64_t dim);
TensorPtr transpose(const TensorPtr& t, int64_t dim0, int64_t dim1);
TensorPtr t(const TensorPtr& t);
TensorPtr permute(const TensorPtr& t, IntList dims);
TensorPtr expand(const TensorPtr& t, IntList shape);
// Reduces a broadcast gradient back to `shape` by summing the broadcast dimensions.
TensorPtr sum_to(const TensorPtr& grad, const Shape& shape);

// ---- indexing (index.cpp) ----
TensorPtr select(const TensorPtr& t, int64_t dim, int64_t index);
// Python slice semantics on one dim: start/end already clamped by the caller is not required.
TensorPtr slice(const TensorPtr& t, int64_t dim, int64_t start, int64_t end, int64_t step);
// Rows `index` (int64, 0-d or 1-d, negative counts from the end) of `t` along `dim`, copied.
TensorPtr index_select(const TensorPtr& t, int64_t dim, const TensorPtr& index);
// Rows of `weight` picked by int64 `indices` (any shape); the padding row gets no gradient.
TensorPtr embedding(const TensorPtr& weight, const TensorPtr& indices, std::optional<int64_t> padding_idx);

// ---- advanced indexing (advanced_index.cpp) ----
// torch's x[indices] with one optional int64 index tensor or bool mask per dim (a mask covers as many dims
// as it has): index tensors broadcast together; their dims replace the indexed ones when those are next
// to each other, else they come first.
TensorPtr index(const TensorPtr& self, const std::vector<TensorPtr>& indices);
// A copy of self with `values` (broadcast to the indexing result) written, or added, at `indices`.
TensorPtr index_put(const TensorPtr& self, const std::vector<TensorPtr>& indices, const TensorPtr& values,
                    bool accumulate);
void index_put_(TensorPtr& self, const std::vector<TensorPtr>& indices, const TensorPtr& values, bool accumulate);
// The elements of self where the bool mask (broadcast with self) is true, as a 1-d tensor.
TensorPtr masked_select(const TensorPtr& self, const TensorPtr& mask);

// ---- scatter and gather along a dim (scatter_gather.cpp); reduce: none, "add" or "multiply" ----
TensorPtr gather(const TensorPtr& self, int64_t dim, const TensorPtr& index);
TensorPtr scatter(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src,
                  const std::optional<std::string>& reduce = std::nullopt);
// scatter of one value (a 0-d tensor, converted to self's dtype).
TensorPtr scatter_value(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& value,
                        const std::optional<std::string>& reduce = std::nullopt);
void scatter_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src,
              const std::optional<std::string>& reduce = std::nullopt);
void scatter_value_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& value,
                    const std::optional<std::string>& reduce = std::nullopt);
TensorPtr scatter_add(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src);
void scatter_add_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& src);
// self with alpha * source added at rows `index` (0-d or 1-d) along dim; alpha is a 0-d tensor.
TensorPtr index_add(const TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& source,
                    const TensorPtr& alpha);
void index_add_(TensorPtr& self, int64_t dim, const TensorPtr& index, const TensorPtr& source, const TensorPtr& alpha);
// gather after broadcasting self and indices except along dim; without dim, over the flattened self.
TensorPtr take_along_dim(const TensorPtr& self, const TensorPtr& indices, std::optional<int64_t> dim);

// ---- joining (join.cpp) ----
TensorPtr cat(const std::vector<TensorPtr>& tensors, int64_t dim);
TensorPtr stack(const std::vector<TensorPtr>& tensors, int64_t dim);

// ---- rearranging (shape.cpp): splits into views, dim moves, reordering copies, triangles, diagonals ----
std::vector<TensorPtr> split(const TensorPtr& t, int64_t split_size, int64_t dim);
std::vector<TensorPtr> split_with_sizes(const TensorPtr& t, IntList sizes, int64_t dim);
std::vector<TensorPtr> chunk(const TensorPtr& t, int64_t chunks, int64_t dim);
// `sections` parts whose sizes differ by at most one, or the parts between the given indices.
std::vector<TensorPtr> tensor_split(const TensorPtr& t, int64_t sections, int64_t dim);
std::vector<TensorPtr> tensor_split(const TensorPtr& t, const IntList& indices, int64_t dim);
std::vector<TensorPtr> unbind(const TensorPtr& t, int64_t dim);
TensorPtr narrow(const TensorPtr& t, int64_t dim, int64_t start, int64_t length);
TensorPtr movedim(const TensorPtr& t, const IntList& source, const IntList& destination);
// Drops the listed dims that have size 1 (SqueezeBackward2).
TensorPtr squeeze(const TensorPtr& t, const IntList& dims);
TensorPtr unflatten(const TensorPtr& t, int64_t dim, const IntList& sizes);
TensorPtr flip(const TensorPtr& t, const IntList& dims);
// Empty dims roll the flattened tensor.
TensorPtr roll(const TensorPtr& t, const IntList& shifts, const IntList& dims);
TensorPtr repeat(const TensorPtr& t, const IntList& repeats);
TensorPtr tile(const TensorPtr& t, IntList dims);
// No dim: over the flattened tensor. The tensor-repeats form gathers with index_select, as torch.
TensorPtr repeat_interleave(const TensorPtr& t, int64_t repeats, std::optional<int64_t> dim,
                            std::optional<int64_t> output_size);
TensorPtr repeat_interleave(const TensorPtr& t, const TensorPtr& repeats, std::optional<int64_t> dim,
                            std::optional<int64_t> output_size);
// repeat_interleave(repeats): index i repeated repeats[i] times.
TensorPtr repeat_interleave(const TensorPtr& repeats, std::optional<int64_t> output_size);
TensorPtr tril(const TensorPtr& t, int64_t diagonal);
TensorPtr triu(const TensorPtr& t, int64_t diagonal);
// A view: the diagonal becomes the last dim.
TensorPtr diagonal(const TensorPtr& t, int64_t offset, int64_t dim1, int64_t dim2);
TensorPtr diag_embed(const TensorPtr& t, int64_t offset, int64_t dim1, int64_t dim2);
// 1-D: a matrix with the vector on a diagonal; 2-D: a copy of a diagonal.
TensorPtr diag(const TensorPtr& t, int64_t diagonal);
// int64 (..., num_classes); num_classes -1: the largest value + 1.
TensorPtr one_hot(const TensorPtr& t, int64_t num_classes);

// ---- vector and batched products (products.cpp) ----
TensorPtr dot(const TensorPtr& a, const TensorPtr& b);
TensorPtr outer(const TensorPtr& a, const TensorPtr& b);
TensorPtr mv(const TensorPtr& mat, const TensorPtr& vec);
TensorPtr addmv(const TensorPtr& input, const TensorPtr& mat, const TensorPtr& vec, double beta, double alpha);
TensorPtr baddbmm(const TensorPtr& input, const TensorPtr& b1, const TensorPtr& b2, double beta, double alpha);
TensorPtr addbmm(const TensorPtr& input, const TensorPtr& b1, const TensorPtr& b2, double beta, double alpha);

// ---- evenly spaced values (in factory.cpp, next to arange) ----
TensorPtr linspace(double start, double end, int64_t steps, DType dtype);
// base ** linspace(start, end, steps)
TensorPtr logspace(double start, double end, int64_t steps, double base, DType dtype);

// ---- einsum (einsum.cpp) ----
TensorPtr einsum(const std::string& equation, const std::vector<TensorPtr>& operands);

// ---- elementwise unary (unary.cpp): one function per row of the table in unary_table.h (neg, exp, log, sqrt,
// abs, relu, sigmoid, tanh, ..., silu, log_sigmoid, mish, hardswish, hardsigmoid) ----
#define FASTNN_DECLARE_UNARY(NAME, ...) TensorPtr NAME(const TensorPtr& x);
FASTNN_UNARY_OPS(FASTNN_DECLARE_UNARY)
#undef FASTNN_DECLARE_UNARY
TensorPtr clamp(const TensorPtr& x, OptDouble min, OptDouble max);
void clamp_(TensorPtr& x, OptDouble min, OptDouble max);
void relu_(TensorPtr& x);
TensorPtr pow(const TensorPtr& x, double exponent);

// ---- elementwise binary with broadcasting (binary.cpp) ----
TensorPtr add(const TensorPtr& a, const TensorPtr& b, double alpha);
TensorPtr sub(const TensorPtr& a, const TensorPtr& b, double alpha);
// other - a (Python's `1 - a`): for a number `other`, torch's RsubBackward1 with a's edge only.
TensorPtr rsub(const TensorPtr& a, const TensorPtr& other);
TensorPtr mul(const TensorPtr& a, const TensorPtr& b);
TensorPtr div(const TensorPtr& a, const TensorPtr& b);
TensorPtr pow(const TensorPtr& a, const TensorPtr& b);
void add_(TensorPtr& self, const TensorPtr& other, double alpha);
void sub_(TensorPtr& self, const TensorPtr& other, double alpha);
void mul_(TensorPtr& self, const TensorPtr& other);
void div_(TensorPtr& self, const TensorPtr& other);
// Comparisons: bool results, not differentiable.
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };
TensorPtr compare(const TensorPtr& a, const TensorPtr& b, CompareOp op);
// torch's result_type over operands (dimensioned tensors > 0-d tensors > Python numbers).
DType result_type(std::initializer_list<const Tensor*> operands);

// ---- elementwise, more (unary.cpp, binary_extra.cpp, where.cpp, activation.cpp) ----
// x rounded to `decimals` decimal places (negative: to tens, hundreds...), halves to even; floats only.
TensorPtr round(const TensorPtr& x, int64_t decimals);
// x * x as torch's pow(x, 2) (PowBackward0); a bool tensor squares to int64.
TensorPtr square(const TensorPtr& x);
// The in-place form of the unary op `op` (sin_, floor_, ...): its result written into self.
void apply_(TensorPtr& self, const std::function<TensorPtr(const TensorPtr&)>& op, const char* name);
// Bool results, not differentiable.
TensorPtr isnan(const TensorPtr& x);
TensorPtr isinf(const TensorPtr& x);
TensorPtr isfinite(const TensorPtr& x);
TensorPtr logical_not(const TensorPtr& x);
// log(1 + exp(beta x)) / beta, and x itself where beta x > threshold.
TensorPtr softplus(const TensorPtr& x, double beta, double threshold);
// Elementwise max/min propagating nan; ties split the gradient in halves.
TensorPtr maximum(const TensorPtr& a, const TensorPtr& b);
TensorPtr minimum(const TensorPtr& a, const TensorPtr& b);
// a mod b with a's sign (C's fmod) or with b's sign (Python's %); an integer b of 0 is an error.
TensorPtr fmod(const TensorPtr& a, const TensorPtr& b);
TensorPtr remainder(const TensorPtr& a, const TensorPtr& b);
// floor(a / b) as Python's //; not differentiable (backward through it is an error, as in torch).
TensorPtr floor_divide(const TensorPtr& a, const TensorPtr& b);
TensorPtr atan2(const TensorPtr& a, const TensorPtr& b);
// The in-place form of the binary op `op` (fmod_, logical_and_, ...): op(self, other) written into self.
void apply_(TensorPtr& self, const TensorPtr& other, TensorPtr (*op)(const TensorPtr&, const TensorPtr&),
            const char* name);
TensorPtr logical_and(const TensorPtr& a, const TensorPtr& b);
TensorPtr logical_or(const TensorPtr& a, const TensorPtr& b);
TensorPtr logical_xor(const TensorPtr& a, const TensorPtr& b);
// |a - b| <= atol + rtol * |b| elementwise (a and b of one dtype); `op` names errors.
TensorPtr isclose(const TensorPtr& a, const TensorPtr& b, double rtol, double atol, bool equal_nan,
                  const char* op = "isclose");
bool allclose(const TensorPtr& a, const TensorPtr& b, double rtol, double atol, bool equal_nan);
// Same shape and equal values (after type promotion).
bool equal(const TensorPtr& a, const TensorPtr& b);
// cond ? a : b with broadcasting of all three and a, b promoted together; cond must be bool.
TensorPtr where(const TensorPtr& cond, const TensorPtr& a, const TensorPtr& b);
// self with `value` (a 0-d tensor or a number) where the bool mask is true; in self's dtype.
TensorPtr masked_fill(const TensorPtr& self, const TensorPtr& mask, const TensorPtr& value);
void masked_fill_(TensorPtr& self, const TensorPtr& mask, const TensorPtr& value);
// Indices of the nonzero elements, (count, ndim) int64 in row-major order.
TensorPtr nonzero(const TensorPtr& x);

// ---- reductions (reduce.cpp) ----
TensorPtr sum(const TensorPtr& x, std::optional<DType> dtype = std::nullopt);
TensorPtr sum(const TensorPtr& x, IntList dims, bool keepdim, std::optional<DType> dtype = std::nullopt);
TensorPtr mean(const TensorPtr& x);
TensorPtr mean(const TensorPtr& x, IntList dims, bool keepdim);
TensorPtr max(const TensorPtr& x);
TensorPtr min(const TensorPtr& x);
// (values, indices) along `dim`.
std::pair<TensorPtr, TensorPtr> max(const TensorPtr& x, int64_t dim, bool keepdim);
std::pair<TensorPtr, TensorPtr> min(const TensorPtr& x, int64_t dim, bool keepdim);
TensorPtr argmax(const TensorPtr& x, std::optional<int64_t> dim, bool keepdim);
TensorPtr argmin(const TensorPtr& x, std::optional<int64_t> dim, bool keepdim);

// ---- more reductions (reduce_stats.cpp); an empty `dims` reduces every dim ----
// Bool results: whether any (all) elements along dims are nonzero.
TensorPtr any(const TensorPtr& x, IntList dims, bool keepdim);
TensorPtr all(const TensorPtr& x, IntList dims, bool keepdim);
// Product (integers and bools as int64, wrapping around; `dtype` converts the input first).
TensorPtr prod(const TensorPtr& x, std::optional<DType> dtype);
TensorPtr prod(const TensorPtr& x, int64_t dim, bool keepdim, std::optional<DType> dtype);
// Variance and standard deviation (torch.std) with `correction` (1: unbiased); and each with the mean.
TensorPtr var(const TensorPtr& x, IntList dims, double correction, bool keepdim);
TensorPtr stddev(const TensorPtr& x, IntList dims, double correction, bool keepdim);
std::pair<TensorPtr, TensorPtr> var_mean(const TensorPtr& x, IntList dims, double correction, bool keepdim);
std::pair<TensorPtr, TensorPtr> std_mean(const TensorPtr& x, IntList dims, double correction, bool keepdim);
// log(sum(exp(x))) along dims, computed stably (shifted by the row's max).
TensorPtr logsumexp(const TensorPtr& x, IntList dims, bool keepdim);
// torch.linalg.vector_norm: ord 0 (nonzeros), 1, 2, +-inf or any p; `dtype` converts the input first.
TensorPtr vector_norm(const TensorPtr& x, double ord, IntList dims, bool keepdim, std::optional<DType> dtype);
// Max (min) values along dims; ties share the gradient evenly.
TensorPtr amax(const TensorPtr& x, IntList dims, bool keepdim);
TensorPtr amin(const TensorPtr& x, IntList dims, bool keepdim);
// Number of nonzero elements along dims (int64).
TensorPtr count_nonzero(const TensorPtr& x, IntList dims);

// ---- scans (scan.cpp): along one dim ----
// Running sum (product); integers and bools accumulate as int64; `dtype` converts the input first.
TensorPtr cumsum(const TensorPtr& x, int64_t dim, std::optional<DType> dtype);
TensorPtr cumprod(const TensorPtr& x, int64_t dim, std::optional<DType> dtype);
// Running max (min) and the index where it was reached (the last of equal values; NaN propagates).
std::pair<TensorPtr, TensorPtr> cummax(const TensorPtr& x, int64_t dim);
std::pair<TensorPtr, TensorPtr> cummin(const TensorPtr& x, int64_t dim);

// ---- sorting (sort.cpp): NaN sorts as the largest value; sorts are stable ----
std::pair<TensorPtr, TensorPtr> sort(const TensorPtr& x, int64_t dim, bool descending);
TensorPtr argsort(const TensorPtr& x, int64_t dim, bool descending);
// The k largest (smallest) along dim, in order.
std::pair<TensorPtr, TensorPtr> topk(const TensorPtr& x, int64_t k, int64_t dim, bool largest);
// The k-th smallest (k from 1) along dim.
std::pair<TensorPtr, TensorPtr> kthvalue(const TensorPtr& x, int64_t k, int64_t dim, bool keepdim);
// The lower median of all elements (nan if any is nan or there are none), or along dim.
TensorPtr median(const TensorPtr& x);
std::pair<TensorPtr, TensorPtr> median(const TensorPtr& x, int64_t dim, bool keepdim);

// ---- linear algebra (linalg.cpp) ----
TensorPtr mm(const TensorPtr& a, const TensorPtr& b);
TensorPtr addmm(const TensorPtr& bias, const TensorPtr& a, const TensorPtr& b, double beta, double alpha);
TensorPtr bmm(const TensorPtr& a, const TensorPtr& b);
TensorPtr matmul(const TensorPtr& a, const TensorPtr& b);
TensorPtr linear(const TensorPtr& x, const TensorPtr& weight, const TensorPtr& bias);
// torch.linalg.inv / det / slogdet / solve over (*, n, n) batches: LU with partial pivoting per matrix
// (linalg_solve.cpp); a singular matrix is an error for inv and solve, det 0 for det.
TensorPtr linalg_inv(const TensorPtr& a);
TensorPtr linalg_det(const TensorPtr& a);
std::pair<TensorPtr, TensorPtr> linalg_slogdet(const TensorPtr& a);  // (sign, log|det|)
TensorPtr linalg_solve(const TensorPtr& a, const TensorPtr& b);      // b (*, n, k), or (*, n) / (n,) a vector
// relu(linear(x, weight, bias)) as one op and one backward node, with the same bits (fastnn.compile's fusion).
TensorPtr linear_relu(const TensorPtr& x, const TensorPtr& weight, const TensorPtr& bias);

// ---- activations with parameters or along a dim (activation.cpp) ----
TensorPtr softmax(const TensorPtr& x, int64_t dim);
TensorPtr leaky_relu(const TensorPtr& x, double negative_slope);
// GELU, exact (erf) or with torch's tanh approximation.
TensorPtr gelu(const TensorPtr& x, bool tanh_approximation);
TensorPtr log_softmax(const TensorPtr& x, int64_t dim);

// ---- convolution and pooling (conv.cpp, pool.cpp) ----
TensorPtr conv2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                 IntList padding, IntList dilation, int64_t groups);
// relu(conv2d(...)) as one op (the ReLU in the output tiles' epilogue) with the same bits (fastnn.compile's fusion).
TensorPtr conv2d_relu(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                      IntList padding, IntList dilation, int64_t groups);
// Returns (output, indices); indices are flat h*W+w positions in each input plane.
std::pair<TensorPtr, TensorPtr> max_pool2d_with_indices(const TensorPtr& input, IntList kernel_size, IntList stride,
                                                        IntList padding, IntList dilation, bool ceil_mode);
TensorPtr avg_pool2d(const TensorPtr& input, IntList kernel_size, IntList stride, IntList padding, bool ceil_mode,
                     bool count_include_pad, std::optional<int64_t> divisor_override);
// Averages over windows chosen so the output has `output_size` (an int or (oH, oW)).
TensorPtr adaptive_avg_pool2d(const TensorPtr& input, IntList output_size);

// ---- dropout (dropout.cpp): identity when !train or p == 0 ----
TensorPtr dropout(const TensorPtr& x, double p, bool train);
// Drops whole channels of (N, C, *) inputs (Dropout2d).
TensorPtr feature_dropout(const TensorPtr& x, double p, bool train);

// ---- normalisation (normalization.cpp) ----
// Training mode normalises with batch statistics and updates running_mean/var in place.
TensorPtr batch_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias,
                     const TensorPtr& running_mean, const TensorPtr& running_var, bool training, double momentum,
                     double eps);

// ---- losses (loss.cpp); reduction: 0 none, 1 mean, 2 sum ----
enum class Reduction { None = 0, Mean = 1, Sum = 2 };
TensorPtr mse_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);
TensorPtr l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);
TensorPtr smooth_l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction, double beta);
// weight (optional) broadcasts against the input; inputs must lie in [0, 1].
TensorPtr binary_cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                               Reduction reduction);
// pos_weight (optional) weighs the positive term, broadcast along the last (class) dim.
TensorPtr binary_cross_entropy_with_logits(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                                           const TensorPtr& pos_weight, Reduction reduction);
TensorPtr nll_loss(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight, Reduction reduction,
                   int64_t ignore_index);
TensorPtr cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight, Reduction reduction,
                        int64_t ignore_index, double label_smoothing);

// ---- random numbers (random_ops.cpp): `gen` null draws from the default generator ----
TensorPtr rand(const Shape& shape, DType dtype, Generator* gen = nullptr);
TensorPtr randn(const Shape& shape, DType dtype, Generator* gen = nullptr);
// Integers in [low, high).
TensorPtr randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Generator* gen = nullptr);
// A random permutation of 0..n-1.
TensorPtr randperm(int64_t n, DType dtype, Generator* gen = nullptr);
// In-place fills; under autograd self's old values get a zero gradient (torch's Uniform/Normal/... nodes).
void uniform_(TensorPtr& self, double from, double to, Generator* gen = nullptr);
void normal_(TensorPtr& self, double mean, double std, Generator* gen = nullptr);
void exponential_(TensorPtr& self, double lambd, Generator* gen = nullptr);
// Integers in [from, to); from defaults to 0, to to the largest integer the dtype holds exactly, plus one.
void random_(TensorPtr& self, std::optional<int64_t> from, std::optional<int64_t> to, Generator* gen = nullptr);
void bernoulli_(TensorPtr& self, double p, Generator* gen = nullptr);
// p broadcast to self's shape.
void bernoulli_(TensorPtr& self, const TensorPtr& p, Generator* gen = nullptr);
// 1 with probability input[i] (BernoulliBackward0), or with probability p (not differentiable).
TensorPtr bernoulli(const TensorPtr& input, Generator* gen = nullptr);
TensorPtr bernoulli(const TensorPtr& input, double p, Generator* gen = nullptr);
// Normal draws with tensor means and/or standard deviations (broadcast); zero gradients, as torch's.
TensorPtr normal(const TensorPtr& mean, const TensorPtr& std, Generator* gen = nullptr);
TensorPtr normal(const TensorPtr& mean, double std, Generator* gen = nullptr);
TensorPtr normal(double mean, const TensorPtr& std, Generator* gen = nullptr);
TensorPtr normal(double mean, double std, const Shape& shape, DType dtype, Generator* gen = nullptr);
// Normal draws truncated to [a, b] by inverting the CDF (nn.init.trunc_normal_).
void trunc_normal_(TensorPtr& self, double mean, double std, double a, double b, Generator* gen = nullptr);
// Category indices drawn from each row of (unnormalised) weights, with or without replacement.
TensorPtr multinomial(const TensorPtr& input, int64_t num_samples, bool replacement, Generator* gen = nullptr);

}  // namespace fastnn
