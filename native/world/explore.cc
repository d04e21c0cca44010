#include "world/explore.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "capi/error.h"

namespace wl::world {

namespace {
constexpr float kPi = 3.14159265358979f;
constexpr size_t kHistory = 64;
constexpr int kLookahead = 8;

float wrap_angle(float a) {
  // A step turns by less than a lap, so one subtraction is the usual case; a value many laps
  // out (a corrupt input) is brought in with fmod first so the loops stay short. Values within
  // 64 laps keep the exact float results the loops always gave.
  if (!(std::fabs(a) < 128 * kPi)) a = std::isfinite(a) ? std::fmod(a, 2 * kPi) : 0.f;
  while (a >= kPi) a -= 2 * kPi;
  while (a < -kPi) a += 2 * kPi;
  return a;
}
float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }
}  // namespace

void validate_explore_config(const wl_explore_config& c) {
  auto prob = [](const char* name, float v) {
    if (!std::isfinite(v) || v < 0.f || v > 1.f) {
      std::ostringstream s;
      s << "explore config: " << name << " = " << v << " must be a probability in [0, 1]";
      throw Error(WL_ERR_INVALID_ARGUMENT, s.str());
    }
  };
  prob("p_stop", c.p_stop);
  prob("p_look", c.p_look);
  prob("p_bump", c.p_bump);
  prob("p_revisit", c.p_revisit);
  prob("p_light", c.p_light);
  prob("p_spawn", c.p_spawn);
  prob("p_backstep", c.p_backstep);
  prob("p_random", c.p_random);
  prob("p_idle", c.p_idle);
  prob("speed_min", c.speed_min);
  prob("speed_max", c.speed_max);
  prob("jitter", c.jitter);
  if (c.speed_min > c.speed_max) throw Error(WL_ERR_INVALID_ARGUMENT, "explore config: speed_min > speed_max");
  auto ticks = [](const char* name, int32_t lo, int32_t hi) {
    if (lo < 1 || hi < lo || hi > 100000) {
      throw Error(WL_ERR_INVALID_ARGUMENT, std::string("explore config: ") + name + " range [" + std::to_string(lo) + ", " + std::to_string(hi) + "] must satisfy 1 <= min <= max <= 100000");
    }
  };
  ticks("stop_min..stop_max", c.stop_min, c.stop_max);
  ticks("look_min..look_max", c.look_min, c.look_max);
  ticks("bump_min..bump_max", c.bump_min, c.bump_max);
  ticks("random_min..random_max", c.random_min, c.random_max);
  ticks("idle_min..idle_max", c.idle_min, c.idle_max);
}

Explorer::Explorer(uint64_t seed, const wl_explore_config& cfg) : cfg_(cfg) {
  validate_explore_config(cfg_);
  reset(seed);
}

void Explorer::reset(uint64_t seed) {
  rng_ = Rng(derive(seed, 3));
  mode_ = kWalk;
  timer_ = 0;
  speed_ = 1.f;
  strafe_noise_ = turn_noise_ = 0.f;
  path_.clear();
  path_pos_ = 0;
  history_.clear();
  last_x_ = last_y_ = -1;
  still_ticks_ = 0;
  level_ = nullptr;
  last_frame_ = 0;
}

void Explorer::plan(const World& w) {
  const Level& lv = w.level();
  const int here_x = int(w.pose().x), here_y = int(w.pose().y);
  const int here = here_y * lv.size + here_x;
  path_.clear();
  path_pos_ = 0;
  for (int attempt = 0; attempt < 8 && path_.empty(); ++attempt) {
    int goal;
    if (history_.size() > 2 && rng_.chance(cfg_.p_revisit)) {
      // An earlier place, not one of the last two: walking back closes a loop.
      goal = history_[rng_.range(0, int(history_.size()) - 3)];
    } else {
      const Room& r = lv.rooms[rng_.range(0, int(lv.rooms.size()) - 1)];
      goal = rng_.range(r.y, r.y + r.h - 1) * lv.size + rng_.range(r.x, r.x + r.w - 1);
    }
    if (goal == here || lv.wall(goal % lv.size, goal / lv.size)) continue;
    find_path(lv, here_x, here_y, goal % lv.size, goal / lv.size, path_, scratch_);
  }
  speed_ = rng_.uniform(cfg_.speed_min, cfg_.speed_max);
}

