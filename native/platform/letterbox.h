// Where a frame of one aspect ratio lands inside an output of another: the largest centred
// rectangle with the frame's aspect (black bars on the sides that do not fit).
#pragma once
#include <algorithm>

namespace wl::platform {

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
};

// integer_scale: for nearest presentation, snap to a whole multiple when one fits, so every
// source pixel covers the same number of screen pixels (no uneven rows).
inline Rect letterbox(int frame_w, int frame_h, int out_w, int out_h, bool integer_scale) {
  Rect r;
  if (frame_w <= 0 || frame_h <= 0 || out_w <= 0 || out_h <= 0) return r;
  double s = std::min(double(out_w) / frame_w, double(out_h) / frame_h);
  if (integer_scale && s >= 1.0) s = double(int(s));
  r.w = std::max(1, int(frame_w * s + 0.5));
  r.h = std::max(1, int(frame_h * s + 0.5));
  r.x = (out_w - r.w) / 2;
  r.y = (out_h - r.h) / 2;
  return r;
}

}  // namespace wl::platform
