#!/usr/bin/env bash
# Runs once, when the postgres container first initializes its data folder (/docker-entrypoint-initdb.d): creates the
# role the nodes connect as and its database. The role is an ordinary one (no superuser, no BYPASSRLS), so PostgreSQL's
# row-level security stays a second wall between tenants behind every query's tenant filter; it owns the database, and
# the nodes create and migrate the catalog's tables at start. In that database the administrator also marks ts_match_vq
# (the function of tsvector @@ tsquery) leakproof, so content search may use its GIN index under row-level security (it
# raises no error that depends on the rows it reads; only a superuser can mark it). Needs SESSIONS_DB_PASSWORD;
# POSTGRES_USER is the admin.
set -euo pipefail
: "${SESSIONS_DB_PASSWORD:?set SESSIONS_DB_PASSWORD to the password of the role the nodes connect as}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v password="$SESSIONS_DB_PASSWORD" <<'SQL'
CREATE ROLE sessions LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'password';
CREATE DATABASE sessions OWNER sessions;
\connect sessions
ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
SQL
