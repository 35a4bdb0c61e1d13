#!/bin/bash
# microvmm-agent's guest side. microvmm runs it as root in /workspace, from the
# run's read-only setup share. It gives the agent user the workspace owner's
# ids, prepares HOME (agent configuration, git, ssh key) and /run/secrets,
# runs the agent (or a login shell) as the agent user, copies the agent's
# transcript and the shell history to the run's output share for the host's
# audit trail, and exits with the agent's status (124 on --timeout, 125 when
# the setup here fails).
#
# Never print or log a variable's value here: the API key is in the environment.
set -u
umask 022

SETUP=/run/microvmm-agent
OUT=/run/microvmm-agent-out

say() { printf 'microvmm-agent: %s\n' "$*" >&2; }
fail() {
	say "guest setup: $*"
	exit 125
}

# shellcheck source=/dev/null
. "$SETUP/config.sh" || fail "cannot read $SETUP/config.sh"

# The agent user gets the workspace owner's ids, as microvmm's --user agent
# would; a root-owned workspace (as in CI) means the agent runs as root.
agent_ids() {
	{ AGENT_UID=$(stat -c %u /workspace) && AGENT_GID=$(stat -c %g /workspace); } ||
		fail "/workspace is not there: the workspace share did not mount"
	if [ "$AGENT_UID" = 0 ]; then
		AGENT_USER=root AGENT_HOME=/root
		return
	fi
	AGENT_USER=agent
	id agent >/dev/null 2>&1 || fail "the image has no agent user"
	if [ "$(id -g agent)" != "$AGENT_GID" ]; then
		groupmod -o -g "$AGENT_GID" agent || fail "cannot give the agent group gid $AGENT_GID"
	fi
	if [ "$(id -u agent)" != "$AGENT_UID" ]; then
		usermod -o -u "$AGENT_UID" -g "$AGENT_GID" agent 2>/dev/null ||
			fail "cannot give the agent user uid $AGENT_UID"
	fi
	AGENT_HOME=$(getent passwd agent | cut -d: -f6)
	AGENT_HOME=${AGENT_HOME:-/home/agent}
	mkdir -p "$AGENT_HOME" && chown "$AGENT_UID:$AGENT_GID" "$AGENT_HOME"
}

# Runs a command as the agent user, keeping the environment.
as_agent() {
	if [ "$AGENT_UID" = 0 ]; then
		"$@"
	elif command -v setpriv >/dev/null; then
		setpriv --reuid="$AGENT_UID" --regid="$AGENT_GID" --init-groups -- "$@"
	else
		runuser -u agent -- "$@"
	fi
}

# Writes stdin to a file in HOME owned by the agent user.
home_file() {
	install -d -o "$AGENT_UID" -g "$AGENT_GID" -m 0700 "$(dirname "$1")" &&
		cat >"$1" && chown "$AGENT_UID:$AGENT_GID" "$1" && chmod 0600 "$1"
}

# An API URL on the host's loopback names @GATEWAY@: passt maps the default
# gateway's address to the host's 127.0.0.1 (microvmm --allow-host-loopback).
GATEWAY=
api_url() {
	local hex
	case $MVA_API_URL in
	*@GATEWAY@*) ;;
	*) return 0 ;;
	esac
	hex=$(awk '$2 == "00000000" && $3 != "00000000" { print $3; exit }' /proc/net/route)
	[ -n "$hex" ] || fail "no default gateway, so the host's loopback cannot be reached"
	GATEWAY=$(printf '%d.%d.%d.%d' "0x${hex:6:2}" "0x${hex:4:2}" "0x${hex:2:2}" "0x${hex:0:2}")
	MVA_API_URL=${MVA_API_URL//@GATEWAY@/$GATEWAY}
}

# Each CLI's own way to an endpoint and its phone-home switches (agent-cli-notes.md).
setup_agent() {
	local text
	case $MVA_AGENT in
	claude)
		# The VM is the sandbox: Claude Code then accepts
		# --dangerously-skip-permissions even as root.
		export IS_SANDBOX=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
		[ -z "$MVA_API_URL" ] || export ANTHROPIC_BASE_URL="$MVA_API_URL"
		;;
	codex)
		# The built-in provider reads CODEX_API_KEY; our provider (--api-base)
		# names OPENAI_API_KEY as its env_key. Either variable may be given.
		if [ -n "${OPENAI_API_KEY:-}" ] && [ -z "${CODEX_API_KEY:-}" ]; then
			export CODEX_API_KEY="$OPENAI_API_KEY"
		elif [ -n "${CODEX_API_KEY:-}" ] && [ -z "${OPENAI_API_KEY:-}" ]; then
			export OPENAI_API_KEY="$CODEX_API_KEY"
		fi
		export CODEX_HOME="$AGENT_HOME/.codex"
		text=$(<"$SETUP/codex-config.toml") || fail "no codex configuration"
		printf '%s\n' "${text//@GATEWAY@/$GATEWAY}" | home_file "$CODEX_HOME/config.toml" ||
			fail "cannot write $CODEX_HOME/config.toml"
		;;
	gemini)
		[ -z "$MVA_API_URL" ] || export GOOGLE_GEMINI_BASE_URL="$MVA_API_URL"
		export GEMINI_CLI_TRUST_WORKSPACE=true
		home_file "$AGENT_HOME/.gemini/settings.json" <"$SETUP/gemini-settings.json" ||
			fail "cannot write the Gemini CLI settings"
		;;
	esac
}