// Furthest of the next few path cells the player can walk to in a straight line, so walks cut
// corners of the 4-connected path instead of zig-zagging.
int Explorer::lookahead(const World& w) const {
  const Level& lv = w.level();
  const float r = w.config().player_radius + 0.05f;
  const float x0 = w.pose().x, y0 = w.pose().y;
  int best = int(path_pos_);
  const int end = int(std::min(path_.size(), path_pos_ + kLookahead));
  for (int j = int(path_pos_) + 1; j < end; ++j) {
    const float tx = path_[j] % lv.size + 0.5f, ty = path_[j] / lv.size + 0.5f;
    const float dx = tx - x0, dy = ty - y0;
    const int steps = int(std::sqrt(dx * dx + dy * dy) * 5) + 1;
    bool clear = true;
    for (int k = 1; k <= steps && clear; ++k) clear = box_free(lv, r, x0 + dx * k / steps, y0 + dy * k / steps);
    if (!clear) break;
    best = j;
  }
  return best;
}

void Explorer::start_random_burst() {
  mode_ = kRandom;
  timer_ = rng_.range(cfg_.random_min, cfg_.random_max);
  // Each channel: a third off, a third full (keyboard-like), a third analog (gamepad-like).
  for (float& v : random_action_) {
    const int kind = rng_.range(0, 2);
    v = kind == 0 ? 0.f : kind == 1 ? (rng_.chance(0.5f) ? 1.f : -1.f) : rng_.uniform(-1.f, 1.f);
  }
}

