// name: batch_facts
// description: Facts first added by one bundle batch — by default the latest batch (a build, an import or a link-prediction run).
// param: batch_id: str = "" — batch id such as b000002; empty for the latest batch
// param: limit: int = 100 — maximum rows
// sort: subject, predicate, object

// the latest batch is the largest id among documents and facts (ids are zero-padded, so they sort)
MATCH (d:Document)
WITH max(d.batch) AS latest_document
MATCH (:Entity)-[f:RELATION]->(:Entity)
WITH latest_document, max(f.batch) AS latest_fact
WITH CASE WHEN $batch_id <> '' THEN $batch_id
          WHEN latest_document IS NULL OR latest_fact > latest_document THEN latest_fact
          ELSE latest_document END AS wanted
MATCH (s:Entity)-[r:RELATION]->(o:Entity)
WHERE r.batch = wanted
RETURN r.batch AS batch, s.name AS subject, r.predicate AS predicate, o.name AS object,
       r.source AS source, r.confidence AS confidence, r.evidence_count AS evidence_count
ORDER BY subject, predicate, object
LIMIT $limit
