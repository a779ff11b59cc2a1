# Writes OUTPUT: a C++ source defining `std::string_view NAMESPACE::NAME()`, which returns the
# bytes of INPUT. Run at build time by add_custom_command (see CMakeLists.txt):
#   cmake -DINPUT=file -DOUTPUT=file.cpp -DNAMESPACE=contacts::api -DNAME=fn -P embed_file.cmake
foreach(var INPUT OUTPUT NAMESPACE NAME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: ${var} is not set")
  endif()
endforeach()
file(READ "${INPUT}" hex HEX)
# 64 bytes a line, as adjacent string literals of \xNN escapes (an escape ends at the next '\').
string(REPEAT "[0-9a-f]" 128 line)
string(REGEX REPLACE "(${line})" "\\1\"\n    \"" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
file(RELATIVE_PATH source "${CMAKE_CURRENT_LIST_DIR}/.." "${INPUT}")
file(WRITE "${OUTPUT}.tmp" "// Generated from ${source} by cmake/embed_file.cmake: do not edit.
#include <string_view>

namespace ${NAMESPACE} {

std::string_view ${NAME}() {
  static constexpr char kBytes[] =
    \"${escaped}\";
  return {kBytes, sizeof kBytes - 1};
}

}  // namespace ${NAMESPACE}
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
