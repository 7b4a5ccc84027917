-- Claims prefer the tenants with the fewest operations running: counted through this index.
CREATE INDEX operations_running ON operations (tenant_id) WHERE status = 'RUNNING';
