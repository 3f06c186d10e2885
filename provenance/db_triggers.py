"""SQL that makes the audit table append-only inside the database (used by migration 0002)."""

PG_FORWARD = """
CREATE OR REPLACE FUNCTION provenance_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER provenance_auditevent_append_only
  BEFORE UPDATE OR DELETE ON provenance_auditevent
  FOR EACH ROW EXECUTE FUNCTION provenance_audit_append_only();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS provenance_auditevent_append_only ON provenance_auditevent;
DROP FUNCTION IF EXISTS provenance_audit_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER IF NOT EXISTS provenance_auditevent_append_only
BEFORE UPDATE ON provenance_auditevent
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS provenance_auditevent_append_only;"
