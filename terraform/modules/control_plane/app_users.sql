-- The services' Postgres user: created once, re-passworded on every run, allowed DML on the
-- application's tables and sequences and nothing else (no DDL: migrations run as the master in
-- the one-off migrate task). Run by the app-users task as the RDS master:
--   psql -v ON_ERROR_STOP=1 -v app_user=NAME -v app_password=SECRET -v db=DATABASE -f app_users.sql
-- scripts/check_app_users.sh runs it against a local Postgres and proves what the user can do.
SELECT format('CREATE ROLE %I LOGIN', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec

ALTER ROLE :"app_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app_user";
GRANT USAGE ON SCHEMA public TO :"app_user";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_user";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"app_user";
-- Tables and sequences the next migrations create (as this same master) are granted too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app_user";
