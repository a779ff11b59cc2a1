// The members of a small JSON object (a login body, a token's header and payload), read
// without exposing a JSON library: nlohmann/json, heavy to compile, stays in json_object.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace contacts {

class JsonObject {
 public:
  // `text` parsed when it is one JSON object; nullopt for anything else (invalid JSON, an
  // array, a number...). A member given twice counts with its last value.
  static std::optional<JsonObject> parse(std::string_view text);
  JsonObject(JsonObject&&) noexcept;
  JsonObject& operator=(JsonObject&&) noexcept;
  ~JsonObject();

  bool has(std::string_view name) const;
  // The member's value when it has that type; nullopt when it is missing or of another type.
  std::optional<std::string> string(std::string_view name) const;
  // An integer that fits int64_t (a larger one, or a fraction, is nullopt).
  std::optional<int64_t> integer(std::string_view name) const;
  std::optional<bool> boolean(std::string_view name) const;

 private:
  struct Value;
  explicit JsonObject(std::unique_ptr<Value> value);
  std::unique_ptr<Value> value_;
};

}  // namespace contacts