# /run/secrets: a tmpfs of its own, each file 0400 and the agent's.
setup_secrets() {
	local name
	[ -n "$MVA_SECRETS" ] || return 0
	{ mkdir -p /run/secrets &&
		mount -t tmpfs -o mode=0500,nosuid,nodev,noexec,size=16m microvmm-secrets /run/secrets; } ||
		fail "cannot mount a tmpfs on /run/secrets"
	for name in $MVA_SECRETS; do
		install -o "$AGENT_UID" -g "$AGENT_GID" -m 0400 "$SETUP/secrets/$name" \
			"/run/secrets/$name" || fail "cannot install secret $name"
	done
	chown "$AGENT_UID:$AGENT_GID" /run/secrets
}

setup_git() {
	[ -z "$MVA_GIT_NAME" ] || as_agent git config --global user.name "$MVA_GIT_NAME" ||
		fail "cannot set git user.name"
	[ -z "$MVA_GIT_EMAIL" ] || as_agent git config --global user.email "$MVA_GIT_EMAIL" ||
		fail "cannot set git user.email"
}

# An ephemeral deploy key: made in the guest, gone with it; only the public half is printed.
setup_ssh_key() {
	[ "$MVA_SSH_KEY" = 1 ] || return 0
	printf 'Host *\n\tStrictHostKeyChecking accept-new\n' |
		home_file "$AGENT_HOME/.ssh/config" || fail "cannot write ~/.ssh/config"
	as_agent ssh-keygen -q -t ed25519 -N '' -C "microvmm-agent-$MVA_RUN_ID" \
		-f "$AGENT_HOME/.ssh/id_ed25519" </dev/null || fail "ssh-keygen failed"
	say "ephemeral deploy key for this run (gone when it ends):"
	say "$(cat "$AGENT_HOME/.ssh/id_ed25519.pub")"
}

agent_command() {
	case $MVA_MODE:$MVA_AGENT in
	shell:*) CMD=(bash -l) ;;
	task:claude) CMD=(claude -p "$MVA_TASK" --dangerously-skip-permissions) ;;
	interactive:claude) CMD=(claude --dangerously-skip-permissions) ;;
	task:codex)
		CMD=(codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check
			"$MVA_TASK")
		;;
	interactive:codex) CMD=(codex --dangerously-bypass-approvals-and-sandbox) ;;
	task:gemini) CMD=(gemini -p "$MVA_TASK" --yolo) ;;
	interactive:gemini) CMD=(gemini --yolo) ;;
	*) fail "unknown agent or mode '$MVA_AGENT' '$MVA_MODE'" ;;
	esac
}

# The transcript and history, copied as root into the output share; the host
# copies them on (bounded, without following symlinks, redacted).
save_audit() {
	local pair src
	for pair in .claude/projects:claude-projects .codex/sessions:codex-sessions \
		.gemini/tmp:gemini-tmp; do
		src=$AGENT_HOME/${pair%%:*}
		[ -d "$src" ] && cp -R -P --preserve=timestamps "$src" "$OUT/${pair#*:}" 2>/dev/null
	done
	[ -f "$AGENT_HOME/.bash_history" ] && cp -P "$AGENT_HOME/.bash_history" "$OUT/bash_history"
	if [ "$AGENT_HOME" != /root ] && [ -f /root/.bash_history ]; then
		cp -P /root/.bash_history "$OUT/root_bash_history"
	fi
	sync
}

agent_ids
api_url
export HOME="$AGENT_HOME" USER="$AGENT_USER" LOGNAME="$AGENT_USER" SHELL=/bin/bash
export HISTFILE="$AGENT_HOME/.bash_history" HISTTIMEFORMAT='%F %T '
setup_agent
setup_secrets
setup_git
setup_ssh_key
agent_command

# microvmm passes SIGINT/SIGTERM/SIGHUP to this process group: the agent gets
# them directly; here they must only not stop the transcript's copy. A handler,
# not '' (ignored signals would stay ignored in the agent).
trap : INT TERM HUP
cd /workspace || fail "cannot enter /workspace"
if [ "$MVA_TIMEOUT" != 0 ]; then
	# --foreground: the agent stays in this process group, on the terminal.
	CMD=(timeout --foreground -k 10 "$MVA_TIMEOUT" "${CMD[@]}")
fi
if [ "$MVA_MODE" = task ]; then
	as_agent "${CMD[@]}" </dev/null
else
	as_agent "${CMD[@]}"
fi
status=$?
[ "$MVA_TIMEOUT" = 0 ] || [ "$status" != 124 ] || say "the agent was stopped after --timeout $MVA_TIMEOUT s"
save_audit
exit "$status"
