-- A hostile tenant's database: every way its own code can run while the
-- platform dumps, restores or deep-verifies it tries to get platform
-- rights. Loaded by test_isolation_backup as the app's role (which cannot
-- do any of it itself). Placeholders filled in by the test:
--   @MARK@  a file that COPY ... TO PROGRAM would create on the server
--   @ROLE@  a superuser role the code would create
-- Every attempt is recorded in trace (who ran it, and "ok" or why not).

CREATE TABLE trace (cur text, sess text, what text, result text);

CREATE FUNCTION attempt(what text, reset text, cmd text) RETURNS void
LANGUAGE plpgsql AS $f$
DECLARE
	r text := 'ok';
	c text := current_user;
	s text := session_user;
BEGIN
	BEGIN
		IF reset <> '' THEN
			EXECUTE reset;
		END IF;
		EXECUTE cmd;
	EXCEPTION WHEN OTHERS THEN
		r := 'denied: ' || SQLERRM;
	END;
	BEGIN
		INSERT INTO public.trace VALUES (c, s, what, r);
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
END $f$;

CREATE FUNCTION evil(v int) RETURNS boolean
LANGUAGE plpgsql AS $f$
DECLARE
	me text := quote_ident(current_user);
BEGIN
	PERFORM public.attempt('alter role superuser', '', 'ALTER ROLE ' || me || ' SUPERUSER');
	PERFORM public.attempt('reset role, alter role superuser', 'RESET ROLE',
	                       'ALTER ROLE ' || me || ' SUPERUSER');
	PERFORM public.attempt('reset role, create superuser', 'RESET ROLE',
	                       'CREATE ROLE @ROLE@ SUPERUSER LOGIN');
	PERFORM public.attempt('copy to program', '',
	                       'COPY (SELECT 1) TO PROGRAM ''touch @MARK@''');
	PERFORM public.attempt('reset role, copy to program', 'RESET ROLE',
	                       'COPY (SELECT 1) TO PROGRAM ''touch @MARK@''');
	PERFORM public.attempt('reset role, read pg_authid', 'RESET ROLE',
	                       'SELECT pg_catalog.count(*) FROM pg_catalog.pg_authid');
	PERFORM public.attempt('reset role, grant server programs', 'RESET ROLE',
	                       'GRANT pg_execute_server_program TO ' || me);
	PERFORM public.attempt('reset session authorization, alter role superuser',
	                       'RESET SESSION AUTHORIZATION', 'ALTER ROLE ' || me || ' SUPERUSER');
	RETURN true;
END $f$;

-- Generated columns and index expressions need an IMMUTABLE function.
CREATE FUNCTION evil_imm(v int) RETURNS boolean
IMMUTABLE LANGUAGE plpgsql AS $f$
BEGIN
	RETURN public.evil(v);
END $f$;

-- CHECK constraints and generated columns run during COPY of the data,
-- index expressions when the index is built, defaults on inserts.
CREATE TABLE guarded (id int PRIMARY KEY, v int CHECK (public.evil(v)));
CREATE TABLE generated (v int, g boolean GENERATED ALWAYS AS (public.evil_imm(v)) STORED);
CREATE TABLE indexed (v int);
CREATE INDEX indexed_evil ON indexed (public.evil_imm(v));
CREATE TABLE defaulted (v int, w boolean DEFAULT public.evil(0));

-- count(*) of its own, for an admin session that follows the database's
-- search_path (the test sets it to public, pg_catalog).
CREATE FUNCTION evil_count(s int8) RETURNS int8
LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM public.evil(0);
	RETURN s + 1;
END $f$;
CREATE AGGREGATE count(*) (SFUNC = evil_count, STYPE = int8, INITCOND = '0');

INSERT INTO guarded VALUES (1, 1), (2, 2);
INSERT INTO generated (v) VALUES (1), (2);
INSERT INTO indexed VALUES (1), (2);
INSERT INTO defaulted (v) VALUES (1);
