# namd/production restart, written by matterstack and run by `matterstack restart`:
# continues this run from its newest restart files ({{ output_name }}.restart.coor,
# .vel, .xsc) for the steps it has left, so the run ends at step {{ steps }} in all.
set -eu
xsc={{ output_name }}.restart.xsc
first=$(awk '!/^#/ && NF { step = $1 } END { print step }' "$xsc")
case "$first" in
  ''|*[!0-9]*) echo "restart.sh: no step number in $xsc" >&2; exit 1 ;;
esac
last={{ steps }}
left=$((last - first))
if [ "$left" -lt 0 ]; then left=0; fi
# The earlier output is kept in output.before-restart.log; NAMD writes a fresh output.log.
if [ -f output.log ]; then cat output.log >> output.before-restart.log && rm -f output.log; fi
grep -v -e '^bincoordinates ' -e '^binvelocities ' -e '^extendedSystem ' \
  -e '^firsttimestep ' -e '^run ' config.namd > restart.namd
cat >> restart.namd <<EOF_NAMD

# continue from the restart files of step $first
bincoordinates     {{ output_name }}.restart.coor
binvelocities      {{ output_name }}.restart.vel
extendedSystem     {{ output_name }}.restart.xsc
firsttimestep      $first
DCDfile            {{ output_name }}.from$first.dcd
XSTfile            {{ output_name }}.from$first.xst

run                $left
EOF_NAMD
echo "restart.sh: continuing from step $first; $left of $last steps left"
