#!/bin/bash
# cli.config: --config and --print-config through the microvmm binary, no KVM needed.
# Each printout validates against docs/config.schema.json and names the same keys; a printout
# read back with --config prints the same; each bad file ends microvmm with one line naming
# its key and exit 125, and leaves nothing behind.
#   tests/cli/config.sh MICROVMM
set -uo pipefail
microvmm=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
schema=$root/docs/config.schema.json
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	echo "SKIP: python3-jsonschema is missing (scripts/install-deps installs it)" >&2
	exit 77
fi
work=$(mktemp -d /tmp/microvmm-cli-config.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
check() { # NAME STATUS
	if [ "$2" = 0 ]; then echo "PASS: $1"; else echo "FAIL: $1"; failures=$((failures + 1)); fi
}

# The printout of each command line: valid against the schema, every schema key present, and
# the same once more when read back from a file.
lines=(
	"--kernel bz --cpus 2 --mem 1G"
	"--share $work:/workspace:ro --share-socket fs:/run/v.sock:/ext --env A=1 --env HOME --user root -- sh -c 'echo hi'"
	"--net user --allow example.com:443 --allow-host-loopback=8080 --allow-host-loopback --publish 8000:80/udp --ip 10.0.2.15/24@10.0.2.2 --dns 1.1.1.1 --mac 02:00:00:00:00:07"
	"--net tap=tap0 --net-log n.log --no-sandbox --seccomp=log --jail-user 64000:64001 --api-socket /run/vm1.sock"
	"--rootfs /srv/root --scratch 64M --timeout 30 --workdir /w --console-log c.log --verbose --boot-timeline --no-hugepages --share-cache never --share-xattr --virtiofsd /v --cmdline 'console=hvc0' --append quiet"
)
for i in "${!lines[@]}"; do
	eval "args=(${lines[$i]})"
	"$microvmm" --print-config "${args[@]}" >"p$i.json" 2>"p$i.err"
	check "print-config of line $i exits 0" $?
	python3 - "$schema" "p$i.json" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
assert set(doc) == set(schema["properties"]), set(doc) ^ set(schema["properties"])
PY
	check "line $i's printout matches docs/config.schema.json, key for key" $?
	"$microvmm" --config "p$i.json" --print-config >"q$i.json" 2>"q$i.err"
	[ -s "p$i.json" ] && cmp -s "p$i.json" "q$i.json"
	check "line $i: printout -> --config -> printout is the same" $?
done

# The command line wins: a scalar, a list, the command.
printf '{"kernel": "k", "cpus": 2, "env": ["A=1"], "command": ["make"]}' >win.json
"$microvmm" --config win.json --cpus 4 --env B=2 --print-config -- true >win.out
python3 -c '
import json, sys
d = json.load(open("win.out"))
assert (d["cpus"], d["env"], d["command"], d["kernel"]) == (4, ["B=2"], ["true"], "k"), d
'
check "command-line values replace the file's" $?

# Bad files: exit 125, one line naming the file and the key, no file left in /tmp.
bad() { # JSON EXPECTED-SUBSTRING
	printf '%s' "$1" >bad.json
	local before after rc
	before=$(ls /tmp | wc -l)
	"$microvmm" --config bad.json --print-config >bad.out 2>bad.err
	rc=$?
	after=$(ls /tmp | wc -l)
	[ "$rc" = 125 ] && [ "$(wc -l <bad.err)" = 1 ] && grep -qF -- "$2" bad.err &&
		[ ! -s bad.out ] && [ "$before" = "$after" ]
	rc=$?
	check "bad config $1 -> 125: $(cat bad.err)" "$rc"
}
bad '{"share": [{"host": "/tmp", "guest": "rel"}]}' 'config bad.json: share[0].guest: expected an absolute path'
bad '{"cpus": "two"}' 'cpus: expected a whole number'
bad '{"mem": "lots"}' "mem: --mem 'lots' is not a size"
bad '{"nett": "user"}' 'nett: unknown key'
bad '{"net": "user",}' 'line 1, column'
bad '{"allow": ["example.com"]}' '--allow needs a network'
"$microvmm" --config missing.json >out 2>err
[ $? = 125 ] && grep -q 'config missing.json: cannot open: No such file or directory' err
check "a missing --config file -> 125 naming it" $?
"$microvmm" --config >out 2>err
[ $? = 125 ] && grep -q "option '--config' needs a value" err
check "--config without a file -> 125" $?

# --env NAME takes the host's value at start: the printout keeps the name.
SECRET_FOR_TEST=hunter2 "$microvmm" --env SECRET_FOR_TEST --print-config >env.out
grep -q '"SECRET_FOR_TEST"' env.out && ! grep -q hunter2 env.out
check "--env NAME prints the name, never the host's value" $?

echo "cli.config: $failures failure(s)"
[ "$failures" = 0 ]
