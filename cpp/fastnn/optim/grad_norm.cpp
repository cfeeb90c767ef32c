#include "fastnn/optim/grad_norm.h"

#include <cmath>
#include <limits>

#include "fastnn/error.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// torch.linalg.vector_norm(x, ord) over every element, in x's dtype, composed from the reduction ops.
TensorPtr vector_norm(const TensorPtr& x, double ord, const char* op) {
  FASTNN_CHECK_TYPE(is_floating(x->dtype()), "[", op,
                    "] linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
                    dtype_name(x->dtype()));
  const double inf = std::numeric_limits<double>::infinity();
  FASTNN_CHECK_STATE(x->numel() > 0 || (ord >= 0 && ord != inf), "[", op, "] linalg.vector_norm cannot compute the ",
                     ord, " norm on an empty tensor because the operation does not have an identity");
  if (ord == 2) return sqrt(sum(mul(x, x)));
  if (ord == 1) return sum(abs(x));
  if (ord == inf) return max(abs(x));
  if (ord == -inf) return min(abs(x));
  if (ord == 0) return sum(to_dtype(compare(x, scalar_tensor(0, x->dtype(), true), CompareOp::Ne), x->dtype()));
  return pow(sum(pow(abs(x), ord)), 1 / ord);
}

}  // namespace

TensorPtr total_norm(const std::vector<TensorPtr>& tensors, double norm_type, const char* op) {
  FASTNN_CHECK(!tensors.empty(), "[", op, "] expected at least one tensor");
  std::vector<TensorPtr> norms;
  norms.reserve(tensors.size());
  DType widest = DType::Float32;
  for (const TensorPtr& t : tensors) {
    norms.push_back(vector_norm(t, norm_type, op));
    widest = promote(widest, t->dtype());
  }
  for (TensorPtr& n : norms) n = to_dtype(n, widest);
  return vector_norm(stack(norms, 0), norm_type, op);
}

}  // namespace fastnn
