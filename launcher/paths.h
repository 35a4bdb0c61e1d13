/* Where things are: microvmm, the agent image, the guest entry script, the audit directory. */
#ifndef MICROVMM_LAUNCHER_PATHS_H
#define MICROVMM_LAUNCHER_PATHS_H

#include <stddef.h>

/*
 * Everything is found from the launcher's own location, so an installed
 * copy (PREFIX/bin/microvmm-agent) and a build tree (build/microvmm-agent)
 * both work without configuration:
 *   microvmm      EXE_DIR/microvmm, else PATH
 *   image         EXE_DIR/../share/microvmm/agent, else EXE_DIR/agent
 *   entry script  EXE_DIR/../share/microvmm/guest-entry.sh, else
 *                 EXE_DIR/launcher/guest-entry.sh (CMake copies it there)
 */
#define PATHS_INSTALLED_IMAGE "../share/microvmm/agent"
#define PATHS_BUILD_IMAGE     "agent"
#define PATHS_INSTALLED_ENTRY "../share/microvmm/guest-entry.sh"
#define PATHS_BUILD_ENTRY     "launcher/guest-entry.sh"
#define PATHS_BUILD_COMMAND   "guest-image/build --agent build/agent"

/* The directory holding this executable (/proc/self/exe). Returns 0 or -errno. */
int paths_exe_dir(char *out, size_t len) __attribute__((warn_unused_result));

/* microvmm next to the launcher, else the first executable one on PATH. Returns 0 or -ENOENT. */
int paths_find_microvmm(const char *exe_dir, char *out, size_t len)
    __attribute__((warn_unused_result));

/*
 * The agent image: given (--image) or the default places; a directory
 * holding rootfs/. out is its real path. Returns 0 or -ENOENT with one line
 * in err naming the build command.
 */
int paths_find_image(const char *exe_dir, const char *given, char *out, size_t len, char *err,
		     size_t err_len) __attribute__((warn_unused_result));

/* The guest entry script. Returns 0 or -ENOENT. */
int paths_find_entry(const char *exe_dir, char *out, size_t len)
    __attribute__((warn_unused_result));

/*
 * The version of npm package `package` in IMAGE/manifest.lock (lines "npm
 * NAME VERSION INTEGRITY"). Returns 0, or -ENOENT when the file or line is
 * missing.
 */
int paths_agent_version(const char *image, const char *package, char *out, size_t len)
    __attribute__((warn_unused_result));

/*
 * The audit base directory: given (--audit-dir) as is, else
 * $XDG_STATE_HOME/microvmm/runs when XDG_STATE_HOME is absolute, else
 * $HOME/.local/state/microvmm/runs. Returns 0 or -ENOENT (no HOME).
 */
int paths_audit_base(const char *given, char *out, size_t len) __attribute__((warn_unused_result));

#endif
