# The agent CLIs' no-phone-home switches for login shells. Claude Code also
# reads them from /etc/claude-code/managed-settings.json; /etc/environment
# carries them through su and sudo.
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
export DISABLE_AUTOUPDATER=1
export DISABLE_TELEMETRY=1
export DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1
export DISABLE_INSTALLATION_CHECKS=1
