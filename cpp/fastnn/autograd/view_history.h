// Autograd through in-place writes into views (torch's CopySlices and view regeneration).
//
// When an in-place op under autograd writes into a view, the base's values change too, so the base takes
// a new history: CopySlices(the base's old history, the op's node). The written view, and any other view
// of that base used later, then get their history regenerated from the base's: AsStridedBackward0.
#pragma once
#include "fastnn/tensor.h"

namespace fastnn {

// Throws unless an in-place op `op` on the view `self` can be recorded: its base must not be a leaf that
// requires grad (torch refuses that too) and must be contiguous (the geometry fastnn maps gradients by).
void check_view_rebase(const TensorPtr& self, const char* op);
// After an in-place op recorded a new history on the view `self`: moves that history onto the base
// (CopySlices) and makes the view's history a view of the base's new one.
void rebase_view_history(const TensorPtr& self);
// A view whose base took a new history after the view was made gets its history rebuilt from the base's
// (no-op otherwise).
void refresh_view_history(const TensorPtr& view);

}  // namespace fastnn
