// name: batch_entities
// description: Entities first seen in one bundle batch (their earliest mentioning document or fact is from it) — by default the latest batch.
// param: batch_id: str = "" — batch id such as b000002; empty for the latest batch
// param: limit: int = 100 — maximum rows
// sort: type, name, id

MATCH (d:Document)
WITH max(d.batch) AS latest_document
MATCH (:Entity)-[f:RELATION]->(:Entity)
WITH latest_document, max(f.batch) AS latest_fact
WITH CASE WHEN $batch_id <> '' THEN $batch_id
          WHEN latest_document IS NULL OR latest_fact > latest_document THEN latest_fact
          ELSE latest_document END AS wanted
MATCH (e:Entity)
OPTIONAL MATCH (e)-[:MENTIONED_IN]->(d:Document)
WITH wanted, e, min(d.batch) AS first_document
OPTIONAL MATCH (e)-[r:RELATION]-(:Entity)
WITH wanted, e, first_document, min(r.batch) AS first_fact
WITH wanted, e, CASE WHEN first_document IS NULL THEN first_fact
                     WHEN first_fact IS NULL OR first_document <= first_fact THEN first_document
                     ELSE first_fact END AS first_seen
WHERE first_seen = wanted
RETURN first_seen AS batch, e.type AS type, e.name AS name, e.id AS id, e.lang AS lang
ORDER BY type, name, id
LIMIT $limit
