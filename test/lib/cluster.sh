# Sourced by shell tests: the version, name and log of the cluster at $PGPORT (as pg_virtualenv made it).
read -r CLUSTER_VERSION CLUSTER_NAME CLUSTER_LOG < <(pg_lsclusters -h | awk -v p="${PGPORT:-5432}" '$3 == p {print $1, $2, $7}')
export CLUSTER_VERSION CLUSTER_NAME CLUSTER_LOG
