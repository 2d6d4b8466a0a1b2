"""An advisory's aliases and affected rows name it through triggers that check a statement's rows
at once, instead of foreign key constraints that check them one row at a time (issue 4).

Storing a 20,000-record OSV archive writes about 52,000 alias and affected rows. The foreign
key constraints checked each with a query of its own: about a third of the database's time for
the sync (bench/feeds.py). The triggers keep what the constraints guaranteed:

- a row may only name an advisory that exists: after each INSERT or UPDATE statement on
  `evidence_advisoryalias` or `evidence_affectedpackage`, the advisories its rows name are
  locked FOR KEY SHARE, as a foreign key check locks them (no other transaction can delete one
  until this one ends), and a missing one fails the statement with SQLSTATE 23503
  (foreign_key_violation, an IntegrityError in Django);
- deleting advisories deletes their aliases and affected rows (ON DELETE CASCADE, as the models
  say; Django's own cascade has deleted them already). On PostgreSQL only in READ COMMITTED
  transactions, the isolation level in which that delete sees rows committed meanwhile; in
  another it is refused (a foreign key's own check would see them; a trigger's query cannot).
  TRUNCATE of the advisories deletes every alias and affected row;
- an advisory's id never changes.

The check probes the advisories' primary key, as a foreign key check does, whatever the
table's statistics say: planned with the statistics of an emptied, vacuumed table, it would
otherwise scan the whole table for every statement of the sync that fills it again (a 20,000
record sync took 2.5 s instead of 1.2; the foreign keys' own per-row check, planned the same way,
took 35 s).

On PostgreSQL the checks are statement-level triggers with transition tables; on SQLite (the
development database) row-level triggers, where rows are few. Unlike the deferred constraints
they replace, the checks run at the end of each statement, not at commit: the code writes an
advisory before its rows.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = """
CREATE FUNCTION evidence_advisory_named_check() RETURNS trigger AS $$
DECLARE
    wanted bigint[];
    locked bigint;
    missing bigint;
BEGIN
    SELECT array_agg(DISTINCT advisory_id) INTO wanted FROM new_rows;
    IF wanted IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM evidence_advisory WHERE id = ANY (wanted) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < cardinality(wanted) THEN
        SELECT min(w) INTO missing FROM unnest(wanted) AS w
        WHERE NOT EXISTS (SELECT FROM evidence_advisory AS a WHERE a.id = w);
        RAISE EXCEPTION 'insert or update on table "%" names advisory %, which does not exist',
            TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation',
                  DETAIL = format('Key (advisory_id)=(%s) is not present in table '
                                  '"evidence_advisory".', missing);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql SET enable_seqscan = off;

CREATE FUNCTION evidence_advisory_delete_named() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM old_rows) THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'advisories are deleted only in READ COMMITTED transactions (their '
                        'aliases and affected rows go with them, and only that level sees the '
                        'ones committed meanwhile)'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    DELETE FROM evidence_advisoryalias WHERE advisory_id IN (SELECT id FROM old_rows);
    DELETE FROM evidence_affectedpackage WHERE advisory_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION evidence_advisory_truncate_named() RETURNS trigger AS $$
BEGIN
    DELETE FROM evidence_advisoryalias;
    DELETE FROM evidence_affectedpackage;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION evidence_advisory_id_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'an advisory''s id never changes (its aliases and affected rows name it)'
        USING ERRCODE = 'foreign_key_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER evidence_advisoryalias_insert_named AFTER INSERT ON evidence_advisoryalias
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_named_check();
CREATE TRIGGER evidence_advisoryalias_update_named AFTER UPDATE ON evidence_advisoryalias
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_named_check();
CREATE TRIGGER evidence_affectedpackage_insert_named AFTER INSERT ON evidence_affectedpackage
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_named_check();
CREATE TRIGGER evidence_affectedpackage_update_named AFTER UPDATE ON evidence_affectedpackage
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_named_check();
CREATE TRIGGER evidence_advisory_delete_named AFTER DELETE ON evidence_advisory
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_delete_named();
CREATE TRIGGER evidence_advisory_truncate_named AFTER TRUNCATE ON evidence_advisory
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_advisory_truncate_named();
CREATE TRIGGER evidence_advisory_id_fixed BEFORE UPDATE OF id ON evidence_advisory
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION evidence_advisory_id_fixed();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS evidence_advisoryalias_insert_named ON evidence_advisoryalias;
DROP TRIGGER IF EXISTS evidence_advisoryalias_update_named ON evidence_advisoryalias;
DROP TRIGGER IF EXISTS evidence_affectedpackage_insert_named ON evidence_affectedpackage;
DROP TRIGGER IF EXISTS evidence_affectedpackage_update_named ON evidence_affectedpackage;
DROP TRIGGER IF EXISTS evidence_advisory_delete_named ON evidence_advisory;
DROP TRIGGER IF EXISTS evidence_advisory_truncate_named ON evidence_advisory;
DROP TRIGGER IF EXISTS evidence_advisory_id_fixed ON evidence_advisory;
DROP FUNCTION IF EXISTS evidence_advisory_named_check();
DROP FUNCTION IF EXISTS evidence_advisory_delete_named();
DROP FUNCTION IF EXISTS evidence_advisory_truncate_named();
DROP FUNCTION IF EXISTS evidence_advisory_id_fixed();
"""
_SQLITE_NAMED = """CREATE TRIGGER {table}_{event}_named BEFORE {clause} ON {table}
    WHEN NOT EXISTS (SELECT 1 FROM evidence_advisory WHERE id = NEW.advisory_id)
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such advisory'); END;"""
SQLITE_FORWARD = [
    _SQLITE_NAMED.format(table=table, event=event, clause=clause)
    for table in ("evidence_advisoryalias", "evidence_affectedpackage")
    for event, clause in (("insert", "INSERT"), ("update", "UPDATE OF advisory_id"))
] + [
    """CREATE TRIGGER evidence_advisory_delete_named AFTER DELETE ON evidence_advisory
       BEGIN
           DELETE FROM evidence_advisoryalias WHERE advisory_id = OLD.id;
           DELETE FROM evidence_affectedpackage WHERE advisory_id = OLD.id;
       END;""",
    """CREATE TRIGGER evidence_advisory_id_fixed BEFORE UPDATE OF id ON evidence_advisory
       WHEN OLD.id <> NEW.id
       BEGIN SELECT RAISE(ABORT, 'an advisory''s id never changes'); END;""",
]
SQLITE_REVERSE = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_{event}_named;"
        for table in ("evidence_advisoryalias", "evidence_affectedpackage")
        for event in ("insert", "update")
    ),
    "DROP TRIGGER IF EXISTS evidence_advisory_delete_named;",
    "DROP TRIGGER IF EXISTS evidence_advisory_id_fixed;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_REVERSE, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0019_drop_unused_affected_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="advisoryalias",
            name="advisory",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="aliases",
                to="evidence.advisory",
            ),
        ),
        migrations.AlterField(
            model_name="affectedpackage",
            name="advisory",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="affected",
                to="evidence.advisory",
            ),
        ),
        # After the tables are altered: SQLite alters a table by building a new one, without
        # the old one's triggers. (The migration is one transaction on PostgreSQL.)
        migrations.RunPython(forward, reverse),
    ]
