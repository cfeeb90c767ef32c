// fastnn.compile's C++ side: a capture (Recorder) on the calling thread, and the captured Graph's replay.
#include "bindings/common.h"

namespace fastnn::bindings {
namespace {

// A capture open on the thread that made it; finish() or close() ends it (python/fastnn/_compile.py).
class Capture {
 public:
  explicit Capture(const std::vector<TensorPtr>& inputs) : recorder_(std::make_unique<capture::Recorder>(inputs)) {}
  std::shared_ptr<capture::Graph> finish(const std::vector<TensorPtr>& outputs) {
    FASTNN_CHECK_STATE(recorder_, "[compile] this capture has ended");
    auto graph = recorder_->finish(outputs);
    recorder_.reset();
    return graph;
  }
  void close() { recorder_.reset(); }

 private:
  std::unique_ptr<capture::Recorder> recorder_;
};

}  // namespace

void bind_capture(py::module_& m) {
  py::class_<capture::Graph, std::shared_ptr<capture::Graph>>(m, "_Graph")
      .def("replay", &capture::Graph::replay, py::arg("inputs"))
      .def("profile", &capture::Graph::profile, py::arg("inputs"))
      .def("stale_reason", &capture::Graph::stale_reason)
      .def("op_names", &capture::Graph::op_names);
  py::class_<Capture>(m, "_Capture")
      .def(py::init<const std::vector<TensorPtr>&>(), py::arg("inputs"))
      .def("finish", &Capture::finish, py::arg("outputs"))
      .def("close", &Capture::close);
}

}  // namespace fastnn::bindings
