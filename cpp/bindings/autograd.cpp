// Autograd from Python: graph nodes (grad_fn), backward/grad, grad mode, and Python-defined
// Functions recorded on the same tape.
#include "bindings/common.h"
#include "fastnn/autograd/engine.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/error.h"

namespace fastnn::bindings {
namespace {

// The backward of a fastnn.autograd.Function: calls the Python `backward(ctx, *grads)`.
class PyFunctionNode : public Node {
 public:
  PyFunctionNode(std::string name, py::object backward, py::object ctx, size_t num_inputs)
      : name_(std::move(name)), backward_(std::move(backward)), ctx_(std::move(ctx)), num_inputs_(num_inputs) {}
  ~PyFunctionNode() override {
    py::gil_scoped_acquire gil;
    backward_ = py::object();
    ctx_ = py::object();
  }
  std::string name() const override { return name_; }
  std::vector<TensorPtr> apply(std::vector<TensorPtr>& grads) override {
    py::gil_scoped_acquire gil;
    FASTNN_CHECK_STATE(ctx_, "Trying to backward through the graph a second time (", name_,
                       "); specify retain_graph=True the first time");
    py::tuple args(grads.size() + 1);
    args[0] = ctx_;
    for (size_t i = 0; i < grads.size(); ++i) args[i + 1] = py::cast(grads[i]);
    py::object r = backward_(*args);
    std::vector<TensorPtr> out;
    if (!py::isinstance<py::tuple>(r)) r = py::make_tuple(r);
    FASTNN_CHECK_STATE(py::len(r) >= num_inputs_, "function ", name_, " returned an incorrect number of gradients (expected ",
                       num_inputs_, ", got ", py::len(r), ")");
    for (size_t i = 0; i < num_inputs_; ++i) out.push_back(r[py::int_(i)].is_none() ? nullptr : r[py::int_(i)].cast<TensorPtr>());
    return out;
  }
  void release_saved() override {
    py::gil_scoped_acquire gil;
    if (ctx_ && py::hasattr(ctx_, "_release")) ctx_.attr("_release")();
  }
  int traverse(visitproc visit, void* arg) const {
    Py_VISIT(backward_.ptr());
    Py_VISIT(ctx_.ptr());
    return 0;
  }

 private:
  std::string name_;
  py::object backward_, ctx_;
  size_t num_inputs_;
};

py::tuple next_functions(const Node& n) {
  py::tuple t(n.next_edges().size());
  for (size_t i = 0; i < n.next_edges().size(); ++i) {
    const Edge& e = n.next_edges()[i];
    t[i] = py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), e.input_nr);
  }
  return t;
}

}  // namespace

int traverse_function_node(const Node& node, visitproc visit, void* arg) {
  const auto* fn = dynamic_cast<const PyFunctionNode*>(&node);
  return fn ? fn->traverse(visit, arg) : 0;
}

void bind_autograd(py::module_& m) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("name", &Node::name)
      .def_property_readonly("next_functions", &next_functions)
      .def_property_readonly("_sequence_nr", &Node::sequence_nr)
      .def("__repr__", [](py::handle self) {
        return str("<", self.cast<Node&>().name(), " object at 0x", std::hex, reinterpret_cast<uintptr_t>(self.ptr()), ">");
      });
  py::class_<AccumulateGrad, Node, std::shared_ptr<AccumulateGrad>>(m, "AccumulateGrad")
      .def_property_readonly("variable", &AccumulateGrad::variable);

  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("_set_grad_enabled", &GradMode::set_enabled);
  // a None gradient seeds a scalar root with one
  m.def("_backward", [](const std::vector<TensorPtr>& roots, const std::vector<OptionalTensor>& grads, bool retain_graph) {
    backward(roots, or_null(grads), retain_graph);
  }, py::call_guard<py::gil_scoped_release>());
  m.def("_grad", [](const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& inputs,
                    const std::vector<OptionalTensor>& grad_outputs, bool retain_graph, bool allow_unused) {
    return grad(outputs, inputs, or_null(grad_outputs), retain_graph, allow_unused);
  }, py::call_guard<py::gil_scoped_release>());
  m.def("_record_function", [](const std::string& name, py::object backward, py::object ctx, const std::vector<TensorPtr>& inputs,
                               const std::vector<TensorPtr>& outputs) {
    auto node = std::make_shared<PyFunctionNode>(name, backward, ctx, inputs.size());
    record(node, inputs, outputs);
  });
}

}  // namespace fastnn::bindings
