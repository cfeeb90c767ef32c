// Vector and batched products beyond mm/bmm: dot, outer, mv, addmv, baddbmm, addbmm.
// Forwards are composed from mul/sum/mm/bmm with grad mode off; each records torch's single node.
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"
#include "fastnn/ops/internal.h"
#include "fastnn/ops/ops.h"

namespace fastnn {
namespace {

// A node keeping its forward inputs but the first `skip` (null for those): fn(grad, inputs, node) returns one
// gradient per input (null when not needed; the node's needs_input_grad says which).
class SavedInputsBackward : public Node {
 public:
  using Fn = std::function<std::vector<TensorPtr>(const TensorPtr&, const std::vector<TensorPtr>&, const Node&)>;
  SavedInputsBackward(const char* name, const std::vector<TensorPtr>& inputs, size_t skip, Fn fn)
      : name_(name), skip_(skip), fn_(std::move(fn)) {
    for (size_t i = skip; i < inputs.size(); ++i) saved_.emplace_back(inputs[i]);
  }
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    std::vector<TensorPtr> inputs(skip_);
    for (const SavedTensor& s : saved_) inputs.push_back(s.unpack(*this));
    return fn_(grads[0], inputs, *this);
  }
  void release_saved() override {
    for (SavedTensor& s : saved_) s.reset();
  }

 private:
  const char* name_;
  size_t skip_;
  std::vector<SavedTensor> saved_;
  Fn fn_;
};

void record_saved(const char* name, const TensorPtr& out, const std::vector<TensorPtr>& inputs, size_t skip,
                  SavedInputsBackward::Fn fn) {
  bool needed = false;
  for (const TensorPtr& t : inputs) needed = needed || any_requires_grad({&t});
  if (needed) record(std::make_shared<SavedInputsBackward>(name, inputs, skip, std::move(fn)), inputs, {out});
}

TensorPtr scaled(const TensorPtr& t, double s) { return s == 1 ? t : mul(t, scalar_tensor(s, DType::Float64, true)); }

void check_same_float(std::initializer_list<const TensorPtr*> ts, const char* op) {
  DType dt = (*ts.begin())->get()->dtype();
  for (const TensorPtr* t : ts)
    FASTNN_CHECK_TYPE(is_floating((*t)->dtype()) && (*t)->dtype() == dt, "[", op,
                      "] expected floating-point tensors "
                      "of one dtype, but got ",
                      dtype_name(dt), " and ", dtype_name((*t)->dtype()));
}

// beta * input + alpha * product (beta == 0 ignores the input, nan and inf included, as torch does).
TensorPtr add_scaled(const TensorPtr& input, const TensorPtr& product, double beta, double alpha, const char* op) {
  const Shape& shape = product->shape();
  const Shape& in = input->shape();
  int64_t lead = int64_t(shape.size()) - int64_t(in.size());
  FASTNN_CHECK(lead >= 0, "[", op, "] input of shape ", shape_str(in), " cannot be broadcast to ", shape_str(shape));
  for (int64_t d = 0; d < int64_t(in.size()); ++d)
    FASTNN_CHECK(in[d] == 1 || in[d] == shape[lead + d], "[", op, "] The expanded size of the tensor (",
                 shape[lead + d], ") must match the existing size (", in[d], ") at non-singleton dimension ", lead + d,
                 ".  Target sizes: ", shape_str(shape), ".  Tensor sizes: ", shape_str(in));
  GradModeGuard no_grad(false);
  TensorPtr p = scaled(product, alpha);
  if (beta == 0) return contiguous(p);
  return add(p, scaled(expand(input->detach(), shape), beta), 1);
}

}  // namespace

