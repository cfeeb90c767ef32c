// Recurrent layers: fastnn._C._rnn (stacked, bidirectional layers) and _rnn_layer (one layer, for the
// cells); nn.RNN/LSTM/GRU and the cells in python/fastnn/nn/modules/rnn.py check arguments first.
#include "bindings/common.h"
#include "fastnn/ops/rnn.h"

namespace fastnn::bindings {

namespace {
RnnMode rnn_mode(const std::string& mode) {
  if (mode == "RNN_TANH") return RnnMode::Tanh;
  if (mode == "RNN_RELU") return RnnMode::Relu;
  if (mode == "LSTM") return RnnMode::Lstm;
  FASTNN_CHECK(mode == "GRU", "[rnn] unknown mode '", mode, "': expected RNN_TANH, RNN_RELU, LSTM or GRU");
  return RnnMode::Gru;
}
py::tuple result(const std::vector<TensorPtr>& r) {
  return py::make_tuple(r[0], r[1], r[2] ? py::cast(r[2]) : py::none());
}
}  // namespace

void bind_rnn(py::module_& m, TensorClass&) {
  m.def("_rnn", recorded("_rnn", [](const std::string& mode, const TensorPtr& input,
                                    const std::vector<int64_t>& batch_sizes, const TensorPtr& hx,
                                    const OptionalTensor& cx, const std::vector<TensorPtr>& weights, bool has_bias,
                                    bool has_proj, int64_t num_layers, bool bidirectional, double dropout, bool train) {
          std::vector<TensorPtr> r;
          {
            py::gil_scoped_release release;
            r = rnn(rnn_mode(mode), input, batch_sizes, hx, or_null(cx), weights, has_bias, has_proj, num_layers,
                    bidirectional, dropout, train);
          }
          return result(r);
        }));
  m.def("_rnn_layer",
        recorded("_rnn_layer", [](const std::string& mode, const TensorPtr& input,
                                  const std::vector<int64_t>& batch_sizes, bool reverse, const TensorPtr& h0,
                                  const OptionalTensor& c0, const TensorPtr& w_ih, const TensorPtr& w_hh,
                                  const OptionalTensor& b_ih, const OptionalTensor& b_hh, const OptionalTensor& w_hr) {
          std::vector<TensorPtr> r;
          {
            py::gil_scoped_release release;
            r = rnn_layer(rnn_mode(mode), input, batch_sizes, reverse, h0, or_null(c0), w_ih, w_hh, or_null(b_ih),
                          or_null(b_hh), or_null(w_hr));
          }
          return result(r);
        }));
}

}  // namespace fastnn::bindings
