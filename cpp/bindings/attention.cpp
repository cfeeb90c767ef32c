// Attention bindings: fastnn._C._scaled_dot_product_attention (F.scaled_dot_product_attention checks the Python types).
#include "common.h"
#include "fastnn/ops/attention.h"

namespace fastnn::bindings {

void bind_attention(py::module_& m, TensorClass& /*cls*/) {
  m.def(
      "_scaled_dot_product_attention",
      recorded("_scaled_dot_product_attention",
               [](const TensorPtr& query, const TensorPtr& key, const TensorPtr& value, const OptionalTensor& attn_mask,
                  double dropout_p, bool is_causal, std::optional<double> scale, bool enable_gqa) {
                 return scaled_dot_product_attention(query, key, value, or_null(attn_mask), dropout_p, is_causal, scale,
                                                     enable_gqa);
               }),
      py::arg("query"), py::arg("key"), py::arg("value"), py::arg("attn_mask") = py::none(), py::arg("dropout_p") = 0.0,
      py::arg("is_causal") = false, py::arg("scale") = py::none(), py::arg("enable_gqa") = false,
      py::call_guard<py::gil_scoped_release>());
}

}  // namespace fastnn::bindings
