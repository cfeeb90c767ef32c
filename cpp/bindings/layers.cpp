// Layer ops of fastnn.nn.functional beyond the core (ops/layers.h): 1-D and transposed convolution,
// adaptive max pooling, padding, interpolation, pixel shuffle, fold/unfold. Python normalises arguments.
#include "bindings/common.h"
#include "fastnn/ops/layers.h"

namespace fastnn::bindings {

void bind_layers(py::module_& m, TensorClass& /*cls*/) {
  using GilRelease = py::call_guard<py::gil_scoped_release>;
  m.def("_conv1d",
        recorded("_conv1d",
                 [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, IntList stride, IntList padding,
                    IntList dilation, int64_t groups) {
                   return conv1d(x, w, or_null(b), std::move(stride), std::move(padding), std::move(dilation), groups);
                 }),
        GilRelease());
  m.def("_conv_transpose1d",
        recorded("_conv_transpose1d",
                 [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, IntList stride, IntList padding,
                    IntList output_padding, int64_t groups, IntList dilation) {
                   return conv_transpose1d(x, w, or_null(b), stride, padding, output_padding, groups, dilation);
                 }),
        GilRelease());
  m.def("_conv_transpose2d",
        recorded("_conv_transpose2d",
                 [](const TensorPtr& x, const TensorPtr& w, const OptionalTensor& b, IntList stride, IntList padding,
                    IntList output_padding, int64_t groups, IntList dilation) {
                   return conv_transpose2d(x, w, or_null(b), stride, padding, output_padding, groups, dilation);
                 }),
        GilRelease());
  m.def("_adaptive_max_pool2d", recorded("_adaptive_max_pool2d", &adaptive_max_pool2d), GilRelease());
  m.def("_constant_pad_nd", recorded("_constant_pad_nd", &constant_pad_nd), GilRelease());
  m.def("_reflection_pad", recorded("_reflection_pad", &reflection_pad), GilRelease());
  m.def("_replication_pad", recorded("_replication_pad", &replication_pad), GilRelease());
  m.def("_circular_pad", recorded("_circular_pad", &circular_pad), GilRelease());
  m.def("_upsample", recorded("_upsample", &upsample), GilRelease());
  m.def("_pixel_shuffle", recorded("_pixel_shuffle", &pixel_shuffle), GilRelease());
  m.def("_pixel_unshuffle", recorded("_pixel_unshuffle", &pixel_unshuffle), GilRelease());
  m.def("_unfold_im2col", recorded("_unfold_im2col", &unfold_im2col), GilRelease());
  m.def("_fold_col2im", recorded("_fold_col2im", &fold_col2im), GilRelease());
}

}  // namespace fastnn::bindings
