#include "util/log.h"

#include <cstdio>
#include <string>

#include "util/json_writer.h"

namespace contacts {

void log_event(std::string_view level, std::string_view msg, std::string_view error) {
  std::string line;
  JsonWriter w(line);
  w.begin_object().field("level", level).field("msg", msg);
  if (!error.empty()) w.field("error", error);
  w.end_object();
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace contacts
