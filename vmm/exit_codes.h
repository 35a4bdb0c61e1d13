/* microvmm's exit statuses (documented in docs/microvmm.1 and --help). */
#ifndef MICROVMM_VMM_EXIT_CODES_H
#define MICROVMM_VMM_EXIT_CODES_H

#define EXIT_GUEST_OK	 0   /* the guest powered off or rebooted */
#define EXIT_GUEST_PANIC 123 /* the guest kernel panicked */
#define EXIT_TIMEOUT	 124 /* --timeout expired (as timeout(1)) */
#define EXIT_VMM_FAILURE 125 /* microvmm failed: bad flags or files, KVM errors */
#define EXIT_SIGNAL_BASE 128 /* 128+N: microvmm was stopped by signal N */
#define EXIT_ESCAPE	 130 /* the user typed Ctrl-] (as 128+SIGINT) */

#endif