TensorPtr dot(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "dot");
  check_defined(b, "dot", "tensor");
  FASTNN_CHECK(a->dim() == 1 && b->dim() == 1, "[dot] 1D tensors expected, but got ", a->dim(), "D and ", b->dim(),
               "D tensors");
  FASTNN_CHECK_TYPE(a->dtype() == b->dtype(), "[dot] dot : expected both vectors to have same dtype, but found ",
                    dtype_name(a->dtype()), " and ", dtype_name(b->dtype()));
  FASTNN_CHECK(a->numel() == b->numel(), "[dot] inconsistent tensor size, expected tensor [", a->numel(), "] and src [",
               b->numel(), "] to have the same number of elements, but got ", a->numel(), " and ", b->numel(),
               " elements respectively");
  FASTNN_CHECK_TYPE(a->dtype() != DType::Bool, "[dot] \"dot\" not implemented for 'Bool'");
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = sum(mul(a->detach(), b->detach()));
  }
  record_saved("DotBackward0", out, {a, b}, 0, [](const TensorPtr& g, const std::vector<TensorPtr>& in, const Node& n) {
    return std::vector<TensorPtr>{n.needs_input_grad(0) ? mul(in[1], g) : nullptr,
                                  n.needs_input_grad(1) ? mul(in[0], g) : nullptr};
  });
  return out;
}

TensorPtr outer(const TensorPtr& a, const TensorPtr& b) {
  check_defined(a, "outer");
  check_defined(b, "outer", "vec2");
  FASTNN_CHECK(a->dim() == 1, "[outer] outer: Expected 1-D argument self, but got ", a->dim(), "-D");
  FASTNN_CHECK(b->dim() == 1, "[outer] outer: Expected 1-D argument vec2, but got ", b->dim(), "-D");
  return mul(reshape(a, {a->numel(), 1}), b);
}

TensorPtr mv(const TensorPtr& mat, const TensorPtr& vec) {
  check_defined(mat, "mv");
  check_defined(vec, "mv", "vec");
  FASTNN_CHECK(mat->dim() == 2 && vec->dim() == 1, "[mv] vector + matrix @ vector expected, got 1, ", mat->dim(), ", ",
               vec->dim());
  FASTNN_CHECK(mat->shape()[1] == vec->shape()[0], "[mv] size mismatch, got input (", mat->shape()[0], "), mat (",
               mat->shape()[0], "x", mat->shape()[1], "), vec (", vec->shape()[0], ")");
  check_same_float({&mat, &vec}, "mv");
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    TensorPtr col = mm(mat->detach(), reshape(vec->detach(), {vec->numel(), 1}));
    out = Tensor::make(col->storage(), {mat->shape()[0]}, {1}, 0, col->dtype());  // a new tensor, not a view
  }
  record_saved("MvBackward0", out, {mat, vec}, 0,
               [](const TensorPtr& g, const std::vector<TensorPtr>& in, const Node& n) {
                 return std::vector<TensorPtr>{n.needs_input_grad(0) ? outer(g, in[1]) : nullptr,
                                               n.needs_input_grad(1) ? mv(t(in[0]), g) : nullptr};
               });
  return out;
}

TensorPtr addmv(const TensorPtr& input, const TensorPtr& mat, const TensorPtr& vec, double beta, double alpha) {
  check_defined(input, "addmv");
  check_defined(mat, "addmv", "mat");
  check_defined(vec, "addmv", "vec");
  FASTNN_CHECK(mat->dim() == 2 && vec->dim() == 1 && input->dim() <= 1,
               "[addmv] vector + matrix @ vector expected, "
               "got ",
               input->dim(), ", ", mat->dim(), ", ", vec->dim());
  int64_t n = mat->shape()[0];
  FASTNN_CHECK(mat->shape()[1] == vec->shape()[0] && (input->numel() == 1 || input->numel() == n),
               "[addmv] size mismatch, got input (", input->dim() ? input->shape()[0] : 1, "), mat (", n, "x",
               mat->shape()[1], "), vec (", vec->shape()[0], ")");
  check_same_float({&input, &mat, &vec}, "addmv");
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = add_scaled(input, mv(mat->detach(), vec->detach()), beta, alpha, "addmv");
  }
  Shape in_shape = input->shape();
  record_saved("AddmvBackward0", out, {input, mat, vec}, 1,
               [in_shape, beta, alpha](const TensorPtr& g, const std::vector<TensorPtr>& in, const Node& node) {
                 TensorPtr ga = scaled(g, alpha);
                 return std::vector<TensorPtr>{node.needs_input_grad(0) ? sum_to(scaled(g, beta), in_shape) : nullptr,
                                               node.needs_input_grad(1) ? outer(ga, in[2]) : nullptr,
                                               node.needs_input_grad(2) ? mv(t(in[1]), ga) : nullptr};
               });
  return out;
}

