# The web console (issue 6): web/static/ and the vendor files of web/vendor.txt (from
# web/node_modules, installed by scripts/bootstrap) embedded into contacts_core by
# web/embed_assets.py, and the browser test (label `web`). Included by the top CMakeLists.txt.
set(WEB_DIR ${CMAKE_SOURCE_DIR}/web)
file(GLOB WEB_STATIC_FILES CONFIGURE_DEPENDS ${WEB_DIR}/static/*)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${WEB_DIR}/vendor.txt)
file(STRINGS ${WEB_DIR}/vendor.txt WEB_VENDOR_LINES REGEX "^[^#]")
set(WEB_VENDOR_FILES)
foreach(line IN LISTS WEB_VENDOR_LINES)
  string(REGEX REPLACE "^[^ ]+ +" "" vendor_file "${line}")
  if(NOT EXISTS ${WEB_DIR}/${vendor_file})
    message(FATAL_ERROR "web/${vendor_file} is missing: run scripts/bootstrap "
                        "(it installs web/node_modules with npm ci)")
  endif()
  list(APPEND WEB_VENDOR_FILES ${WEB_DIR}/${vendor_file})
endforeach()

set(WEB_ASSETS_CPP ${CMAKE_BINARY_DIR}/generated/web_assets.cpp)
add_custom_command(OUTPUT ${WEB_ASSETS_CPP}
  COMMAND ${Python3_EXECUTABLE} ${WEB_DIR}/embed_assets.py --web ${WEB_DIR} --out ${WEB_ASSETS_CPP}
  DEPENDS ${WEB_DIR}/embed_assets.py ${WEB_DIR}/vendor.txt ${WEB_STATIC_FILES} ${WEB_VENDOR_FILES}
  COMMENT "Embedding the web console's files"
  VERBATIM)
target_sources(contacts_web PRIVATE ${WEB_ASSETS_CPP})

# The console and /api/docs/ in headless Debian Chromium driven by playwright-core.
find_program(NODE_EXECUTABLE node REQUIRED)
add_test(NAME web_console
  COMMAND ${NODE_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/web/console_test.mjs
          --binary $<TARGET_FILE:contacts-api> --workdir ${CMAKE_BINARY_DIR}/web-test)
set_tests_properties(web_console PROPERTIES LABELS web TIMEOUT 300)
