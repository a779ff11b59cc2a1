#include "store/postgres/jsonb_text.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace contacts::pg {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<std::string> object() {
    std::vector<std::pair<std::string, std::string>> members;  // key, printed value
    skip_space();
    if (!eat('{')) return std::nullopt;
    skip_space();
    if (!eat('}')) {
      for (;;) {
        std::pair<std::string, std::string> m;
        skip_space();
        if (!string(m.first)) return std::nullopt;
        skip_space();
        if (!eat(':')) return std::nullopt;
        skip_space();
        if (!value(m.second)) return std::nullopt;
        members.push_back(std::move(m));
        skip_space();
        if (eat('}')) break;
        if (!eat(',')) return std::nullopt;
      }
    }
    skip_space();
    if (i_ != s_.size()) return std::nullopt;
    // jsonb's order; the stable sort keeps equal keys in input order, the last one wins.
    std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
      if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
      return a.first < b.first;
    });
    std::string out = "{";
    for (size_t k = 0; k < members.size(); ++k) {
      if (k + 1 < members.size() && members[k + 1].first == members[k].first) continue;
      if (out.size() > 1) out += ", ";
      append_escaped(out, members[k].first);
      out += ": ";
      out += members[k].second;
    }
    out += '}';
    return out;
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  // A value, as jsonb prints it.
  bool value(std::string& out) {
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"') {
      std::string text;
      if (!string(text)) return false;
      append_escaped(out, text);
      return true;
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (literal(word)) {
        out = word;
        return true;
      }
    }
    // An integer: -?(0|[1-9][0-9]*), printed as written ("-0" would print as 0).
    const size_t start = i_;
    eat('-');
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
    if (s_[i_] == '0') {
      ++i_;
      if (i_ - start == 2) return false;  // -0
    } else {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
    out = s_.substr(start, i_ - start);
    return true;
  }

  bool hex4(uint32_t& v) {
    if (s_.size() - i_ < 4) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // A JSON string, unescaped into `out`.
  bool string(std::string& out) {
    if (!eat('"')) return false;
    for (;;) {
      if (i_ >= s_.size()) return false;
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp) || cp == 0) return false;  // jsonb refuses \u0000
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!eat('\\') || !eat('u') || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
  }

  // As PostgreSQL's escape_json.
  static void append_escaped(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
      switch (c) {
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[(c >> 4) & 0xF];
            out += kHex[c & 0xF];
          } else {
            out += c;
          }
      }
    }
    out += '"';
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<std::string> jsonb_text(std::string_view json) {
  if (json.empty()) return std::string("{}");
  return Parser(json).object();
}

}  // namespace contacts::pg
