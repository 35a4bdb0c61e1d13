# Libraries whose headers only their consumers see.
#
# Sources keep the project-root spelling (#include "vmm/sandbox/jail.h"), but there is no global
# include directory: each target gets a directory of its own under ${CMAKE_BINARY_DIR}/include
# that holds symbolic links to exactly the headers it lists, at the same relative paths. A library
# passes its public directory on to whatever links it (PUBLIC), its private one to its own sources
# only; so a file that includes a header of a library its target does not link fails to compile,
# and the link lines in the CMakeLists files are the dependency graph. Links rather than copies:
# editing a header needs no reconfigure, and make and ninja follow them for dependencies (compiler
# messages name the build-tree path of the link). The directory is emptied on every configure so
# a header dropped from a list does not linger.

# microvmm_headers(TARGET PUBLIC|PRIVATE|INTERFACE header...)
# Links each header (relative to the current source directory, or absolute) under
# ${CMAKE_BINARY_DIR}/include/<TARGET>[.private]/<its path from the project root> and adds that
# directory to TARGET's include directories with the given scope. Once per target and scope.
function(microvmm_headers target scope)
  if(scope STREQUAL "PRIVATE")
    set(dir ${CMAKE_BINARY_DIR}/include/${target}.private)
  else()
    set(dir ${CMAKE_BINARY_DIR}/include/${target})
  endif()
  file(REMOVE_RECURSE ${dir})
  file(MAKE_DIRECTORY ${dir})
  foreach(header ${ARGN})
    get_filename_component(abs ${header} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT EXISTS ${abs})
      message(FATAL_ERROR "${target}: no header ${abs}")
    endif()
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${abs})
    get_filename_component(parent ${dir}/${rel} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${abs} ${dir}/${rel} SYMBOLIC)
  endforeach()
  target_include_directories(${target} ${scope} ${dir})
endfunction()

# microvmm_library(NAME
#                  SOURCES file.c...             the library's sources, listed one by one
#                  [HEADERS file.h...]           headers its consumers may include
#                  [PRIVATE_HEADERS file.h...]   headers only its own sources include
#                  [PUBLIC_DEPS target...]       libraries its public headers need
#                  [PRIVATE_DEPS target...])     libraries only its sources need (still linked)
# A static library; paths are relative to the current source directory.
function(microvmm_library name)
  cmake_parse_arguments(PARSE_ARGV 1 lib "" ""
                        "SOURCES;HEADERS;PRIVATE_HEADERS;PUBLIC_DEPS;PRIVATE_DEPS")
  if(lib_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "microvmm_library(${name}): unknown arguments ${lib_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${name} STATIC ${lib_SOURCES} ${lib_HEADERS} ${lib_PRIVATE_HEADERS})
  microvmm_headers(${name} PUBLIC ${lib_HEADERS})
  if(lib_PRIVATE_HEADERS)
    microvmm_headers(${name} PRIVATE ${lib_PRIVATE_HEADERS})
  endif()
  target_link_libraries(${name} PUBLIC ${lib_PUBLIC_DEPS} PRIVATE ${lib_PRIVATE_DEPS})
endfunction()
