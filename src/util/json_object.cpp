#include "util/json_object.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace contacts {

struct JsonObject::Value {
  nlohmann::json json;
};

JsonObject::JsonObject(std::unique_ptr<Value> value) : value_(std::move(value)) {}
JsonObject::JsonObject(JsonObject&&) noexcept = default;
JsonObject& JsonObject::operator=(JsonObject&&) noexcept = default;
JsonObject::~JsonObject() = default;

std::optional<JsonObject> JsonObject::parse(std::string_view text) {
  auto value = std::make_unique<Value>();
  value->json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value->json.is_discarded() || !value->json.is_object()) return std::nullopt;
  return JsonObject(std::move(value));
}

bool JsonObject::has(std::string_view name) const { return value_->json.contains(name); }

std::optional<std::string> JsonObject::string(std::string_view name) const {
  const auto it = value_->json.find(name);
  if (it == value_->json.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<int64_t> JsonObject::integer(std::string_view name) const {
  const auto it = value_->json.find(name);
  if (it == value_->json.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

std::optional<bool> JsonObject::boolean(std::string_view name) const {
  const auto it = value_->json.find(name);
  if (it == value_->json.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

}  // namespace contacts
