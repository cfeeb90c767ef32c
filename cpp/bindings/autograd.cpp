// Autograd from Python: graph nodes (grad_fn), backward/grad, grad mode, and Python-defined
// Functions recorded on the same tape.
#include "bindings/common.h"
#include "fastnn/autograd/engine.h"
#include "fastnn/autograd/grad_mode.h"
#include "fastnn/autograd/node.h"
#include "fastnn/autograd/view_history.h"
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
  bool supports_create_graph() const override { return true; }  // the user's backward runs under grad mode
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
    FASTNN_CHECK_STATE(py::len(r) >= num_inputs_, "function ", name_,
                       " returned an incorrect number of gradients (expected ", num_inputs_, ", got ", py::len(r), ")");
    for (size_t i = 0; i < num_inputs_; ++i)
      out.push_back(r[py::int_(i)].is_none() ? nullptr : r[py::int_(i)].cast<TensorPtr>());
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

// A Python callable kept by C++ (hooks live in nodes and tensors, which may die without the GIL).
struct PyCallable {
  py::object fn;
  explicit PyCallable(py::object f) : fn(std::move(f)) {}
  ~PyCallable() {
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
};

py::tuple grads_tuple(const std::vector<TensorPtr>& grads) {
  py::tuple t(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) t[i] = grads[i] ? py::cast(grads[i]) : py::none();
  return t;
}

// A hook's result: None keeps the gradients, else one gradient (or None) per slot.
std::vector<TensorPtr> hook_result(py::handle r, size_t n, const char* op) {
  if (r.is_none()) return {};
  if (!py::isinstance<py::tuple>(r) && !py::isinstance<py::list>(r)) r = py::make_tuple(r).release();
  FASTNN_CHECK_STATE(py::len(r) == n, "[", op, "] hook returned ", py::len(r), " gradients, expected ", n);
  std::vector<TensorPtr> out;
  for (py::handle g : r)
    out.push_back(g.is_none() ? nullptr : cast_arg<TensorPtr>(g, op, "hook's result", "a Tensor or None"));
  return out;
}

Tensor::GradHook grad_hook(py::object fn) {
  auto f = std::make_shared<PyCallable>(std::move(fn));
  return [f](const TensorPtr& g) -> TensorPtr {
    py::gil_scoped_acquire gil;
    py::object r = f->fn(g);
    return r.is_none() ? nullptr : cast_arg<TensorPtr>(r, "register_hook", "hook's result", "a Tensor or None");
  };
}

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
  py::class_<Node, std::shared_ptr<Node>>(m.attr("Node"))  // registered before Tensor (module.cpp)
      .def("name", &Node::name)
      .def_property_readonly("next_functions", &next_functions)
      .def_property_readonly("_sequence_nr", &Node::sequence_nr)
      // hooks (Python wraps the ids in RemovableHandles: fastnn/utils/hooks.py)
      .def("_add_post_hook",
           [](Node& n, py::object fn) {
             auto f = std::make_shared<PyCallable>(std::move(fn));
             return n.add_post_hook([f](const std::vector<TensorPtr>& gi, const std::vector<TensorPtr>& go) {
               py::gil_scoped_acquire gil;
               return hook_result(f->fn(grads_tuple(gi), grads_tuple(go)), gi.size(), "register_hook");
             });
           })
      .def("_add_pre_hook",
           [](Node& n, py::object fn) {
             auto f = std::make_shared<PyCallable>(std::move(fn));
             return n.add_pre_hook([f](const std::vector<TensorPtr>& go) {
               py::gil_scoped_acquire gil;
               return hook_result(f->fn(grads_tuple(go)), go.size(), "register_prehook");
             });
           })
      .def("_remove_hook", &Node::remove_hook)
      .def("__repr__", [](py::handle self) {
        return str("<", self.cast<Node&>().name(), " object at 0x", std::hex, reinterpret_cast<uintptr_t>(self.ptr()),
                   ">");
      });
  py::class_<AccumulateGrad, Node, std::shared_ptr<AccumulateGrad>>(m, "AccumulateGrad")
      .def_property_readonly("variable", &AccumulateGrad::variable);

  // Tensor.register_hook: a leaf keeps its hooks, a non-leaf's go on its grad_fn for its output.
  m.def("_add_grad_hook", [](const TensorPtr& t, py::object fn) -> std::pair<py::object, int64_t> {
    FASTNN_CHECK_STATE(t->requires_grad(),
                       "[register_hook] cannot register a hook on a tensor that doesn't require gradient");
    refresh_view_history(t);
    if (t->grad_fn())
      return {py::cast(t->grad_fn()), t->grad_fn()->add_tensor_pre_hook(t->output_nr(), grad_hook(std::move(fn)))};
    return {py::cast(t), t->add_grad_hook(grad_hook(std::move(fn)))};
  });
  m.def("_add_post_accumulate_grad_hook", [](const TensorPtr& t, py::object fn) {
    FASTNN_CHECK_STATE(t->requires_grad(),
                       "[register_post_accumulate_grad_hook] cannot register a hook on a tensor that doesn't require "
                       "gradient");
    FASTNN_CHECK_STATE(t->is_leaf(),
                       "[register_post_accumulate_grad_hook] post accumulate grad hooks cannot be registered on "
                       "non-leaf tensors");
    auto f = std::make_shared<PyCallable>(std::move(fn));
    return t->add_post_accumulate_hook([f](const TensorPtr& leaf) {
      py::gil_scoped_acquire gil;
      py::object r = f->fn(leaf);
      FASTNN_CHECK_TYPE(r.is_none(), "[register_post_accumulate_grad_hook] hook should return None, got ",
                        std::string(py::str(py::type::of(r).attr("__name__"))));
    });
  });
  m.def("_queue_callback", [](py::object fn) {
    auto f = std::make_shared<PyCallable>(std::move(fn));
    queue_callback([f] {
      py::gil_scoped_acquire gil;
      f->fn();
    });
  });
  m.def("_remove_grad_hook",
        recorded("_remove_grad_hook", [](const TensorPtr& t, int64_t id) { t->remove_grad_hook(id); }));
  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("_is_anomaly_enabled", &AnomalyMode::is_enabled);
  m.def("_set_anomaly_enabled", recorded("_set_anomaly_enabled", &AnomalyMode::set_enabled));
  m.def("_set_grad_enabled", recorded("_set_grad_enabled", &GradMode::set_enabled));
  // a None gradient seeds a scalar root with one
  m.def("_backward",
        recorded("_backward",
                 [](const std::vector<TensorPtr>& roots, const std::vector<OptionalTensor>& grads, bool retain_graph,
                    bool create_graph) { backward(roots, or_null(grads), retain_graph, create_graph); }),
        py::call_guard<py::gil_scoped_release>());
  m.def("_grad",
        recorded("_grad",
                 [](const std::vector<TensorPtr>& outputs, const std::vector<TensorPtr>& inputs,
                    const std::vector<OptionalTensor>& grad_outputs, bool retain_graph, bool allow_unused,
                    bool create_graph) {
                   return grad(outputs, inputs, or_null(grad_outputs), retain_graph, allow_unused, create_graph);
                 }),
        py::call_guard<py::gil_scoped_release>());
  m.def("_record_function",
        recorded("_record_function", [](const std::string& name, py::object backward, py::object ctx,
                                        const std::vector<TensorPtr>& inputs, const std::vector<TensorPtr>& outputs) {
          auto node = std::make_shared<PyFunctionNode>(name, backward, ctx, inputs.size());
          record(node, inputs, outputs);
        }));
}

}  // namespace fastnn::bindings
