/* The agent's transcript and shell history: from the guest's output share into the audit trail. */
#ifndef MICROVMM_LAUNCHER_TRANSCRIPT_H
#define MICROVMM_LAUNCHER_TRANSCRIPT_H

#include "launcher/fstree.h"
#include "launcher/redact.h"

/*
 * The guest wrote these files, so they are copied best effort, bounded,
 * without following symlinks and redacted: at most TRANSCRIPT_MAX_FILES
 * files and TRANSCRIPT_MAX_BYTES in all (one file at most
 * TRANSCRIPT_MAX_FILE_BYTES), 32 directory levels. Call after the VM ended.
 */
#define TRANSCRIPT_MAX_FILES	  10000
#define TRANSCRIPT_MAX_BYTES	  (256ULL << 20)
#define TRANSCRIPT_MAX_FILE_BYTES (64ULL << 20)
#define TRANSCRIPT_MAX_DEPTH	  32

/*
 * Copies what src_fd (the output share) holds into dir name under
 * audit_fd, unless src_fd is empty. Returns 0 (st says what was left out)
 * or -errno.
 */
int transcript_save(int src_fd, int audit_fd, const char *name, const struct redact_set *set,
		    struct fstree_stats *st) __attribute__((warn_unused_result));

#endif
