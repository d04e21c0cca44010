// Wall time per op call, summed per (op, shape): the CPU backend's WL_CPU_PROFILE=1, which
// tells where a frame's time goes and how far each conv is from the arithmetic it does.
// The CUDA backend's WL_CUDA_PROFILE is its twin (times per op kind from GPU events).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "ops/op_table.h"

namespace wl {

class OpProfile {
 public:
  void add(const OpCall& call, double ms);
  bool empty() const { return rows_.empty(); }
  // One JSON line body: {"bench":"cpu_op_profile", <backend fields>, "total_ms":..,
  // "ops":[{"op","shape","count","ms","share","gflops"}...]} with rows by total time, largest
  // first. backend_fields is a JSON object body (the backend's describe_json()).
  std::string json(const std::string& machine, const std::string& backend_fields) const;

 private:
  struct Row {
    uint64_t count = 0;
    double ms = 0, flops = 0;
  };
  std::map<std::pair<std::string, std::string>, Row> rows_;  // (op name, shape text)
};

}  // namespace wl
