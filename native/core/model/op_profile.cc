#include "model/op_profile.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "ops/op_describe.h"

namespace wl {

void OpProfile::add(const OpCall& call, double ms) {
  Row& r = rows_[{op_name(op_id(call)), op_shape_text(call)}];
  r.count += 1;
  r.ms += ms;
  r.flops += op_flops(call);
}

namespace {

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string OpProfile::json(const std::string& machine, const std::string& backend_fields) const {
  using Entry = std::pair<const std::pair<std::string, std::string>*, const Row*>;
  std::vector<Entry> order;
  double total = 0;
  for (const auto& [key, row] : rows_) {
    order.push_back({&key, &row});
    total += row.ms;
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry& a, const Entry& b) { return a.second->ms > b.second->ms; });
  std::string out = "{\"bench\":\"cpu_op_profile\",\"machine\":\"" + escaped(machine) + "\"";
  if (!backend_fields.empty()) out += "," + backend_fields;
  char buf[96];
  std::snprintf(buf, sizeof buf, ",\"total_ms\":%.4f,\"ops\":[", total);
  out += buf;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& [key, row] = order[i];
    // GFLOP/s over the summed time: a rate only where the op does arithmetic.
    const double gflops = row->ms > 0 ? row->flops / (row->ms * 1e-3) / 1e9 : 0.0;
    char nums[192];
    std::snprintf(nums, sizeof nums,
                  "\",\"count\":%llu,\"ms\":%.4f,\"share\":%.4f,\"gflops\":%.2f}",
                  static_cast<unsigned long long>(row->count), row->ms,
                  total > 0 ? row->ms / total : 0.0, gflops);
    out += std::string(i ? "," : "") + "{\"op\":\"" + escaped(key->first) + "\",\"shape\":\"" +
           escaped(key->second) + nums;
  }
  out += "]}";
  return out;
}

}  // namespace wl
