// The activations with hyperparameters, the losses with their own kernels, embedding_bag and
// embedding_renorm_ (private fastnn._C functions; fastnn.nn.functional checks arguments and composes).
#include "bindings/common.h"
#include "fastnn/ops/activation_params.h"
#include "fastnn/ops/embedding_bag.h"
#include "fastnn/ops/loss_more.h"

namespace fastnn::bindings {

void bind_losses(py::module_& m, TensorClass&) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_mish", recorded("_mish", &mish), GilRelease());
  m.def("_hardswish", recorded("_hardswish", &hardswish), GilRelease());
  m.def("_hardsigmoid", recorded("_hardsigmoid", &hardsigmoid), GilRelease());
  m.def("_elu", recorded("_elu", &elu), GilRelease());
  m.def("_selu", recorded("_selu", &selu), GilRelease());
  m.def("_celu", recorded("_celu", &celu), GilRelease());
  m.def("_hardtanh", recorded("_hardtanh", &hardtanh), GilRelease());
  m.def("_hardshrink", recorded("_hardshrink", &hardshrink), GilRelease());
  m.def("_softshrink", recorded("_softshrink", &softshrink), GilRelease());
  m.def("_threshold", recorded("_threshold", &threshold), GilRelease());
  m.def("_elu_",
        recorded("_elu_",
                 [](TensorPtr x, double alpha) {
                   elu_(x, alpha);
                   return x;
                 }),
        GilRelease());
  m.def("_selu_",
        recorded("_selu_",
                 [](TensorPtr x) {
                   selu_(x);
                   return x;
                 }),
        GilRelease());
  m.def("_celu_",
        recorded("_celu_",
                 [](TensorPtr x, double alpha) {
                   celu_(x, alpha);
                   return x;
                 }),
        GilRelease());
  m.def("_hardtanh_",
        recorded("_hardtanh_",
                 [](TensorPtr x, double lo, double hi) {
                   hardtanh_(x, lo, hi);
                   return x;
                 }),
        GilRelease());
  m.def("_threshold_",
        recorded("_threshold_",
                 [](TensorPtr x, double th, double v) {
                   threshold_(x, th, v);
                   return x;
                 }),
        GilRelease());
  m.def("_mish_",
        recorded("_mish_",
                 [](TensorPtr x) {
                   apply_(x, [](const TensorPtr& s) { return mish(s); }, "mish_");
                   return x;
                 }),
        GilRelease());
  m.def("_hardswish_",
        recorded("_hardswish_",
                 [](TensorPtr x) {
                   apply_(x, [](const TensorPtr& s) { return hardswish(s); }, "hardswish_");
                   return x;
                 }),
        GilRelease());
  m.def("_hardsigmoid_",
        recorded("_hardsigmoid_",
                 [](TensorPtr x) {
                   apply_(x, [](const TensorPtr& s) { return hardsigmoid(s); }, "hardsigmoid_");
                   return x;
                 }),
        GilRelease());
  m.def("_clamp_min", recorded("_clamp_min", &clamp_min), GilRelease());
  m.def("_glu", recorded("_glu", &glu), GilRelease());
  m.def("_prelu", recorded("_prelu", &prelu), GilRelease());
  m.def("_huber_loss",
        recorded("_huber_loss", [](const TensorPtr& a, const TensorPtr& b, int r,
                                   double delta) { return huber_loss(a, b, Reduction(r), delta); }),
        GilRelease());
  m.def("_soft_margin_loss",
        recorded("_soft_margin_loss",
                 [](const TensorPtr& a, const TensorPtr& b, int r) { return soft_margin_loss(a, b, Reduction(r)); }),
        GilRelease());
  m.def("_multi_margin_loss",
        recorded("_multi_margin_loss",
                 [](const TensorPtr& a, const TensorPtr& b, int64_t p, double margin, const OptionalTensor& w, int r) {
                   return multi_margin_loss(a, b, p, margin, or_null(w), Reduction(r));
                 }),
        GilRelease());
  m.def("_multilabel_margin_loss",
        recorded("_multilabel_margin_loss", [](const TensorPtr& a, const TensorPtr& b,
                                               int r) { return multilabel_margin_loss(a, b, Reduction(r)); }),
        GilRelease());
  m.def("_embedding_bag",
        recorded("_embedding_bag",
                 [](const TensorPtr& weight, const TensorPtr& indices, const TensorPtr& offsets, int64_t mode,
                    bool scale_grad_by_freq, const OptionalTensor& psw, bool include_last_offset, int64_t padding_idx) {
                   return embedding_bag(weight, indices, offsets, mode, scale_grad_by_freq, or_null(psw),
                                        include_last_offset, padding_idx);
                 }),
        GilRelease());
  m.def(
      "_embedding_renorm_",
      recorded("_embedding_renorm_", [](TensorPtr weight, const TensorPtr& indices, double max_norm,
                                        double norm_type) { embedding_renorm_(weight, indices, max_norm, norm_type); }),
      GilRelease());
}

}  // namespace fastnn::bindings
