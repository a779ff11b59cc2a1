#include "demo/generator_format.h"

namespace contacts::demo {
namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

}  // namespace

std::string recased(std::string_view email) {
  std::string out(email);
  bool all_lower = true;
  for (const char c : out) all_lower = all_lower && !is_upper(c);
  for (size_t i = 0; i < out.size(); ++i) {
    const bool word_start = i == 0 || out[i - 1] == '.' || out[i - 1] == '_' || out[i - 1] == '@';
    if (all_lower && word_start && is_lower(out[i])) out[i] = static_cast<char>(out[i] - 32);
    if (!all_lower && is_upper(out[i])) out[i] = static_cast<char>(out[i] + 32);
  }
  return out;
}

}  // namespace contacts::demo
