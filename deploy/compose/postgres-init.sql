-- Roles and databases of opamp-fleet's local PostgreSQL. Idempotent: safe to
-- run again and again (it uses psql's \gexec, so run it with psql).
--   * docker-compose.yml mounts it into /docker-entrypoint-initdb.d/ (runs once,
--     on the first start of an empty volume, as the superuser `postgres`);
--   * deploy/infra/infra.sh runs it on every `up`.
-- Local development and tests only: the password below is not a secret.

SELECT 'CREATE ROLE opamp LOGIN CREATEDB PASSWORD ''opamp'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opamp')
\gexec

SELECT 'CREATE DATABASE opamp OWNER opamp'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'opamp')
\gexec

SELECT 'CREATE DATABASE opamp_test OWNER opamp'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'opamp_test')
\gexec
