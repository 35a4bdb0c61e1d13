#!/bin/sh
# Scenario "fs-bench": file system speed over virtio-fs (bench/fs runs it
# under microvmm and QEMU alike). The VMM provides a virtio-fs device; this
# script mounts it itself, by the tag given as microvmm.fstag=TAG on the
# kernel command line, at /fsbench (left alone if something is mounted there
# already), then times, as root:
#   write   dd of microvmm.fs_mb MiB (default 256, bs=1M) with conv=fsync
#   read    the same file after sync and drop_caches
#   create  microvmm.fs_files small files (default 2000), one shell echo each
#   stat    a test -f of each of them after sync and drop_caches
# and prints "MICROVMM-REPORT fs mb=.. files=.. write_s=.. read_s=..
# create_s=.. stat_s=.." (seconds from /proc/uptime, 10 ms steps), or
# "MICROVMM-REPORT fs error=WHAT", then powers off.
echo MICROVMM-CMD-START
# shellcheck disable=SC2034 # read by lib-bench
bench_kind=fs
# shellcheck source=/dev/null # lib-bench.sh, installed beside this script
. /usr/share/microvmm/tests/lib-bench
tag=$(arg 'microvmm\.fstag')
mb=$(arg 'microvmm\.fs_mb')
files=$(arg 'microvmm\.fs_files')
mb=${mb:-256}
files=${files:-2000}
d=/fsbench
[ -n "$tag" ] || fail no-microvmm.fstag
mkdir -p $d
grep -q " $d virtiofs " /proc/mounts || mount -t virtiofs "$tag" $d || fail "mount-$tag"
rm -rf $d/big $d/small

t=$(now)
dd if=/dev/zero of=$d/big bs=1M count="$mb" conv=fsync 2>/dev/null || fail write
write_s=$(since "$t")
sync
echo 3 >/proc/sys/vm/drop_caches
t=$(now)
dd if=$d/big of=/dev/null bs=1M 2>/dev/null || fail read
read_s=$(since "$t")
[ "$(stat -c %s $d/big)" = $((mb * 1048576)) ] || fail size
rm -f $d/big

mkdir $d/small || fail mkdir
t=$(now)
i=0
while [ $i -lt "$files" ]; do
	echo $i >$d/small/f$i || fail create
	i=$((i + 1))
done
create_s=$(since "$t")
sync
echo 3 >/proc/sys/vm/drop_caches
t=$(now)
i=0
while [ $i -lt "$files" ]; do
	[ -f $d/small/f$i ] || fail stat
	i=$((i + 1))
done
stat_s=$(since "$t")
rm -rf $d/small

echo "MICROVMM-REPORT fs mb=$mb files=$files write_s=$write_s read_s=$read_s create_s=$create_s stat_s=$stat_s"
cd / && umount $d
poweroff -f
