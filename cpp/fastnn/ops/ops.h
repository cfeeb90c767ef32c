// Every public op of the engine. Each op validates its arguments (errors name the op and the
// numbers), computes its result with the kernels, and records its backward node when grad mode
// is on and an input requires grad. Names and argument orders follow torch.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "fastnn/tensor.h"

namespace fastnn {

class Generator;
using IntList = std::vector<int64_t>;
using OptDouble = std::optional<double>;

// ---- factories (factory.cpp) ----
TensorPtr empty(const Shape& shape, DType dtype);
TensorPtr zeros(const Shape& shape, DType dtype);
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

// ---- joining (join.cpp) ----
TensorPtr cat(const std::vector<TensorPtr>& tensors, int64_t dim);
TensorPtr stack(const std::vector<TensorPtr>& tensors, int64_t dim);

// ---- elementwise unary (unary.cpp, from the table in unary_table.h) ----
TensorPtr neg(const TensorPtr& x);
TensorPtr exp(const TensorPtr& x);
TensorPtr log(const TensorPtr& x);
TensorPtr sqrt(const TensorPtr& x);
TensorPtr abs(const TensorPtr& x);
TensorPtr relu(const TensorPtr& x);
TensorPtr sigmoid(const TensorPtr& x);
TensorPtr tanh(const TensorPtr& x);
TensorPtr reciprocal(const TensorPtr& x);
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

// ---- linear algebra (linalg.cpp) ----
TensorPtr mm(const TensorPtr& a, const TensorPtr& b);
TensorPtr addmm(const TensorPtr& bias, const TensorPtr& a, const TensorPtr& b, double beta, double alpha);
TensorPtr bmm(const TensorPtr& a, const TensorPtr& b);
TensorPtr matmul(const TensorPtr& a, const TensorPtr& b);
TensorPtr linear(const TensorPtr& x, const TensorPtr& weight, const TensorPtr& bias);

// ---- activations with parameters or along a dim (activation.cpp) ----
TensorPtr softmax(const TensorPtr& x, int64_t dim);
TensorPtr leaky_relu(const TensorPtr& x, double negative_slope);
// GELU, exact (erf) or with torch's tanh approximation.
TensorPtr gelu(const TensorPtr& x, bool tanh_approximation);
TensorPtr log_softmax(const TensorPtr& x, int64_t dim);

// ---- convolution and pooling (conv.cpp, pool.cpp) ----
TensorPtr conv2d(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, IntList stride,
                 IntList padding, IntList dilation, int64_t groups);
// Returns (output, indices); indices are flat h*W+w positions in each input plane.
std::pair<TensorPtr, TensorPtr> max_pool2d_with_indices(const TensorPtr& input, IntList kernel_size,
                                                        IntList stride, IntList padding, IntList dilation,
                                                        bool ceil_mode);
TensorPtr avg_pool2d(const TensorPtr& input, IntList kernel_size, IntList stride, IntList padding,
                     bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override);
// Averages over windows chosen so the output has `output_size` (an int or (oH, oW)).
TensorPtr adaptive_avg_pool2d(const TensorPtr& input, IntList output_size);

// ---- dropout (dropout.cpp): identity when !train or p == 0 ----
TensorPtr dropout(const TensorPtr& x, double p, bool train);
// Drops whole channels of (N, C, *) inputs (Dropout2d).
TensorPtr feature_dropout(const TensorPtr& x, double p, bool train);

// ---- normalisation (normalization.cpp) ----
// Training mode normalises with batch statistics and updates running_mean/var in place.
TensorPtr batch_norm(const TensorPtr& input, const TensorPtr& weight, const TensorPtr& bias, const TensorPtr& running_mean,
                     const TensorPtr& running_var, bool training, double momentum, double eps);

// ---- losses (loss.cpp); reduction: 0 none, 1 mean, 2 sum ----
enum class Reduction { None = 0, Mean = 1, Sum = 2 };
TensorPtr mse_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);
TensorPtr l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction);
TensorPtr smooth_l1_loss(const TensorPtr& input, const TensorPtr& target, Reduction reduction, double beta);
// weight (optional) broadcasts against the input; inputs must lie in [0, 1].
TensorPtr binary_cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight, Reduction reduction);
// pos_weight (optional) weighs the positive term, broadcast along the last (class) dim.
TensorPtr binary_cross_entropy_with_logits(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                                           const TensorPtr& pos_weight, Reduction reduction);
TensorPtr nll_loss(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                   Reduction reduction, int64_t ignore_index);
TensorPtr cross_entropy(const TensorPtr& input, const TensorPtr& target, const TensorPtr& weight,
                        Reduction reduction, int64_t ignore_index, double label_smoothing);


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
