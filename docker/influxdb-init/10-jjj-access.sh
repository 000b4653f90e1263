#!/bin/bash
# Run once by the influxdb image, after it set up the org, bucket and admin on an empty volume, with
# the admin's CLI config active. Makes InfluxQL work on the bucket and the two least-privileged
# users the stack needs; both speak the v1 compatibility API (/write, /query) with a password.
set -euo pipefail

# Every value first, so a missing one changes nothing.
bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?}"
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:?the influxdb image exports it after setup}"
collector_user="${INFLUXDB_COLLECTOR_USER:?}"
collector_password="${INFLUXDB_COLLECTOR_PASSWORD:?}"
grafana_user="${INFLUXDB_GRAFANA_USER:?}"
grafana_password="${INFLUXDB_GRAFANA_PASSWORD:?}"

# InfluxQL's database name is the bucket's name (the collectors' store.database, Grafana's dbName).
influx v1 dbrp create --db "$bucket" --rp autogen --bucket-id "$bucket_id" --default

influx v1 auth create --username "$collector_user" --password "$collector_password" \
  --read-bucket "$bucket_id" --write-bucket "$bucket_id" \
  --description "jjj collectors: write samples and KPI rollups, read them back"

influx v1 auth create --username "$grafana_user" --password "$grafana_password" \
  --read-bucket "$bucket_id" \
  --description "Grafana: read only"
