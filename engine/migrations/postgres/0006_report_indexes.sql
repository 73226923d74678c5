-- A process's reports read its requests by the day they started or ended.
CREATE INDEX instances_process_created ON instances (process_id, created_at);
CREATE INDEX instances_process_ended ON instances (process_id, ended_at);
CREATE INDEX instances_process_status ON instances (process_id, status);
