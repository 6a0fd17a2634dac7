#!/bin/sh
# Open MPI's remote launcher for tests/multihost_test.cpp: mpirun runs `AGENT [options] HOST COMMAND...`
# as it would run ssh (--mca plm_rsh_agent AGENT); this runs COMMAND in the network namespace that
# plays HOST instead. ALEXNET_NETNS_HOSTS maps host names to namespaces: "10.1.0.2=ns-b 10.1.0.3=ns-c".
while [ $# -gt 0 ]; do
  case "$1" in
    -*) shift ;;  # ssh options mpirun may pass
    *) break ;;
  esac
done
host=$1
shift
for pair in $ALEXNET_NETNS_HOSTS; do
  case "$pair" in
    "$host="*) exec ip netns exec "${pair#*=}" /bin/sh -c "$*" ;;
  esac
done
echo "netns_rsh_agent.sh: no namespace plays host $host (ALEXNET_NETNS_HOSTS: $ALEXNET_NETNS_HOSTS)" >&2
exit 1
