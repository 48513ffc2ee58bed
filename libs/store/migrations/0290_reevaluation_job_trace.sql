-- Issue 21: the trace of the API call that recorded a re-evaluation job
-- (W3C traceparent; NULL when the call was not traced), so the job's pages
-- and the pushes they cause continue that trace, on whichever replica.
ALTER TABLE reevaluation_jobs ADD COLUMN trace_parent text;
