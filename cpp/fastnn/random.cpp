#include "fastnn/random.h"

namespace fastnn {

const GeneratorPtr& default_generator() {
  static const auto* gen = new GeneratorPtr(std::make_shared<Generator>());  // leaked: outlives every user
  return *gen;
}

}  // namespace fastnn
