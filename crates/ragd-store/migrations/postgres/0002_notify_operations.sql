-- Other processes' `:wait` and `:watch` LISTEN on 'ragd_operations': an operation that changes
-- status or gets a cancel request wakes them at once (counters alone are seen by their re-check).
CREATE FUNCTION ragd_notify_operation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ragd_operations', NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER operations_notify_change AFTER UPDATE OF status, cancel_requested ON operations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.cancel_requested IS DISTINCT FROM NEW.cancel_requested)
    EXECUTE FUNCTION ragd_notify_operation();
