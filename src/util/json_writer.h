// The one JSON writer: appends compact JSON to a std::string. Used for every response body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace contacts {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(bool v);
  JsonWriter& value(std::optional<int64_t> v);
  JsonWriter& null();
  // Appends already-serialised JSON (e.g. a stored meta_data object) as a value.
  JsonWriter& raw(std::string_view json);

  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

 private:
  void separator();
  std::string& out_;
  bool need_comma_ = false;
};

// Appends `s` as a JSON string literal (quotes included). Invalid UTF-8 bytes become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// {"detail": "<detail>"}
std::string json_detail(std::string_view detail);

}  // namespace contacts