void Explorer::next(const World& w, float* a) {
  for (int i = 0; i < WL_ACTION_COUNT; ++i) a[i] = 0.f;
  const Camera& pose = w.pose();
  // Another world, another level, or the same world reset or restored to an earlier frame: the
  // plan no longer applies.
  if (level_ != &w.level() || level_seed_ != w.seed() || w.frame_index() < last_frame_) {
    path_.clear();
    path_pos_ = 0;
    if (level_seed_ != w.seed()) history_.clear();
    level_ = &w.level();
    level_seed_ = w.seed();
  }
  last_frame_ = w.frame_index();
  const float turn_rate = std::max(1e-3f, w.config().turn_speed_deg * kPi / 180.f);

  if (rng_.chance(cfg_.p_light)) a[WL_ACTION_LIGHT] = 1.f;
  if (rng_.chance(cfg_.p_spawn)) a[WL_ACTION_SPAWN] = 1.f;
  // Smooth noise (a leaky average of uniform kicks): hands are not perfectly steady.
  strafe_noise_ = 0.9f * strafe_noise_ + 0.3f * cfg_.jitter * rng_.uniform(-1.f, 1.f);
  turn_noise_ = 0.9f * turn_noise_ + 0.3f * cfg_.jitter * rng_.uniform(-1.f, 1.f);

  const float moved = std::fabs(pose.x - last_x_) + std::fabs(pose.y - last_y_);
  still_ticks_ = moved < 0.005f ? still_ticks_ + 1 : 0;
  last_x_ = pose.x;
  last_y_ = pose.y;

  if (mode_ == kWalk) {
    if (rng_.chance(cfg_.p_stop)) mode_ = kStop, timer_ = rng_.range(cfg_.stop_min, cfg_.stop_max);
    else if (rng_.chance(cfg_.p_look)) {
      mode_ = kLook, timer_ = rng_.range(cfg_.look_min, cfg_.look_max);
      look_dir_ = (rng_.chance(0.5f) ? 1.f : -1.f) * rng_.uniform(0.4f, 1.f);
    } else if (rng_.chance(cfg_.p_bump)) mode_ = kBump, timer_ = rng_.range(cfg_.bump_min, cfg_.bump_max);
    else if (rng_.chance(cfg_.p_backstep)) mode_ = kBack, timer_ = rng_.range(5, 20);
    // Drawn only when enabled, so the default policy's random stream (and every recorded
    // exploration) is unchanged.
    else if (cfg_.p_random > 0.f && rng_.chance(cfg_.p_random)) start_random_burst();
    else if (cfg_.p_idle > 0.f && rng_.chance(cfg_.p_idle)) mode_ = kIdle, timer_ = rng_.range(cfg_.idle_min, cfg_.idle_max);
  }

  switch (mode_) {
    case kStop:
      a[WL_ACTION_TURN] = turn_noise_;
      break;
    case kIdle:  // no key held: the action stays all zero
      break;
    case kLook:
      a[WL_ACTION_TURN] = look_dir_;
      break;
    case kBump:  // straight ahead whatever is there, sliding along walls on contact
      a[WL_ACTION_MOVE] = 1.f;
      a[WL_ACTION_TURN] = 0.5f * turn_noise_;
      break;
    case kRandom:
      a[WL_ACTION_MOVE] = random_action_[0];
      a[WL_ACTION_STRAFE] = random_action_[1];
      a[WL_ACTION_TURN] = random_action_[2];
      break;
    case kBack:
      a[WL_ACTION_MOVE] = -0.7f;
      a[WL_ACTION_STRAFE] = strafe_noise_;
      break;
    case kWalk: {
      const Level& lv = w.level();
      if (still_ticks_ > 15) path_.clear(), still_ticks_ = 0;  // stuck on a corner: replan
      // Where are we along the path? The nearest of the next few cells, if we are at it; aim
      // past it. (Walks cut corners, so cells are passed beside rather than through.)
      {
        size_t best = path_pos_;
        float best_d = 1e9f;
        const size_t end = std::min(path_.size(), path_pos_ + kLookahead);
        for (size_t j = path_pos_; j < end; ++j) {
          const float dx = path_[j] % lv.size + 0.5f - pose.x, dy = path_[j] / lv.size + 0.5f - pose.y;
          const float d = dx * dx + dy * dy;
          if (d < best_d) best_d = d, best = j;
        }
        if (best_d < 0.75f * 0.75f) path_pos_ = best + 1;
      }
      if (path_pos_ >= path_.size()) {
        if (!path_.empty()) {
          history_.push_back(path_.back());
          if (history_.size() > kHistory) history_.erase(history_.begin());
        }
        plan(w);
        if (path_.empty()) {  // nowhere to go from here: look around instead
          a[WL_ACTION_TURN] = 1.f;
          break;
        }
      }
      const int target = path_[lookahead(w)];
      const float tx = target % lv.size + 0.5f, ty = target / lv.size + 0.5f;
      const float err = wrap_angle(std::atan2(ty - pose.y, tx - pose.x) - pose.yaw);
      a[WL_ACTION_TURN] = err / turn_rate + 0.3f * turn_noise_;
      a[WL_ACTION_MOVE] = std::fabs(err) < 1.0f ? speed_ * std::cos(err) : 0.05f;
      a[WL_ACTION_STRAFE] = strafe_noise_;
      break;
    }
  }
  if (mode_ != kWalk && --timer_ <= 0) {
    if (mode_ == kBump || mode_ == kBack || mode_ == kRandom) path_.clear();  // we left the path: replan from here
    mode_ = kWalk;
    still_ticks_ = 0;  // standing still on purpose is not being stuck
  }
  for (int i = 0; i < WL_ACTION_LIGHT; ++i) a[i] = clampf(a[i], -1.f, 1.f);
}

}  // namespace wl::world
