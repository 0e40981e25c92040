# towlion(1) and the bash completion, generated at build time by the built
# `towlion` from its own command table (cli/gen.c), so they never drift
# from what the CLI accepts; installed by `cmake --install`.
#
# This file is also the generator script: cmake -P cli-docs.cmake with
# TL_CLI, TL_OUT and TL_ARGS runs the CLI into TL_OUT (atomically).
if(CMAKE_SCRIPT_MODE_FILE)
  separate_arguments(args UNIX_COMMAND "${TL_ARGS}")
  execute_process(COMMAND ${TL_CLI} ${args} OUTPUT_FILE ${TL_OUT}.tmp
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE ${TL_OUT}.tmp)
    message(FATAL_ERROR "${TL_CLI} ${TL_ARGS} failed: ${rc}")
  endif()
  file(RENAME ${TL_OUT}.tmp ${TL_OUT})
  return()
endif()

set(TL_MAN_PAGE ${PROJECT_BINARY_DIR}/towlion.1)
set(TL_BASH_COMPLETION ${PROJECT_BINARY_DIR}/towlion.bash)
foreach(doc "${TL_MAN_PAGE}|help --man" "${TL_BASH_COMPLETION}|help --completion bash")
  string(REPLACE "|" ";" doc "${doc}")
  list(GET doc 0 out)
  list(GET doc 1 args)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DTL_CLI=$<TARGET_FILE:towlion_cli> -DTL_OUT=${out}
            "-DTL_ARGS=${args}" -P ${CMAKE_CURRENT_LIST_FILE}
    DEPENDS towlion_cli ${CMAKE_CURRENT_LIST_FILE}
    COMMENT "Generating ${out}" VERBATIM)
endforeach()
add_custom_target(towlion_cli_docs ALL DEPENDS ${TL_MAN_PAGE} ${TL_BASH_COMPLETION})

install(FILES ${TL_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${TL_BASH_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME towlion)
