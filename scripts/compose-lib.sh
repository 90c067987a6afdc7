# Helpers the compose-*.sh scripts source. They run docker-compose (v1) or
# `docker compose` (v2) on this repository's docker-compose.yml, in the
# project COMPOSE_PROJECT_NAME (default wsharness), and make sure nothing
# of that project is left behind.

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-wsharness}"
if [ -z "${COMPOSE:-}" ]; then
	if command -v docker-compose >/dev/null 2>&1; then COMPOSE=docker-compose; else COMPOSE="docker compose"; fi
fi

# compose runs the compose CLI on docker-compose.yml.
compose() {
	# shellcheck disable=SC2086 # COMPOSE is one or two words
	$COMPOSE -f docker-compose.yml "$@"
}

# project_containers lists every container of the project, one-off
# (`run`) containers included, running or not.
project_containers() {
	docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
}

# compose_down removes the project's containers and network. `down` does
# not always catch one-off containers whose `run` was interrupted, so any
# container still labelled with the project is removed by id.
compose_down() {
	compose --profile jobs down --remove-orphans --timeout 5 >/dev/null 2>&1 || true
	local left
	left=$(project_containers)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086 # one id per word
		docker rm -f $left >/dev/null 2>&1 || true
		compose --profile jobs down --remove-orphans --timeout 5 >/dev/null 2>&1 || true
	fi
	left=$(project_containers)
	if [ -n "$left" ]; then
		echo "compose: containers of project $COMPOSE_PROJECT_NAME are still there: $left" >&2
		return 1
	fi
}

# with_teardown arranges for compose_down to run when the script ends,
# however it ends: success, failure, Ctrl-C or SIGTERM. A second Ctrl-C
# during the teardown does not cut it short.
with_teardown() {
	trap 'rc=$?; trap "" INT TERM; echo "== compose: tearing down project $COMPOSE_PROJECT_NAME"; compose_down || rc=1; exit $rc' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# wait_healthy waits until each service's container reports healthy, at
# most 60 s; a container that exits or turns unhealthy fails at once,
# with its log.
wait_healthy() {
	local svc id status deadline=$((SECONDS + 60))
	for svc in "$@"; do
		id=$(compose ps -q "$svc")
		if [ -z "$id" ]; then
			echo "compose: service $svc has no container" >&2
			return 1
		fi
		while :; do
			status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
			case "$status" in
			healthy) break ;;
			unhealthy | exited | dead)
				echo "compose: $svc is $status:" >&2
				docker logs --tail 20 "$id" >&2 || true
				return 1
				;;
			esac
			if [ $SECONDS -ge $deadline ]; then
				echo "compose: $svc not healthy after 60 s (status $status)" >&2
				return 1
			fi
			sleep 0.5
		done
	done
}