namespace {

void check_batches(const TensorPtr& b1, const TensorPtr& b2, const char* op) {
  FASTNN_CHECK(b1->dim() == 3, "[", op, "] batch1 must be a 3D tensor");
  FASTNN_CHECK(b2->dim() == 3, "[", op, "] batch2 must be a 3D tensor");
  FASTNN_CHECK(b2->shape()[0] == b1->shape()[0] && b2->shape()[1] == b1->shape()[2], "[", op,
               "] Expected size for "
               "first two dimensions of batch2 tensor to be: [",
               b1->shape()[0], ", ", b1->shape()[2], "] but got: [", b2->shape()[0], ", ", b2->shape()[1], "].");
}

// Gradients of alpha * bmm(b1, b2) (summed over the batch or not, `g` shaped accordingly).
std::vector<TensorPtr> batch_grads(const TensorPtr& g3, const TensorPtr& b1, const TensorPtr& b2, const Node& n,
                                   size_t first) {
  return {n.needs_input_grad(first) ? bmm(g3, transpose(b2, 1, 2)) : nullptr,
          n.needs_input_grad(first + 1) ? bmm(transpose(b1, 1, 2), g3) : nullptr};
}

}  // namespace

TensorPtr baddbmm(const TensorPtr& input, const TensorPtr& b1, const TensorPtr& b2, double beta, double alpha) {
  check_defined(input, "baddbmm");
  check_defined(b1, "baddbmm", "batch1");
  check_defined(b2, "baddbmm", "batch2");
  check_batches(b1, b2, "baddbmm");
  check_same_float({&input, &b1, &b2}, "baddbmm");
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = add_scaled(input, bmm(b1->detach(), b2->detach()), beta, alpha, "baddbmm");
  }
  Shape in_shape = input->shape();
  record_saved("BaddbmmBackward0", out, {input, b1, b2}, 1,
               [in_shape, beta, alpha](const TensorPtr& g, const std::vector<TensorPtr>& in, const Node& n) {
                 std::vector<TensorPtr> r = batch_grads(scaled(g, alpha), in[1], in[2], n, 1);
                 r.insert(r.begin(), n.needs_input_grad(0) ? sum_to(scaled(g, beta), in_shape) : nullptr);
                 return r;
               });
  return out;
}

TensorPtr addbmm(const TensorPtr& input, const TensorPtr& b1, const TensorPtr& b2, double beta, double alpha) {
  check_defined(input, "addbmm");
  check_defined(b1, "addbmm", "batch1");
  check_defined(b2, "addbmm", "batch2");
  check_batches(b1, b2, "addbmm");
  check_same_float({&input, &b1, &b2}, "addbmm");
  TensorPtr out;
  {
    GradModeGuard no_grad(false);
    out = add_scaled(input, sum(bmm(b1->detach(), b2->detach()), {0}, false), beta, alpha, "addbmm");
  }
  Shape in_shape = input->shape();
  int64_t batch = b1->shape()[0];
  record_saved("AddbmmBackward0", out, {input, b1, b2}, 1,
               [in_shape, beta, alpha, batch](const TensorPtr& g, const std::vector<TensorPtr>& in, const Node& n) {
                 TensorPtr ga = scaled(g, alpha);
                 Shape s3{batch, ga->shape()[0], ga->shape()[1]};
                 std::vector<TensorPtr> r = batch_grads(expand(unsqueeze(ga, 0), s3), in[1], in[2], n, 1);
                 r.insert(r.begin(), n.needs_input_grad(0) ? sum_to(scaled(g, beta), in_shape) : nullptr);
                 return r;
               });
  return out;
}

}  // namespace fastnn
